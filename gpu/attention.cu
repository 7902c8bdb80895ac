/* attention.cu: fp32 attention on the GPU: the flash kernel the backend uses by default,
 * the naive kernels it is measured against, and the capture kernel that recomputes a map.
 * The CPU versions in model/attention.c are the reference: read them first; each kernel
 * here says which CPU loop it parallelises.
 *
 * Grouped-query attention (Llama's num_key_value_heads < num_attention_heads): query head
 * h of batch row b reads key/value head b * NKV + h / (NH / NKV) (attn_kv_head), exactly as
 * attention_layer in model/forward.c does; every output row, lse and map still belongs to
 * its query head. Nothing else changes: a block still owns one query head.
 *
 * How flash attention maps onto a GPU (FlashAttention-2's work split):
 *   - One thread block per (head, block of BQ = 64 query rows). Blocks never talk to each
 *     other: every query row's softmax only needs that row's scores, so the grid is
 *     (T / BQ) x (B * NH) independent pieces of work.
 *   - The block walks over the keys in tiles of BK rows. Each tile of K and V is copied
 *     from global memory into shared memory once and then read by all 256 threads, so
 *     each key is fetched from DRAM (well, L2) T / BQ times instead of T times.
 *   - The running max m, the running sum l and the output accumulator of each row live in
 *     registers for the whole walk (the online softmax of attn_flash); the (T, T) matrix
 *     never exists. Only m + log(l), the log-sum-exp, is written out per row.
 *   - Causal: key tiles after the block's last query are never loaded (half the work).
 *     Only the tile on the diagonal needs the mask; rows and keys past T are masked too,
 *     so T need not be a multiple of anything.
 */
#include <math.h>

#include "gpu_common.cuh"

/* ---- fp32 flash attention ------------------------------------------------------------
 * 256 threads seen as a 16 x 16 grid (ty, tx). For a tile, thread (ty, tx) computes the
 * scores of query rows ty + 16 i (i < 4) against keys tx + 16 j (j < BK / 16): a small
 * register tile, so that each value read from shared memory feeds several FMAs. The 16
 * threads that share a row (same ty) are 16 consecutive lanes of one warp: the row max
 * and row sum are reduced among them with warp shuffles. For P V, the same thread owns
 * the same rows and D / 16 consecutive output columns. */
template <int D, int BK>
struct Fp32Tiles {
    static constexpr int BQ = 64, THREADS = 256;
    static constexpr int RQ = BQ / 16;   /* query rows per thread */
    static constexpr int RK = BK / 16;   /* key columns per thread */
    static constexpr int RD = D / 16;    /* output columns per thread */
    /* Row strides in floats. +4 keeps rows 16-byte aligned (float4 loads) and shifts
     * successive rows by 4 banks, so that the 16 lanes reading 16 different key rows at
     * the same column hit 8 different groups of 4 banks: no conflict beyond the two
     * passes a 256-byte read needs anyway. */
    static constexpr int QS = D + 4, PS = BK + 4;
    static constexpr size_t SMEM = sizeof(float) * ((size_t)BQ * QS + (size_t)BK * QS +
                                                    (size_t)BK * D + (size_t)BQ * PS);
};

/* Copies rows [r0, r0 + R) of a (T, D) matrix into shared memory with row stride S,
 * 16 bytes per thread per step (coalesced); rows at or past T are zero, never garbage:
 * 0 * garbage could be NaN. */
template <int D, int R, int S>
__device__ __forceinline__ void load_rows_f32(float *dst, const float *__restrict__ src, int r0,
                                              int T, int tid, int nthreads) {
    constexpr int C4 = D / 4;
    for (int i = tid; i < R * C4; i += nthreads) {
        int r = i / C4, c4 = i % C4;
        float4 val = make_float4(0.f, 0.f, 0.f, 0.f);
        if (r0 + r < T) val = reinterpret_cast<const float4 *>(src + (size_t)(r0 + r) * D)[c4];
        *reinterpret_cast<float4 *>(dst + r * S + 4 * c4) = val;
    }
}

