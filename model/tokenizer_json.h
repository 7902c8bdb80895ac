/* tokenizer_json.h: reads the files that describe a BPE tokenizer into one plain
 * description (TokJson) that bpe.c builds the tokenizer from.
 *
 * Two sources:
 *   - a Hugging Face tokenizer.json (Llama 2, Llama 3, GPT-2 from the Hub, ...): the
 *     model (vocab, merges, unk, byte_fallback, ignore_merges), added_tokens, and the
 *     normalizer, pre_tokenizer, post_processor and decoder that run around it;
 *   - GPT-2's original pair of files, vocab.json + merges.txt, with the pipeline HF's
 *     GPT2TokenizerFast gives them (ByteLevel, <|endoftext|> as a special token).
 * Only what concerns ids is kept. Everything a file can get wrong is an AVZ_ERR_INPUT
 * whose message names the file and the JSON field: "tokenizer.json: model.merges[12]:
 * expected \"a b\"". Files are checked to be regular files before they are opened, so a
 * FIFO or a folder is refused at once instead of blocking. */
#ifndef AVZ_TOKENIZER_JSON_H
#define AVZ_TOKENIZER_JSON_H

#include "common.h"
#include "pretokenize.h"

/* The largest token id accepted (no real vocabulary comes near it). */
#define TOKJSON_MAX_ID ((1 << 22) - 1)

/* An added token (added_tokens[i]): matched in the raw text before anything else. */
typedef struct {
    char *content; /* owned */
    int id;
    int special;     /* a control token (<s>, <|endoftext|>), not text */
    int single_word; /* only when not inside a word */
    int lstrip;      /* also swallows the whitespace on its left */
    int rstrip;      /* ... and on its right */
    int normalized;  /* matched in the normalized text instead of the raw text */
} TokJsonAdded;

/* How a token's piece turns back into text (from the decoder), for labels. */
typedef enum {
    TOKJSON_LABEL_RAW,       /* the piece as it is */
    TOKJSON_LABEL_BYTELEVEL, /* each character stands for one byte (GPT-2 alphabet) */
    TOKJSON_LABEL_METASPACE  /* "▁" stands for a space, <0xNN> for a byte */
} TokJsonLabel;

typedef struct {
    char file[256];        /* the file named in messages */
    char vocab_field[64];  /* "model.vocab" or "vocab.json"... for bpe.c's messages */
    char merges_field[64]; /* "model.merges" or "merges.txt" */
    int merges_from_txt;   /* merge i is line merge_line[i] of merges.txt */
    /* the model */
    char **pieces; /* (n_pieces) vocab strings in file order, owned */
    int *ids;      /* (n_pieces) their ids */
    int n_pieces;
    char **merge_a, **merge_b; /* (n_merges) the pairs, in rank order, owned */
    int *merge_line;           /* (n_merges) merges.txt line numbers, or NULL */
    int n_merges;
    char *unk_token;   /* owned, NULL when there is none */
    int byte_fallback; /* unknown characters become <0xNN> byte tokens */
    int fuse_unk;      /* consecutive unknowns become one unk */
    int ignore_merges; /* a pre-token found whole in the vocab is one token */
    /* around the model */
    TokJsonAdded *added; /* (n_added) owned */
    int n_added;
    PretokNormalizer norm;
    PretokPipeline pre;
    int *prefix, n_prefix; /* (n_prefix) ids the post-processor puts in front */
    int *suffix, n_suffix; /* (n_suffix) ... and after the text */
    TokJsonLabel label;
    char *bos_token, *eos_token; /* names from tokenizer_config.json, or NULL (owned) */
} TokJson;

/* Parses tokenizer.json text (len bytes, need not be NUL-terminated). name is the file
 * named in messages. On failure tj holds nothing (no need to free). */
AvzCode tokjson_parse(TokJson *tj, const char *json, size_t len, const char *name, char *err);
/* Reads and parses the file at path, and, when a tokenizer_config.json lies beside
 * it, takes its bos_token and eos_token. */
AvzCode tokjson_load(TokJson *tj, const char *path, char *err);
/* GPT-2's vocab.json + merges.txt (paths). */
AvzCode tokjson_load_gpt2(TokJson *tj, const char *vocab_json, const char *merges_txt, char *err);
void tokjson_free(TokJson *tj);

/* Reads a whole regular file into a NUL-terminated malloc'd buffer (caller frees).
 * A missing file, a folder, a FIFO or a device is refused with a message naming it,
 * without blocking. NULL on failure. */
char *tokjson_read_file(const char *path, size_t *len, char *err);

#endif
