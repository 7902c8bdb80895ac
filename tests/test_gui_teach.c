/* test_gui_teach.c: the teaching views and lessons under Xvfb, on the shipped
 * models. A script walks through the Position, Compare, Permutation, Flash and
 * Lengths views; every map on the screenshots is checked cell by cell against the
 * values computed here from the same model folders (model/teach.h), Ctrl+S works
 * from every view, and a lesson steps forwards and backwards. Without xvfb-run or
 * OpenGL 3.3 the tests say SKIPPED with the reason. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <math.h>
#include <stb/stb_image.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "figure/chart.h"
#include "figure/colormap.h"
#include "gui_helpers.h"
#include "helpers.h"
#include "gui/lesson.h"
#include "model.h"
#include "teach.h"

#define TEXT "marie curie met alan turing at the station . she gave him her camera ."

static const char *SCRIPT =
    "text \"" TEXT "\"\n"
    "model sinusoidal\nview position\nwait 1\nprint_layout\nscreenshot pos_sin.png\nkey ctrl+s\n"
    "model rope\nwait 1\nprint_layout\nscreenshot pos_rope.png\n"
    "model alibi\nselect 0 1\nwait 1\nprint_layout\nscreenshot pos_alibi.png\n"
    "model rope\nselect 0 3\nview compare\nwait 1\nprint_layout\nscreenshot compare.png\n"
    "key ctrl+s\nkey n\nwait 1\nassert_status \"model: alibi\"\nmodel rope\n"
    "view permute\nshuffle 3\nwait 1\nprint_layout\nscreenshot permute.png\nkey ctrl+s\n"
    "view flash\nselect 1 2\nflash_step 2\nwait 1\nprint_layout\nscreenshot flash.png\n"
    "flash_step 1000\nwait 1\nprint_layout\nscreenshot flash_end.png\nkey ctrl+s\n"
    "view lengths\nwait 1\nprint_layout\nscreenshot lengths.png\nkey ctrl+s\n"
    "extend 100\nwait 1\nassert_status \"past the training context\"\nprint_layout\n"
    "quit\n";

static char out[1 << 21];

/* Runs SCRIPT (or script) in dir and reads its stdout into out. */
static void run_script(const char *dir, const char *script, const char *extra) {
    char args[512], env[128], path[300];
    write_file(dir, "s.avz", script);
    snprintf(args, sizeof args, "gui --script s.avz --device cpu %s", extra ? extra : "");
    snprintf(env, sizeof env, "ATTNVIZ_EXPORT_DIR=%s", dir);
    int rc = run_app(dir, env, XVFB, args);
    skip_without_gl(rc);
    cr_assert_eq(rc, 0, "the scripted app failed (%d): %s", rc, gui_err_buf);
    snprintf(path, sizeof path, "%s/out.txt", dir);
    slurp(path, out, sizeof out);
}

static void load(Model *m, const char *name) {
    char path[256], err[AVZ_ERR_LEN];
    snprintf(path, sizeof path, "assets/models/%s", name);
    cr_assert_eq(model_load(m, path, err), AVZ_OK, "%s", err);
}

/* Runs TEXT through m; returns its tokens (caller frees). */
static Tokens run_text(Model *m) {
    Tokens tok;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(tokenize(&m->vocab, TEXT, 64, &tok, err), AVZ_OK, "%s", err);
    cr_assert_eq(model_forward(m, tok.ids, NULL, 1, tok.n, NULL, err), AVZ_OK, "%s", err);
    return tok;
}

static HeatmapScale signed_scale(const float *v, size_t n) {
    float mx = 0;
    for (size_t i = 0; i < n; i++) mx = fmaxf(mx, fabsf(v[i]));
    return (HeatmapScale){-(mx > 0 ? mx : 1), mx > 0 ? mx : 1, 1.0f, CMAP_DIVERGING, 0};
}

/* Each of the n series of the chart in region g is drawn: pixels of its colour. */
static void assert_series_drawn(const Image *im, const Region *g, int n, const char *what) {
    cr_assert_eq(g->cols, n, "%s: %d series drawn, want %d", what, g->cols, n);
    for (int k = 0; k < n; k++) {
        unsigned char rgb[3];
        chart_series_color(k, rgb);
        int hits = 0;
        for (int y = (int)g->y; y < (int)(g->y + g->h); y++)
            for (int x = (int)g->x; x < (int)(g->x + g->w); x++) {
                const unsigned char *p = pixel(im, x, y);
                hits += abs(p[0] - rgb[0]) <= 12 && abs(p[1] - rgb[1]) <= 12 &&
                        abs(p[2] - rgb[2]) <= 12;
            }
        cr_assert(hits >= 15, "%s: series %d (%d,%d,%d) has %d pixels", what, k, rgb[0], rgb[1],
                  rgb[2], hits);
    }
}

