/* test_bench.c: `attnviz bench --quick` runs and prints every table (and valid JSON).
 * Only that: speed is measured by `make bench`, never asserted in a test. Runs the
 * built binary ($AVZ_BIN, set by `make test`). */
#define _DEFAULT_SOURCE
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static char out_buf[1 << 16];

/* Runs "attnviz CMD" with stdout captured into out_buf; returns the exit code. */
static int run_bin(const char *args) {
    const char *bin = getenv("AVZ_BIN");
    cr_assert(bin, "AVZ_BIN is not set (run the tests through make test)");
    char cmd[8192], out[64];
    snprintf(out, sizeof out, "/tmp/avz-bench-out.%d", getpid());
    snprintf(cmd, sizeof cmd, "%s %s >%s 2>&1", bin, args, out);
    int st = system(cmd);
    FILE *f = fopen(out, "rb");
    size_t n = f ? fread(out_buf, 1, sizeof out_buf - 1, f) : 0;
    out_buf[n] = '\0';
    if (f) fclose(f);
    unlink(out);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A random model folder (attnviz init) in a fresh temp folder; its path into dir. */
static void make_model(char *dir, size_t len, const char *pe) {
    char tmp[64], args[512];
    helper_tmpdir(tmp, sizeof tmp);
    snprintf(dir, len, "%s/%s", tmp, pe);
    char vocab[128];
    snprintf(vocab, sizeof vocab, "%s/words.txt", tmp);
    FILE *f = fopen(vocab, "w");
    fprintf(f, ".\n,\nthe\ncat\nsat\non\nmat\nshe\nsaid\n");
    fclose(f);
    snprintf(args, sizeof args, "init --pe %s --layers 2 --heads 4 --embd 32 --positions 16 "
             "--vocab %s --seed 3 --out %s", pe, vocab, dir);
    cr_assert_eq(run_bin(args), 0, "init failed: %s", out_buf);
}

Test(bench, quick_prints_every_table) {
    char dir[256], args[512];
    make_model(dir, sizeof dir, "learned");
    snprintf(args, sizeof args, "bench --quick --threads 1 --models %s", dir);
    cr_assert_eq(run_bin(args), 0, "bench failed:\n%s", out_buf);
    const char *want[] = {"(a) forward pass + capture", "learned", "(b) sweep of 8 heads",
                          "ceiling:", "(c) flash attention alone", "% ceiling",
                          "(d) extra memory", "flash / naive", "(e) causal attention",
                          "skipped: a learned model accepts at most 16 tokens"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(strstr(out_buf, want[i]), "missing \"%s\" in:\n%s", want[i], out_buf);
}

Test(bench, json_is_one_document) {
    char dir[256], args[512];
    make_model(dir, sizeof dir, "alibi");
    snprintf(args, sizeof args, "bench --quick --json --threads 1 --only models,flash --models %s", dir);
    cr_assert_eq(run_bin(args), 0, "bench failed:\n%s", out_buf);
    cJSON *j = cJSON_Parse(out_buf);
    cr_assert(j, "not JSON:\n%s", out_buf);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "models")), 4);   /* 2 T x 2 thread counts */
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "flash")), 6);    /* 3 T x causal or not */
    cr_assert(cJSON_GetObjectItem(j, "ceiling") && !cJSON_GetObjectItem(j, "memory"));
    cJSON_Delete(j);
}

Test(bench, no_models_is_said_not_fatal) {
    char tmp[64], args[256];
    helper_tmpdir(tmp, sizeof tmp);
    snprintf(args, sizeof args, "bench --quick --only models --models %s", tmp);
    cr_assert_eq(run_bin(args), 0, "%s", out_buf);
    cr_assert(strstr(out_buf, "no model folders in"), "%s", out_buf);
    cr_assert_eq(run_bin("bench --threads -1"), 2, "%s", out_buf);
}
