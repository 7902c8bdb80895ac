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
 * the tensor. F32 is used as is; F16 and BF16 are converted to float32 on request.
 *
 * A file is memory-mapped, not read: the header is parsed from the mapping and a
 * tensor's bytes are touched only when it is converted into the caller's float32
 * memory, after which safetensors_release hands its pages back. So loading a model
 * needs its float32 weights plus about one tensor, not two copies of the file. */
#ifndef AVZ_SAFETENSORS_H
#define AVZ_SAFETENSORS_H

#include "common.h"

/* ST_OTHER: a dtype attnviz does not convert (U8, BOOL, I64, F64, ...), accepted only by
 * safetensors_open_any, for buffers that a loader skips (GPT-2's attn.bias). */
typedef enum { ST_F32 = 0, ST_F16, ST_BF16, ST_OTHER } StDtype;

#define ST_MAX_DIMS 4
#define ST_MAX_NAME 128

typedef struct {
    char name[ST_MAX_NAME];
    StDtype dtype;
    char dtype_name[12];      /* as in the header: "F32", "BF16", "U8", ... */
    int esize;                /* bytes per element */
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    uint64_t begin, end;      /* byte offsets within the data section */
} StTensorInfo;

typedef struct {
    char path[4096];
    unsigned char *file;      /* the whole file: a read-only mapping, or a malloc'd copy */
    size_t file_len;
    int mapped;               /* 1: file is mmap'd (safetensors_open), 0: malloc'd (_mem) */
    const unsigned char *data;/* start of the data section (inside file) */
    size_t data_len;
    int n_tensors;
    StTensorInfo *tensors;    /* (n_tensors), owned */
} SafeTensors;

/* Maps and validates path. path must be a regular file (checked with stat before it is
 * opened: a FIFO, a folder or a device is refused with a message, never waited on).
 * Every tensor must be F32, F16 or BF16. On success the caller owns st and frees it with
 * safetensors_free. On failure returns AVZ_ERR_INPUT (bad file) with err naming path and
 * the offending tensor, and st holds nothing to free. */
AvzCode safetensors_open(SafeTensors *st, const char *path, char *err);

/* The same, but tensors of the other dtypes the format defines (U8, BOOL, I64, F64, ...)
 * are listed too, as ST_OTHER: a model's loader skips its buffers and refuses a weight
 * of such a dtype by name. */
AvzCode safetensors_open_any(SafeTensors *st, const char *path, char *err);

/* Same, from bytes already in memory (copied); path is used only in messages. */
AvzCode safetensors_open_mem(SafeTensors *st, const void *bytes, size_t len,
                             const char *path, char *err);

void safetensors_free(SafeTensors *st);

/* The tensor called name, or NULL. */
const StTensorInfo *safetensors_find(const SafeTensors *st, const char *name);

/* Number of elements of a tensor (product of its shape). */
int64_t st_numel(const StTensorInfo *t);

/* Converts tensor t (F32, F16 or BF16: asserted) to float32 into out (st_numel(t) floats). */
void safetensors_read_f32(const SafeTensors *st, const StTensorInfo *t, float *out);

/* The same for a 2-D tensor t (R, K) written into a wider matrix: row r of t goes to
 * out + r * ldo (K floats), or, transposed, column k of t goes to row k of out:
 * out[k * ldo + r] = t[r][k] (nn.Linear's [out, in] into attnviz's [in, out]). */
void safetensors_read_f32_2d(const SafeTensors *st, const StTensorInfo *t, float *out,
                             size_t ldo, int transposed);

/* Hands the pages of t's bytes back to the system after they were converted (a mapped
 * file only; a later read maps them in again). Keeps the peak memory of loading a model
 * near its float32 size. */
void safetensors_release(const SafeTensors *st, const StTensorInfo *t);

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
