/* checkpoint.h: the weight files of a model folder, as one set of named tensors.
 *
 * A folder holds its weights in model.safetensors, or (a large Hugging Face checkpoint)
 * in shards model-00001-of-0000K.safetensors listed by model.safetensors.index.json:
 *
 *   {"metadata": {"total_size": 123}, "weight_map": {"<tensor name>": "<shard file>", ...}}
 *
 * ckpt_open maps every file (safetensors.h: nothing is read until a tensor is converted)
 * and checks that the index and the shards agree: every listed tensor is in the shard the
 * index names, every tensor of a shard is listed there, and shard names are plain file
 * names inside the folder. A loader then finds tensors by name, converts each one into
 * its own float32 memory and marks it used, and finally asks for the first tensor nobody
 * used. Each message names the file (the index or the shard) and the tensor. */
#ifndef AVZ_CHECKPOINT_H
#define AVZ_CHECKPOINT_H

#include "common.h"
#include "safetensors.h"

typedef struct {
    const StTensorInfo *info;   /* inside files[file] */
    int file;
    int used;                   /* set by ckpt_use */
} CkptTensor;

typedef struct {
    char dir[4096];
    char index_path[4200];      /* "" when the weights are one model.safetensors */
    int n_files;
    SafeTensors *files;         /* (n_files) each mapped */
    int n_tensors;
    CkptTensor *tensors;        /* (n_tensors) every tensor of every file, sorted by name */
} Checkpoint;

/* Opens dir's weights: model.safetensors when it exists (as transformers does), else
 * model.safetensors.index.json and its shards. Tensors of any dtype are listed (a
 * loader refuses the ones it cannot convert by name). On failure returns AVZ_ERR_INPUT
 * with err naming the file and tensor, and ck holds nothing to free. */
AvzCode ckpt_open(Checkpoint *ck, const char *dir, char *err);

/* The tensor called name, or NULL. */
CkptTensor *ckpt_find(Checkpoint *ck, const char *name);

/* The path of the file that holds t, for messages. */
const char *ckpt_file_of(const Checkpoint *ck, const CkptTensor *t);

/* The first tensor no loader has used (and that skip, if not NULL, does not excuse), or
 * NULL when every one was used. */
const CkptTensor *ckpt_first_unused(const Checkpoint *ck, int (*skip)(const void *, const char *),
                                    const void *user);

void ckpt_free(Checkpoint *ck);

/* ---- the index, on its own (the fuzz target reads it) ------------------------------- */

typedef struct {
    int n;                      /* tensors listed */
    char (*names)[ST_MAX_NAME]; /* (n) */
    int *file;                  /* (n) index into files */
    int n_files;
    char (*files)[256];         /* (n_files) distinct shard file names, in order of appearance */
} CkptIndex;

/* Parses index.json text (path for messages): an object with a "weight_map" object of
 * tensor name -> shard file name; "metadata" is optional and not checked. Shard names
 * must be plain names of a .safetensors file in the same folder (no '/', no leading
 * '.'), tensor names shorter than ST_MAX_NAME, at most 4096 shards. On failure
 * AVZ_ERR_INPUT naming the field, and ix holds nothing to free. */
AvzCode ckpt_index_parse(CkptIndex *ix, const char *json, const char *path, char *err);
void ckpt_index_free(CkptIndex *ix);

#endif
