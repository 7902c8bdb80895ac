/* attention_mma.cu: flash attention on tensor cores: bf16 or fp16 q, k, v, fp32
 * accumulation, fp32 output and log-sum-exp. The same algorithm as the fp32 kernel in
 * attention.cu (read that first), with the two matrix products done by mma.sync.
 *
 * The tensor-core instruction. mma.sync.m16n8k16 multiplies a 16 x 16 tile A by a 16 x 8
 * tile B and adds a 16 x 8 fp32 tile C, all spread over the 32 lanes of one warp. Lane l
 * is in group g = l / 4 and has index t = l % 4 in its group, and holds:
 *   A: 4 registers, 2 16-bit values each: (row g,   cols 2t, 2t+1), (row g+8, cols 2t, 2t+1),
 *                                         (row g,   cols 2t+8, +9), (row g+8, cols 2t+8, +9)
 *   B: 2 registers: (rows 2t, 2t+1 of col g), (rows 2t+8, 2t+9 of col g)
 *   C: 4 floats: (row g, cols 2t, 2t+1), (row g+8, cols 2t, 2t+1)
 * (the lower index always in the lower half of a register).
 *
 * How FlashAttention-2 uses it. Each of the 4 warps of a block owns 16 query rows, so a
 * block owns BQ = 64 rows of one head, and walks over the keys in tiles of BK = 64:
 *   1. S = Q K^T: Q's A-fragments are loaded once into registers. B = K^T, and B's
 *      "rows 2t, 2t+1 of col g" are K[g][2t], K[g][2t+1]: two neighbours in a row of K,
 *      so each B register is one 32-bit load from shared memory.
 *   2. The scores stay in the C registers. Every lane holds 2 rows (g and g+8); a row's
 *      16 values per 64 keys are spread over the 4 lanes of its group, so a row max or sum
 *      is 2 shuffles. The online softmax runs on registers.
 *   3. O += P V: the C layout of two neighbouring 8-key score tiles is exactly the A layout
 *      of one 16-key tile, so P goes from accumulators to A-fragments by rounding pairs of
 *      floats to 16 bits, with no trip through shared memory. B = V, whose "rows 2t, 2t+1
 *      of col g" are two different rows of V: ldmatrix.trans loads them transposed, four
 *      8 x 8 matrices per instruction.
 *   4. K and V tiles come in with cp.async (global to shared memory without registers),
 *      double-buffered: the next tile loads while this one is multiplied.
 * Rows and keys past T are zero-filled by cp.async and masked, so any T works.
 * Shared-memory rows are padded by 16 bytes: the 8 rows a fragment load touches then
 * start in 8 different groups of 4 banks (no conflicts). */
#include <math.h>

#include "gpu_common.cuh"

#define LOG2E 1.4426950408889634f
#define LN2 0.6931471805599453f

/* ---- the PTX instructions ---------------------------------------------------------- */
/* (tests/gpu/emu/ compiles this file as host C++ with AVZ_GPU_EMULATE defined and
 * replaces these wrappers and the launchers by an emulation, to check the kernel's
 * indexing on a machine without a GPU) */
#ifndef AVZ_GPU_EMULATE

template <typename H> struct MmaType;
template <> struct MmaType<__nv_bfloat16> {
    static __device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4],
                                               uint32_t b0, uint32_t b1) {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                     "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
    static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
        __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);   /* .x = lo: the low half */
        return *reinterpret_cast<uint32_t *>(&v);
    }
};
template <> struct MmaType<__half> {
    static __device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4],
                                               uint32_t b0, uint32_t b1) {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
                     "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
    static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
        __half2 v = __floats2half2_rn(lo, hi);
        return *reinterpret_cast<uint32_t *>(&v);
    }
};

/* Four 8 x 8 16-bit matrices, transposed: lanes 8i .. 8i+7 give the addresses of the 8
 * rows of matrix i; register i of lane l receives rows 2(l%4), 2(l%4)+1 of column l/4
 * of matrix i. */
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t &r0, uint32_t &r1, uint32_t &r2,
                                                  uint32_t &r3, const void *smem) {
    unsigned addr = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
                 : "r"(addr)
                 : "memory");
}

/* 16 bytes global -> shared without passing through registers; with valid = 0 nothing is
 * read and the 16 bytes are zero-filled (the src-size operand is 0). */
