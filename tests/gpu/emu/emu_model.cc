/* emu_model.cc: the CUDA backend's whole forward pass and capture (gpu/gpu_backend.cu,
 * its real source) on the SIMT emulator of emu.h, against model_forward. No GPU needed:
 *   tests/gpu/emu/run.sh
 * The runtime API becomes host memory (cudaMalloc is aligned_alloc, cudaMemcpy is
 * memcpy), cuBLAS's sgemm becomes the column-major BLAS definition written out below
 * (so the row-major-to-column-major argument mapping of gpu_backend.cu is checked
 * too), and every launcher runs its kernel on the emulator with the launch shape of the
 * real one. Graphs and streams are not exercised (use_graphs = 0). */
#include "emu.h"

#include <cstdio>
#include <string>

/* ---- the runtime API on host memory ------------------------------------------------- */
static inline cudaError_t emu_malloc(void **p, size_t n) {
    *p = aligned_alloc(256, (n + 255) & ~(size_t)255);
    if (*p) memset(*p, 0xff, (n + 255) & ~(size_t)255);   /* NaN: unwritten reads show */
    return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
static inline cudaError_t emu_free(void *p) { free(p); return cudaSuccess; }
static inline cudaError_t emu_copy(void *d, const void *s, size_t n) {
    memcpy(d, s, n);
    return cudaSuccess;
}
static inline cudaError_t emu_ok() { return cudaSuccess; }
#define cudaMalloc(pp, n) emu_malloc((void **)(pp), (n))
#define cudaMallocHost(pp, n) emu_malloc((void **)(pp), (n))
#define cudaFree(p) emu_free((void *)(p))
#define cudaFreeHost(p) emu_free((void *)(p))
#define cudaMemcpy(d, s, n, k) emu_copy((d), (s), (n))
#define cudaMemcpyAsync(d, s, n, k, st) emu_copy((d), (s), (n))
#define cudaSetDevice(d) emu_ok()
#define cudaStreamSynchronize(s) emu_ok()
#define cudaGetLastError() emu_ok()

/* C = alpha op(A) op(B) + beta C, column-major, exactly as BLAS defines sgemm */
static cublasStatus_t emu_sgemm(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb,
                                int m, int n, int k, const float *alpha, const float *A,
                                int lda, const float *B, int ldb, const float *beta, float *C,
                                int ldc) {
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double acc = 0;
            for (int l = 0; l < k; l++) {
                const float a = ta == CUBLAS_OP_N ? A[i + (size_t)l * lda] : A[l + (size_t)i * lda];
                const float b = tb == CUBLAS_OP_N ? B[l + (size_t)j * ldb] : B[j + (size_t)l * ldb];
                acc += (double)a * b;
            }
            float &c = C[i + (size_t)j * ldc];
            c = (float)(*alpha * acc + (*beta != 0.0f ? *beta * c : 0.0f));
        }
    return CUBLAS_STATUS_SUCCESS;
}
#undef cublasSgemm
#define cublasSgemm emu_sgemm

#include "../../../gpu/gpu_common.cu"
#include "../../../gpu/ops.cu"
#include "../../../gpu/ops_llama.cu"
#include "../../../gpu/attention.cu"
#include "../../../gpu/attention_mma.cu"
#include "../../../gpu/gpu_backend.cu"

extern "C" {
#include "model.h"
#include "posenc.h"
#include "tokenizer.h"
}

alignas(16) float4 smem_f4[256 * 1024 / 16];
alignas(16) uint4 smem_u4[256 * 1024 / 16];
alignas(16) float cap_smem[64 * 1024];

/* ---- the launchers, with the real ones' shapes (grid-stride kernels get few blocks) --- */
static unsigned few(size_t n) { return std::min<size_t>(3, (n + 255) / 256); }

