/* render.h: the one thin layer between the app and SDL2 / OpenGL 3.3. app/render/
 * owns the window, the GL context, events and drawing: render.c (window, events),
 * draw.c (the batch, heatmaps), text.c (the glyph atlas); no other folder calls SDL
 * video or GL (make check-layout enforces it).
 *
 * Everything above this module speaks in rectangles, colours, text and heatmap
 * textures, in *logical pixels*: the renderer multiplies every coordinate by its
 * scale (the display's pixel ratio on HiDPI screens times the interface scale
 * that Ctrl +/- changes), so the whole interface grows for a projector without
 * the views knowing. Events come back in the same logical pixels.
 *
 * Drawing is batched: rectangles, lines and text go into one vertex buffer with
 * one texture (the glyph atlas, which also holds a white texel for solid
 * shapes); a heatmap is a float texture (GL_R32F) coloured in the fragment
 * shader through a 256x1 lookup texture made from colormap_table(), the table
 * the PNG export uses, so screen and files show the same colours. Text comes
 * from SDL2_ttf through a glyph cache keyed by (code point, pixel size): a glyph
 * is rasterised once, never per frame. Shaders are read from shaders/ at start.
 *
 * Only the main thread calls this module. */
#ifndef AVZ_RENDER_H
#define AVZ_RENDER_H

#include "common.h"
#include "figure/heatmap.h"

typedef struct { float x, y, w, h; } Rect;
typedef struct { unsigned char r, g, b, a; } Rgba;

typedef struct Renderer Renderer;

/* ---- events ---------------------------------------------------------------- */

/* Keys: printable ASCII keys are their lowercase character ('a', '/', '=');
 * the others are these codes. */
enum {
    KEY_TAB = 256, KEY_LEFT, KEY_RIGHT, KEY_UP, KEY_DOWN, KEY_HOME, KEY_END, KEY_PAGEUP,
    KEY_PAGEDOWN, KEY_BACKSPACE, KEY_DELETE, KEY_RETURN, KEY_ESCAPE, KEY_F1, KEY_F11,
    KEY_PLUS, KEY_MINUS, KEY_QUESTION
};
enum { MOD_SHIFT = 1, MOD_CTRL = 2, MOD_ALT = 4 };

typedef enum {
    EV_NONE = 0, EV_QUIT, EV_KEY, EV_TEXT, EV_MOUSE_MOVE, EV_MOUSE_DOWN, EV_MOUSE_UP,
    EV_WHEEL, EV_RESIZE, EV_EXPOSE, EV_DROP
} EventType;

typedef struct {
    EventType type;
    int key, mods;        /* EV_KEY; mods also for EV_WHEEL (Ctrl + wheel zooms) */
    char text[32];        /* EV_TEXT: UTF-8 typed text */
    float x, y;           /* mouse position, logical pixels */
    int button;           /* 1 left, 2 middle, 3 right */
    int clicks;           /* 2 for a double click */
    float wheel;          /* EV_WHEEL: + away from the user (zoom in) */
    const char *path;     /* EV_DROP: the file or folder dropped on the window (valid
                             until the next render_poll) */
} Event;

/* ---- life cycle ---------------------------------------------------------------- */

/* Opens a resizable, HiDPI-aware window of w x h logical pixels with an OpenGL
 * 3.3 core context, loads the shaders (the .glsl files in shaders/, found with assets_find)
 * and the font. Returns NULL with err saying what failed: "no display" when
 * SDL cannot initialise video, "no OpenGL 3.3" when the context cannot be
 * created, or the missing file. The caller closes it with render_close. */
Renderer *render_open(const char *title, int w, int h, const char *font_path, char *err);
void render_close(Renderer *r);

/* "OpenGL 4.5 (Core Profile) Mesa ..., llvmpipe": what draws, for messages. */
const char *render_gl_info(const Renderer *r);

