/* canvas.h: the one off-screen canvas every PNG figure is drawn on (export.c's
 * heatmaps, chart.c's line charts): an RGBA32 SDL_Surface, one TTF font whose size
 * changes as needed, and the drawing steps both need. Only SDL surfaces and SDL_ttf:
 * no window, no SDL_Init, so figures are written on machines without a display.
 *
 * Drawing never stops halfway: a failed step is recorded (failed, why) and the
 * figure is refused when it is saved, so no half-drawn PNG is ever written. */
#ifndef AVZ_CANVAS_H
#define AVZ_CANVAS_H

#include <SDL.h>
#include <SDL_ttf.h>

#include "common.h"

typedef struct { unsigned char r, g, b; } Rgb;

typedef struct {
    SDL_Surface *img;  /* (h, w) RGBA32 (bytes R, G, B, A), opaque */
    TTF_Font *font;
    int pt;            /* the font's current size */
    int failed;        /* a drawing step failed; why says which */
    char why[200];
} Canvas;

/* Where text is anchored on (x, y): the start, middle or end of its box. */
enum { AL_START = 0, AL_MID = 1, AL_END = 2 };

/* How text is composited: blitted by SDL where it is placed (heatmaps), or blended
 * pixel by pixel by canvas_blend with its box moved inside the image (charts). */
typedef enum { CANVAS_TEXT_BLIT = 0, CANVAS_TEXT_INSIDE } CanvasTextMode;

/* A w x h canvas filled with bg, with the font at font_path opened at pt. On failure
 * (AVZ_ERR_INPUT for a bad font, AVZ_ERR_INTERNAL for memory) nothing is left open. */
AvzCode canvas_open(Canvas *cv, int w, int h, const char *font_path, int pt, Rgb bg, char *err);
void canvas_close(Canvas *cv);

/* Records the first failure (what: the step, detail: why). */
void canvas_fail(Canvas *cv, const char *what, const char *detail);

/* An opaque rectangle, clipped to the canvas. */
void canvas_fill(Canvas *cv, int x, int y, int w, int h, Rgb c);
/* Colour c over pixel (x, y) with opacity a in [0, 1], clipped. */
void canvas_blend(Canvas *cv, int x, int y, Rgb c, float a);

void canvas_set_pt(Canvas *cv, int pt);
/* Shortens buf in place (ending it with an ellipsis) until it is at most max_w pixels
 * wide in the current font; buf has room for 4 more bytes. */
void canvas_fit_width(Canvas *cv, char *buf, int max_w);

/* Copies s into out (size n) for drawing: newline, tab and carriage return written as
 * "\n", "\t", "\r", other control bytes as '?', cut at a character boundary when it
 * does not fit. */
void canvas_sanitize(const char *s, char *out, size_t n);

/* Draws s in ink at pt, sanitized and shortened to max_w pixels, reading upwards when
 * rotate, so that its anchor (ax, ay: AL_* of the drawn box) lies at (x, y). */
void canvas_text(Canvas *cv, const char *s, Rgb ink, int pt, int x, int y, int ax, int ay,
                 int max_w, int rotate, CanvasTextMode mode);

/* Encodes the canvas as PNG into the open atomic file and renames it into place; on
 * any failure (a recorded drawing failure included) the temp file is removed. */
AvzCode canvas_save(Canvas *cv, AvzAtomicFile *af, char *err);

#endif
