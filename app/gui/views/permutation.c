/* permutation.c: the Permutation view. Attention alone does not know order: layer
 * 0's scores of the text and of the shuffled text are the same matrix with rows and
 * columns permuted when nothing tells the model where a token is; with the encoding
 * they are not (model/teach.c computes both). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "util.h"
#include "gui/views/views.h"


/* ---- Permutation view ---- */

int app_permutation(App *a) {
    Teach *t = &a->teach;
    if (!a->has_tokens || a->tok.n < 2) return 0;
    unsigned long key = view_cache_key(a->text_gen, t->seed, a->model_gen);
    if (t->perm_key == key) return t->perm_valid;
    teach_permutation_free(&t->perm);
    t->perm_valid = 0;
    /* The demo runs four passes; a copy of the model runs them, so that the maps of
     * the text (captured lazily from the base model's last pass) stay as they are. */
    Model m;
    char err[AVZ_ERR_LEN];
    AvzCode rc = model_load(&m, a->model_dir, err);
    if (!rc) {
        rc = teach_permutation_init(&t->perm, &m, a->tok.ids, a->tok.n, t->seed, err);
        model_free(&m);
    }
    if (rc) app_error(a, "permutation demo: %s", err);
    t->perm_valid = rc == AVZ_OK;
    t->perm_key = key;
    t->ver++;
    return t->perm_valid;
}

/* ---- Permutation view ---- */

void view_permute(App *a, Rect area) {
    if (!app_permutation(a)) {
        render_text(a->r, "The permutation demo needs a text of at least two tokens.", area.x,
                    area.y, FONT_TITLE, TH_MUTED);
        return;
    }
    const TeachPermutation *p = &a->teach.perm;
    int T = p->T, h = a->head < p->NH ? a->head : 0;
    size_t off = (size_t)h * T * T;
    static const char *labels[2][GUI_MAX_T];
    for (int i = 0; i < T; i++) labels[0][i] = ui_token(a, i), labels[1][i] = ui_token(a, p->perm[i]);
    char head[200];
    snprintf(head, sizeof head, "Layer 0, head %d: scores q.k / sqrt(d) before the mask and the "
             "softmax, for the text and the text shuffled (U: shuffle again)", h);
    render_text(a->r, head, area.x, area.y, FONT_TITLE, TH_INK);
    const float *S[2][2] = {{p->orig_nopos + off, p->shuf_nopos + off},
                            {p->orig_pos + off, p->shuf_pos + off}};
    float diff[2] = {p->diff_nopos, p->diff_pos};
    float gw = (area.w - 30) / 2, gh = (area.h - 40) / 2;
    const char *rowname[2] = {"without position information", app_pe_name(a)};
    const char *names[2][2] = {{"perm_orig_nopos", "perm_shuf_nopos"}, {"perm_orig_pos", "perm_shuf_pos"}};
    for (int row = 0; row < 2; row++) {
        HeatmapScale hs = ui_signed_scale(S[row][0], (size_t)T * T);
        float y = area.y + 36 + row * gh;
        char cap[256];
        snprintf(cap, sizeof cap, "%s%s: max |S_shuffled[i][j] - S[pi(i)][pi(j)]| = %.2g  %s",
                 row ? "with the model's encoding, " : "", rowname[row], diff[row],
                 diff[row] < 1e-4f ? "-> the same matrix, rows and columns permuted"
                                   : "-> position changed the scores");
        render_text(a->r, cap, area.x, y, FONT_UI, diff[row] < 1e-4f ? TH_INK : TH_ACCENT);
        for (int col = 0; col < 2; col++) {
            Rect c = {area.x + col * (gw + 30), y + 26, gw, gh - 34};
            MapFigure f = {S[row][col], &a->teach.tex[11 + row * 2 + col],
                           teach_version(a, 11 + row * 2 + col), &hs, names[row][col], 0, h, 1, 1,
                           0, 0, T, labels[col]};
            ui_map_figure(a, c, &f, NULL);
        }
    }
    (void)minf;
}