/* N consecutive floats from shared memory with the widest loads their alignment allows */
template <int N>
__device__ __forceinline__ void lds_row(float (&dst)[N], const float *src) {
    if constexpr (N % 4 == 0) {
#pragma unroll
        for (int i = 0; i < N / 4; i++) {
            float4 t = reinterpret_cast<const float4 *>(src)[i];
            dst[4 * i] = t.x; dst[4 * i + 1] = t.y; dst[4 * i + 2] = t.z; dst[4 * i + 3] = t.w;
        }
    } else if constexpr (N % 2 == 0) {
#pragma unroll
        for (int i = 0; i < N / 2; i++) {
            float2 t = reinterpret_cast<const float2 *>(src)[i];
            dst[2 * i] = t.x; dst[2 * i + 1] = t.y;
        }
    } else {
#pragma unroll
        for (int i = 0; i < N; i++) dst[i] = src[i];
    }
}

/* reductions over the 16 lanes that share a query row (xor offsets < 16 stay inside) */
__device__ __forceinline__ float max16(float x) {
#pragma unroll
    for (int o = 8; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
    return x;
}
__device__ __forceinline__ float sum16(float x) {
#pragma unroll
    for (int o = 8; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
}

template <int D, int BK>
__global__ void __launch_bounds__(256)
flash_fp32_kernel(AttnArgs a, const float *__restrict__ q, const float *__restrict__ k,
                  const float *__restrict__ v) {
    using C = Fp32Tiles<D, BK>;
    constexpr int BQ = C::BQ, RQ = C::RQ, RK = C::RK, RD = C::RD, QS = C::QS, PS = C::PS;
    extern __shared__ float4 smem_f4[];
    float *Qs = reinterpret_cast<float *>(smem_f4);   /* (BQ, QS) this block's queries */
    float *Ks = Qs + BQ * QS;                          /* (BK, QS) one tile of keys */
    float *Vs = Ks + BK * QS;                          /* (BK, D)  its values */
    float *Ps = Vs + BK * D;                           /* (BQ, PS) its probabilities */

    const int T = a.T, bh = blockIdx.y, b = bh / a.NH, h = bh % a.NH;
    /* causal: the last query blocks have the most keys; start them first so that the
     * short ones fill the gaps at the end */
    const int qb = a.causal ? (int)gridDim.x - 1 - (int)blockIdx.x : (int)blockIdx.x;
    const int q0 = qb * BQ, tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    /* query head bh, and the key/value head it reads (itself unless grouped-query) */
    const size_t head = (size_t)bh * T * D, kvhead = (size_t)attn_kv_head(a, bh) * T * D;
    const float slope = a.slopes ? a.slopes[h] : 0.0f;

    load_rows_f32<D, BQ, QS>(Qs, q + head, q0, T, tid, C::THREADS);

    float m[RQ], l[RQ], o[RQ][RD];   /* running max, running (partial) sum, output */
#pragma unroll
    for (int i = 0; i < RQ; i++) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
#pragma unroll
        for (int d = 0; d < RD; d++) o[i][d] = 0.0f;
    }

    const int kend = a.causal ? min(T, q0 + BQ) : T;   /* keys past kend: never visible */
    for (int k0 = 0; k0 < kend; k0 += BK) {
        __syncthreads();   /* everyone is done with the previous tile */
        load_rows_f32<D, BK, QS>(Ks, k + kvhead, k0, T, tid, C::THREADS);
        load_rows_f32<D, BK, D>(Vs, v + kvhead, k0, T, tid, C::THREADS);
        __syncthreads();

        /* S = Q K^T for this thread's RQ x RK scores, 4 dimensions at a time */
        float s[RQ][RK];
#pragma unroll
        for (int i = 0; i < RQ; i++)
#pragma unroll
            for (int j = 0; j < RK; j++) s[i][j] = 0.0f;
#pragma unroll 4
        for (int kk = 0; kk < D; kk += 4) {
            float4 qv[RQ], kv[RK];
#pragma unroll
            for (int i = 0; i < RQ; i++)
                qv[i] = *reinterpret_cast<const float4 *>(Qs + (ty + 16 * i) * QS + kk);
#pragma unroll
            for (int j = 0; j < RK; j++)
                kv[j] = *reinterpret_cast<const float4 *>(Ks + (tx + 16 * j) * QS + kk);
#pragma unroll
            for (int i = 0; i < RQ; i++)
#pragma unroll
                for (int j = 0; j < RK; j++) {
                    s[i][j] = fmaf(qv[i].x, kv[j].x, s[i][j]);
                    s[i][j] = fmaf(qv[i].y, kv[j].y, s[i][j]);
                    s[i][j] = fmaf(qv[i].z, kv[j].z, s[i][j]);
                    s[i][j] = fmaf(qv[i].w, kv[j].w, s[i][j]);
                }
        }

        /* scale, ALiBi, mask; then the online softmax of attn_flash's flash_key_block */
#pragma unroll
        for (int i = 0; i < RQ; i++) {
            const int row = q0 + ty + 16 * i;
            float mx = -INFINITY;
#pragma unroll
            for (int j = 0; j < RK; j++) {
                const int col = k0 + tx + 16 * j;
                float x = s[i][j] * a.scale;
                if (slope != 0.0f) x += -slope * (float)abs(row - col);
                if (col >= T || (a.causal && col > row)) x = -INFINITY;
                s[i][j] = x;
                mx = fmaxf(mx, x);
            }
            const float m_new = fmaxf(m[i], max16(mx));
            /* a row with nothing visible yet keeps m = -inf; use 0 so that no -inf - -inf
             * (NaN) appears: its p and corr are then exactly 0 */
            const float mu = m_new == -INFINITY ? 0.0f : m_new;
            const float corr = expf(m[i] - mu);   /* shrink what was summed so far */
            float rs = 0.0f;
#pragma unroll
            for (int j = 0; j < RK; j++) {
                const float p = expf(s[i][j] - mu);
                rs += p;
                Ps[(ty + 16 * i) * PS + tx + 16 * j] = p;
            }
            l[i] = l[i] * corr + rs;   /* this thread's columns only: summed at the end */
            m[i] = m_new;
#pragma unroll
            for (int d = 0; d < RD; d++) o[i][d] *= corr;
        }
        __syncthreads();   /* P of the whole block is in shared memory */

        /* O += P V: row ty + 16 i, columns tx * RD ... tx * RD + RD - 1 */
#pragma unroll 2
        for (int c = 0; c < BK; c += 4) {
            float4 pv[RQ];
#pragma unroll
            for (int i = 0; i < RQ; i++)
                pv[i] = *reinterpret_cast<const float4 *>(Ps + (ty + 16 * i) * PS + c);
#pragma unroll
            for (int cc = 0; cc < 4; cc++) {
                float vr[RD];
                lds_row<RD>(vr, Vs + (c + cc) * D + tx * RD);
#pragma unroll
                for (int i = 0; i < RQ; i++) {
                    const float p = cc == 0 ? pv[i].x : cc == 1 ? pv[i].y : cc == 2 ? pv[i].z
                                                                                     : pv[i].w;
#pragma unroll
                    for (int d = 0; d < RD; d++) o[i][d] = fmaf(p, vr[d], o[i][d]);
                }
            }
        }
    }

    /* finish: divide by the row sum once; keep lse = m + log(l) */
#pragma unroll
    for (int i = 0; i < RQ; i++) {
        const float lsum = sum16(l[i]);
        const int row = q0 + ty + 16 * i;
        if (row >= T) continue;
        const float inv = 1.0f / lsum;
        float *orow = a.out + b * a.o_sb + h * a.o_sh + (long long)row * a.o_st + tx * RD;
#pragma unroll
        for (int d = 0; d < RD; d++) orow[d] = o[i][d] * inv;
        if (tx == 0) a.lse[(size_t)bh * T + row] = m[i] + logf(lsum);
    }
}

/* ---- naive attention: the three passes of attn_naive, one kernel each ----------------- */

/* One thread per score, as llm.c's first attention kernel: S_ij = q_i . k_j * scale +
 * bias, read straight from global memory. Scores above the diagonal are written 0. */
__global__ void naive_scores_kernel(AttnArgs a, const float *__restrict__ q,
                                    const float *__restrict__ k, float *__restrict__ P,
                                    size_t total) {
    size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (idx >= total) return;
    const size_t TT = (size_t)a.T * a.T;
    const int bh = (int)(idx / TT), i = (int)(idx % TT / a.T), j = (int)(idx % a.T);
    if (a.causal && j > i) { P[idx] = 0.0f; return; }
    const float *qi = q + ((size_t)bh * a.T + i) * a.hs;
    const float *kj = k + ((size_t)attn_kv_head(a, bh) * a.T + j) * a.hs;   /* grouped-query */
    float dot = 0.0f;
    for (int d = 0; d < a.hs; d++) dot += qi[d] * kj[d];
    const float slope = a.slopes ? a.slopes[bh % a.NH] : 0.0f;
    const int dist = i > j ? i - j : j - i;
    P[idx] = dot * a.scale + (-slope * (float)dist);
}

/* One warp per row: max, exp and sum, normalise (passes 1 to 3 of attn_naive). */
__global__ void naive_softmax_kernel(AttnArgs a, float *__restrict__ P, int rows) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= rows) return;
    const int i = row % a.T, jmax = a.causal ? i : a.T - 1;
    float *Pi = P + (size_t)row * a.T;
    float mx = -INFINITY;
    for (int j = lane; j <= jmax; j += 32) mx = fmaxf(mx, Pi[j]);
    for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    float sum = 0.0f;
    for (int j = lane; j <= jmax; j += 32) {
        const float e = expf(Pi[j] - mx);
        Pi[j] = e;
        sum += e;
    }
    for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    for (int j = lane; j <= jmax; j += 32) Pi[j] /= sum;
    for (int j = jmax + 1 + lane; j < a.T; j += 32) Pi[j] = 0.0f;
    if (lane == 0) a.lse[row] = mx + logf(sum);
}

