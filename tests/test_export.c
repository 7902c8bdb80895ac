/* test_export.c: colormaps, heatmap colouring, .npy files and PNG export.
 *
 * The PNG tests decode the written file with stb_image and check pixels at
 * the centres of cells placed by the same pure layout function the renderer
 * uses. Run from the repository root (the default font path is relative).
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stb/stb_image.h>

#include "figure/colormap.h"
#include "common.h"
#include "helpers.h"
#include "figure/export.h"
#include "figure/heatmap.h"
#include "figure/npy.h"

static char tmpdir[64];

/* The shared fixtures of tests/helpers.c, under this file's old names. */
static void make_tmpdir(void) { helper_tmpdir(tmpdir, sizeof tmpdir); }
static void remove_tmpdir(void) { helper_rmtree(tmpdir); }
#define file_exists helper_file_exists

/* Rec. 709 luma of an sRGB8 colour (on the encoded values). */
static float luma(const unsigned char *c) {
    return 0.2126f * c[0] + 0.7152f * c[1] + 0.0722f * c[2];
}

/* ---- colormap ---- */

Test(colormap, endpoints_and_lookup) {
    const unsigned char *v = colormap_table(CMAP_VIRIDIS);
    cr_assert(v[0] == 68 && v[1] == 1 && v[2] == 84, "viridis(0) = %d %d %d", v[0], v[1], v[2]);
    cr_assert(v[765] == 253 && v[766] == 231 && v[767] == 37);
    const unsigned char *m = colormap_table(CMAP_MAGMA);
    cr_assert(m[0] == 0 && m[1] == 0 && m[2] == 4 && m[765] == 252 && m[767] == 191);
    const unsigned char *c = colormap_table(CMAP_CIVIDIS);
    cr_assert(c[0] == 0 && c[1] == 32 && c[2] == 77 && c[765] == 255 && c[767] == 70);
    unsigned char rgb[3];
    colormap_lookup(CMAP_DIVERGING, 0.5f, rgb);
    cr_assert(rgb[0] == 255 && rgb[1] == 255 && rgb[2] == 255, "diverging(0.5) not white");
    colormap_lookup(CMAP_DIVERGING, 0.0f, rgb);
    cr_assert(rgb[2] > rgb[0], "diverging low end not blue");
    colormap_lookup(CMAP_DIVERGING, 1.0f, rgb);
    cr_assert(rgb[0] > rgb[2], "diverging high end not red");
    colormap_lookup(CMAP_VIRIDIS, NAN, rgb);
    cr_assert(rgb[0] == 128 && rgb[1] == 128 && rgb[2] == 128);
    colormap_lookup(CMAP_VIRIDIS, -3.0f, rgb);
    cr_assert(memcmp(rgb, v, 3) == 0, "t < 0 not clamped");
    colormap_lookup(CMAP_VIRIDIS, 7.0f, rgb);
    cr_assert(memcmp(rgb, v + 765, 3) == 0, "t > 1 not clamped");
    colormap_lookup(CMAP_VIRIDIS, 100.0f / 255.0f, rgb);
    cr_assert(memcmp(rgb, v + 300, 3) == 0);
}

Test(colormap, viridis_luminance_increases) {
    const unsigned char *v = colormap_table(CMAP_VIRIDIS);
    for (int i = 0; i < 255; i++)
        cr_assert(luma(v + 3 * (i + 1)) >= luma(v + 3 * i) - 0.5f, "luma drops at %d: %.2f -> %.2f",
                  i, luma(v + 3 * i), luma(v + 3 * (i + 1)));
    for (int i = 0; i + 8 < 256; i++)
        cr_assert(luma(v + 3 * (i + 8)) > luma(v + 3 * i), "luma flat over [%d, %d]", i, i + 8);
}

Test(colormap, names) {
    for (int c = 0; c < CMAP_COUNT; c++)
        cr_assert_eq(colormap_from_name(colormap_name((Colormap)c)), c);
    cr_assert_eq(colormap_from_name("cividis"), CMAP_CIVIDIS);
    cr_assert_eq(colormap_from_name("diverging"), CMAP_DIVERGING);
    cr_assert_eq(colormap_from_name("jet"), -1);
    cr_assert_eq(colormap_from_name(NULL), -1);
}

/* ---- heatmap ---- */

