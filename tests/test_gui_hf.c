/* test_gui_hf.c: the desktop app on Hugging Face checkpoints with their own tokenizers
 * (tiny random folders in the Hub's exact layouts, tests/ref/hf_fixture.py): a GPT-2
 * folder with GPT-2's real vocab.json + merges.txt, and a grouped-query Llama folder
 * with Llama 2's real tokenizer.json. Every view is driven by a script under Xvfb; the
 * Head view's cells have the colours of the maps this process computes from the same
 * folder, the hover readout names each token's position, id and vocabulary piece, and
 * the Model view tags the query heads that share a key/value head.
 * Without xvfb-run or OpenGL 3.3 the tests say SKIPPED with the reason. */
#define _DEFAULT_SOURCE
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stb/stb_image.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "figure/colormap.h"
#include "figure/heatmap.h"
#include "gui_helpers.h"
#include "helpers.h"

#define TEXT "Hello world, Ada Lovelace loved math."

static const char *SCRIPT =
    "text \"" TEXT "\"\n"
    "view head\nselect 1 1\nwait 1\nhover 2 1\nwait 1\nprint_layout\nscreenshot head.png\n"
    "view model\nwait 1\nprint_layout\nscreenshot model.png\n"
    "view lines\nwait 1\nscreenshot lines.png\n"
    "view ablation\nablate 0 1\nwait 1\nscreenshot ablation.png\n"
    "sweep\nassert_status \"sweep done\"\nwait 1\nscreenshot sweep.png\n"
    "view aggregate\nwait 1\nscreenshot aggregate.png\n"
    "view position\nwait 2\nscreenshot position.png\n"
    "view flash\nwait 2\nscreenshot flash.png\n"
    "view head\nexport head-export.png\n"
    "quit\n";

/* Writes the fixture folder dir/model: hf_fixture.py make with args. */
static void make_fixture(const char *dir, const char *args) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/ref/hf_fixture.py make %s/model %s >/dev/null",
             dir, args);
    cr_assert_eq(system(cmd), 0, "fixture failed: %s", cmd);
}

/* The maps (L, NH, T, T) and the tokens the app should show, from the folder itself. */
static float *expected(const char *dir, Engine *e, Tokens *tok) {
    char path[256], err[AVZ_ERR_LEN];
    snprintf(path, sizeof path, "%s/model", dir);
    cr_assert_eq(engine_open(e, path, "cpu", NULL, err), AVZ_OK, "%s", err);
    cr_assert_eq(engine_encode(e, TEXT, 256, tok, err), AVZ_OK, "%s", err);
    int T = tok->n, L = e->model.cfg.n_layer, NH = e->model.cfg.n_head;
    cr_assert_eq(model_forward(&e->model, tok->ids, NULL, 1, T, NULL, err), AVZ_OK, "%s", err);
    float *maps = malloc(sizeof(float) * (size_t)L * NH * T * T);
    model_capture_all(&e->model, 0, maps);
    return maps;
}

