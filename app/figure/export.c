/* export.c: draws labelled heatmap figures off-screen and writes them as PNG.
 *
 * A figure is one map (export_heatmap_png) or a grid of maps (export_grid_png).
 * Both go through the same steps: a pure layout (export_layout_*) places every
 * part in pixels, a Canvas (an RGBA32 SDL_Surface plus one TTF font whose size
 * is changed as needed) receives the maps, labels, captions and colour bar,
 * and the pixels are encoded by stb_image_write into a temp file that is then
 * renamed into place. Map pixels come from heatmap_to_rgba, as on screen.
 * Only SDL surfaces and SDL_ttf are used: no window, no SDL_Init.
 */
#include "figure/export.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "figure/heatmap.h"
#include "figure/canvas.h"
#include "figure/png.h"
#include "figure/ticks.h"
#include "util.h"

#define MIN_SIZE_PX 64
#define MAX_SIZE_PX 8192
#define MAX_T 4096
#define MAX_MAPS 4096
#define MAX_PIXELS (200LL * 1000 * 1000)
#define MIN_LABEL_PT 8       /* about 7 px high letters; smaller labels are thinned */
#define LABEL_EM 0.75f       /* generous average glyph width, in em, for label bands */
#define LABEL_MAX_EM 7       /* longer labels are shortened with an ellipsis */
#define GRID_MIN_LABELLED 100 /* grids label their maps only from this map edge (px) */
#define TEXT_MAX 256

static const Rgb WHITE = {255, 255, 255};
static const Rgb INK = {25, 25, 25};      /* text */
static const Rgb TICK = {90, 90, 90};     /* tick marks */
static const Rgb FRAME = {120, 120, 120}; /* 1 px frame around maps and the bar */


void export_style_default(ExportStyle *s) {
    s->cmap = CMAP_VIRIDIS;
    s->size_px = 800;
    s->gamma = 1.0f;
    s->shared_scale = 1;
    s->causal = 1;
    s->font_path = EXPORT_DEFAULT_FONT;
}

/* ---- text helpers shared by layout and drawing ---- */

/* Characters (UTF-8 code points) in s once sanitized. */
static int text_chars(const char *s) {
    char buf[TEXT_MAX];
    canvas_sanitize(s, buf, sizeof buf);
    int n = 0;
    for (const char *p = buf; *p; p++) n += ((unsigned char)*p & 0xC0) != 0x80;
    return n;
}

/* Label i: labels[i], or its index (written into num) when labels is NULL. */
static const char *label_text(const char *const *labels, int i, char num[16]) {
    if (labels) return labels[i] ? labels[i] : "";
    snprintf(num, 16, "%d", i);
    return num;
}

/* ---- layout (pure) ---- */

static int title_h(const ExportLayout *L) { return L->title_pt * 2; }
static int caption_h(const ExportLayout *L) { return L->text_pt * 3 / 2; }
static int tick_len(const ExportLayout *L) { return maxi(3, L->text_pt / 3); }
static int cell_title_h(const ExportLayout *L) { return L->cell_title_pt * 3 / 2; }

static int right_w(const ExportLayout *L) {
    return L->pad * 3 / 2 + L->bar_w + tick_len(L) + 4 + L->text_pt * 3 + L->pad;
}

static int bottom_h(const ExportLayout *L) {
    return (L->label_pt ? L->gap + L->label_w : 0) + L->gap + caption_h(L) + L->pad;
}

static int left_w(const ExportLayout *L) {
    return L->pad + caption_h(L) + (L->label_pt ? L->label_w + L->gap : 0);
}

/* Sizes shared by both figures; text_pt is the font size of captions and
 * tick values (a single map's size_px is its map edge, a grid's the width). */
static void layout_common(int text_pt, ExportLayout *L) {
    memset(L, 0, sizeof *L);
    L->text_pt = text_pt;
    L->title_pt = text_pt * 5 / 4;
    L->cell_title_pt = text_pt;
    L->pad = text_pt * 5 / 4;
    L->gap = 3;
    L->bar_w = text_pt * 3 / 2;
    L->label_stride = 1;
}

/* Label font size, band depth and gap for cells of edge cell: labels shrink
 * with the cells down to MIN_LABEL_PT, below which only every k-th is drawn. */
