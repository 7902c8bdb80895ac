/* gpu_backend.cu: the model's forward pass on the GPU, behind the Backend table of
 * model/backend.h. Read model/forward.c first: enqueue_forward below is model_forward
 * line by line, with the loops replaced by kernels (ops.cu, attention*.cu) and the linear
 * layers by cuBLAS.
 *
 * What lives where:
 *   - Weights: one device copy of the model's parameter arena, uploaded once per model
 *     and again only when the model changes (another Model, another arena, another
 *     config, or different weights: see weights_fingerprint).
 *   - Activations: one device arena sized for (B, T). Unlike the CPU, which keeps every
 *     intermediate for the backward pass, the GPU keeps only what the visualizer needs
 *     across calls: q, k and the log-sum-exps of every layer (for capture); the
 *     residual stream and the other intermediates are reused from layer to layer.
 *   - Results: the logits, q, k and lse come back to the model's host activations, so
 *     that model_probs, the ablation experiments and even model_capture on the CPU work
 *     unchanged after a GPU pass.
 * Every family of the architecture table runs here (model/arch.h): GPT-2's LayerNorm and
 * GELU MLP, and the Llama family's RMSNorm and SwiGLU MLP (ops_llama.cu), grouped-query
 * attention (NKV key/value heads, AttnArgs.NKV), a head size given apart from C / NH, an
 * untied LM head and any subset of the biases. What the kernels cannot run (a head size
 * other than 16, 32, 64 or 128, say) is refused with AVZ_ERR_INTERNAL and a message, and
 * backend_forward reruns it on the CPU with a note (check_supported).
 * Anything that changes in model/forward.c must change here too: tests/test_gpu.c and the
 * emulation in tests/gpu/emu/ compare the two passes.
 *
 * Launch overhead. The shipped models are tiny (2 layers, C = 64): a forward pass is ~30
 * kernels of a few microseconds each, and launching them one by one costs more than
 * running them. So the whole pass, the copies in and out included, is recorded once as a
 * CUDA graph and replayed: one launch per forward. The inputs (tokens, ablation mask)
 * travel through fixed pinned buffers that the graph reads, so one graph serves every
 * text of the same length and every ablation mask. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_common.cuh"

extern "C" {
#include "arch.h"
#include "config.h"
#include "model.h"
#include "ops.h"
}

/* ---- state ----------------------------------------------------------------------------- */

typedef struct {
    const Model *model;        /* whose weights these are */
    const float *host_arena;   /* its m->params_memory at upload time */
    size_t nparams;
    ModelConfig cfg;
    uint64_t fingerprint;
    unsigned gen;              /* bumped at every upload (graphs built earlier are stale) */
    float *arena;              /* (nparams) the parameters, same layout as the host arena */
    ParamTensors p;            /* named pointers into arena (shapes in model.h) */
    float *tables;             /* one allocation for the derived tables below */
    float *slopes;             /* (NH) ALiBi slopes, NULL unless ALiBi */
    float *sin_table;          /* (max_len, C) sinusoidal vectors, NULL unless sinusoidal */
    float *rope_cos, *rope_sin;/* (max_len, hs/2) RoPE cos and sin, NULL unless RoPE */
} DevWeights;

/* A model's widths, as model.h names them: C the residual stream, NH query heads and NKV
 * key/value heads of hs (model.h's hd) each, QKV = (NH + 2 NKV) hs the fused q, k, v
 * product, A = NH hs the heads' concatenated output, KV = NKV hs, F the MLP's hidden
 * width and U = F (GELU) or 2F (SwiGLU's [gate | up]). */
typedef struct {
    int L, C, NH, NKV, hs, V, QKV, A, KV, F, U;
} Dims;

static Dims dims_of(const ModelConfig *c) {
    Dims d;
    d.L = c->n_layer;
    d.C = c->n_embd;
    d.NH = c->n_head;
    d.NKV = c->n_kv_head;
    d.hs = c->head_dim;
    d.V = c->vocab_size;
    d.QKV = config_qkv_dim(c);
    d.A = config_attn_dim(c);
    d.KV = d.NKV * d.hs;
    d.F = c->n_inner;
    d.U = config_up_dim(c);
    return d;
}

typedef struct {
    int B, T;                  /* capacity */
    Dims d;                    /* the model shape the arena was laid out for */
    unsigned gen;              /* bumped at every reallocation */
    char *arena;               /* everything below, one allocation */
    int *tokens;               /* (B, T) */
    unsigned char *mask;       /* (L, NH) 1 = head ablated */
    float *x;                  /* (B, T, C) residual stream, updated in place */
    float *ln;                 /* (B, T, C) the norm's output (the three norms in turn) */
    float *qkv;                /* (B, T, QKV) q, k, v product, bias not yet added */
    float *q;                  /* (L, B, NH, T, hs) per layer, after RoPE: kept for capture */
    float *k;                  /* (L, B, NKV, T, hs) per layer, after RoPE: kept for capture */
    float *v;                  /* (B, NKV, T, hs) this layer's values */
    float *lse;                /* (L, B, NH, T) log-sum-exp of every attention row */
    float *z, *zin;            /* (B, T, A) heads' outputs, and after ablation */
    float *proj;               /* (B, T, C) output projection of either sub-block */
    float *fch;                /* (B, T, U) MLP's first product; GELU applied in place */
    float *hid;                /* (B, T, F) SwiGLU's silu(gate) * up; size 0 for GELU */
    float *logits;             /* (B, T, V) */
    void *h16;                 /* bf16/fp16 q (B, NH, T, hs), then k and v (B, NKV, T, hs),
                                  for the tensor cores */
    float *cap;                /* (T, T) one captured map */
    float *P;                  /* (L, B, NH, T, T) naive passes only (separate allocation) */
    size_t P_cap;              /* its size in floats */
} DevActs;

