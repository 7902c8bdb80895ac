/* test_chart.c: line chart PNGs (app/chart.c).
 *
 * The PNG tests decode the written file with stb_image and look for pixels
 * where the pure layout (chart_layout, chart_x_px, chart_y_px), shared with
 * the renderer, says the lines, the gap and the marker are. Run from the
 * repository root (the default font path is relative).
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stb/stb_image.h>

#include "figure/chart.h"
#include "common.h"
#include "helpers.h"

static char tmpdir[64];

/* The shared fixtures of tests/helpers.c, under this file's old names. */
static void make_tmpdir(void) { helper_tmpdir(tmpdir, sizeof tmpdir); }
static void remove_tmpdir(void) { helper_rmtree(tmpdir); }
#define file_exists helper_file_exists
#define dir_entries helper_dir_entries

static const unsigned char *px(const unsigned char *img, int w, int x, int y) {
    return img + 4 * ((size_t)y * w + x);
}

/* ---- three known series: bands around y = 0, 2 and 4, series 1 has a gap ---- */

#define NP 100
#define GAP0 40 /* series 1 is NAN for x in [GAP0, GAP1] */
#define GAP1 59
#define MARK 30.0f

typedef struct {
    float x[NP], y[3][NP];
    ChartSeries s[3];
} Three;

static void three_series(Three *t, uint64_t seed) {
    static const char *names[3] = {"alibi", "rope", "sinusoidal"};
    AvzRng rng;
    avz_rng_init(&rng, seed);
    for (int i = 0; i < NP; i++) {
        t->x[i] = (float)i;
        for (int k = 0; k < 3; k++)
            t->y[k][i] = 2.0f * k + 0.3f * sinf(i / 7.0f + k) + 0.05f * avz_rng_uniform(&rng);
    }
    for (int i = GAP0; i <= GAP1; i++) t->y[1][i] = NAN;
    for (int k = 0; k < 3; k++) t->s[k] = (ChartSeries){names[k], t->x, t->y[k], NP};
}

static void three_style(ChartStyle *st) {
    chart_style_default(st);
    st->title = "mean loss by position";
    st->x_label = "token position";
    st->y_label = "loss";
    st->x_marker = MARK;
    st->marker_label = "training context";
}

static int is_colour(const unsigned char *p, const unsigned char rgb[3]) {
    return p[0] == rgb[0] && p[1] == rgb[1] && p[2] == rgb[2];
}

/* Dark neutral grey: the marker's dashes (and text, which lies outside the
 * data area). */
static int is_dark_grey(const unsigned char *p) {
    return p[0] == p[1] && p[1] == p[2] && p[0] < 128;
}

/* ---- layout ---- */

Test(chart, layout_ranges_and_mapping) {
    Three t;
    three_series(&t, 11);
    ChartStyle st;
    three_style(&st);
    ChartLayout L;
    AvzErr err;
    cr_assert_eq(chart_layout(t.s, 3, &st, &L, err), AVZ_OK, "%s", err);
    cr_assert(L.width == 1000 && L.height == 600, "default size %dx%d", L.width, L.height);
    cr_assert(L.x_min == 0.0 && L.x_max == NP - 1, "x range %g..%g not tight", L.x_min, L.x_max);
    float lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < NP; i++)
            if (isfinite(t.y[k][i])) lo = fminf(lo, t.y[k][i]), hi = fmaxf(hi, t.y[k][i]);
    cr_assert(L.y_min < lo && L.y_max > hi, "y range %g..%g misses data %g..%g", L.y_min,
              L.y_max, lo, hi);
    cr_assert(L.y_max - L.y_min < 1.3 * (hi - lo), "y padding too large");
    cr_assert(L.plot_x0 > 0 && L.plot_y0 > 0 && L.plot_x0 + L.plot_w <= L.width &&
              L.plot_y0 + L.plot_h <= L.height);
    cr_assert_eq(chart_x_px(&L, 0.0), L.plot_x0);
    cr_assert_eq(chart_x_px(&L, NP - 1), L.plot_x0 + L.plot_w - 1);
    cr_assert_eq(chart_y_px(&L, L.y_max), L.plot_y0);
    cr_assert_eq(chart_y_px(&L, L.y_min), L.plot_y0 + L.plot_h - 1);
    int want = (int)lround(L.plot_x0 + MARK / (NP - 1) * (L.plot_w - 1));
    cr_assert(L.has_marker && L.marker_col == want && chart_x_px(&L, MARK) == want,
              "marker column %d, expected %d", L.marker_col, want);
    cr_assert_gt(L.legend_w, 0);
}

/* The mantissa of a tick step: 1, 2 or 5 for a nice step. */
static double mantissa(double step) { return step / pow(10.0, floor(log10(step) + 1e-9)); }

