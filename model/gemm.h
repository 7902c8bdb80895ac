/* gemm.h: the fast single-precision matrix multiply of the CPU, and the small
 * register-blocked tile kernels it is built from (the fast attention reuses them).
 *
 * The readable reference of a matrix multiply is ops_matmul_ref in ops.c: three
 * nested loops. This module computes the same thing near the machine's peak; see
 * gemm.c for the four tricks that take it there (register blocking, vector width
 * chosen at run time, cache blocking with a packed B, threads). */
#ifndef AVZ_GEMM_H
#define AVZ_GEMM_H

#include <stddef.h>

/* Every tile kernel computes GEMM_MR rows of C at once. */
#define GEMM_MR 6

/* One tile kernel: C (GEMM_MR x nr) for a fixed nr, K any:
 *   cscale == NULL:  C = bias + A . B            (bias: nr floats added to every row; may be NULL)
 *   otherwise:       C = C * cscale[r] + A . B   (row r scaled first; pass ones to add; no bias)
 * A: row r at A + r*lda (K floats). B: row k at B + k*ldb (nr floats). C: row r at
 * C + r*ldc. C must not overlap A or B. */
typedef void (*GemmTileFn)(int K, const float *A, int lda, const float *B, int ldb, float *C,
                           int ldc, const float *cscale, const float *bias);

/* The kernels of one instruction set. wide is the fast one; narrow covers widths
 * that are not a multiple of nr_wide (nr_wide is a multiple of nr_narrow). */
typedef struct {
    const char *isa;        /* "avx512", "avx2" or "portable" */
    int nr_wide, nr_narrow; /* columns of C per call of each kernel */
    GemmTileFn wide, narrow;
    GemmTileFn narrow_long; /* narrow, its sum over k split in partial sums (for long K) */
    const GemmTileFn *wide_rows, *narrow_rows; /* [m - 1]: the same for m <= GEMM_MR rows */
} GemmKernels;

/* The best kernels this CPU can run, chosen once (AVX-512, else AVX2 + FMA, else
 * portable C). The environment variable AVZ_ISA=avx512|avx2|portable asks for a lower
 * one (for comparisons); a request the CPU cannot run is ignored. */
const GemmKernels *gemm_kernels(void);

/* The kernels of one named set, or NULL if this CPU (or this build) cannot run it. */
const GemmKernels *gemm_kernels_named(const char *isa);

/* Makes gemm_kernels() return the named set from now on (tests use it to check every
 * path on one machine). Returns 0 if this CPU cannot run it (nothing changes), else 1. */
int gemm_select(const char *isa);

/* C (GEMM_MR x ncols) op= A . B, as GemmTileFn without bias, over ncols columns (a
 * multiple of k->nr_narrow): wide kernels first, narrow ones for the rest. */
void gemm_panel(const GemmKernels *k, int K, const float *A, int lda, const float *B, int ldb,
                float *C, int ldc, const float *cscale, int ncols);

/* The same, with narrow_long for the columns that no wide kernel covers: for a product
 * with a long K and few columns (attention's P . V: K = keys, ncols = head size), where
 * the narrow kernel's few accumulators would wait on one another. Rounds otherwise. */
void gemm_panel_long_k(const GemmKernels *k, int K, const float *A, int lda, const float *B,
                       int ldb, float *C, int ldc, const float *cscale, int ncols);

/* Data cache sizes of this CPU (of one core), in bytes. */
typedef struct {
    size_t l1d, l2;
    const char *source;     /* "sysconf", "sysfs" or "fallback" (32 KiB / 256 KiB) */
} CpuCaches;
const CpuCaches *cpu_caches(void);

/* C (M, N) = A (M, K) @ B (K, N) + bias (N), all row-major, float32.
 * b_transposed = 1 reads B from its transpose: B[k][n] = Bt[n * ldb + k] (the tied
 * LM head: x @ wte^T with wte (V, C)). bias may be NULL. Threads (OpenMP) over blocks
 * of rows when the product is large enough to pay for them. Allocates K*N floats of
 * scratch (B packed), freed before returning. */
void gemm_sgemm(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                int b_transposed, float *C, int ldc, const float *bias);

/* ---- B packed once, for a matrix used in many products (a weight matrix) ----------
 * gemm_sgemm packs B (or reads it in place) on every call. A weight matrix is the same
 * from one forward pass to the next, so the model packs it once (model.h, the weight
 * cache) and multiplies by the packed copy: the same panels, the same kernels, the same
 * bits as gemm_sgemm, without the copy. */

/* One panel of B: nr columns [n0, n0 + w) that one kernel covers; row k at b + k * ldb. */
typedef struct {
    const float *b;
    int ldb, n0, w;
    int packed;         /* b points into a packed copy (else into B itself) */
    GemmTileFn fn;
    const GemmTileFn *rows; /* fn for 1 to GEMM_MR rows: rows[m - 1] */
} GemmPanel;

typedef struct {
    const GemmKernels *k;   /* the kernels it was packed for (NULL: empty) */
    int N, K, npanels;
    GemmPanel *panels;      /* (npanels) */
    float *data;            /* every panel, K rows of w floats each; zero past column N */
} GemmPackedB;

/* Packs B (K, N) (or, b_transposed, B given as its (N, K) transpose) into p, for the
 * kernels gemm_kernels() returns now. p must be zeroed or packed before; its memory is
 * reused when the shape is the same. Free with gemm_packed_free. */
void gemm_pack_b(GemmPackedB *p, int N, int K, const float *B, int ldb, int b_transposed);
void gemm_packed_free(GemmPackedB *p);

/* C (M, p->N) = A (M, p->K) @ B + bias, with B packed by gemm_pack_b for the kernels in
 * use (asserted). bias may be NULL. Threads as gemm_sgemm. */
void gemm_sgemm_packed(int M, const GemmPackedB *p, const float *A, int lda, float *C, int ldc,
                       const float *bias);

#endif