static void layout_labels(int cell, int max_pt, int T, const char *const *labels,
                          ExportLayout *L) {
    int pt = clampi(cell * 3 / 4, MIN_LABEL_PT, maxi(MIN_LABEL_PT, max_pt));
    int chars = 1;
    for (int i = 0; i < T; i++) {
        char num[16];
        chars = maxi(chars, text_chars(label_text(labels, i, num)));
    }
    L->label_pt = pt;
    L->label_w = clampi((int)ceilf(LABEL_EM * (float)(pt * chars)) + 2, pt, pt * LABEL_MAX_EM);
    L->gap = maxi(4, pt * 2 / 3);
}

static void layout_stride(ExportLayout *L) {
    int line = L->label_pt * 5 / 4;
    L->label_stride = maxi(1, (line + L->cell - 1) / L->cell);
}

void export_layout_single(int T, const char *const *labels, const ExportStyle *st,
                          ExportLayout *L) {
    ExportStyle def;
    if (!st) export_style_default(&def), st = &def;
    int S = clampi(st->size_px, MIN_SIZE_PX, MAX_SIZE_PX);
    layout_common(clampi(S / 50, 9, 48), L);
    L->cell = maxi(1, S / T);
    L->map_px = L->cell * T;
    layout_labels(L->cell, L->text_pt, T, labels, L);
    layout_stride(L);
    L->map_x0 = left_w(L);
    L->map_y0 = L->pad + title_h(L);
    L->step_x = L->step_y = L->map_px;
    L->bar_x0 = L->map_x0 + L->map_px + L->pad * 3 / 2;
    L->bar_y0 = L->map_y0;
    L->bar_h = L->map_px;
    L->width = L->map_x0 + L->map_px + right_w(L);
    L->height = L->map_y0 + L->map_px + bottom_h(L);
}

void export_layout_grid(int R, int C, int T, const char *const *labels, const ExportStyle *st,
                        ExportLayout *L) {
    ExportStyle def;
    if (!st) export_style_default(&def), st = &def;
    int S = clampi(st->size_px, MIN_SIZE_PX, MAX_SIZE_PX);
    layout_common(clampi(S / 90, 10, 32), L);
    int m0 = (S - left_w(L) - right_w(L) - (C - 1) * L->pad) / C; /* without labels */
    if (m0 >= GRID_MIN_LABELLED)
        layout_labels(maxi(1, m0 / T), L->text_pt * 4 / 5, T, labels, L);
    int m = (S - left_w(L) - right_w(L) - (C - 1) * L->pad) / C;
    L->cell = maxi(1, m / T);
    L->map_px = L->cell * T;
    if (L->label_pt) layout_stride(L);
    L->cell_title_pt = clampi(L->map_px / 12, 9, L->text_pt);
    L->step_x = L->map_px + L->pad;
    L->step_y = L->map_px + cell_title_h(L) + L->pad / 2;
    L->map_x0 = left_w(L);
    L->map_y0 = L->pad + title_h(L) + cell_title_h(L);
    int maps_w = (C - 1) * L->step_x + L->map_px, maps_h = (R - 1) * L->step_y + L->map_px;
    L->bar_x0 = L->map_x0 + maps_w + L->pad * 3 / 2;
    L->bar_y0 = L->map_y0;
    L->bar_h = maps_h;
    L->width = maxi(S, L->map_x0 + maps_w + right_w(L));
    L->height = L->map_y0 + maps_h + bottom_h(L);
}



/* A 1 px frame just outside the rectangle (x, y, w, h). */
static void frame_rect(Canvas *cv, int x, int y, int w, int h, Rgb c) {
    canvas_fill(cv, x - 1, y - 1, w + 2, 1, c);
    canvas_fill(cv, x - 1, y + h, w + 2, 1, c);
    canvas_fill(cv, x - 1, y, 1, h, c);
    canvas_fill(cv, x + w, y, 1, h, c);
}

/* ---- figure parts ---- */

/* One (T, T) map with its top-left cell at (x0, y0), framed. */
static void draw_map(Canvas *cv, const float *values, int T, const HeatmapScale *hs, int x0,
                     int y0, int cell) {
    unsigned char *rgba = malloc((size_t)T * T * 4); /* (T, T, 4) */
    if (!rgba) {
        canvas_fail(cv, "drawing a map", "out of memory");
        return;
    }
    heatmap_to_rgba(values, T, T, hs, rgba);
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) {
            const unsigned char *p = rgba + 4 * ((size_t)i * T + j);
            canvas_fill(cv, x0 + j * cell, y0 + i * cell, cell, cell, (Rgb){p[0], p[1], p[2]});
        }
    free(rgba);
    frame_rect(cv, x0, y0, T * cell, T * cell, FRAME);
}

