/* test_fuzz_replay.c: replays every saved fuzz input (the seed corpora and every
 * crash the fuzzers ever found, tests/fuzz/corpus/<target>/) through the fuzz
 * targets, so that a fixed crash stays fixed. `make fuzz` finds new ones. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "fuzz/fuzz_targets.h"

typedef int (*FuzzFn)(const uint8_t *, size_t);

/* Runs fn over every file of tests/fuzz/corpus/<name>/; returns the count. */
static int replay(const char *name, FuzzFn fn) {
    char dir[256];
    snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", name);
    DIR *d = opendir(dir);
    cr_assert(d, "%s: missing (run the tests from the repository root)", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[600], err[AVZ_ERR_LEN];
        size_t len;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *buf = avz_read_file(path, &len, err);
        cr_assert(buf, "%s", err);
        fn((const uint8_t *)buf, len);
        free(buf);
        n++;
    }
    closedir(d);
    return n;
}

Test(fuzz_replay, safetensors) { cr_assert(replay("safetensors", fuzz_safetensors) > 0); }
Test(fuzz_replay, config) { cr_assert(replay("config", fuzz_config) > 0); }
Test(fuzz_replay, vocab) { cr_assert(replay("vocab", fuzz_vocab) > 0); }
Test(fuzz_replay, tokenizer) { cr_assert(replay("tokenizer", fuzz_tokenizer) > 0); }
Test(fuzz_replay, script) { cr_assert(replay("script", fuzz_script) > 0); }
Test(fuzz_replay, hf_config) { cr_assert(replay("hf_config", fuzz_hf_config) > 0); }
Test(fuzz_replay, index) { cr_assert(replay("index", fuzz_index) > 0); }
