/* test_cli.c: the attnviz command as a user runs it: exit codes, messages, files.
 * Runs the built binary ($AVZ_BIN, set by `make test`). */
#define _DEFAULT_SOURCE
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cli_run.h"
#include "gui_helpers.h"
#include "helpers.h"
#include "model.h"
#include "figure/npy.h"
#include "cli/train_curves.h"
#include <math.h>
#include <stb/stb_image.h>

Test(cli, help_lists_the_commands) {
    cr_assert_eq(cli_run("--help"), 0);
    cr_assert(strstr(cli_out, "usage: attnviz") && strstr(cli_out, "export"), "%s", cli_out);
}

Test(cli, unknown_command_and_option_exit_2) {
    cr_assert_eq(cli_run("frobnicate"), 2);
    cr_assert(strstr(cli_err, "unknown command 'frobnicate'"), "%s", cli_err);
    cr_assert_eq(cli_run("predict --text hi --bogus 3"), 2);
    cr_assert(strstr(cli_err, "unknown option '--bogus'"), "%s", cli_err);
    cr_assert_eq(cli_run("export --layer x --text hi --out a.png"), 2);
    cr_assert(strstr(cli_err, "--layer needs an integer (got 'x')"), "%s", cli_err);
}

/* `attnviz --model DIR ...` is `attnviz gui --model DIR ...` (the promise);
 * --help, a missing --version and unknown options answer as before. Without a display
 * the parse is seen reaching gui through gui's own checks. */
Test(cli, gui_options_without_the_command_reach_gui) {
    cr_assert_eq(cli_run("--help"), 0);
    cr_assert(strstr(cli_out, "attnviz --model DIR") && strstr(cli_out, "commands:"), "%s",
              cli_out);
    cr_assert_eq(cli_run("--bogus"), 2);
    cr_assert(strstr(cli_err, "unknown command '--bogus'"), "%s", cli_err);
    cr_assert_eq(cli_run("--version"), 2);
    cr_assert(strstr(cli_err, "unknown command '--version'"), "%s", cli_err);
    cr_assert_eq(cli_run("--width 10"), 2);
    cr_assert(strstr(cli_err, "attnviz gui: --width and --height"), "%s", cli_err);
    cr_assert_eq(cli_run("--model=/nonexistent --bogus"), 2);
    cr_assert(strstr(cli_err, "attnviz gui: unknown option '--bogus'"), "%s", cli_err);
    char dir[64], script[128];
    helper_tmpdir(dir, sizeof dir);
    snprintf(script, sizeof script, "%s/bad.avz", dir);
    cli_write_file(script, "select 1 x\n", 11);   /* read before any window opens */
    cr_assert_eq(cli_run("--model %s --text 'w1 w2' --script %s", dir, script), 2, "%s", cli_err);
    cr_assert(strstr(cli_err, "bad.avz:1:") && strstr(cli_err, "'x'"), "%s", cli_err);
    cr_assert_eq(cli_run("gui --help"), 0);
    cr_assert(strstr(cli_out, "attnviz --model DIR is attnviz gui --model DIR"), "%s", cli_out);
    helper_rmtree(dir);
}

/* The same under Xvfb: the app opens on the given folder (a 3 x 5 model: head (2, 4)
 * exists in it and not in the shipped rope model) with the given text. */
Test(cli, attnviz_model_dir_opens_the_app_on_it, .timeout = 300) {
    skip_without_xvfb();
    char dir[64], path[128], err[AVZ_ERR_LEN];
    helper_tmpdir(dir, sizeof dir);
    Model m;
    helper_model(&m, PE_ROPE, 3, 5, 40, 32, 14);
    snprintf(path, sizeof path, "%s/model", dir);
    cr_assert_eq(model_save(&m, path, err), AVZ_OK, "%s", err);
    model_free(&m);
    write_file(dir, "quit.avz", "assert_status \"5 tokens\"\nview head\nselect 2 4\nquit\n");
    int rc = run_app(dir, "", XVFB, "--model model --text 'w1 w2 w3 .' --script quit.avz "
                     "--device cpu");
    skip_without_gl(rc);
    cr_assert_eq(rc, 0, "attnviz --model DIR failed (%d): %s", rc, gui_err_buf);
    helper_rmtree(dir);
}

