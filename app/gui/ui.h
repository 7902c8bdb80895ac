/* ui.h: the app's look and its immediate-mode widgets (ui.c) and figures
 * (figures.c): everything a view draws with, above the renderer (render/). */
#ifndef AVZ_GUI_UI_H
#define AVZ_GUI_UI_H

#include "gui/app.h"

typedef struct {
    const float *values;        /* (T, T) */
    RenderMap *tex;
    unsigned long version;
    const HeatmapScale *hs;
    const char *name;           /* region name */
    int layer, head;
    int labels_left, labels_below;
    int row0, col0, n;          /* visible square window of cells */
    const char *const *labels;  /* the row/column labels, or NULL = the text's tokens */
} MapFigure;

extern const Rgba TH_BG, TH_PANEL, TH_INK, TH_MUTED, TH_BORDER, TH_ACCENT, TH_ACCENT_SOFT,
    TH_ERROR, TH_OFF, TH_HOVER;
#define FONT_UI 15.0f
#define FONT_SMALL 12.5f
#define FONT_TITLE 18.0f
#define FONT_BIG 22.0f

int ui_hover(App *a, Rect r);
/* 1 once for a press inside r this frame (the press is used up). */
int ui_clicked(App *a, Rect r);
/* A push button; returns 1 when clicked this frame. on: drawn as selected. */
int ui_button(App *a, Rect r, const char *label, int on);
/* Text clipped to width w (ellipsis when too long); returns the drawn width. */
float ui_text_fit(App *a, const char *s, float x, float y, float size, float w, Rgba c);
void ui_text_center(App *a, const char *s, Rect r, float size, Rgba c);
void ui_panel(App *a, Rect r);
/* Draws a map with its token labels; registers a region; returns the cell size. */
float ui_map_figure(App *a, Rect area, const MapFigure *f, Rect *map_out);
/* A vertical colour bar with tick values for hs. */
void ui_colorbar(App *a, Rect r, const HeatmapScale *hs);
/* The region named name (or the view's first one when name is NULL), or NULL. */
const MapRegion *ui_region(const App *a, const char *name);
void ui_add_region(App *a, const char *name, Rect r, int row0, int col0, int rows, int cols,
                   int layer, int head);
/* The scale to colour a map of the current display settings with. */
void app_map_scale(App *a, const float *values, int T, HeatmapScale *hs);
const char *ui_token(const App *a, int i);

/* The selected head's map in area with its labels (labels below when below), into
 * teaching texture slot; the map's rectangle into m; returns the cell size. */
float ui_head_figure(App *a, Rect area, int slot, const char *name, int below, Rect *m);
/* A scale symmetric around 0 for signed values (-max|v| .. +max|v|), diverging colours. */
HeatmapScale ui_signed_scale(const float *v, size_t n);
/* The display's scale (gamma, colormap) fitted to v; mask: grey the causal mask. */
HeatmapScale ui_plain_scale(App *a, const float *v, size_t n, int mask);

/* A matrix of any shape (rows, cols) filling area, with axis titles and a few
 * numbered ticks; hovering shows "ylabel i, xlabel j: value". Registers region name. */
typedef struct {
    const float *values;
    int rows, cols;
    RenderMap *tex;
    unsigned long version;
    const HeatmapScale *hs;
    const char *name, *xlabel, *ylabel;
} MatrixFigure;
void ui_matrix_figure(App *a, Rect area, const MatrixFigure *f);
/* A line chart (series as in chart.h) with axes, ticks, a legend and an optional
 * dashed marker at x_marker (NAN = none). */
typedef struct {
    const char *title, *xlabel, *ylabel;
    float x_marker;
    const char *marker_label;
    const char *name;           /* the plot area's region name (print_layout), or NULL */
} UiChart;
void ui_line_chart(App *a, Rect r, const ChartSeries *s, int n, const UiChart *c);
/* Text wrapped to width w from (x, y); returns the height used. */
float ui_text_wrap(App *a, const char *s, float x, float y, float w, float size, Rgba c);

#endif