AvzCode attn_gpu_init(char *) { return AVZ_OK; }
AvzCode fill_normal_launch(float *x, size_t n, uint64_t seed, float scale, cudaStream_t, char *) {
    emu_launch(dim3(few(n)), dim3(256), fill_normal_kernel, x, n, seed, scale);
    return AVZ_OK;
}
AvzCode convert_to_16_launch(void *dst, float *src, size_t n, int bf16, int round_src,
                             cudaStream_t, char *) {
    if (bf16) emu_launch(dim3(few(n)), dim3(256), convert_to_16_kernel<__nv_bfloat16>,
                         (__nv_bfloat16 *)dst, src, n, round_src);
    else emu_launch(dim3(few(n)), dim3(256), convert_to_16_kernel<__half>, (__half *)dst, src, n,
                    round_src);
    return AVZ_OK;
}
AvzCode embed_launch(float *x, const int *tokens, const float *wte, float scale,
                     const float *pos, int N, int T, int C, cudaStream_t, char *) {
    emu_launch(dim3(few((size_t)N * C)), dim3(256), embed_kernel, x, tokens, wte, scale, pos, N, T,
               C);
    return AVZ_OK;
}
AvzCode layernorm_launch(float *out, const float *x, const float *w, const float *b, int N,
                         int C, float eps, cudaStream_t, char *) {
    emu_launch(dim3(cdiv(N, 8)), dim3(256), layernorm_kernel, out, x, w, b, N, C, eps);
    return AVZ_OK;
}
AvzCode split_heads_launch(float *q, float *k, float *v, const float *qkv, const float *bias,
                           const float *rc, const float *rs, int B, int T, int NH, int NKV,
                           int hs, cudaStream_t, char *) {
    emu_launch(dim3(few((size_t)B * T * (NH + NKV) * hs / 2)), dim3(256), split_heads_kernel, q,
               k, v, qkv, bias, rc, rs, B, T, NH, NKV, hs);
    return AVZ_OK;
}
AvzCode rmsnorm_launch(float *out, const float *x, const float *w, int N, int C, float eps,
                       cudaStream_t, char *) {
    emu_launch(dim3(cdiv(N, 8)), dim3(256), rmsnorm_kernel, out, x, w, N, C, eps);
    return AVZ_OK;
}
AvzCode bias_swiglu_launch(float *out, const float *gu, const float *bias, int N, int F,
                           cudaStream_t, char *) {
    emu_launch(dim3(few((size_t)N * F)), dim3(256), bias_swiglu_kernel, out, gu, bias, N, F);
    return AVZ_OK;
}
AvzCode ablate_launch(float *zin, const float *z, const unsigned char *mask, int mode, int B,
                      int T, int NH, int hs, cudaStream_t, char *) {
    emu_launch(dim3(B * NH), dim3(hs < 128 ? hs : 128), ablate_kernel, zin, z, mask, mode, T, NH,
               hs);
    return AVZ_OK;
}
AvzCode bias_gelu_launch(float *x, const float *bias, int N, int OC, cudaStream_t, char *) {
    emu_launch(dim3(few((size_t)N * OC)), dim3(256), bias_gelu_kernel, x, bias, N, OC);
    return AVZ_OK;
}
AvzCode residual_bias_launch(float *x, const float *p, const float *bias, int N, int C,
                             cudaStream_t, char *) {
    emu_launch(dim3(few((size_t)N * C)), dim3(256), residual_bias_kernel, x, p, bias, N, C);
    return AVZ_OK;
}
AvzCode attn_flash_fp32_launch(const AttnArgs *a, const float *q, const float *k,
                               const float *v, cudaStream_t, char *) {
    dim3 grid(cdiv(a->T, 64), a->B * a->NH), block(256);
    switch (a->hs) {
    case 16: emu_launch(grid, block, flash_fp32_kernel<16, 64>, *a, q, k, v); break;
    case 32: emu_launch(grid, block, flash_fp32_kernel<32, 64>, *a, q, k, v); break;
    case 64: emu_launch(grid, block, flash_fp32_kernel<64, 64>, *a, q, k, v); break;
    default: emu_launch(grid, block, flash_fp32_kernel<128, 32>, *a, q, k, v); break;
    }
    return AVZ_OK;
}
template <typename H>
static void mma_dispatch(const AttnArgs *a, const void *q, const void *k, const void *v) {
    dim3 grid(cdiv(a->T, 64), a->B * a->NH), block(128);
    const H *Q = (const H *)q, *K = (const H *)k, *V = (const H *)v;
    switch (a->hs) {
    case 16: emu_launch(grid, block, flash_mma_kernel<H, 16>, *a, Q, K, V); break;
    case 32: emu_launch(grid, block, flash_mma_kernel<H, 32>, *a, Q, K, V); break;
    case 64: emu_launch(grid, block, flash_mma_kernel<H, 64>, *a, Q, K, V); break;
    default: emu_launch(grid, block, flash_mma_kernel<H, 128>, *a, Q, K, V); break;
    }
}
AvzCode attn_flash_mma_launch(const AttnArgs *a, const void *q, const void *k, const void *v,
                              int bf16, cudaStream_t, char *) {
    if (bf16) mma_dispatch<__nv_bfloat16>(a, q, k, v);
    else mma_dispatch<__half>(a, q, k, v);
    return AVZ_OK;
}
AvzCode attn_naive_launch(const AttnArgs *a, const float *q, const float *k, const float *v,
                          float *P, cudaStream_t, char *) {
    const size_t BH = (size_t)a->B * a->NH, ns = BH * a->T * a->T, rows = BH * a->T;
    emu_launch(dim3(cdiv(ns, 256)), dim3(256), naive_scores_kernel, *a, q, k, P, ns);
    emu_launch(dim3(cdiv(rows, 8)), dim3(256), naive_softmax_kernel, *a, P, (int)rows);
    emu_launch(dim3(cdiv(rows * a->hs, 256)), dim3(256), naive_pv_kernel, *a, (const float *)P, v,
               rows * a->hs);
    return AVZ_OK;
}
AvzCode attn_capture_launch(int nh, int T, int hs, float scale, int causal, const float *slopes,
                            const float *q, const float *k, const float *lse, float *P,
                            cudaStream_t, char *) {
    emu_launch(dim3(cdiv(T, 32), cdiv(T, 32), nh), dim3(32, 8), capture_kernel, T, hs, scale,
               causal, slopes, q, k, lse, P);
    return AVZ_OK;
}