Test(chart, nice_tick_steps) {
    AvzRng rng;
    avz_rng_init(&rng, 5);
    for (int trial = 0; trial < 200; trial++) {
        float x[2], y[2];
        double scale = pow(10.0, 8.0 * avz_rng_uniform(&rng) - 4.0);
        x[0] = (float)(scale * avz_rng_normal(&rng)), x[1] = x[0] + (float)(scale * (0.01 + avz_rng_uniform(&rng)));
        y[0] = (float)(scale * avz_rng_normal(&rng)), y[1] = y[0] - (float)(scale * (0.01 + avz_rng_uniform(&rng)));
        ChartSeries s = {"s", x, y, 2};
        ChartLayout L;
        AvzErr err;
        cr_assert_eq(chart_layout(&s, 1, NULL, &L, err), AVZ_OK, "%s", err);
        for (int a = 0; a < 2; a++) {
            double step = a ? L.y_step : L.x_step, lo = a ? L.y_min : L.x_min,
                   hi = a ? L.y_max : L.x_max, m = mantissa(step);
            cr_assert(fabs(m - 1) < 1e-6 || fabs(m - 2) < 1e-6 || fabs(m - 5) < 1e-6,
                      "trial %d axis %d: step %g is not 1, 2 or 5 x 10^k", trial, a, step);
            double ticks = floor(hi / step + 1e-9) - ceil(lo / step - 1e-9) + 1;
            cr_assert(ticks >= 2 && ticks <= 13, "trial %d axis %d: %g ticks over %g..%g", trial,
                      a, ticks, lo, hi);
        }
    }
}

Test(chart, legend_goes_to_a_free_corner_or_outside) {
    float x[2] = {0.0f, 1.0f}, y[2] = {0.0f, 1.0f}; /* a rising diagonal */
    ChartSeries s = {"rising", x, y, 2};
    ChartLayout L;
    AvzErr err;
    cr_assert_eq(chart_layout(&s, 1, NULL, &L, err), AVZ_OK, "%s", err);
    cr_assert(!L.legend_outside && L.legend_x0 < L.plot_x0 + L.plot_w / 2 &&
                  L.legend_y0 < L.plot_y0 + L.plot_h / 2,
              "legend at (%d, %d), expected the free upper left corner", L.legend_x0, L.legend_y0);
    float zx[5] = {0, 1, 2, 3, 4}, zy[5] = {0, 1, 0, 1, 0}; /* a zigzag through all corners */
    float zy2[5] = {1, 0, 1, 0, 1};
    ChartSeries z[2] = {{"a", zx, zy, 5}, {"b", zx, zy2, 5}};
    cr_assert_eq(chart_layout(z, 2, NULL, &L, err), AVZ_OK, "%s", err);
    cr_assert(L.legend_outside && L.legend_x0 >= L.plot_x0 + L.plot_w &&
                  L.legend_x0 + L.legend_w <= L.width,
              "legend at x %d..%d, data area ends at %d", L.legend_x0, L.legend_x0 + L.legend_w,
              L.plot_x0 + L.plot_w);
}

/* ---- the PNG ---- */

Test(chart, png_lines_gap_and_marker, .init = make_tmpdir, .fini = remove_tmpdir) {
    Three t;
    three_series(&t, 42);
    ChartStyle st;
    three_style(&st);
    char path[128];
    snprintf(path, sizeof path, "%s/loss.png", tmpdir);
    AvzErr err;
    cr_assert_eq(chart_line_png(path, t.s, 3, &st, err), AVZ_OK, "%s", err);
    ChartLayout L;
    cr_assert_eq(chart_layout(t.s, 3, &st, &L, err), AVZ_OK, "%s", err);
    int w, h, n;
    unsigned char *img = stbi_load(path, &w, &h, &n, 4);
    cr_assert_not_null(img);
    cr_assert(w == 1000 && h == 600, "size %dx%d", w, h);

    for (int k = 0; k < 3; k++) { /* each series: its colour on its data points */
        unsigned char rgb[3];
        chart_series_color(k, rgb);
        long count = 0;
        for (int i = 0; i < w * h; i++) count += is_colour(img + 4 * i, rgb);
        cr_assert_gt(count, L.plot_w / 2, "series %d: only %ld pixels of its colour", k, count);
        for (int i = 5; i < NP; i += 10) {
            if (!isfinite(t.y[k][i]) || fabsf(t.x[i] - MARK) < 3) continue;
            const unsigned char *p = px(img, w, chart_x_px(&L, t.x[i]), chart_y_px(&L, t.y[k][i]));
            cr_assert(is_colour(p, rgb), "series %d point %d: %d %d %d, want %d %d %d", k, i,
                      p[0], p[1], p[2], rgb[0], rgb[1], rgb[2]);
        }
    }

    unsigned char c1[3]; /* the gap: no series-1 colour in its band in mid-gap */
    chart_series_color(1, c1);
    int xg = chart_x_px(&L, (GAP0 + GAP1) / 2.0);
    for (int y = chart_y_px(&L, 2.6); y <= chart_y_px(&L, 1.4); y++)
        cr_assert(!is_colour(px(img, w, xg, y), c1), "series 1 drawn in its gap at row %d", y);

    int dashes = 0, beside = 0; /* the marker: dark dashes in its column only */
    for (int y = L.plot_y0; y < L.plot_y0 + L.plot_h; y++) {
        dashes += is_dark_grey(px(img, w, L.marker_col, y));
        beside += is_dark_grey(px(img, w, L.marker_col - 3, y));
        beside += is_dark_grey(px(img, w, L.marker_col + 3, y));
    }
    cr_assert_gt(dashes, L.plot_h / 3, "marker column %d: %d dark pixels of %d", L.marker_col,
                 dashes, L.plot_h);
    cr_assert_lt(dashes, L.plot_h, "marker line not dashed");
    cr_assert_eq(beside, 0, "dark pixels beside the marker column");
    int dark = 0; /* the marker label above the data area */
    for (int y = L.plot_y0 - L.tick_pt * 2; y < L.plot_y0; y++)
        for (int x = L.marker_col - 20; x <= L.marker_col + 20; x++) dark += px(img, w, x, y)[0] < 128;
    cr_assert_gt(dark, 20, "no marker label (%d dark pixels)", dark);
    stbi_image_free(img);
}

