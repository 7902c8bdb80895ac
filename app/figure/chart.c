/* chart.c: line charts drawn off-screen and written as PNG (see chart.h).
 *
 * Three steps, like export.c: a pure layout (chart_layout) places the data
 * area, ticks and legend in pixels; a Canvas (a plain RGBA buffer plus one
 * TTF font whose size is changed as needed) receives the grid, axes, lines
 * and text; stb_image_write encodes the pixels into a temp file that is then
 * renamed into place. Lines are anti-aliased by coverage: each series is
 * rasterised as round-capped thick segments into a coverage mask (the
 * maximum over its segments, so joints are not drawn twice) which is then
 * blended once in the series colour. SDL_ttf renders text only; no window,
 * no SDL_Init.
 */
#include "figure/chart.h"

#include "figure/canvas.h"
#include "figure/png.h"
#include "figure/ticks.h"
#include "util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SIZE 200
#define MAX_SIZE 8192
#define TEXT_MAX 256
#define Y_PAD 0.06      /* fraction of the y range left free above and below the data */
#define FONT_H 1.165    /* DejaVu Sans line height in em (ascent + descent) */
#define LEGEND_MAX_W 0.3 /* fraction of the image width */

static const Rgb WHITE = {255, 255, 255};
static const Rgb INK = {25, 25, 25};        /* text */
static const Rgb AXIS = {70, 70, 70};       /* spines and tick marks */
static const Rgb GRID = {228, 228, 228};    /* grid lines */
static const Rgb MARKER = {90, 90, 90};     /* the dashed marker line */
static const Rgb LEGEND_EDGE = {200, 200, 200};

/* Okabe & Ito (2008), ordered for a white background; their yellow is left
 * out (too pale on white). */
static const Rgb PALETTE[] = {
    {0, 114, 178},   /* blue */
    {213, 94, 0},    /* vermillion */
    {0, 158, 115},   /* bluish green */
    {204, 121, 167}, /* reddish purple */
    {230, 159, 0},   /* orange */
    {86, 180, 233},  /* sky blue */
    {0, 0, 0},       /* black */
};
#define N_PALETTE ((int)(sizeof PALETTE / sizeof PALETTE[0]))


static int finite_pt(const ChartSeries *s, int i) { return isfinite(s->x[i]) && isfinite(s->y[i]); }
static int has_text(const char *s) { return s && s[0]; }

void chart_style_default(ChartStyle *s) {
    memset(s, 0, sizeof *s);
    s->x_marker = NAN;
    s->width = 1000;
    s->height = 600;
    s->font_path = CHART_DEFAULT_FONT;
}

void chart_series_color(int i, unsigned char rgb[3]) {
    Rgb c = PALETTE[(i % N_PALETTE + N_PALETTE) % N_PALETTE];
    rgb[0] = c.r, rgb[1] = c.g, rgb[2] = c.b;
}

/* ---- text estimates (pure) ---- */

/* DejaVu Sans advance widths of ' '..'~' in 1/1000 em. */
static const unsigned short ADVANCE[95] = {
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337,
    636, 636, 636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531,
    1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787,
    603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500,
    500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612,
    635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838};

/* Width of s in pixels at pt pixels per em (non-ASCII characters: 0.8 em). */
static int text_w_est(const char *s, int pt) {
    double em = 0.0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 32 && *p < 127) em += ADVANCE[*p - 32] / 1000.0;
        else if (*p < 32 || *p == 127) em += 0.531; /* drawn as '?' */
        else if (*p >= 0xC0) em += 0.8;             /* a multi-byte character */
    }
    return (int)ceil(em * pt);
}

static int text_h(int pt) { return (int)ceil(FONT_H * pt); }

/* ---- ticks (pure) ---- */

/* Index range [*k0, *k1] of the ticks k * step lying within [lo, hi]. */
static void tick_span(double lo, double hi, double step, double *k0, double *k1) {
    *k0 = ceil(lo / step - 1e-9);
    *k1 = floor(hi / step + 1e-9);
}

static void value_text(double v, int dec, char out[48]) {
    if (fabs(v) >= 1e9 || dec > 9) snprintf(out, 48, "%.3g", v);
    else snprintf(out, 48, "%.*f", dec, v);
}

/* Tick k of step (k = 0 is printed as 0, never -0). */
static void tick_text(double k, double step, int dec, char out[48]) {
    value_text(fabs(k) < 0.5 ? 0.0 : k * step, dec, out);
}