/* ---- the check -------------------------------------------------------------------------- */

static double rel_err(const float *a, const float *b, size_t n, int *nan) {
    double num = 0, den = 1e-30;
    for (size_t i = 0; i < n; i++) {
        if (a[i] != a[i]) (*nan)++;
        num = fmax(num, fabs((double)a[i] - b[i]));
        den = fmax(den, fabs((double)b[i]));
    }
    return num / den;
}

/* tests/helpers.c's helper_model, without Criterion; qkv_scale 20 as there (sharp maps) */
static void make_model(Model *m, PosEncoding pe, int L, int NH, int C, uint64_t seed,
                       float qkv_scale = 20.0f) {
    const int nw = 40;
    std::vector<std::string> s(nw);
    std::vector<const char *> w(nw);
    for (int i = 0; i < nw; i++) {
        s[i] = i == 0 ? "<bos>" : i == 1 ? "<unk>" : "w" + std::to_string(i);
        w[i] = s[i].c_str();
    }
    Vocab v;
    char err[AVZ_ERR_LEN];
    if (vocab_from_words(&v, w.data(), nw, err)) { puts(err); exit(2); }
    ModelConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.n_layer = L; cfg.n_head = NH; cfg.n_embd = C; cfg.n_positions = 80;
    cfg.vocab_size = v.n; cfg.layer_norm_epsilon = 1e-5f; cfg.pe = pe; cfg.rope_theta = 10000.0f;
    snprintf(cfg.tokenizer, sizeof cfg.tokenizer, "word");
    if (model_create(m, &cfg, &v, err)) { puts(err); exit(2); }
    model_init_random(m, seed);
    for (size_t i = 0; i < m->param_sizes[4]; i++) m->params.qkvw[i] *= qkv_scale;
    for (size_t i = 0; i < m->param_sizes[0]; i++) m->params.wte[i] *= 10.0f;
    model_params_changed(m);   /* written by hand: the packed copies are stale */
}

struct Pass { std::vector<float> logits, maps, probs; float loss; };

/* A Llama-family model (the shapes a Hugging Face checkpoint gives, built in memory as
 * tests/helpers.c's helper_llama does): RMSNorm, SwiGLU of width F, NKV key/value heads
 * of hd dimensions (hd need not be C / NH), RoPE, the given biases, an untied head or
 * not. Every weight random, the biases and norm gains too (init_random leaves them 0 and
 * 1, which would test nothing); q and k sharpened by qkv_scale. */
