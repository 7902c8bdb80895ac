/* gui_views3.c: the Position, Compare and Permutation views (see gui.h).
 *
 * Position: the loaded model's encoding itself (the vectors added to the input,
 * RoPE's rotation angles, ALiBi's biases) and what it does (how alike two
 * positions look; a RoPE score as the distance grows; ALiBi's penalty by distance).
 * Compare: one text, one (layer, head), every shipped model side by side.
 * Permutation: attention alone does not know order. Layer 0's scores of the text
 * and of the shuffled text are the same matrix with rows and columns permuted when
 * nothing tells the model where a token is; with the encoding they are not. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gui/gui.h"

static float minf(float a, float b) { return a < b ? a : b; }
static float maxf(float a, float b) { return a > b ? a : b; }


/* A symmetric diverging scale (0 = white) over n values. */
static HeatmapScale signed_scale(const float *v, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) m = maxf(m, fabsf(v[i]));
    if (m <= 0) m = 1;
    return (HeatmapScale){-m, m, 1.0f, CMAP_DIVERGING, 0};
}

static HeatmapScale plain_scale(App *a, const float *v, size_t n, int mask) {
    HeatmapScale hs = {0, 1, a->gamma, a->cmap, mask};
    heatmap_scale_auto(&hs, v, (int)n);
    return hs;
}

static const char *model_pe(const App *a) { return pe_name(a->base.model.cfg.pe); }

/* ---- Position view ---- */

static const char *pe_explain(PosEncoding pe) {
    switch (pe) {
    case PE_SINUSOIDAL:
        return "Sinusoidal (Vaswani et al.): each position adds a fixed vector of sines and "
               "cosines at geometric frequencies to the token's embedding. Left: the vectors "
               "(row = position). Middle and right: how alike two positions look (dot product, "
               "cosine): a band along the diagonal, the same for every pair at the same distance.";
    case PE_LEARNED:
        return "Learned (GPT-2): each position adds a trained vector to the token's embedding; "
               "there is no row for a position past the training context. Left: the vectors "
               "(row = position). Middle and right: how alike two positions look (dot, cosine): "
               "training discovered that nearby positions should look alike.";
    case PE_ROPE:
        return "RoPE (Su et al.): nothing is added; q and k of position p are rotated by p times "
               "a frequency per pair of dimensions, so q.k depends on the distance only. Left: "
               "the angle of each pair at each position (wrapped to 0..2 pi). Middle: the cosine "
               "between rotated copies of one vector (a function of i - j). Right: the score of a "
               "fixed q, k pair as the key moves away.";
    case PE_ALIBI:
        return "ALiBi (Press et al.): nothing is added to the input; each head subtracts slope x "
               "distance from its scores, a different slope per head. Left: the bias of the "
               "selected head (row = query, column = key). Right: the bias against distance for "
               "every head: steep heads look near, flat heads look far.";
    default:
        return "No position encoding: the model sees a bag of tokens. Only the causal mask "
               "(a token sees the ones before it) can tell positions apart.";
    }
}

static void position_sinusoid(App *a, Rect r, const Teach *t) {
    int T = t->pos_T, C = a->base.model.cfg.n_embd;
    float w = (r.w - 40) / 3;
    HeatmapScale hv = signed_scale(t->pos_vec, (size_t)T * C);
    HeatmapScale hd = signed_scale(t->pos_dot, (size_t)T * T);
    HeatmapScale hc = signed_scale(t->pos_cos, (size_t)T * T);
    MatrixFigure f[3] = {
        {t->pos_vec, T, C, &a->teach.tex[0], teach_version(a, 0), &hv, "pos_vectors", "dimension", "position"},
        {t->pos_dot, T, T, &a->teach.tex[1], teach_version(a, 1), &hd, "pos_dot", "position j", "position i"},
        {t->pos_cos, T, T, &a->teach.tex[2], teach_version(a, 2), &hc, "pos_cos", "position j", "position i"},
    };
    const char *titles[3] = {"vector added at each position", "dot product p_i . p_j", "cosine"};
    for (int k = 0; k < 3; k++) {
        Rect c = {r.x + k * (w + 20), r.y, w, minf(r.h, w + 70)};
        render_text(a->r, titles[k], c.x + 44, c.y, FONT_UI, TH_INK);
        ui_matrix_figure(a, (Rect){c.x, c.y + 26, c.w, c.h - 26}, &f[k]);
    }
}

