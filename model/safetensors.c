/* safetensors.c: the reader and writer for model.safetensors.
 *
 * A safetensors file is three parts:
 *
 *   [8 bytes: N, little-endian u64] [N bytes: JSON header] [data section]
 *
 * The header maps each tensor name to its dtype, shape and [begin, end) byte
 * range inside the data section. The reader trusts nothing: the file may be
 * truncated, hand-edited or hostile, so every length and offset is checked with
 * 64-bit arithmetic before any byte is read through it, and every message names
 * the file and the tensor. The file is memory-mapped (read-only, private), so its
 * bytes are read from disk only when a tensor is converted; safetensors_read_f32
 * converts a tensor to float32 on request, F16 and BF16 by hand (see f16_to_f32 for
 * how a half-precision float is built), and safetensors_release drops its pages. */
#define _DEFAULT_SOURCE   /* madvise */
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

/* A header larger than this is not a model we could run anyway; the limit keeps
 * a corrupt length from asking for gigabytes before anything is checked. */
#define ST_MAX_HEADER (100ull * 1024 * 1024)
/* Integers above 2^53 cannot be told apart as JSON doubles: reject them. */
#define ST_MAX_JSON_INT 9007199254740992.0

/* ---- little-endian bytes ------------------------------------------------- */

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint64_t le64(const unsigned char *p) {
    return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

static float f32_from_bits(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* ---- half precision -> float32 -------------------------------------------- */

/* IEEE 754 half: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
 *   exponent 1..30: normal, value = 1.mantissa * 2^(exponent - 15)
 *   exponent 0:     subnormal, value = 0.mantissa * 2^-14 = mantissa * 2^-24
 *   exponent 31:    infinity (mantissa 0) or NaN (mantissa != 0)
 * A normal half becomes a normal float by re-biasing the exponent (127 - 15 =
 * 112) and shifting the mantissa into the top of float's 23 bits. */
static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exponent = (h >> 10) & 0x1f;
    uint32_t mantissa = h & 0x3ff;
    if (exponent == 0) {
        /* mantissa * 2^-24 is exact in float32: an integer below 2^10 times a power of 2 */
        float mag = (float)mantissa * (1.0f / 16777216.0f);
        return sign ? -mag : mag;
    }
    if (exponent == 31) /* all-ones exponent in float too; the NaN payload is kept */
        return f32_from_bits(sign | 0x7f800000u | (mantissa << 13));
    return f32_from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

/* bfloat16 is the top half of a float32 (same 8-bit exponent), so widening it is
 * a shift: the lost 16 mantissa bits come back as zeros. */
static float bf16_to_f32(uint16_t b) { return f32_from_bits((uint32_t)b << 16); }

/* ---- dtypes --------------------------------------------------------------- */

static const struct {
    const char *name;
    StDtype dtype;
    int size;
} SUPPORTED[] = {{"F32", ST_F32, 4}, {"F16", ST_F16, 2}, {"BF16", ST_BF16, 2}};

/* dtypes the format defines that attnviz does not convert (an honest message beats
 * "unknown dtype" for a valid file), with their sizes: safetensors_open_any lists them
 * (a model's buffers may be U8 or BOOL). Sub-byte ones cannot be sized: 0. */
static const struct {
    const char *name;
    int size;
} KNOWN_UNSUPPORTED[] = {
    {"F64", 8}, {"I64", 8}, {"U64", 8}, {"I32", 4}, {"U32", 4}, {"I16", 2}, {"U16", 2},
    {"I8", 1}, {"U8", 1}, {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"F8_E8M0", 1},
    {"F6_E2M3", 0}, {"F6_E3M2", 0}, {"F4", 0}, {"C64", 8}};

static AvzCode parse_dtype(const cJSON *entry, StTensorInfo *t, int any, const char *path,
                           char *err) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    if (!d)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: tensor '%s': missing dtype", path, t->name);
    if (!cJSON_IsString(d))
        return avz_fail(err, AVZ_ERR_INPUT, "%s: tensor '%s': dtype must be a string", path,
                        t->name);
    for (size_t i = 0; i < sizeof SUPPORTED / sizeof SUPPORTED[0]; i++)
        if (strcmp(d->valuestring, SUPPORTED[i].name) == 0) {
            t->dtype = SUPPORTED[i].dtype;
            t->esize = SUPPORTED[i].size;
            snprintf(t->dtype_name, sizeof t->dtype_name, "%s", SUPPORTED[i].name);
            return AVZ_OK;
        }
    for (size_t i = 0; i < sizeof KNOWN_UNSUPPORTED / sizeof KNOWN_UNSUPPORTED[0]; i++)
        if (strcmp(d->valuestring, KNOWN_UNSUPPORTED[i].name) == 0) {
            if (any && KNOWN_UNSUPPORTED[i].size > 0) {
                t->dtype = ST_OTHER;
                t->esize = KNOWN_UNSUPPORTED[i].size;
                snprintf(t->dtype_name, sizeof t->dtype_name, "%s", KNOWN_UNSUPPORTED[i].name);
                return AVZ_OK;
            }
            return avz_fail(err, AVZ_ERR_INPUT,
                            "%s: unsupported dtype '%s' for tensor '%s' (attnviz reads F32, "
                            "F16 and BF16)", path, d->valuestring, t->name);
        }
    return avz_fail(err, AVZ_ERR_INPUT, "%s: unknown dtype '%.32s' for tensor '%s'", path,
                    d->valuestring, t->name);
}

/* ---- shapes and offsets --------------------------------------------------- */

/* A JSON number that is a whole number in [0, 2^53], into *out; 0 if it is not. */
static int json_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (d < 0 || d > ST_MAX_JSON_INT || d != floor(d)) return 0;
    *out = (uint64_t)d;
    return 1;
}

