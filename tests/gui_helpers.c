/* gui_helpers.c: see gui_helpers.h. */
#define _DEFAULT_SOURCE
#include "gui_helpers.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stb/stb_image.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "figure/colormap.h"

char gui_err_buf[65536];

void slurp(const char *path, char *buf, size_t len) {
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, len - 1, f) : 0;
    buf[n] = '\0';
    if (f) fclose(f);
}

/* Runs the app with args in dir (stdout to dir/out.txt); returns the exit code.
 * ATTNVIZ_HOME points at the repository (the working folder of make test), so
 * that a binary built elsewhere (build/asan/) finds its shaders and fonts. */
int run_app(const char *dir, const char *env, const char *wrap, const char *args) {
    const char *bin = getenv("AVZ_BIN");
    cr_assert(bin, "AVZ_BIN is not set (run the tests through make test)");
    char cmd[8192], e[600], home[4096];
    cr_assert(getcwd(home, sizeof home));
    snprintf(e, sizeof e, "%s/err.txt", dir);
    snprintf(cmd, sizeof cmd, "cd %s && ATTNVIZ_HOME=%s %s timeout 300 %s %s %s >%s/out.txt 2>%s",
             dir, home, env, wrap, bin, args, dir, e);
    int st = system(cmd);
    slurp(e, gui_err_buf, sizeof gui_err_buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void skip_without_xvfb(void) {
    if (system("command -v xvfb-run >/dev/null 2>&1 && command -v Xvfb >/dev/null 2>&1") != 0)
        cr_skip_test("xvfb-run / Xvfb not installed (apt-get install xvfb xauth), GUI not tested");
}

/* Skips when the app could not open its window for want of a display or of
 * OpenGL 3.3 under Xvfb (any other start-up failure is a test failure). */
void skip_without_gl(int rc) {
    if (rc == 1 && strstr(gui_err_buf, "cannot open the app's window") &&
        (strstr(gui_err_buf, "no display") || strstr(gui_err_buf, "no OpenGL 3.3")))
        cr_skip_test("the app cannot open an OpenGL 3.3 window under Xvfb: %s", gui_err_buf);
}

/* ---- screenshots ---- */


Image load_png(const char *dir, const char *name) {
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    Image im;
    int n;
    im.px = stbi_load(path, &im.w, &im.h, &n, 4);
    cr_assert(im.px, "%s does not decode as PNG", path);
    return im;
}

const unsigned char *pixel(const Image *im, int x, int y) {
    cr_assert(x >= 0 && y >= 0 && x < im->w && y < im->h, "pixel (%d,%d) outside", x, y);
    return im->px + 4 * ((size_t)y * im->w + x);
}

/* Not blank: many colours, and much of the window differs from the background. */
void assert_not_blank(const Image *im, const char *what) {
    int diff = 0, n = 0;
    const unsigned char *bg = pixel(im, 2, im->h / 2);
    for (int y = 0; y < im->h; y += 3)
        for (int x = 0; x < im->w; x += 3, n++) {
            const unsigned char *p = pixel(im, x, y);
            diff += abs(p[0] - bg[0]) + abs(p[1] - bg[1]) + abs(p[2] - bg[2]) > 30;
        }
    cr_assert(diff > n / 20, "%s looks blank: %d of %d pixels differ from the background", what,
              diff, n);
}

/* ---- the layout lines printed by the app ---- */


/* Region name of print_layout line k (0-based) of out; fails when missing. */
Region region(const char *out, int k, const char *name, char *readout, size_t rlen) {
    const char *p = out;
    for (int i = 0; i < k; i++) {
        p = strchr(p, '\n');
        cr_assert(p, "print_layout line %d missing in:\n%s", k, out);
        p++;
    }
    cJSON *j = cJSON_Parse(p);
    cr_assert(j, "layout line %d is not JSON: %.200s", k, p);
    if (readout) snprintf(readout, rlen, "%s", cJSON_GetObjectItem(j, "readout")->valuestring);
    cJSON *rs = cJSON_GetObjectItem(j, "regions"), *it;
    Region g = {0};
    int found = 0;
    cJSON_ArrayForEach(it, rs) {
        if (strcmp(cJSON_GetObjectItem(it, "name")->valuestring, name)) continue;
        g.x = cJSON_GetObjectItem(it, "x")->valuedouble;
        g.y = cJSON_GetObjectItem(it, "y")->valuedouble;
        g.w = cJSON_GetObjectItem(it, "w")->valuedouble;
        g.h = cJSON_GetObjectItem(it, "h")->valuedouble;
        g.row0 = cJSON_GetObjectItem(it, "row0")->valueint;
        g.col0 = cJSON_GetObjectItem(it, "col0")->valueint;
        g.rows = cJSON_GetObjectItem(it, "rows")->valueint;
        g.cols = cJSON_GetObjectItem(it, "cols")->valueint;
        found = 1;
    }
    cJSON_Delete(j);
    cr_assert(found, "no region '%s' in layout line %d: %.300s", name, k, p);
    return g;
}

/* Line k (0-based) of out. */
const char *out_line(const char *out, int k) {
    for (int i = 0; i < k && out; i++) {
        out = strchr(out, '\n');
        if (out) out++;
    }
    cr_assert(out, "line %d missing", k);
    return out;
}

void cell_centre(const Region *g, int i, int j, int *x, int *y) {
    *x = (int)(g->x + (j - g->col0 + 0.5) * g->w / g->cols);
    *y = (int)(g->y + (i - g->row0 + 0.5) * g->h / g->rows);
}

/* Every visible unmasked cell of g shows colormap(hs, values) within 3 levels. */
void assert_cells(const Image *im, const Region *g, const float *values, int T,
                         const HeatmapScale *hs, const char *what) {
    int checked = 0;
    for (int i = g->row0; i < g->row0 + g->rows; i++)
        for (int j = g->col0; j <= i && j < g->col0 + g->cols; j++) {
            int x, y;
            cell_centre(g, i, j, &x, &y);
            unsigned char want[3];
            colormap_lookup(hs->cmap, heatmap_position(hs, values[i * T + j]), want);
            const unsigned char *p = pixel(im, x, y);
            for (int c = 0; c < 3; c++)
                cr_assert(abs(p[c] - want[c]) <= 3, "%s cell (%d,%d) value %.4f at (%d,%d): "
                          "pixel %d,%d,%d, want %d,%d,%d", what, i, j, values[i * T + j], x, y,
                          p[0], p[1], p[2], want[0], want[1], want[2]);
            checked++;
        }
    cr_assert(checked >= T, "%s: only %d cells checked", what, checked);
}

/* Dark ink pixels (text) in the rectangle. */
int ink_in(const Image *im, int x0, int y0, int x1, int y1) {
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            const unsigned char *p = pixel(im, x, y);
            n += p[0] + p[1] + p[2] < 3 * 170;
        }
    return n;
}

void write_file(const char *dir, const char *name, const char *text) {
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
}

int file_exists(const char *dir, const char *name) {
    char path[300];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &sb) == 0;
}


void assert_matrix(const Image *im, const Region *g, const float *values, const HeatmapScale *hs,
                   const char *what) {
    cr_assert(g->w / g->cols >= 2 && g->h / g->rows >= 2, "%s: cells under 2 pixels", what);
    for (int i = 0; i < g->rows; i++)
        for (int j = 0; j < g->cols; j++) {
            int x, y;
            cell_centre(g, i, j, &x, &y);
            float v = values[(size_t)i * g->cols + j];
            unsigned char want[3];
            colormap_lookup(hs->cmap, heatmap_position(hs, v), want);
            const unsigned char *p = pixel(im, x, y);
            for (int c = 0; c < 3; c++)
                cr_assert(abs(p[c] - want[c]) <= 3, "%s cell (%d,%d) value %.4f at (%d,%d): "
                          "pixel %d,%d,%d, want %d,%d,%d", what, i, j, v, x, y, p[0], p[1], p[2],
                          want[0], want[1], want[2]);
        }
}