Test(cli, every_subcommand_has_help) {
    const char *cmds[] = {"export", "predict", "ablate", "heads", "init", "bench", "permute",
                          "lesson", "tokenize", "lengths", "help", "roles", "model"};
    for (int i = 0; i < 13; i++) {
        cr_assert_eq(cli_run("%s --help", cmds[i]), 0, "%s --help", cmds[i]);
        cr_assert(strstr(cli_out, "usage: attnviz") && strstr(cli_out, "--help"), "%s",
                  cli_out);
    }
}

Test(cli, missing_model_folder_is_named) {
    cr_assert_eq(cli_run("predict --model /nonexistent/m --text hello"), 2);
    cr_assert(strstr(cli_err, "/nonexistent/m") && strstr(cli_err, "not a folder"), "%s",
              cli_err);
}

Test(cli, predict_text_and_json) {
    char dir[128];
    cli_make_model(dir, sizeof dir, "rope", 16);
    cr_assert_eq(cli_run("predict --model %s --text 'Marie Curie said' --top 3", dir), 0, "%s",
                 cli_err);
    cr_assert(strstr(cli_out, "next token after \"said\""), "%s", cli_out);
    cr_assert_eq(cli_run("predict --model %s --text 'marie zzz said' --json", dir), 0, "%s",
                 cli_err);
    cr_assert(strstr(cli_err, "unknown word") && strstr(cli_err, "zzz"), "%s", cli_err);
    cJSON *j = cJSON_Parse(cli_out);
    cr_assert(j, "not JSON: %s", cli_out);
    cJSON *toks = cJSON_GetObjectItem(j, "tokens"), *next = cJSON_GetObjectItem(j, "next");
    cr_assert_eq(cJSON_GetArraySize(toks), 4);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(toks, 2), "unknown")));
    cr_assert_eq(cJSON_GetArraySize(next), 5);
    double p0 = cJSON_GetObjectItem(cJSON_GetArrayItem(next, 0), "p")->valuedouble;
    double p1 = cJSON_GetObjectItem(cJSON_GetArrayItem(next, 1), "p")->valuedouble;
    cr_assert(p0 >= p1 && p0 > 0 && p0 <= 1);
    cJSON_Delete(j);
    cr_assert_eq(cli_run("predict --model %s --text hi --top 0", dir), 2);
}

Test(cli, export_npy_equals_in_process_capture) {
    char dir[128], out[256];
    cli_make_model(dir, sizeof dir, "alibi", 16);
    snprintf(out, sizeof out, "%s/../all.npy", dir);
    cr_assert_eq(cli_run("export --model %s --text 'she was tired .' --all --out %s", dir, out), 0,
                 "%s", cli_err);
    float *data;
    int ndim;
    int64_t shape[4];
    char err[AVZ_ERR_LEN];
    cr_assert_eq(npy_read(out, &data, &ndim, shape, err), AVZ_OK, "%s", err);
    cr_assert_eq(ndim, 4);
    cr_assert(shape[0] == 2 && shape[1] == 4 && shape[2] == 5 && shape[3] == 5);
    Model m;
    cr_assert_eq(model_load(&m, dir, err), AVZ_OK, "%s", err);
    int ids[5] = {0};
    const char *words[] = {"she", "was", "tired", "."};
    for (int i = 0; i < 4; i++) ids[i + 1] = vocab_lookup(&m.vocab, words[i]);
    cr_assert_eq(model_forward(&m, ids, NULL, 1, 5, NULL, err), AVZ_OK);
    float ref[2 * 4 * 25];
    model_capture_all(&m, 0, ref);
    cr_assert(helper_rel_err(data, ref, 200) < 1e-6, "npy differs from the capture");
    free(data);
    model_free(&m);
}

