/* common.h: the small pieces every module of attnviz shares.
 *
 * Three tiers of errors (see STYLE.md):
 *   1. AVZ_ASSERT for programmer errors: prints file:line and aborts.
 *   2. avz_xmalloc / avz_xcalloc for start-up allocation failures: print a hint and exit.
 *   3. AvzCode return values with a message in a caller-owned AvzErr buffer for
 *      everything a user can cause (a bad file, a bad argument, a bad sentence).
 *      The codes equal the CLI's exit codes: 0 ok, 1 internal failure, 2 bad input.
 */
#ifndef AVZ_COMMON_H
#define AVZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    AVZ_OK = 0,
    AVZ_ERR_INTERNAL = 1, /* out of memory, a failed write, a bug */
    AVZ_ERR_INPUT = 2     /* the user's input was wrong: a file, a field, an argument */
} AvzCode;

#define AVZ_ERR_LEN 512
/* A caller-owned message buffer: char err[AVZ_ERR_LEN]. May be NULL where a caller
 * does not want the message. */
typedef char AvzErr[AVZ_ERR_LEN];

/* Formats a message into err (if not NULL) and returns code, so that error paths
 * read as one line:  return avz_fail(err, AVZ_ERR_INPUT, "%s: missing field '%s'", path, f); */
AvzCode avz_fail(char *err, AvzCode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define AVZ_ASSERT(cond)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                     \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* Allocation that cannot fail quietly: on failure prints the size and the call
 * site and exits(1). Use for allocations whose size the program controls. */
#define avz_xmalloc(n) avz_xmalloc_at((n), __FILE__, __LINE__)
#define avz_xcalloc(n, s) avz_xcalloc_at((n), (s), __FILE__, __LINE__)
void *avz_xmalloc_at(size_t n, const char *file, int line);
void *avz_xcalloc_at(size_t n, size_t size, const char *file, int line);

/* Reads a whole file into a malloc'd buffer (NUL-terminated, size in *len).
 * Returns NULL and fills err (naming the path) when it cannot be read. Caller frees. */
char *avz_read_file(const char *path, size_t *len, char *err);

/* Checks, without opening it (opening a FIFO waits for a writer), that path is a regular
 * file, and gives its size (size may be NULL). AVZ_ERR_INPUT naming the path and what it
 * is instead ("a FIFO (named pipe)", "a folder", "a device") or why stat failed. */
AvzCode avz_stat_regular(const char *path, size_t *size, char *err);

/* Writes len bytes to path atomically: to "path.tmp.<pid>" first, fsync, then
 * rename. A missing folder or an unwritable one is an AVZ_ERR_INPUT naming it.
 * Nothing is left half-written on failure. */
AvzCode avz_write_file_atomic(const char *path, const void *data, size_t len, char *err);

/* Opens a temp file beside path for an atomic write done in pieces; finish with
 * avz_atomic_commit (rename into place) or avz_atomic_abort (remove the temp). */
typedef struct {
    FILE *f;
    char tmp_path[4096];
    char path[4096];
} AvzAtomicFile;
AvzCode avz_atomic_open(AvzAtomicFile *af, const char *path, char *err);
AvzCode avz_atomic_commit(AvzAtomicFile *af, char *err);
void avz_atomic_abort(AvzAtomicFile *af);

/* AVZ_HOT marks a hot loop kernel: on x86-64 with GCC it is compiled three times
 * (AVX-512, AVX2 + FMA, baseline SSE2) and the loader picks the best one the CPU
 * has, so one binary is fast everywhere without -march=native. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(AVZ_NO_CLONES)
#define AVZ_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define AVZ_HOT
#endif

/* Copies n floats, n small (a row of one attention head). For the usual head sizes the
 * size is a constant, so the compiler emits a few vector moves in place of a call to
 * memcpy: the forward pass copies thousands of such rows, and the call was most of
 * each copy's cost. */
static inline void avz_copy_row(float *dst, const float *src, int n) {
    switch (n) {
    case 16: memcpy(dst, src, 16 * sizeof(float)); break;
    case 32: memcpy(dst, src, 32 * sizeof(float)); break;
    case 64: memcpy(dst, src, 64 * sizeof(float)); break;
    default: memcpy(dst, src, (size_t)n * sizeof(float));
    }
}

/* Monotonic wall clock in seconds. */
double avz_now(void);

/* The length of the well-formed UTF-8 sequence at p (n >= 1 bytes; an ASCII byte is
 * 1), or 0 when it is not one: then *at = the position of its first wrong byte (0: the
 * lead byte itself, a stray continuation byte, C0, C1 or F5..FF), or, with *cut = 1,
 * the n bytes that were all there before the input ended inside the sequence. Bytes
 * 0..*at-1 are the "maximal subpart" Unicode replaces by one U+FFFD. The ranges for
 * the second byte (Unicode's table 3-7) rule out overlong forms (E0 80..9F, F0
 * 80..8F), UTF-16 surrogates (ED A0..BF) and code points past U+10FFFF (F4 90..). */
size_t avz_utf8_sequence(const unsigned char *p, size_t n, size_t *at, int *cut);

/* A growing byte buffer, always NUL-terminated once anything was put (p is malloc'd;
 * the owner frees it). Start from {0}. */
typedef struct {
    char *p;
    size_t len, cap;
} AvzBuf;
void avz_buf_put(AvzBuf *b, const char *s, size_t n);

/* Deterministic random numbers (xorshift64*), so that every test and every
 * initialisation can be replayed from its seed. */
typedef struct { uint64_t s; } AvzRng;
void avz_rng_init(AvzRng *r, uint64_t seed);
uint64_t avz_rng_u64(AvzRng *r);
float avz_rng_uniform(AvzRng *r);   /* [0, 1) */
float avz_rng_normal(AvzRng *r);    /* mean 0, std 1 (Box-Muller) */

#endif