typedef struct {
    const Model *m;
    unsigned wgen, agen;
    int B, T, kind, use_pos, ablate_mode;
} GraphKey;

typedef struct {
    int dev;
    cudaStream_t stream;
    cublasHandle_t blas;
    void *blas_ws;             /* cuBLAS workspace (needed for graph capture) */
    GpuAttnKind attn;          /* kernel for flash passes */
    int use_graphs;
    DevWeights w;
    DevActs a;
    /* pinned host staging: the graph copies from and to these fixed addresses */
    int *pin_tokens;           /* (B, T) */
    unsigned char *pin_mask;   /* (L, NH) */
    float *pin_out;            /* logits (BT, V), q (L, BT, C), k (L, BT, C), lse (L, NH, BT) */
    size_t pin_tokens_cap, pin_mask_cap, pin_out_cap;
    cudaGraphExec_t graph;
    GraphKey key;
    /* the last successful pass, so that capture knows whether the device still holds it */
    const Model *last_model;
    int last_naive;
    int capture_warned;
} GpuCtx;

#define CUDA_BLAS_WS (32u << 20)   /* 32 MiB: what cuBLAS recommends on Hopper */

static size_t align256(size_t bytes) { return (bytes + 255) & ~(size_t)255; }

/* ---- weights ----------------------------------------------------------------------------- */

/* A cheap fingerprint of the parameters: every float of a small model, else 8192 floats
 * spread evenly over the arena. Model has no generation counter, so this is how a changed
 * model is noticed (training or loading changes every weight; a single hand-edited weight
 * of a large model could be missed). */
static uint64_t weights_fingerprint(const Model *m) {
    const uint32_t *u = (const uint32_t *)m->params_memory;
    const size_t n = m->num_parameters, step = n <= 16384 ? 1 : n / 8192;
    uint64_t hsh = 1469598103934665603ull ^ n;
    for (size_t i = 0; i < n; i += step) hsh = (hsh ^ u[i]) * 1099511628211ull;
    if (n) hsh = (hsh ^ u[n - 1]) * 1099511628211ull;
    return hsh;
}

static void weights_free(DevWeights *w) {
    if (w->arena) cudaFree(w->arena);
    if (w->tables) cudaFree(w->tables);
    memset(w, 0, sizeof *w);
}

static AvzCode weights_upload(GpuCtx *g, const Model *m, char *err) {
    DevWeights *w = &g->w;
    const uint64_t fp = weights_fingerprint(m);
    if (w->arena && w->model == m && w->host_arena == m->params_memory &&
        w->nparams == m->num_parameters && !memcmp(&w->cfg, &m->cfg, sizeof w->cfg) &&
        w->fingerprint == fp)
        return AVZ_OK;
    const unsigned gen = w->gen + 1;
    weights_free(w);
    w->gen = gen;
    const ModelConfig *c = &m->cfg;
    const int NH = c->n_head, C = c->n_embd, hs = c->head_dim, half = hs / 2;
    const int maxT = config_max_len(c);
    CUDA_TRY(cudaMalloc(&w->arena, sizeof(float) * m->num_parameters));
    CUDA_TRY(cudaMemcpy(w->arena, m->params_memory, sizeof(float) * m->num_parameters,
                        cudaMemcpyHostToDevice));
    model_point_params(&w->p, w->arena, m->param_sizes);   /* pointer arithmetic only */

    /* the derived tables, computed on the host exactly as model.c and posenc.c do */
    size_t nt = 0;
    if (c->pe == PE_ALIBI) nt += NH;
    if (c->pe == PE_SINUSOIDAL) nt += (size_t)maxT * C;
    if (c->pe == PE_ROPE) nt += 2 * (size_t)maxT * half;
    if (nt) {
        float *host = (float *)avz_xmalloc(sizeof(float) * nt), *p = host;
        CUDA_TRY(cudaMalloc(&w->tables, sizeof(float) * nt));
        if (c->pe == PE_ALIBI) {
            memcpy(p, m->alibi_slopes, sizeof(float) * NH);
            w->slopes = w->tables + (p - host);
            p += NH;
        }
        if (c->pe == PE_SINUSOIDAL) {
            memcpy(p, m->sin_table, sizeof(float) * (size_t)maxT * C);
            w->sin_table = w->tables + (p - host);
            p += (size_t)maxT * C;
        }
        if (c->pe == PE_ROPE) {
            float *cs = p, *sn = p + (size_t)maxT * half;
            for (int i = 0; i < half; i++) {
                double theta = pow((double)c->rope_theta, -2.0 * i / (double)hs);
                for (int t = 0; t < maxT; t++) {
                    double ang = (double)t * theta;
                    cs[(size_t)t * half + i] = (float)cos(ang);
                    sn[(size_t)t * half + i] = (float)sin(ang);
                }
            }
            w->rope_cos = w->tables + (cs - host);
            w->rope_sin = w->tables + (sn - host);
        }
        cudaError_t e = cudaMemcpy(w->tables, host, sizeof(float) * nt, cudaMemcpyHostToDevice);
        free(host);
        CUDA_TRY(e);
    }
    w->model = m;
    w->host_arena = m->params_memory;
    w->nparams = m->num_parameters;
    w->cfg = m->cfg;
    w->fingerprint = fp;
    return AVZ_OK;
}

