/* render_gl.h: what the renderer's three files (render.c: window and events, draw.c:
 * the frame's batch and heatmaps, text.c: the glyph atlas) share. Private to
 * app/render/: nothing outside it sees SDL or GL. */
#ifndef AVZ_RENDER_GL_H
#define AVZ_RENDER_GL_H

#include <SDL.h>
#include <SDL_ttf.h>
#include <epoxy/gl.h>

#include "figure/colormap.h"
#include "render/render.h"

#define ATLAS 2048                 /* glyph atlas edge in pixels */
#define GLYPH_SLOTS 8192           /* hash table size (power of two) */
#define MAX_VERTS (6 * 16384)      /* vertices per batch before a flush */
#define WHITE_UV (2.0f / ATLAS)    /* a pixel of the atlas that is always opaque */


#define ATLAS 2048                 /* glyph atlas edge in pixels */
#define GLYPH_SLOTS 8192           /* hash table size (power of two) */
#define MAX_VERTS (6 * 16384)      /* vertices per batch before a flush */

typedef struct {
    float x, y, u, v;
    unsigned char r, g, b, a;
} Vertex;

typedef struct {
    uint32_t cp;                   /* code point */
    int px;                        /* pixel size; 0 = empty slot */
    int ax, ay, w, h;              /* its rectangle in the atlas (w = 0: nothing to draw) */
    int dx;                        /* x offset of the bitmap from the pen */
    int advance;
} Glyph;

struct Renderer {
    char drop_path[4096];       /* the last EV_DROP's path (Event.path points here) */
    SDL_Window *win;
    SDL_GLContext gl;
    TTF_Font *font;
    int font_px;                   /* the size the font is set to */
    float ui_scale;
    char gl_info[256];

    GLuint ui_prog, map_prog, vao, vbo, map_vao, map_vbo;
    GLint ui_size_loc, map_size_loc, map_vmin, map_vmax, map_gamma, map_mask;
    GLuint atlas;                  /* ATLAS x ATLAS, R8 coverage */
    GLuint lut[CMAP_COUNT];        /* 256 x 1 RGB8 per colormap */
    Glyph *glyphs;                 /* (GLYPH_SLOTS) */
    int n_glyphs;
    int shelf_x, shelf_y, shelf_h; /* the atlas packer's current shelf */

    Vertex *verts;                 /* (MAX_VERTS) the current batch */
    int n_verts;
    int fb_w, fb_h;                /* drawable size this frame */
    int win_w, win_h;              /* window size in points */
};

/* draw.c: draws the batch so far and empties it. */
void render_flush(Renderer *r);
/* draw.c: appends one textured quad (physical pixels; u, v in the atlas, or UV_NONE
 * for a plain colour). */
void render_quad(Renderer *r, const float p[8], float u0, float v0, float u1, float v1,
                 const float uv_order[8], Rgba c);
/* draw.c: the corners of an upright quad in texture order. */
extern const float render_uv_upright[8];
/* render.c: empties the glyph atlas (at start-up, and when it is full). */
void render_atlas_reset(Renderer *r);

#endif