Test(heatmap, exact_colours_mask_and_bad_values) {
    float vals[9] = {0.0f, 0.7f, 0.1f, 0.25f, 1.0f, NAN, 0.6f, INFINITY, 2.0f}; /* (3, 3) */
    HeatmapScale s = {0.0f, 1.0f, 1.0f, CMAP_MAGMA, 1};
    unsigned char rgba[36], want[3];
    heatmap_to_rgba(vals, 3, 3, &s, rgba);
    int lower[][2] = {{0, 0}, {1, 0}, {1, 1}, {2, 0}, {2, 2}};
    for (int k = 0; k < 5; k++) {
        int i = lower[k][0], j = lower[k][1];
        colormap_lookup(CMAP_MAGMA, fminf(vals[3 * i + j], 1.0f), want);
        const unsigned char *p = rgba + 4 * (3 * i + j);
        cr_assert(memcmp(p, want, 3) == 0 && p[3] == 255, "cell (%d,%d)", i, j);
    }
    int upper[][2] = {{0, 1}, {0, 2}, {1, 2}}; /* (1,2) is NaN but masked: grey wins */
    for (int k = 0; k < 3; k++) {
        const unsigned char *p = rgba + 4 * (3 * upper[k][0] + upper[k][1]);
        cr_assert(p[0] == 230 && p[1] == 230 && p[2] == 230, "masked cell %d not grey", k);
    }
    const unsigned char *inf = rgba + 4 * 7;
    cr_assert(inf[0] == 255 && inf[1] == 0 && inf[2] == 255, "Inf not magenta");
    s.mask_upper = 0;
    heatmap_to_rgba(vals, 3, 3, &s, rgba);
    cr_assert(rgba[20] == 255 && rgba[21] == 0 && rgba[22] == 255, "NaN not magenta");
    colormap_lookup(CMAP_MAGMA, 0.7f, want);
    cr_assert(memcmp(rgba + 4, want, 3) == 0, "unmasked upper cell");
}

Test(heatmap, gamma_and_auto_scale) {
    HeatmapScale s = {0.0f, 2.0f, 0.5f, CMAP_VIRIDIS, 0};
    cr_assert_float_eq(heatmap_position(&s, 0.5f), 0.5f, 1e-6f); /* (0.25)^0.5 */
    cr_assert_float_eq(heatmap_position(&s, 3.0f), 1.0f, 1e-6f);
    float probs[4] = {0.1f, 0.4f, NAN, 0.3f};
    heatmap_scale_auto(&s, probs, 4);
    cr_assert(s.vmin == 0.0f && s.vmax == 0.4f && s.gamma == 0.5f);
    float zeros[3] = {0, 0, 0};
    heatmap_scale_auto(&s, zeros, 3);
    cr_assert(s.vmin == 0.0f && s.vmax == 1.0f);
    float signed_[3] = {-2.0f, 0.5f, INFINITY};
    heatmap_scale_auto(&s, signed_, 3);
    cr_assert(s.vmin == -2.0f && s.vmax == 0.5f);
}

/* ---- npy ---- */

Test(npy, round_trip_and_header, .init = make_tmpdir, .fini = remove_tmpdir) {
    float data[3 * 5 * 7];
    AvzRng rng;
    avz_rng_init(&rng, 42);
    for (int i = 0; i < 105; i++) data[i] = avz_rng_normal(&rng);
    char path[128];
    snprintf(path, sizeof path, "%s/a.npy", tmpdir);
    int64_t shape[3] = {3, 5, 7};
    AvzErr err;
    cr_assert_eq(npy_write(path, data, 3, shape, err), AVZ_OK, "%s", err);
    size_t len;
    char *raw = avz_read_file(path, &len, err);
    cr_assert_not_null(raw);
    cr_assert(memcmp(raw, "\x93NUMPY\x01\x00", 8) == 0, "magic / version");
    size_t pre = 10 + ((unsigned char)raw[8] | (unsigned char)raw[9] << 8);
    cr_assert_eq(pre % 64, 0, "preamble %zu bytes", pre);
    cr_assert_eq(len, pre + 105 * 4);
    cr_assert_eq(raw[pre - 1], '\n');
    cr_assert(strncmp(raw + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5, 7), }",
                      62) == 0, "dict: %.70s", raw + 10);
    free(raw);
    float *back;
    int nd;
    int64_t sh[4];
    cr_assert_eq(npy_read(path, &back, &nd, sh, err), AVZ_OK, "%s", err);
    cr_assert(nd == 3 && sh[0] == 3 && sh[1] == 5 && sh[2] == 7);
    cr_assert(memcmp(back, data, sizeof data) == 0, "values differ");
    free(back);
}