/* ---- activations and staging --------------------------------------------------------------- */

static AvzCode acts_ensure(GpuCtx *g, const Model *m, int B, int T, int naive, char *err) {
    DevActs *a = &g->a;
    const Dims d = dims_of(&m->cfg);
    const size_t L = d.L, C = d.C, NH = d.NH, V = d.V, A = d.A, KV = d.KV;
    const size_t hid = m->cfg.mlp == MLP_SWIGLU ? (size_t)d.F : 0;
    const int same_shape = memcmp(&a->d, &d, sizeof d) == 0;
    if (!a->arena || !same_shape || B > a->B || T > a->T) {
        /* grow to at least what was there, so that alternating lengths do not thrash */
        const int nB = same_shape && a->B > B ? a->B : B, nT = same_shape && a->T > T ? a->T : T;
        const size_t BT = (size_t)nB * nT;
        const size_t sizes[] = {
            sizeof(int) * BT, L * NH,                                   /* tokens, mask */
            4 * BT * C, 4 * BT * C, 4 * BT * d.QKV,                     /* x, ln, qkv */
            4 * L * BT * A, 4 * L * BT * KV, 4 * BT * KV,               /* q, k, v */
            4 * L * NH * BT,                                            /* lse */
            4 * BT * A, 4 * BT * A, 4 * BT * C, 4 * BT * d.U, 4 * BT * hid,  /* z, zin, proj,
                                                                           fch, hid */
            4 * BT * V, 2 * BT * (A + 2 * KV), 4 * (size_t)nT * nT,     /* logits, h16, cap */
        };
        const int n = (int)(sizeof sizes / sizeof sizes[0]);
        size_t total = 0;
        for (int i = 0; i < n; i++) total += align256(sizes[i]);
        if (a->arena) cudaFree(a->arena);
        a->arena = NULL;
        CUDA_TRY(cudaMalloc(&a->arena, total));
        void **ptrs[] = {(void **)&a->tokens, (void **)&a->mask, (void **)&a->x,
                         (void **)&a->ln, (void **)&a->qkv, (void **)&a->q, (void **)&a->k,
                         (void **)&a->v, (void **)&a->lse, (void **)&a->z, (void **)&a->zin,
                         (void **)&a->proj, (void **)&a->fch, (void **)&a->hid,
                         (void **)&a->logits, (void **)&a->h16, (void **)&a->cap};
        char *p = a->arena;
        for (int i = 0; i < n; i++) {
            *ptrs[i] = p;
            p += align256(sizes[i]);
        }
        a->B = nB;
        a->T = nT;
        a->d = d;
        a->gen++;
    }
    if (naive) {
        const size_t need = L * B * NH * (size_t)T * T;
        if (need > a->P_cap) {
            if (a->P) cudaFree(a->P);
            a->P = NULL;
            a->P_cap = 0;
            CUDA_TRY(cudaMalloc(&a->P, sizeof(float) * need));
            a->P_cap = need;
            a->gen++;
        }
    }
    /* pinned staging */
    const size_t BT = (size_t)B * T;
    const size_t nout = BT * V + L * BT * (A + KV) + L * NH * BT;
    if (BT > g->pin_tokens_cap) {
        if (g->pin_tokens) cudaFreeHost(g->pin_tokens);
        g->pin_tokens = NULL;
        g->pin_tokens_cap = 0;
        CUDA_TRY(cudaMallocHost(&g->pin_tokens, sizeof(int) * BT));
        g->pin_tokens_cap = BT;
        a->gen++;
    }
    if (L * NH > g->pin_mask_cap) {
        if (g->pin_mask) cudaFreeHost(g->pin_mask);
        g->pin_mask = NULL;
        g->pin_mask_cap = 0;
        CUDA_TRY(cudaMallocHost(&g->pin_mask, L * NH));
        g->pin_mask_cap = L * NH;
        a->gen++;
    }
    if (nout > g->pin_out_cap) {
        if (g->pin_out) cudaFreeHost(g->pin_out);
        g->pin_out = NULL;
        g->pin_out_cap = 0;
        CUDA_TRY(cudaMallocHost(&g->pin_out, sizeof(float) * nout));
        g->pin_out_cap = nout;
        a->gen++;
    }
    return AVZ_OK;
}

