/* export.h: labelled attention heatmaps as PNG files, for papers and slides.
 * app/figure/ owns every picture written to a file: the canvas (canvas.h), heatmaps
 * (here), line charts (chart.h), colormaps and heatmap_to_rgba (shared with the
 * screen), ticks, PNG and .npy writing. Nothing in it needs a window.
 *
 * Figures are drawn off-screen into SDL surfaces (SDL2_ttf for text; no
 * window, no SDL_Init) and written with stb_image_write. The map pixels come
 * from heatmap_to_rgba, so a PNG shows exactly the colours of the screen.
 * Geometry comes from two pure layout functions, which the renderer and the
 * tests share.
 */
#ifndef AVZ_EXPORT_H
#define AVZ_EXPORT_H

#include "figure/colormap.h"
#include "common.h"

#define EXPORT_DEFAULT_FONT "assets/fonts/DejaVuSans.ttf"

typedef struct {
    Colormap cmap;          /* default viridis; diverging gets a scale symmetric about 0 */
    int size_px;            /* single map: edge of the heatmap area (default 800);
                               grid: the total image width */
    float gamma;            /* 1 = linear; < 1 brightens small values (see heatmap.h) */
    int shared_scale;       /* grids: one scale for all maps (1, default) or one per map (0) */
    int causal;             /* 1 (default): grey out the upper triangle (key after query) */
    const char *font_path;  /* a TTF file; default EXPORT_DEFAULT_FONT */
} ExportStyle;

/* Geometry of a figure in pixels; (0, 0) is the top-left corner. */
typedef struct {
    int width, height;      /* the whole image */
    int map_x0, map_y0;     /* top-left pixel of the first map (grids: row 0, column 0) */
    int cell;               /* edge of one square cell; a map is map_px = cell * T wide */
    int map_px;
    int step_x, step_y;     /* grids: from one map's top-left to its right / lower neighbour */
    int label_pt;           /* font size of token labels; 0 = no labels */
    int label_stride;       /* every label_stride-th token is labelled */
    int label_w;            /* depth of the label bands left of and below the maps */
    int text_pt, title_pt, cell_title_pt; /* other font sizes */
    int pad, gap;           /* outer margin; gap between a label and its map */
    int bar_x0, bar_y0, bar_w, bar_h; /* the colour bar */
} ExportLayout;

/* Fills s with the defaults listed above. */
void export_style_default(ExportStyle *s);

/* Pure geometry of export_heatmap_png for a (T, T) map with these labels (as
 * passed to it; NULL = token indices) under st (NULL = defaults). T >= 1. The
 * label bands are sized from the longest label's length in characters. */
void export_layout_single(int T, const char *const *labels, const ExportStyle *st,
                          ExportLayout *out);

/* Pure geometry of export_grid_png, arguments as there. Token labels are
 * drawn only when the maps are big enough: out->label_pt is 0 when not. */
void export_layout_grid(int n_rows, int n_cols, int T, const char *const *labels,
                        const ExportStyle *st, ExportLayout *out);

/* Writes one map as a PNG: values (T, T) row-major, row = query (destination,
 * y axis, top to bottom), column = key (source, x axis). labels: T token
 * strings (NULL: token indices). title may be NULL. st may be NULL (defaults).
 * Draws the title, query labels at the left, key labels rotated below the map
 * (every k-th one when T is large), crisp square cells, the causal upper
 * triangle in grey, axis captions and a colour bar with tick values. The scale
 * runs from 0 (or the minimum, if negative) to the largest value.
 * The file is written atomically. Returns AVZ_ERR_INPUT (message in err, which
 * may be NULL) for a bad argument, a missing output folder or an unreadable
 * font, AVZ_ERR_INTERNAL when drawing or writing fails; nothing is left behind
 * on failure. The caller keeps ownership of every argument. */
AvzCode export_heatmap_png(const char *path, const float *values, int T,
                           const char *const *labels, const char *title,
                           const ExportStyle *st, char *err);

/* Writes an n_rows x n_cols grid of (T, T) maps, laid out row-major in values
 * ((n_rows, n_cols, T, T)), e.g. one layer's heads (1 x NH) or all of them
 * (L x NH). cell_titles: n_rows * n_cols strings drawn above the maps (or
 * NULL). One title, one colour bar (st->shared_scale 0: each map is scaled to
 * its own maximum and the bar reads min..max). Token labels appear on the left
 * column and the bottom row when the maps are big enough. Ownership, errors
 * and atomicity as export_heatmap_png. */
AvzCode export_grid_png(const char *path, const float *values, int n_rows, int n_cols, int T,
                        const char *const *labels, const char *const *cell_titles,
                        const char *title, const ExportStyle *st, char *err);

#endif