/* "[2, 3, 4]" for messages. */
static void shape_str(const StTensorInfo *t, char *buf, size_t len) {
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < t->ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%" PRId64, i ? ", " : "", t->shape[i]);
    if (used < len) snprintf(buf + used, len - used, "]");
}

static AvzCode parse_shape(const cJSON *entry, StTensorInfo *t, const char *path, char *err) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    if (!s)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: tensor '%s': missing shape", path, t->name);
    if (!cJSON_IsArray(s))
        return avz_fail(err, AVZ_ERR_INPUT, "%s: tensor '%s': shape must be an array", path,
                        t->name);
    int ndim = cJSON_GetArraySize(s);
    if (ndim > ST_MAX_DIMS)
        return avz_fail(err, AVZ_ERR_INPUT,
                        "%s: tensor '%s': shape has %d dimensions, at most %d are supported",
                        path, t->name, ndim, ST_MAX_DIMS);
    t->ndim = ndim;
    int i = 0;
    const cJSON *dim;
    cJSON_ArrayForEach(dim, s) {
        uint64_t d;
        if (!json_uint(dim, &d)) {
            char got[32] = "a non-number";
            if (cJSON_IsNumber(dim)) snprintf(got, sizeof got, "%.15g", dim->valuedouble);
            return avz_fail(err, AVZ_ERR_INPUT,
                            "%s: tensor '%s': shape[%d] must be a non-negative integer (got %s)",
                            path, t->name, i, got);
        }
        t->shape[i++] = (int64_t)d;
    }
    return AVZ_OK;
}

/* The byte size of t, or -1 when shape x dtype does not fit 63 bits. */
static int64_t tensor_bytes(const StTensorInfo *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        int64_t d = t->shape[i];
        if (d != 0 && n > INT64_MAX / d) return -1;
        n *= d;
    }
    int64_t size = t->esize;
    return n > INT64_MAX / size ? -1 : n * size;
}

