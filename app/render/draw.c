/* draw.c: what a frame draws: rectangles, lines and glyph quads appended to one
 * vertex batch (physical pixels, top-left origin) and flushed in as few draw calls as
 * possible; clipping; and heatmaps as float textures coloured by the colormap LUT in
 * the fragment shader (shaders/map.frag), uploaded only when their version changes. */
#include <SDL.h>
#include <SDL_ttf.h>
#include <epoxy/gl.h>
#include <math.h>
#include <string.h>

#include "render/render_gl.h"


/* ---- the batch -------------------------------------------------------------------------- */

void render_flush(Renderer *r) {
    if (r->n_verts == 0) return;
    glUseProgram(r->ui_prog);
    glUniform2f(r->ui_size_loc, (float)r->fb_w, (float)r->fb_h);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, r->atlas);
    glBindVertexArray(r->vao);
    glBindBuffer(GL_ARRAY_BUFFER, r->vbo);
    glBufferData(GL_ARRAY_BUFFER, sizeof(Vertex) * r->n_verts, r->verts, GL_STREAM_DRAW);
    glDrawArrays(GL_TRIANGLES, 0, r->n_verts);
    r->n_verts = 0;
}

/* Appends a quad with corners p[0..3] (physical pixels, in order around it) and
 * atlas coordinates (u0, v0)-(u1, v1) mapped onto them the same way. */
void render_quad(Renderer *r, const float p[8], float u0, float v0, float u1, float v1,
                 const float uv_order[8], Rgba c) {
    if (r->n_verts + 6 > MAX_VERTS) render_flush(r);
    float uv[8];
    for (int i = 0; i < 4; i++) {
        uv[2 * i] = uv_order[2 * i] ? u1 : u0;
        uv[2 * i + 1] = uv_order[2 * i + 1] ? v1 : v0;
    }
    static const int idx[6] = {0, 1, 2, 0, 2, 3};
    for (int k = 0; k < 6; k++) {
        int i = idx[k];
        r->verts[r->n_verts++] = (Vertex){p[2 * i], p[2 * i + 1], uv[2 * i], uv[2 * i + 1],
                                          c.r, c.g, c.b, c.a};
    }
}

const float render_uv_upright[8] = {0, 0, 1, 0, 1, 1, 0, 1};

