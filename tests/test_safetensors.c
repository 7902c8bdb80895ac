/* test_safetensors.c: the safetensors reader and writer.
 *
 * A round trip of random tensors through a real file; F16 and BF16 decoding
 * checked on known values and, for F16, on every one of the 65536 bit patterns
 * against a formula; and one test per way a file can be broken, each asserting
 * the words that make its message specific. Files are built in memory with
 * make_file (8-byte length, header text, data) and opened with
 * safetensors_open_mem, so every byte of a broken file is visible in the test. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "safetensors.h"

#define PATH "m/model.safetensors"

#define assert_has(msg, word) \
    cr_assert(strstr((msg), (word)) != NULL, "message \"%s\" lacks \"%s\"", (msg), (word))

/* A safetensors file in a malloc'd buffer: 8-byte little-endian header length,
 * the header text, then data_len bytes of data. */
static unsigned char *make_file(const char *header, const void *data, size_t data_len,
                                size_t *len) {
    size_t h = strlen(header);
    *len = 8 + h + data_len;
    unsigned char *buf = malloc(*len);
    for (int b = 0; b < 8; b++) buf[b] = (unsigned char)((uint64_t)h >> (8 * b));
    memcpy(buf + 8, header, h);
    if (data_len) memcpy(buf + 8 + h, data, data_len);
    return buf;
}

/* Opens header + data_len bytes of data (random bytes; their values do not
 * matter to the checks), expects a failure whose message holds path and both words. */
static void expect_bad(const char *header, size_t data_len, const char *w1, const char *w2) {
    unsigned char data[256];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(37 * i + 11);
    cr_assert(data_len <= sizeof data);
    size_t len;
    unsigned char *file = make_file(header, data, data_len, &len);
    SafeTensors st;
    char err[AVZ_ERR_LEN] = "";
    AvzCode rc = safetensors_open_mem(&st, file, len, PATH, err);
    free(file);
    cr_assert_eq(rc, AVZ_ERR_INPUT, "header %s was accepted", header);
    cr_assert_null(st.file, "a failed open must leave nothing to free");
    cr_assert_eq(st.n_tensors, 0);
    assert_has(err, PATH);
    assert_has(err, w1);
    if (w2) assert_has(err, w2);
}

/* Opens a file whose data holds n little-endian u16 values as one tensor of
 * dtype, and returns them as floats in out. */
static void decode_u16(const char *dtype, const uint16_t *vals, int n, float *out) {
    char header[160];
    /* the odd header length (and so an odd data start) checks unaligned reads */
    snprintf(header, sizeof header,
             "{\"x\":{\"dtype\":\"%s\",\"shape\":[%d],\"data_offsets\":[0,%d]}} ", dtype, n,
             2 * n);
    if ((strlen(header) & 1) == 0) strcat(header, " ");
    unsigned char *data = malloc((size_t)(2 * n));
    for (int i = 0; i < n; i++) {
        data[2 * i] = (unsigned char)(vals[i] & 0xff);
        data[2 * i + 1] = (unsigned char)(vals[i] >> 8);
    }
    size_t len;
    unsigned char *file = make_file(header, data, (size_t)(2 * n), &len);
    SafeTensors st;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(safetensors_open_mem(&st, file, len, PATH, err), AVZ_OK, "%s", err);
    const StTensorInfo *t = safetensors_find(&st, "x");
    cr_assert_not_null(t);
    cr_assert_eq(st_numel(t), n);
    safetensors_read_f32(&st, t, out);
    safetensors_free(&st);
    free(file);
    free(data);
}

/* ---- round trip --------------------------------------------------------- */

