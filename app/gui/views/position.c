/* position.c: the Position view, the loaded model's position encoding itself (the
 * vectors added to the input, RoPE's rotation angles, ALiBi's biases) and what it
 * does (how alike two positions look; a RoPE score as the distance grows; ALiBi's
 * penalty by distance), computed by model/teach.c and cached here. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "util.h"
#include "gui/views/views.h"


/* ---- Position view ---- */

void view_position_free(Teach *t) {
    free(t->pos_vec), free(t->pos_dot), free(t->pos_cos), free(t->rope_ang), free(t->alibi);
    free(t->curve_ones), free(t->curve_real);
    t->pos_vec = t->pos_dot = t->pos_cos = t->rope_ang = t->alibi = NULL;
    t->curve_ones = t->curve_real = NULL;
}

/* RoPE's score against distance for q = k = all ones (RoFormer's decay curve) and
 * for the selected head's real q (last token) and k (first token) of the text. */
static void rope_curves(App *a, Teach *t, int hs) {
    const Model *m = &a->base.model;
    float *q = avz_xmalloc(sizeof(float) * hs), *k = avz_xmalloc(sizeof(float) * hs);
    for (int i = 0; i < hs; i++) q[i] = k[i] = 1.0f;
    t->curve_ones = view_buffer(t->curve_ones, GUI_LEN_MAX_T);
    teach_rope_score_vs_distance(m, q, k, GUI_LEN_MAX_T, t->curve_ones);
    if (a->has_tokens) {
        teach_head_qk(m, a->layer, a->head, a->tok.n - 1, 0, q, k);
        t->curve_real = view_buffer(t->curve_real, GUI_LEN_MAX_T);
        teach_rope_score_vs_distance(m, q, k, GUI_LEN_MAX_T, t->curve_real);
    }
    free(q);
    free(k);
}

void app_position_data(App *a) {
    Teach *t = &a->teach;
    unsigned long key = view_cache_key(a->model_gen, (unsigned long)(a->layer * 64 + a->head), a->text_gen);
    if (t->pos_key == key || !a->base.loaded) return;
    const Model *m = &a->base.model;
    int C = m->cfg.n_embd, hs = C / m->cfg.n_head, T = m->cfg.n_positions;
    if (T > GUI_LEN_MAX_T) T = GUI_LEN_MAX_T;
    char err[AVZ_ERR_LEN] = "";
    view_position_free(t);
    t->pos_T = T;
    t->pos_note[0] = '\0';
    switch (m->cfg.pe) {
    case PE_SINUSOIDAL: case PE_LEARNED:
        t->pos_vec = view_buffer(NULL, (size_t)T * C);
        t->pos_dot = view_buffer(NULL, (size_t)T * T);
        t->pos_cos = view_buffer(NULL, (size_t)T * T);
        if (teach_position_vectors(m, T, t->pos_vec, err) ||
            teach_position_similarity(m, T, t->pos_dot, t->pos_cos, err)) {
            snprintf(t->pos_note, sizeof t->pos_note, "%.250s", err);
            view_position_free(t);
        }
        break;
    case PE_ROPE:
        t->rope_ang = view_buffer(NULL, (size_t)T * (hs / 2));
        teach_rope_angles(m, T, t->rope_ang);
        t->pos_cos = view_buffer(NULL, (size_t)T * T);
        if (teach_position_similarity(m, T, NULL, t->pos_cos, err))
            snprintf(t->pos_note, sizeof t->pos_note, "%.250s", err);
        rope_curves(a, t, hs);
        break;
    case PE_ALIBI:
        t->alibi = view_buffer(NULL, (size_t)T * T);
        teach_alibi_bias(m, a->head, T, t->alibi);
        break;
    default:
        snprintf(t->pos_note, sizeof t->pos_note, "this model has no position encoding: nothing "
                 "tells attention where a token is (see the Permutation view)");
    }
    t->pos_key = key;
    t->ver++;
}

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
    HeatmapScale hv = ui_signed_scale(t->pos_vec, (size_t)T * C);
    HeatmapScale hd = ui_signed_scale(t->pos_dot, (size_t)T * T);
    HeatmapScale hc = ui_signed_scale(t->pos_cos, (size_t)T * T);
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
    HeatmapScale hc = ui_signed_scale(t->pos_cos, (size_t)T * T);
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
    HeatmapScale hb = ui_plain_scale(a, t->alibi, (size_t)T * T, 1);
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
    snprintf(head, sizeof head, "Position encoding: %s (model %s)", app_pe_name(a), a->model_name);
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