/* ---- the forward pass ---------------------------------------------------------------------- */

/* out (N, OC) = x (N, C) @ w (C, OC), all row-major (GPT-2's Conv1D layout).
 * cuBLAS is column-major, and a row-major (R, K) matrix read column-major is its
 * transpose (K, R). So we ask for out^T (OC, N) = w^T (OC, C) @ x^T (C, N): the three
 * arrays as they are, no transposes, m = OC, n = N, k = C. */
static AvzCode matmul(GpuCtx *g, float *out, const float *x, const float *w, int N, int C, int OC,
                      char *err) {
    const float one = 1.0f, zero = 0.0f;
    CUBLAS_TRY(cublasSgemm(g->blas, CUBLAS_OP_N, CUBLAS_OP_N, OC, N, C, &one, w, OC, x, C, &zero,
                           out, OC));
    return AVZ_OK;
}

/* The LM head: logits (N, V) = x (N, C) @ wte^T with wte (V, C) row-major (tied; an untied
 * lm_head is stored the same way, nn.Linear's [out, in]), which
 * column-major is (C, V): logits^T (V, N) = op_T(wte) (V, C) @ x^T (C, N). */
static AvzCode matmul_wt(GpuCtx *g, float *logits, const float *x, const float *wte, int N,
                         int C, int V, char *err) {
    const float one = 1.0f, zero = 0.0f;
    CUBLAS_TRY(cublasSgemm(g->blas, CUBLAS_OP_T, CUBLAS_OP_N, V, N, C, &one, wte, C, x, C, &zero,
                           logits, V));
    return AVZ_OK;
}

/* out = Norm(x), the model's norm: LayerNorm (gain and bias) or RMSNorm (gain only) */
static AvzCode norm_launch(const ModelConfig *c, float *out, const float *x, const float *w,
                           const float *b, int N, cudaStream_t st, char *err) {
    if (c->norm == NORM_RMS)
        return rmsnorm_launch(out, x, w, N, c->n_embd, c->layer_norm_epsilon, st, err);
    return layernorm_launch(out, x, w, b, N, c->n_embd, c->layer_norm_epsilon, st, err);
}

/* A layer's bias, or NULL when the model's linear layers of that kind have none (the
 * tensor then has size 0: its pointer is the next tensor's). forward.c's bias_of. */
static const float *bias_of(const ModelConfig *c, unsigned kind, const float *b) {
    return (c->bias & kind) ? b : NULL;
}

/* model_forward on the stream, from the pinned inputs to the pinned outputs. Launch order
 * only: nothing here waits for the GPU, so it can be recorded into a graph. */