Test(cli, export_png_head_layer_and_errors) {
    char dir[128], out[256];
    cli_make_model(dir, sizeof dir, "learned", 16);
    snprintf(out, sizeof out, "%s/../head.png", dir);
    cr_assert_eq(cli_run("export --model %s --text 'marie curie said she was tired .' --layer 1 "
                     "--head 2 --out %s --size 300", dir, out), 0, "%s", cli_err);
    cr_assert(cli_file_exists(out));
    snprintf(out, sizeof out, "%s/../layer.png", dir);
    cr_assert_eq(cli_run("export --model %s --text 'the cat' --layer 0 --out %s --colormap magma",
                     dir, out), 0, "%s", cli_err);
    cr_assert(cli_file_exists(out));
    /* errors: each names what was wrong */
    cr_assert_eq(cli_run("export --model %s --text hi --layer 5 --head 0 --out %s", dir, out), 2);
    cr_assert(strstr(cli_err, "--layer 5 does not exist"), "%s", cli_err);
    cr_assert_eq(cli_run("export --model %s --text hi --all --layer 1 --out %s", dir, out), 2);
    cr_assert_eq(cli_run("export --model %s --text hi --out %s", dir, out), 2);
    cr_assert(strstr(cli_err, "--all"), "%s", cli_err);
    cr_assert_eq(cli_run("export --model %s --text hi --all --out /nonexistent/dir/x.png", dir), 2);
    cr_assert(strstr(cli_err, "/nonexistent/dir"), "%s", cli_err);
    cr_assert(!cli_file_exists("/nonexistent/dir/x.png"));
    cr_assert_eq(cli_run("export --model %s --text hi --all --out %s --colormap jet", dir, out), 2);
    cr_assert(strstr(cli_err, "jet"), "%s", cli_err);
    /* the learned model refuses a text longer than its table */
    cr_assert_eq(cli_run("export --model %s --text 'the cat the cat the cat the cat the cat the cat "
                     "the cat the cat the cat' --all --out %s", dir, out), 2);
    cr_assert(strstr(cli_err, "at most 16"), "%s", cli_err);
}

Test(cli, ablate_and_heads) {
    char dir[128];
    cli_make_model(dir, sizeof dir, "sinusoidal", 16);
    cr_assert_eq(cli_run("ablate --model %s --text 'marie curie said she was tired' --heads 1.2,0.3",
                     dir), 0, "%s", cli_err);
    cr_assert(strstr(cli_out, "loss on the text") && strstr(cli_out, "KL per position"), "%s",
              cli_out);
    cr_assert_eq(cli_run("ablate --model %s --text hi --heads 7.0", dir), 2);
    cr_assert(strstr(cli_err, "head 7.0 does not exist"), "%s", cli_err);
    cr_assert_eq(cli_run("ablate --model %s --text hi --heads x", dir), 2);
    cr_assert_eq(cli_run("ablate --model %s --text hi --heads 0.0 --mode half", dir), 2);
    cr_assert(strstr(cli_err, "half"), "%s", cli_err);
    cr_assert_eq(cli_run("heads --model %s --text 'marie curie said she was tired' --json", dir), 0,
                 "%s", cli_err);
    cJSON *j = cJSON_Parse(cli_out);
    cr_assert(j, "not JSON: %s", cli_out);
    cJSON *imp = cJSON_GetObjectItem(j, "importance");
    cr_assert_eq(cJSON_GetArraySize(imp), 2);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetArrayItem(imp, 0)), 4);
    cJSON_Delete(j);
}

Test(cli, init_errors) {
    cr_assert_eq(cli_run("init --pe spiral --vocab /dev/null --out /tmp/x"), 2);
    cr_assert(strstr(cli_err, "spiral"), "%s", cli_err);
    cr_assert_eq(cli_run("init --pe rope --vocab /nonexistent/v.txt --out /tmp/x"), 2);
    cr_assert(strstr(cli_err, "/nonexistent/v.txt"), "%s", cli_err);
}

/* The exported PNG shows, at chosen cells, the colormap colour of the value that
 * attention capture computed for that cell. */
#include <stb/stb_image.h>
#include "figure/colormap.h"
#include "figure/export.h"
#include "figure/heatmap.h"

