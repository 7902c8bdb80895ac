/* render.c: the SDL2 window and its OpenGL 3.3 core context: start-up (shaders,
 * colormap LUTs, the glyph atlas), sizes and HiDPI scale, events translated into the
 * app's own, the clipboard, presenting a frame and screenshots. With draw.c and
 * text.c, the only place of attnviz that calls SDL video or GL (see render.h).
 *
 * Frame structure: render_begin clears; rectangles, lines and glyph quads are
 * appended to one vertex array and drawn in as few calls as possible: the batch is
 * flushed only when a heatmap, a clip change, a screenshot or the end of the frame
 * needs it. */
#include <SDL.h>
#include <SDL_ttf.h>
#include <epoxy/gl.h>
#include <math.h>
#include <string.h>

#include <stb/stb_image_write.h>

#include "assets.h"
#include "render/render_gl.h"


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
void render_atlas_reset(Renderer *r) {
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
    render_atlas_reset(r);
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
    SDL_EventState(SDL_DROPFILE, SDL_ENABLE);   /* a model folder dropped on the window */
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
        ev->mods = mods_of(SDL_GetModState());
        int mx, my;
        SDL_GetMouseState(&mx, &my);
        to_logical(r, mx, my, ev);
        return 1;
    }
    case SDL_DROPFILE:
        ev->type = EV_DROP;
        snprintf(r->drop_path, sizeof r->drop_path, "%s", e->drop.file ? e->drop.file : "");
        SDL_free(e->drop.file);
        ev->path = r->drop_path;
        return 1;
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

/* ---- output --------------------------------------------------------------------------------- */

typedef struct { FILE *f; int bad; } PngSink;

static void png_sink(void *ctx, void *data, int size) {
    PngSink *k = ctx;
    if (fwrite(data, 1, (size_t)size, k->f) != (size_t)size) k->bad = 1;
}

AvzCode render_screenshot(Renderer *r, const char *path, char *err) {
    render_flush(r);
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
    render_flush(r);
    SDL_GL_SwapWindow(r->win);
}
