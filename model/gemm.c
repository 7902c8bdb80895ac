/* gemm.c: a fast single-precision matrix multiply, C = A @ B (+ bias), in plain C.
 *
 * The three-loop matrix multiply (ops_matmul_ref) does one multiply-add per element
 * of A it loads, so it runs at the speed of the memory, not of the arithmetic. Four
 * tricks bring it to the speed of the arithmetic:
 *
 * 1. Register blocking. A tile kernel keeps a block of C, GEMM_MR = 6 rows by nr
 *    columns, in vector registers for the whole loop over k. Each step loads nr floats
 *    of one row of B and 6 floats of A, and does 6 * nr multiply-adds with them. With
 *    AVX-512 (32 registers of 16 floats) the block is 6 x 64: 24 accumulators, 4 loads
 *    of B, 1 broadcast; 24 fused multiply-adds per 10 loads. The CPU can do 2 FMAs and
 *    2 loads per cycle, so the arithmetic, not the loads, sets the pace. And 24
 *    independent accumulators hide the FMA's 4-cycle latency (2 ports x 4 cycles = 8
 *    in flight at least).
 * 2. The vector width, chosen at run time. The same ten lines of C are compiled three
 *    times with the block sized to each instruction set's register file: 6 x 64 for
 *    AVX-512, 6 x 16 for AVX2 (16 registers of 8 floats), 6 x 8 for portable SSE2.
 *    gemm_kernels() asks the CPU once which it can run. (The kernels are written as
 *    loops with constant bounds; the compiler unrolls them and keeps acc[][] in
 *    registers. `omp simd` on the innermost loop makes GCC vectorise it as a loop; without
 *    it GCC 12 tries to vectorise the unrolled copies one by one and gives up.)
 * 3. Cache blocking with a packed B. The kernel walks down nr columns of B; in B's own
 *    layout those are nr floats every ldb floats, a new cache line (and, for a wide
 *    matrix, a new page) per k. Copying ("packing") B once into panels of nr columns,
 *    each row of a panel right after the previous one, makes every kernel read
 *    sequential. The k loop is cut into blocks of kc so that one panel block (kc x nr)
 *    stays in the L1 cache while the kernel sweeps down the rows of A: kc comes from
 *    the L1 size of this machine, not from a constant.
 * 4. Threads. Blocks of rows of C are independent; OpenMP shares them out. Every
 *    element is computed by the same sequence of operations whatever the number of
 *    threads, so the result does not depend on it (the trainer's tests check that).
 *
 * The compiler needs -ffp-contract=fast here (see the Makefile) to fuse a * b + c into
 * one FMA instruction: in ISO C mode (-std=c11) GCC keeps them apart by default. */
#define _DEFAULT_SOURCE
#include "gemm.h"

#include "common.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the tile kernels --------------------------------------------------------------- */

/* The body of every tile kernel (see GemmTileFn in gemm.h), for an MR x NB block.
 * acc[r][n] accumulates row r of A times column n of B over k, starting from the bias
 * (so that a layer's bias costs no extra pass over C). */
#define GEMM_TILE_BODY(MR, NB)                                                       \
    float acc[MR][NB];                                                               \
    for (int r = 0; r < MR; r++)                                                     \
        for (int n = 0; n < NB; n++) acc[r][n] = bias ? bias[n] : 0.0f;              \
    for (int k = 0; k < K; k++) {                                                    \
        const float *b = B + (size_t)k * ldb;    /* one row of B: NB floats */       \
        for (int r = 0; r < MR; r++) {                                               \
            float a = A[(size_t)r * lda + k];    /* broadcast to every lane */       \
            _Pragma("omp simd")                                                      \
            for (int n = 0; n < NB; n++) acc[r][n] += a * b[n];                      \
        }                                                                            \
    }                                                                                \
    for (int r = 0; r < MR; r++) {                                                   \
        float *c = C + (size_t)r * ldc;                                              \
        if (cscale) {                                                                \
            float s = cscale[r];                                                     \
            for (int n = 0; n < NB; n++) c[n] = c[n] * s + acc[r][n];                \
        } else {                                                                     \
            for (int n = 0; n < NB; n++) c[n] = acc[r][n];                           \
        }                                                                            \
    }

