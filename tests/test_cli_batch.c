/* test_cli_batch.c: `attnviz export --texts`, one file per text: numbered names from
 * a folder or a pattern, the index (CSV or JSON) beside them, a bad text named on
 * stderr and in the index while the others are still written (exit status 2), lines
 * and --blocks, labels and comments. The names and the batch reader are also tested
 * in-process (app/cli/batch.c, app/cli/text_input.c). */
#define _DEFAULT_SOURCE
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stb/stb_image.h>
#include <stdio.h>
#include <string.h>

#include "cli/batch.h"
#include "cli/text_input.h"
#include "cli_run.h"
#include "figure/npy.h"
#include "helpers.h"

/* A PNG that decodes, at least 64 pixels each way. */
static void assert_png(const char *path) {
    int w, h, n;
    unsigned char *img = stbi_load(path, &w, &h, &n, 4);
    cr_assert(img, "%s does not decode", path);
    cr_assert(w >= 64 && h >= 64, "%s is %dx%d", path, w, h);
    stbi_image_free(img);
}

/* The lines of file path into buf; returns how many. */
static int read_lines(const char *path, char *buf, size_t len, char **lines, int max) {
    cli_slurp(path, buf, len);
    int n = 0;
    for (char *l = strtok(buf, "\n"); l && n < max; l = strtok(NULL, "\n")) lines[n++] = l;
    return n;
}

/* ---- in-process: names and the reader --------------------------------------------- */

Test(cli_batch, names_from_a_folder_and_a_pattern) {
    BatchNames b;
    char err[AVZ_ERR_LEN], path[4096];
    BatchFields f = {7, 1, 2, "rope"};
    cr_assert_eq(batch_names_init(&b, "slides/{n}-L{layer}H{head}-{model}.png", "png", 40, err), AVZ_OK, "%s", err);
    cr_assert_eq(batch_name(&b, &f, path, sizeof path, err), AVZ_OK);
    cr_assert_str_eq(path, "slides/007-L1H2-rope.png");
    f = (BatchFields){12, -1, -1, "rope"};
    cr_assert_eq(batch_name(&b, &f, path, sizeof path, err), AVZ_OK);
    cr_assert_str_eq(path, "slides/012-LallHall-rope.png");
    cr_assert_eq(batch_names_init(&b, "out/", "npy", 1000, err), AVZ_OK);   /* 4 digits */
    f.n = 3;
    cr_assert_eq(batch_name(&b, &f, path, sizeof path, err), AVZ_OK);
    cr_assert_str_eq(path, "out/0003.npy");
    cr_assert_eq(batch_names_init(&b, "{n}.png", "png", 9, err), AVZ_OK);
    cr_assert_eq(batch_name(&b, &f, path, sizeof path, err), AVZ_OK);
    cr_assert_str_eq(path, "003.png");
    /* errors, each naming --out */
    cr_assert_eq(batch_names_init(&b, "slides/x.png", "png", 3, err), AVZ_ERR_INPUT);
    cr_assert(strstr(err, "--out") && strstr(err, "{n}"), "%s", err);
    cr_assert_eq(batch_names_init(&b, "s/{n}-{bogus}.png", "png", 3, err), AVZ_ERR_INPUT);
    cr_assert(strstr(err, "unknown placeholder '{bogus}'"), "%s", err);
    cr_assert_eq(batch_names_init(&b, "{model}/{n}.png", "png", 3, err), AVZ_ERR_INPUT);
    cr_assert(strstr(err, "not in the folder"), "%s", err);
    cr_assert_eq(batch_names_init(&b, "s/{n.png", "png", 3, err), AVZ_ERR_INPUT);
    cr_assert(strstr(err, "without '}'"), "%s", err);
}

Test(cli_batch, reader_lines_blocks_labels_comments) {
    char dir[64], path[128], err[AVZ_ERR_LEN];
    helper_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.txt", dir);
    const char body[] = "\xEF\xBB\xBF# a comment\r\none | the cat\r\n\r\n  \n"
                        "two|she was\n  # indented comment\nthree | \n\xff bad\n";
    cli_write_file(path, body, sizeof body - 1);
    TextList l;
    cr_assert_eq(text_list_read(path, 0, 1, &l, err), AVZ_OK, "%s", err);
    cr_assert_eq(l.n, 4);
    cr_assert(!strcmp(l.items[0].label, "one") && !strcmp(l.items[0].text, "the cat") &&
              l.items[0].line == 2 && !l.items[0].fault[0]);
    cr_assert(!strcmp(l.items[1].label, "two") && !strcmp(l.items[1].text, "she was") &&
              l.items[1].line == 5);
    cr_assert(l.items[2].line == 7 && !strcmp(l.items[2].fault, "empty text"), "%s", l.items[2].fault);
    cr_assert(l.items[3].line == 8 && !strcmp(l.items[3].fault, "byte 1: invalid UTF-8 (0xFF)"),
              "%s", l.items[3].fault);
    cr_assert_str_eq(l.items[3].text, "\xEF\xBF\xBD bad");   /* shown with U+FFFD */
    text_list_free(&l);
    /* blocks: runs of non-blank lines, comments left out, a fault on a later line named */
    cr_assert_eq(text_list_read(path, 1, 0, &l, err), AVZ_OK, "%s", err);
    cr_assert_eq(l.n, 2);
    cr_assert_str_eq(l.items[0].text, "one | the cat");
    cr_assert(l.items[1].line == 5 && !strcmp(l.items[1].fault, "line 8, byte 1: invalid UTF-8 (0xFF)"),
              "%d %s", l.items[1].line, l.items[1].fault);
    text_list_free(&l);
    cli_write_file(path, "# only\n\n", 8);
    cr_assert_eq(text_list_read(path, 0, 0, &l, err), AVZ_ERR_INPUT);
    cr_assert(strstr(err, "no texts"), "%s", err);
}

