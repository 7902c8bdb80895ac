/* figures.c: the app's figures, drawn through the renderer: a map with its token
 * labels and hover readout, a colour bar, a matrix of any shape with axes, a line
 * chart with a legend, and the heatmap scales they are coloured with. */
#include <math.h>
#include <string.h>

#include "figure/ticks.h"
#include "util.h"
#include "gui/ui.h"


/* ---- heatmap figures ---- */

typedef struct {
    float font;       /* label size */
    float band_l;     /* width of the query labels at the left */
    float band_b;     /* depth of the key labels below */
    float cell;
    int stride;       /* every stride-th label is drawn */
} FigureLayout;

/* Label i of a figure: its own labels, or the text's tokens. */
static const char *fig_label(const App *a, const MapFigure *f, int i) {
    return f->labels ? f->labels[i] : ui_token(a, i);
}

/* The widest label among [i0, i0 + n) at size font. */
static float widest_label(App *a, const MapFigure *f, int i0, int n, float font) {
    float w = 0;
    for (int i = i0; i < i0 + n; i++) w = maxf(w, render_text_width(a->r, fig_label(a, f, i), -1, font));
    return w;
}

static void figure_layout(App *a, Rect area, const MapFigure *f, FigureLayout *L) {
    float font = FONT_SMALL + 1.0f;
    for (int pass = 0; pass < 2; pass++) {
        float lw = minf(widest_label(a, f, f->row0, f->n, font), 120.0f) + 8.0f;
        L->band_l = f->labels_left ? lw : 0.0f;
        L->band_b = f->labels_below ? lw : 0.0f;
        L->cell = minf(area.w - L->band_l, area.h - L->band_b) / f->n;
        float want = floorf(L->cell * 0.8f);
        if (want >= font || font <= 9.0f) break;
        font = maxf(9.0f, want);
    }
    L->font = font;
    L->cell = maxf(L->cell, 0.5f);
    L->stride = (int)ceilf(font * 1.25f / L->cell);
    if (L->stride < 1) L->stride = 1;
}

static Rgba label_colour(App *a, int i, int hot, int pinned) {
    if (pinned) return TH_ACCENT;
    if (hot) return TH_INK;
    if (a->has_tokens && i < a->tok.n && a->tok.unknown[i]) return TH_ERROR;
    return TH_MUTED;
}

/* Query labels left of the map, key labels below it reading upwards. The
 * hovered row and column (hr, hc; -1 none) and the pinned row stand out. */
static void figure_labels(App *a, const MapFigure *f, const FigureLayout *L, Rect m, int hr,
                          int hc) {
    float lh = render_line_height(a->r, L->font);
    for (int k = 0; f->labels_left && k < f->n; k += L->stride) {
        int i = f->row0 + k;
        const char *s = fig_label(a, f, i);
        float w = minf(render_text_width(a->r, s, -1, L->font), L->band_l - 8);
        ui_text_fit(a, s, m.x - 6 - w, m.y + (k + 0.5f) * L->cell - lh / 2, L->font, w + 1,
                    label_colour(a, i, i == hr, i == a->pin_row));
    }
    if (!f->labels_below) return;
    render_clip(a->r, &(Rect){m.x - 4, m.y + m.h + 2, m.w + 8, L->band_b});
    for (int k = 0; k < f->n; k += L->stride) {
        int j = f->col0 + k;
        const char *s = fig_label(a, f, j);
        float w = minf(render_text_width(a->r, s, -1, L->font), L->band_b - 8);
        render_text_up(a->r, s, m.x + (k + 0.5f) * L->cell - lh / 2, m.y + m.h + 6 + w, L->font,
                       label_colour(a, j, j == hc, 0));
    }
    render_clip(a->r, NULL);
}

/* "#i id N 'piece'": a token's position, id and the vocabulary's own string for it
 * (GPT-2's "Ġworld", Llama's "▁world", a byte "<0xE2>"), as the tooltip shows it. */
static void token_id_text(const App *a, int i, char *buf, size_t n) {
    int id = a->tok.ids[i];
    const char *piece = tokenizer_piece(&a->base.tok, &a->base.model.vocab, id);
    snprintf(buf, n, "#%d id %d '%.40s'", i, id, piece ? piece : "?");
}

/* The hovered cell's second line: query and key as position, id and piece. */
static void token_ids_readout(App *a, int i, int j) {
    if (!a->has_tokens || i >= a->tok.n || j >= a->tok.n) return;
    char q[96], k[96];
    token_id_text(a, i, q, sizeof q);
    token_id_text(a, j, k, sizeof k);
    snprintf(a->readout_ids, sizeof a->readout_ids, "%s -> %s", q, k);
}