static AvzCode parse_offsets(const cJSON *entry, StTensorInfo *t, size_t data_len,
                             const char *path, char *err) {
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    if (!o)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: tensor '%s': missing data_offsets", path,
                        t->name);
    uint64_t b, e;
    if (!cJSON_IsArray(o) || cJSON_GetArraySize(o) != 2 || !json_uint(o->child, &b) ||
        !json_uint(o->child->next, &e))
        return avz_fail(err, AVZ_ERR_INPUT,
                        "%s: tensor '%s': data_offsets must be [begin, end], two non-negative "
                        "integers", path, t->name);
    if (b > e)
        return avz_fail(err, AVZ_ERR_INPUT,
                        "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] begin after end",
                        path, t->name, b, e);
    if (e > data_len)
        return avz_fail(err, AVZ_ERR_INPUT,
                        "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] outside the "
                        "data section (%zu bytes)", path, t->name, b, e, data_len);
    t->begin = b;
    t->end = e;
    int64_t bytes = tensor_bytes(t);
    if (bytes < 0 || (uint64_t)bytes != e - b) {
        char shape[96];
        shape_str(t, shape, sizeof shape);
        if (bytes < 0)
            return avz_fail(err, AVZ_ERR_INPUT, "%s: tensor '%s': shape %s is too large", path,
                            t->name, shape);
        return avz_fail(err, AVZ_ERR_INPUT,
                        "%s: tensor '%s': shape %s in %s needs %" PRId64 " bytes but "
                        "data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64, path, t->name,
                        shape, t->dtype_name, bytes, b, e, e - b);
    }
    return AVZ_OK;
}

static AvzCode parse_entry(const cJSON *entry, StTensorInfo *t, size_t data_len, int any,
                           const char *path, char *err) {
    if (strlen(entry->string) >= ST_MAX_NAME)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: tensor name '%.40s...' is longer than %d bytes",
                        path, entry->string, ST_MAX_NAME - 1);
    snprintf(t->name, sizeof t->name, "%s", entry->string);
    if (!cJSON_IsObject(entry))
        return avz_fail(err, AVZ_ERR_INPUT, "%s: tensor '%s': entry must be an object "
                        "{dtype, shape, data_offsets}", path, t->name);
    AvzCode rc;
    if ((rc = parse_dtype(entry, t, any, path, err))) return rc;
    if ((rc = parse_shape(entry, t, path, err))) return rc;
    return parse_offsets(entry, t, data_len, path, err);
}

/* ---- whole-file checks ---------------------------------------------------- */