void render_begin(Renderer *r, Rgba c) {
    SDL_GL_GetDrawableSize(r->win, &r->fb_w, &r->fb_h);
    SDL_GetWindowSize(r->win, &r->win_w, &r->win_h);
    glViewport(0, 0, r->fb_w, r->fb_h);
    glDisable(GL_SCISSOR_TEST);
    glClearColor(c.r / 255.0f, c.g / 255.0f, c.b / 255.0f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    r->n_verts = 0;
}

void render_clip(Renderer *r, const Rect *clip) {
    render_flush(r);
    if (!clip) { glDisable(GL_SCISSOR_TEST); return; }
    float s = render_scale(r);
    int x0 = (int)floorf(clip->x * s), y0 = (int)floorf(clip->y * s);
    int x1 = (int)ceilf((clip->x + clip->w) * s), y1 = (int)ceilf((clip->y + clip->h) * s);
    glEnable(GL_SCISSOR_TEST);
    glScissor(x0, r->fb_h - y1, x1 > x0 ? x1 - x0 : 0, y1 > y0 ? y1 - y0 : 0);
}

void render_rect(Renderer *r, Rect rc, Rgba c) {
    float s = render_scale(r);
    float x0 = roundf(rc.x * s), y0 = roundf(rc.y * s);
    float x1 = roundf((rc.x + rc.w) * s), y1 = roundf((rc.y + rc.h) * s);
    if (x1 <= x0 || y1 <= y0) return;
    float p[8] = {x0, y0, x1, y0, x1, y1, x0, y1};
    render_quad(r, p, WHITE_UV, WHITE_UV, WHITE_UV, WHITE_UV, render_uv_upright, c);
}

void render_frame(Renderer *r, Rect rc, float t, Rgba c) {
    render_rect(r, (Rect){rc.x, rc.y, rc.w, t}, c);
    render_rect(r, (Rect){rc.x, rc.y + rc.h - t, rc.w, t}, c);
    render_rect(r, (Rect){rc.x, rc.y + t, t, rc.h - 2 * t}, c);
    render_rect(r, (Rect){rc.x + rc.w - t, rc.y + t, t, rc.h - 2 * t}, c);
}

void render_line(Renderer *r, float x0, float y0, float x1, float y1, float width, Rgba c) {
    float s = render_scale(r);
    x0 *= s, y0 *= s, x1 *= s, y1 *= s;
    float dx = x1 - x0, dy = y1 - y0, len = sqrtf(dx * dx + dy * dy);
    if (len < 1e-3f) return;
    float hw = 0.5f * fmaxf(width * s, 1.0f), nx = -dy / len * hw, ny = dx / len * hw;
    float p[8] = {x0 + nx, y0 + ny, x1 + nx, y1 + ny, x1 - nx, y1 - ny, x0 - nx, y0 - ny};
    render_quad(r, p, WHITE_UV, WHITE_UV, WHITE_UV, WHITE_UV, render_uv_upright, c);
}

/* ---- heatmaps ---------------------------------------------------------------------------- */

void render_map_upload(Renderer *r, RenderMap *m, const float *values, int rows, int cols,
                       unsigned long version) {
    (void)r;
    if (m->tex && m->version == version && m->rows == rows && m->cols == cols) return;
    if (!m->tex) glGenTextures(1, &m->tex);
    glBindTexture(GL_TEXTURE_2D, m->tex);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    if (m->rows != rows || m->cols != cols) {
        glTexImage2D(GL_TEXTURE_2D, 0, GL_R32F, cols, rows, 0, GL_RED, GL_FLOAT, values);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    } else {
        glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, cols, rows, GL_RED, GL_FLOAT, values);
    }
    m->rows = rows;
    m->cols = cols;
    m->version = version;
}

void render_map_draw(Renderer *r, const RenderMap *m, Rect dst, int row0, int col0, int nrows,
                     int ncols, const HeatmapScale *hs) {
    if (!m->tex || nrows <= 0 || ncols <= 0) return;
    render_flush(r);
    float s = render_scale(r);
    float x0 = roundf(dst.x * s), y0 = roundf(dst.y * s);
    float x1 = roundf((dst.x + dst.w) * s), y1 = roundf((dst.y + dst.h) * s);
    float c0 = (float)col0, c1 = (float)(col0 + ncols), r0 = (float)row0, r1 = (float)(row0 + nrows);
    float v[24] = {x0, y0, c0, r0, x1, y0, c1, r0, x1, y1, c1, r1,
                   x0, y0, c0, r0, x1, y1, c1, r1, x0, y1, c0, r1};
    glUseProgram(r->map_prog);
    glUniform2f(r->map_size_loc, (float)r->fb_w, (float)r->fb_h);
    glUniform1f(r->map_vmin, hs->vmin);
    glUniform1f(r->map_vmax, hs->vmax);
    glUniform1f(r->map_gamma, hs->gamma);
    glUniform1i(r->map_mask, hs->mask_upper);
    glActiveTexture(GL_TEXTURE1);
    glBindTexture(GL_TEXTURE_2D, r->lut[hs->cmap]);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, m->tex);
    glBindVertexArray(r->map_vao);
    glBindBuffer(GL_ARRAY_BUFFER, r->map_vbo);
    glBufferData(GL_ARRAY_BUFFER, sizeof v, v, GL_STREAM_DRAW);
    glDrawArrays(GL_TRIANGLES, 0, 6);
}

void render_map_release(Renderer *r, RenderMap *m) {
    (void)r;
    if (m->tex) glDeleteTextures(1, &m->tex);
    memset(m, 0, sizeof *m);
}
