/* test_gui.c: the desktop app under Xvfb, driven by a script (attnviz gui
 * --script), as a user would drive it: every view, hover, ablation, a sweep,
 * Ctrl+S. The screenshots are decoded and checked pixel by pixel against what
 * the model computes in this process: heatmap cells have the colours of the
 * captured values, an ablation changes the difference map, labels are drawn,
 * nothing is blank. The app tells where it drew each map (print_layout).
 * Without xvfb-run or OpenGL 3.3 the tests say SKIPPED with the reason. */
#define _DEFAULT_SOURCE
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stb/stb_image.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aggregate.h"
#include "figure/colormap.h"
#include "figure/heatmap.h"
#include "gui_helpers.h"
#include "helpers.h"
#include "model.h"

#define TEXT "w1 w2 w3 w4 . w5 w1 w2 w3 w4 zzz ."

/* A random model with structured maps, saved into dir/model. */
static void make_model(const char *dir) {
    char path[256], err[AVZ_ERR_LEN];
    Model m;
    helper_model(&m, PE_ROPE, 2, 4, 32, 64, 81);
    snprintf(path, sizeof path, "%s/model", dir);
    cr_assert_eq(model_save(&m, path, err), AVZ_OK, "%s", err);
    model_free(&m);
}

static const char *SCRIPT =
    "# every view, in the order a student would go\n"
    "text \"" TEXT "\"\n"
    "view head\nselect 1 2\nwait 1\nprint_layout\nscreenshot head.png\n"
    "hover 6 1\nwait 1\nprint_layout\n"
    "wheel 2\ndrag -40 -40\nwait 1\nprint_layout\nscreenshot zoom.png\n"
    "key r\npin 4\nwait 1\nprint_layout\n"
    "view model\nwait 1\nprint_layout\nscreenshot model.png\n"
    "view lines\nwait 1\nscreenshot lines.png\n"
    "view ablation\nselect 1 2\nwait 1\nprint_layout\nscreenshot ablation0.png\n"
    "ablate 0 1\nablate 0 3\nwait 1\nprint_layout\nscreenshot ablation1.png\n"
    "sweep\nassert_status \"sweep done\"\nwait 1\nprint_layout\nscreenshot sweep.png\n"
    "view aggregate\nwait 1\nprint_layout\nscreenshot aggregate.png\n"
    "export head-export.png\n"
    "key ctrl+s\nwait 2\nassert_status \"attnviz-view-001.png\"\n"
    "key question\nwait 1\nscreenshot help.png\nkey escape\n"
    "key enter\ntype \" w6\"\nkey enter\nwait 1\nassert_status \"14 tokens\"\n"
    "quit\n";

/* The maps the app should show, computed here from the saved model: (L, NH, T, T). */
static float *expected_maps(const char *dir, int *T_out) {
    Model m;
    Tokens tok;
    char err[AVZ_ERR_LEN], path[256];
    snprintf(path, sizeof path, "%s/model", dir);
    cr_assert_eq(model_load(&m, path, err), AVZ_OK, "%s", err);
    cr_assert_eq(tokenize(&m.vocab, TEXT, 64, &tok, err), AVZ_OK, "%s", err);
    int T = tok.n;
    cr_assert_eq(model_forward(&m, tok.ids, NULL, 1, T, NULL, err), AVZ_OK, "%s", err);
    float *maps = malloc(sizeof(float) * 8 * T * T);
    model_capture_all(&m, 0, maps);
    tokens_free(&tok);
    model_free(&m);
    *T_out = T;
    return maps;
}

