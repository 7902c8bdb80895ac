/* arch.h: the model families attnviz reads, as data (in the style of llama.cpp's
 * src/llama-arch.cpp).
 *
 * One row per family (model/arch.c) says everything that differs between them and that
 * the loader and the forward pass need: the Hugging Face model_type, the config.json key
 * of each hyper-parameter, the name of every tensor, how a linear layer's weight is
 * stored, the kind of norm and MLP, which biases every model of the family has and which
 * config keys add more, and the config values it cannot run. The loader (model/load.c)
 * and the config parser (model/config.c) only read this table: a family built from the
 * same pieces is one more row, not a new code path.
 *
 * Inside attnviz every family lives in one layout (model.h): linear weights as [in, out]
 * (GPT-2's Conv1D), q, k and v fused as columns [q | k | v], SwiGLU's gate and up fused
 * as columns [gate | up]. The loader converts each tensor into it once. */
#ifndef AVZ_ARCH_H
#define AVZ_ARCH_H

#include <stddef.h>

#include "config.h"

/* Every tensor a family may have. The name formats hold %d for the layer. */
typedef enum {
    TN_TOKEN_EMBD,                    /* (V, C) token embeddings */
    TN_POS_EMBD,                      /* (n_positions, C) learned position table */
    TN_ATTN_NORM, TN_ATTN_NORM_B,     /* (C) norm before attention: gain, bias */
    TN_ATTN_QKV, TN_ATTN_QKV_B,       /* q, k, v in one matrix (GPT-2's c_attn) */
    TN_ATTN_Q, TN_ATTN_Q_B,           /* or one each (Llama's q_proj, k_proj, v_proj) */
    TN_ATTN_K, TN_ATTN_K_B,
    TN_ATTN_V, TN_ATTN_V_B,
    TN_ATTN_OUT, TN_ATTN_OUT_B,       /* attention output projection */
    TN_FFN_NORM, TN_FFN_NORM_B,       /* (C) norm before the MLP */
    TN_FFN_GATE, TN_FFN_GATE_B,       /* SwiGLU's gate */
    TN_FFN_UP, TN_FFN_UP_B,           /* the MLP's first product (GPT-2's c_fc) */
    TN_FFN_DOWN, TN_FFN_DOWN_B,       /* its last (GPT-2's mlp.c_proj) */
    TN_OUTPUT_NORM, TN_OUTPUT_NORM_B, /* (C) the final norm */
    TN_OUTPUT,                        /* (V, C) the LM head when it is not tied */
    TN_COUNT
} TensorRole;

/* A config value the family's forward pass does not implement: the key must be absent
 * or hold what the rule allows. */
typedef enum {
    MUST_NULL,          /* absent or null (rope_scaling) */
    MUST_FALSE,         /* absent, null or false (use_sliding_window) */
    MUST_TRUE,          /* absent, null or true (scale_attn_weights) */
    MUST_NULL_OR_WIDE   /* absent, null, or a window of at least AVZ_MAX_T tokens */
} ArchRule;

typedef struct {
    const char *key;
    ArchRule rule;
    const char *why;    /* what attnviz would need for it, for the message */
} ArchLimit;

/* A boolean config key that switches biases on (Llama's attention_bias, mlp_bias). */
typedef struct {
    const char *key;
    unsigned bias;      /* BIAS_* it adds when true */
} ArchBiasKey;

/* The config.json keys of a family's hyper-parameters (NULL: not in its config). */
typedef struct {
    const char *n_layer, *n_head, *n_kv_head, *n_embd, *n_inner;
    const char *n_ctx, *n_ctx_alt;      /* context; the second is read when the first is absent */
    const char *eps, *head_dim, *act;   /* norm epsilon, head size, activation */
} ArchKeys;

#define ARCH_MAX_ACTS 3
#define ARCH_MAX_SKIP 3
#define ARCH_MAX_LIMITS 4
#define ARCH_MAX_BIAS_KEYS 2

typedef struct {
    ArchId id;
    const char *model_type;          /* config.json "model_type" */
    const char *hf_class;            /* the transformers class, for messages and model info */
    const char *prefix;              /* an optional prefix of every name but lm_head, or NULL */
    int conv1d;                      /* 1: linear weights stored [in, out]; 0: nn.Linear [out, in] */
    NormKind norm;
    MlpKind mlp;
    PosEncoding pe;                  /* learned or rope */
    unsigned bias;                   /* BIAS_* that every model of the family has */
    ArchBiasKey bias_keys[ARCH_MAX_BIAS_KEYS];
    int tied_default;                /* tie_word_embeddings when config.json does not say */
    float eps_default;               /* the norm epsilon when config.json does not say */
    int inner_required;              /* 1: the MLP width key must be there; 0: default 4C */
    const char *acts[ARCH_MAX_ACTS]; /* accepted activation names (the first is the default) */
    const char *skip[ARCH_MAX_SKIP]; /* name suffixes of buffers that are not weights */
    ArchLimit limits[ARCH_MAX_LIMITS];
    ArchKeys keys;
    const char *names[TN_COUNT];     /* name formats, or NULL where the family has none */
} ArchInfo;

/* The row of a family (asserted in range). */
const ArchInfo *arch_info(ArchId id);

/* The row whose model_type is name, or NULL. */
const ArchInfo *arch_by_model_type(const char *name);

/* "gpt2, llama, qwen2, mistral": the model_types accepted, for messages. */
const char *arch_model_types(void);

/* Writes the name of role at layer into buf (n bytes), with prefix in front unless the
 * role is the LM head (prefix may be NULL). Returns 0 when the family has no such
 * tensor (buf is then ""), 1 otherwise. */
int arch_tensor_name(const ArchInfo *a, TensorRole role, int layer, const char *prefix, char *buf,
                     size_t n);

/* 1 if name is a buffer of the family that holds no weights (GPT-2's attn.bias and
 * attn.masked_bias, Llama's rotary_emb.inv_freq): skipped whatever its dtype or shape. */
int arch_is_skipped(const ArchInfo *a, const char *name);

/* "LayerNorm" / "RMSNorm", "GELU (tanh)" / "SwiGLU". */
const char *arch_norm_name(NormKind k);
const char *arch_mlp_name(MlpKind k);

#endif