/* Query labels right-aligned left of the map at (x0, y0); ticks mark the
 * labelled rows when only every k-th row has a label. */
static void draw_query_labels(Canvas *cv, const ExportLayout *L, const char *const *labels,
                              int T, int x0, int y0) {
    int tl = maxi(2, L->gap / 2);
    for (int i = 0; i < T; i += L->label_stride) {
        char num[16];
        int yc = y0 + i * L->cell + L->cell / 2;
        if (L->label_stride > 1) canvas_fill(cv, x0 - 1 - tl, yc, tl, 1, TICK);
        canvas_text(cv, label_text(labels, i, num), INK, L->label_pt, x0 - L->gap, yc, AL_END, AL_MID,
                  L->label_w, 0, CANVAS_TEXT_BLIT);
    }
}

/* Key labels below the map at (x0, y0), reading upwards, ending at the map. */
static void draw_key_labels(Canvas *cv, const ExportLayout *L, const char *const *labels, int T,
                            int x0, int y0) {
    int tl = maxi(2, L->gap / 2), y1 = y0 + L->map_px;
    for (int j = 0; j < T; j += L->label_stride) {
        char num[16];
        int xc = x0 + j * L->cell + L->cell / 2;
        if (L->label_stride > 1) canvas_fill(cv, xc, y1 + 1, 1, tl, TICK);
        canvas_text(cv, label_text(labels, j, num), INK, L->label_pt, xc, y1 + L->gap, AL_MID,
                  AL_START, L->label_w, 1, CANVAS_TEXT_BLIT);
    }
}

static void draw_bar_tick(Canvas *cv, const ExportLayout *L, int y, const char *text) {
    int x = L->bar_x0 + L->bar_w;
    canvas_fill(cv, x, y, tick_len(L), 1, TICK);
    canvas_text(cv, text, INK, L->text_pt, x + tick_len(L) + 4, y, AL_START, AL_MID, L->text_pt * 3, 0, CANVAS_TEXT_BLIT);
}

/* Tick marks and values at nice steps between hs->vmin and hs->vmax. */
static void draw_bar_ticks(Canvas *cv, const ExportLayout *L, const HeatmapScale *hs) {
    double lo = hs->vmin, hi = hs->vmax, step = ticks_bar_step(hi - lo);
    int dec = ticks_decimals(step);
    for (double k = ceil(lo / step - 1e-6); k * step <= hi + 1e-6 * step; k += 1.0) {
        double v = fabs(k) < 0.5 ? 0.0 : k * step;
        int y = L->bar_y0 + L->bar_h - 1 - (int)lround((v - lo) / (hi - lo) * (L->bar_h - 1));
        char text[32];
        snprintf(text, sizeof text, "%.*f", dec, v);
        draw_bar_tick(cv, L, y, text);
    }
}

/* The bar's colours: hs's colours from vmax (top) to vmin (bottom), framed. */
static void draw_bar_colours(Canvas *cv, const ExportLayout *L, const HeatmapScale *hs) {
    int h = L->bar_h;
    if (h <= 0) return;
    float *vals = malloc((size_t)h * sizeof *vals); /* (h,) values, top = vmax */
    unsigned char *rgba = malloc((size_t)h * 4);    /* (h, 4) */
    if (!vals || !rgba) {
        free(vals), free(rgba);
        canvas_fail(cv, "the colour bar", "out of memory");
        return;
    }
    HeatmapScale bar = *hs;
    bar.mask_upper = 0;
    float span = hs->vmax - hs->vmin;
    for (int y = 0; y < h; y++) vals[y] = hs->vmax - ((float)y + 0.5f) / (float)h * span;
    heatmap_to_rgba(vals, h, 1, &bar, rgba);
    for (int y = 0; y < h; y++) {
        const unsigned char *p = rgba + 4 * y;
        canvas_fill(cv, L->bar_x0, L->bar_y0 + y, L->bar_w, 1, (Rgb){p[0], p[1], p[2]});
    }
    free(vals);
    free(rgba);
    frame_rect(cv, L->bar_x0, L->bar_y0, L->bar_w, h, FRAME);
}

/* The colour bar with tick values; with per-map scales (lo_text != NULL) the
 * ends read lo_text and "max" instead. */