static void check_head_and_model(const char *dir, const char *out, const float *maps, int T) {
    HeatmapScale hs = {0, 1, 1.0f, CMAP_VIRIDIS, 1};
    const float *P12 = maps + (size_t)(1 * 4 + 2) * T * T, *P13 = maps + (size_t)(1 * 4 + 3) * T * T;
    Image im = load_png(dir, "head.png");
    cr_assert(im.w == 1280 && im.h == 800, "window is %dx%d", im.w, im.h);
    Region g = region(out, 0, "head", NULL, 0);
    cr_assert(g.rows == T && g.cols == T);
    heatmap_scale_auto(&hs, P12, T * T);
    assert_cells(&im, &g, P12, T, &hs, "head view L1 H2");
    cr_assert(ink_in(&im, (int)g.x - 70, (int)g.y, (int)g.x - 3, (int)(g.y + g.h)) > 40,
              "no query labels left of the head map");
    cr_assert(ink_in(&im, (int)g.x, (int)(g.y + g.h) + 3, (int)(g.x + g.w), (int)(g.y + g.h) + 40) > 40,
              "no key labels below the head map");
    assert_not_blank(&im, "head.png");
    stbi_image_free(im.px);
    char readout[256], want[64];
    region(out, 1, "head", readout, sizeof readout);
    snprintf(want, sizeof want, "w5 -> w1: %.2f", P12[6 * T + 1]);
    cr_assert_str_eq(readout, want, "hover readout is '%s', want '%s'", readout, want);
    /* zoomed (wheel) and panned (drag): a window of the map, still the right colours */
    im = load_png(dir, "zoom.png");
    g = region(out, 2, "head", NULL, 0);
    cr_assert(g.rows < T && g.rows == g.cols && (g.row0 > 0 || g.col0 > 0),
              "wheel and drag did not zoom and pan: rows %d-%d, cols %d-%d", g.row0,
              g.row0 + g.rows - 1, g.col0, g.col0 + g.cols - 1);
    heatmap_scale_auto(&hs, P12, T * T);
    assert_cells(&im, &g, P12, T, &hs, "zoomed head view");
    stbi_image_free(im.px);
    cr_assert(strstr(out_line(out, 3), "\"pin_row\":4"), "pin 4 did not pin: %.200s", out_line(out, 3));
    im = load_png(dir, "model.png");
    g = region(out, 4, "L1 H3", NULL, 0);
    heatmap_scale_auto(&hs, P13, T * T);
    assert_cells(&im, &g, P13, T, &hs, "model view thumbnail L1 H3");
    assert_not_blank(&im, "model.png");
    stbi_image_free(im.px);
}

/* Unmasked cells of g that are not white (the diverging map's zero). */
static int non_white_cells(const Image *im, const Region *g) {
    int n = 0;
    for (int i = 0; i < g->rows; i++)
        for (int j = 0; j <= i; j++) {
            int x, y;
            cell_centre(g, i, j, &x, &y);
            const unsigned char *p = pixel(im, x, y);
            n += abs(p[0] - 255) + abs(p[1] - 255) + abs(p[2] - 255) > 12;
        }
    return n;
}

static void check_ablation(const char *dir, const char *out, const float *maps, int T) {
    Image im0 = load_png(dir, "ablation0.png"), im1 = load_png(dir, "ablation1.png");
    Region d0 = region(out, 5, "diff", NULL, 0), d1 = region(out, 6, "diff", NULL, 0);
    cr_assert_eq(non_white_cells(&im0, &d0), 0, "difference map not white with no head off");
    int changed = non_white_cells(&im1, &d1);
    cr_assert(changed >= 3, "ablating heads 0.1 and 0.3 changed only %d cells of layer 1's map",
              changed);
    Region b = region(out, 6, "before", NULL, 0);
    (void)maps, (void)T;
    assert_not_blank(&im1, "ablation1.png");
    cr_assert(ink_in(&im1, (int)b.x - 60, (int)b.y, (int)b.x - 2, (int)(b.y + b.h)) > 20,
              "no labels beside the 'before' map");
    stbi_image_free(im0.px);
    stbi_image_free(im1.px);
    Image sw = load_png(dir, "sweep.png");
    Region s = region(out, 7, "sweep", NULL, 0);
    cr_assert(s.rows == 2 && s.cols == 4, "sweep map is %dx%d", s.rows, s.cols);
    assert_not_blank(&sw, "sweep.png");
    stbi_image_free(sw.px);
}