static void check_position(const char *dir) {
    Model m;
    char err[AVZ_ERR_LEN];
    load(&m, "sinusoidal");
    int T = 64, C = m.cfg.n_embd;
    float *vec = malloc(sizeof(float) * T * C), *cs = malloc(sizeof(float) * T * T);
    cr_assert_eq(teach_position_vectors(&m, T, vec, err), AVZ_OK, "%s", err);
    cr_assert_eq(teach_position_similarity(&m, T, NULL, cs, err), AVZ_OK, "%s", err);
    Image im = load_png(dir, "pos_sin.png");
    HeatmapScale hs = signed_scale(vec, (size_t)T * C);
    Region g = region(out, 0, "pos_vectors", NULL, 0);
    cr_assert(g.rows == T && g.cols == C, "vectors drawn %dx%d", g.rows, g.cols);
    assert_matrix(&im, &g, vec, &hs, "sinusoidal vectors");
    hs = signed_scale(cs, (size_t)T * T);
    g = region(out, 0, "pos_cos", NULL, 0);
    assert_matrix(&im, &g, cs, &hs, "sinusoidal cosine");
    stbi_image_free(im.px);
    model_free(&m);

    load(&m, "rope");
    int hs2 = m.cfg.n_embd / m.cfg.n_head / 2;
    teach_rope_angles(&m, T, vec);
    im = load_png(dir, "pos_rope.png");
    hs = (HeatmapScale){0.0f, 6.2831853f, 1.0f, CMAP_VIRIDIS, 0};
    g = region(out, 1, "rope_angles", NULL, 0);
    cr_assert(g.rows == T && g.cols == hs2, "angles drawn %dx%d", g.rows, g.cols);
    assert_matrix(&im, &g, vec, &hs, "rope angles");
    g = region(out, 1, "rope_score_chart", NULL, 0);
    assert_series_drawn(&im, &g, 2, "rope score against distance");
    stbi_image_free(im.px);
    model_free(&m);

    load(&m, "alibi");
    teach_alibi_bias(&m, 1, T, cs);
    hs = (HeatmapScale){0, 0, 1.0f, CMAP_VIRIDIS, 1};
    for (int i = 0; i < T * T; i++) hs.vmin = fminf(hs.vmin, cs[i]);
    cr_assert(hs.vmin < -1.0f, "head 1's bias at distance 63 is %g", hs.vmin);
    im = load_png(dir, "pos_alibi.png");
    g = region(out, 2, "alibi_bias", NULL, 0);
    assert_cells(&im, &g, cs, T, &hs, "alibi bias of head 1");
    g = region(out, 2, "alibi_chart", NULL, 0);
    assert_series_drawn(&im, &g, 4, "alibi bias against distance");
    stbi_image_free(im.px);
    model_free(&m);
    free(vec);
    free(cs);
}

static void check_compare(const char *dir) {
    const char *names[] = {"none", "sinusoidal", "learned", "rope", "alibi"};
    Image im = load_png(dir, "compare.png");
    for (int k = 0; k < 5; k++) {
        Model m;
        load(&m, names[k]);
        Tokens tok = run_text(&m);
        int T = tok.n;
        float *P = malloc(sizeof(float) * T * T);
        model_capture(&m, 0, 3, 0, P);
        HeatmapScale hs = {0, 1, 1.0f, CMAP_VIRIDIS, 1};
        heatmap_scale_auto(&hs, P, T * T);
        char name[32];
        snprintf(name, sizeof name, "cmp_%s", names[k]);
        Region g = region(out, 3, name, NULL, 0);
        assert_cells(&im, &g, P, T, &hs, name);
        free(P);
        tokens_free(&tok);
        model_free(&m);
    }
    stbi_image_free(im.px);
}

static void check_permutation(const char *dir) {
    Model m;
    char err[AVZ_ERR_LEN];
    load(&m, "rope");
    Tokens tok = run_text(&m);
    TeachPermutation p;
    cr_assert_eq(teach_permutation_init(&p, &m, tok.ids, tok.n, 3, err), AVZ_OK, "%s", err);
    /* the claim of the demo, on the text the app shows */
    cr_assert(p.diff_nopos < 1e-5f, "without position the scores differ by %g", p.diff_nopos);
    cr_assert(p.diff_pos > 0.05f, "with RoPE the scores differ by only %g", p.diff_pos);
    int T = p.T;
    size_t off = (size_t)3 * T * T;
    Image im = load_png(dir, "permute.png");
    const float *S[4] = {p.orig_nopos + off, p.shuf_nopos + off, p.orig_pos + off,
                         p.shuf_pos + off};
    const char *names[4] = {"perm_orig_nopos", "perm_shuf_nopos", "perm_orig_pos", "perm_shuf_pos"};
    for (int k = 0; k < 4; k++) {
        HeatmapScale hs = signed_scale(S[k & 2], (size_t)T * T);
        Region g = region(out, 4, names[k], NULL, 0);
        assert_matrix(&im, &g, S[k], &hs, names[k]);
    }
    stbi_image_free(im.px);
    teach_permutation_free(&p);
    tokens_free(&tok);
    model_free(&m);
}

