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

#include <SDL.h>
#include <SDL_ttf.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "figure/heatmap.h"
#include "figure/png.h"

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

typedef struct { unsigned char r, g, b; } Rgb;
static const Rgb WHITE = {255, 255, 255};
static const Rgb INK = {25, 25, 25};      /* text */
static const Rgb TICK = {90, 90, 90};     /* tick marks */
static const Rgb FRAME = {120, 120, 120}; /* 1 px frame around maps and the bar */

enum { AL_START = 0, AL_MID = 1, AL_END = 2 }; /* text anchor along an axis */

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }
static int maxi(int a, int b) { return a > b ? a : b; }

void export_style_default(ExportStyle *s) {
    s->cmap = CMAP_VIRIDIS;
    s->size_px = 800;
    s->gamma = 1.0f;
    s->shared_scale = 1;
    s->causal = 1;
    s->font_path = EXPORT_DEFAULT_FONT;
}

/* ---- text helpers shared by layout and drawing ---- */

/* Length of out[0..k) without an incomplete UTF-8 character at its end. */
static size_t utf8_trim(const char *out, size_t k) {
    size_t s = k;
    while (s > 0 && ((unsigned char)out[s - 1] & 0xC0) == 0x80) s--;
    if (s == 0) return k;
    unsigned char lead = (unsigned char)out[s - 1];
    size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return k - (s - 1) < len ? s - 1 : k;
}

/* Copies s into out (size n), writing newline, tab and carriage return as
 * "\n", "\t", "\r" and other control bytes as '?', cut at a character
 * boundary when it does not fit. */
static void text_sanitize(const char *s, char *out, size_t n) {
    size_t k = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *esc = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
        size_t need = esc ? 2 : 1;
        if (k + need >= n) break;
        if (esc) memcpy(out + k, esc, 2);
        else out[k] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
        k += need;
    }
    if (*s) k = utf8_trim(out, k); /* cut short: do not split a character */
    out[k] = '\0';
}

/* Characters (UTF-8 code points) in s once sanitized. */
static int text_chars(const char *s) {
    char buf[TEXT_MAX];
    text_sanitize(s, buf, sizeof buf);
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

/* ---- the canvas: one surface, one font ---- */

typedef struct {
    SDL_Surface *img;  /* (height, width) RGBA32, white background */
    TTF_Font *font;
    int pt;            /* the font's current size */
    int failed;        /* a drawing step failed; why says which */
    char why[200];
} Canvas;

static void canvas_fail(Canvas *cv, const char *what) {
    if (cv->failed) return;
    cv->failed = 1;
    snprintf(cv->why, sizeof cv->why, "%s: %s", what, SDL_GetError());
}

static AvzCode canvas_open(Canvas *cv, int w, int h, const char *font_path, int pt, char *err) {
    memset(cv, 0, sizeof *cv);
    if (TTF_Init() != 0) return avz_fail(err, AVZ_ERR_INTERNAL, "SDL_ttf: %s", TTF_GetError());
    cv->font = TTF_OpenFont(font_path, pt);
    if (!cv->font) {
        avz_fail(err, AVZ_ERR_INPUT, "font '%s': %s", font_path, TTF_GetError());
        TTF_Quit();
        return AVZ_ERR_INPUT;
    }
    cv->pt = pt;
    cv->img = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_RGBA32);
    if (!cv->img) {
        avz_fail(err, AVZ_ERR_INTERNAL, "%dx%d image: %s", w, h, SDL_GetError());
        TTF_CloseFont(cv->font);
        TTF_Quit();
        return AVZ_ERR_INTERNAL;
    }
    SDL_FillRect(cv->img, NULL, SDL_MapRGB(cv->img->format, WHITE.r, WHITE.g, WHITE.b));
    return AVZ_OK;
}

static void canvas_close(Canvas *cv) {
    SDL_FreeSurface(cv->img);
    TTF_CloseFont(cv->font);
    TTF_Quit();
}

static void fill_rect(Canvas *cv, int x, int y, int w, int h, Rgb c) {
    SDL_Rect r = {x, y, w, h};
    SDL_FillRect(cv->img, &r, SDL_MapRGB(cv->img->format, c.r, c.g, c.b));
}

/* A 1 px frame just outside the rectangle (x, y, w, h). */
static void frame_rect(Canvas *cv, int x, int y, int w, int h, Rgb c) {
    fill_rect(cv, x - 1, y - 1, w + 2, 1, c);
    fill_rect(cv, x - 1, y + h, w + 2, 1, c);
    fill_rect(cv, x - 1, y, 1, h, c);
    fill_rect(cv, x + w, y, 1, h, c);
}