static void draw_colorbar(Canvas *cv, const ExportLayout *L, const HeatmapScale *hs,
                          const char *lo_text) {
    draw_bar_colours(cv, L, hs);
    if (!lo_text) {
        draw_bar_ticks(cv, L, hs);
        return;
    }
    draw_bar_tick(cv, L, L->bar_y0, "max");
    draw_bar_tick(cv, L, L->bar_y0 + L->bar_h - 1, lo_text);
}

/* Title and the two axis captions around the block of maps. */
static void draw_captions(Canvas *cv, const ExportLayout *L, const char *title, int maps_w,
                          int maps_h) {
    if (title)
        canvas_text(cv, title, INK, L->title_pt, L->width / 2, L->pad, AL_MID, AL_START,
                  L->width - 2 * L->pad, 0, CANVAS_TEXT_BLIT);
    canvas_text(cv, "query (destination)", INK, L->text_pt, L->pad, L->map_y0 + maps_h / 2, AL_START,
              AL_MID, maps_h, 1, CANVAS_TEXT_BLIT);
    int y = L->map_y0 + maps_h + L->gap + (L->label_pt ? L->label_w + L->gap : 0);
    canvas_text(cv, "key (source)", INK, L->text_pt, L->map_x0 + maps_w / 2, y, AL_MID, AL_START, maps_w,
              0, CANVAS_TEXT_BLIT);
}

/* ---- scales ---- */

/* The range of the finite cells a viewer sees (the lower triangle when
 * causal), widened into lo / hi. */
static void visible_range(const float *v, int T, int causal, float *lo, float *hi) {
    for (int i = 0; i < T; i++)
        for (int j = 0; j < (causal ? i + 1 : T); j++) {
            float x = v[(size_t)i * T + j];
            if (!isfinite(x)) continue;
            if (x < *lo) *lo = x;
            if (x > *hi) *hi = x;
        }
}

/* The scale for n_maps consecutive (T, T) maps: heatmap_scale_auto's rules on
 * the visible cells; symmetric about 0 for the diverging map. */
static void export_scale(const float *v, int n_maps, int T, const ExportStyle *st,
                         HeatmapScale *hs) {
    float range[2] = {INFINITY, -INFINITY};
    for (int k = 0; k < n_maps; k++)
        visible_range(v + (size_t)k * T * T, T, st->causal, &range[0], &range[1]);
    hs->gamma = st->gamma;
    hs->cmap = st->cmap;
    hs->mask_upper = st->causal;
    heatmap_scale_auto(hs, range, 2);
    if (st->cmap == CMAP_DIVERGING) {
        float a = fmaxf(fabsf(range[0]), fabsf(range[1]));
        if (!isfinite(a) || a == 0.0f) a = 1.0f;
        hs->vmin = -a;
        hs->vmax = a;
    }
}

/* ---- writing ---- */


/* ---- figures ---- */

typedef struct {
    const float *values;              /* (R, C, T, T) */
    int R, C, T;
    const char *const *labels;        /* T strings or NULL (indices) */
    const char *const *cell_titles;   /* R*C strings or NULL */
    const char *title;                /* or NULL */
} Figure;

static void draw_maps(Canvas *cv, const ExportLayout *L, const Figure *fig,
                      const ExportStyle *st, const HeatmapScale *shared) {
    size_t TT = (size_t)fig->T * fig->T;
    for (int r = 0; r < fig->R; r++)
        for (int c = 0; c < fig->C; c++) {
            int k = r * fig->C + c, x = L->map_x0 + c * L->step_x, y = L->map_y0 + r * L->step_y;
            HeatmapScale own;
            if (!st->shared_scale) export_scale(fig->values + k * TT, 1, fig->T, st, &own);
            draw_map(cv, fig->values + k * TT, fig->T, st->shared_scale ? shared : &own, x, y,
                     L->cell);
            if (fig->cell_titles)
                canvas_text(cv, fig->cell_titles[k], INK, L->cell_title_pt, x + L->map_px / 2,
                          y - maxi(2, L->pad / 5), AL_MID, AL_END, L->map_px, 0, CANVAS_TEXT_BLIT);
            if (L->label_pt && c == 0) draw_query_labels(cv, L, fig->labels, fig->T, x, y);
            if (L->label_pt && r == fig->R - 1) draw_key_labels(cv, L, fig->labels, fig->T, x, y);
        }
}

/* Per-map scales: the bar's low end reads "0" when no map has negative
 * values (or a diverging map is used, "-max"), else "min". */