/* The output O / l the Flash view shows after step s, checked against the screen. */
static void check_flash_output(const char *dir, const char *png, int line, FlashTrace *ft, int s) {
    flash_trace_goto(ft, s);
    int T = ft->T, hs = ft->hs;
    float *buf = malloc(sizeof(float) * T * hs), mx = 1e-6f;
    for (int i = 0; i < T * hs; i++) {
        buf[i] = ft->l[i / hs] > 0 ? ft->O[i] / ft->l[i / hs] : 0;
        mx = fmaxf(mx, fabsf(buf[i]));
    }
    HeatmapScale sc = {-mx, mx, 1.0f, CMAP_DIVERGING, 0};
    Image im = load_png(dir, png);
    Region g = region(out, line, "flash_out", NULL, 0);
    assert_matrix(&im, &g, buf, &sc, png);
    stbi_image_free(im.px);
    free(buf);
}

static void check_flash(const char *dir) {
    Model m;
    char err[AVZ_ERR_LEN];
    load(&m, "rope");
    Tokens tok = run_text(&m);
    int T = tok.n;
    FlashTrace ft;
    cr_assert_eq(flash_trace_init_model(&ft, &m, 1, 2, 4, 4, err), AVZ_OK, "%s", err);
    check_flash_output(dir, "flash.png", 5, &ft, 2);
    check_flash_output(dir, "flash_end.png", 6, &ft, ft.n_steps - 1);
    /* the map: tiles done so far in colour, tiles still to come veiled */
    float *P = malloc(sizeof(float) * T * T);
    model_capture(&m, 1, 2, 0, P);
    HeatmapScale hs = {0, 1, 1.0f, CMAP_VIRIDIS, 1};
    heatmap_scale_auto(&hs, P, T * T);
    Image im = load_png(dir, "flash.png");
    Region g = region(out, 5, "flash_map", NULL, 0);
    int veiled = 0, shown = 0;
    for (int i = 0; i < T; i++)
        for (int j = 0; j <= i; j++) {
            int x, y, st = ft.step_of[(i / 4) * ft.nkb + j / 4];
            cell_centre(&g, i, j, &x, &y);
            const unsigned char *p = pixel(&im, x, y);
            unsigned char want[3];
            colormap_lookup(hs.cmap, heatmap_position(&hs, P[i * T + j]), want);
            if (st > 2) {
                cr_assert(p[0] > 200 && p[1] > 200 && p[2] > 200, "cell (%d,%d) of tile step %d "
                          "is not veiled: %d,%d,%d", i, j, st, p[0], p[1], p[2]);
                veiled++;
            } else { /* cell centres lie inside the tiles, clear of their frames */
                cr_assert(abs(p[0] - want[0]) <= 3 && abs(p[1] - want[1]) <= 3,
                          "cell (%d,%d) of a done tile: %d,%d,%d want %d,%d,%d", i, j, p[0], p[1],
                          p[2], want[0], want[1], want[2]);
                shown++;
            }
        }
    cr_assert(veiled > 0 && shown > 0, "veiled %d, shown %d", veiled, shown);
    stbi_image_free(im.px);
    free(P);
    flash_trace_free(&ft);
    tokens_free(&tok);
    model_free(&m);
}

/* The loss chart of the five models and the selected head's map (layer 1 head 2). */
static void check_lengths(const char *dir) {
    Image im = load_png(dir, "lengths.png");
    Region g = region(out, 7, "lengths_chart", NULL, 0);
    assert_series_drawn(&im, &g, 5, "loss by position");
    Model m;
    load(&m, "rope");
    Tokens tok = run_text(&m);
    int T = tok.n;
    float *P = malloc(sizeof(float) * T * T);
    model_capture(&m, 1, 2, 0, P);
    HeatmapScale hs = {0, 1, 1.0f, CMAP_VIRIDIS, 1};
    heatmap_scale_auto(&hs, P, T * T);
    g = region(out, 7, "lengths_head", NULL, 0);
    cr_assert(g.rows == T, "lengths view map has %d rows", g.rows);
    assert_cells(&im, &g, P, T, &hs, "lengths view map");
    stbi_image_free(im.px);
    free(P);
    tokens_free(&tok);
    model_free(&m);
}