__device__ __forceinline__ void cp_async16(void *smem, const void *gmem, bool valid) {
    unsigned addr = (unsigned)__cvta_generic_to_shared(smem);
    int src_bytes = valid ? 16 : 0;
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(addr), "l"(gmem),
                 "r"(src_bytes)
                 : "memory");
}
__device__ __forceinline__ void cp_async_commit() {
    asm volatile("cp.async.commit_group;\n" ::: "memory");
}
template <int N> __device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

__device__ __forceinline__ uint32_t ld32(const void *p) {
    return *reinterpret_cast<const uint32_t *>(p);
}
#endif /* AVZ_GPU_EMULATE */

/* ---- the kernel ---------------------------------------------------------------------- */

template <int D>
struct MmaTiles {
    static constexpr int WARPS = 4, THREADS = 32 * WARPS;
    static constexpr int BQ = 16 * WARPS, BK = 64;
    static constexpr int S = D + 8;   /* row stride in 16-bit elements: 16 bytes of padding */
    /* Q, then two stages of K, then two stages of V */
    static constexpr size_t SMEM = 2 * ((size_t)BQ * S + 4 * (size_t)BK * S);
};

/* rows [r0, r0 + R) of a (T, D) 16-bit matrix into shared memory (row stride S), one
 * 16-byte cp.async per thread per step; rows at or past T become zeros */
template <int D, int R, int S, typename H>
__device__ __forceinline__ void load_rows_async(H *dst, const H *__restrict__ src, int r0, int T,
                                                int tid, int nthreads) {
    constexpr int C8 = D / 8;   /* 16-byte chunks per row */
    for (int i = tid; i < R * C8; i += nthreads) {
        const int r = i / C8, c = i % C8;
        const bool ok = r0 + r < T;
        const H *g = ok ? src + (size_t)(r0 + r) * D + 8 * c : src;
        cp_async16(dst + r * S + 8 * c, g, ok);
    }
}