Test(safetensors, round_trip_random_tensors) {
    char dir[] = "/tmp/avz_st_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);

    /* shapes: matrices, a vector, 3-D and 4-D, a scalar (ndim 0), an empty tensor */
    StWriteTensor w[6] = {
        {"wte", NULL, 2, {11, 6}},   {"h.0.attn.c_attn.bias", NULL, 1, {18}},
        {"cube", NULL, 3, {2, 3, 5}}, {"h.0.mlp.c_fc.weight", NULL, 4, {1, 2, 3, 7}},
        {"scalar", NULL, 0, {0}},     {"empty", NULL, 2, {0, 4}}};
    AvzRng rng;
    avz_rng_init(&rng, 1234);
    float *bufs[6];
    for (int i = 0; i < 6; i++) {
        int64_t n = 1;
        for (int d = 0; d < w[i].ndim; d++) n *= w[i].shape[d];
        bufs[i] = malloc((size_t)(n ? n : 1) * sizeof(float));
        for (int64_t j = 0; j < n; j++) bufs[i][j] = avz_rng_normal(&rng);
        w[i].data = bufs[i];
    }
    char err[AVZ_ERR_LEN];
    cr_assert_eq(safetensors_write(path, w, 6, err), AVZ_OK, "%s", err);

    SafeTensors st;
    cr_assert_eq(safetensors_open(&st, path, err), AVZ_OK, "%s", err);
    cr_assert_eq(st.n_tensors, 6, "the __metadata__ entry must not count as a tensor");
    cr_assert_eq((st.data - st.file) % 8, 0, "header not padded to a multiple of 8");
    uint64_t offset = 0;
    for (int i = 0; i < 6; i++) {
        const StTensorInfo *t = &st.tensors[i];
        cr_assert_str_eq(t->name, w[i].name, "tensors must keep the order given");
        cr_assert_eq(t->dtype, ST_F32);
        cr_assert_eq(t->ndim, w[i].ndim);
        for (int d = 0; d < t->ndim; d++) cr_assert_eq(t->shape[d], w[i].shape[d]);
        cr_assert_eq(t->begin, offset, "tensor %s not contiguous", t->name);
        offset = t->end;
        int64_t n = st_numel(t);
        float *back = malloc((size_t)(n ? n : 1) * sizeof(float));
        safetensors_read_f32(&st, t, back);
        for (int64_t j = 0; j < n; j++)
            cr_assert_eq(back[j], bufs[i][j], "%s[%lld]: %g != %g", t->name, (long long)j,
                         back[j], bufs[i][j]);
        free(back);
    }
    cr_assert_eq(offset, st.data_len);
    cr_assert_eq(safetensors_find(&st, "cube"), &st.tensors[2]);
    cr_assert_null(safetensors_find(&st, "__metadata__"));
    cr_assert_null(safetensors_find(&st, "missing"));
    safetensors_free(&st);

    for (int i = 0; i < 6; i++) free(bufs[i]);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(rmdir(dir), 0, "the atomic write left a temp file behind");
}

Test(safetensors, write_into_missing_folder_names_it) {
    float x[2] = {0.5f, -1.25f};
    StWriteTensor w = {"x", x, 1, {2}};
    char err[AVZ_ERR_LEN];
    cr_assert_eq(safetensors_write("/tmp/avz_no_such_dir_91/m.safetensors", &w, 1, err),
                 AVZ_ERR_INPUT);
    assert_has(err, "/tmp/avz_no_such_dir_91");
}

Test(safetensors, open_missing_file_names_it) {
    SafeTensors st;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(safetensors_open(&st, "/tmp/avz_no_such_file_73.safetensors", err),
                 AVZ_ERR_INPUT);
    assert_has(err, "avz_no_such_file_73.safetensors");
}

/* ---- half-precision conversion ----------------------------------------- */

Test(safetensors, f16_known_values) {
    const uint16_t h[] = {0x3c00, 0xc100, 0x7bff, 0x0001, 0x03ff, 0x0400,
                          0x7c00, 0xfc00, 0x8000, 0x3555};
    const float want[] = {1.0f, -2.5f, 65504.0f, 5.9604644775390625e-8f,
                          6.0975551605224609e-5f, 6.103515625e-5f, INFINITY, -INFINITY,
                          -0.0f, 0.333251953125f};
    int n = (int)(sizeof h / sizeof h[0]);
    float got[16];
    decode_u16("F16", h, n, got);
    for (int i = 0; i < n; i++)
        cr_assert_eq(got[i], want[i], "half 0x%04x -> %.10g, want %.10g", h[i], got[i], want[i]);
    cr_assert(signbit(got[8]), "0x8000 is negative zero");
    const uint16_t nan_bits[] = {0x7e00, 0xfd01};
    decode_u16("F16", nan_bits, 2, got);
    cr_assert(isnan(got[0]) && isnan(got[1]), "exponent 31 with a mantissa is NaN");
}