/* One thread per output element: out_id = sum_j P_ij v_jd. */
__global__ void naive_pv_kernel(AttnArgs a, const float *__restrict__ P,
                                const float *__restrict__ v, size_t total) {
    size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (idx >= total) return;
    const int d = (int)(idx % a.hs);
    const size_t rowi = idx / a.hs;   /* bh * T + i */
    const int i = (int)(rowi % a.T), bh = (int)(rowi / a.T), jmax = a.causal ? i : a.T - 1;
    const float *Pi = P + rowi * a.T, *vh = v + (size_t)attn_kv_head(a, bh) * a.T * a.hs;
    float acc = 0.0f;
    for (int j = 0; j <= jmax; j++) acc += Pi[j] * vh[(size_t)j * a.hs + d];
    const int b = bh / a.NH, h = bh % a.NH;
    a.out[b * a.o_sb + h * a.o_sh + (long long)i * a.o_st + d] = acc;
}

/* ---- capture: P_ij = exp(S_ij - lse_i), as attn_capture_rows ---------------------------
 * A block of 32 x 8 threads fills one 32 x 32 tile of P: the 32 query rows and the 32 key
 * rows it needs are staged in shared memory (row stride hs + 1: odd, so the 32 lanes of a
 * warp reading 32 key rows at one column hit 32 different banks), then thread (tx, ty)
 * computes rows ty, ty + 8, ty + 16, ty + 24 of column tx. A tile wholly above the
 * diagonal is just zeros. */