static AvzCode enqueue_forward(GpuCtx *g, const Model *m, int B, int T, GpuAttnKind kind,
                               int use_pos, int ablate_mode, char *err) {
    const ModelConfig *c = &m->cfg;
    const Dims d = dims_of(c);
    const int L = d.L, C = d.C, NH = d.NH, NKV = d.NKV, hs = d.hs, A = d.A, KV = d.KV;
    const int N = B * T;
    const size_t BT = (size_t)N;
    DevActs *a = &g->a;
    const DevWeights *w = &g->w;
    const ParamTensors *p = &w->p;
    cudaStream_t st = g->stream;

    CUDA_TRY(cudaMemcpyAsync(a->tokens, g->pin_tokens, sizeof(int) * BT, cudaMemcpyHostToDevice,
                             st));
    CUDA_TRY(cudaMemcpyAsync(a->mask, g->pin_mask, (size_t)L * NH, cudaMemcpyHostToDevice, st));

    const float *pos = NULL;
    if (use_pos && c->pe == PE_LEARNED) pos = p->wpe;
    if (use_pos && c->pe == PE_SINUSOIDAL) pos = w->sin_table;
    AVZ_TRY(embed_launch(a->x, a->tokens, p->wte, model_embed_scale(c), pos, N, T, C, st, err));
    const int rope = use_pos && c->pe == PE_ROPE;
    const float *slopes = use_pos ? w->slopes : NULL;   /* NULL: no bias (non-ALiBi too) */

    for (int l = 0; l < L; l++) {
        float *ql = a->q + l * BT * A, *kl = a->k + l * BT * KV, *lsel = a->lse + l * NH * BT;
        /* attention sub-block: x + o_proj(attn(Norm(x))) */
        AVZ_TRY(norm_launch(c, a->ln, a->x, p->ln1w + l * C, p->ln1b + l * C, N, st, err));
        AVZ_TRY(matmul(g, a->qkv, a->ln, p->qkvw + (size_t)l * C * d.QKV, N, C, d.QKV, err));
        AVZ_TRY(split_heads_launch(ql, kl, a->v, a->qkv,
                                   bias_of(c, BIAS_QKV, p->qkvb + (size_t)l * d.QKV),
                                   rope ? w->rope_cos : NULL, rope ? w->rope_sin : NULL, B, T,
                                   NH, NKV, hs, st, err));
        /* z (B, T, A): query head h writes columns h*hs .. h*hs + hs - 1 of every row */
        AttnArgs aa = {B, NH, T, hs, 1.0f / sqrtf((float)hs), 1, slopes, a->z,
                       (long long)T * A, hs, A, lsel, NKV};
        if (kind == GPU_ATTN_NAIVE) {
            AVZ_TRY(attn_naive_launch(&aa, ql, kl, a->v, a->P + (size_t)l * NH * BT * T, st, err));
        } else if (kind == GPU_ATTN_FP32) {
            AVZ_TRY(attn_flash_fp32_launch(&aa, ql, kl, a->v, st, err));
        } else {
            /* round q, k, v to 16 bits; q and k in place too, so that capture and the
             * host copies see exactly the values the tensor cores multiplied */
            const int bf16 = kind == GPU_ATTN_BF16;
            char *hq = (char *)a->h16, *hk = hq + 2 * BT * A, *hv = hk + 2 * BT * KV;
            AVZ_TRY(convert_to_16_launch(hq, ql, BT * A, bf16, 1, st, err));
            AVZ_TRY(convert_to_16_launch(hk, kl, BT * KV, bf16, 1, st, err));
            AVZ_TRY(convert_to_16_launch(hv, a->v, BT * KV, bf16, 0, st, err));
            AVZ_TRY(attn_flash_mma_launch(&aa, hq, hk, hv, bf16, st, err));
        }
        AVZ_TRY(ablate_launch(a->zin, a->z, a->mask + l * NH, ablate_mode, B, T, NH, hs, st, err));
        AVZ_TRY(matmul(g, a->proj, a->zin, p->attprojw + (size_t)l * A * C, N, A, C, err));
        AVZ_TRY(residual_bias_launch(a->x, a->proj, bias_of(c, BIAS_O, p->attprojb + l * C), N,
                                     C, st, err));
        /* MLP sub-block: x + down(act(up(Norm(x)))), act GELU or SwiGLU's silu(gate) * up */
        AVZ_TRY(norm_launch(c, a->ln, a->x, p->ln2w + l * C, p->ln2b + l * C, N, st, err));
        AVZ_TRY(matmul(g, a->fch, a->ln, p->fcw + (size_t)l * C * d.U, N, C, d.U, err));
        const float *fcb = bias_of(c, BIAS_MLP, p->fcb + (size_t)l * d.U), *hidden = a->fch;
        if (c->mlp == MLP_SWIGLU) {
            AVZ_TRY(bias_swiglu_launch(a->hid, a->fch, fcb, N, d.F, st, err));
            hidden = a->hid;
        } else {
            AVZ_TRY(bias_gelu_launch(a->fch, fcb, N, d.F, st, err));
        }
        AVZ_TRY(matmul(g, a->proj, hidden, p->fcprojw + (size_t)l * d.F * C, N, d.F, C, err));
        AVZ_TRY(residual_bias_launch(a->x, a->proj, bias_of(c, BIAS_MLP, p->fcprojb + l * C), N,
                                     C, st, err));
    }
    AVZ_TRY(norm_launch(c, a->ln, a->x, p->lnfw, p->lnfb, N, st, err));
    /* the LM head: wte (tied) or lm_head, both (V, C) */
    AVZ_TRY(matmul_wt(g, a->logits, a->ln, c->untied ? p->lm_head : p->wte, N, C, d.V, err));

    /* back to the host: logits, q, k, lse (the layout of pin_out) */
    float *out = g->pin_out;
    const size_t nl = BT * d.V, nq = (size_t)L * BT * A, nk = (size_t)L * BT * KV;
    const size_t nlse = (size_t)L * NH * BT;
    CUDA_TRY(cudaMemcpyAsync(out, a->logits, 4 * nl, cudaMemcpyDeviceToHost, st));
    CUDA_TRY(cudaMemcpyAsync(out + nl, a->q, 4 * nq, cudaMemcpyDeviceToHost, st));
    CUDA_TRY(cudaMemcpyAsync(out + nl + nq, a->k, 4 * nk, cudaMemcpyDeviceToHost, st));
    CUDA_TRY(cudaMemcpyAsync(out + nl + nq + nk, a->lse, 4 * nlse, cudaMemcpyDeviceToHost, st));
    return AVZ_OK;
}

static void graph_drop(GpuCtx *g) {
    if (g->graph) cudaGraphExecDestroy(g->graph);
    g->graph = NULL;
}

