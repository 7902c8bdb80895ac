/* avx512_ops.c: GELU, LayerNorm (with the residual add) and the kept attention
 * softmax in AVX-512 intrinsics. See simd.h for why, and ops.c / attention_fast.c for
 * the portable versions these are tested against.
 *
 * A __m512 register holds 16 floats; every _mm512_* call below is one instruction on
 * all 16. The functions are compiled for AVX-512 (the target attribute) whatever the
 * flags of the rest of the build, and only called on a CPU that has it. */
#include "simd.h"

#include "common.h"
#include "gemm.h"

#include <math.h>
#include <string.h>

int simd_avx512_active(void) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(AVZ_NO_CLONES)
    return strcmp(gemm_kernels()->isa, "avx512") == 0;
#else
    return 0;
#endif
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(AVZ_NO_CLONES)
#include <immintrin.h>

#define SIMD_AVX512 __attribute__((target("arch=x86-64-v4")))

/* e^r for |r| <= 0.347: 1 + r + r^2/2! + ... + r^7/7!, by Horner's rule
 * ((r/7! + 1/6!) r + 1/5!) r ... + 1 */
SIMD_AVX512 static inline __m512 exp_taylor(__m512 r) {
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, one);
    return _mm512_fmadd_ps(p, r, one);
}

/* ---- e^t for 16 lanes ----------------------------------------------------------------
 *   e^t = 2^n e^r,  n = round(t / ln 2),  r = t - n ln 2  in [-0.347, 0.347]
 * (the method of avz_exp_core in fastmath.h).
 * ln 2 is split in two (a part with few bits, exact when multiplied by n, and the rest)
 * so that r keeps its accuracy; e^r is its Taylor series to r^7 / 7! (relative error
 * under 6e-9 on that interval); vscalefps multiplies by 2^n without building the float.
 * Lanes where t < -87 (e^t < 2e-38), or that `keep` leaves out, come out as exactly 0:
 * a masked-off -inf is fine (its NaN never leaves the register). */
SIMD_AVX512 static inline __m512 exp16(__m512 t, __mmask16 keep) {
    const __m512 log2e = _mm512_set1_ps(1.44269504f);
    __mmask16 k = _mm512_mask_cmp_ps_mask(keep, t, _mm512_set1_ps(-87.0f), _CMP_GE_OQ);
    /* n = round(t / ln 2): adding 1.5 * 2^23 pushes the fraction bits out of the float,
     * so the sum itself is rounded to an integer (cheaper than vrndscaleps) */
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(t, log2e, magic), magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), t);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    return _mm512_maskz_scalef_ps(k, exp_taylor(r), n);
}

/* ---- GELU ----------------------------------------------------------------------------
 * As avz_fast_gelu (fastmath.h): x * sigmoid(z), z = 2 sqrt(2/pi) (x + 0.044715 x^3), here
 * as x / (1 + e^-z) with e^-z from the polynomial of exp16 (t = -z held to [-87, 87], so
 * that e^t never overflows). The division is vdivps itself: measured on this code, it
 * beats vrcp14ps and a Newton step (the usual trick), which adds three more steps to
 * the chain each vector waits on. */
SIMD_AVX512 static inline __m512 gelu16(__m512 x) {
    const __m512 c1 = _mm512_set1_ps(1.5957691216057308f);               /* 2 sqrt(2/pi) */
    const __m512 c3 = _mm512_set1_ps(1.5957691216057308f * 0.044715f);
    const __m512 magic = _mm512_set1_ps(12582912.0f), one = _mm512_set1_ps(1.0f);
    __m512 z = _mm512_mul_ps(x, _mm512_fmadd_ps(_mm512_mul_ps(x, x), c3, c1));
    /* below z = -87 the sigmoid is under 2e-38: GELU is 0 there (-inf included); the
     * unordered test keeps NaN lanes, so that NaN stays NaN */
    __mmask16 live = _mm512_cmp_ps_mask(z, _mm512_set1_ps(-87.0f), _CMP_NLE_UQ);
    z = _mm512_min_ps(_mm512_max_ps(z, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(87.0f));
    /* t = -z:  n = round(t / ln 2),  r = t - n ln 2 = n c_lo - (z + n c_hi) */
    __m512 n = _mm512_sub_ps(_mm512_fnmadd_ps(z, _mm512_set1_ps(1.44269504f), magic), magic);
    __m512 r = _mm512_fmsub_ps(n, _mm512_set1_ps(2.12194440e-4f),
                               _mm512_fmadd_ps(n, _mm512_set1_ps(0.693359375f), z));
    __m512 d = _mm512_add_ps(_mm512_scalef_ps(exp_taylor(r), n), one);   /* 1 + e^-z */
    return _mm512_maskz_div_ps(live, x, d);
}

SIMD_AVX512 void simd_gelu_avx512(float *out, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, gelu16(_mm512_loadu_ps(x + i)));
    if (i < n) {   /* the last 1 to 15: masked loads and stores */
        __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(out + i, k, gelu16(_mm512_maskz_loadu_ps(k, x + i)));
    }
}