__global__ void capture_kernel(int T, int hs, float scale, int causal,
                               const float *__restrict__ slopes, const float *__restrict__ q,
                               const float *__restrict__ k, const float *__restrict__ lse,
                               float *__restrict__ P) {
    extern __shared__ float cap_smem[];
    const int z = blockIdx.z, i0 = blockIdx.y * 32, j0 = blockIdx.x * 32;
    const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * 32 + tx, S = hs + 1;
    float *Pz = P + (size_t)z * T * T;
    if (causal && j0 > i0 + 31) {
        for (int r = ty; r < 32; r += 8)
            if (i0 + r < T && j0 + tx < T) Pz[(size_t)(i0 + r) * T + j0 + tx] = 0.0f;
        return;
    }
    float *Qs = cap_smem, *Ks = cap_smem + 32 * S;
    const float *qz = q + (size_t)z * T * hs, *kz = k + (size_t)z * T * hs;
    for (int e = tid; e < 32 * hs; e += 256) {
        const int r = e / hs, d = e % hs;
        Qs[r * S + d] = i0 + r < T ? qz[(size_t)(i0 + r) * hs + d] : 0.0f;
        Ks[r * S + d] = j0 + r < T ? kz[(size_t)(j0 + r) * hs + d] : 0.0f;
    }
    __syncthreads();
    const float slope = slopes ? slopes[z] : 0.0f;
    const int j = j0 + tx;
    for (int r = ty; r < 32; r += 8) {
        const int i = i0 + r;
        if (i >= T || j >= T) continue;
        float p = 0.0f;
        if (!causal || j <= i) {
            float dot = 0.0f;
            for (int d = 0; d < hs; d++) dot += Qs[r * S + d] * Ks[tx * S + d];
            const int dist = i > j ? i - j : j - i;
            p = expf(dot * scale + (-slope * (float)dist) - lse[(size_t)z * T + i]);
        }
        Pz[(size_t)i * T + j] = p;
    }
}