/* Records enqueue_forward into a graph (once per key) and launches it. */
static AvzCode run_graph(GpuCtx *g, const Model *m, const GraphKey *key, char *err) {
    if (!g->graph || memcmp(key, &g->key, sizeof *key) != 0) {
        graph_drop(g);
        CUDA_TRY(cudaStreamBeginCapture(g->stream, cudaStreamCaptureModeThreadLocal));
        AvzCode rc = enqueue_forward(g, m, key->B, key->T, (GpuAttnKind)key->kind, key->use_pos,
                                     key->ablate_mode, err);
        cudaGraph_t graph = NULL;
        cudaError_t e = cudaStreamEndCapture(g->stream, &graph);   /* always leave capture */
        if (rc != AVZ_OK || e != cudaSuccess) {
            if (graph) cudaGraphDestroy(graph);
            if (rc == AVZ_OK) rc = gpu_fail(err, __FILE__, __LINE__, "cudaStreamEndCapture", e);
            return rc;
        }
        e = cudaGraphInstantiate(&g->graph, graph, 0);
        cudaGraphDestroy(graph);
        if (e != cudaSuccess) {
            g->graph = NULL;
            return gpu_fail(err, __FILE__, __LINE__, "cudaGraphInstantiate", e);
        }
        memcpy(&g->key, key, sizeof *key);   /* with its padding: keys are memcmp'd */
    }
    CUDA_TRY(cudaGraphLaunch(g->graph, g->stream));
    return AVZ_OK;
}

/* What the kernels can run; anything else is refused with AVZ_ERR_INTERNAL (not the
 * user's fault), and backend_forward reruns it on the CPU with a note saying why. Every
 * family of the table is in reach: LayerNorm or RMSNorm, GELU or SwiGLU, grouped-query
 * attention, any head size the attention kernels are compiled for. */
static AvzCode check_supported(const ModelConfig *c, int B, char *err) {
    const int NH = c->n_head, NKV = c->n_kv_head, hs = c->head_dim;
    if ((c->norm != NORM_LAYER && c->norm != NORM_RMS) ||
        (c->mlp != MLP_GELU && c->mlp != MLP_SWIGLU))
        return avz_fail(err, AVZ_ERR_INTERNAL, "the CUDA backend has no kernels for this %s "
                        "model's norm or MLP; it runs on the CPU", arch_info(c->arch)->model_type);
    if (NKV < 1 || NH % NKV != 0)
        return avz_fail(err, AVZ_ERR_INTERNAL, "the GPU attention kernels need the query heads "
                        "(%d) to be a multiple of the key/value heads (%d)", NH, NKV);
    if (hs != 16 && hs != 32 && hs != 64 && hs != 128)
        return avz_fail(err, AVZ_ERR_INTERNAL, "the GPU attention kernels take head sizes 16, "
                        "32, 64 and 128; this model's is %d", hs);
    if ((long long)B * NH > 65535)
        return avz_fail(err, AVZ_ERR_INTERNAL, "batch x heads = %lld is more than the GPU "
                        "kernels' grid allows (65535)", (long long)B * NH);
    return AVZ_OK;
}

static AvzCode gpu_forward(Backend *be, Model *m, const int *tokens, const int *targets, int B,
                           int T, const ForwardOpts *opts, char *err) {
    GpuCtx *g = (GpuCtx *)be->ctx;
    AVZ_TRY(model_check_input(m, tokens, B, T, err));
    const ForwardOpts defaults = {};
    const ForwardOpts *o = opts ? opts : &defaults;
    const ModelConfig *c = &m->cfg;
    const Dims d = dims_of(c);
    const int L = d.L, NH = d.NH;
    g->last_model = NULL;
    AVZ_TRY(check_supported(c, B, err));
    const GpuAttnKind kind = o->attn == ATTN_NAIVE ? GPU_ATTN_NAIVE : g->attn;
    CUDA_TRY(cudaSetDevice(g->dev));
    AVZ_TRY(weights_upload(g, m, err));
    AVZ_TRY(acts_ensure(g, m, B, T, kind == GPU_ATTN_NAIVE, err));
    model_ensure_acts(m, B, T);

    const size_t BT = (size_t)B * T;
    memcpy(g->pin_tokens, tokens, sizeof(int) * BT);
    if (o->ablate) memcpy(g->pin_mask, o->ablate, (size_t)L * NH);
    else memset(g->pin_mask, 0, (size_t)L * NH);
    GraphKey key;
    memset(&key, 0, sizeof key);   /* padding too: keys are compared with memcmp */
    key.m = m;
    key.wgen = g->w.gen;
    key.agen = g->a.gen;
    key.B = B;
    key.T = T;
    key.kind = kind;
    key.use_pos = !o->no_position;
    key.ablate_mode = o->ablate_mode == ABLATE_MEAN;
    if (g->use_graphs) {
        AvzCode rc = run_graph(g, m, &key, err);
        if (rc != AVZ_OK) {
            /* a graph that cannot be recorded is no reason to leave the GPU: say so once
             * and launch the kernels one by one from now on */
            fprintf(stderr, "attnviz: CUDA graph capture failed (%s); launching kernels one "
                    "by one\n", err);
            cudaGetLastError();
            graph_drop(g);
            g->use_graphs = 0;
        }
    }
    if (!g->use_graphs)
        AVZ_TRY(enqueue_forward(g, m, B, T, kind, key.use_pos, key.ablate_mode, err));
    CUDA_TRY(cudaStreamSynchronize(g->stream));

    /* the results into the model's host activations */
    const float *out = g->pin_out;
    const size_t nl = BT * d.V, nq = (size_t)L * BT * d.A, nk = (size_t)L * BT * d.KV;
    const size_t nlse = (size_t)L * NH * BT;
    memcpy(m->acts.logits, out, 4 * nl);
    memcpy(m->acts.q, out + nl, 4 * nq);   /* (L, B, NH, T, hs): the host's layout */
    memcpy(m->acts.k, out + nl + nq, 4 * nk);   /* (L, B, NKV, T, hs) */
    memcpy(m->acts.lse, out + nl + nq + nk, 4 * nlse);
    if (kind == GPU_ATTN_NAIVE) {   /* the naive pass keeps P on the host, as the CPU's */
        const size_t need = (size_t)L * B * NH * T * T;
        if (need > m->att_cap) {
            free(m->att);
            m->att = (float *)avz_xmalloc(sizeof(float) * need);
            m->att_cap = need;
        }
        CUDA_TRY(cudaMemcpy(m->att, g->a.P, sizeof(float) * need, cudaMemcpyDeviceToHost));
    }
    m->B = B;
    m->T = T;
    m->last_attn = o->attn;
    m->no_position = o->no_position;
    m->mean_loss = targets ? ops_crossentropy(m->losses, m->acts.logits, targets, (int)BT, d.V)
                           : -1.0f;
    m->has_losses = targets != NULL;
    m->probs_valid = 0;
    g->last_model = m;
    g->last_naive = kind == GPU_ATTN_NAIVE;
    return AVZ_OK;
}