/* ---- LayerNorm, with the residual add before it -----------------------------------------
 * A row of C floats is C / 16 registers: summed, centred, squared and scaled without
 * leaving them. The sums run in 16 lanes and are then folded (_mm512_reduce_add_ps:
 * halves onto halves), in the order of avz_row_sum in fastmath.h. */
#define LN_MAX_VECS 16   /* rows up to C = 256 stay in registers; longer ones stream */

SIMD_AVX512 static void add_layernorm_row(float *sum, float *out, float *mean, float *rstd,
                                          const float *x, const float *add, const float *w,
                                          const float *b, int C, float eps) {
    int nv = C / 16;
    __m512 v[LN_MAX_VECS], acc = _mm512_setzero_ps();
    for (int i = 0; i < nv; i++) {
        __m512 xi = _mm512_loadu_ps(x + 16 * i);
        if (add) {
            xi = _mm512_add_ps(xi, _mm512_loadu_ps(add + 16 * i));
            _mm512_storeu_ps(sum + 16 * i, xi);
        }
        if (i < LN_MAX_VECS) v[i] = xi;
        acc = _mm512_add_ps(acc, xi);
    }
    const float *src = add ? sum : x;   /* where a long row is read again */
    float m = _mm512_reduce_add_ps(acc) / C;
    __m512 mv = _mm512_set1_ps(m), sq = _mm512_setzero_ps();
    for (int i = 0; i < nv; i++) {
        __m512 d = _mm512_sub_ps(i < LN_MAX_VECS ? v[i] : _mm512_loadu_ps(src + 16 * i), mv);
        sq = _mm512_fmadd_ps(d, d, sq);
    }
    float r = 1.0f / sqrtf(_mm512_reduce_add_ps(sq) / C + eps);
    __m512 rv = _mm512_set1_ps(r);
    for (int i = 0; i < nv; i++) {
        __m512 d = _mm512_sub_ps(i < LN_MAX_VECS ? v[i] : _mm512_loadu_ps(src + 16 * i), mv);
        __m512 o = _mm512_fmadd_ps(_mm512_mul_ps(d, rv), _mm512_loadu_ps(w + 16 * i),
                                   _mm512_loadu_ps(b + 16 * i));
        _mm512_storeu_ps(out + 16 * i, o);
    }
    if (mean) *mean = m;
    if (rstd) *rstd = r;
}

SIMD_AVX512 void simd_add_layernorm_avx512(float *sum, float *out, float *mean, float *rstd,
                                           const float *x, const float *add, const float *w,
                                           const float *b, int N, int C, float eps) {
    AVZ_ASSERT(C % 16 == 0);
    for (int n = 0; n < N; n++) {
        size_t o = (size_t)n * C;
        add_layernorm_row(add ? sum + o : NULL, out + o, mean ? mean + n : NULL,
                          rstd ? rstd + n : NULL, x + o, add ? add + o : NULL, w, b, C, eps);
    }
}

/* ---- the kept softmax of attention ----------------------------------------------------------
 * Row i of the panel: logits l_j = s_ij * scale - slope |i - j| for the keys it sees
 * (j < visible), then p_j = e^(l_j - max) / sum. The masked keys never get a logit:
 * the last vector's lanes past `visible` are left out of the max (a masked max) and
 * of the exp (exp16's keep mask), which writes them as 0. Phases run across the 6 rows
 * (every row's max, then every row's exp) so that their dependent steps overlap. */
#define KEEP_MR 6

