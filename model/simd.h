/* simd.h: the element-wise kernels of a small model's forward pass, written with
 * AVX-512 intrinsics.
 *
 * For a model the size of ours (C = 64, head size 16, T = 64) the matrix products run
 * near the core's peak (gemm.c), and what is left of the time is the work between them:
 * GELU, LayerNorm, the residual adds and the softmax of every attention row. Their
 * portable versions (ops.c, attention_fast.c) are plain loops that the compiler
 * vectorises; these do the same maths with instructions no portable C can ask for:
 *   - vscalefps multiplies by 2^n directly, so exp needs no bit tricks and no range test;
 *   - vrcp14ps gives 1/d to 14 bits, and one Newton step makes it 28 (a division costs
 *     as much as all the rest of GELU);
 *   - a row of C = 64 floats is 4 registers: LayerNorm keeps the row in them from the
 *     sum to the output.
 * Each function is used only when the matrix kernels in use are the AVX-512 ones
 * (simd_avx512_active: so AVZ_ISA and gemm_select switch both together), and the tests
 * hold each to its portable version. */
#ifndef AVZ_SIMD_H
#define AVZ_SIMD_H

#include <stddef.h>

/* 1 when this build has the AVX-512 kernels and gemm_kernels() is the AVX-512 set. */
int simd_avx512_active(void);

/* out[i] = GELU(x[i]) (tanh form, as avz_fast_gelu), i < n. */
void simd_gelu_avx512(float *out, const float *x, size_t n);

/* LayerNorm of N rows of C floats (C a multiple of 16), as ops_layernorm. When add is
 * not NULL the rows normalised are sum = x + add, written to sum first (the residual
 * stream and a sub-block's output, in one pass). mean and rstd may be NULL. */
void simd_add_layernorm_avx512(float *sum, float *out, float *mean, float *rstd, const float *x,
                               const float *add, const float *w, const float *b, int N, int C,
                               float eps);

/* The kept softmax of attention_fast.c (keep_panel), rows [i0, i0 + 6) of P (row r at
 * P + r * ld, ld a multiple of 16, 64-byte aligned): scores in, probabilities out, the
 * masked keys and the padding up to ld zero; lse[r] gets each row's log-sum-exp. */
void simd_keep_panel_avx512(float *P, int ld, int i0, int T, int causal, float scale,
                            float slope, float lse[6]);

/* attn_fast_keep (attention.h) for one head of 16 dimensions and T <= 64 tokens, each
 * panel of 6 query rows kept in registers from its scores to its output: q, k, v
 * (T, 16); out row t at out + t * ostride; lse (T); P rows ld floats apart (ld a
 * multiple of 16, 64-byte aligned), attn_keep_rows(T) of them, zeros where masked. */
void simd_attn_small_avx512(const float *q, const float *k, const float *v, int T, int causal,
                            float scale, float slope, float *out, int ostride, float *lse,
                            float *P, int ld);

/* posenc_rope_apply_table (posenc.h) for hs = 16 or a multiple of 32, bit for bit: the
 * same products and sums, 16 lanes at a time. */
void simd_rope_avx512(float *x, int T, int hs, const float *cs, int sign);

/* Kt (hs x ldk) = the transpose of nk keys k (nk x hs, rows hs apart), hs a multiple
 * of 16: Kt[d * ldk + j] = k[j * hs + d], and zeros for the keys j in [nk, round up
 * of nk to 16) (ldk must leave room for them). */
void simd_transpose_keys_avx512(const float *k, int nk, int hs, float *Kt, int ldk);

#endif
