/* text.c: text through a glyph atlas: each (code point, pixel size) is rasterised
 * once by SDL_ttf into one GL texture (shelf packing) and then drawn as quads in the
 * frame's batch; texts are never turned into textures per frame. */
#include <SDL.h>
#include <SDL_ttf.h>
#include <epoxy/gl.h>
#include <math.h>
#include <string.h>

#include "render/render_gl.h"


/* ---- text --------------------------------------------------------------------------------- */

/* Decodes one UTF-8 character at *s (advancing it); bad bytes give U+FFFD. */
static uint32_t utf8_next(const char **s) {
    const unsigned char *p = (const unsigned char *)*s;
    uint32_t c = p[0];
    int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0) { (*s)++; return 0xFFFD; }
    c &= n == 0 ? 0x7F : n == 1 ? 0x1F : n == 2 ? 0x0F : 0x07;
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80) { *s += i; return 0xFFFD; }
        c = (c << 6) | (p[i] & 0x3F);
    }
    *s += n + 1;
    return c;
}

static void set_font_px(Renderer *r, int px) {
    if (r->font_px == px) return;
    if (TTF_SetFontSize(r->font, px) == 0) r->font_px = px;
}

/* Places a w x h bitmap in the atlas; returns 0 and its corner, or -1 if full. */
static int atlas_place(Renderer *r, int w, int h, int *ax, int *ay) {
    if (r->shelf_x + w + 1 > ATLAS) {
        r->shelf_y += r->shelf_h + 1;
        r->shelf_x = 0;
        r->shelf_h = 0;
    }
    if (w + 1 > ATLAS || r->shelf_y + h + 1 > ATLAS) return -1;
    *ax = r->shelf_x;
    *ay = r->shelf_y;
    r->shelf_x += w + 1;
    if (h > r->shelf_h) r->shelf_h = h;
    return 0;
}

/* Rasterises cp at px into the atlas (coverage from the surface's alpha). */
static void glyph_raster(Renderer *r, Glyph *g) {
    set_font_px(r, g->px);
    uint32_t cp = TTF_GlyphIsProvided32(r->font, g->cp) ? g->cp : '?';
    int minx, maxx, miny, maxy, adv;
    if (TTF_GlyphMetrics32(r->font, cp, &minx, &maxx, &miny, &maxy, &adv) != 0) adv = g->px / 2;
    g->advance = adv;
    if (cp == ' ') return;
    SDL_Color white = {255, 255, 255, 255};
    SDL_Surface *s = TTF_RenderGlyph32_Blended(r->font, cp, white);
    if (!s) return;
    SDL_Surface *c = SDL_ConvertSurfaceFormat(s, SDL_PIXELFORMAT_ABGR8888, 0);
    SDL_FreeSurface(s);
    if (!c) return;
    unsigned char *cov = malloc((size_t)c->w * c->h);
    if (cov && atlas_place(r, c->w, c->h, &g->ax, &g->ay) == 0) {
        for (int y = 0; y < c->h; y++)
            for (int x = 0; x < c->w; x++)
                cov[y * c->w + x] = ((unsigned char *)c->pixels)[y * c->pitch + 4 * x + 3];
        glBindTexture(GL_TEXTURE_2D, r->atlas);
        glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
        glTexSubImage2D(GL_TEXTURE_2D, 0, g->ax, g->ay, c->w, c->h, GL_RED, GL_UNSIGNED_BYTE, cov);
        g->w = c->w;
        g->h = c->h;
        g->dx = minx < 0 ? minx : 0;
    }
    free(cov);
    SDL_FreeSurface(c);
}

/* The cached glyph of (cp, px), rasterised on first use. When the atlas is
 * full it is emptied (after drawing what is batched) and filled again. */
static const Glyph *glyph_get(Renderer *r, uint32_t cp, int px) {
    uint32_t h = (cp * 2654435761u) ^ ((uint32_t)px * 40503u);
    for (uint32_t i = 0;; i++) {
        Glyph *g = &r->glyphs[(h + i) & (GLYPH_SLOTS - 1)];
        if (g->px == px && g->cp == cp) return g;
        if (g->px != 0) continue;
        if (r->n_glyphs > GLYPH_SLOTS / 2 || r->shelf_y + 2 * px + 4 > ATLAS) {
            render_flush(r);
            render_atlas_reset(r);
            return glyph_get(r, cp, px);
        }
        g->cp = cp;
        g->px = px;
        r->n_glyphs++;
        glyph_raster(r, g);
        return g;
    }
}

static int px_of(Renderer *r, float size) {
    int px = (int)lroundf(size * render_scale(r));
    return px < 4 ? 4 : px > 400 ? 400 : px;
}

float render_text(Renderer *r, const char *s, float x, float y, float size, Rgba c) {
    float sc = render_scale(r);
    int px = px_of(r, size);
    float pen = roundf(x * sc), top = roundf(y * sc);
    while (s && *s) {
        const Glyph *g = glyph_get(r, utf8_next(&s), px);
        if (g->w) {
            float x0 = pen + g->dx, p[8] = {x0, top, x0 + g->w, top, x0 + g->w, top + g->h,
                                             x0, top + g->h};
            render_quad(r, p, (float)g->ax / ATLAS, (float)g->ay / ATLAS,
                 (float)(g->ax + g->w) / ATLAS, (float)(g->ay + g->h) / ATLAS, render_uv_upright, c);
        }
        pen += g->advance;
    }
    return (pen - roundf(x * sc)) / sc;
}

float render_text_up(Renderer *r, const char *s, float x, float y, float size, Rgba c) {
    static const float UV_UP[8] = {1, 0, 1, 1, 0, 1, 0, 0}; /* turned anticlockwise */
    float sc = render_scale(r);
    int px = px_of(r, size);
    float pen = roundf(y * sc), left = roundf(x * sc);
    while (s && *s) {
        const Glyph *g = glyph_get(r, utf8_next(&s), px);
        if (g->w) {
            float y0 = pen - g->dx, p[8] = {left, y0 - g->w, left + g->h, y0 - g->w,
                                             left + g->h, y0, left, y0};
            render_quad(r, p, (float)g->ax / ATLAS, (float)g->ay / ATLAS,
                 (float)(g->ax + g->w) / ATLAS, (float)(g->ay + g->h) / ATLAS, UV_UP, c);
        }
        pen -= g->advance;
    }
    return (roundf(y * sc) - pen) / sc;
}

float render_text_width(Renderer *r, const char *s, int n, float size) {
    int px = px_of(r, size);
    const char *end = n >= 0 ? s + n : NULL;
    float w = 0;
    while (s && *s && (!end || s < end)) w += glyph_get(r, utf8_next(&s), px)->advance;
    return w / render_scale(r);
}

float render_line_height(Renderer *r, float size) {
    set_font_px(r, px_of(r, size));
    return (float)TTF_FontHeight(r->font) / render_scale(r);
}