/* ---- capture --------------------------------------------------------------------------- */

/* Does the device still hold m's last pass? Another forward (the CPU's, say) on the same
 * model would have rewritten the host lse, which we compare with our own copy. */
static int device_holds(const GpuCtx *g, const Model *m) {
    if (g->last_model != m || g->last_naive || m->last_attn == ATTN_NAIVE) return 0;
    const Dims d = dims_of(&m->cfg);
    const size_t BT = (size_t)m->B * m->T, L = d.L, NH = d.NH;
    const size_t nl = BT * d.V, nq = L * BT * d.A, nk = L * BT * d.KV;
    return memcmp(m->acts.lse, g->pin_out + nl + nq + nk, sizeof(float) * L * NH * BT) == 0;
}

static AvzCode capture_on_device(GpuCtx *g, const Model *m, int layer, int head, int b,
                                 float *out, char *err) {
    const Dims d = dims_of(&m->cfg);
    const int T = m->T, NH = d.NH, hs = d.hs;
    const size_t BT = (size_t)m->B * T, bh = (size_t)b * NH + head;
    /* the head's queries, and the keys of its key/value head (model_head_k on the host) */
    const size_t kvh = (size_t)b * d.NKV + model_kv_head(&m->cfg, head);
    const float *q = g->a.q + layer * BT * d.A + bh * T * hs;
    const float *k = g->a.k + layer * BT * d.KV + kvh * T * hs;
    const float *lse = g->a.lse + layer * NH * BT + bh * T;
    const float *slope = (!m->no_position && g->w.slopes) ? g->w.slopes + head : NULL;
    CUDA_TRY(cudaSetDevice(g->dev));
    AVZ_TRY(attn_capture_launch(1, T, hs, 1.0f / sqrtf((float)hs), 1, slope, q, k, lse, g->a.cap,
                                g->stream, err));
    CUDA_TRY(cudaMemcpyAsync(out, g->a.cap, sizeof(float) * T * T, cudaMemcpyDeviceToHost,
                             g->stream));
    CUDA_TRY(cudaStreamSynchronize(g->stream));
    return AVZ_OK;
}

static void gpu_capture(Backend *be, const Model *m, int layer, int head, int b, float *out) {
    GpuCtx *g = (GpuCtx *)be->ctx;
    AVZ_ASSERT(layer >= 0 && layer < m->cfg.n_layer && head >= 0 && head < m->cfg.n_head);
    AVZ_ASSERT(b >= 0 && b < m->B);
    if (!device_holds(g, m)) {   /* a naive pass, or the model moved on: the host has it */
        model_capture(m, layer, head, b, out);
        return;
    }
    char err[AVZ_ERR_LEN];
    if (capture_on_device(g, m, layer, head, b, out, err) != AVZ_OK) {
        /* capture cannot report an error (it returns void), and the host holds q, k and
         * lse: say so once, and compute the map on the CPU */
        if (!g->capture_warned)
            fprintf(stderr, "attnviz: CUDA capture failed (%s); maps are computed on the "
                    "CPU\n", err);
        g->capture_warned = 1;
        cudaGetLastError();
        model_capture(m, layer, head, b, out);
    }
}

/* ---- create / destroy ---------------------------------------------------------------------- */

static void ctx_free(GpuCtx *g) {
    if (!g) return;
    graph_drop(g);
    weights_free(&g->w);
    if (g->a.arena) cudaFree(g->a.arena);
    if (g->a.P) cudaFree(g->a.P);
    if (g->pin_tokens) cudaFreeHost(g->pin_tokens);
    if (g->pin_mask) cudaFreeHost(g->pin_mask);
    if (g->pin_out) cudaFreeHost(g->pin_out);
    if (g->blas) cublasDestroy(g->blas);
    if (g->blas_ws) cudaFree(g->blas_ws);
    if (g->stream) cudaStreamDestroy(g->stream);
    cudaGetLastError();   /* errors while tearing down are not the next user's problem */
    free(g);
}

