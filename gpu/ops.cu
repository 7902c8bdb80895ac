/* ops.cu: the transformer's operations other than attention and the matrix products, one
 * small kernel each. Each mirrors a loop of model/ops.c or model/forward.c, with one GPU
 * thread per element (or one warp per row where a row is reduced). The biases of the
 * linear layers are added here, fused into the kernel that reads the product next
 * (split_heads, bias_gelu, residual_bias), so that cuBLAS computes plain products and no
 * launch is spent on a bias alone. */
#include <math.h>

#include "gpu_common.cuh"

/* forward.c: embed. scale is model_embed_scale (sqrt(C) for sinusoidal models, else 1). */
__global__ void embed_kernel(float *x, const int *tokens, const float *wte, float scale,
                             const float *pos, int N, int T, int C) {
    const size_t n = (size_t)N * C;
    for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < n;
         idx += (size_t)gridDim.x * blockDim.x) {
        const int row = (int)(idx / C), i = (int)(idx % C), t = row % T;
        x[idx] = scale * wte[(size_t)tokens[row] * C + i] + (pos ? pos[(size_t)t * C + i] : 0.0f);
    }
}

/* ops_layernorm: one warp per row; the same two passes (mean, then the variance around it) */
__global__ void layernorm_kernel(float *out, const float *x, const float *w, const float *b,
                                 int N, int C, float eps) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= N) return;
    const float *xr = x + (size_t)row * C;
    float s = 0.0f;
    for (int i = lane; i < C; i += 32) s += xr[i];
    const float m = warp_sum(s) / C;
    float vs = 0.0f;
    for (int i = lane; i < C; i += 32) vs += (xr[i] - m) * (xr[i] - m);
    const float r = 1.0f / sqrtf(warp_sum(vs) / C + eps);
    float *orow = out + (size_t)row * C;
    for (int i = lane; i < C; i += 32) orow[i] = (xr[i] - m) * r * w[i] + b[i];
}

/* forward.c: split_head, then posenc_rope_apply_table on q and k. A row of qkv is
 * [q | k | v]: NH query heads, then NKV key heads, then NKV value heads, hs columns each
 * (NKV = NH for GPT-2; fewer for grouped-query attention, where a key/value head serves
 * NH / NKV query heads). One thread per (b, t, s, i) with i < hs/2 handles the GPT-NeoX
 * pair (i, i + hs/2) of slot s: s < NH is query head s, rotated; s >= NH is key/value
 * head g = s - NH, its key rotated and its value copied. The CPU's loop over heads and
 * positions becomes the grid. The bias (model.h's qkvb, the same [q | k | v] columns) is
 * added first, or nothing when bias is NULL (Llama without attention_bias). The angles
 * come from tables the host computed in double precision exactly as posenc.c does, so
 * the rotation is the CPU's to the last bit of cos and sin. */
__global__ void split_heads_kernel(float *q, float *k, float *v, const float *qkv,
                                   const float *bias, const float *rope_cos,
                                   const float *rope_sin, int B, int T, int NH, int NKV, int hs) {
    const int half = hs / 2, S = NH + NKV, ld = (NH + 2 * NKV) * hs;
    const size_t n = (size_t)B * T * S * half;
    for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < n;
         idx += (size_t)gridDim.x * blockDim.x) {
        const int i = (int)(idx % half);
        const int s = (int)(idx / half % S);
        const int t = (int)(idx / ((size_t)half * S) % T);
        const int b = (int)(idx / ((size_t)half * S * T));
        const int col = s * hs;   /* q head s, or k head s - NH: k starts at NH * hs */
        const float *row = qkv + ((size_t)b * T + t) * ld;
        float x1 = row[col + i] + (bias ? bias[col + i] : 0.0f);
        float x2 = row[col + i + half] + (bias ? bias[col + i + half] : 0.0f);
        if (rope_cos) {
            const float c = rope_cos[(size_t)t * half + i], sn = rope_sin[(size_t)t * half + i];
            const float a1 = x1 * c - x2 * sn, a2 = x1 * sn + x2 * c;
            x1 = a1; x2 = a2;
        }
        if (s < NH) {
            const size_t o = (((size_t)b * NH + s) * T + t) * hs;
            q[o + i] = x1; q[o + i + half] = x2;
            continue;
        }
        const int g = s - NH, vc = (NH + NKV + g) * hs;   /* v head g's columns */
        const size_t o = (((size_t)b * NKV + g) * T + t) * hs;
        k[o + i] = x1; k[o + i + half] = x2;
        v[o + i] = row[vc + i] + (bias ? bias[vc + i] : 0.0f);
        v[o + i + half] = row[vc + i + half] + (bias ? bias[vc + i + half] : 0.0f);
    }
}

