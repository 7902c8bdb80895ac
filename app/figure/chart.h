/* chart.h: line charts as PNG files, for teaching figures.
 *
 * The first use is "mean loss by token position" for several models, one line
 * each, past the training context, with a dashed vertical line where the
 * training context ends. Everything is drawn into a plain RGBA buffer by the
 * code in chart.c (axes, grid, anti-aliased thick lines, legend); SDL2_ttf only
 * renders the text (no window, no SDL_Init); stb_image_write encodes the PNG,
 * which is written atomically. Geometry comes from a pure layout function
 * (no SDL), shared by the renderer and the tests.
 */
#ifndef AVZ_CHART_H
#define AVZ_CHART_H

#include "common.h"

#define CHART_DEFAULT_FONT "assets/fonts/DejaVuSans.ttf"
#define CHART_MAX_SERIES 64

typedef struct {
    const char *name;        /* legend label, e.g. "rope"; NULL or "" = not in the legend */
    const float *x, *y;      /* n points; a NAN (or infinite) x or y is a gap: the line breaks */
    int n;
} ChartSeries;

typedef struct {
    const char *title, *x_label, *y_label; /* each may be NULL */
    float x_marker;          /* draw a vertical dashed line here with marker_label; NAN = none */
    const char *marker_label;/* e.g. "training context"; may be NULL */
    int width, height;       /* default 1000 x 600 when 0; 200 to 8192 each */
    const char *font_path;   /* a TTF file; NULL = CHART_DEFAULT_FONT */
} ChartStyle;

/* Geometry of a chart in pixels; (0, 0) is the top-left corner. A pixel's
 * centre has integer coordinates: column c covers [c - 0.5, c + 0.5). */
typedef struct {
    int width, height;               /* the whole image */
    int plot_x0, plot_y0;            /* top-left pixel of the data area */
    int plot_w, plot_h;              /* data area; the axes lie just outside it */
    double x_min, x_max;             /* data x at columns plot_x0 and plot_x0 + plot_w - 1 */
    double y_min, y_max;             /* data y at rows plot_y0 + plot_h - 1 and plot_y0 */
    double x_step, y_step;           /* tick spacing (1, 2 or 5 x 10^k) */
    int x_decimals, y_decimals;      /* digits after the point in tick labels */
    int title_pt, label_pt, tick_pt, legend_pt; /* font sizes (pixels per em) */
    float line_w;                    /* series line width in pixels */
    int pad;                         /* outer margin */
    int tick_len;
    int has_marker, marker_col;      /* the marker line's column (valid when has_marker;
                                        from 1500 px up the line is 2-3 px wide around it) */
    int legend_x0, legend_y0, legend_w, legend_h; /* legend box; legend_w 0 = no legend */
    int legend_outside;              /* 1: right of the data area (no free corner inside) */
} ChartLayout;

/* Fills s with the defaults: no texts, no marker, 1000 x 600, the default font. */
void chart_style_default(ChartStyle *s);

/* The colour of series i (Okabe-Ito palette, colour-blind safe; cycles after 7). */
void chart_series_color(int i, unsigned char rgb[3]);

/* Pure geometry of chart_line_png for these arguments (st NULL = defaults):
 * the data ranges (x tight, y padded), tick steps, the data area, the marker
 * column and the legend box, which goes into the first corner of the data area
 * that no line crosses, or right of it. Text widths are estimated from
 * DejaVu Sans metrics. Returns AVZ_ERR_INPUT (message in err, may be NULL)
 * for a bad argument or no finite point; out is then unusable. */
AvzCode chart_layout(const ChartSeries *series, int n_series, const ChartStyle *st,
                     ChartLayout *out, char *err);

/* The column / row whose pixel centre is nearest to data x / y under L (may
 * lie outside the data area for values outside the ranges). */
int chart_x_px(const ChartLayout *L, double x);
int chart_y_px(const ChartLayout *L, double y);

/* Writes a line chart of n_series series (1 to CHART_MAX_SERIES) as a PNG:
 * grid, ticks and tick values, title, axis labels (y label reads upwards), a
 * dashed marker line with its label above the data area, one anti-aliased
 * line per series in chart_series_color(i), and a legend. The file is written
 * atomically. Returns AVZ_ERR_INPUT (message in err, which may be NULL) for a
 * bad argument, no finite point, a missing output folder (naming it) or an
 * unreadable font; AVZ_ERR_INTERNAL when drawing or writing fails. Nothing is
 * left behind on failure. The caller keeps ownership of every argument. */
AvzCode chart_line_png(const char *path, const ChartSeries *series, int n_series,
                       const ChartStyle *st, char *err);

#endif
