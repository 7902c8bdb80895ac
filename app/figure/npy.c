/* npy.c: writes and reads NumPy v1.0 .npy files of little-endian float32.
 *
 * Layout: "\x93NUMPY", version bytes 1 0, a uint16 little-endian header length,
 * then an ASCII Python dict such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 5, 7), }
 * padded with spaces and ended by '\n' so that the data starts at a multiple of
 * 64 bytes, then the values in C order. Floats are written byte by byte, so
 * the file is little-endian whatever the host is.
 */
#include "figure/npy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char NPY_MAGIC[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};
#define NPY_PREFIX 10       /* magic (6) + version (2) + header length (2) */
#define NPY_ALIGN 64

/* Number of elements of shape, or -1 when a dimension is negative or the
 * product would not fit in memory sizes. */
static int64_t npy_count(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return -1;
        if (shape[d] != 0 && n > (INT64_MAX / 8) / shape[d]) return -1;
        n *= shape[d];
    }
    return n;
}

/* Writes the preamble (prefix + padded dict) into out and returns its length,
 * a multiple of 64. out holds at least 256 bytes. */
static size_t npy_preamble(char *out, int ndim, const int64_t *shape) {
    char dims[128] = "";
    size_t k = 0;
    for (int d = 0; d < ndim; d++)
        k += (size_t)snprintf(dims + k, sizeof dims - k, d ? ", %lld" : "%lld",
                              (long long)shape[d]);
    if (ndim == 1) snprintf(dims + k, sizeof dims - k, ",");
    char *dict = out + NPY_PREFIX;
    int len = snprintf(dict, 200, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }",
                       dims);
    size_t total = NPY_PREFIX + (size_t)len + 1; /* + '\n' */
    size_t padded = (total + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    memset(dict + len, ' ', padded - total);
    out[padded - 1] = '\n';
    size_t hlen = padded - NPY_PREFIX;
    memcpy(out, NPY_MAGIC, 6);
    out[6] = 1;
    out[7] = 0;
    out[8] = (char)(hlen & 0xff);
    out[9] = (char)(hlen >> 8);
    return padded;
}

/* Writes n floats as little-endian bytes, a chunk at a time. Returns 0 on a
 * write error. */
static int npy_write_floats(FILE *f, const float *data, int64_t n) {
    unsigned char buf[4096];
    size_t used = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &data[i], 4);
        for (int b = 0; b < 4; b++) buf[used++] = (unsigned char)(u >> (8 * b));
        if (used == sizeof buf) {
            if (fwrite(buf, 1, used, f) != used) return 0;
            used = 0;
        }
    }
    return fwrite(buf, 1, used, f) == used;
}

AvzCode npy_write(const char *path, const float *data, int ndim, const int64_t *shape,
                  char *err) {
    if (ndim < 1 || ndim > NPY_MAX_DIM)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: npy: %d dimensions (1 to %d supported)", path,
                        ndim, NPY_MAX_DIM);
    int64_t n = npy_count(ndim, shape);
    if (n < 0) return avz_fail(err, AVZ_ERR_INPUT, "%s: npy: bad shape", path);
    char pre[256];
    size_t plen = npy_preamble(pre, ndim, shape);
    AvzAtomicFile af;
    AvzCode rc = avz_atomic_open(&af, path, err);
    if (rc) return rc;
    if (fwrite(pre, 1, plen, af.f) != plen || !npy_write_floats(af.f, data, n)) {
        int saved = errno;
        avz_atomic_abort(&af);
        return avz_fail(err, AVZ_ERR_INTERNAL, "%s: write failed: %s", path, strerror(saved));
    }
    return avz_atomic_commit(&af, err);
}

/* Moves p past spaces. */
static const char *skip_spaces(const char *p) {
    while (*p == ' ') p++;
    return p;
}

/* Finds "'key':" in the dict and returns the text after it (spaces skipped),
 * or NULL. */
