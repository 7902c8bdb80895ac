/* ops_llama.cu: the two operations the Llama family (llama, qwen2, mistral: model/arch.h)
 * has and GPT-2 has not, one small kernel each: RMSNorm in place of LayerNorm, and
 * SwiGLU in place of GELU between the MLP's two products. Like ops.cu (read it first),
 * each mirrors a loop of model/ops.c and says which; the matrix products around them are
 * cuBLAS's (gpu_backend.cu). Grouped-query attention needs no kernel of its own: the
 * attention kernels take the number of key/value heads (AttnArgs.NKV) and split_heads
 * writes NKV key and value heads. */
#include <math.h>

#include "gpu_common.cuh"

/* ops_add_rmsnorm (its rmsnorm_row, add = NULL: the residual add is residual_bias's):
 * out = x / sqrt(mean(x^2) + eps) * w, no mean subtracted, no bias. One warp per row, as
 * layernorm_kernel: each lane sums the squares of every 32nd element, the warp adds the
 * 32 partial sums with shuffles. The CPU sums the squares in double; here each lane sums
 * C / 32 of them in float, which for the widths in use (C <= 8192) stays within a few
 * 1e-7 of the double sum. */
__global__ void rmsnorm_kernel(float *out, const float *x, const float *w, int N, int C,
                               float eps) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= N) return;
    const float *xr = x + (size_t)row * C;
    float ss = 0.0f;
    for (int i = lane; i < C; i += 32) ss += xr[i] * xr[i];
    const float r = 1.0f / sqrtf(warp_sum(ss) / C + eps);
    float *orow = out + (size_t)row * C;
    for (int i = lane; i < C; i += 32) orow[i] = xr[i] * r * w[i];
}

/* ops_swiglu (its swiglu_row), with the up product's bias added first when the model has
 * one (Llama's mlp_bias; bias NULL otherwise). gu (N, 2F) holds each row's gate then up,
 * the columns [gate | up] of the fused product; out (N, F) = silu(gate) * up. One thread
 * per output element (n, i): it reads gate (n, i) and up (n, F + i). Not in place: out's
 * row n would overwrite inputs of row n / 2 that another thread may not have read yet.
 * sigmoid(g) from a = e^(-|g|) in (0, 1], as the CPU does, so that no exponential
 * overflows whatever g is. */
__global__ void bias_swiglu_kernel(float *out, const float *gu, const float *bias, int N, int F) {
    const size_t n = (size_t)N * F;
    for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < n;
         idx += (size_t)gridDim.x * blockDim.x) {
        const size_t row = idx / F;
        const int i = (int)(idx % F);
        float g = gu[row * 2 * F + i], u = gu[row * 2 * F + F + i];
        if (bias) {
            g += bias[i];
            u += bias[F + i];
        }
        const float a = expf(-fabsf(g));
        const float sig = (g >= 0.0f ? 1.0f : a) / (1.0f + a);
        out[idx] = g * sig * u;
    }
}

/* ---- launchers ---------------------------------------------------------------------- */
#ifndef AVZ_GPU_EMULATE   /* tests/gpu/emu/ runs the kernels above on the CPU */

AvzCode rmsnorm_launch(float *out, const float *x, const float *w, int N, int C, float eps,
                       cudaStream_t st, char *err) {
    rmsnorm_kernel<<<cdiv(N, 8), 256, 0, st>>>(out, x, w, N, C, eps);
    LAUNCH_CHECK("rmsnorm_kernel");
    return AVZ_OK;
}

AvzCode bias_swiglu_launch(float *out, const float *gu, const float *bias, int N, int F,
                           cudaStream_t st, char *err) {
    bias_swiglu_kernel<<<grid_for((size_t)N * F), 256, 0, st>>>(out, gu, bias, N, F);
    LAUNCH_CHECK("bias_swiglu_kernel");
    return AVZ_OK;
}
#endif /* AVZ_GPU_EMULATE */