/* Crosshair over the hovered cell (i, j) and the readout "she -> curie: 0.83". */
static void figure_hover(App *a, const MapFigure *f, Rect m, float cell, int i, int j) {
    int T = app_T(a);
    if (i < 0 || j < 0 || i >= T || j >= T) return;
    float y = m.y + (i - f->row0) * cell, x = m.x + (j - f->col0) * cell;
    Rgba hl = {255, 255, 255, 200};
    render_frame(a->r, (Rect){m.x, y, m.w, cell}, 1.0f, hl);
    render_frame(a->r, (Rect){x, m.y, cell, m.h}, 1.0f, hl);
    render_frame(a->r, (Rect){x - 1, y - 1, cell + 2, cell + 2}, 2.0f, TH_OFF);
    if (j > i && f->hs->mask_upper)
        snprintf(a->readout, sizeof a->readout, "%s -> %s: masked (a later token)",
                 fig_label(a, f, i), fig_label(a, f, j));
    else
        snprintf(a->readout, sizeof a->readout, "%s -> %s: %.*f", fig_label(a, f, i),
                 fig_label(a, f, j), f->hs->vmin < 0 ? 3 : 2, f->values[(size_t)i * T + j]);
    if (!f->labels) token_ids_readout(a, i, j);
}

float ui_map_figure(App *a, Rect area, const MapFigure *f, Rect *map_out) {
    FigureLayout L;
    figure_layout(a, area, f, &L);
    Rect m = {area.x + L.band_l, area.y, L.cell * f->n, L.cell * f->n};
    int T = app_T(a);
    render_map_upload(a->r, f->tex, f->values, T, T, f->version);
    render_map_draw(a->r, f->tex, m, f->row0, f->col0, f->n, f->n, f->hs);
    render_frame(a->r, (Rect){m.x - 1, m.y - 1, m.w + 2, m.h + 2}, 1.0f, TH_BORDER);
    ui_add_region(a, f->name, m, f->row0, f->col0, f->n, f->n, f->layer, f->head);
    int hr = -1, hc = -1;
    if (ui_hover(a, m)) {
        hr = f->row0 + (int)((a->ui.my - m.y) / L.cell);
        hc = f->col0 + (int)((a->ui.mx - m.x) / L.cell);
        figure_hover(a, f, m, L.cell, hr, hc);
    }
    if (a->pin_row >= f->row0 && a->pin_row < f->row0 + f->n) {
        float y = m.y + (a->pin_row - f->row0) * L.cell;
        render_frame(a->r, (Rect){m.x - 2, y - 2, m.w + 4, L.cell + 4}, 2.0f, TH_ACCENT);
    }
    figure_labels(a, f, &L, m, hr, hc);
    if (map_out) *map_out = m;
    return L.cell;
}

/* ---- colour bar ---- */

void ui_colorbar(App *a, Rect r, const HeatmapScale *hs) {
    float ramp[256]; /* t from 1 (top) to 0 (bottom); uploaded once (version 1) */
    for (int i = 0; i < 256; i++) ramp[i] = 1.0f - (float)i / 255.0f;
    render_map_upload(a->r, &a->tex_bar, ramp, 256, 1, 1);
    HeatmapScale bar = {0.0f, 1.0f, hs->gamma, hs->cmap, 0};
    render_map_draw(a->r, &a->tex_bar, r, 0, 0, 256, 1, &bar);
    render_frame(a->r, (Rect){r.x - 1, r.y - 1, r.w + 2, r.h + 2}, 1.0f, TH_BORDER);
    double lo = hs->vmin, hi = hs->vmax;
    if (!(hi > lo)) return;
    double step = ticks_bar_step(hi - lo);
    int dec = ticks_decimals(step);
    float lh = render_line_height(a->r, FONT_SMALL);
    for (double k = ceil(lo / step - 1e-6); k * step <= hi + 1e-6 * step; k += 1.0) {
        double v = fabs(k) < 0.5 ? 0.0 : k * step;
        float y = r.y + r.h - (float)((v - lo) / (hi - lo)) * r.h;
        char t[32];
        snprintf(t, sizeof t, "%.*f", dec, v);
        render_rect(a->r, (Rect){r.x + r.w, y - 0.5f, 5, 1}, TH_MUTED);
        render_text(a->r, t, r.x + r.w + 8, y - lh / 2, FONT_SMALL, TH_MUTED);
    }
}

/* ---- figures of any shape, line charts, wrapped text (teaching views) ---- */