static inline __mmask16 lanes_below(int n) {   /* the first n lanes, 0 <= n <= 16 */
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n > 0 ? n : 0)) - 1);
}

/* The logits of query i against keys j0 .. j0 + 15 from their scores s: s * scale, minus
 * slope |i - j| under ALiBi. */
SIMD_AVX512 static inline __m512 logits16(__m512 s, int i, int j0, __m512 scale, float slope) {
    if (slope == 0.0f) return _mm512_mul_ps(s, scale);
    const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512 dist = _mm512_sub_ps(_mm512_set1_ps((float)(i - j0)), iota);   /* i - j */
    dist = _mm512_abs_ps(dist);
    __m512 bias = _mm512_mul_ps(_mm512_set1_ps(-slope), dist);
    return _mm512_fmadd_ps(s, scale, bias);
}

SIMD_AVX512 void simd_keep_panel_avx512(float *P, int ld, int i0, int T, int causal, float scale,
                                        float slope, float lse[KEEP_MR]) {
    int visible[KEEP_MR];
    float m[KEEP_MR], total[KEEP_MR];
    __m512 sc = _mm512_set1_ps(scale);
    for (int r = 0; r < KEEP_MR; r++) {   /* logits in place, and each row's max */
        int i = i0 + r;
        visible[r] = causal && i + 1 < T ? i + 1 : T;
        float *x = P + (size_t)r * ld;
        __m512 mx = _mm512_set1_ps(-INFINITY);
        for (int j0 = 0; j0 < visible[r]; j0 += 16) {
            __m512 l = logits16(_mm512_load_ps(x + j0), i, j0, sc, slope);
            _mm512_store_ps(x + j0, l);
            mx = _mm512_mask_max_ps(mx, lanes_below(visible[r] - j0), mx, l);
        }
        m[r] = _mm512_reduce_max_ps(mx);
    }
    for (int r = 0; r < KEEP_MR; r++) {   /* e^(l - max) and their sum */
        float *x = P + (size_t)r * ld;
        __m512 mv = _mm512_set1_ps(m[r]), acc = _mm512_setzero_ps();
        for (int j0 = 0; j0 < visible[r]; j0 += 16) {
            __m512 e = exp16(_mm512_sub_ps(_mm512_load_ps(x + j0), mv),
                             lanes_below(visible[r] - j0));
            _mm512_store_ps(x + j0, e);
            acc = _mm512_add_ps(acc, e);
        }
        total[r] = _mm512_reduce_add_ps(acc);
    }
    for (int r = 0; r < KEEP_MR; r++) {   /* normalise; zeros up to ld */
        float *x = P + (size_t)r * ld;
        __m512 inv = _mm512_set1_ps(1.0f / total[r]);
        int j0 = 0;
        for (; j0 < visible[r]; j0 += 16)
            _mm512_store_ps(x + j0, _mm512_mul_ps(_mm512_load_ps(x + j0), inv));
        for (; j0 < ld; j0 += 16) _mm512_store_ps(x + j0, _mm512_setzero_ps());
        lse[r] = m[r] + logf(total[r]);
    }
}

/* ---- RoPE ------------------------------------------------------------------------------------
 * Dimension i turns with i + hs/2: x'[i] = x[i] c - x[i + h] s, x'[i + h] = x[i] s + x[i + h] c.
 * With hs = 16 a row is one register x = [x1 | x2] (8 + 8), and the rotation is
 *   x' = x [c | c] + [x2 | x1] [-s | s]
 * (the halves swapped by one shuffle): the same two products and one sum per element as
 * the scalar loop, so the same bits. Wider heads (hs a multiple of 32) take 16 pairs at
 * a time. */
