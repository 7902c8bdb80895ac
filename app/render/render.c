/* render.c: SDL2 window, OpenGL 3.3 core drawing, glyph cache, heatmap textures,
 * screenshots. The only file of attnviz that calls SDL video or GL (see render.h).
 *
 * Frame structure: render_begin clears; rectangles, lines and glyph quads are
 * appended to one vertex array (physical pixels, top-left origin) and drawn in
 * as few calls as possible: the batch is flushed only when a heatmap, a clip
 * change, a screenshot or the end of the frame needs it. */
#include "render/render.h"

#include <SDL.h>
#include <SDL_ttf.h>
#include <epoxy/gl.h>
#include <math.h>
#include <string.h>
#include <stb/stb_image_write.h>

#include "assets.h"
#include "figure/colormap.h"

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

/* ---- setup -------------------------------------------------------------------------- */

static GLuint compile(GLenum kind, const char *rel, char *err) {
    char path[4096];
    assets_find(rel, path, sizeof path);
    size_t len;
    char *src = avz_read_file(path, &len, err);
    if (!src) return 0;
    GLuint sh = glCreateShader(kind);
    const char *s = src;
    glShaderSource(sh, 1, &s, NULL);
    glCompileShader(sh);
    free(src);
    GLint ok = 0;
    glGetShaderiv(sh, GL_COMPILE_STATUS, &ok);
    if (!ok) {
        char log[400];
        glGetShaderInfoLog(sh, sizeof log, NULL, log);
        avz_fail(err, AVZ_ERR_INTERNAL, "shader %s does not compile: %s", path, log);
        glDeleteShader(sh);
        return 0;
    }
    return sh;
}

static GLuint program(const char *vs_rel, const char *fs_rel, char *err) {
    GLuint vs = compile(GL_VERTEX_SHADER, vs_rel, err);
    if (!vs) return 0;
    GLuint fs = compile(GL_FRAGMENT_SHADER, fs_rel, err);
    if (!fs) { glDeleteShader(vs); return 0; }
    GLuint p = glCreateProgram();
    glAttachShader(p, vs);
    glAttachShader(p, fs);
    glLinkProgram(p);
    glDeleteShader(vs);
    glDeleteShader(fs);
    GLint ok = 0;
    glGetProgramiv(p, GL_LINK_STATUS, &ok);
    if (!ok) {
        char log[400];
        glGetProgramInfoLog(p, sizeof log, NULL, log);
        avz_fail(err, AVZ_ERR_INTERNAL, "shaders %s + %s do not link: %s", vs_rel, fs_rel, log);
        glDeleteProgram(p);
        return 0;
    }
    return p;
}

static void make_luts(Renderer *r) {
    glGenTextures(CMAP_COUNT, r->lut);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    for (int c = 0; c < CMAP_COUNT; c++) {
        glBindTexture(GL_TEXTURE_2D, r->lut[c]);
        glTexImage2D(GL_TEXTURE_2D, 0, GL_RGB8, 256, 1, 0, GL_RGB, GL_UNSIGNED_BYTE,
                     colormap_table((Colormap)c));
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    }
}

/* Empties the atlas except for the 4 x 4 white block at (0, 0) that solid
 * shapes sample. */
static void atlas_reset(Renderer *r) {
    memset(r->glyphs, 0, sizeof(Glyph) * GLYPH_SLOTS);
    r->n_glyphs = 0;
    unsigned char *zero = calloc((size_t)ATLAS * ATLAS, 1);
    AVZ_ASSERT(zero);
    for (int y = 0; y < 4; y++) memset(zero + (size_t)y * ATLAS, 255, 4);
    glBindTexture(GL_TEXTURE_2D, r->atlas);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_R8, ATLAS, ATLAS, 0, GL_RED, GL_UNSIGNED_BYTE, zero);
    free(zero);
    r->shelf_x = 6;
    r->shelf_y = 0;
    r->shelf_h = 6;
}