/* forward.c: ablate_heads. One block per (b, h), one thread per dimension d; the mean
 * over t is summed in the CPU's order (t = 0, 1, ...), so it is the CPU's to the bit. */
__global__ void ablate_kernel(float *zin, const float *z, const unsigned char *mask, int mode,
                              int T, int NH, int hs) {
    const int b = blockIdx.x / NH, h = blockIdx.x % NH;
    const int C = NH * hs;
    for (int d = threadIdx.x; d < hs; d += blockDim.x) {
        const size_t base = (size_t)b * T * C + h * hs + d;
        if (!mask[h]) {
            for (int t = 0; t < T; t++) zin[base + (size_t)t * C] = z[base + (size_t)t * C];
            continue;
        }
        float mean = 0.0f;
        if (mode == 1) {
            for (int t = 0; t < T; t++) mean += z[base + (size_t)t * C];
            mean /= T;
        }
        for (int t = 0; t < T; t++) zin[base + (size_t)t * C] = mean;
    }
}

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */

/* ops_gelu, with the c_fc bias added first (none when bias is NULL). This tanh form is
 * GPT-2's gelu_new (also gelu_pytorch_tanh and gelu_fast, the activation names the
 * architecture table accepts for GPT-2: the same function) */
__global__ void bias_gelu_kernel(float *x, const float *bias, int N, int OC) {
    const size_t n = (size_t)N * OC;
    for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < n;
         idx += (size_t)gridDim.x * blockDim.x) {
        const float xi = x[idx] + (bias ? bias[idx % OC] : 0.0f);
        x[idx] = 0.5f * xi * (1.0f + tanhf(GELU_K * (xi + 0.044715f * xi * xi * xi)));
    }
}

/* ops_add of the residual stream and a linear layer's output (with its bias, or none
 * when bias is NULL: Llama's o_proj and down_proj) */
__global__ void residual_bias_kernel(float *x, const float *p, const float *bias, int N, int C) {
    const size_t n = (size_t)N * C;
    for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < n;
         idx += (size_t)gridDim.x * blockDim.x)
        x[idx] = x[idx] + (p[idx] + (bias ? bias[idx % C] : 0.0f));
}

/* ---- launchers ---------------------------------------------------------------------- */
#ifndef AVZ_GPU_EMULATE   /* tests/gpu/emu/ runs the kernels above on the CPU */

AvzCode embed_launch(float *x, const int *tokens, const float *wte, float scale,
                     const float *pos, int N, int T, int C, cudaStream_t st, char *err) {
    embed_kernel<<<grid_for((size_t)N * C), 256, 0, st>>>(x, tokens, wte, scale, pos, N, T, C);
    LAUNCH_CHECK("embed_kernel");
    return AVZ_OK;
}

AvzCode layernorm_launch(float *out, const float *x, const float *w, const float *b, int N,
                         int C, float eps, cudaStream_t st, char *err) {
    layernorm_kernel<<<cdiv(N, 8), 256, 0, st>>>(out, x, w, b, N, C, eps);
    LAUNCH_CHECK("layernorm_kernel");
    return AVZ_OK;
}

AvzCode split_heads_launch(float *q, float *k, float *v, const float *qkv, const float *bias,
                           const float *rope_cos, const float *rope_sin, int B, int T, int NH,
                           int NKV, int hs, cudaStream_t st, char *err) {
    const size_t n = (size_t)B * T * (NH + NKV) * (hs / 2);
    split_heads_kernel<<<grid_for(n), 256, 0, st>>>(q, k, v, qkv, bias, rope_cos, rope_sin, B, T,
                                                    NH, NKV, hs);
    LAUNCH_CHECK("split_heads_kernel");
    return AVZ_OK;
}

AvzCode ablate_launch(float *zin, const float *z, const unsigned char *mask, int mode, int B,
                      int T, int NH, int hs, cudaStream_t st, char *err) {
    ablate_kernel<<<B * NH, hs < 128 ? hs : 128, 0, st>>>(zin, z, mask, mode, T, NH, hs);
    LAUNCH_CHECK("ablate_kernel");
    return AVZ_OK;
}

AvzCode bias_gelu_launch(float *x, const float *bias, int N, int OC, cudaStream_t st,
                         char *err) {
    bias_gelu_kernel<<<grid_for((size_t)N * OC), 256, 0, st>>>(x, bias, N, OC);
    LAUNCH_CHECK("bias_gelu_kernel");
    return AVZ_OK;
}

AvzCode residual_bias_launch(float *x, const float *p, const float *bias, int N, int C,
                             cudaStream_t st, char *err) {
    residual_bias_kernel<<<grid_for((size_t)N * C), 256, 0, st>>>(x, p, bias, N, C);
    LAUNCH_CHECK("residual_bias_kernel");
    return AVZ_OK;
}
#endif /* AVZ_GPU_EMULATE */