static void position_rope(App *a, Rect r, const Teach *t) {
    const Model *m = &a->base.model;
    int T = t->pos_T, hs = m->cfg.n_embd / m->cfg.n_head;
    float w = (r.w - 40) / 3, h = minf(r.h, w + 70);
    HeatmapScale ha = {0.0f, 6.2831853f, 1.0f, a->cmap, 0};
    HeatmapScale hc = signed_scale(t->pos_cos, (size_t)T * T);
    MatrixFigure fa = {t->rope_ang, T, hs / 2, &a->teach.tex[0], teach_version(a, 0), &ha,
                       "rope_angles", "frequency pair", "position"};
    MatrixFigure fc = {t->pos_cos, T, T, &a->teach.tex[2], teach_version(a, 2), &hc, "pos_cos",
                       "position j", "position i"};
    render_text(a->r, "rotation angle (radians)", r.x + 44, r.y, FONT_UI, TH_INK);
    ui_matrix_figure(a, (Rect){r.x, r.y + 26, w, h - 26}, &fa);
    render_text(a->r, "cosine of rotated copies", r.x + w + 64, r.y, FONT_UI, TH_INK);
    ui_matrix_figure(a, (Rect){r.x + w + 20, r.y + 26, w, h - 26}, &fc);
    static float xs[GUI_LEN_MAX_T];
    for (int i = 0; i < GUI_LEN_MAX_T; i++) xs[i] = (float)i;
    char real[64];
    snprintf(real, sizeof real, "L%d H%d: last q, first k", a->layer, a->head);
    ChartSeries s[2] = {{"q = k = ones", xs, t->curve_ones, GUI_LEN_MAX_T},
                        {real, xs, t->curve_real, t->curve_real ? GUI_LEN_MAX_T : 0}};
    UiChart c = {"score q . R(-d) k against distance d", "distance d (tokens)", "score", NAN, NULL,
                 "rope_score_chart"};
    c.x_marker = (float)m->cfg.n_positions;
    c.marker_label = "training context";
    ui_line_chart(a, (Rect){r.x + 2 * (w + 20), r.y, w, h}, s, 2, &c);
    (void)hs;
}

static void position_alibi(App *a, Rect r, const Teach *t) {
    const Model *m = &a->base.model;
    int T = t->pos_T, NH = m->cfg.n_head;
    float w = (r.w - 20) / 2, h = minf(r.h, w * 0.75f + 70);
    HeatmapScale hb = plain_scale(a, t->alibi, (size_t)T * T, 1);
    hb.vmin = 0;
    for (size_t i = 0; i < (size_t)T * T; i++) hb.vmin = minf(hb.vmin, t->alibi[i]);
    hb.vmax = 0;
    MatrixFigure f = {t->alibi, T, T, &a->teach.tex[0], teach_version(a, 0), &hb, "alibi_bias",
                      "key position", "query position"};
    char title[96];
    snprintf(title, sizeof title, "bias of head %d (slope %.4g)", a->head, m->alibi_slopes[a->head]);
    render_text(a->r, title, r.x + 44, r.y, FONT_UI, TH_INK);
    float side = minf(w, h - 26);
    ui_matrix_figure(a, (Rect){r.x, r.y + 26, side, side}, &f);
    static float xs[GUI_LEN_MAX_T], ys[16][GUI_LEN_MAX_T];
    static char names[16][32];
    ChartSeries s[16];
    int n = NH < 16 ? NH : 16;
    for (int hh = 0; hh < n; hh++) {
        for (int d = 0; d < T; d++) xs[d] = (float)d, ys[hh][d] = -m->alibi_slopes[hh] * d;
        snprintf(names[hh], sizeof names[hh], "H%d (%.3g)", hh, m->alibi_slopes[hh]);
        s[hh] = (ChartSeries){names[hh], xs, ys[hh], T};
    }
    UiChart c = {"bias against distance, every head", "distance (tokens)", "bias added to the score",
                 NAN, NULL, "alibi_chart"};
    ui_line_chart(a, (Rect){r.x + w + 20, r.y, w, h}, s, n, &c);
}

