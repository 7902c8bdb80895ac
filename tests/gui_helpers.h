/* gui_helpers.h: what the GUI tests share: run the app under Xvfb with a script,
 * skip visibly without Xvfb or OpenGL 3.3, decode screenshots, read the map
 * rectangles the app prints (print_layout) and check cells against the colours
 * of values computed in the test. */
#ifndef AVZ_GUI_HELPERS_H
#define AVZ_GUI_HELPERS_H

#include <stddef.h>

#include "figure/heatmap.h"

#define XVFB "xvfb-run -a -s \"-screen 0 1280x800x24\""

extern char gui_err_buf[65536];  /* the app's stderr of the last run_app */

typedef struct { unsigned char *px; int w, h; } Image;
typedef struct { double x, y, w, h; int row0, col0, rows, cols; } Region;

void slurp(const char *path, char *buf, size_t len);
/* Runs the app with args in dir (stdout to dir/out.txt); returns the exit code. */
int run_app(const char *dir, const char *env, const char *wrap, const char *args);
void skip_without_xvfb(void);
void skip_without_gl(int rc);
Image load_png(const char *dir, const char *name);
const unsigned char *pixel(const Image *im, int x, int y);
void assert_not_blank(const Image *im, const char *what);
/* Region name of print_layout line k (0-based) of out; fails when missing. */
Region region(const char *out, int k, const char *name, char *readout, size_t rlen);
const char *out_line(const char *out, int k);
void cell_centre(const Region *g, int i, int j, int *x, int *y);
/* Every visible unmasked cell of g shows colormap(hs, values) within 3 levels. */
void assert_cells(const Image *im, const Region *g, const float *values, int T,
                  const HeatmapScale *hs, const char *what);
/* Every cell of a (rows, cols) matrix region (no mask) shows its value's colour. */
void assert_matrix(const Image *im, const Region *g, const float *values, const HeatmapScale *hs,
                   const char *what);
int ink_in(const Image *im, int x0, int y0, int x1, int y1);
void write_file(const char *dir, const char *name, const char *text);
int file_exists(const char *dir, const char *name);

#endif
