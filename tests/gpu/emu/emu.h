/* emu.h: a tiny SIMT emulator, to run gpu/attention*.cu kernels on a machine without a
 * GPU and check their indexing against the CPU reference.
 *
 * Every CUDA thread of a block is an OS thread; __syncthreads is a barrier over the block,
 * and the warp-wide operations the kernels use (shuffles, mma.sync m16n8k16,
 * ldmatrix.x4.trans) are barriers over the 32 threads of a warp around a shared slot
 * array, each lane computing its result from every lane's inputs exactly as the PTX ISA
 * documents the fragment layouts. cp.async becomes a plain copy (zero-fill when the
 * source size is 0). Blocks run one after another.
 *
 * What this can catch: wrong indices, masks, fragment bookkeeping, softmax rescaling,
 * missing barriers that make results depend on thread timing. What it cannot: the real
 * hardware's behaviour, speed, or a misreading of the PTX layouts (they are written
 * here once, from the documentation, independently of the kernel). */
#ifndef AVZ_GPU_EMU_H
#define AVZ_GPU_EMU_H

#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

/* the CUDA headers define these for the host compiler too: redefine them as nothing */
#undef __global__
#undef __device__
#undef __forceinline__
#undef __launch_bounds__
#undef __shared__
#define AVZ_GPU_EMULATE 1
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__

struct EmuIdx { unsigned x = 0, y = 0, z = 0; };

struct EmuWarp {
    std::barrier<> bar{32};
    uint32_t u[32][12];
    const void *p[32];
};

struct EmuBlock {
    std::barrier<> *bar;
    EmuWarp *warps;
};

inline thread_local EmuIdx threadIdx, blockIdx;
inline EmuIdx gridDim, blockDim;
inline thread_local EmuBlock *emu_block;
inline thread_local int emu_lane, emu_warp;

inline void __syncthreads() { emu_block->bar->arrive_and_wait(); }
inline EmuWarp &emu_w() { return emu_block->warps[emu_warp]; }

template <typename T> inline T __shfl_xor_sync(unsigned, T v, int lanemask) {
    static_assert(sizeof(T) == 4, "32-bit shuffles only");
    EmuWarp &w = emu_w();
    memcpy(&w.u[emu_lane][0], &v, 4);
    w.bar.arrive_and_wait();
    T r;
    memcpy(&r, &w.u[emu_lane ^ lanemask][0], 4);
    w.bar.arrive_and_wait();
    return r;
}

inline float cospif(float x) { return cosf(3.14159265358979f * x); }
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }

/* ---- 16-bit values in 32-bit registers: the lower index in the lower half ---------- */
template <typename H> inline float emu_to_f(uint16_t bits) {
    H h;
    memcpy((void *)&h, &bits, 2);
    return (float)h;
}
template <typename H> inline uint16_t emu_from_f(float x);
template <> inline uint16_t emu_from_f<__nv_bfloat16>(float x) {
    __nv_bfloat16 h = __float2bfloat16_rn(x);
    uint16_t b;
    memcpy(&b, (const void *)&h, 2);
    return b;
}
template <> inline uint16_t emu_from_f<__half>(float x) {
    __half h = __float2half_rn(x);
    uint16_t b;
    memcpy(&b, (const void *)&h, 2);
    return b;
}

/* mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}: D = A B + C, lane l = 4 g + t holds
 *   A: a0 (g, 2t..2t+1), a1 (g+8, 2t..), a2 (g, 2t+8..), a3 (g+8, 2t+8..)
 *   B: b0 (rows 2t, 2t+1; col g), b1 (rows 2t+8, 2t+9; col g)
 *   C, D: (g, 2t), (g, 2t+1), (g+8, 2t), (g+8, 2t+1) */