Test(cli, exported_png_cells_have_the_colours_of_captured_values) {
    Model m;
    helper_model(&m, PE_ROPE, 2, 4, 32, 64, 81);
    int T = 11, ids[11];
    helper_tokens(ids, T, m.cfg.vocab_size, 82);
    char err[AVZ_ERR_LEN], dir[64], path[128];
    cr_assert_eq(model_forward(&m, ids, NULL, 1, T, NULL, err), AVZ_OK);
    float P[121];
    model_capture(&m, 1, 3, 0, P);
    const char *labels[11];
    for (int t = 0; t < T; t++) labels[t] = m.vocab.words[ids[t]];
    ExportStyle st;
    export_style_default(&st);
    st.size_px = 440;
    helper_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/head.png", dir);
    cr_assert_eq(export_heatmap_png(path, P, T, labels, "L1 H3", &st, err), AVZ_OK, "%s", err);
    int w, h, n;
    unsigned char *img = stbi_load(path, &w, &h, &n, 4);
    cr_assert(img, "PNG does not decode");
    ExportLayout L;
    export_layout_single(T, labels, &st, &L);
    cr_assert_eq(w, L.width);
    /* the scale export uses: 0 .. the largest visible value */
    HeatmapScale hs = {0, 0, 1, st.cmap, 1};
    heatmap_scale_auto(&hs, P, T * T);
    int checked = 0;
    for (int i = 0; i < T; i++)
        for (int j = 0; j <= i; j += 3) {
            int x = L.map_x0 + j * L.cell + L.cell / 2, y = L.map_y0 + i * L.cell + L.cell / 2;
            unsigned char want[3], *px = img + 4 * ((size_t)y * w + x);
            colormap_lookup(st.cmap, heatmap_position(&hs, P[i * T + j]), want);
            for (int c = 0; c < 3; c++)
                cr_assert(abs(px[c] - want[c]) <= 1, "cell (%d,%d) value %.3f: pixel %d,%d,%d "
                          "want %d,%d,%d", i, j, P[i * T + j], px[0], px[1], px[2], want[0],
                          want[1], want[2]);
            checked++;
        }
    cr_assert(checked > 20);
    stbi_image_free(img);
    model_free(&m);
}

/* The permutation demo on the shipped models: shuffling the words only permutes
 * layer 0's scores when no position information enters (difference exactly 0);
 * with an encoding it changes them. */
Test(cli, permute_shows_that_attention_alone_ignores_order) {
    cr_assert_eq(cli_run("permute --all --json --seed 7 --text \"the students had lunch with rita "
                     "sagan at the cafe . they smiled at her .\""), 0, "%s", cli_err);
    cJSON *j = cJSON_Parse(cli_out);
    cr_assert(j && cJSON_GetArraySize(j) == 5, "%s", cli_out);
    cJSON *it;
    cJSON_ArrayForEach(it, j) {
        const char *pe = cJSON_GetObjectItem(it, "position_encoding")->valuestring;
        double without = cJSON_GetObjectItem(it, "diff_without_position")->valuedouble;
        double with = cJSON_GetObjectItem(it, "diff_with_position")->valuedouble;
        cr_assert(without < 1e-5, "%s: %g without position", pe, without);
        if (strcmp(pe, "none") == 0) cr_assert(with < 1e-5, "none: %g", with);
        else cr_assert(with > 0.05, "%s: only %g with its encoding", pe, with);
    }
    cJSON_Delete(j);
    cr_assert_eq(cli_run("permute"), 2);
    cr_assert(strstr(cli_err, "--text or --text-file is required"), "%s", cli_err);
    cr_assert_eq(cli_run("permute --text \"she\" --seed -1"), 2);
    cr_assert(strstr(cli_err, "--seed must be >= 0"), "%s", cli_err);
}

/* `attnviz model info DIR`: the architecture as read, for a Hugging Face Llama folder
 * with grouped-query attention (with and without a tokenizer) and for our own. */