/* The same block with the sum over k split in KU interleaved partial sums (step k adds
 * into acc[k % KU]), added together at the end. A narrow block has few accumulators
 * (6 for 6 x 16): each one waits for its previous fused multiply-add (4 cycles), so with
 * a long K the kernel runs at the latency of one chain, not at the CPU's throughput.
 * KU chains per element keep KU times as many multiply-adds in flight. For attention's
 * P . V (K = keys, only hs columns). Another order of the sum: other rounding than the
 * plain kernel, within float accuracy. */
#define GEMM_TILE_BODY_SPLITK(MR, NB, KU)                                            \
    float acc[KU][MR][NB];                                                           \
    for (int u = 0; u < KU; u++)                                                     \
        for (int r = 0; r < MR; r++)                                                 \
            for (int n = 0; n < NB; n++) acc[u][r][n] = u == 0 && bias ? bias[n] : 0.0f; \
    int k = 0;                                                                       \
    for (; k + KU <= K; k += KU)                                                     \
        for (int u = 0; u < KU; u++) {                                               \
            const float *b = B + (size_t)(k + u) * ldb;                              \
            for (int r = 0; r < MR; r++) {                                           \
                float a = A[(size_t)r * lda + k + u];                                \
                _Pragma("omp simd")                                                  \
                for (int n = 0; n < NB; n++) acc[u][r][n] += a * b[n];               \
            }                                                                        \
        }                                                                            \
    for (; k < K; k++) {                     /* the last K % KU steps: chain 0 */    \
        const float *b = B + (size_t)k * ldb;                                        \
        for (int r = 0; r < MR; r++) {                                               \
            float a = A[(size_t)r * lda + k];                                        \
            _Pragma("omp simd")                                                      \
            for (int n = 0; n < NB; n++) acc[0][r][n] += a * b[n];                   \
        }                                                                            \
    }                                                                                \
    for (int u = 1; u < KU; u++)                                                     \
        for (int r = 0; r < MR; r++)                                                 \
            for (int n = 0; n < NB; n++) acc[0][r][n] += acc[u][r][n];               \
    for (int r = 0; r < MR; r++) {                                                   \
        float *c = C + (size_t)r * ldc;                                              \
        if (cscale) {                                                                \
            float s = cscale[r];                                                     \
            for (int n = 0; n < NB; n++) c[n] = c[n] * s + acc[0][r][n];             \
        } else {                                                                     \
            for (int n = 0; n < NB; n++) c[n] = acc[0][r][n];                        \
        }                                                                            \
    }

#define GEMM_TILE_ARGS                                                                 \
    int K, const float *restrict A, int lda, const float *restrict B, int ldb,         \
        float *restrict C, int ldc, const float *restrict cscale, const float *restrict bias

/* On x86-64 with GCC, the AVX-512 and AVX2 variants are compiled for those
 * instruction sets (target attribute) whatever the flags of the rest of the build;
 * they only run on a CPU that has them. */
/* A text's row count is rarely a multiple of GEMM_MR: the last 1 to 5 rows of C go
 * through kernels of exactly that many rows (rows[m - 1] computes m rows), so that no
 * row is padded, copied or computed for nothing. Each element is the same sum in the
 * same order whichever kernel computes it: the same bits. */
#define GEMM_ROW_KERNELS(ATTR, NAME, NB)                                               \
    ATTR static void NAME##_1(GEMM_TILE_ARGS) { GEMM_TILE_BODY(1, NB) }               \
    ATTR static void NAME##_2(GEMM_TILE_ARGS) { GEMM_TILE_BODY(2, NB) }               \
    ATTR static void NAME##_3(GEMM_TILE_ARGS) { GEMM_TILE_BODY(3, NB) }               \
    ATTR static void NAME##_4(GEMM_TILE_ARGS) { GEMM_TILE_BODY(4, NB) }               \
    ATTR static void NAME##_5(GEMM_TILE_ARGS) { GEMM_TILE_BODY(5, NB) }               \
    ATTR static void NAME##_6(GEMM_TILE_ARGS) { GEMM_TILE_BODY(GEMM_MR, NB) }         \
    static const GemmTileFn NAME##_rows[GEMM_MR] = {NAME##_1, NAME##_2, NAME##_3,     \
                                                     NAME##_4, NAME##_5, NAME##_6};