void ui_matrix_figure(App *a, Rect area, const MatrixFigure *f) {
    float lh = render_line_height(a->r, FONT_SMALL);
    Rect m = {area.x + 44, area.y, area.w - 44, area.h - lh - 26};
    if (m.w < 8 || m.h < 8 || f->rows < 1 || f->cols < 1) return;
    render_map_upload(a->r, f->tex, f->values, f->rows, f->cols, f->version);
    render_map_draw(a->r, f->tex, m, 0, 0, f->rows, f->cols, f->hs);
    render_frame(a->r, (Rect){m.x - 1, m.y - 1, m.w + 2, m.h + 2}, 1.0f, TH_BORDER);
    ui_add_region(a, f->name, m, 0, 0, f->rows, f->cols, a->layer, -1);
    /* ticks: 0, the middle and the last index of each axis */
    int rt[3] = {0, f->rows / 2, f->rows - 1}, ct[3] = {0, f->cols / 2, f->cols - 1};
    char t[32];
    for (int k = 0; k < 3; k++) {
        snprintf(t, sizeof t, "%d", rt[k]);
        float y = m.y + (rt[k] + 0.5f) * m.h / f->rows - lh / 2;
        render_text(a->r, t, m.x - 6 - render_text_width(a->r, t, -1, FONT_SMALL), y, FONT_SMALL,
                    TH_MUTED);
        snprintf(t, sizeof t, "%d", ct[k]);
        float x = m.x + (ct[k] + 0.5f) * m.w / f->cols - render_text_width(a->r, t, -1, FONT_SMALL) / 2;
        render_text(a->r, t, x, m.y + m.h + 4, FONT_SMALL, TH_MUTED);
    }
    render_text(a->r, f->xlabel, m.x + m.w / 2 - render_text_width(a->r, f->xlabel, -1, FONT_SMALL) / 2,
                m.y + m.h + 6 + lh, FONT_SMALL, TH_INK);
    render_text_up(a->r, f->ylabel, area.x + 2, m.y + m.h / 2 +
                   render_text_width(a->r, f->ylabel, -1, FONT_SMALL) / 2, FONT_SMALL, TH_INK);
    if (ui_hover(a, m)) {
        int i = (int)((a->ui.my - m.y) / m.h * f->rows), j = (int)((a->ui.mx - m.x) / m.w * f->cols);
        if (i >= 0 && i < f->rows && j >= 0 && j < f->cols)
            snprintf(a->readout, sizeof a->readout, "%s %d, %s %d: %.3f", f->ylabel, i, f->xlabel,
                     j, f->values[(size_t)i * f->cols + j]);
    }
}

/* Data range of the finite points of every series. */
static int chart_range(const ChartSeries *s, int n, double *x0, double *x1, double *y0, double *y1) {
    int any = 0;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < s[k].n; i++) {
            double x = s[k].x[i], y = s[k].y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            if (!any) *x0 = *x1 = x, *y0 = *y1 = y, any = 1;
            *x0 = fmin(*x0, x), *x1 = fmax(*x1, x), *y0 = fmin(*y0, y), *y1 = fmax(*y1, y);
        }
    if (any && *x1 <= *x0) *x1 = *x0 + 1;
    if (any && *y1 <= *y0) *y0 -= 0.5, *y1 += 0.5;
    return any;
}

static void chart_ticks(App *a, Rect p, double x0, double x1, double y0, double y1) {
    float lh = render_line_height(a->r, FONT_SMALL);
    char t[32];
    double ys = ticks_bar_step(y1 - y0), xs = ticks_bar_step(x1 - x0);
    int yd = ticks_decimals(ys);
    for (double k = ceil(y0 / ys - 1e-6); k * ys <= y1 + 1e-6 * ys; k += 1.0) {
        float y = p.y + p.h - (float)((k * ys - y0) / (y1 - y0)) * p.h;
        render_rect(a->r, (Rect){p.x, y, p.w, 1}, TH_BORDER);
        snprintf(t, sizeof t, "%.*f", yd, fabs(k) < 0.5 ? 0.0 : k * ys);
        render_text(a->r, t, p.x - 6 - render_text_width(a->r, t, -1, FONT_SMALL), y - lh / 2,
                    FONT_SMALL, TH_MUTED);
    }
    for (double k = ceil(x0 / xs - 1e-6); k * xs <= x1 + 1e-6 * xs; k += 1.0) {
        float x = p.x + (float)((k * xs - x0) / (x1 - x0)) * p.w;
        render_rect(a->r, (Rect){x, p.y + p.h, 1, 5}, TH_MUTED);
        snprintf(t, sizeof t, "%g", fabs(k) < 0.5 ? 0.0 : k * xs);
        render_text(a->r, t, x - render_text_width(a->r, t, -1, FONT_SMALL) / 2, p.y + p.h + 6,
                    FONT_SMALL, TH_MUTED);
    }
}