static int cmp_by_begin(const void *a, const void *b) {
    const StTensorInfo *x = *(const StTensorInfo *const *)a, *y = *(const StTensorInfo *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int cmp_by_name(const void *a, const void *b) {
    const StTensorInfo *x = *(const StTensorInfo *const *)a, *y = *(const StTensorInfo *const *)b;
    return strcmp(x->name, y->name);
}

/* No two tensors may share a byte, and no name may appear twice. Sorting makes
 * both checks a single pass over neighbours instead of comparing every pair. */
static AvzCode check_layout(const SafeTensors *st, const char *path, char *err) {
    int n = st->n_tensors;
    const StTensorInfo **order = avz_xmalloc((size_t)(n ? n : 1) * sizeof *order);
    for (int i = 0; i < n; i++) order[i] = &st->tensors[i];
    AvzCode rc = AVZ_OK;

    qsort(order, (size_t)n, sizeof *order, cmp_by_name);
    for (int i = 1; i < n && !rc; i++)
        if (strcmp(order[i - 1]->name, order[i]->name) == 0)
            rc = avz_fail(err, AVZ_ERR_INPUT, "%s: tensor '%s' appears twice in the header",
                          path, order[i]->name);

    qsort(order, (size_t)n, sizeof *order, cmp_by_begin);
    const StTensorInfo *reach = NULL; /* the tensor that ends furthest so far */
    for (int i = 0; i < n && !rc; i++) {
        const StTensorInfo *t = order[i];
        if (reach && t->end > t->begin && t->begin < reach->end)
            rc = avz_fail(err, AVZ_ERR_INPUT,
                          "%s: tensors '%s' [%" PRIu64 ", %" PRIu64 "] and '%s' [%" PRIu64
                          ", %" PRIu64 "] overlap in the data section", path, reach->name,
                          reach->begin, reach->end, t->name, t->begin, t->end);
        if (!reach || t->end > reach->end) reach = t;
    }
    free(order);
    return rc;
}

/* Reads the 8-byte length and checks that the header fits the file. */
static AvzCode check_prefix(size_t len, const unsigned char *file, uint64_t *hlen,
                            const char *path, char *err) {
    if (len < 8)
        return avz_fail(err, AVZ_ERR_INPUT,
                        "%s: file is only %zu bytes, too short for safetensors (it starts with "
                        "an 8-byte header length)", path, len);
    *hlen = le64(file);
    if (*hlen == 0)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: header length is 0 (no JSON header)", path);
    if (*hlen > ST_MAX_HEADER)
        return avz_fail(err, AVZ_ERR_INPUT,
                        "%s: header length %" PRIu64 " is over the 100 MB limit (not a "
                        "safetensors file?)", path, *hlen);
    if (*hlen > len - 8)
        return avz_fail(err, AVZ_ERR_INPUT,
                        "%s: header length %" PRIu64 " runs past the end of the file (%zu bytes; "
                        "truncated?)", path, *hlen, len);
    return AVZ_OK;
}

/* Parses the header bytes into a JSON object; only spaces may follow the JSON. */
static AvzCode parse_header(const unsigned char *bytes, size_t hlen, cJSON **root,
                            const char *path, char *err) {
    /* a NUL-terminated copy, so that the JSON parser can never run past the header */
    char *text = avz_xmalloc(hlen + 1);
    memcpy(text, bytes, hlen);
    text[hlen] = '\0';
    const char *end = NULL;
    *root = cJSON_ParseWithOpts(text, &end, 0);
    size_t stop = end ? (size_t)(end - text) : 0;
    AvzCode rc = AVZ_OK;
    if (!*root) {
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: header is not valid JSON (error near byte %zu)",
                      path, 8 + stop);
    } else if (!cJSON_IsObject(*root)) {
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: header is not a JSON object", path);
    } else {
        for (size_t i = stop; i < hlen && !rc; i++)
            if (!strchr(" \t\r\n", text[i]) || text[i] == '\0')
                rc = avz_fail(err, AVZ_ERR_INPUT,
                              "%s: unexpected bytes after the JSON header (at byte %zu)", path,
                              8 + i);
    }
    free(text);
    if (rc) {
        cJSON_Delete(*root);
        *root = NULL;
    }
    return rc;
}

/* Fills st->tensors from the header object (every key but __metadata__). */
static AvzCode read_entries(SafeTensors *st, const cJSON *root, int any, const char *path,
                            char *err) {
    int n = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, root) if (strcmp(item->string, "__metadata__") != 0) n++;
    st->tensors = avz_xcalloc((size_t)(n ? n : 1), sizeof *st->tensors);
    cJSON_ArrayForEach(item, root) {
        if (strcmp(item->string, "__metadata__") == 0) continue;
        AvzCode rc = parse_entry(item, &st->tensors[st->n_tensors], st->data_len, any, path, err);
        if (rc) return rc;
        st->n_tensors++;
    }
    return AVZ_OK;
}

/* Takes ownership of file (len bytes; a mapping when mapped) and validates it into st.
 * On failure file is freed (unmapped) and st is left empty. */