static const char *dict_value(const char *dict, const char *key) {
    char pat[40];
    snprintf(pat, sizeof pat, "'%s':", key);
    const char *p = strstr(dict, pat);
    return p ? skip_spaces(p + strlen(pat)) : NULL;
}

/* Parses "(a, b, c)" or "(n,)" into shape; returns ndim, or -1 when malformed. */
static int parse_shape(const char *p, int64_t shape[NPY_MAX_DIM]) {
    if (!p || *p++ != '(') return -1;
    int nd = 0;
    for (;;) {
        p = skip_spaces(p);
        if (*p == ')') break;
        if (*p < '0' || *p > '9' || nd == NPY_MAX_DIM) return -1;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (errno) return -1;
        shape[nd++] = v;
        p = skip_spaces(end);
        if (*p == ',') p++;
        else if (*p != ')') return -1;
    }
    return nd;
}

/* Checks the header dict: '<f4', C order, a shape of 1..4 dimensions. */
static const char *npy_check_dict(const char *dict, int *ndim, int64_t shape[NPY_MAX_DIM]) {
    const char *d = dict_value(dict, "descr");
    if (!d || strncmp(d, "'<f4'", 5) != 0) return "dtype is not '<f4' (little-endian float32)";
    const char *f = dict_value(dict, "fortran_order");
    if (!f || strncmp(f, "False", 5) != 0) return "Fortran order is not supported";
    *ndim = parse_shape(dict_value(dict, "shape"), shape);
    if (*ndim < 1) return "bad or unsupported shape (1 to 4 dimensions)";
    return NULL;
}

/* Checks the preamble of buf (len bytes); on success sets *data_off, *ndim
 * and shape. Returns a message for err, or NULL when it is a file we read. */
static const char *npy_parse_header(const char *buf, size_t len, size_t *data_off, int *ndim,
                                    int64_t shape[NPY_MAX_DIM]) {
    if (len < NPY_PREFIX || memcmp(buf, NPY_MAGIC, 6) != 0) return "not a .npy file (bad magic)";
    if (buf[6] != 1 || buf[7] != 0) return "only .npy format version 1.0 is supported";
    size_t hlen = (unsigned char)buf[8] | ((size_t)(unsigned char)buf[9] << 8);
    if (NPY_PREFIX + hlen > len) return "truncated header";
    char *dict = malloc(hlen + 1);
    if (!dict) return "out of memory";
    memcpy(dict, buf + NPY_PREFIX, hlen);
    dict[hlen] = '\0';
    const char *why = npy_check_dict(dict, ndim, shape);
    free(dict);
    *data_off = NPY_PREFIX + hlen;
    return why;
}

/* Decodes n little-endian floats from bytes into a new array (NULL when out
 * of memory). */
static float *npy_decode(const unsigned char *bytes, int64_t n) {
    float *out = malloc((size_t)(n ? n : 1) * sizeof *out);
    if (!out) return NULL;
    for (int64_t i = 0; i < n; i++) {
        const unsigned char *b = bytes + 4 * i;
        uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                     (uint32_t)b[3] << 24;
        memcpy(&out[i], &u, 4);
    }
    return out;
}

AvzCode npy_read(const char *path, float **data, int *ndim, int64_t shape[NPY_MAX_DIM],
                 char *err) {
    *data = NULL;
    size_t len;
    char *buf = avz_read_file(path, &len, err);
    if (!buf) return AVZ_ERR_INPUT;
    size_t off = 0;
    const char *why = npy_parse_header(buf, len, &off, ndim, shape);
    int64_t n = why ? 0 : npy_count(*ndim, shape);
    if (!why && n < 0) why = "bad shape";
    if (!why && (uint64_t)(len - off) != (uint64_t)n * 4)
        why = "data size does not match the shape";
    if (why) {
        free(buf);
        return avz_fail(err, AVZ_ERR_INPUT, "%s: %s", path, why);
    }
    *data = npy_decode((const unsigned char *)buf + off, n);
    free(buf);
    if (!*data) return avz_fail(err, AVZ_ERR_INTERNAL, "%s: out of memory", path);
    return AVZ_OK;
}