/* On x86-64 with GCC, the AVX-512 and AVX2 variants are compiled for those
 * instruction sets (target attribute) whatever the flags of the rest of the build;
 * they only run on a CPU that has them. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(AVZ_NO_CLONES)
#define GEMM_HAVE_X86 1
#define AVX512 __attribute__((target("arch=x86-64-v4")))
#define AVX2 __attribute__((target("arch=x86-64-v3")))
GEMM_ROW_KERNELS(AVX512, tile_avx512_x64, 64)
GEMM_ROW_KERNELS(AVX512, tile_avx512_x16, 16)
GEMM_ROW_KERNELS(AVX2, tile_avx2_x16, 16)
GEMM_ROW_KERNELS(AVX2, tile_avx2_x8, 8)
AVX512 static void tile_avx512_6x16_k4(GEMM_TILE_ARGS) {
    GEMM_TILE_BODY_SPLITK(GEMM_MR, 16, 4)    /* 24 accumulators of 32 registers */
}
AVX2 static void tile_avx2_6x8_k2(GEMM_TILE_ARGS) {
    GEMM_TILE_BODY_SPLITK(GEMM_MR, 8, 2)     /* 12 accumulators of 16 registers */
}
#endif
GEMM_ROW_KERNELS(, tile_portable_x8, 8)
GEMM_ROW_KERNELS(, tile_portable_x4, 4)
static void tile_portable_6x4_k2(GEMM_TILE_ARGS) { GEMM_TILE_BODY_SPLITK(GEMM_MR, 4, 2) }

static const GemmKernels KERNELS[] = {
#ifdef GEMM_HAVE_X86
    {"avx512", 64, 16, tile_avx512_x64_6, tile_avx512_x16_6, tile_avx512_6x16_k4,
     tile_avx512_x64_rows, tile_avx512_x16_rows},
    {"avx2", 16, 8, tile_avx2_x16_6, tile_avx2_x8_6, tile_avx2_6x8_k2, tile_avx2_x16_rows,
     tile_avx2_x8_rows},
#endif
    {"portable", 8, 4, tile_portable_x8_6, tile_portable_x4_6, tile_portable_6x4_k2,
     tile_portable_x8_rows, tile_portable_x4_rows},
};
#define N_KERNELS ((int)(sizeof KERNELS / sizeof KERNELS[0]))

static int cpu_can_run(const GemmKernels *k) {
#ifdef GEMM_HAVE_X86
    __builtin_cpu_init();
    /* these names check the instruction sets and that the OS saves their registers */
    if (strcmp(k->isa, "avx512") == 0) return __builtin_cpu_supports("x86-64-v4") > 0;
    if (strcmp(k->isa, "avx2") == 0) return __builtin_cpu_supports("x86-64-v3") > 0;
#endif
    return strcmp(k->isa, "portable") == 0;
}

const GemmKernels *gemm_kernels_named(const char *isa) {
    for (int i = 0; i < N_KERNELS; i++)
        if (strcmp(KERNELS[i].isa, isa) == 0) return cpu_can_run(&KERNELS[i]) ? &KERNELS[i] : NULL;
    return NULL;
}

static const GemmKernels *g_selected;   /* set once; every caller after reads it */

const GemmKernels *gemm_kernels(void) {
    const GemmKernels *k = __atomic_load_n(&g_selected, __ATOMIC_ACQUIRE);
    if (k) return k;
    const char *want = getenv("AVZ_ISA");
    k = want ? gemm_kernels_named(want) : NULL;
    for (int i = 0; !k && i < N_KERNELS; i++)       /* best first */
        if (cpu_can_run(&KERNELS[i])) k = &KERNELS[i];
    __atomic_store_n(&g_selected, k, __ATOMIC_RELEASE);
    return k;
}

int gemm_select(const char *isa) {
    const GemmKernels *k = gemm_kernels_named(isa);
    if (!k) return 0;
    __atomic_store_n(&g_selected, k, __ATOMIC_RELEASE);
    return 1;
}

void gemm_panel(const GemmKernels *k, int K, const float *A, int lda, const float *B, int ldb,
                float *C, int ldc, const float *cscale, int ncols) {
    int n = 0;
    for (; n + k->nr_wide <= ncols; n += k->nr_wide)
        k->wide(K, A, lda, B + n, ldb, C + n, ldc, cscale, NULL);
    for (; n < ncols; n += k->nr_narrow) k->narrow(K, A, lda, B + n, ldb, C + n, ldc, cscale, NULL);
}