static AvzCode st_parse(SafeTensors *st, unsigned char *file, size_t len, int mapped, int any,
                        const char *path, char *err) {
    memset(st, 0, sizeof *st);
    snprintf(st->path, sizeof st->path, "%s", path);
    st->file = file;
    st->file_len = len;
    st->mapped = mapped;
    uint64_t hlen = 0;
    cJSON *root = NULL;
    AvzCode rc = check_prefix(len, file, &hlen, path, err);
    if (!rc) rc = parse_header(file + 8, (size_t)hlen, &root, path, err);
    if (!rc) {
        st->data = file + 8 + hlen;
        st->data_len = len - 8 - (size_t)hlen;
        rc = read_entries(st, root, any, path, err);
    }
    if (!rc) rc = check_layout(st, path, err);
    cJSON_Delete(root);
    if (rc) safetensors_free(st);
    return rc;
}

/* ---- public reader API ---------------------------------------------------- */

/* Maps path read-only after checking that it is a regular file (stat first: opening
 * a FIFO would wait for a writer). A file shorter than the 8-byte length is reported
 * by check_prefix like any other short file. */
static AvzCode st_open_file(SafeTensors *st, const char *path, int any, char *err) {
    memset(st, 0, sizeof *st);
    size_t len = 0;
    AvzCode rc = avz_stat_regular(path, &len, err);
    if (rc) return rc;
    if (len < 8) {
        unsigned char small[8] = {0};
        uint64_t hlen;
        return check_prefix(len, small, &hlen, path, err);
    }
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) return avz_fail(err, AVZ_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (size_t)sb.st_size != len) {
        close(fd);   /* replaced between stat and open */
        return avz_fail(err, AVZ_ERR_INPUT, "%s: changed while it was being opened", path);
    }
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd);       /* the mapping keeps the file open */
    if (map == MAP_FAILED)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: cannot map %zu bytes: %s", path, len,
                        strerror(saved));
    return st_parse(st, map, len, 1, any, path, err);
}

AvzCode safetensors_open(SafeTensors *st, const char *path, char *err) {
    return st_open_file(st, path, 0, err);
}

AvzCode safetensors_open_any(SafeTensors *st, const char *path, char *err) {
    return st_open_file(st, path, 1, err);
}

AvzCode safetensors_open_mem(SafeTensors *st, const void *bytes, size_t len, const char *path,
                             char *err) {
    unsigned char *copy = avz_xmalloc(len);
    if (len) memcpy(copy, bytes, len);
    return st_parse(st, copy, len, 0, 0, path, err);
}

void safetensors_free(SafeTensors *st) {
    if (st->mapped) munmap(st->file, st->file_len);
    else free(st->file);
    free(st->tensors);
    memset(st, 0, sizeof *st);
}