/* ---- the command ------------------------------------------------------------------- */

/* Good and bad texts together: the good ones are written and decode, each bad one is
 * named (number and line) on stderr and in the index, and the exit status is 2. */
Test(cli_batch, mixed_good_and_bad_texts) {
    char dir[128], texts[192], out[192], index[256];
    cli_make_model(dir, sizeof dir, "learned", 16);
    snprintf(texts, sizeof texts, "%s/../texts.txt", dir);
    const char body[] = "# the lecture's sentences\n"
                        "marie curie said\n"                    /* text 1, line 2 */
                        "\n"
                        "she was \xc3\x28 tired\n"              /* text 2, line 4: bad UTF-8 */
                        "the cat the cat the cat the cat the cat the cat the cat the cat\n" /* 3: 17 tokens */
                        "he was tired .\n";                     /* text 4, line 6 */
    cli_write_file(texts, body, sizeof body - 1);
    snprintf(out, sizeof out, "%s/../slides", dir);
    cr_assert_eq(cli_run("export --model %s --texts %s --layer 1 --head 2 --out '%s/{n}-L{layer}H{head}.png'",
                         dir, texts, out), 2, "%s", cli_err);
    char p1[256], p2[256], p3[256], p4[256];
    snprintf(p1, sizeof p1, "%s/001-L1H2.png", out);
    snprintf(p2, sizeof p2, "%s/002-L1H2.png", out);
    snprintf(p3, sizeof p3, "%s/003-L1H2.png", out);
    snprintf(p4, sizeof p4, "%s/004-L1H2.png", out);
    assert_png(p1);
    assert_png(p4);
    cr_assert(!cli_file_exists(p2) && !cli_file_exists(p3));
    cr_assert(strstr(cli_err, "text 2 (line 4): byte 9: invalid UTF-8 (0xC3 0x28)"), "%s", cli_err);
    cr_assert(strstr(cli_err, "text 3 (line 5): ") && strstr(cli_err, "at most 16"), "%s", cli_err);
    cr_assert(strstr(cli_err, "[4/4] wrote ") && strstr(cli_err, "004-L1H2.png"), "%s", cli_err);
    cr_assert(strstr(cli_out, "wrote 2 of 4 png files") && strstr(cli_out, "2 texts failed"), "%s", cli_out);
    /* the index, one row per text */
    snprintf(index, sizeof index, "%s/index.csv", out);
    char buf[8192], *lines[16];
    int n = read_lines(index, buf, sizeof buf, lines, 16);
    cr_assert_eq(n, 5, "index has %d lines", n);
    cr_assert_str_eq(lines[0], "n,line,label,text,n_tokens,file,status,message");
    cr_assert(strstr(lines[1], "1,2,,marie curie said,4,") && strstr(lines[1], "001-L1H2.png,ok,"),
              "%s", lines[1]);
    cr_assert(strstr(lines[2], "2,4,,she was \xEF\xBF\xBD( tired,0,,bad_input,byte 9: invalid UTF-8"),
              "%s", lines[2]);
    cr_assert(strstr(lines[3], "3,5,") && strstr(lines[3], ",0,,bad_input,") &&
              strstr(lines[3], "at most 16"), "%s", lines[3]);
    cr_assert(strstr(lines[4], "4,6,,he was tired .,5,") && strstr(lines[4], ",ok,"), "%s", lines[4]);
    /* all good: exit 0 */
    cli_write_file(texts, "marie curie\nshe was tired\n", 26);
    cr_assert_eq(cli_run("export --model %s --texts %s --all --out %s/all/", dir, texts, out), 0,
                 "%s", cli_err);
    snprintf(p1, sizeof p1, "%s/all/002.png", out);
    assert_png(p1);
}

/* A folder out (created when missing), .npy arrays, --blocks from stdin, and the JSON
 * index and summary. */