static void check_aggregate(const char *dir, const char *out, const float *maps, int T) {
    size_t nn = (size_t)T * T;
    float *means = malloc(sizeof(float) * 2 * nn), *roll = malloc(sizeof(float) * nn);
    float *scratch = malloc(sizeof(float) * 2 * nn);
    aggregate_mean(maps, 4, T, means);
    aggregate_mean(maps + 4 * nn, 4, T, means + nn);
    aggregate_rollout(means, 2, T, roll, scratch);
    Image im = load_png(dir, "aggregate.png");
    HeatmapScale hs = {0, 1, 1.0f, CMAP_VIRIDIS, 1};
    Region g = region(out, 8, "mean", NULL, 0);
    heatmap_scale_auto(&hs, means + nn, T * T);
    assert_cells(&im, &g, means + nn, T, &hs, "mean of layer 1");
    g = region(out, 8, "rollout", NULL, 0);
    heatmap_scale_auto(&hs, roll, T * T);
    assert_cells(&im, &g, roll, T, &hs, "rollout through layer 1");
    stbi_image_free(im.px);
    free(means);
    free(roll);
    free(scratch);
}

Test(gui, scripted_walk_through_every_view, .timeout = 600) {
    skip_without_xvfb();
    char dir[64], args[512];
    helper_tmpdir(dir, sizeof dir);
    make_model(dir);
    write_file(dir, "walk.avz", SCRIPT);
    snprintf(args, sizeof args, "gui --model %s/model --script walk.avz --device cpu", dir);
    char env[128];
    snprintf(env, sizeof env, "ATTNVIZ_EXPORT_DIR=%s", dir);
    int rc = run_app(dir, env, XVFB, args);
    skip_without_gl(rc);
    cr_assert_eq(rc, 0, "the scripted app failed (%d): %s", rc, gui_err_buf);
    static char out[1 << 20];
    char path[300];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    slurp(path, out, sizeof out);
    int T;
    float *maps = expected_maps(dir, &T);
    check_head_and_model(dir, out, maps, T);
    check_ablation(dir, out, maps, T);
    check_aggregate(dir, out, maps, T);
    const char *shots[] = {"lines.png", "help.png", "head-export.png", "attnviz-view-001.png",
                           "attnviz-head-001.png"};
    for (int i = 0; i < 5; i++) {
        cr_assert(file_exists(dir, shots[i]), "%s was not written", shots[i]);
        Image im = load_png(dir, shots[i]);
        assert_not_blank(&im, shots[i]);
        stbi_image_free(im.px);
    }
    free(maps);
}

Test(gui, script_errors_name_the_line, .timeout = 300) {
    char dir[64];
    helper_tmpdir(dir, sizeof dir);
    write_file(dir, "bad.avz", "view head\n\nselect 1 x\n");
    cr_assert_eq(run_app(dir, "", "", "gui --script bad.avz"), 2, "%s", gui_err_buf);
    cr_assert(strstr(gui_err_buf, "bad.avz:3:") && strstr(gui_err_buf, "'x'"), "%s", gui_err_buf);
    skip_without_xvfb();
    make_model(dir);
    write_file(dir, "bad2.avz", "view head\nselect 1 1\nview spiral\nquit\n");
    int rc = run_app(dir, "", XVFB, "gui --model model --script bad2.avz");
    skip_without_gl(rc);
    cr_assert_eq(rc, 2, "%s", gui_err_buf);
    cr_assert(strstr(gui_err_buf, "bad2.avz:3: unknown view 'spiral'"), "%s", gui_err_buf);
    write_file(dir, "bad3.avz", "select 7 0\n");
    cr_assert_eq(run_app(dir, "", XVFB, "gui --model model --script bad3.avz"), 2, "%s", gui_err_buf);
    cr_assert(strstr(gui_err_buf, "bad3.avz:1: select: head (7, 0) does not exist"), "%s", gui_err_buf);
}

Test(gui, no_display_says_what_to_do) {
    char dir[64];
    helper_tmpdir(dir, sizeof dir);
    int rc = run_app(dir, "env -u DISPLAY -u WAYLAND_DISPLAY SDL_VIDEODRIVER=x11", "", "gui");
    cr_assert_eq(rc, 1, "exit %d: %s", rc, gui_err_buf);
    cr_assert(strstr(gui_err_buf, "no display") && strstr(gui_err_buf, "attnviz export") &&
              strstr(gui_err_buf, "xvfb-run"), "%s", gui_err_buf);
    rc = run_app(dir, "env -u DISPLAY -u WAYLAND_DISPLAY SDL_VIDEODRIVER=x11", "", "");
    cr_assert_eq(rc, 1, "attnviz with no command should open the app: %s", gui_err_buf);
}