SIMD_AVX512 void simd_rope_avx512(float *x, int T, int hs, const float *cs, int sign) {
    AVZ_ASSERT(hs == 16 || hs % 32 == 0);
    int half = hs / 2;
    __m512 sg = _mm512_set1_ps((float)sign);
    if (hs == 16) {
        const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7);
        const __m512i hi = _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13,
                                             14, 15);
        for (int t = 0; t < T; t++) {
            __m512 tab = _mm512_loadu_ps(cs + (size_t)t * 16);   /* [c0..c7 | s0..s7] */
            __m512 c = _mm512_permutexvar_ps(lo, tab);
            __m512 s = _mm512_mul_ps(sg, _mm512_permutexvar_ps(hi, tab));
            s = _mm512_mask_sub_ps(s, 0x00FF, _mm512_setzero_ps(), s);   /* [-s | s] */
            __m512 xr = _mm512_loadu_ps(x + (size_t)t * 16);
            __m512 sw = _mm512_shuffle_f32x4(xr, xr, 0x4E);              /* [x2 | x1] */
            _mm512_storeu_ps(x + (size_t)t * 16,
                             _mm512_add_ps(_mm512_mul_ps(xr, c), _mm512_mul_ps(sw, s)));
        }
        return;
    }
    for (int t = 0; t < T; t++) {
        float *row = x + (size_t)t * hs;
        const float *ct = cs + (size_t)t * hs, *st = ct + half;
        for (int i = 0; i < half; i += 16) {
            __m512 c = _mm512_loadu_ps(ct + i), s = _mm512_mul_ps(sg, _mm512_loadu_ps(st + i));
            __m512 x1 = _mm512_loadu_ps(row + i), x2 = _mm512_loadu_ps(row + half + i);
            _mm512_storeu_ps(row + i, _mm512_sub_ps(_mm512_mul_ps(x1, c), _mm512_mul_ps(x2, s)));
            _mm512_storeu_ps(row + half + i,
                             _mm512_add_ps(_mm512_mul_ps(x1, s), _mm512_mul_ps(x2, c)));
        }
    }
}

/* ---- a whole head of a short text, in registers ----------------------------------------------
 * For a head of 16 dimensions and a text of at most 64 tokens, six rows of scores are
 * 6 x 4 registers. So each panel of 6 query rows runs start to end without its scores
 * leaving the registers: S = Q K^T by 16 rank-one updates (one dimension of the 6
 * queries, broadcast, times that dimension of every key: Kt's row), the softmax of
 * each row (scale, ALiBi bias, mask, max, exp, sum, normalise), P stored once (it is
 * kept for the visualizer), then O = P V, each key's value row (one register) times
 * the 6 rows' probabilities of it. The general path (attention_fast.c) instead calls a
 * tile kernel per product and passes S through memory between the steps; for heads
 * this small, those calls and passes cost more than the arithmetic. */
#define SMALL_MR 6
#define SMALL_NV 4   /* 64 keys = 4 registers of 16 */

/* Rows [i0, i0 + 6) of which the first nr are real (the others, past T, repeat row T - 1
 * and are dropped); NV registers of keys (a constant in each call: see below) cover the
 * ncols keys they see. Each step runs for all 6 rows before the next, so that the rows'
 * chains of dependent steps overlap in the CPU. */