/* ---- launchers -------------------------------------------------------------------------- */
#ifndef AVZ_GPU_EMULATE   /* tests/gpu/emu/ runs the kernels above on the CPU */

template <int D, int BK>
static AvzCode set_fp32_smem(char *err) {
    CUDA_TRY(cudaFuncSetAttribute(flash_fp32_kernel<D, BK>,
                                  cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  (int)Fp32Tiles<D, BK>::SMEM));
    return AVZ_OK;
}

AvzCode attn_mma_init(char *err);   /* attention_mma.cu */

AvzCode attn_gpu_init(char *err) {
    static int done = 0;
    if (done) return AVZ_OK;
    AVZ_TRY(set_fp32_smem<16, 64>(err));
    AVZ_TRY(set_fp32_smem<32, 64>(err));
    AVZ_TRY(set_fp32_smem<64, 64>(err));
    AVZ_TRY(set_fp32_smem<128, 32>(err));
    AVZ_TRY(attn_mma_init(err));
    done = 1;
    return AVZ_OK;
}

template <int D, int BK>
static AvzCode launch_fp32(const AttnArgs *a, const float *q, const float *k, const float *v,
                           cudaStream_t st, char *err) {
    using C = Fp32Tiles<D, BK>;
    dim3 grid(cdiv(a->T, C::BQ), a->B * a->NH);
    flash_fp32_kernel<D, BK><<<grid, C::THREADS, C::SMEM, st>>>(*a, q, k, v);
    LAUNCH_CHECK("flash_fp32_kernel");
    return AVZ_OK;
}

static AvzCode check_shape(const AttnArgs *a, char *err) {
    if (a->hs != 16 && a->hs != 32 && a->hs != 64 && a->hs != 128)
        return avz_fail(err, AVZ_ERR_INPUT, "the GPU attention kernels take head sizes 16, "
                        "32, 64 and 128 (this model has %d): use --device cpu", a->hs);
    if (a->T < 1 || a->B < 1 || a->NH < 1 || (long long)a->B * a->NH > 65535 || a->NKV < 0 ||
        (a->NKV > 0 && a->NH % a->NKV != 0))
        return avz_fail(err, AVZ_ERR_INPUT, "attention shape out of range: B=%d NH=%d NKV=%d "
                        "T=%d", a->B, a->NH, a->NKV, a->T);
    return AVZ_OK;
}

AvzCode attn_flash_fp32_launch(const AttnArgs *a, const float *q, const float *k,
                               const float *v, cudaStream_t st, char *err) {
    AVZ_TRY(check_shape(a, err));
    switch (a->hs) {
    case 16: return launch_fp32<16, 64>(a, q, k, v, st, err);
    case 32: return launch_fp32<32, 64>(a, q, k, v, st, err);
    case 64: return launch_fp32<64, 64>(a, q, k, v, st, err);
    default: return launch_fp32<128, 32>(a, q, k, v, st, err);
    }
}