Test(safetensors, f16_every_bit_pattern_matches_formula) {
    /* value = (-1)^s * 2^(e-15) * (1 + m/1024) for normal halves, and
     * (-1)^s * 2^-14 * (m/1024) for subnormals: computed here with ldexp. */
    static uint16_t all[65536];
    static float got[65536];
    for (int i = 0; i < 65536; i++) all[i] = (uint16_t)i;
    decode_u16("F16", all, 65536, got);
    for (int i = 0; i < 65536; i++) {
        int s = i >> 15, e = (i >> 10) & 31, m = i & 1023;
        if (e == 31) {
            cr_assert(m ? isnan(got[i]) : isinf(got[i]), "0x%04x", i);
            continue;
        }
        double mag = e ? ldexp(1.0 + m / 1024.0, e - 15) : ldexp(m / 1024.0, -14);
        double want = s ? -mag : mag;
        cr_assert_eq((double)got[i], want, "half 0x%04x -> %.10g, want %.10g", i, got[i], want);
    }
}

Test(safetensors, bf16_known_values) {
    const uint16_t b[] = {0x3f80, 0xc020, 0x4049, 0x7f80, 0xff80, 0x0001, 0x477f};
    const float want[] = {1.0f, -2.5f, 3.140625f, INFINITY, -INFINITY,
                          9.18354961579912115600575419705e-41f, 65280.0f};
    int n = (int)(sizeof b / sizeof b[0]);
    float got[8];
    decode_u16("BF16", b, n, got);
    for (int i = 0; i < n; i++)
        cr_assert_eq(got[i], want[i], "bf16 0x%04x -> %.10g, want %.10g", b[i], got[i], want[i]);
}

/* ---- valid files the reader must accept ------------------------------- */

Test(safetensors, accepts_metadata_touching_and_empty_tensors) {
    /* a touches b at byte 8; e is empty and sits inside a; metadata is skipped */
    const char *hdr =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[8,16]},"
        "\"e\":{\"dtype\":\"F16\",\"shape\":[3,0],\"data_offsets\":[4,4]}}   ";
    unsigned char data[16];
    for (int i = 0; i < 16; i++) data[i] = (unsigned char)(i * 29 + 3);
    size_t len;
    unsigned char *file = make_file(hdr, data, sizeof data, &len);
    SafeTensors st;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(safetensors_open_mem(&st, file, len, PATH, err), AVZ_OK, "%s", err);
    free(file);
    cr_assert_eq(st.n_tensors, 3);
    cr_assert_eq(st.data_len, 16);
    const StTensorInfo *b = safetensors_find(&st, "b");
    cr_assert_eq(b->dtype, ST_BF16);
    cr_assert_eq(st_numel(b), 4);
    cr_assert_eq(st_numel(safetensors_find(&st, "e")), 0);
    float a[2];
    safetensors_read_f32(&st, safetensors_find(&st, "a"), a);
    float want;
    memcpy(&want, data, 4); /* this test assumes a little-endian host, as x86 and ARM are */
    cr_assert_eq(a[0], want);
    safetensors_free(&st);
}

/* ---- broken files: one message each ----------------------------------- */

#define T_OK "{\"t\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}"

Test(safetensors, file_shorter_than_8_bytes) {
    SafeTensors st;
    char err[AVZ_ERR_LEN];
    const unsigned char five[5] = {1, 0, 0, 0, 0};
    cr_assert_eq(safetensors_open_mem(&st, five, 5, PATH, err), AVZ_ERR_INPUT);
    assert_has(err, "only 5 bytes");
    assert_has(err, "too short");
    cr_assert_eq(safetensors_open_mem(&st, five, 0, PATH, err), AVZ_ERR_INPUT);
    assert_has(err, "only 0 bytes");
}

Test(safetensors, data_cut_short) {
    /* a valid header, but only 9 of the 16 data bytes made it to disk */
    expect_bad(T_OK, 9, "data_offsets [0, 16] outside the data section (9 bytes)", "'t'");
}