/* The vertex layout shared by both programs: position, then uv / cell. */
static void vertex_layout(GLuint *vao, GLuint *vbo, int with_color) {
    glGenVertexArrays(1, vao);
    glGenBuffers(1, vbo);
    glBindVertexArray(*vao);
    glBindBuffer(GL_ARRAY_BUFFER, *vbo);
    GLsizei stride = with_color ? sizeof(Vertex) : 4 * sizeof(float);
    glEnableVertexAttribArray(0);
    glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, stride, (void *)0);
    glEnableVertexAttribArray(1);
    glVertexAttribPointer(1, 2, GL_FLOAT, GL_FALSE, stride, (void *)(2 * sizeof(float)));
    if (with_color) {
        glEnableVertexAttribArray(2);
        glVertexAttribPointer(2, 4, GL_UNSIGNED_BYTE, GL_TRUE, stride,
                              (void *)offsetof(Vertex, r));
    }
}

static int gl_setup(Renderer *r, char *err) {
    r->ui_prog = program("shaders/ui.vert.glsl", "shaders/ui.frag.glsl", err);
    if (!r->ui_prog) return -1;
    r->map_prog = program("shaders/heatmap.vert.glsl", "shaders/heatmap.frag.glsl", err);
    if (!r->map_prog) return -1;
    r->ui_size_loc = glGetUniformLocation(r->ui_prog, "u_size");
    r->map_size_loc = glGetUniformLocation(r->map_prog, "u_size");
    r->map_vmin = glGetUniformLocation(r->map_prog, "u_vmin");
    r->map_vmax = glGetUniformLocation(r->map_prog, "u_vmax");
    r->map_gamma = glGetUniformLocation(r->map_prog, "u_gamma");
    r->map_mask = glGetUniformLocation(r->map_prog, "u_mask_upper");
    glUseProgram(r->ui_prog);
    glUniform1i(glGetUniformLocation(r->ui_prog, "u_atlas"), 0);
    glUseProgram(r->map_prog);
    glUniform1i(glGetUniformLocation(r->map_prog, "u_values"), 0);
    glUniform1i(glGetUniformLocation(r->map_prog, "u_lut"), 1);
    vertex_layout(&r->vao, &r->vbo, 1);
    vertex_layout(&r->map_vao, &r->map_vbo, 0);
    glGenTextures(1, &r->atlas);
    glBindTexture(GL_TEXTURE_2D, r->atlas);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    atlas_reset(r);
    make_luts(r);
    glEnable(GL_BLEND);
    glBlendFunc(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA);
    snprintf(r->gl_info, sizeof r->gl_info, "OpenGL %s, %s", (const char *)glGetString(GL_VERSION),
             (const char *)glGetString(GL_RENDERER));
    return 0;
}

/* Creates the window and a 3.3 core context; "no display" / "no OpenGL 3.3" on failure. */
static int open_window(Renderer *r, const char *title, int w, int h, char *err) {
    if (SDL_Init(SDL_INIT_VIDEO) != 0) {
        avz_fail(err, AVZ_ERR_INTERNAL, "no display: SDL cannot initialise video (%s)",
                 SDL_GetError());
        return -1;
    }
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 3);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_PROFILE_MASK, SDL_GL_CONTEXT_PROFILE_CORE);
    SDL_GL_SetAttribute(SDL_GL_DOUBLEBUFFER, 1);
    r->win = SDL_CreateWindow(title, SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, w, h,
                              SDL_WINDOW_OPENGL | SDL_WINDOW_RESIZABLE |
                              SDL_WINDOW_ALLOW_HIGHDPI);
    if (!r->win) {
        avz_fail(err, AVZ_ERR_INTERNAL, "no OpenGL 3.3: cannot create an OpenGL window (%s)",
                 SDL_GetError());
        return -1;
    }
    r->gl = SDL_GL_CreateContext(r->win);
    if (!r->gl) {
        avz_fail(err, AVZ_ERR_INTERNAL, "no OpenGL 3.3: this display cannot create an OpenGL "
                 "3.3 core context (%s)", SDL_GetError());
        return -1;
    }
    if (epoxy_gl_version() < 33) {
        avz_fail(err, AVZ_ERR_INTERNAL, "no OpenGL 3.3: the context has OpenGL %d.%d",
                 epoxy_gl_version() / 10, epoxy_gl_version() % 10);
        return -1;
    }
    SDL_GL_SetSwapInterval(1);
    SDL_EventState(SDL_DROPFILE, SDL_DISABLE);
    return 0;
}