AvzCode attn_naive_launch(const AttnArgs *a, const float *q, const float *k, const float *v,
                          float *P, cudaStream_t st, char *err) {
    AVZ_TRY(check_shape(a, err));
    const size_t BH = (size_t)a->B * a->NH, nscores = BH * a->T * a->T;
    naive_scores_kernel<<<cdiv(nscores, 256), 256, 0, st>>>(*a, q, k, P, nscores);
    LAUNCH_CHECK("naive_scores_kernel");
    const int rows = (int)(BH * a->T);
    naive_softmax_kernel<<<cdiv(rows, 8), 256, 0, st>>>(*a, P, rows);
    LAUNCH_CHECK("naive_softmax_kernel");
    const size_t nout = BH * a->T * a->hs;
    naive_pv_kernel<<<cdiv(nout, 256), 256, 0, st>>>(*a, P, v, nout);
    LAUNCH_CHECK("naive_pv_kernel");
    return AVZ_OK;
}

AvzCode attn_capture_launch(int nh, int T, int hs, float scale, int causal,
                            const float *slopes, const float *q, const float *k,
                            const float *lse, float *P, cudaStream_t st, char *err) {
    if (hs < 1 || hs > 128 || nh < 1 || nh > 65535 || T < 1)
        return avz_fail(err, AVZ_ERR_INPUT, "capture: shape out of range (nh=%d T=%d hs=%d)",
                        nh, T, hs);
    dim3 grid(cdiv(T, 32), cdiv(T, 32), nh), block(32, 8);
    size_t smem = sizeof(float) * 2 * 32 * (hs + 1);   /* at most 33 KB: no opt-in needed */
    capture_kernel<<<grid, block, smem, st>>>(T, hs, scale, causal, slopes, q, k, lse, P);
    LAUNCH_CHECK("capture_kernel");
    return AVZ_OK;
}

/* ---- the kernels on host arrays (tests and bench) --------------------------------------- */

/* A device allocation freed on every way out of a function. */
struct DevBuf {
    void *p = nullptr;
    DevBuf() = default;
    DevBuf(const DevBuf &) = delete;
    DevBuf &operator=(const DevBuf &) = delete;
    ~DevBuf() { if (p) cudaFree(p); }
    float *f() const { return (float *)p; }
};

#define DEV_ALLOC(buf, bytes) CUDA_TRY(cudaMalloc(&(buf).p, ((size_t)(bytes) > 0) ? (size_t)(bytes) : 1))

static AvzCode check_problem(const GpuAttnProblem *p, char *err) {
    if (!p || p->nh < 1 || p->T < 1 || (p->hs != 16 && p->hs != 32 && p->hs != 64 &&
                                       p->hs != 128))
        return avz_fail(err, AVZ_ERR_INPUT, "GPU attention: nh >= 1, T >= 1 and hs in "
                        "{16, 32, 64, 128} are required");
    return AVZ_OK;
}

