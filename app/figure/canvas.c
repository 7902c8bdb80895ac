/* canvas.c: the off-screen canvas of every PNG figure (see canvas.h). */
#include "figure/canvas.h"

#include <math.h>
#include <string.h>

#include "figure/png.h"
#include "util.h"

#define TEXT_MAX 256

void canvas_fail(Canvas *cv, const char *what, const char *detail) {
    if (cv->failed) return;
    cv->failed = 1;
    snprintf(cv->why, sizeof cv->why, "%s: %s", what, detail);
}

AvzCode canvas_open(Canvas *cv, int w, int h, const char *font_path, int pt, Rgb bg, char *err) {
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
    SDL_FillRect(cv->img, NULL, SDL_MapRGB(cv->img->format, bg.r, bg.g, bg.b));
    return AVZ_OK;
}

void canvas_close(Canvas *cv) {
    SDL_FreeSurface(cv->img);
    TTF_CloseFont(cv->font);
    TTF_Quit();
}

void canvas_fill(Canvas *cv, int x, int y, int w, int h, Rgb c) {
    SDL_Rect r = {x, y, w, h};
    SDL_FillRect(cv->img, &r, SDL_MapRGB(cv->img->format, c.r, c.g, c.b));
}

void canvas_blend(Canvas *cv, int x, int y, Rgb c, float a) {
    SDL_Surface *s = cv->img;
    if (x < 0 || y < 0 || x >= s->w || y >= s->h || a <= 0.0f) return;
    unsigned char *p = (unsigned char *)s->pixels + (size_t)y * s->pitch + 4 * (size_t)x;
    if (a >= 1.0f) {
        p[0] = c.r, p[1] = c.g, p[2] = c.b;
        return;
    }
    p[0] = (unsigned char)lroundf(p[0] + (c.r - p[0]) * a);
    p[1] = (unsigned char)lroundf(p[1] + (c.g - p[1]) * a);
    p[2] = (unsigned char)lroundf(p[2] + (c.b - p[2]) * a);
}

void canvas_set_pt(Canvas *cv, int pt) {
    if (cv->pt == pt) return;
    if (TTF_SetFontSize(cv->font, pt) != 0) canvas_fail(cv, "TTF_SetFontSize", TTF_GetError());
    cv->pt = pt;
}

void canvas_fit_width(Canvas *cv, char *buf, int max_w) {
    int w, h;
    size_t n = strlen(buf);
    while (n > 0 && TTF_SizeUTF8(cv->font, buf, &w, &h) == 0 && w > max_w) {
        do n--; while (n > 0 && ((unsigned char)buf[n] & 0xC0) == 0x80);
        memcpy(buf + n, "\xE2\x80\xA6", 4); /* U+2026 and the terminator */
    }
}

/* Length of out[0..k) without an incomplete UTF-8 character at its end. */
static size_t utf8_trim(const char *out, size_t k) {
    size_t s = k;
    while (s > 0 && ((unsigned char)out[s - 1] & 0xC0) == 0x80) s--;
    if (s == 0) return k;
    unsigned char lead = (unsigned char)out[s - 1];
    size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return k - (s - 1) < len ? s - 1 : k;
}

void canvas_sanitize(const char *s, char *out, size_t n) {
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

/* Turns src (32-bit) a quarter turn counter-clockwise: text then reads from bottom to
 * top. Returns a new surface, or NULL. */
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

/* s rendered at pt in ink, shortened to max_w pixels, rotated when rotate; in RGBA32
 * when rgba (for canvas_blend). A new surface, or NULL for an empty string or a
 * failure (recorded). */
static SDL_Surface *text_surface(Canvas *cv, const char *s, Rgb ink, int pt, int max_w,
                                 int rotate, int rgba) {
    char buf[TEXT_MAX + 4];
    canvas_sanitize(s ? s : "", buf, TEXT_MAX);
    if (!buf[0]) return NULL;
    canvas_set_pt(cv, pt);
    canvas_fit_width(cv, buf, max_w);
    SDL_Surface *t = TTF_RenderUTF8_Blended(cv->font, buf, (SDL_Color){ink.r, ink.g, ink.b, 255});
    if (!t) {
        canvas_fail(cv, "rendering text", TTF_GetError());
        return NULL;
    }
    if (rgba) {
        SDL_Surface *c = SDL_ConvertSurfaceFormat(t, SDL_PIXELFORMAT_RGBA32, 0);
        SDL_FreeSurface(t);
        if (!c) canvas_fail(cv, "rendering text", SDL_GetError());
        t = c;
    }
    if (!t || !rotate) return t;
    SDL_Surface *r = rotate_ccw(t);
    SDL_FreeSurface(t);
    if (!r) canvas_fail(cv, "rotating text", SDL_GetError());
    return r;
}

void canvas_text(Canvas *cv, const char *s, Rgb ink, int pt, int x, int y, int ax, int ay,
                 int max_w, int rotate, CanvasTextMode mode) {
    SDL_Surface *t = text_surface(cv, s, ink, pt, max_w, rotate, mode == CANVAS_TEXT_INSIDE);
    if (!t) return;
    if (mode == CANVAS_TEXT_BLIT) {
        SDL_Rect r = {x - t->w * ax / 2, y - t->h * ay / 2, t->w, t->h};
        if (SDL_BlitSurface(t, NULL, cv->img, &r) != 0) canvas_fail(cv, "SDL_BlitSurface", SDL_GetError());
    } else {
        int x0 = clampi(x - t->w * ax / 2, 0, maxi(0, cv->img->w - t->w));
        int y0 = clampi(y - t->h * ay / 2, 0, maxi(0, cv->img->h - t->h));
        for (int j = 0; j < t->h; j++) {
            const unsigned char *row = (const unsigned char *)t->pixels + (size_t)j * t->pitch;
            for (int i = 0; i < t->w; i++) {
                const unsigned char *p = row + 4 * i;
                canvas_blend(cv, x0 + i, y0 + j, (Rgb){p[0], p[1], p[2]}, p[3] / 255.0f);
            }
        }
    }
    SDL_FreeSurface(t);
}

AvzCode canvas_save(Canvas *cv, AvzAtomicFile *af, char *err) {
    if (cv->failed) {
        avz_atomic_abort(af);
        return avz_fail(err, AVZ_ERR_INTERNAL, "%s: drawing failed: %s", af->path, cv->why);
    }
    SDL_Surface *s = cv->img;
    return png_commit_rgba(af, s->pixels, s->w, s->h, s->pitch, err);
}