template <typename H, int D>
__global__ void __launch_bounds__(128)
flash_mma_kernel(AttnArgs a, const H *__restrict__ q, const H *__restrict__ k,
                 const H *__restrict__ v) {
    using C = MmaTiles<D>;
    using M = MmaType<H>;
    constexpr int BQ = C::BQ, BK = C::BK, S = C::S;
    constexpr int KC = D / 16;   /* 16-wide chunks of d in S = Q K^T */
    constexpr int NT = BK / 8;   /* 8-key score tiles per warp */
    constexpr int ND = D / 8;    /* 8-wide output tiles per warp */
    constexpr int PC = BK / 16;  /* 16-key chunks in O += P V */
    extern __shared__ uint4 smem_u4[];
    H *Qs = reinterpret_cast<H *>(smem_u4);   /* (BQ, S) */
    H *Ks = Qs + BQ * S;                       /* 2 x (BK, S) */
    H *Vs = Ks + 2 * BK * S;                   /* 2 x (BK, S) */

    const int T = a.T, bh = blockIdx.y, b = bh / a.NH, h = bh % a.NH;
    const int qb = a.causal ? (int)gridDim.x - 1 - (int)blockIdx.x : (int)blockIdx.x;
    const int q0 = qb * BQ, tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int g = lane >> 2, t4 = lane & 3;
    /* query head bh, and the key/value head it reads (attn_kv_head: grouped-query) */
    const size_t head = (size_t)bh * T * D, kvhead = (size_t)attn_kv_head(a, bh) * T * D;
    /* scores in log2 units: exp(x) = exp2(x * log2 e), and exp2 is one instruction */
    const float sc2 = a.scale * LOG2E;
    const float sl2 = (a.slopes ? a.slopes[h] : 0.0f) * LOG2E;
    const int kend = a.causal ? min(T, q0 + BQ) : T;
    const int nkb = (kend + BK - 1) / BK;

    load_rows_async<D, BQ, S>(Qs, q + head, q0, T, tid, C::THREADS);
    load_rows_async<D, BK, S>(Ks, k + kvhead, 0, T, tid, C::THREADS);
    load_rows_async<D, BK, S>(Vs, v + kvhead, 0, T, tid, C::THREADS);
    cp_async_commit();

    uint32_t qa[KC][4];                        /* this warp's 16 query rows, A-fragments */
    float o[ND][4];                            /* output accumulators, C layout */
    float m_r[2] = {-INFINITY, -INFINITY};     /* running max of rows g and g + 8 */
    float l_r[2] = {0.0f, 0.0f};               /* running sums (this lane's columns) */
#pragma unroll
    for (int n = 0; n < ND; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
    const int row0 = q0 + warp * 16 + g;       /* rows row0 and row0 + 8 */

    for (int kb = 0; kb < nkb; kb++) {
        const int stage = kb & 1, k0 = kb * BK;
        if (kb + 1 < nkb) {   /* start the next tile, then wait for this one only */
            load_rows_async<D, BK, S>(Ks + (stage ^ 1) * BK * S, k + kvhead, k0 + BK, T, tid,
                                      C::THREADS);
            load_rows_async<D, BK, S>(Vs + (stage ^ 1) * BK * S, v + kvhead, k0 + BK, T, tid,
                                      C::THREADS);
            cp_async_commit();
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        if (kb == 0) {
            const H *q_lo = Qs + (warp * 16 + g) * S + 2 * t4, *q_hi = q_lo + 8 * S;
#pragma unroll
            for (int c = 0; c < KC; c++) {
                qa[c][0] = ld32(q_lo + 16 * c);
                qa[c][1] = ld32(q_hi + 16 * c);
                qa[c][2] = ld32(q_lo + 16 * c + 8);
                qa[c][3] = ld32(q_hi + 16 * c + 8);
            }
        }

        /* 1. S = Q K^T: 16 rows x BK keys per warp */
        const H *Kt = Ks + stage * BK * S;
        float s[NT][4];
#pragma unroll
        for (int n = 0; n < NT; n++) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
#pragma unroll
        for (int c = 0; c < KC; c++)
#pragma unroll
            for (int n = 0; n < NT; n++) {
                const H *kr = Kt + (n * 8 + g) * S + 16 * c + 2 * t4;
                M::mma(s[n], qa[c], ld32(kr), ld32(kr + 8));
            }

        /* 2. scale, ALiBi and the mask (only tiles that reach the diagonal or T) */
        const bool edge = k0 + BK > T || (a.causal && k0 + BK > q0 + warp * 16);
#pragma unroll
        for (int n = 0; n < NT; n++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int row = row0 + (e >> 1) * 8, col = k0 + n * 8 + 2 * t4 + (e & 1);
                float x = s[n][e] * sc2;
                if (sl2 != 0.0f) x -= sl2 * (float)abs(row - col);
                if (edge && (col >= T || (a.causal && col > row))) x = -INFINITY;
                s[n][e] = x;
            }
        /* the online softmax, rows g (r = 0) and g + 8 (r = 1) */
#pragma unroll
        for (int r = 0; r < 2; r++) {
            float mx = m_r[r];
#pragma unroll
            for (int n = 0; n < NT; n++) mx = fmaxf(mx, fmaxf(s[n][2 * r], s[n][2 * r + 1]));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            const float mu = mx == -INFINITY ? 0.0f : mx;   /* no -inf - -inf */
            const float corr = exp2f(m_r[r] - mu);
            m_r[r] = mx;
            l_r[r] *= corr;
#pragma unroll
            for (int n = 0; n < ND; n++) {
                o[n][2 * r] *= corr;
                o[n][2 * r + 1] *= corr;
            }
#pragma unroll
            for (int n = 0; n < NT; n++) {
                const float p0 = exp2f(s[n][2 * r] - mu), p1 = exp2f(s[n][2 * r + 1] - mu);
                s[n][2 * r] = p0;
                s[n][2 * r + 1] = p1;
                l_r[r] += p0 + p1;
            }
        }

        /* 3. O += P V; P's A-fragments straight from the score registers */
        const H *Vt = Vs + stage * BK * S;
#pragma unroll
        for (int c = 0; c < PC; c++) {
            uint32_t pa[4];
            pa[0] = M::pack(s[2 * c][0], s[2 * c][1]);
            pa[1] = M::pack(s[2 * c][2], s[2 * c][3]);
            pa[2] = M::pack(s[2 * c + 1][0], s[2 * c + 1][1]);
            pa[3] = M::pack(s[2 * c + 1][2], s[2 * c + 1][3]);
            /* lane l points at key row 16c + (l % 8) + 8 ((l / 8) % 2), column 8 (l / 16)
             * of each 16-wide column pair: matrices 0, 1 are B of output tile 2p, and
             * matrices 2, 3 are B of output tile 2p + 1 */
            const H *vr = Vt + (16 * c + (lane & 7) + ((lane >> 3) & 1) * 8) * S + (lane >> 4) * 8;
#pragma unroll
            for (int p = 0; p < D / 16; p++) {
                uint32_t b0, b1, b2, b3;
                ldmatrix_x4_trans(b0, b1, b2, b3, vr + 16 * p);
                M::mma(o[2 * p], pa, b0, b1);
                M::mma(o[2 * p + 1], pa, b2, b3);
            }
        }
        __syncthreads();   /* the next iteration's cp.async overwrites the other stage */
    }

    /* finish: sum each row over its 4 lanes, divide once, lse = m ln 2 + log l */
#pragma unroll
    for (int r = 0; r < 2; r++) {
        float lsum = l_r[r];
        lsum += __shfl_xor_sync(0xffffffffu, lsum, 1);
        lsum += __shfl_xor_sync(0xffffffffu, lsum, 2);
        const int row = row0 + 8 * r;
        if (row >= T) continue;
        const float inv = 1.0f / lsum;
        float *orow = a.out + b * a.o_sb + h * a.o_sh + (long long)row * a.o_st + 2 * t4;
#pragma unroll
        for (int n = 0; n < ND; n++) {
            orow[8 * n] = o[n][2 * r] * inv;
            orow[8 * n + 1] = o[n][2 * r + 1] * inv;
        }
        if (t4 == 0) a.lse[(size_t)bh * T + row] = m_r[r] * LN2 + logf(lsum);
    }
}

/* ---- launchers -------------------------------------------------------------------------- */
#ifndef AVZ_GPU_EMULATE

template <typename H, int D>
static AvzCode set_mma_smem(char *err) {
    CUDA_TRY(cudaFuncSetAttribute(flash_mma_kernel<H, D>,
                                  cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  (int)MmaTiles<D>::SMEM));
    return AVZ_OK;
}

AvzCode attn_mma_init(char *err) {
    AVZ_TRY(set_mma_smem<__nv_bfloat16, 16>(err));
    AVZ_TRY(set_mma_smem<__nv_bfloat16, 32>(err));
    AVZ_TRY(set_mma_smem<__nv_bfloat16, 64>(err));
    AVZ_TRY(set_mma_smem<__nv_bfloat16, 128>(err));
    AVZ_TRY(set_mma_smem<__half, 16>(err));
    AVZ_TRY(set_mma_smem<__half, 32>(err));
    AVZ_TRY(set_mma_smem<__half, 64>(err));
    AVZ_TRY(set_mma_smem<__half, 128>(err));
    return AVZ_OK;
}

template <typename H, int D>
static AvzCode launch_mma(const AttnArgs *a, const void *q, const void *k, const void *v,
                          cudaStream_t st, char *err) {
    using C = MmaTiles<D>;
    dim3 grid(cdiv(a->T, C::BQ), a->B * a->NH);
    flash_mma_kernel<H, D><<<grid, C::THREADS, C::SMEM, st>>>(
        *a, (const H *)q, (const H *)k, (const H *)v);
    LAUNCH_CHECK("flash_mma_kernel");
    return AVZ_OK;
}

template <typename H>
static AvzCode dispatch_mma(const AttnArgs *a, const void *q, const void *k, const void *v,
                            cudaStream_t st, char *err) {
    switch (a->hs) {
    case 16: return launch_mma<H, 16>(a, q, k, v, st, err);
    case 32: return launch_mma<H, 32>(a, q, k, v, st, err);
    case 64: return launch_mma<H, 64>(a, q, k, v, st, err);
    case 128: return launch_mma<H, 128>(a, q, k, v, st, err);
    default:
        return avz_fail(err, AVZ_ERR_INPUT, "the tensor-core attention takes head sizes 16, "
                        "32, 64 and 128 (got %d)", a->hs);
    }
}

AvzCode attn_flash_mma_launch(const AttnArgs *a, const void *q, const void *k, const void *v,
                              int bf16, cudaStream_t st, char *err) {
    if (a->T < 1 || a->B < 1 || a->NH < 1 || (long long)a->B * a->NH > 65535 || a->NKV < 0 ||
        (a->NKV > 0 && a->NH % a->NKV != 0))
        return avz_fail(err, AVZ_ERR_INPUT, "attention shape out of range: B=%d NH=%d NKV=%d "
                        "T=%d", a->B, a->NH, a->NKV, a->T);
    return bf16 ? dispatch_mma<__nv_bfloat16>(a, q, k, v, st, err)
                : dispatch_mma<__half>(a, q, k, v, st, err);
}
#endif /* AVZ_GPU_EMULATE */