Test(npy, one_dim_and_bad_files, .init = make_tmpdir, .fini = remove_tmpdir) {
    char path[128];
    snprintf(path, sizeof path, "%s/v.npy", tmpdir);
    float v[4] = {1.5f, -2.0f, 0.25f, 3.0f};
    int64_t n = 4;
    AvzErr err;
    cr_assert_eq(npy_write(path, v, 1, &n, err), AVZ_OK, "%s", err);
    char *raw = avz_read_file(path, NULL, err);
    cr_assert_not_null(strstr(raw + 10, "'shape': (4,), }")); /* past the NUL in the version */
    free(raw);
    float *back;
    int nd;
    int64_t sh[4];
    cr_assert_eq(npy_read(path, &back, &nd, sh, err), AVZ_OK, "%s", err);
    cr_assert(nd == 1 && sh[0] == 4 && memcmp(back, v, sizeof v) == 0);
    free(back);
    cr_assert_eq(avz_write_file_atomic(path, "\x93NUMPY\x02\x00", 8, err), AVZ_OK);
    cr_assert_eq(npy_read(path, &back, &nd, sh, err), AVZ_ERR_INPUT);
    cr_assert_null(back);
    cr_assert_not_null(strstr(err, path), "error does not name the file: %s", err);
    snprintf(path, sizeof path, "%s/missing/v.npy", tmpdir);
    cr_assert_eq(npy_write(path, v, 1, &n, err), AVZ_ERR_INPUT);
    cr_assert_not_null(strstr(err, "missing"), "%s", err);
}

/* ---- PNG export ---- */

#define T9 9
static const char *const LABELS9[T9] = {"<bos>", "the", "cat", "sat", "on",
                                        "the", "mat", ".", "it"};

/* A random lower-triangular row-stochastic (T, T) matrix, fixed seed. */
static void causal_softmax(float *a, int T, uint64_t seed) {
    AvzRng rng;
    avz_rng_init(&rng, seed);
    for (int i = 0; i < T; i++) {
        float sum = 0.0f;
        for (int j = 0; j < T; j++) {
            a[i * T + j] = j <= i ? expf(2.0f * avz_rng_normal(&rng)) : 0.0f;
            sum += a[i * T + j];
        }
        for (int j = 0; j <= i; j++) a[i * T + j] /= sum;
    }
}

static const unsigned char *px(const unsigned char *img, int w, int x, int y) {
    return img + 4 * ((size_t)y * w + x);
}

Test(export, single_map_pixels_match_colormap, .init = make_tmpdir, .fini = remove_tmpdir) {
    float a[T9 * T9];
    causal_softmax(a, T9, 7);
    ExportStyle st;
    export_style_default(&st);
    st.size_px = 360;
    char path[128];
    snprintf(path, sizeof path, "%s/map.png", tmpdir);
    AvzErr err;
    cr_assert_eq(export_heatmap_png(path, a, T9, LABELS9, "layer 0 head 1", &st, err), AVZ_OK,
                 "%s", err);
    ExportLayout L;
    export_layout_single(T9, LABELS9, &st, &L);
    int w, h, n;
    unsigned char *img = stbi_load(path, &w, &h, &n, 4);
    cr_assert_not_null(img);
    cr_assert(w == L.width && h == L.height, "size %dx%d, layout %dx%d", w, h, L.width, L.height);
    cr_assert_eq(L.cell, 360 / T9);
    float vmax = 0.0f;
    for (int i = 0; i < T9 * T9; i++) vmax = fmaxf(vmax, a[i]);
    HeatmapScale s = {0.0f, vmax, 1.0f, CMAP_VIRIDIS, 1};
    for (int i = 0; i < T9; i++)
        for (int j = 0; j < T9; j++) {
            const unsigned char *p = px(img, w, L.map_x0 + j * L.cell + L.cell / 2,
                                        L.map_y0 + i * L.cell + L.cell / 2);
            unsigned char want[3] = {230, 230, 230};
            if (j <= i) colormap_lookup(CMAP_VIRIDIS, heatmap_position(&s, a[i * T9 + j]), want);
            cr_assert(memcmp(p, want, 3) == 0, "cell (%d,%d): got %d %d %d want %d %d %d", i, j,
                      p[0], p[1], p[2], want[0], want[1], want[2]);
        }
    int dark = 0; /* query labels: dark pixels in the band left of row 0 */
    for (int y = L.map_y0; y < L.map_y0 + L.cell; y++)
        for (int x = L.map_x0 - L.gap - L.label_w; x < L.map_x0 - L.gap; x++)
            dark += px(img, w, x, y)[0] < 128;
    cr_assert_gt(dark, 20, "no query label drawn (%d dark pixels)", dark);
    dark = 0; /* key labels: below column 0 */
    for (int y = L.map_y0 + L.map_px + L.gap; y < L.map_y0 + L.map_px + L.gap + L.label_w; y++)
        for (int x = L.map_x0; x < L.map_x0 + L.cell; x++) dark += px(img, w, x, y)[0] < 128;
    cr_assert_gt(dark, 20, "no key label drawn (%d dark pixels)", dark);
    stbi_image_free(img);
}