static void gpu_destroy(Backend *be) {
    ctx_free((GpuCtx *)be->ctx);
    free(be);
}

/* Everything gpu_backend_create does after finding a device; CUDA errors go to err. */
static AvzCode ctx_init(GpuCtx *g, char *device, size_t device_len, char *err) {
    cudaDeviceProp prop;
    CUDA_TRY(cudaGetDeviceProperties(&prop, g->dev));
    if (prop.major < 8)
        return avz_fail(err, AVZ_ERR_INTERNAL, "%s has compute capability %d.%d; the CUDA "
                        "backend needs 8.0 or newer (Ampere)", prop.name, prop.major, prop.minor);
    CUDA_TRY(cudaSetDevice(g->dev));
    CUDA_TRY(cudaFree(0));   /* creates the context now, so that failures show here */
    CUDA_TRY(cudaStreamCreateWithFlags(&g->stream, cudaStreamNonBlocking));
    CUBLAS_TRY(cublasCreate(&g->blas));
    CUBLAS_TRY(cublasSetStream(g->blas, g->stream));   /* resets the workspace: set it after */
    CUDA_TRY(cudaMalloc(&g->blas_ws, CUDA_BLAS_WS));
    CUBLAS_TRY(cublasSetWorkspace(g->blas, g->blas_ws, CUDA_BLAS_WS));
    /* plain fp32 products: no TF32 (it would cost the 1e-4 agreement with the CPU) */
    CUBLAS_TRY(cublasSetMathMode(g->blas, CUBLAS_DEFAULT_MATH));
    AVZ_TRY(attn_gpu_init(err));
    /* one launch and one synchronisation: proves that our kernels run on this GPU */
    float *probe = NULL;
    CUDA_TRY(cudaMalloc(&probe, 256 * sizeof(float)));
    AvzCode rc = fill_normal_launch(probe, 256, 1, 1.0f, g->stream, err);
    cudaError_t e = cudaStreamSynchronize(g->stream);
    cudaFree(probe);
    if (rc) return rc;
    CUDA_TRY(e);
    snprintf(device, device_len, "%.100s (CUDA, compute %d.%d, %d SMs, %.0f GiB)", prop.name,
             prop.major, prop.minor, prop.multiProcessorCount,
             prop.totalGlobalMem / 1073741824.0);
    return AVZ_OK;
}

extern "C" Backend *gpu_backend_create(char *why) {
    char err[AVZ_ERR_LEN] = "";
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        cudaGetLastError();
        if (e == cudaErrorNoDevice || (e == cudaSuccess && n == 0))
            snprintf(why, AVZ_ERR_LEN, "no CUDA device");
        else if (e == cudaErrorInsufficientDriver)
            snprintf(why, AVZ_ERR_LEN, "no NVIDIA driver, or one older than this build's CUDA "
                     "%d.%d runtime", CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10);
        else
            snprintf(why, AVZ_ERR_LEN, "cudaGetDeviceCount: %s", cudaGetErrorString(e));
        return NULL;
    }
    GpuCtx *g = (GpuCtx *)avz_xcalloc(1, sizeof *g);
    Backend *be = (Backend *)avz_xcalloc(1, sizeof *be);
    g->dev = 0;
    g->attn = GPU_ATTN_FP32;
    const char *env = getenv("AVZ_CUDA_ATTN");
    if (env && *env) {
        int k = gpu_attn_from_name(env);
        if (k >= 0 && k != GPU_ATTN_NAIVE) g->attn = (GpuAttnKind)k;
        else fprintf(stderr, "attnviz: AVZ_CUDA_ATTN=%s is not fp32, bf16 or fp16; using "
                     "fp32\n", env);
    }
    env = getenv("AVZ_CUDA_GRAPH");
    g->use_graphs = !(env && strcmp(env, "0") == 0);
    if (ctx_init(g, be->device, sizeof be->device, err) != AVZ_OK) {
        snprintf(why, AVZ_ERR_LEN, "%s", err);
        ctx_free(g);
        free(be);
        return NULL;
    }
    be->name = "cuda";
    be->forward = gpu_forward;
    be->capture = gpu_capture;
    be->destroy = gpu_destroy;
    be->ctx = g;
    return be;
}

extern "C" void gpu_backend_set_attn(Backend *be, GpuAttnKind k) {
    if (!be || strcmp(be->name, "cuda") != 0 || k == GPU_ATTN_NAIVE || (unsigned)k >= GPU_ATTN_COUNT)
        return;
    ((GpuCtx *)be->ctx)->attn = k;
}

extern "C" void gpu_backend_set_graphs(Backend *be, int on) {
    if (!be || strcmp(be->name, "cuda") != 0) return;
    GpuCtx *g = (GpuCtx *)be->ctx;
    g->use_graphs = on != 0;
    if (!on) graph_drop(g);
}