void gemm_panel_long_k(const GemmKernels *k, int K, const float *A, int lda, const float *B,
                       int ldb, float *C, int ldc, const float *cscale, int ncols) {
    int n = 0;
    for (; n + k->nr_wide <= ncols; n += k->nr_wide)
        k->wide(K, A, lda, B + n, ldb, C + n, ldc, cscale, NULL);
    for (; n < ncols; n += k->nr_narrow)
        k->narrow_long(K, A, lda, B + n, ldb, C + n, ldc, cscale, NULL);
}

/* ---- cache sizes ---------------------------------------------------------------------- */

/* "48K" / "2048K" / "2M" from /sys/devices/system/cpu/cpu0/cache/index<i>/size */
static size_t sysfs_cache(int level) {
    for (int i = 0; i < 8; i++) {
        char path[96], buf[32];
        int lv = 0;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        FILE *f = fopen(path, "r");
        if (!f) break;
        if (fscanf(f, "%d", &lv) != 1) lv = 0;
        fclose(f);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
        f = fopen(path, "r");
        if (!f || !fgets(buf, sizeof buf, f) || lv != level || strncmp(buf, "Instruction", 11) == 0) {
            if (f) fclose(f);
            continue;
        }
        fclose(f);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        f = fopen(path, "r");
        size_t n = 0;
        char unit = 'K';
        if (f && fscanf(f, "%zu%c", &n, &unit) >= 1)
            n *= unit == 'M' ? 1u << 20 : unit == 'K' ? 1u << 10 : 1u;
        if (f) fclose(f);
        if (n) return n;
    }
    return 0;
}

static CpuCaches g_caches;

const CpuCaches *cpu_caches(void) {
    /* measured once; after that every caller (one per attention head and pass) returns
     * here without entering the critical section */
    if (__atomic_load_n(&g_caches.source, __ATOMIC_ACQUIRE)) return &g_caches;
#pragma omp critical(avz_cpu_caches)
    if (!g_caches.source) {
        CpuCaches c = {0, 0, "sysconf"};
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE)
        long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
        c.l1d = l1 > 0 ? (size_t)l1 : 0;
        c.l2 = l2 > 0 ? (size_t)l2 : 0;
#endif
        if (!c.l1d || !c.l2) {
            c.l1d = sysfs_cache(1);
            c.l2 = sysfs_cache(2);
            c.source = "sysfs";
        }
        if (!c.l1d || !c.l2) {   /* small enough for any x86 or ARM core of the last decade */
            c.l1d = 32u << 10;
            c.l2 = 256u << 10;
            c.source = "fallback";
        }
        g_caches.l1d = c.l1d;
        g_caches.l2 = c.l2;
        __atomic_store_n(&g_caches.source, c.source, __ATOMIC_RELEASE);   /* last: ready */
    }
    return &g_caches;
}

/* ---- the blocked, packed, threaded multiply ------------------------------------------ */

#define GEMM_KC_MAX 512   /* longest k block (the edge tiles keep one on the stack) */
#define GEMM_NR_MAX 64    /* widest kernel */

/* Copies columns [n0, n0 + w) of B (K rows) into a panel: row k at dst + k * w. Columns
 * past N are zero, so that a kernel may run over the whole panel. For a transposed B
 * (row n of Bt is column n of B) it reads along Bt's rows, which are contiguous. */
static void pack_panel(float *dst, const float *B, int ldb, int bt, int K, int N, int n0, int w) {
    int nv = N - n0 < w ? N - n0 : w;
    if (bt) {
        for (int n = 0; n < nv; n++) {
            const float *col = B + (size_t)(n0 + n) * ldb;
            for (int k = 0; k < K; k++) dst[(size_t)k * w + n] = col[k];
        }
        for (int k = 0; k < K; k++)
            for (int n = nv; n < w; n++) dst[(size_t)k * w + n] = 0.0f;
        return;
    }
    for (int k = 0; k < K; k++) {
        float *d = dst + (size_t)k * w;
        memcpy(d, B + (size_t)k * ldb + n0, sizeof(float) * nv);
        for (int n = nv; n < w; n++) d[n] = 0.0f;
    }
}

/* A tile at the right edge (ncols < w; maybe at the bottom too, mrows < GEMM_MR): the
 * kernel always computes a whole tile, so it runs on zero-padded copies (of A's rows,
 * of the bias) and only the valid part of the result is copied back. */