Test(export, missing_folder_is_input_error, .init = make_tmpdir, .fini = remove_tmpdir) {
    float a[T9 * T9];
    causal_softmax(a, T9, 3);
    char path[128];
    snprintf(path, sizeof path, "%s/no_such_folder/map.png", tmpdir);
    AvzErr err = "";
    cr_assert_eq(export_heatmap_png(path, a, T9, LABELS9, "t", NULL, err), AVZ_ERR_INPUT);
    cr_assert_not_null(strstr(err, "no_such_folder"), "folder not named: %s", err);
    cr_assert(!file_exists(path));
}

Test(export, bad_font_leaves_nothing, .init = make_tmpdir, .fini = remove_tmpdir) {
    float a[T9 * T9];
    causal_softmax(a, T9, 4);
    ExportStyle st;
    export_style_default(&st);
    st.font_path = "/nonexistent/font.ttf";
    char path[128], tmp[160];
    snprintf(path, sizeof path, "%s/map.png", tmpdir);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    AvzErr err = "";
    cr_assert_eq(export_heatmap_png(path, a, T9, LABELS9, "t", &st, err), AVZ_ERR_INPUT);
    cr_assert_not_null(strstr(err, "/nonexistent/font.ttf"), "%s", err);
    cr_assert(!file_exists(path) && !file_exists(tmp));
}

Test(export, grid_has_expected_size, .init = make_tmpdir, .fini = remove_tmpdir) {
    enum { R = 2, C = 3, T = 7 };
    float a[R * C * T * T];
    for (int k = 0; k < R * C; k++) causal_softmax(a + k * T * T, T, 100 + k);
    const char *titles[R * C] = {"L0 H0", "L0 H1", "L0 H2", "L1 H0", "L1 H1", "L1 H2"};
    ExportStyle st;
    export_style_default(&st);
    st.size_px = 700;
    char path[128];
    snprintf(path, sizeof path, "%s/grid.png", tmpdir);
    AvzErr err;
    for (int shared = 0; shared < 2; shared++) {
        st.shared_scale = shared;
        cr_assert_eq(export_grid_png(path, a, R, C, T, LABELS9, titles, "grid", &st, err), AVZ_OK,
                     "%s", err);
        ExportLayout L;
        export_layout_grid(R, C, T, LABELS9, &st, &L);
        int w, h, n;
        unsigned char *img = stbi_load(path, &w, &h, &n, 4);
        cr_assert_not_null(img);
        cr_assert(w == 700 && w == L.width && h == L.height, "size %dx%d", w, h);
        /* map (1, 2), cell (T-1, 0) is visible: not white, not grey */
        const unsigned char *p = px(img, w, L.map_x0 + 2 * L.step_x + L.cell / 2,
                                    L.map_y0 + L.step_y + (T - 1) * L.cell + L.cell / 2);
        cr_assert(!(p[0] == p[1] && p[1] == p[2]), "map cell is grey/white");
        stbi_image_free(img);
    }
}

Test(export, single_token_and_index_labels, .init = make_tmpdir, .fini = remove_tmpdir) {
    float one = 1.0f;
    char path[128];
    snprintf(path, sizeof path, "%s/one.png", tmpdir);
    AvzErr err;
    cr_assert_eq(export_heatmap_png(path, &one, 1, NULL, NULL, NULL, err), AVZ_OK, "%s", err);
    cr_assert(file_exists(path));
    cr_assert_eq(export_heatmap_png(path, &one, 0, NULL, NULL, NULL, err), AVZ_ERR_INPUT);
}