void view_position(App *a, Rect area) {
    app_position_data(a);
    const Teach *t = &a->teach;
    char head[160];
    snprintf(head, sizeof head, "Position encoding: %s (model %s)", model_pe(a), a->model_name);
    render_text(a->r, head, area.x, area.y, FONT_TITLE, TH_INK);
    float th = ui_text_wrap(a, pe_explain(a->base.model.cfg.pe), area.x, area.y + 30, area.w,
                            FONT_SMALL + 0.5f, TH_MUTED);
    Rect r = {area.x, area.y + 40 + th, area.w, area.h - 40 - th};
    if (t->pos_note[0])
        ui_text_wrap(a, t->pos_note, r.x, r.y, r.w, FONT_UI, TH_INK);
    else if (t->pos_vec)
        position_sinusoid(a, r, t);
    else if (t->rope_ang)
        position_rope(a, r, t);
    else if (t->alibi)
        position_alibi(a, r, t);
}

/* ---- Compare view ---- */

void view_compare(App *a, Rect area) {
    app_compare_data(a);
    Teach *t = &a->teach;
    char head[160];
    snprintf(head, sizeof head, "Layer %d head %d of every shipped model, same text (N: next model; "
             "click a map to switch)", a->layer, a->head);
    render_text(a->r, head, area.x, area.y, FONT_TITLE, TH_INK);
    int n = t->n_cmp;
    if (n == 0) {
        render_text(a->r, "no shipped models found in assets/models/", area.x, area.y + 40, FONT_UI,
                    TH_MUTED);
        return;
    }
    /* the number of columns that gives the largest maps in this area */
    int cols = 1;
    float best = 0;
    for (int c = 1; c <= n; c++) {
        int rw = (n + c - 1) / c;
        float side = minf((area.w - (c - 1) * 16) / c - 90, (area.h - 36 - (rw - 1) * 12) / rw - 110);
        if (side > best) best = side, cols = c;
    }
    int rows = (n + cols - 1) / cols;
    float gw = (area.w - (cols - 1) * 16) / cols, gh = (area.h - 36 - (rows - 1) * 12) / rows;
    for (int i = 0; i < n; i++) {
        Rect c = {area.x + (i % cols) * (gw + 16), area.y + 36 + (i / cols) * (gh + 12), gw, gh};
        int active = strcmp(t->cmp_name[i], a->model_name) == 0;
        if (active) render_rect(a->r, (Rect){c.x - 4, c.y - 2, c.w + 8, c.h + 4}, TH_ACCENT_SOFT);
        char title[96];
        snprintf(title, sizeof title, "%s%s", t->cmp_name[i], active ? " (active)" : "");
        render_text(a->r, title, c.x, c.y, FONT_UI, active ? TH_ACCENT : TH_INK);
        Rect body = {c.x, c.y + 24, c.w, c.h - 24};
        if (!t->cmp_map[i]) {
            ui_text_wrap(a, t->cmp_err[i], body.x, body.y, body.w, FONT_SMALL, TH_ERROR);
            continue;
        }
        int T = app_T(a);
        HeatmapScale hs;
        ui_map_scale(a, t->cmp_map[i], T, &hs);
        char name[32];
        snprintf(name, sizeof name, "cmp_%.27s", t->cmp_name[i]);
        MapFigure f = {t->cmp_map[i], &t->tex[3 + i], teach_version(a, 3 + i), &hs, name,
                       a->layer, a->head, i % cols == 0, 1, 0, 0, T, NULL};
        ui_map_figure(a, body, &f, NULL);
        if (!active && ui_clicked(a, body)) {
            char err[AVZ_ERR_LEN], dir[4400] = "";
            for (int k = 0; k < a->n_models; k++)
                if (strcmp(a->models[k].name, t->cmp_name[i]) == 0)
                    snprintf(dir, sizeof dir, "%s", a->models[k].dir);
            if (app_load_model(a, dir[0] ? dir : t->cmp_name[i], err)) app_error(a, "%s", err);
            else app_status(a, "model: %s (same text)", a->model_name);
            return;
        }
    }
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
    const char *rowname[2] = {"without position information", model_pe(a)};
    const char *names[2][2] = {{"perm_orig_nopos", "perm_shuf_nopos"}, {"perm_orig_pos", "perm_shuf_pos"}};
    for (int row = 0; row < 2; row++) {
        HeatmapScale hs = signed_scale(S[row][0], (size_t)T * T);
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
