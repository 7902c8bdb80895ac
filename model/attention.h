/* attention.h: scaled dot-product attention for one head, on the CPU, two ways.
 *
 *   S = q k^T * scale (+ ALiBi bias)      (T, T) scores, row i = query i
 *   P = softmax_row(S) with the causal mask (key j > query i gets probability 0)
 *   out = P v                              (T, hs)
 *   lse_i = log(sum_j exp(S_ij))           one number per row
 *
 * attn_naive builds the whole (T, T) matrix: simple, and the reference.
 * attn_flash never does: it walks over blocks of keys with an online softmax,
 * keeping for each query row only a running max m, a running sum l and a partial
 * output, and rescales them whenever a later block raises the max. Memory is
 * O(tile) instead of O(T^2); the result is the same up to rounding.
 *
 * Because flash keeps lse_i, any row of P can be recomputed exactly later:
 * P_ij = exp(S_ij - lse_i). That is how attnviz shows maps from a flash pass.
 *
 * attention.c holds the two readable versions, the reference. attention_fast.c
 * computes the same flash attention and capture with tiled matrix products, a
 * vectorised exp and threads, near the machine's peak; the model runs that one. */
#ifndef AVZ_ATTENTION_H
#define AVZ_ATTENTION_H

#include <stddef.h>

typedef struct {
    int T;          /* sequence length (queries and keys) */
    int hs;         /* head size d */
    float scale;    /* usually 1/sqrt(hs) */
    float slope;    /* ALiBi slope m: S_ij -= m * |i - j|; 0 for no bias */
    int causal;     /* 1: query i sees keys j <= i only */
    int ostride;    /* distance in floats between output rows (hs for a packed (T, hs) out) */
} AttnShape;

/* q, k, v: (T, hs) packed rows. P: (T, T) filled with the probabilities
 * (zeros where masked). out: row t at out + t*ostride, hs floats. lse: (T). */
void attn_naive(const AttnShape *s, const float *q, const float *k, const float *v,
                float *P, float *out, float *lse);

/* Same result without P. Tiles of AVZ_FLASH_BQ queries x AVZ_FLASH_BK keys; any T. */
#define AVZ_FLASH_BQ 32
#define AVZ_FLASH_BK 64
#define AVZ_MAX_HS 256
void attn_flash(const AttnShape *s, const float *q, const float *k, const float *v,
                float *out, float *lse);

/* Extra memory flash needs for one head, in bytes (its tile buffers). */
size_t attn_flash_scratch_bytes(int hs);

/* Recomputes rows [row0, row0 + nrows) of P from q, k and lse into P (nrows, T):
 * P_ij = exp(S_ij - lse_i), 0 where masked. */
void attn_capture_rows(const AttnShape *s, const float *q, const float *k,
                       const float *lse, int row0, int nrows, float *P);

/* ---- the fast CPU kernels (attention_fast.c) ----------------------------------------
 * The same results as attn_flash and attn_capture_rows (to rounding: the tests hold
 * them within 1e-5 of attn_naive), computed with tiled matrix products, a vectorised
 * exp and threads. The model's forward pass and capture use these; the readable ones
 * above stay as the reference. */

/* One (T, hs) head; single-threaded, so that a caller can run heads in parallel.
 * Same contract as attn_flash. Allocates attn_flash_fast_scratch_bytes(T, hs). */
void attn_flash_fast(const AttnShape *s, const float *q, const float *k, const float *v,
                     float *out, float *lse);

/* nh heads at once, threads (OpenMP) over (head, block of query rows). q, k, v: (nh, T,
 * hs) packed; head h writes rows of hs floats at out + h * out_head_stride + t *
 * s->ostride and its log-sum-exps at lse + h * T. slopes: ALiBi slope per head, or NULL
 * to use s->slope for all. Allocates attn_flash_fast_scratch_bytes per thread. */
void attn_flash_fast_heads(const AttnShape *s, int nh, const float *slopes, const float *q,
                           const float *k, const float *v, float *out, size_t out_head_stride,
                           float *lse);

/* Same contract as attn_capture_rows; single-threaded. */
void attn_capture_rows_fast(const AttnShape *s, const float *q, const float *k,
                            const float *lse, int row0, int nrows, float *P);

/* The tiles the fast kernels pick for (T, hs) on this machine, and the scratch memory
 * one call (or one thread) allocates. */
typedef struct {
    int bq, bk;             /* query rows and keys per tile */
    const char *isa;        /* the kernels' instruction set: avx512, avx2 or portable */
    size_t scratch_bytes;
} AttnFastTiles;
AttnFastTiles attn_fast_tiles(int T, int hs);
size_t attn_flash_fast_scratch_bytes(int T, int hs);

/* The bias ALiBi adds to the logit of query i and key j (0 when slope is 0). */
static inline float attn_alibi_bias(float slope, int i, int j) {
    int d = i > j ? i - j : j - i;
    return -slope * (float)d;
}

#endif
