/* config.h: a model's hyper-parameters, read from the config.json of a model folder.
 *
 * Two kinds of config.json are read:
 *   - attnviz's own (it has a "position_encoding" field): Hugging Face GPT-2's fields plus
 *     position_encoding and tokenizer; the shipped toy models and everything attnviz saves;
 *   - a Hugging Face checkpoint's, as the Hub serves it, for the families of the
 *     architecture table (model/arch.h): model_type gpt2, llama, qwen2, mistral. Its keys
 *     (n_layer or num_hidden_layers, ...) come from the table.
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

/* The model families (one row each in the architecture table, model/arch.c). 0 is
 * GPT-2's layout, which attnviz's own models have, so that a config built by hand with
 * only the first fields below set is one of those. */
typedef enum {
    ARCH_GPT2 = 0,  /* pre-LayerNorm, GELU MLP, biases everywhere, Conv1D [in, out] weights */
    ARCH_LLAMA,     /* RMSNorm, SwiGLU MLP, RoPE, grouped-query attention, no biases */
    ARCH_QWEN2,     /* Llama's layout with biases on q, k and v */
    ARCH_MISTRAL,   /* Llama's layout (sliding window off or wider than any text here) */
    ARCH_COUNT
} ArchId;

typedef enum {
    NORM_LAYER = 0, /* LayerNorm: (x - mean) / sqrt(var + eps) * w + b */
    NORM_RMS        /* RMSNorm:   x / sqrt(mean(x^2) + eps) * w, no bias */
} NormKind;

typedef enum {
    MLP_GELU = 0,   /* down(gelu_tanh(up(x) + b) ) + b: GPT-2's c_fc, c_proj */
    MLP_SWIGLU      /* down(silu(gate(x)) * up(x)): Llama's gate_proj, up_proj, down_proj */
} MlpKind;

/* Which linear layers have a bias (ModelConfig.bias). */
enum {
    BIAS_QKV = 1u,  /* q, k and v projections */
    BIAS_O = 2u,    /* attention output projection */
    BIAS_MLP = 4u,  /* every MLP projection */
    BIAS_ALL = 7u
};

typedef struct {
    int n_layer;            /* L: number of transformer blocks */
    int n_head;             /* NH: attention (query) heads per block */
    int n_embd;             /* C: width of the residual stream */
    int n_positions;        /* the context the model was trained at */
    int vocab_size;         /* V */
    float layer_norm_epsilon; /* the norm's epsilon (layer_norm_epsilon or rms_norm_eps) */
    PosEncoding pe;
    float rope_theta;       /* RoPE base, default 10000 */
    char tokenizer[16];     /* which tokenizer the folder has (see below) */
    /* ---- the architecture. A config built by hand may leave all of these 0 (GPT-2's
     * layout, attnviz's models): config_resolve, which config_parse and model_create
     * call, fills in what follows from the rest. ---- */
    ArchId arch;            /* the family (model/arch.h) */
    int hf;                 /* 1: read from a Hugging Face config.json (no position_encoding) */
    int n_kv_head;          /* NKV: key/value heads; query head h reads kv head h / (NH / NKV) */
    int head_dim;           /* hd: the size of one head; C / NH unless config.json gives head_dim */
    int n_inner;            /* F: the MLP's hidden width; 4C for GPT-2 unless n_inner says */
    NormKind norm;          /* from the family */
    MlpKind mlp;            /* from the family */
    unsigned bias;          /* BIAS_* of the layers that have one (GPT-2: all) */
    int untied;             /* 1: the LM head is its own matrix (lm_head.weight); 0: wte, tied */
    int bos_id, eos_id;     /* bos_token_id / eos_token_id of a Hugging Face config, -1 if
                             * none. bos: the first token when the tokenizer's files name
                             * none (app/device.c); both shown by model info */
} ModelConfig;

/* ModelConfig.tokenizer: "word" (attnviz's word-level vocab.json, model/tokenizer.h: always
 * for attnviz's own layout), "gpt2" (GPT-2's byte-level BPE: vocab.json + merges.txt),
 * "tokenizer.json" (a Hugging Face tokenizer.json) or "none" (the folder has no tokenizer
 * files: token ids only). The BPE ones are read by model/bpe.h; for a Hugging Face config
 * config_load picks one from the folder's files with tokenizer_find_bpe, the rule
 * tokenizer_open_bpe loads by. */

/* Fills the architecture fields a hand-built config may leave 0 (n_kv_head = n_head,
 * head_dim = n_embd / n_head, n_inner = 4 n_embd, norm, mlp and GPT-2's biases from the
 * family) and leaves the others as they are; running it twice changes nothing. */
void config_resolve(ModelConfig *cfg);

/* Sizes that follow from the config, for the tensors of model.h: q, k and v columns of
 * the fused projection (NH hd + 2 NKV hd), the attention output's width (NH hd), and the
 * MLP's first product (F, or 2F for SwiGLU's gate and up side by side). */
int config_qkv_dim(const ModelConfig *cfg);
int config_attn_dim(const ModelConfig *cfg);
int config_up_dim(const ModelConfig *cfg);

/* 1 for attnviz's own layout (GPT-2 with one head size hd = C / NH, NKV = NH, F = 4C, a
 * tied head): what the trainer, the backward pass and save can handle. */
int config_is_core_gpt2(const ModelConfig *cfg);

/* Parses config.json text; path is used only in messages. Checks every field's
 * presence, type and range (n_embd divisible by n_head, even head size for RoPE,
 * ...). Returns AVZ_OK or AVZ_ERR_INPUT with err naming the file and the field. */
AvzCode config_parse(ModelConfig *cfg, const char *json, const char *path, char *err);

/* Reads and parses <dir>/config.json, and sets ModelConfig.tokenizer from the folder's
 * files (tokenizer_find_bpe, tokenizer.h). AVZ_ERR_INPUT naming the file and the field,
 * or a tokenizer file that is not a regular file; cfg is untouched on failure. */
AvzCode config_load(ModelConfig *cfg, const char *dir, char *err);

/* Writes <dir>/config.json atomically. */
AvzCode config_save(const ModelConfig *cfg, const char *dir, char *err);

/* "none", "sinusoidal", ... and back; pe_from_name returns -1 for an unknown name. */
const char *pe_name(PosEncoding pe);
int pe_from_name(const char *name);

/* Longest token sequence the model accepts: n_positions for learned, else AVZ_MAX_T. */
int config_max_len(const ModelConfig *cfg);

#endif