static const char *per_map_lo_text(const Figure *fig, const ExportStyle *st) {
    if (st->cmap == CMAP_DIVERGING) return "-max";
    float range[2] = {INFINITY, -INFINITY};
    for (int k = 0; k < fig->R * fig->C; k++)
        visible_range(fig->values + (size_t)k * fig->T * fig->T, fig->T, st->causal, &range[0],
                      &range[1]);
    return range[0] < 0.0f ? "min" : "0";
}

static AvzCode check_figure(const char *path, const Figure *fig, const ExportLayout *L,
                            char *err) {
    if (!path || !fig->values)
        return avz_fail(err, AVZ_ERR_INPUT, "export: no %s given", path ? "values" : "path");
    if (fig->T < 1 || fig->T > MAX_T)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: T = %d (1 to %d supported)", path, fig->T, MAX_T);
    if (fig->R < 1 || fig->C < 1 || (long long)fig->R * fig->C > MAX_MAPS)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: a %d x %d grid (up to %d maps)", path, fig->R,
                        fig->C, MAX_MAPS);
    if ((long long)L->width * L->height > MAX_PIXELS)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: figure of %d x %d pixels is too large", path,
                        L->width, L->height);
    return AVZ_OK;
}

/* Everything but the file: maps, labels, captions and the colour bar. */
static void draw_figure(Canvas *cv, const ExportLayout *L, const Figure *fig,
                        const ExportStyle *st) {
    HeatmapScale hs;
    export_scale(fig->values, fig->R * fig->C, fig->T, st, &hs);
    draw_maps(cv, L, fig, st, &hs);
    int maps_w = (fig->C - 1) * L->step_x + L->map_px;
    int maps_h = (fig->R - 1) * L->step_y + L->map_px;
    draw_captions(cv, L, fig->title, maps_w, maps_h);
    if (st->shared_scale) {
        draw_colorbar(cv, L, &hs, NULL);
        return;
    }
    HeatmapScale unit = hs; /* each map spans the whole bar */
    unit.vmin = st->cmap == CMAP_DIVERGING ? -1.0f : 0.0f;
    unit.vmax = 1.0f;
    draw_colorbar(cv, L, &unit, per_map_lo_text(fig, st));
}

static AvzCode export_figure(const char *path, const Figure *fig, const ExportLayout *L,
                             const ExportStyle *st, char *err) {
    AvzAtomicFile af;
    AvzCode rc = avz_atomic_open(&af, path, err);
    if (rc) return rc;
    Canvas cv;
    const char *font = st->font_path ? st->font_path : EXPORT_DEFAULT_FONT;
    rc = canvas_open(&cv, L->width, L->height, font, L->text_pt, WHITE, err);
    if (rc) {
        avz_atomic_abort(&af);
        return rc;
    }
    draw_figure(&cv, L, fig, st);
    rc = canvas_save(&cv, &af, err);
    canvas_close(&cv);
    return rc;
}

AvzCode export_heatmap_png(const char *path, const float *values, int T,
                           const char *const *labels, const char *title, const ExportStyle *st,
                           char *err) {
    ExportStyle def;
    if (!st) export_style_default(&def), st = &def;
    Figure fig = {values, 1, 1, T, labels, NULL, title};
    ExportLayout L;
    if (T >= 1 && T <= MAX_T) export_layout_single(T, labels, st, &L);
    else memset(&L, 0, sizeof L);
    AvzCode rc = check_figure(path, &fig, &L, err);
    if (rc) return rc;
    ExportStyle one = *st;
    one.shared_scale = 1;
    return export_figure(path, &fig, &L, &one, err);
}

AvzCode export_grid_png(const char *path, const float *values, int n_rows, int n_cols, int T,
                        const char *const *labels, const char *const *cell_titles,
                        const char *title, const ExportStyle *st, char *err) {
    ExportStyle def;
    if (!st) export_style_default(&def), st = &def;
    Figure fig = {values, n_rows, n_cols, T, labels, cell_titles, title};
    ExportLayout L;
    memset(&L, 0, sizeof L);
    if (T >= 1 && T <= MAX_T && n_rows >= 1 && n_cols >= 1 &&
        (long long)n_rows * n_cols <= MAX_MAPS)
        export_layout_grid(n_rows, n_cols, T, labels, st, &L);
    AvzCode rc = check_figure(path, &fig, &L, err);
    if (rc) return rc;
    return export_figure(path, &fig, &L, st, err);
}
