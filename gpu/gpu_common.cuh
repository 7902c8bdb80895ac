/* gpu_common.cuh: what every CUDA file of attnviz shares: the checked-call macros and
 * the launchers that one .cu file offers the others.
 *
 * Errors (STYLE.md, tiers 2 and 3). A CUDA call can fail for reasons the user causes or
 * can fix (no driver, out of memory, a GPU too old), so nothing here exits: every
 * launcher returns an AvzCode and writes into a caller-owned err buffer a message with
 * the file, the line, the call, CUDA's error and a hint. Every CUDA call is wrapped in
 * CUDA_TRY, every cuBLAS call in CUBLAS_TRY, and every kernel launch is followed by
 * LAUNCH_CHECK (cudaGetLastError), so that a launch that never ran cannot leave stale
 * output behind silently. Kernel crashes are asynchronous: they surface at the next
 * synchronising call, which CUDA_TRY also checks; the hint says how to find the kernel. */
#ifndef AVZ_GPU_COMMON_CUH
#define AVZ_GPU_COMMON_CUH

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "common.h"
#include "gpu_backend.h"
}

/* Formats "file:line: call failed: <CUDA error> (<name>). Hint: ..." into err and
 * returns AVZ_ERR_INTERNAL. err may be NULL (the message then goes to stderr). */
AvzCode gpu_fail(char *err, const char *file, int line, const char *call, cudaError_t e);
AvzCode gpu_fail_blas(char *err, const char *file, int line, const char *call,
                      cublasStatus_t s);