Test(cli, model_info_prints_the_architecture_as_read, .timeout = 120) {
    char tmp[64];
    helper_tmpdir(tmp, sizeof tmp);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/ref/hf_fixture.py make %s/m --variant "
             "llama-gqa >/dev/null", tmp);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    cr_assert_eq(cli_run("model info %s/m", tmp), 0, "%s", cli_err);
    cr_expect(strstr(cli_out, "llama (LlamaForCausalLM)") && strstr(cli_out, "NKV = 2") &&
              strstr(cli_out, "RMSNorm") && strstr(cli_out, "opened in"), "%s", cli_out);
    cr_expect(strstr(cli_err, "no tokenizer"), "%s", cli_err);
    cr_assert_eq(cli_run("model info %s/m --json", tmp), 0, "%s", cli_err);
    cJSON *j = cJSON_Parse(cli_out);
    cr_assert(j, "%s", cli_out);
    cr_expect_eq(cJSON_GetObjectItem(j, "n_kv_head")->valueint, 2);
    cr_expect_eq(cJSON_GetObjectItem(j, "n_head")->valueint, 4);
    cr_expect_str_eq(cJSON_GetObjectItem(j, "tokenizer")->valuestring, "none");
    cr_expect(cJSON_GetObjectItem(j, "peak_rss_bytes")->valuedouble > 0);
    cJSON_Delete(j);
    cr_assert_eq(cli_run("model info assets/models/rope --json"), 0, "%s", cli_err);
    j = cJSON_Parse(cli_out);
    cr_assert(j);
    cr_expect_str_eq(cJSON_GetObjectItem(j, "position_encoding")->valuestring, "rope");
    cr_expect_str_eq(cJSON_GetObjectItem(j, "tokenizer")->valuestring, "word");
    cJSON_Delete(j);
    cr_assert_eq(cli_run("model info"), 2);
    cr_expect(strstr(cli_err, "model folder is required"), "%s", cli_err);
    cr_assert_eq(cli_run("model info %s/nope", tmp), 2);
    cr_expect(strstr(cli_err, "nope"), "%s", cli_err);
    cr_assert_eq(cli_run("model frob"), 2);
    helper_rmtree(tmp);
}

/* train --live-log, then export --train-curves: two charts from the run's own log;
 * a log that is not one is refused with its line named. */
Test(cli, train_curves_from_a_live_log, .timeout = 300) {
    char tmp[64];
    helper_tmpdir(tmp, sizeof tmp);
    cr_assert_eq(cli_run("train --out %s/m --layers 1 --heads 2 --embd 16 --context 16 --steps 6 "
                         "--batch 2 --eval-every 6 --threads 1 --quiet --live-log %s/live.jsonl "
                         "--live-every 2", tmp, tmp), 0, "%s", cli_err);
    cr_assert_eq(cli_run("export --train-curves %s/live.jsonl --out %s/c.png --size 600 --json",
                         tmp, tmp), 0, "%s", cli_err);
    cJSON *j = cJSON_Parse(cli_out);
    cr_assert(j, "%s", cli_out);
    const char *files[2] = {cJSON_GetObjectItem(j, "loss")->valuestring,
                            cJSON_GetObjectItem(j, "roles")->valuestring};
    for (int k = 0; k < 2; k++) {
        int w, h, ch;
        unsigned char *px = stbi_load(files[k], &w, &h, &ch, 3);
        cr_assert(px, "%s is not a PNG", files[k]);
        cr_expect(w == 600 && h == 360, "%s is %dx%d", files[k], w, h);
        stbi_image_free(px);
    }
    cr_expect(strstr(files[0], "c-loss.png") && strstr(files[1], "c-roles.png"));
    cJSON_Delete(j);
    char bad[128];
    snprintf(bad, sizeof bad, "%s/bad.jsonl", tmp);
    cli_write_file(bad, "{\"step\": 0, \"heads\": []}\nnot json\n", 34);
    cr_assert_eq(cli_run("export --train-curves %s --out %s/d.png", bad, tmp), 2);
    cr_expect(strstr(cli_err, "line 2 is not JSON"), "%s", cli_err);
    cr_assert_eq(cli_run("export --train-curves %s/live.jsonl", tmp), 2);
    helper_rmtree(tmp);
}

/* The phase-change marker: the largest rise between two consecutive lines. */
Test(cli, train_curves_mark_the_largest_rise) {
    float step[5] = {0, 10, 20, 30, 40}, ind[5] = {0.05f, 0.06f, 0.30f, 0.70f, 0.72f}, rise;
    cr_expect_float_eq(train_curves_jump_step(step, ind, 5, &rise), 30.0f, 0);
    cr_expect_float_eq(rise, 0.40f, 1e-6f);
    float flat[3] = {0.3f, 0.2f, 0.1f};
    cr_expect(isnan(train_curves_jump_step(step, flat, 3, &rise)));
}