static void make_llama(Model *m, int L, int NH, int NKV, int C, int hd, int F, unsigned bias,
                       int untied, uint64_t seed, float qkv_scale = 6.0f) {
    const int nw = 40;
    std::vector<std::string> s(nw);
    std::vector<const char *> w(nw);
    for (int i = 0; i < nw; i++) {
        s[i] = i == 0 ? "<bos>" : i == 1 ? "<unk>" : "w" + std::to_string(i);
        w[i] = s[i].c_str();
    }
    Vocab v;
    char err[AVZ_ERR_LEN];
    if (vocab_from_words(&v, w.data(), nw, err)) { puts(err); exit(2); }
    ModelConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.arch = ARCH_LLAMA; cfg.hf = 1;
    cfg.n_layer = L; cfg.n_head = NH; cfg.n_kv_head = NKV; cfg.n_embd = C; cfg.head_dim = hd;
    cfg.n_inner = F; cfg.n_positions = 80; cfg.vocab_size = v.n; cfg.layer_norm_epsilon = 1e-6f;
    cfg.pe = PE_ROPE; cfg.rope_theta = 10000.0f; cfg.bias = bias; cfg.untied = untied;
    snprintf(cfg.tokenizer, sizeof cfg.tokenizer, "word");
    if (model_create(m, &cfg, &v, err)) { puts(err); exit(2); }
    model_init_random(m, seed);
    AvzRng r;
    avz_rng_init(&r, seed * 7 + 1);
    ParamTensors *p = &m->params;
    const size_t *sz = m->param_sizes;
    for (size_t i = 0; i < sz[4]; i++) p->qkvw[i] *= qkv_scale;
    for (size_t i = 0; i < sz[0]; i++) p->wte[i] *= 10.0f;
    float *gains[] = {p->ln1w, p->ln2w, p->lnfw};
    const size_t ng[] = {sz[2], sz[8], sz[14]};
    for (int t = 0; t < 3; t++)
        for (size_t i = 0; i < ng[t]; i++) gains[t][i] = 1.0f + 0.3f * avz_rng_normal(&r);
    float *biases[] = {p->qkvb, p->attprojb, p->fcb, p->fcprojb};
    const size_t nb[] = {sz[5], sz[7], sz[11], sz[13]};
    for (int t = 0; t < 4; t++)
        for (size_t i = 0; i < nb[t]; i++) biases[t][i] = 0.3f * avz_rng_normal(&r);
    model_params_changed(m);
}

static Pass run(Backend *be, Model *m, const int *ids, const int *tg, int B, int T,
                const ForwardOpts *o) {
    char err[AVZ_ERR_LEN];
    AvzCode rc = be ? be->forward(be, m, ids, tg, B, T, o, err) : model_forward(m, ids, tg, B, T, o, err);
    if (rc) { printf("forward failed: %s\n", err); exit(2); }
    const int L = m->cfg.n_layer, NH = m->cfg.n_head;
    Pass p;
    p.logits.assign(m->acts.logits, m->acts.logits + (size_t)B * T * m->cfg.vocab_size);
    const float *pr = model_probs(m);   /* the softmax the app shows, of these logits */
    p.probs.assign(pr, pr + (size_t)B * T * m->cfg.vocab_size);
    p.maps.resize((size_t)L * NH * T * T);
    for (int l = 0; l < L; l++)
        for (int h = 0; h < NH; h++) {
            float *dst = p.maps.data() + ((size_t)l * NH + h) * T * T;
            if (be) be->capture(be, m, l, h, 0, dst);
            else model_capture(m, l, h, 0, dst);
        }
    p.loss = m->mean_loss;
    return p;
}

static int bad = 0;
static double worst32 = 0, worst16 = 0, worst_maps = 0, worst_probs = 0;

static double max_abs(const float *a, const float *b, size_t n) {
    double e = 0;
    for (size_t i = 0; i < n; i++) e = std::max(e, fabs((double)a[i] - b[i]));
    return e;
}

