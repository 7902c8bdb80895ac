/* config.h: a model's hyper-parameters, read from the config.json of a model folder
 * (Hugging Face GPT-2 layout, plus attnviz's position_encoding and tokenizer fields).
 * See model/FORMAT.md for every field. */
#ifndef AVZ_CONFIG_H
#define AVZ_CONFIG_H

#include "common.h"

typedef enum {
    PE_NONE = 0,    /* no position information at all: attention sees a bag of tokens */
    PE_SINUSOIDAL,  /* Vaswani et al. 2017: fixed sin/cos vectors added to the embedding */
    PE_LEARNED,     /* GPT-2: a trained (n_positions, C) table added to the embedding */
    PE_ROPE,        /* Su et al.: q and k rotated by an angle proportional to position */
    PE_ALIBI,       /* Press et al. 2022: a linear distance penalty added to each logit */
    PE_COUNT
} PosEncoding;

/* The longest text any model accepts (tokens, <bos> included). Learned tables stop
 * at n_positions; the other encodings may run past their training context up to
 * this cap, so that length generalisation can be shown. */
#define AVZ_MAX_T 2048

typedef struct {
    int n_layer;            /* L: number of transformer blocks */
    int n_head;             /* NH: attention heads per block */
    int n_embd;             /* C: width of the residual stream; head size hs = C / NH */
    int n_positions;        /* the context the model was trained at */
    int vocab_size;         /* V */
    float layer_norm_epsilon;
    PosEncoding pe;
    float rope_theta;       /* RoPE base, default 10000 */
    char tokenizer[16];     /* "word" */
} ModelConfig;

/* Parses config.json text; path is used only in messages. Checks every field's
 * presence, type and range (n_embd divisible by n_head, even head size for RoPE,
 * ...). Returns AVZ_OK or AVZ_ERR_INPUT with err naming the file and the field. */
AvzCode config_parse(ModelConfig *cfg, const char *json, const char *path, char *err);

/* Reads and parses <dir>/config.json. */
AvzCode config_load(ModelConfig *cfg, const char *dir, char *err);

/* Writes <dir>/config.json atomically. */
AvzCode config_save(const ModelConfig *cfg, const char *dir, char *err);

/* "none", "sinusoidal", ... and back; pe_from_name returns -1 for an unknown name. */
const char *pe_name(PosEncoding pe);
int pe_from_name(const char *name);

/* Longest token sequence the model accepts: n_positions for learned, else AVZ_MAX_T. */
int config_max_len(const ModelConfig *cfg);

#endif