#define CUDA_TRY(call)                                                                 \
    do {                                                                               \
        cudaError_t e_ = (call);                                                       \
        if (e_ != cudaSuccess) return gpu_fail(err, __FILE__, __LINE__, #call, e_);   \
    } while (0)

#define CUBLAS_TRY(call)                                                               \
    do {                                                                               \
        cublasStatus_t s_ = (call);                                                    \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                               \
            return gpu_fail_blas(err, __FILE__, __LINE__, #call, s_);                  \
    } while (0)

/* After every <<<...>>>: a bad launch (too many threads, too much shared memory, no
 * kernel image for this GPU) is reported here and never runs. */
#define LAUNCH_CHECK(kernel_name)                                                      \
    do {                                                                               \
        cudaError_t e_ = cudaGetLastError();                                           \
        if (e_ != cudaSuccess)                                                         \
            return gpu_fail(err, __FILE__, __LINE__, "launch of " kernel_name, e_);    \
    } while (0)

/* Propagates an AvzCode from a launcher (variadic: template arguments have commas). */
#define AVZ_TRY(...)                                                                   \
    do {                                                                               \
        AvzCode rc_ = (__VA_ARGS__);                                                   \
        if (rc_ != AVZ_OK) return rc_;                                                 \
    } while (0)

static inline unsigned cdiv(size_t a, size_t b) { return (unsigned)((a + b - 1) / b); }

/* grid-stride kernels: enough blocks of 256 threads to cover n, capped (each thread then
 * loops) */
static inline unsigned grid_for(size_t n) {
    const size_t b = (n + 255) / 256;
    return b < 65535 * 8 ? (unsigned)(b ? b : 1) : 65535 * 8;
}

/* The sum of x over the 32 lanes of a warp, in every lane (ops.cu, ops_llama.cu) */
__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
}

/* ---- attention (attention.cu, attention_mma.cu) --------------------------------------
 * One description of a batch of heads for every attention kernel.
 *   q       : (B * NH, T, hs) packed, query head bh = b * NH + h
 *   k, v    : (B * NKV, T, hs) packed, key/value head b * NKV + h / (NH / NKV): grouped-
 *             query attention (model/forward.c's attention_layer), NKV = NH without it
 *   out     : row t of head (b, h) at out + b * o_sb + h * o_sh + t * o_st, hs floats;
 *             packed (BH, T, hs) is o_sb = NH*T*hs, o_sh = T*hs, o_st = hs; the model's
 *             (B, T, C) concatenation of heads is o_sb = T*C, o_sh = hs, o_st = C.
 *   lse     : (B * NH, T) natural log-sum-exp of each row's scores
 *   slopes  : (NH) ALiBi slope of each head on the device, or NULL
 *   NKV     : key/value heads (NH a multiple of it); 0 means NH, one per query head, so
 *             that an initializer that stops before it describes plain attention */
struct AttnArgs {
    int B, NH, T, hs;
    float scale;
    int causal;
    const float *slopes;
    float *out;
    long long o_sb, o_sh, o_st;
    float *lse;
    int NKV;
};

/* The key/value head that query head bh = b * NH + h reads, b * NKV + h / (NH / NKV):
 * every kernel's k and v offsets go through this one line. */
__device__ __forceinline__ int attn_kv_head(const AttnArgs &a, int bh) {
    const int nkv = a.NKV > 0 ? a.NKV : a.NH;
    return bh / a.NH * nkv + bh % a.NH / (a.NH / nkv);
}

/* Sets the large shared-memory limits of the attention kernels; call once per process
 * before the first launch (and outside a graph capture). */
AvzCode attn_gpu_init(char *err);

/* fp32 flash attention. q, k, v fp32. */
AvzCode attn_flash_fp32_launch(const AttnArgs *a, const float *q, const float *k,
                               const float *v, cudaStream_t st, char *err);

/* Tensor-core flash attention. q, k, v are 16-bit (bf16 if bf16, else fp16), packed
 * (BH, T, hs) like the fp32 ones. */
AvzCode attn_flash_mma_launch(const AttnArgs *a, const void *q, const void *k,
                              const void *v, int bf16, cudaStream_t st, char *err);

/* Naive attention: P (BH, T, T) is written (probabilities, zeros where masked). */
AvzCode attn_naive_launch(const AttnArgs *a, const float *q, const float *k,
                          const float *v, float *P, cudaStream_t st, char *err);

/* Capture: P (nh, T, T) for heads [0, nh) of q, k (nh, T, hs) and lse (nh, T), head z
 * using slope slopes[z] (slopes may be NULL). */
AvzCode attn_capture_launch(int nh, int T, int hs, float scale, int causal,
                            const float *slopes, const float *q, const float *k,
                            const float *lse, float *P, cudaStream_t st, char *err);

/* Converts n floats to bf16 (bf16 = 1) or fp16 into dst; with round_src the source is
 * overwritten by the rounded values, so that later fp32 readers (capture) see exactly
 * what the tensor cores saw. */
AvzCode convert_to_16_launch(void *dst, float *src, size_t n, int bf16, int round_src,
                             cudaStream_t st, char *err);

/* Fills n floats with N(0, 1) numbers from a counter-based hash: reproducible for a
 * seed, and no host transfer (for the bench's large inputs). */
AvzCode fill_normal_launch(float *x, size_t n, uint64_t seed, float scale, cudaStream_t st,
                           char *err);

/* ---- the transformer's other operations (ops.cu), mirrors of model/ops.c and forward.c ----
 * Shapes as in model/model.h: N = B * T rows, C channels, NH heads of size hs. */

/* x (N, C) = scale * wte[token] (+ pos[t], the learned or sinusoidal vector, when pos is
 * not NULL); scale = model_embed_scale */
AvzCode embed_launch(float *x, const int *tokens, const float *wte, float scale,
                     const float *pos, int N, int T, int C, cudaStream_t st, char *err);

/* LayerNorm of each row of x (N, C) into out: one warp per row */
AvzCode layernorm_launch(float *out, const float *x, const float *w, const float *b, int N,
                         int C, float eps, cudaStream_t st, char *err);

/* qkv (B, T, (NH + 2 NKV) hs) without its bias -> q (B, NH, T, hs), k and v (B, NKV, T,
 * hs) with the bias added (bias NULL: none); q and k rotated when rope_cos / rope_sin
 * ((max T, hs/2) tables) are given */
AvzCode split_heads_launch(float *q, float *k, float *v, const float *qkv, const float *bias,
                           const float *rope_cos, const float *rope_sin, int B, int T, int NH,
                           int NKV, int hs, cudaStream_t st, char *err);

/* zin = z (B, T, C), except heads with mask[h] = 1: zeros (mode 0) or their mean over t */
AvzCode ablate_launch(float *zin, const float *z, const unsigned char *mask, int mode, int B,
                      int T, int NH, int hs, cudaStream_t st, char *err);

/* x (N, OC) = gelu(x + bias) in place (bias NULL: none) */
AvzCode bias_gelu_launch(float *x, const float *bias, int N, int OC, cudaStream_t st,
                         char *err);

/* x (N, C) += p + bias: a residual connection after a linear layer (bias NULL: none) */
AvzCode residual_bias_launch(float *x, const float *p, const float *bias, int N, int C,
                             cudaStream_t st, char *err);

/* ---- the Llama family's operations (ops_llama.cu), mirrors of model/ops.c ---------- */

/* RMSNorm of each row of x (N, C) into out, gain w (C), no bias: one warp per row */
AvzCode rmsnorm_launch(float *out, const float *x, const float *w, int N, int C, float eps,
                       cudaStream_t st, char *err);

/* out (N, F) = silu(gate) * up, gu (N, 2F) the rows [gate | up] of the MLP's first product,
 * bias (2F) added to it first (NULL: none) */
AvzCode bias_swiglu_launch(float *out, const float *gu, const float *bias, int N, int F,
                           cudaStream_t st, char *err);

#endif