static void tile_edge(GemmTileFn fn, int w, int K, const float *A, int lda, int mrows,
                      const float *B, int ldb, float *C, int ldc, int ncols, const float *cscale,
                      const float *bias) {
    float apad[GEMM_MR * GEMM_KC_MAX], ctmp[GEMM_MR * GEMM_NR_MAX], bpad[GEMM_NR_MAX];
    if (mrows < GEMM_MR) {
        for (int r = 0; r < GEMM_MR; r++)
            for (int k = 0; k < K; k++) apad[r * K + k] = r < mrows ? A[(size_t)r * lda + k] : 0.0f;
        A = apad;
        lda = K;
    }
    if (bias && ncols < w) {
        for (int n = 0; n < w; n++) bpad[n] = n < ncols ? bias[n] : 0.0f;
        bias = bpad;
    }
    if (cscale)   /* the kernel scales and adds to what C holds: bring that in */
        for (int r = 0; r < GEMM_MR; r++)
            for (int n = 0; n < w; n++)
                ctmp[r * w + n] = r < mrows && n < ncols ? C[(size_t)r * ldc + n] : 0.0f;
    fn(K, A, lda, B, ldb, ctmp, w, cscale, bias);
    for (int r = 0; r < mrows; r++)
        memcpy(C + (size_t)r * ldc, ctmp + r * w, sizeof(float) * ncols);
}

/* One k block of one panel against row groups g0..g1-1: C[rows, panel] += A[rows, k block]
 * B[k block, panel] (the first block starts from the bias or 0, the others add). */
static void gemm_block(const GemmPanel *pn, int k0, int kl, int g0, int g1, int M, int N,
                       const float *A, int lda, float *C, int ldc, const float *bias) {
    static const float ones[GEMM_MR] = {1, 1, 1, 1, 1, 1};
    const float *cscale = k0 > 0 ? ones : NULL;
    int ncols = N - pn->n0 < pn->w ? N - pn->n0 : pn->w;
    const float *bp = pn->b + (size_t)k0 * pn->ldb;
    const float *bb = bias && k0 == 0 ? bias + pn->n0 : NULL;
    for (int gi = g0; gi < g1; gi++) {
        int r0 = gi * GEMM_MR, mrows = M - r0 < GEMM_MR ? M - r0 : GEMM_MR;
        const float *a = A + (size_t)r0 * lda + k0;
        float *c = C + (size_t)r0 * ldc + pn->n0;
        if (ncols == pn->w)   /* a whole panel wide: the kernel of mrows rows */
            pn->rows[mrows - 1](kl, a, lda, bp, pn->ldb, c, ldc, cscale, bb);
        else
            tile_edge(pn->fn, pn->w, kl, a, lda, mrows, bp, pn->ldb, c, ldc, ncols, cscale, bb);
    }
}

/* Row groups g0..g1-1 against every panel, k block by k block: a block of A (rows x kc)
 * stays in L2 while every panel passes by. For many rows (training batches). */
static void gemm_rows(int g0, int g1, int M, int N, int K, int kc, const float *A, int lda,
                      const GemmPanel *panels, int npanels, float *C, int ldc, const float *bias) {
    for (int k0 = 0; k0 < K; k0 += kc)
        for (int p = 0; p < npanels; p++)
            gemm_block(&panels[p], k0, K - k0 < kc ? K - k0 : kc, g0, g1, M, N, A, lda, C, ldc,
                       bias);
}

/* Panels p0..p1-1 against every row, each panel finished before the next: for few rows
 * (a text of T tokens), where all of A fits in L2. The panel's tile of C stays in cache
 * over its k blocks (row by row it would be read and written K / kc times: 100 MB for
 * GPT-2's LM head at T = 64), and threads that share the panels read each weight once
 * between them. Every element sums its k blocks in the same order as gemm_rows: the
 * same bits. */
static void gemm_cols(int p0, int p1, int M, int N, int K, int kc, const float *A, int lda,
                      const GemmPanel *panels, float *C, int ldc, const float *bias) {
    int groups = (M + GEMM_MR - 1) / GEMM_MR;
    for (int p = p0; p < p1; p++)
        for (int k0 = 0; k0 < K; k0 += kc)
            gemm_block(&panels[p], k0, K - k0 < kc ? K - k0 : kc, 0, groups, M, N, A, lda, C,
                       ldc, bias);
}

