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

__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
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

/* forward.c: split_heads, then posenc_rope_apply on q and k. One thread per (b, t, h, i)
 * with i < hs/2 handles the GPT-NeoX pair (i, i + hs/2) of q, k and v. The angles come
 * from tables the host computed in double precision exactly as posenc.c does, so the
 * rotation is the CPU's to the last bit of cos and sin. */
__global__ void split_heads_kernel(float *q, float *k, float *v, const float *qkv,
                                   const float *bias, const float *rope_cos,
                                   const float *rope_sin, int B, int T, int NH, int hs) {
    const int half = hs / 2, C = NH * hs;
    const size_t n = (size_t)B * T * NH * half;
    for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < n;
         idx += (size_t)gridDim.x * blockDim.x) {
        const int i = (int)(idx % half);
        const int h = (int)(idx / half % NH);
        const int t = (int)(idx / ((size_t)half * NH) % T);
        const int b = (int)(idx / ((size_t)half * NH * T));
        const float *row = qkv + ((size_t)b * T + t) * 3 * C + h * hs;
        const float *bq = bias + h * hs;
        float q1 = row[i] + bq[i], q2 = row[i + half] + bq[i + half];
        float k1 = row[C + i] + bq[C + i], k2 = row[C + i + half] + bq[C + i + half];
        const float v1 = row[2 * C + i] + bq[2 * C + i];
        const float v2 = row[2 * C + i + half] + bq[2 * C + i + half];
        if (rope_cos) {
            const float c = rope_cos[(size_t)t * half + i], s = rope_sin[(size_t)t * half + i];
            const float a1 = q1 * c - q2 * s, a2 = q1 * s + q2 * c;
            const float b1 = k1 * c - k2 * s, b2 = k1 * s + k2 * c;
            q1 = a1; q2 = a2; k1 = b1; k2 = b2;
        }
        const size_t o = (((size_t)b * NH + h) * T + t) * hs;
        q[o + i] = q1; q[o + i + half] = q2;
        k[o + i] = k1; k[o + i + half] = k2;
        v[o + i] = v1; v[o + i + half] = v2;
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

/* ops_gelu, with the c_fc bias added first */
__global__ void bias_gelu_kernel(float *x, const float *bias, int N, int OC) {
    const size_t n = (size_t)N * OC;
    for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < n;
         idx += (size_t)gridDim.x * blockDim.x) {
        const float xi = x[idx] + bias[idx % OC];
        x[idx] = 0.5f * xi * (1.0f + tanhf(GELU_K * (xi + 0.044715f * xi * xi * xi)));
    }
}

/* ops_add of the residual stream and a linear layer's output (with its bias) */
__global__ void residual_bias_kernel(float *x, const float *p, const float *bias, int N, int C) {
    const size_t n = (size_t)N * C;
    for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < n;
         idx += (size_t)gridDim.x * blockDim.x)
        x[idx] = x[idx] + (p[idx] + bias[idx % C]);
}

/* ---- launchers ---------------------------------------------------------------------- */
#ifndef AVZ_GPU_EMULATE   /* tests/gpu/emu/ runs the kernels above on the CPU */

/* grid-stride kernels: enough blocks to cover n, capped (each thread then loops) */
static unsigned grid_for(size_t n) {
    const size_t b = (n + 255) / 256;
    return b < 65535 * 8 ? (unsigned)(b ? b : 1) : 65535 * 8;
}

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
                           int hs, cudaStream_t st, char *err) {
    const size_t n = (size_t)B * T * NH * (hs / 2);
    split_heads_kernel<<<grid_for(n), 256, 0, st>>>(q, k, v, qkv, bias, rope_cos, rope_sin, B, T,
                                                    NH, hs);
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
