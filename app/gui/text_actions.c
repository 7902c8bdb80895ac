/* text_actions.c: two actions of the teaching views on the app's text and model:
 * repeat the text to a length (Lengths view, X) and switch to the next shipped model
 * keeping the text (N). */
#include <string.h>

#include "gui/views/views.h"


/* ---- text and model controls ---- */

void app_extend_text(App *a, int n) {
    if (!a->has_tokens || a->tok.n < 1) return;
    int limit = config_max_len(&a->base.model.cfg);
    if (limit > GUI_MAX_T) limit = GUI_MAX_T;
    if (n > limit) {
        app_error(a, "extend: %s takes at most %d tokens%s", a->model_name, limit,
                  a->base.model.cfg.pe == PE_LEARNED ? " (a learned table has no row past its "
                  "training context)" : "");
        return;
    }
    size_t len = strlen(a->edit.s);
    int reps = (n + a->tok.n - 1) / a->tok.n;
    if ((size_t)reps * (len + 1) >= TEXTEDIT_MAX) {
        app_error(a, "extend: the text would be too long");
        return;
    }
    char *s = avz_xmalloc((size_t)reps * (len + 1) + 1), *p = s;
    for (int r = 0; r < reps; r++) {
        memcpy(p, a->edit.s, len);
        p += len;
        *p++ = ' ';
    }
    p[-1] = '\0';
    app_set_text(a, s);
    free(s);
    if (a->has_tokens && a->tok.n > a->base.model.cfg.n_positions)
        app_status(a, "%d tokens: past the training context of %d (positions the model never "
                   "saw)", a->tok.n, a->base.model.cfg.n_positions);
}

void app_next_model(App *a) {
    app_list_models(a);
    if (a->n_models == 0) { app_error(a, "no shipped models found"); return; }
    int cur = -1;
    for (int i = 0; i < a->n_models; i++)
        if (strcmp(a->models[i].name, a->model_name) == 0) cur = i;
    char err[AVZ_ERR_LEN];
    const ModelEntry *e = &a->models[(cur + 1) % a->n_models];
    if (app_load_model(a, e->dir, err)) app_error(a, "%s", err);
    else if (!a->status_error) app_status(a, "model: %s (same text)", e->name);
}
