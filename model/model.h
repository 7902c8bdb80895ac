/* model.h: the transformer itself: weights, activations, the forward pass.
 *
 * Every family of the architecture table (arch.h) is this one pre-norm, causal decoder:
 *
 *   x = wte[token] (+ position vector for sinusoidal / learned; sinusoidal scales
 *       wte by sqrt(C) first, as Vaswani et al. do)
 *   for each of L blocks:
 *       a = Norm_1(x)                   (LayerNorm, or RMSNorm for the Llama family)
 *       q, k, v = a @ W_qkv (+ b)       (NH query heads, NKV key/value heads, each of size hd)
 *       (RoPE: rotate q and k by their position)
 *       z_h = softmax(q_h k_g^T / sqrt(hd) (+ ALiBi bias), causal) v_g   per query head h,
 *                                       g = h / (NH / NKV) its key/value head
 *       x = x + concat(z_h) @ W_o (+ b) (an ablated head's z_h is zeroed or averaged first)
 *       x = x + MLP(Norm_2(x))          GELU:   (C -> F, GELU, F -> C), biases
 *                                       SwiGLU: down(silu(gate(a)) * up(a)), C -> F -> C
 *   logits = Norm_f(x) @ wte^T          (or @ lm_head^T when the head is not tied)
 *
 * attnviz's own models are GPT-2's layout: LayerNorm, GELU, NKV = NH, hd = C / NH,
 * F = 4C, every bias, a tied head. Absent tensors (no bias, no wpe, ...) have size 0.
 *
 * As in llm.c all parameters live in one allocation (the arena) with named
 * pointers into it, and so do all activations. Every pointer carries its shape. */
#ifndef AVZ_MODEL_H
#define AVZ_MODEL_H

#include "common.h"
#include "config.h"
#include "gemm.h"
#include "tokenizer.h"

/* ---- parameters --------------------------------------------------------- */

/* Shapes: L layers, C = n_embd, V = vocab_size, NH query heads and NKV key/value heads of
 * hd dimensions, QKV = (NH + 2 NKV) hd, A = NH hd (the attention output's width), F =
 * n_inner and U = F (GELU) or 2F (SwiGLU: gate and up side by side). Every linear weight
 * is stored [in, out] (GPT-2's Conv1D layout: y = x @ W + b); the loader transposes
 * nn.Linear's [out, in] weights once. A tensor a model does not have has size 0 (its
 * pointer then points at the next one: never read it). */
#define N_PARAM_TENSORS 17
typedef struct {
    float *wte;        /* (V, C) token embeddings, also the LM head when tied */
    float *wpe;        /* (n_positions, C) learned position table; size 0 unless learned */
    float *ln1w;       /* (L, C) norm before attention: gain */
    float *ln1b;       /* (L, C) ... bias; size 0 for RMSNorm */
    float *qkvw;       /* (L, C, QKV) [in, out]: columns [q | k | v] of widths NH hd, NKV hd,
                          NKV hd; query head h at column h*hd, kv head g at NH*hd + g*hd (k)
                          and (NH + NKV)*hd + g*hd (v) */
    float *qkvb;       /* (L, QKV) size 0 without BIAS_QKV */
    float *attprojw;   /* (L, A, C) [in, out] attention output projection (c_proj / o_proj) */
    float *attprojb;   /* (L, C) size 0 without BIAS_O */
    float *ln2w;       /* (L, C) norm before the MLP: gain */
    float *ln2b;       /* (L, C) ... bias; size 0 for RMSNorm */
    float *fcw;        /* (L, C, U) [in, out]: GELU: c_fc; SwiGLU: columns [gate | up] */
    float *fcb;        /* (L, U) size 0 without BIAS_MLP */
    float *fcprojw;    /* (L, F, C) [in, out] the MLP's down projection (c_proj / down_proj) */
    float *fcprojb;    /* (L, C) size 0 without BIAS_MLP */
    float *lnfw;       /* (C) final norm: gain */
    float *lnfb;       /* (C) ... bias; size 0 for RMSNorm */
    float *lm_head;    /* (V, C) the LM head when untied (nn.Linear's [out, in], read as
                          x @ lm_head^T like the tied wte); size 0 when tied */
} ParamTensors;

/* ---- activations (kept for the visualizer and for the backward pass) ----- */

