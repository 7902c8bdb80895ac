/* safetensors.h: reading and writing the safetensors format (Hugging Face).
 *
 * File layout: an 8-byte little-endian header length N, then N bytes of JSON
 * mapping each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
 * (offsets relative to the byte after the header), an optional "__metadata__"
 * object, then the raw little-endian tensor data.
 *
 * The reader validates everything a hostile or broken file could get wrong: a
 * header length past the end of the file or absurdly large, invalid JSON, an
 * unknown dtype, a shape whose byte size does not match its offsets, offsets
 * outside the data section, overlapping tensors. Every message names the file and
 * the tensor. F32 is used as is; F16 and BF16 are converted to float32 on request. */
#ifndef AVZ_SAFETENSORS_H
#define AVZ_SAFETENSORS_H

#include "common.h"

typedef enum { ST_F32 = 0, ST_F16, ST_BF16 } StDtype;

#define ST_MAX_DIMS 4
#define ST_MAX_NAME 128

typedef struct {
    char name[ST_MAX_NAME];
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    uint64_t begin, end;      /* byte offsets within the data section */
} StTensorInfo;

typedef struct {
    char path[4096];
    unsigned char *file;      /* the whole file, owned */
    size_t file_len;
    const unsigned char *data;/* start of the data section (inside file) */
    size_t data_len;
    int n_tensors;
    StTensorInfo *tensors;    /* (n_tensors), owned */
} SafeTensors;

/* Reads and validates path. On success the caller owns st and frees it with
 * safetensors_free. On failure returns AVZ_ERR_INPUT (bad file) with err naming
 * path and the offending tensor, and st holds nothing to free. */
AvzCode safetensors_open(SafeTensors *st, const char *path, char *err);

/* Same, from bytes already in memory (copied); path is used only in messages. */
AvzCode safetensors_open_mem(SafeTensors *st, const void *bytes, size_t len,
                             const char *path, char *err);

void safetensors_free(SafeTensors *st);

/* The tensor called name, or NULL. */
const StTensorInfo *safetensors_find(const SafeTensors *st, const char *name);

/* Number of elements of a tensor (product of its shape). */
int64_t st_numel(const StTensorInfo *t);

/* Converts tensor t to float32 into out (st_numel(t) floats). */
void safetensors_read_f32(const SafeTensors *st, const StTensorInfo *t, float *out);

/* One tensor to write: float32 data with its shape. */
typedef struct {
    const char *name;
    const float *data;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
} StWriteTensor;

/* Writes n tensors as F32 to path atomically (temp file then rename). The header
 * is padded with spaces to a multiple of 8 bytes, as the format recommends. */
AvzCode safetensors_write(const char *path, const StWriteTensor *tensors, int n, char *err);

#endif