extern "C" AvzCode gpu_attention_host(GpuAttnKind kind, const GpuAttnProblem *p,
                                      const float *q, const float *k, const float *v,
                                      float *out, float *lse, char *err) {
    AVZ_TRY(check_problem(p, err));
    if ((unsigned)kind >= GPU_ATTN_COUNT)
        return avz_fail(err, AVZ_ERR_INPUT, "GPU attention: unknown kernel %d", (int)kind);
    AVZ_TRY(attn_gpu_init(err));
    const size_t n = (size_t)p->nh * p->T * p->hs, nl = (size_t)p->nh * p->T;
    DevBuf dq, dk, dv, dout, dlse, dslopes, d16, dP;
    DEV_ALLOC(dq, 4 * n);
    DEV_ALLOC(dk, 4 * n);
    DEV_ALLOC(dv, 4 * n);
    DEV_ALLOC(dout, 4 * n);
    DEV_ALLOC(dlse, 4 * nl);
    CUDA_TRY(cudaMemcpy(dq.p, q, 4 * n, cudaMemcpyHostToDevice));
    CUDA_TRY(cudaMemcpy(dk.p, k, 4 * n, cudaMemcpyHostToDevice));
    CUDA_TRY(cudaMemcpy(dv.p, v, 4 * n, cudaMemcpyHostToDevice));
    if (p->slopes) {
        DEV_ALLOC(dslopes, 4 * (size_t)p->nh);
        CUDA_TRY(cudaMemcpy(dslopes.p, p->slopes, 4 * (size_t)p->nh, cudaMemcpyHostToDevice));
    }
    /* poison the outputs (all bits set is a NaN): an element a kernel forgets shows up */
    CUDA_TRY(cudaMemset(dout.p, 0xff, 4 * n));
    CUDA_TRY(cudaMemset(dlse.p, 0xff, 4 * nl));
    AttnArgs a = {1, p->nh, p->T, p->hs, p->scale, p->causal, dslopes.f(), dout.f(),
                  (long long)p->nh * p->T * p->hs, (long long)p->T * p->hs, p->hs, dlse.f()};
    if (kind == GPU_ATTN_FP32) {
        AVZ_TRY(attn_flash_fp32_launch(&a, dq.f(), dk.f(), dv.f(), 0, err));
    } else if (kind == GPU_ATTN_NAIVE) {
        DEV_ALLOC(dP, 4 * (size_t)p->nh * p->T * p->T);
        AVZ_TRY(attn_naive_launch(&a, dq.f(), dk.f(), dv.f(), dP.f(), 0, err));
    } else {
        const int bf16 = kind == GPU_ATTN_BF16;
        DEV_ALLOC(d16, 2 * 3 * n);
        char *h16 = (char *)d16.p;
        AVZ_TRY(convert_to_16_launch(h16, dq.f(), n, bf16, 0, 0, err));
        AVZ_TRY(convert_to_16_launch(h16 + 2 * n, dk.f(), n, bf16, 0, 0, err));
        AVZ_TRY(convert_to_16_launch(h16 + 4 * n, dv.f(), n, bf16, 0, 0, err));
        AVZ_TRY(attn_flash_mma_launch(&a, h16, h16 + 2 * n, h16 + 4 * n, bf16, 0, err));
    }
    CUDA_TRY(cudaDeviceSynchronize());
    CUDA_TRY(cudaMemcpy(out, dout.p, 4 * n, cudaMemcpyDeviceToHost));
    CUDA_TRY(cudaMemcpy(lse, dlse.p, 4 * nl, cudaMemcpyDeviceToHost));
    return AVZ_OK;
}

extern "C" AvzCode gpu_capture_host(const GpuAttnProblem *p, const float *q, const float *k,
                                    const float *lse, float *P, char *err) {
    AVZ_TRY(check_problem(p, err));
    const size_t n = (size_t)p->nh * p->T * p->hs, nl = (size_t)p->nh * p->T;
    const size_t nP = nl * p->T;
    DevBuf dq, dk, dlse, dslopes, dP;
    DEV_ALLOC(dq, 4 * n);
    DEV_ALLOC(dk, 4 * n);
    DEV_ALLOC(dlse, 4 * nl);
    DEV_ALLOC(dP, 4 * nP);
    CUDA_TRY(cudaMemcpy(dq.p, q, 4 * n, cudaMemcpyHostToDevice));
    CUDA_TRY(cudaMemcpy(dk.p, k, 4 * n, cudaMemcpyHostToDevice));
    CUDA_TRY(cudaMemcpy(dlse.p, lse, 4 * nl, cudaMemcpyHostToDevice));
    if (p->slopes) {
        DEV_ALLOC(dslopes, 4 * (size_t)p->nh);
        CUDA_TRY(cudaMemcpy(dslopes.p, p->slopes, 4 * (size_t)p->nh, cudaMemcpyHostToDevice));
    }
    CUDA_TRY(cudaMemset(dP.p, 0xff, 4 * nP));
    AVZ_TRY(attn_capture_launch(p->nh, p->T, p->hs, p->scale, p->causal, dslopes.f(), dq.f(),
                                dk.f(), dlse.f(), dP.f(), 0, err));
    CUDA_TRY(cudaDeviceSynchronize());
    CUDA_TRY(cudaMemcpy(P, dP.p, 4 * nP, cudaMemcpyDeviceToHost));
    return AVZ_OK;
}
#endif /* AVZ_GPU_EMULATE */
