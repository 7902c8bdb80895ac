/* cli_run.h: running the built attnviz ($AVZ_BIN, set by `make test`) from a test as
 * a user runs it: stdout and stderr captured into cli_out and cli_err, stdin fed from
 * given bytes (or /dev/null). Header-only (static functions), shared by the CLI tests
 * (test_cli.c, test_cli_input.c, test_cli_batch.c, test_man.c). */
#ifndef AVZ_TEST_CLI_RUN_H
#define AVZ_TEST_CLI_RUN_H

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static char cli_out[1 << 18], cli_err[1 << 18];

static inline void cli_slurp(const char *path, char *buf, size_t len) {
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, len - 1, f) : 0;
    buf[n] = '\0';
    if (f) fclose(f);
}

/* Writes n bytes to path (a fixture file). */
static inline void cli_write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* Runs "attnviz ARGS" (a shell command line after the binary) with the n bytes of in
 * on stdin (in NULL: /dev/null); returns the exit code, -1 if it did not exit. */
static inline int cli_vrun_input(const void *in, size_t n, const char *fmt, va_list ap) {
    const char *bin = getenv("AVZ_BIN");
    cr_assert(bin, "AVZ_BIN is not set (run the tests through make test)");
    char args[8192], cmd[16384], o[64], e[64], i[64];
    vsnprintf(args, sizeof args, fmt, ap);
    snprintf(o, sizeof o, "/tmp/avz-cli-out.%d", getpid());
    snprintf(e, sizeof e, "/tmp/avz-cli-err.%d", getpid());
    snprintf(i, sizeof i, "/tmp/avz-cli-in.%d", getpid());
    if (in) cli_write_file(i, in, n);
    snprintf(cmd, sizeof cmd, "%s %s <%s >%s 2>%s", bin, args, in ? i : "/dev/null", o, e);
    int st = system(cmd);
    cli_slurp(o, cli_out, sizeof cli_out);
    cli_slurp(e, cli_err, sizeof cli_err);
    unlink(o);
    unlink(e);
    if (in) unlink(i);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline int cli_run_input(const void *in, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int cli_run_input(const void *in, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = cli_vrun_input(in, n, fmt, ap);
    va_end(ap);
    return rc;
}

static inline int cli_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int cli_run(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = cli_vrun_input(NULL, 0, fmt, ap);
    va_end(ap);
    return rc;
}

static inline int cli_file_exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* A random model folder written by `attnviz init` in a fresh temp folder: 2 layers x
 * 4 heads, C = 32, `positions` positions, a vocabulary of 11 words (marie curie said
 * she was tired he the cat . ,). The folder's path into dir. */
static inline void cli_make_model(char *dir, size_t len, const char *pe, int positions) {
    char tmp[64], vocab[128];
    helper_tmpdir(tmp, sizeof tmp);
    snprintf(vocab, sizeof vocab, "%s/words.txt", tmp);
    const char *words = ".\n,\nmarie\ncurie\nsaid\nshe\nwas\ntired\nhe\nthe\ncat\n";
    cli_write_file(vocab, words, strlen(words));
    snprintf(dir, len, "%s/model", tmp);
    int rc = cli_run("init --pe %s --layers 2 --heads 4 --embd 32 --positions %d --vocab %s "
                     "--seed 3 --out %s", pe, positions, vocab, dir);
    cr_assert_eq(rc, 0, "init failed: %s", cli_err);
}

#endif