SIMD_AVX512 static inline void small_panel(const float *q, const float *Kt, const float *v,
                                           int T, int i0, int nr, int ncols, int NV, int causal,
                                           float scale, float slope, float *out, int ostride,
                                           float *lse, float *P, int ld) {
    __m512 S[SMALL_MR][SMALL_NV];
    float m[SMALL_MR], total[SMALL_MR];
    int visible[SMALL_MR];
    for (int r = 0; r < SMALL_MR; r++) {
        int i = i0 + r;
        visible[r] = causal && i + 1 < T ? i + 1 : T;
        for (int c = 0; c < NV; c++) S[r][c] = _mm512_setzero_ps();
    }
    const float *qr[SMALL_MR];
    for (int r = 0; r < SMALL_MR; r++) qr[r] = q + (size_t)(i0 + r < T ? i0 + r : T - 1) * 16;
    for (int d = 0; d < 16; d++) {   /* S = Q Kt, one dimension at a time */
        __m512 kt[SMALL_NV];
        for (int c = 0; c < NV; c++) kt[c] = _mm512_load_ps(Kt + d * 64 + 16 * c);
        for (int r = 0; r < SMALL_MR; r++) {
            __m512 qb = _mm512_set1_ps(qr[r][d]);
            for (int c = 0; c < NV; c++) S[r][c] = _mm512_fmadd_ps(qb, kt[c], S[r][c]);
        }
    }
    const __m512 sc = _mm512_set1_ps(scale);
    for (int r = 0; r < SMALL_MR; r++) {   /* logits and each row's max */
        __m512 mx = _mm512_set1_ps(-INFINITY);
        for (int c = 0; c < NV; c++) {
            S[r][c] = logits16(S[r][c], i0 + r, 16 * c, sc, slope);
            mx = _mm512_mask_max_ps(mx, lanes_below(visible[r] - 16 * c), mx, S[r][c]);
        }
        m[r] = _mm512_reduce_max_ps(mx);
    }
    for (int r = 0; r < SMALL_MR; r++) {   /* e^(l - max), and their sums */
        __m512 mv = _mm512_set1_ps(m[r]), acc = _mm512_setzero_ps();
        for (int c = 0; c < NV; c++) {
            S[r][c] = exp16(_mm512_sub_ps(S[r][c], mv), lanes_below(visible[r] - 16 * c));
            acc = _mm512_add_ps(acc, S[r][c]);
        }
        total[r] = _mm512_reduce_add_ps(acc);
    }
    for (int r = 0; r < SMALL_MR; r++) {   /* P, normalised, stored once; zeros up to ld */
        __m512 inv = _mm512_set1_ps(1.0f / total[r]);
        float *Pr = P + (size_t)(i0 + r) * ld;
        for (int c = 0; c < NV; c++) _mm512_store_ps(Pr + 16 * c, _mm512_mul_ps(S[r][c], inv));
        for (int c = NV; 16 * c < ld; c++) _mm512_store_ps(Pr + 16 * c, _mm512_setzero_ps());
        if (r < nr) lse[i0 + r] = m[r] + logf(total[r]);
    }
    /* O = P V: key j's value row times each row's P_ij, in two sums per row (even and
     * odd keys) so that 12 chains of additions run side by side */
    __m512 o[2][SMALL_MR];
    for (int h = 0; h < 2; h++)
        for (int r = 0; r < SMALL_MR; r++) o[h][r] = _mm512_setzero_ps();
    const float *Pp = P + (size_t)i0 * ld;
    int j = 0;
    for (; j + 2 <= ncols; j += 2)
        for (int h = 0; h < 2; h++) {
            __m512 vj = _mm512_loadu_ps(v + (size_t)(j + h) * 16);
            for (int r = 0; r < SMALL_MR; r++)
                o[h][r] = _mm512_fmadd_ps(_mm512_set1_ps(Pp[(size_t)r * ld + j + h]), vj, o[h][r]);
        }
    if (j < ncols) {
        __m512 vj = _mm512_loadu_ps(v + (size_t)j * 16);
        for (int r = 0; r < SMALL_MR; r++)
            o[0][r] = _mm512_fmadd_ps(_mm512_set1_ps(Pp[(size_t)r * ld + j]), vj, o[0][r]);
    }
    for (int r = 0; r < nr; r++)
        _mm512_storeu_ps(out + (size_t)(i0 + r) * ostride, _mm512_add_ps(o[0][r], o[1][r]));
}

SIMD_AVX512 void simd_attn_small_avx512(const float *q, const float *k, const float *v, int T,
                                        int causal, float scale, float slope, float *out,
                                        int ostride, float *lse, float *P, int ld) {
    AVZ_ASSERT(T >= 1 && T <= 64 && ld % 16 == 0);
    _Alignas(64) float Kt[16 * 64];
    simd_transpose_keys_avx512(k, T, 16, Kt, 64);
    for (int i0 = 0; i0 < T; i0 += SMALL_MR) {
        int nr = T - i0 < SMALL_MR ? T - i0 : SMALL_MR;
        int ncols = causal ? (i0 + nr < T ? i0 + nr : T) : T;   /* keys the last row sees */
        /* one copy of small_panel per count of key registers, each with it a constant, so
         * that the compiler unrolls every loop over them and S stays in registers */
#define SMALL_PANEL(NV) small_panel(q, Kt, v, T, i0, nr, ncols, NV, causal, scale, slope, out, \
                                   ostride, lse, P, ld)
        switch ((ncols + 15) / 16) {
        case 1: SMALL_PANEL(1); break;
        case 2: SMALL_PANEL(2); break;
        case 3: SMALL_PANEL(3); break;
        default: SMALL_PANEL(4);
        }
#undef SMALL_PANEL
    }
    /* the rows of P past T (up to attn_keep_rows(T)) were the dropped rows: zero them */
    for (int i = T; i < (T + SMALL_MR - 1) / SMALL_MR * SMALL_MR; i++)
        memset(P + (size_t)i * ld, 0, sizeof(float) * ld);
}