template <typename H> struct MmaType {
    static void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
        EmuWarp &w = emu_w();
        uint32_t *s = w.u[emu_lane];
        for (int i = 0; i < 4; i++) s[i] = a[i];
        s[4] = b0;
        s[5] = b1;
        memcpy(&s[6], c, 16);
        w.bar.arrive_and_wait();
        float A[16][16], B[16][8], C[16][8];
        for (int l = 0; l < 32; l++) {
            const int g = l >> 2, t = l & 3;
            const uint32_t *u = w.u[l];
            auto lo = [](uint32_t x) { return emu_to_f<H>((uint16_t)(x & 0xffff)); };
            auto hi = [](uint32_t x) { return emu_to_f<H>((uint16_t)(x >> 16)); };
            A[g][2 * t] = lo(u[0]);     A[g][2 * t + 1] = hi(u[0]);
            A[g + 8][2 * t] = lo(u[1]); A[g + 8][2 * t + 1] = hi(u[1]);
            A[g][2 * t + 8] = lo(u[2]); A[g][2 * t + 9] = hi(u[2]);
            A[g + 8][2 * t + 8] = lo(u[3]); A[g + 8][2 * t + 9] = hi(u[3]);
            B[2 * t][g] = lo(u[4]);     B[2 * t + 1][g] = hi(u[4]);
            B[2 * t + 8][g] = lo(u[5]); B[2 * t + 9][g] = hi(u[5]);
            float cf[4];
            memcpy(cf, &u[6], 16);
            C[g][2 * t] = cf[0];     C[g][2 * t + 1] = cf[1];
            C[g + 8][2 * t] = cf[2]; C[g + 8][2 * t + 1] = cf[3];
        }
        w.bar.arrive_and_wait();
        const int g = emu_lane >> 2, t = emu_lane & 3;
        const int rows[4] = {g, g, g + 8, g + 8}, cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
        for (int e = 0; e < 4; e++) {
            float acc = C[rows[e]][cols[e]];
            for (int k = 0; k < 16; k++) acc += A[rows[e]][k] * B[k][cols[e]];
            c[e] = acc;
        }
    }
    static uint32_t pack(float lo, float hi) {
        return (uint32_t)emu_from_f<H>(lo) | ((uint32_t)emu_from_f<H>(hi) << 16);
    }
};

/* ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16: lanes 8i..8i+7 give the row addresses
 * of matrix i; register i of lane l = 4 g + t receives rows 2t, 2t+1 of column g. */
inline void ldmatrix_x4_trans(uint32_t &r0, uint32_t &r1, uint32_t &r2, uint32_t &r3,
                              const void *smem) {
    EmuWarp &w = emu_w();
    w.p[emu_lane] = smem;
    if ((uintptr_t)smem % 16) abort();   /* ldmatrix rows must be 16-byte aligned */
    w.bar.arrive_and_wait();
    const int g = emu_lane >> 2, t = emu_lane & 3;
    uint32_t r[4];
    for (int i = 0; i < 4; i++) {
        const uint16_t *row_a = (const uint16_t *)w.p[8 * i + 2 * t];
        const uint16_t *row_b = (const uint16_t *)w.p[8 * i + 2 * t + 1];
        r[i] = (uint32_t)row_a[g] | ((uint32_t)row_b[g] << 16);
    }
    w.bar.arrive_and_wait();
    r0 = r[0]; r1 = r[1]; r2 = r[2]; r3 = r[3];
}

inline void cp_async16(void *smem, const void *gmem, bool valid) {
    if ((uintptr_t)smem % 16 || (valid && (uintptr_t)gmem % 16)) abort();
    if (valid) memcpy(smem, gmem, 16);
    else memset(smem, 0, 16);
}
inline void cp_async_commit() {}
template <int N> inline void cp_async_wait() {}

inline uint32_t ld32(const void *p) {
    if ((uintptr_t)p % 4) abort();
    uint32_t u;
    memcpy(&u, p, 4);
    return u;
}

/* Runs kernel(args...) on every block of grid, blockDim threads each. One OS thread per
 * CUDA thread of a block; together they walk the blocks in order, with a barrier between
 * blocks (so shared memory is never used by two blocks at once). */
template <typename... KArgs, typename... Args>
void emu_launch(dim3 grid, dim3 block, void (*kernel)(KArgs...), Args... args) {
    const int nt = block.x * block.y * block.z;   /* a partial last warp: no collectives */
    gridDim = {grid.x, grid.y, grid.z};
    blockDim = {block.x, block.y, block.z};
    std::barrier<> bar(nt);
    std::vector<EmuWarp> warps((nt + 31) / 32);
    EmuBlock blk{&bar, warps.data()};
    std::vector<std::thread> th;
    th.reserve(nt);
    for (int tid = 0; tid < nt; tid++)
        th.emplace_back([&, tid] {
            threadIdx = {tid % block.x, tid / block.x % block.y, tid / (block.x * block.y)};
            emu_block = &blk;
            emu_lane = tid % 32;
            emu_warp = tid / 32;
            for (unsigned z = 0; z < grid.z; z++)
                for (unsigned y = 0; y < grid.y; y++)
                    for (unsigned x = 0; x < grid.x; x++) {
                        blockIdx = {x, y, z};
                        kernel(args...);
                        bar.arrive_and_wait();
                    }
        });
    for (auto &t : th) t.join();
}

#endif