/* The interface scale (clamped to 0.5..4); logical sizes are multiplied by it. */
void render_set_ui_scale(Renderer *r, float s);
float render_ui_scale(const Renderer *r);
/* Physical pixels per logical pixel (pixel ratio x interface scale). */
float render_scale(const Renderer *r);
/* The drawable area in logical pixels, and in physical pixels. */
void render_size(const Renderer *r, float *w, float *h);
void render_pixel_size(const Renderer *r, int *w, int *h);

/* Resizes the window to w x h window points; toggles desktop fullscreen. */
void render_resize(Renderer *r, int w, int h);
void render_toggle_fullscreen(Renderer *r);

/* Blocks until an event is pending or timeout_ms passes (< 0: forever; 0: no
 * wait). Returns 1 if an event is pending. The CPU rests while it waits. */
int render_wait(Renderer *r, int timeout_ms);
/* Takes the next pending event (1), or returns 0 when there is none. Events the
 * app does not use are skipped. */
int render_poll(Renderer *r, Event *ev);

/* The clipboard as a new string (caller frees), "" when empty; NULL on error. */
char *render_clipboard_get(Renderer *r);
void render_clipboard_set(Renderer *r, const char *s);

/* ---- drawing: between render_begin and render_present ---------------------------- */

void render_begin(Renderer *r, Rgba clear);
/* Restricts drawing to clip (logical), or lifts the restriction with NULL. */
void render_clip(Renderer *r, const Rect *clip);
void render_rect(Renderer *r, Rect rc, Rgba c);
/* A frame of the given thickness inside rc. */
void render_frame(Renderer *r, Rect rc, float thickness, Rgba c);
void render_line(Renderer *r, float x0, float y0, float x1, float y1, float width, Rgba c);

/* Draws UTF-8 text with its top-left at (x, y), size in logical pixels per em.
 * Returns its advance width. Invalid UTF-8 draws U+FFFD. */
float render_text(Renderer *r, const char *s, float x, float y, float size, Rgba c);
/* The same text turned a quarter turn anticlockwise (reading upwards): (x, y) is
 * where its first character's baseline starts... its bottom-left corner. */
float render_text_up(Renderer *r, const char *s, float x, float y, float size, Rgba c);
/* Advance width of s at size without drawing; only the first n bytes when n >= 0. */
float render_text_width(Renderer *r, const char *s, int n, float size);
/* Height of a line of text at size (ascent + descent). */
float render_line_height(Renderer *r, float size);

/* ---- heatmap textures ---------------------------------------------------------- */

/* A (rows, cols) float texture owned by the app, drawn through the colormap
 * shader. Zero-initialise; release with render_map_release. */
typedef struct {
    unsigned int tex;         /* GL texture name, 0 = none yet */
    int rows, cols;
    unsigned long version;    /* the content version last uploaded */
} RenderMap;

/* Uploads values (rows, cols) row-major unless m already holds this version of
 * the same shape: call it every frame, it costs nothing when nothing changed. */
void render_map_upload(Renderer *r, RenderMap *m, const float *values, int rows, int cols,
                       unsigned long version);
/* Draws cells [row0, row0 + nrows) x [col0, col0 + ncols) of m into dst under s
 * (colormap, vmin, vmax, gamma, mask_upper; masked cells grey, NaN magenta),
 * exactly as heatmap_to_rgba colours them. */
void render_map_draw(Renderer *r, const RenderMap *m, Rect dst, int row0, int col0, int nrows,
                     int ncols, const HeatmapScale *s);
void render_map_release(Renderer *r, RenderMap *m);

/* ---- output ---------------------------------------------------------------------- */

/* Writes what has been drawn so far this frame (call before render_present) as
 * an RGBA PNG of the drawable's pixels, atomically. AVZ_ERR_INPUT for a missing
 * folder (err names it), AVZ_ERR_INTERNAL when reading or encoding fails. */
AvzCode render_screenshot(Renderer *r, const char *path, char *err);
/* Draws everything batched and shows the frame. */
void render_present(Renderer *r);

#endif