static void walk(const char *fixture_args, int expect_kv) {
    skip_without_xvfb();
    char dir[64], args[512], env[128];
    helper_tmpdir(dir, sizeof dir);
    make_fixture(dir, fixture_args);
    write_file(dir, "walk.avz", SCRIPT);
    snprintf(args, sizeof args, "gui --model %s/model --script walk.avz --device cpu", dir);
    snprintf(env, sizeof env, "ATTNVIZ_EXPORT_DIR=%s", dir);
    int rc = run_app(dir, env, XVFB, args);
    skip_without_gl(rc);
    cr_assert_eq(rc, 0, "the scripted app failed (%d): %s", rc, gui_err_buf);
    static char out[1 << 20];
    char path[300];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    slurp(path, out, sizeof out);

    Engine e;
    Tokens tok;
    float *maps = expected(dir, &e, &tok);
    int T = tok.n, NH = e.model.cfg.n_head;
    const float *P = maps + (size_t)(1 * NH + 1) * T * T;
    /* the Head view: every cell the colour of the map computed here */
    Image im = load_png(dir, "head.png");
    Region g = region(out, 0, "head", NULL, 0);
    cr_assert(g.rows == T && g.cols == T, "head map %dx%d, %d tokens", g.rows, g.cols, T);
    HeatmapScale hs = {0, 1, 1.0f, CMAP_VIRIDIS, 1};
    heatmap_scale_auto(&hs, P, T * T);
    assert_cells(&im, &g, P, T, &hs, "head view L1 H1 of a Hugging Face model");
    stbi_image_free(im.px);
    /* the readout: labels as text, then position, id and piece of both tokens */
    cJSON *j = cJSON_Parse(out_line(out, 0));
    cr_assert(j);
    const char *ids = cJSON_GetObjectItem(j, "readout_ids")->valuestring;
    char want[256], q[64], k[64];
    const char *pq = tokenizer_piece(&e.tok, &e.model.vocab, tok.ids[2]);
    const char *pk = tokenizer_piece(&e.tok, &e.model.vocab, tok.ids[1]);
    snprintf(q, sizeof q, "#2 id %d '%s'", tok.ids[2], pq);
    snprintf(k, sizeof k, "#1 id %d '%s'", tok.ids[1], pk);
    snprintf(want, sizeof want, "%s -> %s", q, k);
    cr_expect_str_eq(ids, want, "hover readout ids '%s', want '%s'", ids, want);
    cJSON_Delete(j);
    /* the Model view: one thumbnail per query head, GQA heads tagged with their kv head */
    int NKV = e.model.cfg.n_kv_head;
    cr_assert_eq(NKV < NH, expect_kv, "the fixture has NH %d, NKV %d", NH, NKV);
    cJSON *lay = cJSON_Parse(out_line(out, 1)), *it;
    cr_assert(lay);
    int thumbs = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(lay, "regions")) {
        int h = cJSON_GetObjectItem(it, "head")->valueint;
        cJSON *kv = cJSON_GetObjectItem(it, "kv_head");
        thumbs++;
        if (expect_kv) {
            cr_assert(kv, "GQA thumbnail of head %d has no kv_head", h);
            cr_expect_eq(kv->valueint, h / (NH / NKV), "head %d reads kv head %d", h, kv->valueint);
        } else {
            cr_expect(!kv, "head %d has a kv_head in a model without GQA", h);
        }
    }
    cr_expect_eq(thumbs, e.model.cfg.n_layer * NH, "thumbnails in the Model view");
    cJSON_Delete(lay);
    const char *shots[] = {"model.png", "lines.png", "ablation.png", "sweep.png", "aggregate.png",
                           "position.png", "flash.png", "head-export.png"};
    for (size_t s = 0; s < sizeof shots / sizeof shots[0]; s++) {
        Image sh = load_png(dir, shots[s]);
        assert_not_blank(&sh, shots[s]);
        stbi_image_free(sh.px);
    }
    free(maps);
    tokens_free(&tok);
    engine_close(&e);
    helper_rmtree(dir);
}

Test(gui_hf, gpt2_folder_with_its_bpe_through_every_view, .timeout = 600) {
    walk("--variant gpt2-tok", 0);
}

Test(gui_hf, llama_gqa_folder_with_a_tokenizer_json_through_every_view, .timeout = 600) {
    walk("--variant llama-gqa --tokenizer llama2", 1);
}

/* A folder dropped on the window opens as the model (a file inside it too); a path that
 * is no model is named in the status bar and the current model stays. */
Test(gui_hf, a_dropped_folder_opens_and_a_bad_drop_is_named, .timeout = 300) {
    skip_without_xvfb();
    char dir[64], args[256], script[1024];
    helper_tmpdir(dir, sizeof dir);
    make_fixture(dir, "--variant gpt2-tok");
    snprintf(script, sizeof script,
             "drop %s/nothing-here\nwait 1\nassert_status \"nothing-here\"\n"
             "drop %s/model/config.json\nwait 1\nassert_status \"opened %s/model\"\n"
             "text \"Hello world\"\nwait 1\nview head\nselect 0 0\nwait 1\nhover 2 1\nwait 1\n"
             "print_layout\nquit\n", dir, dir, dir);
    write_file(dir, "drop.avz", script);
    snprintf(args, sizeof args, "gui --script drop.avz --device cpu");
    int rc = run_app(dir, "", XVFB, args);
    skip_without_gl(rc);
    cr_assert_eq(rc, 0, "the scripted app failed (%d): %s", rc, gui_err_buf);
    static char out[1 << 16];
    char path[300];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    slurp(path, out, sizeof out);
    cJSON *j = cJSON_Parse(out_line(out, 0));
    cr_assert(j, "%s", out);
    cr_expect_eq(cJSON_GetObjectItem(j, "T")->valueint, 3, "<|endoftext|> Hello world: %s", out);
    cr_expect_str_eq(cJSON_GetObjectItem(j, "readout_ids")->valuestring,
                     "#2 id 995 '\xC4\xA0world' -> #1 id 15496 'Hello'");
    cJSON_Delete(j);
    helper_rmtree(dir);
}