Renderer *render_open(const char *title, int w, int h, const char *font_path, char *err) {
    Renderer *r = avz_xcalloc(1, sizeof *r);
    r->ui_scale = 1.0f;
    r->glyphs = avz_xcalloc(GLYPH_SLOTS, sizeof(Glyph));
    r->verts = avz_xmalloc(sizeof(Vertex) * MAX_VERTS);
    if (open_window(r, title, w, h, err) || gl_setup(r, err)) {
        render_close(r);
        return NULL;
    }
    if (TTF_Init() != 0 || !(r->font = TTF_OpenFont(font_path, 16))) {
        avz_fail(err, AVZ_ERR_INPUT, "font '%s': %s", font_path, TTF_GetError());
        render_close(r);
        return NULL;
    }
    r->font_px = 16;
    TTF_SetFontHinting(r->font, TTF_HINTING_LIGHT);
    SDL_GL_GetDrawableSize(r->win, &r->fb_w, &r->fb_h);
    SDL_GetWindowSize(r->win, &r->win_w, &r->win_h);
    return r;
}

void render_close(Renderer *r) {
    if (!r) return;
    if (r->font) { TTF_CloseFont(r->font); TTF_Quit(); }
    if (r->gl) {
        glDeleteProgram(r->ui_prog);
        glDeleteProgram(r->map_prog);
        glDeleteTextures(1, &r->atlas);
        glDeleteTextures(CMAP_COUNT, r->lut);
        glDeleteBuffers(1, &r->vbo);
        glDeleteBuffers(1, &r->map_vbo);
        glDeleteVertexArrays(1, &r->vao);
        glDeleteVertexArrays(1, &r->map_vao);
        SDL_GL_DeleteContext(r->gl);
    }
    if (r->win) SDL_DestroyWindow(r->win);
    /* No SDL_Quit: it would unload the OpenGL driver (dlclose), and the driver's
     * own allocations would then show up as unattributable leaks under
     * LeakSanitizer; the process ends right after this. */
    free(r->glyphs);
    free(r->verts);
    free(r);
}

const char *render_gl_info(const Renderer *r) { return r->gl_info; }

/* ---- scale and window ------------------------------------------------------------------ */

static float pixel_ratio(const Renderer *r) {
    return r->win_w > 0 ? (float)r->fb_w / (float)r->win_w : 1.0f;
}

void render_set_ui_scale(Renderer *r, float s) {
    r->ui_scale = s < 0.5f ? 0.5f : s > 4.0f ? 4.0f : s;
}
float render_ui_scale(const Renderer *r) { return r->ui_scale; }
float render_scale(const Renderer *r) { return pixel_ratio(r) * r->ui_scale; }

void render_size(const Renderer *r, float *w, float *h) {
    float s = render_scale(r);
    *w = (float)r->fb_w / s;
    *h = (float)r->fb_h / s;
}

void render_pixel_size(const Renderer *r, int *w, int *h) {
    *w = r->fb_w;
    *h = r->fb_h;
}

void render_resize(Renderer *r, int w, int h) {
    SDL_SetWindowSize(r->win, w, h);
    SDL_GL_GetDrawableSize(r->win, &r->fb_w, &r->fb_h);
    SDL_GetWindowSize(r->win, &r->win_w, &r->win_h);
}

void render_toggle_fullscreen(Renderer *r) {
    int fs = SDL_GetWindowFlags(r->win) & SDL_WINDOW_FULLSCREEN_DESKTOP;
    SDL_SetWindowFullscreen(r->win, fs ? 0 : SDL_WINDOW_FULLSCREEN_DESKTOP);
}

/* ---- events ------------------------------------------------------------------------------ */