Test(safetensors, header_length_past_end) {
    unsigned char file[20] = {0};
    file[0] = 0xe8; /* 1000 */
    file[1] = 0x03;
    SafeTensors st;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(safetensors_open_mem(&st, file, sizeof file, PATH, err), AVZ_ERR_INPUT);
    assert_has(err, "header length 1000 runs past the end of the file (20 bytes");
}

Test(safetensors, header_length_zero_and_huge) {
    unsigned char file[16] = {0};
    SafeTensors st;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(safetensors_open_mem(&st, file, sizeof file, PATH, err), AVZ_ERR_INPUT);
    assert_has(err, "header length is 0");
    file[5] = 1; /* 2^40 */
    cr_assert_eq(safetensors_open_mem(&st, file, sizeof file, PATH, err), AVZ_ERR_INPUT);
    assert_has(err, "100 MB");
}

Test(safetensors, invalid_json) {
    expect_bad("{\"t\": {\"dtype\": \"F32\", ", 0, "not valid JSON", NULL);
}

Test(safetensors, header_not_an_object) {
    expect_bad("[1, 2, 3]", 0, "not a JSON object", NULL);
}

Test(safetensors, bytes_after_json) {
    expect_bad(T_OK " x", 16, "unexpected bytes after the JSON header", NULL);
}

Test(safetensors, entry_not_an_object) {
    expect_bad("{\"t\": [1, 2]}", 0, "tensor 't': entry must be an object", NULL);
}

Test(safetensors, missing_dtype) {
    expect_bad("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'w': missing dtype",
               NULL);
}

Test(safetensors, unsupported_dtype) {
    expect_bad("{\"x\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16,
               "unsupported dtype 'F64' for tensor 'x'", "F32, F16 and BF16");
    expect_bad("{\"x\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
               "unsupported dtype 'I32'", NULL);
    expect_bad("{\"x\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
               "unknown dtype 'Q4' for tensor 'x'", NULL);
}

Test(safetensors, shape_does_not_match_offsets) {
    expect_bad("{\"h.0.attn.c_attn.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],"
               "\"data_offsets\":[0,20]}}", 20,
               "tensor 'h.0.attn.c_attn.weight': shape [2, 3] in F32 needs 24 bytes",
               "hold 20");
    /* the same bytes read as F16 need half as many */
    expect_bad("{\"x\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24,
               "needs 12 bytes", NULL);
}

Test(safetensors, offsets_out_of_range) {
    expect_bad("{\"h.0.attn.c_attn.weight\":{\"dtype\":\"F32\",\"shape\":[10],"
               "\"data_offsets\":[10,20]}}", 12,
               "tensor 'h.0.attn.c_attn.weight': data_offsets [10, 20] outside the data "
               "section (12 bytes)", NULL);
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 12,
               "data_offsets [8, 4] begin after end", NULL);
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 12,
               "data_offsets must be [begin, end]", NULL);
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 12,
               "data_offsets must be [begin, end]", NULL);
}

Test(safetensors, overlapping_tensors) {
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[24,40]},"
               "\"c\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 40,
               "tensors 'a' [0, 16] and 'c' [8, 24] overlap", NULL);
}

Test(safetensors, negative_or_fractional_shape) {
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,8]}}", 8,
               "tensor 'x': shape[1] must be a non-negative integer (got -1)", NULL);
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8,
               "shape[0] must be a non-negative integer (got 2.5)", NULL);
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", 8,
               "tensor 'x': shape must be an array", NULL);
}

Test(safetensors, too_many_dims_and_overflowing_shape) {
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,2],\"data_offsets\":[0,8]}}", 8,
               "shape has 5 dimensions, at most 4", NULL);
    /* 2^40 * 2^40 elements: the product must be caught before it wraps around */
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],"
               "\"data_offsets\":[0,8]}}", 8, "is too large", NULL);
}

Test(safetensors, duplicate_and_overlong_names) {
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
               "tensor 'a' appears twice", NULL);
    char hdr[512];
    char name[200];
    memset(name, 'n', 150);
    name[150] = '\0';
    snprintf(hdr, sizeof hdr, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
             name);
    expect_bad(hdr, 4, "is longer than 127 bytes", NULL);
}