Test(cli_batch, blocks_from_stdin_as_npy_with_a_json_index) {
    char dir[128], out[192], path[256];
    cli_make_model(dir, sizeof dir, "rope", 16);
    snprintf(out, sizeof out, "%s/../arrays/", dir);
    const char body[] = "marie curie\nsaid\n\n\n# between\nshe was\n# inside\ntired .\n\n";
    cr_assert_eq(cli_run_input(body, sizeof body - 1, "export --model %s --texts - --blocks "
                               "--layer 0 --format npy --out %s --index json --json", dir, out),
                 0, "%s", cli_err);
    cJSON *j = cJSON_Parse(cli_out);
    cr_assert(j, "not JSON: %s", cli_out);
    cr_assert_eq(cJSON_GetObjectItem(j, "n_texts")->valueint, 2);
    cr_assert_eq(cJSON_GetObjectItem(j, "written")->valueint, 2);
    cr_assert_eq(cJSON_GetObjectItem(j, "failed")->valueint, 0);
    cJSON *t1 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "texts"), 1);
    cr_assert_str_eq(cJSON_GetObjectItem(t1, "text")->valuestring, "she was\ntired .");
    cr_assert_eq(cJSON_GetObjectItem(t1, "line")->valueint, 6);
    cr_assert_eq(cJSON_GetObjectItem(t1, "n_tokens")->valueint, 5);
    cr_assert_str_eq(cJSON_GetObjectItem(t1, "status")->valuestring, "ok");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(t1, "message")));
    const char *file = cJSON_GetObjectItem(t1, "file")->valuestring;
    cr_assert(strstr(file, "arrays/002.npy"), "%s", file);
    float *data;
    int ndim;
    int64_t shape[4];
    char err[AVZ_ERR_LEN];
    cr_assert_eq(npy_read(file, &data, &ndim, shape, err), AVZ_OK, "%s", err);
    cr_assert(ndim == 3 && shape[0] == 4 && shape[1] == 5 && shape[2] == 5);
    for (int h = 0; h < 4; h++)   /* each row of each head sums to 1 */
        for (int r = 0; r < 5; r++) {
            double s = 0;
            for (int c = 0; c < 5; c++) s += data[(h * 5 + r) * 5 + c];
            cr_assert(s > 0.999 && s < 1.001, "head %d row %d sums to %g", h, r, s);
        }
    free(data);
    /* index.json beside the arrays is the same document */
    snprintf(path, sizeof path, "%s/index.json", out);
    static char buf[1 << 16];
    cli_slurp(path, buf, sizeof buf);
    cJSON *idx = cJSON_Parse(buf);
    cr_assert(idx, "index.json: %s", buf);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(idx, "texts")), 2);
    cJSON_Delete(idx);
    cJSON_Delete(j);
}

/* The shipped examples ("label | text" lines with # comments), as README shows. */
Test(cli_batch, the_shipped_examples_with_labels) {
    char dir[64];
    helper_tmpdir(dir, sizeof dir);
    cr_assert_eq(cli_run("export --texts assets/texts/examples.txt --labels --layer 1 --head 2 "
                         "--size 200 --out '%s/{n}-L{layer}H{head}.png'", dir), 0, "%s", cli_err);
    cr_assert(strstr(cli_out, "wrote 10 of 10 png files"), "%s", cli_out);
    char path[128], buf[16384], *lines[16];
    snprintf(path, sizeof path, "%s/010-L1H2.png", dir);
    assert_png(path);
    snprintf(path, sizeof path, "%s/index.csv", dir);
    cr_assert_eq(read_lines(path, buf, sizeof buf, lines, 16), 11);
    cr_assert(strstr(lines[1], "1,3,\"coreference: she -> marie, him -> alan\",marie curie met"),
              "%s", lines[1]);
}

Test(cli_batch, usage_errors_write_nothing) {
    char dir[64], texts[128];
    helper_tmpdir(dir, sizeof dir);
    snprintf(texts, sizeof texts, "%s/t.txt", dir);
    cli_write_file(texts, "the cat\n", 8);
    cr_assert_eq(cli_run("export --texts %s --all --out %s/same.png", texts, dir), 2);
    cr_assert(strstr(cli_err, "{n}"), "%s", cli_err);
    cr_assert_eq(cli_run("export --text hi --blocks --all --out %s/x.png", dir), 2);
    cr_assert(strstr(cli_err, "go with --texts"), "%s", cli_err);
    cr_assert_eq(cli_run("export --texts %s --all --out %s/o/ --index xml", texts, dir), 2);
    cr_assert(strstr(cli_err, "--index must be csv or json"), "%s", cli_err);
    cr_assert_eq(cli_run("export --texts %s --layer 9 --out %s/o/", texts, dir), 2);
    cr_assert(strstr(cli_err, "--layer 9 does not exist"), "%s", cli_err);
    cr_assert_eq(cli_run("export --texts %s/none.txt --all --out %s/o/", dir, dir), 2);
    cr_assert(strstr(cli_err, "none.txt: cannot open"), "%s", cli_err);
    cr_assert_eq(helper_dir_entries(dir), 1, "only t.txt is left");
}