int render_wait(Renderer *r, int timeout_ms) {
    (void)r;
    if (timeout_ms < 0) return SDL_WaitEvent(NULL);
    if (timeout_ms == 0) return SDL_PollEvent(NULL);
    return SDL_WaitEventTimeout(NULL, timeout_ms);
}

static int map_key(SDL_Keycode k, int shift) {
    switch (k) {
    case SDLK_TAB: return KEY_TAB;
    case SDLK_LEFT: return KEY_LEFT;
    case SDLK_RIGHT: return KEY_RIGHT;
    case SDLK_UP: return KEY_UP;
    case SDLK_DOWN: return KEY_DOWN;
    case SDLK_HOME: return KEY_HOME;
    case SDLK_END: return KEY_END;
    case SDLK_PAGEUP: return KEY_PAGEUP;
    case SDLK_PAGEDOWN: return KEY_PAGEDOWN;
    case SDLK_BACKSPACE: return KEY_BACKSPACE;
    case SDLK_DELETE: return KEY_DELETE;
    case SDLK_RETURN: case SDLK_KP_ENTER: return KEY_RETURN;
    case SDLK_ESCAPE: return KEY_ESCAPE;
    case SDLK_F1: return KEY_F1;
    case SDLK_F11: return KEY_F11;
    case SDLK_PLUS: case SDLK_KP_PLUS: return KEY_PLUS;
    case SDLK_EQUALS: return KEY_PLUS;       /* Ctrl = is Ctrl + on most keyboards */
    case SDLK_MINUS: case SDLK_KP_MINUS: return KEY_MINUS;
    case SDLK_QUESTION: return KEY_QUESTION;
    case SDLK_SLASH: return shift ? KEY_QUESTION : '/';
    default: return k >= 32 && k < 127 ? (int)k : 0;
    }
}

static int mods_of(Uint16 m) {
    return (m & KMOD_SHIFT ? MOD_SHIFT : 0) | (m & KMOD_CTRL ? MOD_CTRL : 0) |
           (m & KMOD_ALT ? MOD_ALT : 0);
}

/* Window points -> logical pixels. */
static void to_logical(const Renderer *r, int x, int y, Event *ev) {
    float k = pixel_ratio(r) / render_scale(r);
    ev->x = (float)x * k;
    ev->y = (float)y * k;
}

/* Translates e into ev; returns 0 for events the app ignores. */
static int translate(Renderer *r, const SDL_Event *e, Event *ev) {
    memset(ev, 0, sizeof *ev);
    switch (e->type) {
    case SDL_QUIT: ev->type = EV_QUIT; return 1;
    case SDL_KEYDOWN:
        ev->type = EV_KEY;
        ev->mods = mods_of(e->key.keysym.mod);
        ev->key = map_key(e->key.keysym.sym, ev->mods & MOD_SHIFT);
        return ev->key != 0;
    case SDL_TEXTINPUT:
        ev->type = EV_TEXT;
        snprintf(ev->text, sizeof ev->text, "%s", e->text.text);
        return 1;
    case SDL_MOUSEMOTION:
        ev->type = EV_MOUSE_MOVE;
        to_logical(r, e->motion.x, e->motion.y, ev);
        return 1;
    case SDL_MOUSEBUTTONDOWN: case SDL_MOUSEBUTTONUP:
        ev->type = e->type == SDL_MOUSEBUTTONDOWN ? EV_MOUSE_DOWN : EV_MOUSE_UP;
        ev->button = e->button.button;
        ev->clicks = e->button.clicks;
        to_logical(r, e->button.x, e->button.y, ev);
        return 1;
    case SDL_MOUSEWHEEL: {
        ev->type = EV_WHEEL;
        ev->wheel = e->wheel.preciseY != 0.0f ? e->wheel.preciseY : (float)e->wheel.y;
        int mx, my;
        SDL_GetMouseState(&mx, &my);
        to_logical(r, mx, my, ev);
        return 1;
    }
    case SDL_WINDOWEVENT:
        SDL_GL_GetDrawableSize(r->win, &r->fb_w, &r->fb_h);
        SDL_GetWindowSize(r->win, &r->win_w, &r->win_h);
        ev->type = e->window.event == SDL_WINDOWEVENT_SIZE_CHANGED ? EV_RESIZE : EV_EXPOSE;
        return 1;
    default: return 0;
    }
}