const StTensorInfo *safetensors_find(const SafeTensors *st, const char *name) {
    for (int i = 0; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

int64_t st_numel(const StTensorInfo *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

/* n elements of dtype d at src (unaligned bytes) to float32, out[i * stride]. */
static void convert(StDtype d, const unsigned char *src, size_t n, float *out, size_t stride) {
    switch (d) {
    case ST_F32:
        if (stride == 1 && host_is_little_endian()) {
            if (n) memcpy(out, src, n * 4);   /* the data section may be unaligned: copy bytes */
        } else {
            for (size_t i = 0; i < n; i++) out[i * stride] = f32_from_bits(le32(src + 4 * i));
        }
        break;
    case ST_F16:
        for (size_t i = 0; i < n; i++) out[i * stride] = f16_to_f32(le16(src + 2 * i));
        break;
    case ST_BF16:
        for (size_t i = 0; i < n; i++) out[i * stride] = bf16_to_f32(le16(src + 2 * i));
        break;
    case ST_OTHER:
        AVZ_ASSERT(!"safetensors: no float32 conversion for this dtype");
    }
}

void safetensors_read_f32(const SafeTensors *st, const StTensorInfo *t, float *out) {
    AVZ_ASSERT(t->end <= st->data_len && t->begin <= t->end && t->dtype != ST_OTHER);
    convert(t->dtype, st->data + t->begin, (size_t)st_numel(t), out, 1);
}

void safetensors_read_f32_2d(const SafeTensors *st, const StTensorInfo *t, float *out,
                             size_t ldo, int transposed) {
    AVZ_ASSERT(t->end <= st->data_len && t->begin <= t->end && t->dtype != ST_OTHER);
    AVZ_ASSERT(t->ndim == 2);
    size_t R = (size_t)t->shape[0], K = (size_t)t->shape[1], es = (size_t)t->esize;
    const unsigned char *src = st->data + t->begin;
    if (!transposed) {
        for (size_t r = 0; r < R; r++) convert(t->dtype, src + r * K * es, K, out + r * ldo, 1);
        return;
    }
    /* blocks of 32 rows: each row's run of 32 columns is read contiguously, and the 32
     * output rows they land in stay in the cache while the block is written */
    for (size_t r0 = 0; r0 < R; r0 += 32) {
        size_t nr = R - r0 < 32 ? R - r0 : 32;
        for (size_t k0 = 0; k0 < K; k0 += 32) {
            size_t nk = K - k0 < 32 ? K - k0 : 32;
            for (size_t r = r0; r < r0 + nr; r++)
                convert(t->dtype, src + (r * K + k0) * es, nk, out + k0 * ldo + r, ldo);
        }
    }
}

void safetensors_release(const SafeTensors *st, const StTensorInfo *t) {
    if (!st->mapped || t->end <= t->begin) return;
    /* the whole pages the tensor touches (a page shared with a neighbour is read again
     * if the neighbour is needed later: the mapping is read-only, nothing is lost) */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)(st->data + t->begin), hi = (uintptr_t)(st->data + t->end);
    lo = lo / page * page;
    hi = (hi + page - 1) / page * page;
    uintptr_t base = (uintptr_t)st->file, top = base + (st->file_len + page - 1) / page * page;
    if (lo < base) lo = base;
    if (hi > top) hi = top;
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* ---- writer --------------------------------------------------------------- */

/* The writer's inputs come from the program, not the user, so a bad one is a bug
 * (AVZ_ERR_INTERNAL) - but still reported rather than written into a file. */
static AvzCode check_write_tensor(const StWriteTensor *t, const char *path, char *err) {
    if (!t->name || !t->name[0] || strlen(t->name) >= ST_MAX_NAME ||
        strcmp(t->name, "__metadata__") == 0)
        return avz_fail(err, AVZ_ERR_INTERNAL, "%s: bad tensor name '%.40s'", path,
                        t->name ? t->name : "(null)");
    if (t->ndim < 0 || t->ndim > ST_MAX_DIMS)
        return avz_fail(err, AVZ_ERR_INTERNAL, "%s: tensor '%s': %d dimensions", path, t->name,
                        t->ndim);
    StTensorInfo info = {.dtype = ST_F32, .esize = 4, .ndim = t->ndim};
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0)
            return avz_fail(err, AVZ_ERR_INTERNAL, "%s: tensor '%s': negative shape", path,
                            t->name);
        info.shape[i] = t->shape[i];
    }
    int64_t bytes = tensor_bytes(&info);
    if (bytes < 0 || bytes > (int64_t)1e15)
        return avz_fail(err, AVZ_ERR_INTERNAL, "%s: tensor '%s' is too large", path, t->name);
    if (bytes > 0 && !t->data)
        return avz_fail(err, AVZ_ERR_INTERNAL, "%s: tensor '%s' has no data", path, t->name);
    return AVZ_OK;
}

static uint64_t write_tensor_bytes(const StWriteTensor *t) {
    StTensorInfo info = {.dtype = ST_F32, .esize = 4, .ndim = t->ndim};
    memcpy(info.shape, t->shape, sizeof info.shape);
    return (uint64_t)tensor_bytes(&info);
}

/* The header JSON: {"__metadata__": {"format": "pt"}, name: {...}, ...}.
 * Hugging Face transformers refuses a file without the "format" entry. Returns a
 * malloc'd string, or NULL if out of memory or past the 1e15-byte limit. */
static char *build_header(const StWriteTensor *tensors, int n) {
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    int ok = root && meta && cJSON_AddStringToObject(meta, "format", "pt");
    uint64_t offset = 0;
    for (int i = 0; i < n && ok; i++) {
        uint64_t end = offset + write_tensor_bytes(&tensors[i]);
        double shape[ST_MAX_DIMS], offsets[2] = {(double)offset, (double)end};
        for (int d = 0; d < tensors[i].ndim; d++) shape[d] = (double)tensors[i].shape[d];
        cJSON *entry = cJSON_AddObjectToObject(root, tensors[i].name);
        ok = entry && cJSON_AddStringToObject(entry, "dtype", "F32");
        /* cJSON prints whole numbers below 1e15 exactly */
        cJSON *s = ok ? cJSON_CreateDoubleArray(shape, tensors[i].ndim) : NULL;
        ok = s && cJSON_AddItemToObject(entry, "shape", s);
        cJSON *o = ok ? cJSON_CreateDoubleArray(offsets, 2) : NULL;
        ok = o && cJSON_AddItemToObject(entry, "data_offsets", o);
        ok = ok && end < (uint64_t)1e15;
        offset = end;
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

/* Writes n floats little-endian; returns 0 on a failed write. */
static int write_f32_le(FILE *f, const float *x, size_t n) {
    if (host_is_little_endian()) return fwrite(x, sizeof(float), n, f) == n;
    unsigned char buf[4096];
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < sizeof buf / 4 && i < n; k++, i++) {
            uint32_t bits;
            memcpy(&bits, &x[i], 4);
            for (int b = 0; b < 4; b++) buf[4 * k + b] = (unsigned char)(bits >> (8 * b));
        }
        if (fwrite(buf, 4, k, f) != k) return 0;
    }
    return 1;
}

AvzCode safetensors_write(const char *path, const StWriteTensor *tensors, int n, char *err) {
    for (int i = 0; i < n; i++) {
        AvzCode rc = check_write_tensor(&tensors[i], path, err);
        if (rc) return rc;
        for (int j = 0; j < i; j++)
            if (strcmp(tensors[i].name, tensors[j].name) == 0)
                return avz_fail(err, AVZ_ERR_INTERNAL, "%s: tensor '%s' given twice", path,
                                tensors[i].name);
    }
    char *header = build_header(tensors, n);
    if (!header) return avz_fail(err, AVZ_ERR_INTERNAL, "%s: cannot build the header", path);
    /* pad with spaces so that the data section starts 8-byte aligned */
    size_t len = strlen(header), padded = (len + 7) / 8 * 8;
    unsigned char prefix[8];
    for (int b = 0; b < 8; b++) prefix[b] = (unsigned char)((uint64_t)padded >> (8 * b));

    AvzAtomicFile af;
    AvzCode rc = avz_atomic_open(&af, path, err);
    if (rc) {
        cJSON_free(header);
        return rc;
    }
    int ok = fwrite(prefix, 1, 8, af.f) == 8 && fwrite(header, 1, len, af.f) == len;
    for (size_t i = len; i < padded && ok; i++) ok = fputc(' ', af.f) != EOF;
    for (int i = 0; i < n && ok; i++)
        ok = write_f32_le(af.f, tensors[i].data, write_tensor_bytes(&tensors[i]) / 4);
    cJSON_free(header);
    if (!ok) {
        avz_atomic_abort(&af);
        return avz_fail(err, AVZ_ERR_INTERNAL, "%s: write failed (disk full?)", path);
    }
    return avz_atomic_commit(&af, err);
}