/* Widest tick label over [lo, hi] at pt. */
static int ticks_w_est(double lo, double hi, double step, int dec, int pt) {
    double k0, k1;
    tick_span(lo, hi, step, &k0, &k1);
    int w = 0;
    for (double k = k0; k <= k1; k += 1.0) {
        char t[48];
        tick_text(k, step, dec, t);
        w = maxi(w, text_w_est(t, pt));
    }
    return w;
}

/* ---- layout (pure) ---- */

typedef struct { double x0, x1, y0, y1; long n; } Range;

static void data_range(const ChartSeries *series, int n_series, Range *r) {
    *r = (Range){INFINITY, -INFINITY, INFINITY, -INFINITY, 0};
    for (int k = 0; k < n_series; k++)
        for (int i = 0; i < series[k].n; i++) {
            if (!finite_pt(&series[k], i)) continue;
            double x = series[k].x[i], y = series[k].y[i];
            r->x0 = fmin(r->x0, x), r->x1 = fmax(r->x1, x);
            r->y0 = fmin(r->y0, y), r->y1 = fmax(r->y1, y);
            r->n++;
        }
}

/* Widens [*lo, *hi] when it is (nearly) a single value. */
static void widen_degenerate(double *lo, double *hi) {
    double a = fmax(fabs(*lo), fabs(*hi));
    if (*hi - *lo > 1e-9 * a) return;
    double d = a > 0.0 ? 0.05 * a : 0.5;
    *lo -= d, *hi += d;
}

static AvzCode check_args(const ChartSeries *series, int n_series, const ChartStyle *st,
                          char *err) {
    if (n_series < 1 || n_series > CHART_MAX_SERIES || !series)
        return avz_fail(err, AVZ_ERR_INPUT, "chart: %d series (1 to %d supported)", n_series,
                        CHART_MAX_SERIES);
    for (int k = 0; k < n_series; k++)
        if (series[k].n < 0 || (series[k].n > 0 && (!series[k].x || !series[k].y)))
            return avz_fail(err, AVZ_ERR_INPUT, "chart: series %d has no data (n = %d)", k,
                            series[k].n);
    int W = st->width ? st->width : 1000, H = st->height ? st->height : 600;
    if (W < MIN_SIZE || W > MAX_SIZE || H < MIN_SIZE || H > MAX_SIZE)
        return avz_fail(err, AVZ_ERR_INPUT, "chart: size %d x %d (%d to %d pixels each)", W, H,
                        MIN_SIZE, MAX_SIZE);
    return AVZ_OK;
}

static double x_pos(const ChartLayout *L, double x) {
    return L->plot_x0 + (x - L->x_min) / (L->x_max - L->x_min) * (L->plot_w - 1);
}

static double y_pos(const ChartLayout *L, double y) {
    return L->plot_y0 + (L->y_max - y) / (L->y_max - L->y_min) * (L->plot_h - 1);
}

static int to_px(double v) { return (int)lround(fmin(fmax(v, -1e9), 1e9)); }

int chart_x_px(const ChartLayout *L, double x) { return to_px(x_pos(L, x)); }
int chart_y_px(const ChartLayout *L, double y) { return to_px(y_pos(L, y)); }

/* Legend box size from the names at legend_pt; 0 x 0 when no series is named. */
static void legend_size(const ChartSeries *series, int n_series, ChartLayout *L) {
    int lp = L->legend_pt, names = 0, name_w = 0;
    for (int k = 0; k < n_series; k++)
        if (has_text(series[k].name)) names++, name_w = maxi(name_w, text_w_est(series[k].name, lp));
    if (!names) return;
    name_w += 2 + lp / 8; /* the estimate may be a pixel or two short */
    L->legend_w = mini(lp * 2 / 3 * 2 + lp * 2 + lp / 2 + name_w, (int)(LEGEND_MAX_W * L->width));
    L->legend_h = lp * 2 / 3 + names * (lp * 3 / 2);
}

/* Whether a line of L's width drawn through the data would touch the rect
 * (x0, y0, w, h), or the marker would; sampled along each segment. */