int render_poll(Renderer *r, Event *ev) {
    SDL_Event e;
    while (SDL_PollEvent(&e))
        if (translate(r, &e, ev)) return 1;
    return 0;
}

char *render_clipboard_get(Renderer *r) {
    (void)r;
    char *s = SDL_GetClipboardText();
    if (!s) return NULL;
    size_t n = strlen(s);
    char *out = malloc(n + 1);
    if (out) memcpy(out, s, n + 1);
    SDL_free(s);
    return out;
}

void render_clipboard_set(Renderer *r, const char *s) {
    (void)r;
    SDL_SetClipboardText(s);
}

/* ---- the batch -------------------------------------------------------------------------- */

static void flush(Renderer *r) {
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
static void quad(Renderer *r, const float p[8], float u0, float v0, float u1, float v1,
                 const float uv_order[8], Rgba c) {
    if (r->n_verts + 6 > MAX_VERTS) flush(r);
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

static const float UV_UPRIGHT[8] = {0, 0, 1, 0, 1, 1, 0, 1};
#define WHITE_UV (2.0f / ATLAS)

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
    flush(r);
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
    quad(r, p, WHITE_UV, WHITE_UV, WHITE_UV, WHITE_UV, UV_UPRIGHT, c);
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
    quad(r, p, WHITE_UV, WHITE_UV, WHITE_UV, WHITE_UV, UV_UPRIGHT, c);
}

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
            flush(r);
            atlas_reset(r);
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
            quad(r, p, (float)g->ax / ATLAS, (float)g->ay / ATLAS,
                 (float)(g->ax + g->w) / ATLAS, (float)(g->ay + g->h) / ATLAS, UV_UPRIGHT, c);
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
            quad(r, p, (float)g->ax / ATLAS, (float)g->ay / ATLAS,
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
    flush(r);
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

/* ---- output --------------------------------------------------------------------------------- */

typedef struct { FILE *f; int bad; } PngSink;

static void png_sink(void *ctx, void *data, int size) {
    PngSink *k = ctx;
    if (fwrite(data, 1, (size_t)size, k->f) != (size_t)size) k->bad = 1;
}

AvzCode render_screenshot(Renderer *r, const char *path, char *err) {
    flush(r);
    int w = r->fb_w, h = r->fb_h;
    unsigned char *px = malloc((size_t)w * h * 4), *flip = malloc((size_t)w * h * 4);
    if (!px || !flip) {
        free(px);
        free(flip);
        return avz_fail(err, AVZ_ERR_INTERNAL, "%s: out of memory for a %dx%d screenshot", path,
                        w, h);
    }
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glReadBuffer(GL_BACK);
    glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, px);
    for (int y = 0; y < h; y++) {                 /* GL rows start at the bottom */
        unsigned char *row = flip + (size_t)y * w * 4;
        memcpy(row, px + (size_t)(h - 1 - y) * w * 4, (size_t)w * 4);
        for (int x = 0; x < w; x++) row[4 * x + 3] = 255;
    }
    free(px);
    AvzAtomicFile af;
    AvzCode rc = avz_atomic_open(&af, path, err);
    if (!rc) {
        PngSink k = {af.f, 0};
        if (!stbi_write_png_to_func(png_sink, &k, w, h, 4, flip, w * 4) || k.bad) {
            avz_atomic_abort(&af);
            rc = avz_fail(err, AVZ_ERR_INTERNAL, "%s: PNG encoding or writing failed", path);
        } else {
            rc = avz_atomic_commit(&af, err);
        }
    }
    free(flip);
    return rc;
}

void render_present(Renderer *r) {
    flush(r);
    SDL_GL_SwapWindow(r->win);
}
