/* cache.c: what the teaching views share: cache keys, buffers, and freeing every
 * teaching view's data when the app closes. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gui/views/views.h"


/* A cache key from a few numbers (0 is never a valid key). */
unsigned long view_cache_key(unsigned long a, unsigned long b, unsigned long c) {
    unsigned long k = a * 1000003ul ^ (b + 0x9E3779B9ul) * 7919ul ^ (c + 17ul) * 104729ul;
    return k ? k : 1;
}

float *view_buffer(float *old, size_t n) {
    free(old);
    return avz_xmalloc(sizeof(float) * (n ? n : 1));
}

void app_teach_free(App *a) {
    Teach *t = &a->teach;
    LengthsJob *j = &t->len;
    job_stop(&j->job);
    for (int i = 0; i < GUI_CMP_MAX; i++) free(j->loss[i]), j->loss[i] = NULL;
    view_position_free(t);
    for (int i = 0; i < t->n_cmp; i++) {
        free(t->cmp_map[i]);
        t->cmp_map[i] = NULL;
        engine_close(&t->cmp[i]);
    }
    t->n_cmp = t->cmp_loaded = 0;
    teach_permutation_free(&t->perm);
    if (t->ft_valid) flash_trace_free(&t->ft);
    t->ft_valid = 0;
    app_lesson_close(a);
    for (int i = 0; i < 24; i++) render_map_release(a->r, &t->tex[i]);
}