Test(gui_teach, every_teaching_view_shows_the_model, .timeout = 600) {
    skip_without_xvfb();
    char dir[64];
    helper_tmpdir(dir, sizeof dir);
    run_script(dir, SCRIPT, NULL);
    check_position(dir);
    check_compare(dir);
    check_permutation(dir);
    check_flash(dir);
    check_lengths(dir);
    Region g = region(out, 8, "lengths_head", NULL, 0);
    cr_assert(g.rows >= 100, "after extend 100 the map has %d rows", g.rows);
    /* Ctrl+S from the Position, Compare, Permutation, Flash and Lengths views */
    for (int k = 1; k <= 5; k++) {
        char name[64];
        snprintf(name, sizeof name, "attnviz-view-%03d.png", k);
        cr_assert(file_exists(dir, name), "%s was not written", name);
        Image im = load_png(dir, name);
        assert_not_blank(&im, name);
        stbi_image_free(im.px);
    }
}

Test(gui_teach, a_lesson_steps_forwards_and_back, .timeout = 300) {
    skip_without_xvfb();
    char dir[64];
    helper_tmpdir(dir, sizeof dir);
    run_script(dir,
               "key pagedown\nkey pagedown\nkey pagedown\nwait 1\nprint_layout\n"
               "screenshot step4.png\nassert_status \"step 4 of\"\n"
               "key pageup\nwait 1\nprint_layout\nassert_status \"step 3 of\"\n"
               "key escape\nwait 1\nassert_status \"left the lesson\"\nprint_layout\nquit\n",
               "--lesson intro");
    /* step 4: the head that decides the pronoun, the '.' before 'she' pinned */
    cr_assert(strstr(out_line(out, 0), "\"view\":\"head\""), "%.200s", out_line(out, 0));
    cr_assert(strstr(out_line(out, 0), "\"layer\":1,\"head\":1"), "%.200s", out_line(out, 0));
    cr_assert(strstr(out_line(out, 0), "\"pin_row\":9"), "%.200s", out_line(out, 0));
    Region cap = region(out, 0, "caption", NULL, 0);
    Image im = load_png(dir, "step4.png");
    cr_assert(ink_in(&im, (int)cap.x + 10, (int)cap.y + 4, (int)(cap.x + cap.w) - 10,
                     (int)(cap.y + cap.h) - 4) > 500, "the caption panel holds no text");
    stbi_image_free(im.px);
    /* step 3: the induction head (rope's 1.2), nothing pinned */
    cr_assert(strstr(out_line(out, 1), "\"layer\":1,\"head\":2") &&
              strstr(out_line(out, 1), "\"pin_row\":-1"), "step 3: %.200s", out_line(out, 1));
    cr_assert(!strstr(out_line(out, 2), "\"caption\""), "the caption stays after Esc");
}

Test(gui_teach, a_malformed_lesson_names_the_line, .timeout = 300) {
    char dir[64], path[300], err[AVZ_ERR_LEN];
    helper_tmpdir(dir, sizeof dir);
    write_file(dir, "bad.txt", "step \"one\"\nview head\ncaption \"fine\"\nstep \"two\"\n"
               "screenshot x.png\ncaption \"no\"\n");
    snprintf(path, sizeof path, "%s/bad.txt", dir);
    Lesson l;
    cr_assert_eq(lesson_load(path, &l, err), AVZ_ERR_INPUT);
    cr_assert(strstr(err, "bad.txt:5:") && strstr(err, "screenshot"), "%s", err);
    skip_without_xvfb();
    write_file(dir, "s.avz", "quit\n");
    int rc = run_app(dir, "", XVFB, "lesson bad.txt --script s.avz");
    skip_without_gl(rc);
    cr_assert_eq(rc, 2, "exit %d: %s", rc, gui_err_buf);
    cr_assert(strstr(gui_err_buf, "bad.txt:5:"), "%s", gui_err_buf);
    /* the teaching commands' own errors, in a plain script */
    write_file(dir, "s2.avz", "step \"one\"\n");
    cr_assert_eq(run_app(dir, "", XVFB, "gui --script s2.avz"), 2, "%s", gui_err_buf);
    cr_assert(strstr(gui_err_buf, "s2.avz:1: step belongs in lesson files"), "%s", gui_err_buf);
    write_file(dir, "s3.avz", "text \"she\"\nextend 5000\n");
    cr_assert_eq(run_app(dir, "", XVFB, "gui --script s3.avz"), 2, "%s", gui_err_buf);
    cr_assert(strstr(gui_err_buf, "s3.avz:2: extend: 5000 tokens is outside 1-1024"), "%s",
              gui_err_buf);
    write_file(dir, "s4.avz", "lesson nosuch\n");
    cr_assert_eq(run_app(dir, "", XVFB, "gui --script s4.avz"), 2, "%s", gui_err_buf);
    cr_assert(strstr(gui_err_buf, "s4.avz:1:") && strstr(gui_err_buf, "nosuch"), "%s",
              gui_err_buf);
}