/* ---- the keys, transposed ------------------------------------------------------------------
 * Scores S = Q K^T run on the matrix kernels with K^T as their B: one row per dimension,
 * the keys along it. A block of 16 keys x 16 dimensions is 16 registers; four rounds of
 * shuffles transpose it in registers (64 shuffles, against 256 scalar loads and stores).
 * Round by round, register i holds:
 *   1. unpack:   pairs of rows, interleaved element by element;
 *   2. shuffle:  in each 128-bit lane, one column of 4 rows;
 *   3, 4. f32x4: those 4-row pieces of a column gathered from the 4 lanes of the others. */
SIMD_AVX512 static void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {   /* r[4i + c], lane L: rows 4i..4i+3 of column 4L + c */
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int c = 0; c < 4; c++) {   /* 0x88: lanes 0, 2 of each; 0xDD: lanes 1, 3 */
        t[c] = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x88);
        t[4 + c] = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xDD);
        t[8 + c] = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x88);
        t[12 + c] = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xDD);
    }
    for (int c = 0; c < 4; c++) {   /* column c, 4 + c, 8 + c, 12 + c complete */
        r[c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0xDD);
        r[4 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0xDD);
    }
}

SIMD_AVX512 void simd_transpose_keys_avx512(const float *k, int nk, int hs, float *Kt, int ldk) {
    AVZ_ASSERT(hs % 16 == 0);
    __m512 r[16];
    for (int j0 = 0; j0 < nk; j0 += 16)
        for (int d0 = 0; d0 < hs; d0 += 16) {
            for (int j = 0; j < 16; j++)   /* keys past nk: zero */
                r[j] = j0 + j < nk ? _mm512_loadu_ps(k + (size_t)(j0 + j) * hs + d0)
                                   : _mm512_setzero_ps();
            transpose16(r);
            for (int d = 0; d < 16; d++) _mm512_storeu_ps(Kt + (size_t)(d0 + d) * ldk + j0, r[d]);
        }
}

#else   /* no AVX-512 in this build: never called (simd_avx512_active() is 0) */

void simd_gelu_avx512(float *out, const float *x, size_t n) {
    (void)out, (void)x, (void)n;
    AVZ_ASSERT(!"simd_gelu_avx512 without AVX-512");
}

void simd_add_layernorm_avx512(float *sum, float *out, float *mean, float *rstd, const float *x,
                               const float *add, const float *w, const float *b, int N, int C,
                               float eps) {
    (void)sum, (void)out, (void)mean, (void)rstd, (void)x, (void)add, (void)w, (void)b;
    (void)N, (void)C, (void)eps;
    AVZ_ASSERT(!"simd_add_layernorm_avx512 without AVX-512");
}

void simd_keep_panel_avx512(float *P, int ld, int i0, int T, int causal, float scale,
                            float slope, float lse[6]) {
    (void)P, (void)ld, (void)i0, (void)T, (void)causal, (void)scale, (void)slope, (void)lse;
    AVZ_ASSERT(!"simd_keep_panel_avx512 without AVX-512");
}

void simd_rope_avx512(float *x, int T, int hs, const float *cs, int sign) {
    (void)x, (void)T, (void)hs, (void)cs, (void)sign;
    AVZ_ASSERT(!"simd_rope_avx512 without AVX-512");
}

void simd_attn_small_avx512(const float *q, const float *k, const float *v, int T, int causal,
                            float scale, float slope, float *out, int ostride, float *lse,
                            float *P, int ld) {
    (void)q, (void)k, (void)v, (void)T, (void)causal, (void)scale, (void)slope, (void)out;
    (void)ostride, (void)lse, (void)P, (void)ld;
    AVZ_ASSERT(!"simd_attn_small_avx512 without AVX-512");
}

void simd_transpose_keys_avx512(const float *k, int nk, int hs, float *Kt, int ldk) {
    (void)k, (void)nk, (void)hs, (void)Kt, (void)ldk;
    AVZ_ASSERT(!"simd_transpose_keys_avx512 without AVX-512");
}

#endif