Test(chart, custom_size_and_single_point, .init = make_tmpdir, .fini = remove_tmpdir) {
    float x[3] = {1.0f, 2.0f, 3.0f}, y[3] = {NAN, 5.0f, NAN}; /* one point between gaps */
    ChartSeries s = {NULL, x, y, 3};
    ChartStyle st;
    chart_style_default(&st);
    st.width = 333, st.height = 257;
    char path[128];
    snprintf(path, sizeof path, "%s/dot.png", tmpdir);
    AvzErr err;
    cr_assert_eq(chart_line_png(path, &s, 1, &st, err), AVZ_OK, "%s", err);
    ChartLayout L;
    cr_assert_eq(chart_layout(&s, 1, &st, &L, err), AVZ_OK, "%s", err);
    cr_assert_eq(L.legend_w, 0, "a legend without names");
    int w, h, n;
    unsigned char *img = stbi_load(path, &w, &h, &n, 4);
    cr_assert_not_null(img);
    cr_assert(w == 333 && h == 257, "size %dx%d", w, h);
    unsigned char rgb[3];
    chart_series_color(0, rgb);
    cr_assert(is_colour(px(img, w, chart_x_px(&L, 2.0), chart_y_px(&L, 5.0)), rgb),
              "the lone point is not drawn");
    stbi_image_free(img);
}

Test(chart, missing_folder_is_input_error, .init = make_tmpdir, .fini = remove_tmpdir) {
    Three t;
    three_series(&t, 3);
    char path[128];
    snprintf(path, sizeof path, "%s/no_such_folder/loss.png", tmpdir);
    AvzErr err = "";
    cr_assert_eq(chart_line_png(path, t.s, 3, NULL, err), AVZ_ERR_INPUT);
    cr_assert_not_null(strstr(err, "no_such_folder"), "folder not named: %s", err);
    cr_assert(!file_exists(path));
    cr_assert_eq(dir_entries(tmpdir), 0, "something was left behind");
}

Test(chart, bad_arguments_leave_nothing, .init = make_tmpdir, .fini = remove_tmpdir) {
    Three t;
    three_series(&t, 4);
    char path[128];
    snprintf(path, sizeof path, "%s/loss.png", tmpdir);
    AvzErr err = "";
    ChartStyle st;
    chart_style_default(&st);
    st.font_path = "/nonexistent/font.ttf";
    cr_assert_eq(chart_line_png(path, t.s, 3, &st, err), AVZ_ERR_INPUT);
    cr_assert_not_null(strstr(err, "/nonexistent/font.ttf"), "%s", err);
    chart_style_default(&st);
    st.width = 50;
    cr_assert_eq(chart_line_png(path, t.s, 3, &st, err), AVZ_ERR_INPUT);
    cr_assert_eq(chart_line_png(path, t.s, 0, NULL, err), AVZ_ERR_INPUT);
    float nan2[2] = {NAN, NAN};
    ChartSeries empty = {"nothing", nan2, nan2, 2};
    cr_assert_eq(chart_line_png(path, &empty, 1, NULL, err), AVZ_ERR_INPUT);
    cr_assert_not_null(strstr(err, "finite"), "%s", err);
    ChartSeries null_data = {"null", NULL, NULL, 5};
    cr_assert_eq(chart_line_png(path, &null_data, 1, NULL, err), AVZ_ERR_INPUT);
    cr_assert_eq(dir_entries(tmpdir), 0, "something was left behind");
}
