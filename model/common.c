/* common.c: errors, checked allocation, atomic file writes, a clock and a seeded RNG. */
#define _POSIX_C_SOURCE 200809L
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

AvzCode avz_fail(char *err, AvzCode code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, AVZ_ERR_LEN, fmt, ap);
        va_end(ap);
    }
    return code;
}

void *avz_xmalloc_at(size_t n, const char *file, int line) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "%s:%d: out of memory allocating %zu bytes "
                        "(hint: a shorter text or a smaller model needs less)\n", file, line, n);
        exit(1);
    }
    return p;
}

void *avz_xcalloc_at(size_t n, size_t size, const char *file, int line) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "%s:%d: out of memory allocating %zu x %zu bytes\n", file, line, n, size);
        exit(1);
    }
    return p;
}

/* What a path that is not a regular file is, for messages. */
static const char *file_kind(mode_t mode) {
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    return "not a regular file";
}

AvzCode avz_stat_regular(const char *path, size_t *size, char *err) {
    struct stat sb;
    if (stat(path, &sb) != 0)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return avz_fail(err, AVZ_ERR_INPUT, "%s: is %s, not a regular file", path,
                        file_kind(sb.st_mode));
    if (size) *size = (size_t)sb.st_size;
    return AVZ_OK;
}

char *avz_read_file(const char *path, size_t *len, char *err) {
    /* stat before opening: opening a FIFO for reading waits for a writer, forever */
    struct stat pre;
    if (stat(path, &pre) == 0 && !S_ISREG(pre.st_mode)) {
        avz_fail(err, AVZ_ERR_INPUT, "%s: is %s, not a regular file", path, file_kind(pre.st_mode));
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        avz_fail(err, AVZ_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        avz_fail(err, AVZ_ERR_INPUT, "%s: not a regular file", path);
        return NULL;
    }
    size_t n = (size_t)sb.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        fclose(f);
        avz_fail(err, AVZ_ERR_INTERNAL, "%s: out of memory reading %zu bytes", path, n);
        return NULL;
    }
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    if (got != n) {
        free(buf);
        avz_fail(err, AVZ_ERR_INPUT, "%s: short read (%zu of %zu bytes)", path, got, n);
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

/* The folder part of path, for error messages ("." when there is none). */
static void dir_of(const char *path, char *out, size_t len) {
    const char *slash = strrchr(path, '/');
    if (!slash) { snprintf(out, len, "."); return; }
    size_t n = (size_t)(slash - path);
    if (n == 0) n = 1;
    if (n >= len) n = len - 1;
    memcpy(out, path, n);
    out[n] = '\0';
}

AvzCode avz_atomic_open(AvzAtomicFile *af, const char *path, char *err) {
    memset(af, 0, sizeof *af);
    if (strlen(path) + 32 >= sizeof af->tmp_path)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: path too long", path);
    char dir[4096];
    dir_of(path, dir, sizeof dir);
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: output folder '%s' does not exist", path, dir);
    if (!S_ISDIR(sb.st_mode))
        return avz_fail(err, AVZ_ERR_INPUT, "%s: '%s' is not a folder", path, dir);
    snprintf(af->path, sizeof af->path, "%s", path);
    snprintf(af->tmp_path, sizeof af->tmp_path, "%s.tmp.%ld", path, (long)getpid());
    af->f = fopen(af->tmp_path, "wb");
    if (!af->f)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: cannot write in '%s': %s", path, dir,
                        strerror(errno));
    return AVZ_OK;
}

AvzCode avz_atomic_commit(AvzAtomicFile *af, char *err) {
    int bad = ferror(af->f);
    if (fflush(af->f) != 0) bad = 1;
    if (!bad && fsync(fileno(af->f)) != 0) bad = 1;
    int saved = errno;
    if (fclose(af->f) != 0) bad = 1;
    af->f = NULL;
    if (bad) {
        unlink(af->tmp_path);
        return avz_fail(err, AVZ_ERR_INTERNAL, "%s: write failed: %s", af->path, strerror(saved));
    }
    if (rename(af->tmp_path, af->path) != 0) {
        saved = errno;
        unlink(af->tmp_path);
        return avz_fail(err, AVZ_ERR_INPUT, "%s: cannot rename into place: %s", af->path,
                        strerror(saved));
    }
    return AVZ_OK;
}

void avz_atomic_abort(AvzAtomicFile *af) {
    if (af->f) fclose(af->f);
    af->f = NULL;
    if (af->tmp_path[0]) unlink(af->tmp_path);
}

AvzCode avz_write_file_atomic(const char *path, const void *data, size_t len, char *err) {
    AvzAtomicFile af;
    AvzCode rc = avz_atomic_open(&af, path, err);
    if (rc) return rc;
    if (len && fwrite(data, 1, len, af.f) != len) {
        int saved = errno;
        avz_atomic_abort(&af);
        return avz_fail(err, AVZ_ERR_INTERNAL, "%s: write failed: %s", path, strerror(saved));
    }
    return avz_atomic_commit(&af, err);
}

double avz_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

size_t avz_utf8_sequence(const unsigned char *p, size_t n, size_t *at, int *cut) {
    unsigned char c = p[0], lo = 0x80, hi = 0xbf;   /* lo..hi: the second byte's range */
    size_t need;                                     /* continuation bytes after the lead */
    *at = 0, *cut = 0;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return 0;                                    /* *at = 0: the lead byte is wrong */
    }
    for (size_t k = 1; k <= need; k++) {
        if (k >= n) { *at = k, *cut = 1; return 0; }
        unsigned char min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xbf;
        if (p[k] < min || p[k] > max) { *at = k; return 0; }
    }
    return need + 1;
}

void avz_buf_put(AvzBuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = avz_xmalloc(cap);
        if (b->len) memcpy(p, b->p, b->len);
        free(b->p);
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void avz_rng_init(AvzRng *r, uint64_t seed) {
    /* splitmix64 of the seed, so that seeds 0, 1, 2 give unrelated streams */
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    r->s = (z ^ (z >> 31)) | 1;
}

uint64_t avz_rng_u64(AvzRng *r) {
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}

float avz_rng_uniform(AvzRng *r) {
    return (float)(avz_rng_u64(r) >> 40) / 16777216.0f;
}

float avz_rng_normal(AvzRng *r) {
    float u1 = avz_rng_uniform(r), u2 = avz_rng_uniform(r);
    if (u1 < 1e-7f) u1 = 1e-7f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530718f * u2);
}