static void chart_legend(App *a, Rect p, const ChartSeries *s, int n) {
    float x = p.x + 10, y = p.y + 6;
    for (int k = 0; k < n; k++) {
        if (!s[k].name || !s[k].name[0]) continue;
        unsigned char rgb[3];
        chart_series_color(k, rgb);
        render_rect(a->r, (Rect){x, y + 7, 16, 3}, (Rgba){rgb[0], rgb[1], rgb[2], 255});
        x += 22 + render_text(a->r, s[k].name, x + 20, y, FONT_SMALL, TH_INK) + 10;
    }
}

void ui_line_chart(App *a, Rect r, const ChartSeries *s, int n, const UiChart *c) {
    float lh = render_line_height(a->r, FONT_SMALL);
    double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    if (c->title) render_text(a->r, c->title, r.x, r.y, FONT_UI, TH_INK);
    Rect p = {r.x + 56, r.y + lh + 12, r.w - 66, r.h - 3 * lh - 24};
    ui_panel(a, p);
    if (p.w < 20 || p.h < 20 || !chart_range(s, n, &x0, &x1, &y0, &y1)) return;
    if (c->name) ui_add_region(a, c->name, p, 0, 0, 1, n, a->layer, -1);
    double pad = 0.05 * (y1 - y0);
    y0 -= pad, y1 += pad;
    chart_ticks(a, p, x0, x1, y0, y1);
    render_clip(a->r, &p);
    for (int k = 0; k < n; k++) {
        unsigned char rgb[3];
        chart_series_color(k, rgb);
        Rgba col = {rgb[0], rgb[1], rgb[2], 255};
        for (int i = 1; i < s[k].n; i++) {
            double xa = s[k].x[i - 1], ya = s[k].y[i - 1], xb = s[k].x[i], yb = s[k].y[i];
            if (!isfinite(xa) || !isfinite(ya) || !isfinite(xb) || !isfinite(yb)) continue;
            render_line(a->r, p.x + (float)((xa - x0) / (x1 - x0)) * p.w,
                        p.y + p.h - (float)((ya - y0) / (y1 - y0)) * p.h,
                        p.x + (float)((xb - x0) / (x1 - x0)) * p.w,
                        p.y + p.h - (float)((yb - y0) / (y1 - y0)) * p.h, 2.0f, col);
        }
    }
    if (isfinite(c->x_marker) && c->x_marker >= x0 && c->x_marker <= x1) {
        float x = p.x + (float)((c->x_marker - x0) / (x1 - x0)) * p.w;
        for (float y = p.y; y < p.y + p.h; y += 10)
            render_rect(a->r, (Rect){x - 1, y, 2, fminf(5, p.y + p.h - y)}, TH_ERROR);
        if (c->marker_label)
            render_text(a->r, c->marker_label, x + 6, p.y + p.h - lh - 6, FONT_SMALL, TH_ERROR);
    }
    render_clip(a->r, NULL);
    chart_legend(a, p, s, n);
    if (c->xlabel)
        render_text(a->r, c->xlabel, p.x + p.w / 2 - render_text_width(a->r, c->xlabel, -1, FONT_SMALL) / 2,
                    p.y + p.h + lh + 10, FONT_SMALL, TH_INK);
    if (c->ylabel)
        render_text_up(a->r, c->ylabel, r.x + 2, p.y + p.h / 2 +
                       render_text_width(a->r, c->ylabel, -1, FONT_SMALL) / 2, FONT_SMALL, TH_INK);
}


/* The selected head's map of the current text in texture slot of the teaching
 * views, token labels left (and below); returns the cell size, the map in *m. */
float ui_head_figure(App *a, Rect area, int slot, const char *name, int below, Rect *m) {
    int T = app_T(a);
    const float *P = app_map(a, a->layer, a->head);
    HeatmapScale hs;
    app_map_scale(a, P, T, &hs);
    MapFigure f = {P, &a->teach.tex[slot], gui_version(a, slot, a->layer * app_NH(a) + a->head),
                   &hs, name, a->layer, a->head, 1, below, 0, 0, T, NULL};
    return ui_map_figure(a, area, &f, m);
}


/* A symmetric diverging scale (0 = white) over n values. */
HeatmapScale ui_signed_scale(const float *v, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) m = maxf(m, fabsf(v[i]));
    if (m <= 0) m = 1;
    return (HeatmapScale){-m, m, 1.0f, CMAP_DIVERGING, 0};
}

HeatmapScale ui_plain_scale(App *a, const float *v, size_t n, int mask) {
    HeatmapScale hs = {0, 1, a->gamma, a->cmap, mask};
    heatmap_scale_auto(&hs, v, (int)n);
    return hs;
}
