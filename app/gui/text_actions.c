/* text_actions.c: actions of the views on the app's text and model: the classroom's
 * repeat demo (Head view, D), repeat the text to a length (Lengths view, X) and switch
 * to the next shipped model keeping the text (N). */
#include <string.h>

#include "gui/views/views.h"
#include "head_roles.h"

#define DEMO_BLOCK 12   /* words in the repeat demo's block */

/* The demo of the standard protocol (head_roles.h), typed in one click: a block of
 * words drawn uniformly from the model's vocabulary, then the same block again. An
 * induction head attends from each word of the second copy to the word after its
 * first occurrence; a previous-token head to the word before it. */
void app_repeat_demo(App *a) {
    if (!a->base.loaded) return;
    int n, bos;
    int *pool = head_roles_pool(&a->base, &n, &bos);
    /* BPE vocabularies: whole words only (a piece that starts a word and is all
     * letters), so that the text tokenizes back into the same tokens */
    char lab[DEMO_BLOCK][64], tmp[64];
    if (a->base.tok.kind != TOKENIZER_WORD) {
        int k = 0;
        for (int i = 0; i < n; i++) {
            engine_label(&a->base, pool[i], tmp, sizeof tmp);
            int ok = tmp[0] == ' ' && strlen(tmp) >= 4;
            for (const char *p = tmp + 1; ok && *p; p++) ok = (*p >= 'a' && *p <= 'z');
            if (ok) pool[k++] = pool[i];
        }
        n = k;
    }
    if (n < 2) {
        free(pool);
        app_error(a, "repeat demo: the vocabulary has no whole words to draw from");
        return;
    }
    AvzRng rng;
    avz_rng_init(&rng, 0xDE40ull + (uint64_t)a->demo_count++);
    for (int i = 0; i < DEMO_BLOCK; i++) {
        engine_label(&a->base, pool[avz_rng_u64(&rng) % n], tmp, sizeof tmp);
        snprintf(lab[i], sizeof lab[i], "%s", tmp[0] == ' ' ? tmp + 1 : tmp);
    }
    char text[4096] = "";
    size_t k = 0;
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < DEMO_BLOCK && k + 80 < sizeof text; i++)
            k += (size_t)snprintf(text + k, sizeof text - k, "%s%s", k ? " " : "", lab[i]);
    free(pool);
    app_set_text(a, text);
    app_status(a, "repeat demo: %d random words, then the same %d again. Induction heads "
               "look from each repeated word to the word after its first copy.", DEMO_BLOCK,
               DEMO_BLOCK);
}


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