/* kc: one panel block (kc x nr_wide floats) fills half of L1, the rest is for A and C. */
static int k_block(const GemmKernels *g) {
    int kc = (int)(cpu_caches()->l1d / 2 / (sizeof(float) * g->nr_wide)) / 16 * 16;
    return kc < 64 ? 64 : kc > GEMM_KC_MAX ? GEMM_KC_MAX : kc;
}

/* Cuts the N columns of B into panels: wide ones, then narrow ones for the rest.
 * A rest of more than half a wide panel is one more wide panel instead, zero-padded
 * (its last columns are computed and thrown away): the narrow kernel has too few
 * accumulators to keep the CPU busy, so 60 columns (the LM head's 636 = 9 x 64 + 60)
 * take longer in four narrow panels than in one padded wide one.
 * Returns how many; panels[] is filled when not NULL. Nothing is packed yet. */
static int plan_panels(const GemmKernels *g, int N, GemmPanel *panels) {
    int nwide = N / g->nr_wide, rest = N - nwide * g->nr_wide;
    if (2 * rest > g->nr_wide) {
        nwide++;
        rest = 0;
    }
    int npanels = nwide + (rest + g->nr_narrow - 1) / g->nr_narrow;
    for (int p = 0; panels && p < npanels; p++) {
        GemmPanel *pn = &panels[p];
        pn->w = p < nwide ? g->nr_wide : g->nr_narrow;
        pn->n0 = p < nwide ? p * pn->w : nwide * g->nr_wide + (p - nwide) * pn->w;
        pn->fn = p < nwide ? g->wide : g->narrow;
        pn->rows = p < nwide ? g->wide_rows : g->narrow_rows;
        pn->packed = 0;
        pn->b = NULL;
        pn->ldb = 0;
    }
    return npanels;
}

/* C = A B over the panels (already packed where asked): for a few rows, in tasks of a
 * few panels (gemm_cols); otherwise in tasks of a few row groups (gemm_rows). OpenMP
 * shares the tasks out when the product is big enough to pay for threads. */
static void run_panels(int M, int N, int K, int kc, const float *A, int lda,
                       const GemmPanel *panels, int npanels, float *C, int ldc,
                       const float *bias) {
    const CpuCaches *cc = cpu_caches();
    int groups = (M + GEMM_MR - 1) / GEMM_MR;
    /* waking a thread costs microseconds on an idle machine, and up to a scheduler time
     * slice on a busy one: not worth it below ~8 MFLOP (~0.1 ms of one core) */
    int nthreads = omp_get_max_threads();
    int par = nthreads > 1 && 2.0 * M * N * K > 8e6;
    if ((size_t)M * K * sizeof(float) <= cc->l2 / 2 && npanels > 1) {  /* few rows */
        int per = par ? (npanels + 4 * nthreads - 1) / (4 * nthreads) : npanels;
        int ntasks = (npanels + per - 1) / per;
        if (!par) {
            gemm_cols(0, npanels, M, N, K, kc, A, lda, panels, C, ldc, bias);
            return;
        }
#pragma omp parallel for schedule(dynamic)
        for (int t = 0; t < ntasks; t++)
            gemm_cols(t * per, t * per + per < npanels ? t * per + per : npanels, M, N, K, kc, A,
                      lda, panels, C, ldc, bias);
        return;
    }
    /* rows per task: enough tasks to share out (4 per thread), few enough that a
     * task's block of A (rows x kc) stays in L2 */
    int per_task = par ? (groups + 4 * nthreads - 1) / (4 * nthreads) : groups;
    int l2_groups = (int)(cc->l2 / 2 / (sizeof(float) * GEMM_MR * kc));
    if (per_task > l2_groups) per_task = l2_groups > 0 ? l2_groups : 1;
    if (per_task < 1) per_task = 1;
    int ntasks = (groups + per_task - 1) / per_task;
    if (!par) {   /* one thread: no OpenMP region at all (entering one costs too) */
        for (int g0 = 0; g0 < groups; g0 += per_task)
            gemm_rows(g0, g0 + per_task < groups ? g0 + per_task : groups, M, N, K, kc, A, lda,
                      panels, npanels, C, ldc, bias);
        return;
    }
#pragma omp parallel for schedule(dynamic)
    for (int t = 0; t < ntasks; t++) {
        int g0 = t * per_task, g1 = g0 + per_task < groups ? g0 + per_task : groups;
        gemm_rows(g0, g1, M, N, K, kc, A, lda, panels, npanels, C, ldc, bias);
    }
}