static int rect_hit(const ChartSeries *series, int n_series, const ChartLayout *L, int x0, int y0,
                    int w, int h) {
    double m = L->line_w + 2.0, rx0 = x0 - m, ry0 = y0 - m, rx1 = x0 + w + m, ry1 = y0 + h + m;
    if (L->has_marker && L->marker_col >= rx0 - 2 && L->marker_col <= rx1 + 2) return 1;
    for (int k = 0; k < n_series; k++) {
        const ChartSeries *s = &series[k];
        for (int i = 0; i < s->n; i++) {
            if (!finite_pt(s, i)) continue;
            int j = i > 0 && finite_pt(s, i - 1) ? i - 1 : i;
            double ax = x_pos(L, s->x[j]), ay = y_pos(L, s->y[j]);
            double bx = x_pos(L, s->x[i]), by = y_pos(L, s->y[i]);
            if (fmax(ax, bx) < rx0 || fmin(ax, bx) > rx1 || fmax(ay, by) < ry0 || fmin(ay, by) > ry1)
                continue;
            int steps = (int)ceil(hypot(bx - ax, by - ay) / 2.0) + 1;
            for (int t = 0; t <= steps; t++) {
                double px = ax + (bx - ax) * t / steps, py = ay + (by - ay) * t / steps;
                if (px >= rx0 && px <= rx1 && py >= ry0 && py <= ry1) return 1;
            }
        }
    }
    return 0;
}

/* Puts the legend into the first free corner of the data area (upper right,
 * upper left, lower right, lower left); returns 0 when none is free. */
static int place_legend_inside(const ChartSeries *series, int n_series, ChartLayout *L) {
    int m = L->legend_pt * 4 / 5;
    int xr = L->plot_x0 + L->plot_w - m - L->legend_w, xl = L->plot_x0 + m;
    int yt = L->plot_y0 + m, yb = L->plot_y0 + L->plot_h - m - L->legend_h;
    const int xs[4] = {xr, xl, xr, xl}, ys[4] = {yt, yt, yb, yb};
    for (int c = 0; c < 4; c++) {
        if (xs[c] < xl || ys[c] < yt) return 0; /* the legend does not fit inside */
        if (!rect_hit(series, n_series, L, xs[c], ys[c], L->legend_w, L->legend_h)) {
            L->legend_x0 = xs[c], L->legend_y0 = ys[c];
            return 1;
        }
    }
    return 0;
}

/* The data area's width with right margin `right`, and the marker column. */
static void set_plot_width(ChartLayout *L, int right, double x_marker) {
    L->plot_w = L->width - L->plot_x0 - right;
    if (L->has_marker) L->marker_col = chart_x_px(L, x_marker);
}

AvzCode chart_layout(const ChartSeries *series, int n_series, const ChartStyle *st,
                     ChartLayout *L, char *err) {
    ChartStyle def;
    if (!st) chart_style_default(&def), st = &def;
    AvzCode rc = check_args(series, n_series, st, err);
    if (rc) return rc;
    Range r;
    data_range(series, n_series, &r);
    if (r.n == 0) return avz_fail(err, AVZ_ERR_INPUT, "chart: no finite point to plot");
    memset(L, 0, sizeof *L);
    L->width = st->width ? st->width : 1000;
    L->height = st->height ? st->height : 600;
    L->has_marker = isfinite(st->x_marker);
    if (L->has_marker) r.x0 = fmin(r.x0, st->x_marker), r.x1 = fmax(r.x1, st->x_marker);
    widen_degenerate(&r.x0, &r.x1);
    widen_degenerate(&r.y0, &r.y1);
    double ypad = Y_PAD * (r.y1 - r.y0);
    L->x_min = r.x0, L->x_max = r.x1, L->y_min = r.y0 - ypad, L->y_max = r.y1 + ypad;

    /* sizes scale with the image; 1000 x 600 is the reference */
    double s = fmin(L->width / 1000.0, L->height / 600.0);
    L->title_pt = clampi((int)lround(21 * s), 10, 120);
    L->label_pt = clampi((int)lround(17 * s), 9, 100);
    L->tick_pt = L->legend_pt = clampi((int)lround(14 * s), 8, 80);
    L->line_w = (float)fmax(1.5, 2.5 * s);
    L->pad = maxi(6, L->label_pt * 3 / 4);
    L->tick_len = maxi(3, L->tick_pt * 2 / 5);
    int gap = maxi(2, L->tick_pt / 3);

    /* vertical: title, marker label band, data, ticks, x label */
    L->plot_y0 = L->pad + (has_text(st->title) ? text_h(L->title_pt) + L->title_pt / 2 : 0) +
                 (L->has_marker ? text_h(L->tick_pt) + gap : text_h(L->tick_pt) / 2);
    int bottom = 1 + L->tick_len + gap + text_h(L->tick_pt) +
                 (has_text(st->x_label) ? gap + text_h(L->label_pt) : 0) + L->pad;
    L->plot_h = L->height - L->plot_y0 - bottom;
    L->y_step = ticks_step(L->y_max - L->y_min, maxi(2, L->plot_h * 2 / (L->tick_pt * 7)));
    L->y_decimals = ticks_decimals(L->y_step);

    /* horizontal: y label, tick values, data, legend */
    int ytw = ticks_w_est(L->y_min, L->y_max, L->y_step, L->y_decimals, L->tick_pt);
    L->plot_x0 = L->pad + (has_text(st->y_label) ? text_h(L->label_pt) + gap : 0) + ytw + gap +
                 L->tick_len + 1;
    char last[48];
    value_text(r.x1, ticks_decimals(ticks_step(r.x1 - r.x0, 10)), last);
    int right = maxi(L->pad, text_w_est(last, L->tick_pt) / 2 + 2);
    set_plot_width(L, right, st->x_marker);
    legend_size(series, n_series, L);
    if (L->legend_w && !place_legend_inside(series, n_series, L)) {
        L->legend_outside = 1;
        set_plot_width(L, right + L->legend_w + L->pad, st->x_marker);
        L->legend_x0 = L->plot_x0 + L->plot_w + L->pad;
        L->legend_y0 = L->plot_y0;
    }
    if (L->plot_w < 40 || L->plot_h < 40)
        return avz_fail(err, AVZ_ERR_INPUT, "chart: %d x %d is too small for its text", L->width,
                        L->height);
    int xtw = maxi(L->tick_pt * 6, ticks_w_est(r.x0, r.x1, ticks_step(r.x1 - r.x0, 10),
                                               ticks_decimals(ticks_step(r.x1 - r.x0, 10)),
                                               L->tick_pt) * 2);
    L->x_step = ticks_step(L->x_max - L->x_min, maxi(2, L->plot_w / xtw));
    L->x_decimals = ticks_decimals(L->x_step);
    return AVZ_OK;
}