#define N_ACT_TENSORS 24
typedef struct {
    float *encoded;    /* (B, T, C) token embedding (+ position vector) */
    float *ln1;        /* (L, B, T, C) */
    float *ln1_mean;   /* (L, B, T) (0 for RMSNorm) */
    float *ln1_rstd;   /* (L, B, T) 1 / sqrt(var + eps), or 1 / rms for RMSNorm */
    float *qkv;        /* (L, B, T, QKV) the q, k, v projection output, before RoPE */
    float *q;          /* (L, B, NH, T, hd) queries per head, after RoPE */
    float *k;          /* (L, B, NKV, T, hd) keys per key/value head, after RoPE */
    float *v;          /* (L, B, NKV, T, hd) values per key/value head */
    float *lse;        /* (L, B, NH, T) log-sum-exp of each attention row: all that flash keeps of P */
    float *z;          /* (L, B, T, A) attention output of every query head, concatenated */
    float *zin;        /* (L, B, T, A) what enters c_proj: z with ablated heads zeroed or averaged;
                          written only when a head is ablated (Model.ablated), else c_proj reads z */
    float *attproj;    /* (L, B, T, C) */
    float *residual2;  /* (L, B, T, C) x after attention */
    float *ln2;        /* (L, B, T, C) */
    float *ln2_mean;   /* (L, B, T) */
    float *ln2_rstd;   /* (L, B, T) */
    float *fch;        /* (L, B, T, U) the MLP's first product (SwiGLU: [gate | up]) */
    float *fch_gelu;   /* (L, B, T, F) after GELU, or silu(gate) * up */
    float *fcproj;     /* (L, B, T, C) */
    float *residual3;  /* (L, B, T, C) x after the block */
    float *lnf;        /* (B, T, C) */
    float *lnf_mean;   /* (B, T) */
    float *lnf_rstd;   /* (B, T) */
    float *logits;     /* (B, T, V) next-token logits at every position */
} ActTensors;

/* ---- the weight cache -------------------------------------------------------
 * The fast matrix multiply reads a weight matrix in panels (gemm.h). Packing them is a
 * copy as large as the matrix, and for the tied LM head (wte read transposed) a slow,
 * scattered one. The weights do not change between two passes of a model in use, so the
 * cache packs every weight matrix once and the forward pass multiplies by the packed
 * copies. It is on for every model, and keyed on params_version: whoever writes weights
 * calls model_params_changed (model_load, model_init_random, the trainer's optimizer step
 * and the tests that edit weights do), and the next forward pass packs again. The kernels in use are part of the key too
 * (gemm_select may change them). */
typedef struct {
    int enabled;              /* 0: multiply by the weights where they are (see below) */
    uint64_t version;         /* the params_version it was packed at; 0 = never packed */
    int L;                    /* layers packed (the arrays below have L entries) */
    GemmPackedB *qkv;         /* (L) q, k, v projection, (C, QKV) */
    GemmPackedB *attproj;     /* (L) attention output projection, (A, C) */
    GemmPackedB *fc;          /* (L) MLP c_fc, or [gate | up], (C, U) */
    GemmPackedB *fcproj;      /* (L) MLP down projection, (F, C) */
    GemmPackedB lm_head;      /* wte^T or lm_head^T, (C, V) */
} ModelWeightCache;

typedef enum { ATTN_FLASH = 0, ATTN_NAIVE } AttnKind;
typedef enum { ABLATE_ZERO = 0, ABLATE_MEAN } AblateMode;

typedef struct {
    AttnKind attn;                /* flash (default) or the naive reference */
    const unsigned char *ablate;  /* (L * NH) 1 = head switched off, or NULL for none */
    AblateMode ablate_mode;
    int no_position;              /* 1: run without any position information (permutation demo) */
    int first_layer;              /* > 0: start at this layer, reading its input (the residual
                                     stream after layer first_layer - 1, acts.residual3) from
                                     the last pass, which the caller guarantees ran the same
                                     tokens (B, T) with nothing switched off below it: the
                                     sweep's "recompute only from the ablated layer up". The
                                     CPU pass honours it; a backend may run every layer. */
} ForwardOpts;