static void compare(const char *what, Backend *be, Model *m, const int *ids, const int *tg, int B,
                    int T, const ForwardOpts *o, double tol) {
    Pass c = run(nullptr, m, ids, tg, B, T, o), g = run(be, m, ids, tg, B, T, o);
    int nan = 0;
    double e = std::max(rel_err(g.logits.data(), c.logits.data(), c.logits.size(), &nan),
                        rel_err(g.maps.data(), c.maps.data(), c.maps.size(), &nan));
    if (tg) e = std::max(e, (double)fabsf(g.loss - c.loss) / fabsf(c.loss));
    (tol < 1e-3 ? worst32 : worst16) = std::max(tol < 1e-3 ? worst32 : worst16, e);
    /* the maps and the next-token probabilities, absolute: both are in [0, 1] */
    const double em = max_abs(g.maps.data(), c.maps.data(), c.maps.size());
    const double ep = max_abs(g.probs.data(), c.probs.data(), c.probs.size());
    if (tol < 1e-3) {
        worst_maps = std::max(worst_maps, em);
        worst_probs = std::max(worst_probs, ep);
    }
    if (getenv("EMU_VERBOSE")) printf("  %-40s %.2e (maps %.2e, probs %.2e)\n", what, e, em, ep);
    if (nan || !(e <= tol) || !(em <= tol) || !(ep <= tol)) {
        bad++;
        printf("FAIL %s: rel err %.3e, maps %.3e, probs %.3e (%d NaN)\n", what, e, em, ep, nan);
    }
}

/* The shipped models (trained, so far better conditioned than the random test models):
 * fp32, bf16 and fp16 attention against the CPU at T = 64. */
static void shipped(Backend *be, GpuCtx *g) {
    static const char *const PES[] = {"none", "sinusoidal", "learned", "rope", "alibi"};
    for (const char *pe : PES) {
        char dir[128], err[AVZ_ERR_LEN];
        snprintf(dir, sizeof dir, "assets/models/%s", pe);
        Model m;
        if (model_load(&m, dir, err)) { printf("%s: not tested (%s)\n", dir, err); continue; }
        const int T = std::min(64, config_max_len(&m.cfg));
        std::vector<int> ids(T), tg(T);
        AvzRng r;
        avz_rng_init(&r, 17);
        for (int t = 0; t < T; t++)
            ids[t] = t ? 2 + (int)(avz_rng_u64(&r) % (uint64_t)(m.cfg.vocab_size - 2)) : 0;
        for (int t = 0; t < T; t++) tg[t] = t + 1 < T ? ids[t + 1] : -1;
        for (GpuAttnKind k : {GPU_ATTN_FP32, GPU_ATTN_BF16, GPU_ATTN_FP16}) {
            g->attn = k;
            char what[128];
            snprintf(what, sizeof what, "shipped %s %s", pe, gpu_attn_name(k));
            compare(what, be, &m, ids.data(), tg.data(), 1, T, nullptr,
                    k == GPU_ATTN_FP32 ? 1e-4 : 2e-2);
        }
        g->attn = GPU_ATTN_FP32;
        model_free(&m);
    }
}

/* Llama-family models (RMSNorm, SwiGLU, grouped-query attention, head_dim given, biases,
 * untied head) through the whole backend: fp32 flash, naive, ablation, batches, 16-bit.
 * Maps and next-token probabilities within 1e-4 of the CPU's. */