/* A 1 px outline of the rectangle (x, y, w, h), inside it. */
static void outline_rect(Canvas *cv, int x, int y, int w, int h, Rgb c) {
    canvas_fill(cv, x, y, w, 1, c);
    canvas_fill(cv, x, y + h - 1, w, 1, c);
    canvas_fill(cv, x, y, 1, h, c);
    canvas_fill(cv, x + w - 1, y, 1, h, c);
}

/* ---- text ---- */

/* ---- anti-aliased thick lines ---- */

/* Coverage (0..255) of the canvas rectangle (x0, y0, w, h). */
typedef struct { int x0, y0, w, h; unsigned char *a; /* (h, w) */ } Mask;

static int mask_open(Mask *m, Canvas *cv, int x0, int y0, int w, int h) {
    *m = (Mask){x0, y0, maxi(w, 0), maxi(h, 0), NULL};
    m->a = calloc((size_t)m->w * m->h + 1, 1);
    if (!m->a) canvas_fail(cv, "chart", "out of memory for a line mask");
    return m->a != NULL;
}

/* Adds a round-capped segment (a)-(b) of width 2 hw (pixel centres at
 * integer coordinates): each pixel gets the larger of its coverage so far
 * and 1/2 + hw - (its distance to the segment), clamped to [0, 1]. */
static void mask_segment(Mask *m, double ax, double ay, double bx, double by, double hw) {
    double r = hw + 1.0;
    double fx0 = fmax(fmin(ax, bx) - r, m->x0), fx1 = fmin(fmax(ax, bx) + r, m->x0 + m->w - 1);
    double fy0 = fmax(fmin(ay, by) - r, m->y0), fy1 = fmin(fmax(ay, by) + r, m->y0 + m->h - 1);
    if (fx0 > fx1 || fy0 > fy1) return;
    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    for (int y = (int)floor(fy0); y <= (int)ceil(fy1); y++)
        for (int x = (int)floor(fx0); x <= (int)ceil(fx1); x++) {
            if (x < m->x0 || y < m->y0 || x >= m->x0 + m->w || y >= m->y0 + m->h) continue;
            double t = len2 > 0.0 ? ((x - ax) * dx + (y - ay) * dy) / len2 : 0.0;
            t = fmin(fmax(t, 0.0), 1.0);
            double d = hypot(x - (ax + t * dx), y - (ay + t * dy));
            double cov = fmin(fmax(hw + 0.5 - d, 0.0), 1.0);
            unsigned char v = (unsigned char)lround(cov * 255.0);
            unsigned char *p = m->a + (size_t)(y - m->y0) * m->w + (x - m->x0);
            if (v > *p) *p = v;
        }
}