typedef struct {
    ModelConfig cfg;
    Vocab vocab;                  /* the word-level vocabulary (n = 0 unless cfg.tokenizer is "word") */
    char dir[4096];               /* the folder it was loaded from ("" if made in memory) */
    char disk_dtype[24];          /* the weights' dtype in the files ("F32", "BF16", "F16+F32");
                                     "" if made in memory */

    ParamTensors params;
    size_t param_sizes[N_PARAM_TENSORS];
    size_t num_parameters;
    float *params_memory;         /* the arena: every parameter, one allocation */
    uint64_t params_version;      /* +1 at every change of the weights: model_params_changed */
    ModelWeightCache wcache;      /* packed weight matrices (model_weight_cache) */

    /* derived tables, computed once from the config */
    float *alibi_slopes;          /* (NH) ALiBi slope per head (all 0 for other encodings) */
    float *sin_table;             /* (max_len, C) sinusoidal vectors, NULL unless sinusoidal */
    float *rope_table;            /* (rope_T, hd) RoPE cos, then sin, per position; grown */
    int rope_T;                   /* positions in rope_table */
    const int *rope_pos;          /* (T) NULL, or the positions of a pass's T rows (training
                                     with randomized positions; train.h); set by the caller */
    float *rope_pos_table;        /* (T, hd) the table of rope_pos, for forward and backward */
    int rope_pos_T;               /* rows allocated in rope_pos_table */

    /* activations of the last forward pass */
    ActTensors acts;
    size_t act_sizes[N_ACT_TENSORS];
    float *acts_memory;
    int acts_B, acts_T;           /* capacity the activations were allocated for */
    float *att;                   /* (L, B, NH, T, T) probabilities: naive attention only, else NULL */
    size_t att_cap;
    float *p_kept;                /* (L, B, NH, attn_keep_rows(T), attn_keep_ld(T)) P of a short
                                     flash pass (see model_forward), which capture copies */
    size_t p_kept_cap;
    int kept;                     /* 1: the last pass kept P in p_kept */
    int B, T;                     /* shape of the last forward pass */
    AttnKind last_attn;
    float mean_loss;              /* mean loss over targets of the last pass, or -1 without targets */
    int no_position;              /* the last pass ran without position information */
    int ablated;                  /* the last pass switched heads off: acts.zin holds c_proj's
                                     input (else it is acts.z, and zin is stale) */
    float *losses;                /* (B, T) per-position cross-entropy of the last pass with targets */
    int has_losses;
    float *probs;                 /* (B, T, V) softmax of logits, computed on demand by model_probs */
    size_t probs_cap;
    int probs_valid;
    float *grad_acts_memory;      /* scratch of model_backward (activation gradients), owned */
    size_t grad_acts_cap;         /* its size in floats */
} Model;

/* Computes the parameter sizes of cfg into sizes and returns their sum. */
size_t model_param_sizes(const ModelConfig *cfg, size_t sizes[N_PARAM_TENSORS]);

/* Points each field of p into arena, in order. */
void model_point_params(ParamTensors *p, float *arena, const size_t sizes[N_PARAM_TENSORS]);

/* Allocates a model of the given config with zeroed weights, takes ownership of
 * vocab (moved in; the caller's copy is cleared). Checks vocab size == cfg. */
AvzCode model_create(Model *m, const ModelConfig *cfg, Vocab *vocab, char *err);

/* Fills the weights GPT-2 style: N(0, 0.02), residual projections scaled by
 * 1/sqrt(2L), LayerNorm gains 1, biases 0. Deterministic for a seed. */
void model_init_random(Model *m, uint64_t seed);

/* Says that the weights in m->params_memory changed: the weight cache packs them again
 * before the next forward pass. Call it after writing weights by hand (model_load,
 * model_init_random and the trainer call it themselves). */
void model_params_changed(Model *m);

/* Switches the weight cache on (1) or off (0). Every model has it on from model_create
 * (and so model_load) onwards: whoever writes weights by hand (finite-difference tests,
 * hand-made models, the trainer) calls model_params_changed afterwards, or the next pass
 * multiplies by a stale packed copy. Off reads the weights where they are, for code that
 * cannot say when it writes them. The results are the same bits either way. */
void model_weight_cache_enable(Model *m, int on);

/* The packed weights for the current params_version and kernels, packed now if they
 * are stale; NULL when the cache is off. Owned by m (freed by model_free). */
const ModelWeightCache *model_weight_cache(Model *m);