static void set_pt(Canvas *cv, int pt) {
    if (cv->pt == pt) return;
    if (TTF_SetFontSize(cv->font, pt) != 0) canvas_fail(cv, "TTF_SetFontSize");
    cv->pt = pt;
}

/* Shortens buf in place (ending it with an ellipsis) until it is at most max_w
 * pixels wide in the current font; buf has room for 4 more bytes. */
static void fit_width(Canvas *cv, char *buf, int max_w) {
    int w, h;
    size_t n = strlen(buf);
    while (n > 0 && TTF_SizeUTF8(cv->font, buf, &w, &h) == 0 && w > max_w) {
        do n--; while (n > 0 && ((unsigned char)buf[n] & 0xC0) == 0x80);
        memcpy(buf + n, "\xE2\x80\xA6", 4); /* U+2026 and the terminator */
    }
}

/* Turns src (32-bit) a quarter turn counter-clockwise: text then reads from
 * bottom to top. Returns a new surface, or NULL. */
static SDL_Surface *rotate_ccw(const SDL_Surface *src) {
    SDL_Surface *dst = SDL_CreateRGBSurfaceWithFormat(0, src->h, src->w, 32,
                                                      src->format->format);
    if (!dst) return NULL;
    for (int y = 0; y < src->h; y++) {
        const uint32_t *row = (const uint32_t *)((const uint8_t *)src->pixels + y * src->pitch);
        for (int x = 0; x < src->w; x++) {
            uint8_t *out = (uint8_t *)dst->pixels + (src->w - 1 - x) * dst->pitch;
            ((uint32_t *)out)[y] = row[x];
        }
    }
    SDL_SetSurfaceBlendMode(dst, SDL_BLENDMODE_BLEND);
    return dst;
}

/* Renders s at pt, shortened to max_w pixels, rotated when rotate. Returns a
 * new surface, or NULL for an empty string or a failure (recorded). */
static SDL_Surface *text_surface(Canvas *cv, const char *s, int pt, int max_w, int rotate) {
    char buf[TEXT_MAX + 4];
    text_sanitize(s ? s : "", buf, TEXT_MAX);
    if (!buf[0]) return NULL;
    set_pt(cv, pt);
    fit_width(cv, buf, max_w);
    SDL_Color ink = {INK.r, INK.g, INK.b, 255};
    SDL_Surface *t = TTF_RenderUTF8_Blended(cv->font, buf, ink);
    if (!t) {
        canvas_fail(cv, "TTF_RenderUTF8_Blended");
        return NULL;
    }
    if (!rotate) return t;
    SDL_Surface *r = rotate_ccw(t);
    SDL_FreeSurface(t);
    if (!r) canvas_fail(cv, "rotate text");
    return r;
}

/* Draws s so that its anchor (ax, ay: AL_START / AL_MID / AL_END of the
 * drawn box, after rotation) lies at (x, y). */
static void draw_text(Canvas *cv, const char *s, int pt, int x, int y, int ax, int ay,
                      int max_w, int rotate) {
    SDL_Surface *t = text_surface(cv, s, pt, max_w, rotate);
    if (!t) return;
    SDL_Rect r = {x - t->w * ax / 2, y - t->h * ay / 2, t->w, t->h};
    if (SDL_BlitSurface(t, NULL, cv->img, &r) != 0) canvas_fail(cv, "SDL_BlitSurface");
    SDL_FreeSurface(t);
}

/* ---- figure parts ---- */

/* One (T, T) map with its top-left cell at (x0, y0), framed. */
static void draw_map(Canvas *cv, const float *values, int T, const HeatmapScale *hs, int x0,
                     int y0, int cell) {
    unsigned char *rgba = malloc((size_t)T * T * 4); /* (T, T, 4) */
    if (!rgba) {
        canvas_fail(cv, "out of memory for a map");
        return;
    }
    heatmap_to_rgba(values, T, T, hs, rgba);
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) {
            const unsigned char *p = rgba + 4 * ((size_t)i * T + j);
            fill_rect(cv, x0 + j * cell, y0 + i * cell, cell, cell, (Rgb){p[0], p[1], p[2]});
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
        if (L->label_stride > 1) fill_rect(cv, x0 - 1 - tl, yc, tl, 1, TICK);
        draw_text(cv, label_text(labels, i, num), L->label_pt, x0 - L->gap, yc, AL_END, AL_MID,
                  L->label_w, 0);
    }
}