/* Blends colour c through the mask onto the canvas and frees the mask. */
static void mask_paint(Mask *m, Canvas *cv, Rgb c) {
    for (int j = 0; j < m->h; j++)
        for (int i = 0; i < m->w; i++) {
            unsigned char v = m->a[(size_t)j * m->w + i];
            if (v) canvas_blend(cv, m->x0 + i, m->y0 + j, c, v / 255.0f);
        }
    free(m->a);
    m->a = NULL;
}

/* One series as a polyline clipped to the data area, broken at non-finite
 * points; a finite point between two gaps is drawn as a dot. */
static void draw_series(Canvas *cv, const ChartLayout *L, const ChartSeries *s, Rgb c) {
    Mask m;
    if (!mask_open(&m, cv, L->plot_x0, L->plot_y0, L->plot_w, L->plot_h)) return;
    double hw = L->line_w / 2.0;
    for (int i = 0; i < s->n; i++) {
        if (!finite_pt(s, i)) continue;
        int prev = i > 0 && finite_pt(s, i - 1), next = i + 1 < s->n && finite_pt(s, i + 1);
        int j = prev ? i - 1 : i;
        if (prev || !next) /* a lone point: a dot twice as wide as the line */
            mask_segment(&m, x_pos(L, s->x[j]), y_pos(L, s->y[j]), x_pos(L, s->x[i]),
                         y_pos(L, s->y[i]), prev ? hw : 2.0 * hw);
    }
    mask_paint(&m, cv, c);
}

/* ---- chart parts ---- */

static void draw_grid(Canvas *cv, const ChartLayout *L) {
    double k0, k1;
    tick_span(L->x_min, L->x_max, L->x_step, &k0, &k1);
    for (double k = k0; k <= k1; k += 1.0)
        canvas_fill(cv, chart_x_px(L, k * L->x_step), L->plot_y0, 1, L->plot_h, GRID);
    tick_span(L->y_min, L->y_max, L->y_step, &k0, &k1);
    for (double k = k0; k <= k1; k += 1.0)
        canvas_fill(cv, L->plot_x0, chart_y_px(L, k * L->y_step), L->plot_w, 1, GRID);
}

/* Spines left of and below the data area, outward ticks and tick values. */
static void draw_axes(Canvas *cv, const ChartLayout *L) {
    int xa = L->plot_x0 - 1, ya = L->plot_y0 + L->plot_h, gap = maxi(2, L->tick_pt / 3);
    canvas_fill(cv, xa, L->plot_y0, 1, L->plot_h + 1, AXIS);
    canvas_fill(cv, xa, ya, L->plot_w + 1, 1, AXIS);
    double k0, k1;
    char t[48];
    tick_span(L->x_min, L->x_max, L->x_step, &k0, &k1);
    for (double k = k0; k <= k1; k += 1.0) {
        int x = chart_x_px(L, k * L->x_step);
        canvas_fill(cv, x, ya + 1, 1, L->tick_len, AXIS);
        tick_text(k, L->x_step, L->x_decimals, t);
        canvas_text(cv, t, INK, L->tick_pt, x, ya + 1 + L->tick_len + gap, AL_MID, AL_START, cv->img->w, 0, CANVAS_TEXT_INSIDE);
    }
    tick_span(L->y_min, L->y_max, L->y_step, &k0, &k1);
    for (double k = k0; k <= k1; k += 1.0) {
        int y = chart_y_px(L, k * L->y_step);
        canvas_fill(cv, xa - L->tick_len, y, L->tick_len, 1, AXIS);
        tick_text(k, L->y_step, L->y_decimals, t);
        canvas_text(cv, t, INK, L->tick_pt, xa - L->tick_len - gap, y, AL_END, AL_MID, L->plot_x0, 0, CANVAS_TEXT_INSIDE);
    }
}

/* The title over the data area and the two axis labels. */
static void draw_labels(Canvas *cv, const ChartLayout *L, const ChartStyle *st) {
    int gap = maxi(2, L->tick_pt / 3), xc = L->plot_x0 + L->plot_w / 2;
    if (has_text(st->title))
        canvas_text(cv, st->title, INK, L->title_pt, xc, L->pad, AL_MID, AL_START, L->width - 2 * L->pad,
                  0, CANVAS_TEXT_INSIDE);
    int y = L->plot_y0 + L->plot_h + 1 + L->tick_len + gap + text_h(L->tick_pt) + gap;
    if (has_text(st->x_label))
        canvas_text(cv, st->x_label, INK, L->label_pt, xc, y, AL_MID, AL_START, L->plot_w, 0, CANVAS_TEXT_INSIDE);
    if (has_text(st->y_label))
        canvas_text(cv, st->y_label, INK, L->label_pt, L->pad, L->plot_y0 + L->plot_h / 2, AL_START,
                  AL_MID, L->plot_h, 1, CANVAS_TEXT_INSIDE);
}