/* Loads a model folder and validates every tensor against the config (model/load.c):
 * attnviz's own (config.json with position_encoding, model.safetensors, vocab.json) or a
 * Hugging Face checkpoint of a family in arch.h (config.json, model.safetensors or
 * model.safetensors.index.json and its shards, any tokenizer files: see
 * ModelConfig.tokenizer; vocab.json is read as attnviz's word vocabulary only when the
 * tokenizer is "word"). Weights are F32, F16 or BF16, converted to float32 once. Errors
 * name the file and the tensor or field; on failure m holds nothing to free. */
AvzCode model_load(Model *m, const char *dir, char *err);

/* Progress of the loads on the calling thread: after each part of the weights is read
 * and converted (the embeddings, each layer, the output head: n_layer + 2 parts),
 * fn(user, done, total) with done = 0..total. For the app's progress bar; NULL
 * stops it. Other threads' loads are not reported. */
typedef void (*ModelLoadProgress)(void *user, int done, int total);
void model_load_set_progress(ModelLoadProgress fn, void *user);

/* Writes config.json, model.safetensors and vocab.json into dir (created if
 * missing), each atomically. attnviz's own layout with the word tokenizer only
 * (config_is_core_gpt2): anything else is refused with AVZ_ERR_INPUT. */
AvzCode model_save(const Model *m, const char *dir, char *err);

/* Describes the architecture as read, one "name: value" line each (family, L, NH, NKV,
 * head size, C, F, V, context, norm, MLP, position encoding, head tied or not, biases,
 * dtype on disk, parameters, tokenizer) into buf (n bytes, always NUL-terminated,
 * truncated if short). Returns the length it needed, as snprintf does. */
int model_describe(const Model *m, char *buf, size_t n);

/* Where the per-head activations of the last pass lie: query head h of batch row b at
 * layer l (T rows of hd floats), and the key and value rows that head reads (its
 * key/value head h / (NH / NKV): shared by NH / NKV query heads). */
int model_kv_head(const ModelConfig *c, int h);
const float *model_head_q(const Model *m, int l, int b, int h);
const float *model_head_k(const Model *m, int l, int b, int h);
const float *model_head_v(const Model *m, int l, int b, int h);

void model_free(Model *m);

/* Calls fn for every tensor in the safetensors naming (GPT-2's), with a pointer
 * into the arena and its shape. Used by load, save and the checks. */
typedef void (*ModelTensorFn)(void *user, const char *name, float *data, int ndim,
                              const int64_t *shape);
void model_for_each_tensor(const Model *m, ParamTensors *p, ModelTensorFn fn, void *user);

/* The factor the token embedding is multiplied by on input: sqrt(C) for the
 * sinusoidal encoding, as Vaswani et al. do, so that the fixed unit-amplitude
 * sinusoids do not drown the small learned embeddings; 1 otherwise. (The tied LM
 * head uses wte unscaled.) */
float model_embed_scale(const ModelConfig *cfg);

/* Makes sure activations for (B, T) are allocated. */
void model_ensure_acts(Model *m, int B, int T);

/* Checks a batch before any pass (every backend calls it, so all refuse alike):
 * B, T >= 1, T <= config_max_len, every id inside the vocabulary. AVZ_ERR_INPUT
 * with a message giving the numbers, else AVZ_OK. */
AvzCode model_check_input(const Model *m, const int *tokens, int B, int T, char *err);

/* The CPU forward pass: tokens (B, T) -> m->acts (logits and every activation).
 * targets (B, T) may be NULL; with targets m->mean_loss is the mean next-token
 * cross-entropy and the per-position losses are in model_losses.
 * Returns AVZ_ERR_INPUT if T exceeds config_max_len or a token id is out of range. */
AvzCode model_forward(Model *m, const int *tokens, const int *targets, int B, int T,
                      const ForwardOpts *opts, char *err);

/* Per-position losses of the last pass with targets, (B, T); NULL otherwise. */
const float *model_losses(const Model *m);

/* Softmax of the last pass's logits into m->probs, (B, T, V); returns it. */
const float *model_probs(Model *m);

/* Attention capture: the probabilities of (layer, head) for batch row b of the
 * last forward pass, recomputed exactly from the saved q, k and log-sum-exp:
 * P[i][j] = exp(q_i . k_j * scale + bias_ij - lse_i) for j <= i, else 0.
 * out is (T, T), row = query (destination), column = key (source). */
void model_capture(const Model *m, int layer, int head, int b, float *out);

/* All maps, (L, NH, T, T), for batch row b. */
void model_capture_all(const Model *m, int b, float *out);

#endif