static void llama(Backend *be, GpuCtx *g) {
    struct Shape { const char *name; int NH, NKV, C, hd, F; unsigned bias; int untied; };
    static const Shape SHAPES[] = {
        {"gqa 4/2 hd16!=C/NH biases untied", 4, 2, 48, 16, 88, BIAS_QKV | BIAS_O | BIAS_MLP, 1},
        {"mqa 4/1 qkv bias (qwen2) untied", 4, 1, 64, 16, 136, BIAS_QKV, 1},
        {"gqa 2/1 hd64 no bias tied", 2, 1, 96, 64, 200, 0, 0},
    };
    int ids[2 * 70], tg[2 * 70];
    AvzRng r;
    avz_rng_init(&r, 5);
    for (int i = 0; i < 140; i++) ids[i] = i % 70 == 0 ? 0 : 2 + (int)(avz_rng_u64(&r) % 38);
    for (int i = 0; i < 140; i++) tg[i] = (i + 1) % 70 == 0 ? -1 : ids[i + 1];
    int si = 0;
    for (const Shape &sh : SHAPES) {
        Model m;
        make_llama(&m, 2, sh.NH, sh.NKV, sh.C, sh.hd, sh.F, sh.bias, sh.untied, 31 + si++);
        char what[160];
        for (int T : {1, 7, 70}) {
            snprintf(what, sizeof what, "llama %s T=%d", sh.name, T);
            compare(what, be, &m, ids, T > 1 ? tg : nullptr, 1, T, nullptr, 1e-4);
        }
        const int T = 33;
        unsigned char mask[8] = {0, 1, 0, 0, 0, 0, 0, 1};
        ForwardOpts zero = {}, mean = {}, nopos = {}, naive = {};
        zero.ablate = mean.ablate = mask;
        mean.ablate_mode = ABLATE_MEAN;
        nopos.no_position = 1;
        naive.attn = ATTN_NAIVE;
        snprintf(what, sizeof what, "llama %s ablate zero", sh.name);
        compare(what, be, &m, ids, tg, 1, T, &zero, 1e-4);
        snprintf(what, sizeof what, "llama %s ablate mean", sh.name);
        compare(what, be, &m, ids, tg, 1, T, &mean, 1e-4);
        snprintf(what, sizeof what, "llama %s no position", sh.name);
        compare(what, be, &m, ids, tg, 1, T, &nopos, 1e-4);
        snprintf(what, sizeof what, "llama %s naive", sh.name);
        compare(what, be, &m, ids, tg, 1, T, &naive, 1e-4);
        int ids2[2 * 33], tg2[2 * 33];
        for (int t = 0; t < T; t++) {
            ids2[t] = ids[t];
            ids2[T + t] = ids[70 + t];
        }
        for (int t = 0; t < T; t++) {
            tg2[t] = t + 1 < T ? ids2[t + 1] : -1;
            tg2[T + t] = t + 1 < T ? ids2[T + t + 1] : -1;
        }
        snprintf(what, sizeof what, "llama %s batch 2", sh.name);
        compare(what, be, &m, ids2, tg2, 2, T, nullptr, 1e-4);
        model_free(&m);
        Model m1;   /* 16-bit q, k, v: without the sharpening, as for GPT-2 above */
        make_llama(&m1, 2, sh.NH, sh.NKV, sh.C, sh.hd, sh.F, sh.bias, sh.untied, 41 + si, 1.0f);
        for (GpuAttnKind k : {GPU_ATTN_BF16, GPU_ATTN_FP16}) {
            g->attn = k;
            snprintf(what, sizeof what, "llama %s %s", sh.name, gpu_attn_name(k));
            compare(what, be, &m1, ids, nullptr, 1, 70, nullptr, 2e-2);
        }
        g->attn = GPU_ATTN_FP32;
        model_free(&m1);
        printf("llama %-36s ok so far: worst fp32 %.2e (maps %.2e, probs %.2e), 16-bit %.2e\n",
               sh.name, worst32, worst_maps, worst_probs, worst16);
        fflush(stdout);
    }
}