/* C = bias (or 0) when K = 0: nothing to multiply. */
static void fill_bias(int M, int N, float *C, int ldc, const float *bias) {
    for (int r = 0; r < M; r++)
        for (int n = 0; n < N; n++) C[(size_t)r * ldc + n] = bias ? bias[n] : 0.0f;
}

void gemm_sgemm(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                int b_transposed, float *C, int ldc, const float *bias) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        fill_bias(M, N, C, ldc, bias);
        return;
    }
    const GemmKernels *g = gemm_kernels();
    int kc = k_block(g);
    /* Packing a panel pays when many row groups reuse it; with few rows (a short text:
     * M = T) the kernels read B where it is, except a transposed B and a last panel
     * narrower than its kernel, which are always packed. (A weight matrix used again
     * and again is better packed once: gemm_pack_b.) */
    int npanels = plan_panels(g, N, NULL);
    GemmPanel *panels = avz_xmalloc(sizeof(GemmPanel) * npanels);
    plan_panels(g, N, panels);
    int pack_all = b_transposed || M > 16 * GEMM_MR;
    size_t packed = 0;
    for (int p = 0; p < npanels; p++) {
        GemmPanel *pn = &panels[p];
        pn->packed = pack_all || pn->n0 + pn->w > N;
        pn->b = pn->packed ? NULL : B + pn->n0;   /* packed: set once the buffer exists */
        pn->ldb = pn->packed ? pn->w : ldb;
        if (pn->packed) packed += (size_t)pn->w * K;
    }
    float *Bp = packed ? avz_xmalloc(sizeof(float) * packed) : NULL;
    for (size_t p = 0, off = 0; p < (size_t)npanels; p++)
        if (panels[p].packed) {
            panels[p].b = Bp + off;
            off += (size_t)panels[p].w * K;
        }
    int par = 2.0 * M * N * K > 8e6 && omp_get_max_threads() > 1;
#pragma omp parallel for schedule(static) if (par)
    for (int p = 0; p < npanels; p++)
        if (panels[p].packed)
            pack_panel(Bp + (panels[p].b - Bp), B, ldb, b_transposed, K, N, panels[p].n0,
                       panels[p].w);
    run_panels(M, N, K, kc, A, lda, panels, npanels, C, ldc, bias);
    free(Bp);
    free(panels);
}

/* ---- B packed once ---------------------------------------------------------------------- */

void gemm_pack_b(GemmPackedB *p, int N, int K, const float *B, int ldb, int b_transposed) {
    const GemmKernels *g = gemm_kernels();
    int npanels = plan_panels(g, N, NULL);
    if (p->k != g || p->N != N || p->K != K) {   /* a new shape (or new kernels): new memory */
        gemm_packed_free(p);
        p->panels = avz_xmalloc(sizeof(GemmPanel) * npanels);
        p->data = avz_xmalloc(sizeof(float) * (size_t)npanels * g->nr_wide * (K > 0 ? K : 1));
    }
    p->k = g;
    p->N = N;
    p->K = K;
    p->npanels = npanels;
    plan_panels(g, N, p->panels);
    size_t off = 0;
    for (int i = 0; i < npanels; i++) {
        GemmPanel *pn = &p->panels[i];
        pn->packed = 1;
        pn->b = p->data + off;
        pn->ldb = pn->w;
        pack_panel(p->data + off, B, ldb, b_transposed, K, N, pn->n0, pn->w);
        off += (size_t)pn->w * K;
    }
}

void gemm_packed_free(GemmPackedB *p) {
    free(p->panels);
    free(p->data);
    memset(p, 0, sizeof *p);
}

void gemm_sgemm_packed(int M, const GemmPackedB *p, const float *A, int lda, float *C, int ldc,
                       const float *bias) {
    AVZ_ASSERT(p->k == gemm_kernels());   /* packed for the kernels that will read it */
    if (M <= 0 || p->N <= 0) return;
    if (p->K <= 0) {
        fill_bias(M, p->N, C, ldc, bias);
        return;
    }
    run_panels(M, p->N, p->K, k_block(p->k), A, lda, p->panels, p->npanels, C, ldc, bias);
}
