/* batch.h: the numbered outputs of `attnviz export --texts`: each text's file name,
 * from --out as a folder ("slides/": slides/001.png, slides/002.png, ...) or as a
 * pattern ("slides/{n}-L{layer}H{head}.png"), and the index of what became of each
 * text (index.csv or index.json, beside the outputs, written atomically).
 *
 * Placeholders: {n} the text's number from 1, zero-padded to at least 3 digits (more
 * for 1000 texts or more); {layer} and {head} the map's numbers, or "all"; {model} the
 * model folder's name. They go in the file name, not the folder; {n} is required so
 * that no two texts share a file. */
#ifndef AVZ_CLI_BATCH_H
#define AVZ_CLI_BATCH_H

#include <cjson/cJSON.h>

#include "common.h"

typedef struct {
    char folder[4096];    /* where the outputs and the index go ("." when none given) */
    char name[1024];      /* the file-name pattern ("{n}.png" for a folder) */
    int width;            /* digits of {n} */
} BatchNames;

/* The values of the placeholders for one text. */
typedef struct {
    int n;                /* 1-based */
    int layer, head;      /* -1: "all" */
    const char *model;    /* the model folder's name */
} BatchFields;

/* Parses --out (out) for a batch of count texts; ext ("png", "npy") names the files of
 * a folder. AVZ_ERR_INPUT naming --out: no {n}, an unknown or unclosed placeholder, a
 * placeholder in the folder part. */
AvzCode batch_names_init(BatchNames *b, const char *out, const char *ext, int count, char *err);

/* The path of one text's file into path (len bytes); AVZ_ERR_INPUT if too long. */
AvzCode batch_name(const BatchNames *b, const BatchFields *f, char *path, size_t len,
                   char *err);

/* Creates the outputs' folder when it is missing (its parent must exist). */
AvzCode batch_make_folder(const BatchNames *b, char *err);

typedef enum { BATCH_OK = 0, BATCH_FAILED = 1, BATCH_BAD_INPUT = 2 } BatchStatus;

/* What became of one text. */
typedef struct {
    int n, line;
    const char *label, *text;   /* not owned */
    int n_tokens;               /* 0 when it was not tokenized */
    char file[4096];            /* "" when nothing was written */
    BatchStatus status;
    char message[AVZ_ERR_LEN];  /* "" when ok */
} BatchRow;

/* "ok", "internal_error", "bad_input". */
const char *batch_status_name(BatchStatus s);

/* [{"n", "line", "label", "text", "n_tokens", "file" (null when none), "status",
 * "message" (null when ok)}]. The caller owns it. */
cJSON *batch_rows_json(const BatchRow *rows, int n);

/* Writes rows as CSV to path atomically: a header line "n,line,label,text,n_tokens,
 * file,status,message", then one line per text (RFC 4180 quoting). */
AvzCode batch_index_csv(const char *path, const BatchRow *rows, int n, char *err);

#endif