int main(int argc, char **argv) {
    static const PosEncoding PES[] = {PE_NONE, PE_SINUSOIDAL, PE_LEARNED, PE_ROPE, PE_ALIBI};
    GpuCtx *g = (GpuCtx *)calloc(1, sizeof(GpuCtx));
    g->attn = GPU_ATTN_FP32;
    g->use_graphs = 0;
    Backend be;
    memset(&be, 0, sizeof be);
    be.name = "cuda";
    be.forward = gpu_forward;
    be.capture = gpu_capture;
    be.ctx = g;
    if (argc > 1 && !strcmp(argv[1], "--llama")) {
        llama(&be, g);
        if (bad) printf("model emulation: %d FAILURES\n", bad);
        else printf("model emulation, Llama family: worst fp32 rel err %.2e (maps %.2e, probs "
                    "%.2e abs), bf16/fp16 %.2e\n", worst32, worst_maps, worst_probs, worst16);
        return bad ? 1 : 0;
    }
    if (argc > 1 && !strcmp(argv[1], "--shipped")) {
        shipped(&be, g);
        if (bad) printf("model emulation: %d FAILURES\n", bad);
        else printf("model emulation, shipped models: worst fp32 %.2e, bf16/fp16 %.2e\n", worst32,
                    worst16);
        return bad ? 1 : 0;
    }
    int ids[2 * 70], tg[2 * 70];
    AvzRng r;
    avz_rng_init(&r, 3);
    for (int i = 0; i < 140; i++) ids[i] = i % 70 == 0 ? 0 : 2 + (int)(avz_rng_u64(&r) % 38);
    for (int i = 0; i < 140; i++) tg[i] = (i + 1) % 70 == 0 ? -1 : ids[i + 1];
    const int shapes[2][2] = {{64, 4}, {128, 2}};   /* hs 16 and 64 */
    for (int e = 0; e < 5; e++)
        for (int s = 0; s < 2; s++) {
            Model m;
            make_model(&m, PES[e], 2, shapes[s][1], shapes[s][0], 11 + e);
            char what[128];
            for (int T : {1, 7, 70}) {
                snprintf(what, sizeof what, "%s C=%d T=%d", pe_name(PES[e]), shapes[s][0], T);
                compare(what, &be, &m, ids, T > 1 ? tg : nullptr, 1, T, nullptr, 1e-4);
            }
            const int T = 33;
            unsigned char mask[8] = {0, 1, 0, 0, 0, 0, 0, 1};
            ForwardOpts zero = {}, mean = {}, nopos = {}, naive = {};
            zero.ablate = mean.ablate = mask;
            mean.ablate_mode = ABLATE_MEAN;
            nopos.no_position = 1;
            naive.attn = ATTN_NAIVE;
            snprintf(what, sizeof what, "%s C=%d ablate zero", pe_name(PES[e]), shapes[s][0]);
            compare(what, &be, &m, ids, tg, 1, T, &zero, 1e-4);
            snprintf(what, sizeof what, "%s C=%d ablate mean", pe_name(PES[e]), shapes[s][0]);
            compare(what, &be, &m, ids, tg, 1, T, &mean, 1e-4);
            snprintf(what, sizeof what, "%s C=%d no position", pe_name(PES[e]), shapes[s][0]);
            compare(what, &be, &m, ids, tg, 1, T, &nopos, 1e-4);
            snprintf(what, sizeof what, "%s C=%d naive", pe_name(PES[e]), shapes[s][0]);
            compare(what, &be, &m, ids, tg, 1, T, &naive, 1e-4);
            /* batch of 2: ids rows 0 and 1 are ids[0..T) and ids[70..70+T) */
            int ids2[2 * 33], tg2[2 * 33];
            for (int t = 0; t < T; t++) {
                ids2[t] = ids[t];
                ids2[T + t] = ids[70 + t];
            }
            for (int t = 0; t < T; t++) {
                tg2[t] = t + 1 < T ? ids2[t + 1] : -1;
                tg2[T + t] = t + 1 < T ? ids2[T + t + 1] : -1;
            }
            snprintf(what, sizeof what, "%s C=%d batch 2", pe_name(PES[e]), shapes[s][0]);
            compare(what, &be, &m, ids2, tg2, 2, T, nullptr, 1e-4);
            /* 16-bit q and k on the x20-sharpened maps move logits by several percent:
             * the 16-bit passes run on the same model with GPT-2's plain initialisation */
            Model m1;
            make_model(&m1, PES[e], 2, shapes[s][1], shapes[s][0], 11 + e, 1.0f);
            for (GpuAttnKind k : {GPU_ATTN_BF16, GPU_ATTN_FP16}) {
                g->attn = k;
                snprintf(what, sizeof what, "%s C=%d %s", pe_name(PES[e]), shapes[s][0],
                         gpu_attn_name(k));
                compare(what, &be, &m1, ids, nullptr, 1, 70, nullptr, 2e-2);
            }
            g->attn = GPU_ATTN_FP32;
            model_free(&m1);
            for (size_t i = 0; i < m.num_parameters; i++) m.params_memory[i] *= 0.9f;
            model_params_changed(&m);   /* else the CPU multiplies by stale packed copies */
            snprintf(what, sizeof what, "%s C=%d changed weights", pe_name(PES[e]), shapes[s][0]);
            compare(what, &be, &m, ids, tg, 1, T, nullptr, 1e-4);
            model_free(&m);
            printf("%-10s C=%-3d ok so far: worst fp32 %.2e, 16-bit %.2e\n", pe_name(PES[e]),
                   shapes[s][0], worst32, worst16);
            fflush(stdout);
        }
    if (bad) printf("model emulation: %d FAILURES\n", bad);
    else printf("model emulation: the GPU forward agrees with the CPU (worst fp32 %.2e, "
                "bf16/fp16 %.2e)\n", worst32, worst16);
    return bad ? 1 : 0;
}