/* Key labels below the map at (x0, y0), reading upwards, ending at the map. */
static void draw_key_labels(Canvas *cv, const ExportLayout *L, const char *const *labels, int T,
                            int x0, int y0) {
    int tl = maxi(2, L->gap / 2), y1 = y0 + L->map_px;
    for (int j = 0; j < T; j += L->label_stride) {
        char num[16];
        int xc = x0 + j * L->cell + L->cell / 2;
        if (L->label_stride > 1) fill_rect(cv, xc, y1 + 1, 1, tl, TICK);
        draw_text(cv, label_text(labels, j, num), L->label_pt, xc, y1 + L->gap, AL_MID,
                  AL_START, L->label_w, 1);
    }
}

/* A tick step of 1, 2, 2.5 or 5 times a power of ten giving about 4 steps. */
static double nice_step(double range) {
    double raw = range / 4.0, p = pow(10.0, floor(log10(raw))), m = raw / p;
    return p * (m < 1.5 ? 1.0 : m < 2.25 ? 2.0 : m < 3.5 ? 2.5 : m < 7.5 ? 5.0 : 10.0);
}

/* Decimals needed to print multiples of step exactly (0.25 -> 2, 0.2 -> 1). */
static int step_decimals(double step) {
    int d = maxi(0, (int)-floor(log10(step) + 1e-9));
    double m = step / pow(10.0, floor(log10(step) + 1e-9));
    return fabs(m - 2.5) < 1e-6 ? d + 1 : d;
}

static void draw_bar_tick(Canvas *cv, const ExportLayout *L, int y, const char *text) {
    int x = L->bar_x0 + L->bar_w;
    fill_rect(cv, x, y, tick_len(L), 1, TICK);
    draw_text(cv, text, L->text_pt, x + tick_len(L) + 4, y, AL_START, AL_MID, L->text_pt * 3, 0);
}

/* Tick marks and values at nice steps between hs->vmin and hs->vmax. */
static void draw_bar_ticks(Canvas *cv, const ExportLayout *L, const HeatmapScale *hs) {
    double lo = hs->vmin, hi = hs->vmax, step = nice_step(hi - lo);
    int dec = step_decimals(step);
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
        canvas_fail(cv, "out of memory for the colour bar");
        return;
    }
    HeatmapScale bar = *hs;
    bar.mask_upper = 0;
    float span = hs->vmax - hs->vmin;
    for (int y = 0; y < h; y++) vals[y] = hs->vmax - ((float)y + 0.5f) / (float)h * span;
    heatmap_to_rgba(vals, h, 1, &bar, rgba);
    for (int y = 0; y < h; y++) {
        const unsigned char *p = rgba + 4 * y;
        fill_rect(cv, L->bar_x0, L->bar_y0 + y, L->bar_w, 1, (Rgb){p[0], p[1], p[2]});
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
        draw_text(cv, title, L->title_pt, L->width / 2, L->pad, AL_MID, AL_START,
                  L->width - 2 * L->pad, 0);
    draw_text(cv, "query (destination)", L->text_pt, L->pad, L->map_y0 + maps_h / 2, AL_START,
              AL_MID, maps_h, 1);
    int y = L->map_y0 + maps_h + L->gap + (L->label_pt ? L->label_w + L->gap : 0);
    draw_text(cv, "key (source)", L->text_pt, L->map_x0 + maps_w / 2, y, AL_MID, AL_START, maps_w,
              0);
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


/* Encodes the canvas into the open atomic file and renames it into place;
 * on any failure the temp file is removed. */
static AvzCode canvas_save(Canvas *cv, AvzAtomicFile *af, char *err) {
    if (cv->failed) {
        avz_atomic_abort(af);
        return avz_fail(err, AVZ_ERR_INTERNAL, "%s: drawing failed: %s", af->path, cv->why);
    }
    SDL_Surface *s = cv->img;
    return png_commit_rgba(af, s->pixels, s->w, s->h, s->pitch, err);
}

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
                draw_text(cv, fig->cell_titles[k], L->cell_title_pt, x + L->map_px / 2,
                          y - maxi(2, L->pad / 5), AL_MID, AL_END, L->map_px, 0);
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
    rc = canvas_open(&cv, L->width, L->height, font, L->text_pt, err);
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