/* A crisp dashed vertical line at the marker column, its label above it. */
static void draw_marker(Canvas *cv, const ChartLayout *L, const char *label) {
    if (!L->has_marker || L->marker_col < L->plot_x0 || L->marker_col >= L->plot_x0 + L->plot_w)
        return;
    int dash = maxi(3, L->tick_pt / 2), space = maxi(2, L->tick_pt / 3);
    int w = maxi(1, (int)lroundf(L->line_w / 2.5f)), x = L->marker_col - (w - 1) / 2;
    for (int y = L->plot_y0; y < L->plot_y0 + L->plot_h; y += dash + space)
        canvas_fill(cv, x, y, w, mini(dash, L->plot_y0 + L->plot_h - y), MARKER);
    if (has_text(label))
        canvas_text(cv, label, INK, L->tick_pt, L->marker_col, L->plot_y0 - maxi(2, L->tick_pt / 4),
                  AL_MID, AL_END, L->width, 0, CANVAS_TEXT_INSIDE);
}

/* The legend box: a line sample and the name of each named series. */
static void draw_legend(Canvas *cv, const ChartLayout *L, const ChartSeries *series,
                        int n_series) {
    if (!L->legend_w) return;
    canvas_fill(cv, L->legend_x0, L->legend_y0, L->legend_w, L->legend_h, WHITE);
    outline_rect(cv, L->legend_x0, L->legend_y0, L->legend_w, L->legend_h, LEGEND_EDGE);
    int lp = L->legend_pt, inner = lp * 2 / 3, row = lp * 3 / 2, sample = lp * 2;
    int x = L->legend_x0 + inner, y = L->legend_y0 + inner / 2 + row / 2;
    int name_x = x + sample + lp / 2, name_w = L->legend_x0 + L->legend_w - inner - name_x;
    for (int k = 0; k < n_series; k++) {
        if (!has_text(series[k].name)) continue;
        unsigned char rgb[3];
        chart_series_color(k, rgb);
        Mask m;
        if (!mask_open(&m, cv, x - lp, y - lp, sample + 2 * lp, 2 * lp)) return;
        mask_segment(&m, x, y, x + sample, y, L->line_w / 2.0);
        mask_paint(&m, cv, (Rgb){rgb[0], rgb[1], rgb[2]});
        canvas_text(cv, series[k].name, INK, lp, name_x, y, AL_START, AL_MID, name_w, 0, CANVAS_TEXT_INSIDE);
        y += row;
    }
}

static void draw_chart(Canvas *cv, const ChartLayout *L, const ChartSeries *series,
                       int n_series, const ChartStyle *st) {
    draw_grid(cv, L);
    draw_marker(cv, L, st->marker_label);
    for (int k = 0; k < n_series; k++) {
        unsigned char rgb[3];
        chart_series_color(k, rgb);
        draw_series(cv, L, &series[k], (Rgb){rgb[0], rgb[1], rgb[2]});
    }
    draw_axes(cv, L);
    draw_labels(cv, L, st);
    draw_legend(cv, L, series, n_series);
}

/* ---- writing ---- */


AvzCode chart_line_png(const char *path, const ChartSeries *series, int n_series,
                       const ChartStyle *st, char *err) {
    ChartStyle def;
    if (!st) chart_style_default(&def), st = &def;
    if (!path) return avz_fail(err, AVZ_ERR_INPUT, "chart: no path given");
    ChartLayout L;
    AvzCode rc = chart_layout(series, n_series, st, &L, err);
    if (rc) return rc;
    AvzAtomicFile af;
    rc = avz_atomic_open(&af, path, err);
    if (rc) return rc;
    Canvas cv;
    rc = canvas_open(&cv, L.width, L.height, st->font_path ? st->font_path : CHART_DEFAULT_FONT,
                     L.tick_pt, WHITE, err);
    if (rc) {
        avz_atomic_abort(&af);
        return rc;
    }
    draw_chart(&cv, &L, series, n_series, st);
    rc = canvas_save(&cv, &af, err);
    canvas_close(&cv);
    return rc;
}
