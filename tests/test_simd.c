/* test_simd.c: the AVX-512 kernels of simd_avx512.c against their portable versions
 * (GELU, residual add + LayerNorm, RoPE, the keys' transpose, the kept softmax), on
 * sizes that are not multiples of 16 and on the values that break exp (infinities,
 * NaN, huge and tiny inputs). Skipped, and said so, on a CPU without AVX-512. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "common.h"
#include "gemm.h"
#include "helpers.h"
#include "model.h"
#include "ops.h"
#include "posenc.h"
#include "simd.h"

static void need_avx512(void) {
    if (!gemm_select("avx512")) cr_skip_test("this CPU (or build) has no AVX-512 kernels");
    cr_assert(simd_avx512_active(), "AVX-512 kernels selected but the simd path is off");
}

static void fill(float *x, size_t n, float scale, uint64_t seed) {
    AvzRng r;
    avz_rng_init(&r, seed);
    for (size_t i = 0; i < n; i++) x[i] = scale * avz_rng_normal(&r);
}

Test(simd, gelu_matches_libm_reference_at_every_length_and_edge_value) {
    need_avx512();
    static const float edge[] = {0.0f, -0.0f, 1e-20f, -1e-20f, 0.5f, -0.5f, 3.0f, -3.0f,
                                 30.0f, -30.0f, 88.0f, -88.0f, 1e30f, -1e30f, -3e38f};
    enum { NE = sizeof edge / sizeof edge[0] };
    float a[NE], b[NE];
    simd_gelu_avx512(a, edge, NE);
    ops_gelu_ref(b, edge, NE);
    for (int i = 0; i < NE; i++)
        cr_expect(fabsf(a[i] - b[i]) <= 1e-6f * (1.0f + fabsf(b[i])), "gelu(%g) = %g, want %g",
                  edge[i], a[i], b[i]);
    float inf[3] = {INFINITY, -INFINITY, NAN}, o[3];   /* the limits; NaN stays NaN */
    simd_gelu_avx512(o, inf, 3);
    cr_expect(o[0] == INFINITY && o[1] == 0.0f && isnan(o[2]), "gelu(inf, -inf, nan) = %g %g %g",
              o[0], o[1], o[2]);
    for (int n = 1; n <= 40; n++) {   /* every tail length; nothing written past n */
        float x[48], got[48], want[48];
        fill(x, 48, 4.0f, 100 + n);
        for (int i = 0; i < 48; i++) got[i] = -7.0f;
        simd_gelu_avx512(got, x, n);
        ops_gelu_ref(want, x, n);
        for (int i = 0; i < n; i++)
            cr_assert(fabsf(got[i] - want[i]) <= 1e-6f * (1.0f + fabsf(want[i])),
                      "n=%d: gelu(%g) = %g, want %g", n, x[i], got[i], want[i]);
        for (int i = n; i < 48; i++) cr_assert_eq(got[i], -7.0f, "n=%d: wrote past the end", n);
    }
}

/* ops_add_layernorm on the AVX-512 path against the portable one; C = 272 streams the
 * row instead of holding it in registers. */
Test(simd, add_layernorm_matches_portable) {
    need_avx512();
    static const int Cs[] = {16, 64, 256, 272};
    for (int ci = 0; ci < 4; ci++)
        for (int with_add = 0; with_add < 2; with_add++) {
            int N = 7, C = Cs[ci];
            size_t n = (size_t)N * C;
            float *x = malloc(4 * n), *ad = malloc(4 * n), *w = malloc(4 * C), *b = malloc(4 * C);
            float *s1 = malloc(4 * n), *s2 = malloc(4 * n);
            float *o1 = malloc(4 * n), *o2 = malloc(4 * n);
            float m1[7], m2[7], r1[7], r2[7];
            fill(x, n, 3.0f, 1 + ci);
            fill(ad, n, 1.0f, 2 + ci);
            fill(w, C, 1.0f, 3 + ci);
            fill(b, C, 1.0f, 4 + ci);
            for (size_t i = 0; i < n; i++) x[i] += 5.0f;   /* a mean far from 0 */
            const float *add = with_add ? ad : NULL;
            cr_assert(gemm_select("avx512"));
            ops_add_layernorm(s1, o1, m1, r1, x, add, w, b, N, C, 1e-5f);
            cr_assert(gemm_select("portable"));
            ops_add_layernorm(s2, o2, m2, r2, x, add, w, b, N, C, 1e-5f);
            if (with_add) cr_expect(memcmp(s1, s2, 4 * n) == 0, "C=%d: the sums differ", C);
            double eo = helper_rel_err(o1, o2, n), em = helper_rel_err(m1, m2, N);
            double er = helper_rel_err(r1, r2, N);
            cr_expect(eo < 1e-6 && em < 1e-6 && er < 1e-6, "C=%d add=%d: rel err out %.3e mean "
                      "%.3e rstd %.3e", C, with_add, eo, em, er);
            free(x); free(ad); free(w); free(b); free(s1); free(s2); free(o1); free(o2);
        }
}

Test(simd, rope_is_bit_for_bit_the_scalar_rotation) {
    need_avx512();
    static const int HS[] = {16, 32, 64, 96, 128};
    for (int hi = 0; hi < 5; hi++)
        for (int sign = -1; sign <= 1; sign += 2) {
            int T = 37, hs = HS[hi];
            size_t n = (size_t)T * hs;
            float *a = malloc(4 * n), *b = malloc(4 * n), *cs = malloc(4 * n);
            fill(a, n, 1.0f, 20 + hi);
            memcpy(b, a, 4 * n);
            posenc_rope_table(cs, T, hs, 10000.0f, 3);
            simd_rope_avx512(a, T, hs, cs, sign);
            posenc_rope_apply(b, T, hs, 10000.0f, 3, sign);   /* the definition */
            cr_expect(memcmp(a, b, 4 * n) == 0, "hs=%d sign=%d: not the same bits", hs, sign);
            free(a); free(b); free(cs);
        }
}

Test(simd, keys_transposed_with_zero_padding) {
    need_avx512();
    static const int NK[] = {1, 15, 16, 17, 64, 70};
    for (int ni = 0; ni < 6; ni++)
        for (int hs = 16; hs <= 32; hs += 16) {
            int nk = NK[ni], ldk = 96;
            float k[70 * 32], Kt[32 * 96];
            fill(k, (size_t)nk * hs, 1.0f, 30 + ni);
            for (int i = 0; i < 32 * 96; i++) Kt[i] = NAN;
            simd_transpose_keys_avx512(k, nk, hs, Kt, ldk);
            int padded = (nk + 15) / 16 * 16;
            for (int d = 0; d < hs; d++)
                for (int j = 0; j < padded; j++) {
                    float want = j < nk ? k[j * hs + d] : 0.0f;
                    cr_assert_eq(Kt[d * ldk + j], want, "nk=%d hs=%d: Kt[%d][%d]", nk, hs, d, j);
                }
            cr_expect(isnan(Kt[padded]) || padded == ldk, "nk=%d: wrote past the padding", nk);
        }
}

/* attn_fast_keep (with AVX-512: simd_attn_small_avx512 for short heads of 16, else
 * simd_keep_panel_avx512) against the naive attention, on both kernel sets: every
 * probability, masked ones exactly 0, and nothing past the rows written. */
static void keep_vs_naive(const char *isa, int T, int hs, int causal, float slope) {
    size_t n = (size_t)T * hs, ld = attn_keep_ld(T), rows = attn_keep_rows(T);
    float *q = malloc(4 * n), *k = malloc(4 * n), *v = malloc(4 * n), *on = malloc(4 * n);
    float *of = malloc(4 * n), *ln = malloc(4 * T), *lf = malloc(4 * T);
    float *Pn = malloc(4 * (size_t)T * T), *Pk = aligned_alloc(64, 4 * (rows * ld + 16));
    for (int i = 0; i < 16; i++) Pk[rows * ld + i] = -7.0f;   /* a sentinel past P's rows */
    fill(q, n, 1.5f, 40 + T);
    fill(k, n, 1.5f, 41 + T);
    fill(v, n, 1.0f, 42 + T);
    AttnShape s = {T, hs, 1.0f / sqrtf((float)hs), slope, causal, hs};
    attn_naive(&s, q, k, v, Pn, on, ln);
    cr_assert(gemm_select(isa));
    attn_fast_keep(&s, q, k, v, of, lf, Pk);
    for (int i = 0; i < 16; i++)
        cr_assert_eq(Pk[rows * ld + i], -7.0f, "%s T=%d hs=%d: wrote past P", isa, T, hs);
    double worst = 0;
    for (int i = 0; i < T; i++)
        for (int j = 0; j < (int)ld; j++) {
            float got = Pk[(size_t)i * ld + j];
            if (j >= T || (causal && j > i)) {
                cr_assert_eq(got, 0.0f, "%s T=%d: P[%d][%d] = %g, masked", isa, T, i, j, got);
                continue;
            }
            worst = fmax(worst, fabs(got - Pn[(size_t)i * T + j]));
        }
    double eo = helper_rel_err(of, on, n), el = helper_rel_err(lf, ln, T);
    cr_expect(worst < 1e-6 && eo < 1e-5 && el < 1e-5, "%s T=%d hs=%d causal=%d slope=%g: P %.3e "
              "out %.3e lse %.3e", isa, T, hs, causal, slope, worst, eo, el);
    free(q); free(k); free(v); free(on); free(of); free(ln); free(lf); free(Pn); free(Pk);
}

Test(simd, kept_softmax_matches_naive_on_both_paths) {
    need_avx512();
    /* T <= 64 with hs = 16 runs in registers (simd_attn_small_avx512): every panel count */
    static const int Ts[] = {1, 5, 6, 7, 12, 16, 17, 48, 63, 64, 65, 100};
    static const int HS[] = {8, 16, 32};
    const char *isas[] = {"avx512", "portable"};
    for (int ii = 0; ii < 2; ii++)
        for (int ti = 0; ti < 12; ti++)
            for (int hi = 0; hi < 3; hi++)
                for (int causal = 0; causal < 2; causal++) {
                    keep_vs_naive(isas[ii], Ts[ti], HS[hi], causal, 0.0f);
                    keep_vs_naive(isas[ii], Ts[ti], HS[hi], causal, 0.3f);
                }
}

/* A whole forward pass: the AVX-512 path and the portable one give the same logits and
 * maps (to rounding) for every position encoding. */
Test(simd, forward_pass_matches_portable_for_every_encoding) {
    need_avx512();
    static const PosEncoding pes[] = {PE_NONE, PE_SINUSOIDAL, PE_LEARNED, PE_ROPE, PE_ALIBI};
    for (int pi = 0; pi < 5; pi++) {
        Model m;
        helper_model(&m, pes[pi], 2, 4, 64, 64, 50 + pi);   /* head size 16, as shipped */
        int T = 45, V = m.cfg.vocab_size, ids[45];
        helper_tokens(ids, T, V, 9);
        char err[AVZ_ERR_LEN];
        size_t nl = (size_t)T * V, nm = (size_t)2 * 4 * T * T;
        float *l1 = malloc(4 * nl), *l2 = malloc(4 * nl);
        float *p1 = malloc(4 * nm), *p2 = malloc(4 * nm);
        const char *isas[] = {"avx512", "portable"};
        for (int ii = 0; ii < 2; ii++) {
            cr_assert(gemm_select(isas[ii]));
            cr_assert_eq(model_forward(&m, ids, NULL, 1, T, NULL, err), AVZ_OK, "%s", err);
            memcpy(ii ? l2 : l1, m.acts.logits, 4 * nl);
            model_capture_all(&m, 0, ii ? p2 : p1);
        }
        double el = helper_rel_err(l1, l2, nl), ep = helper_rel_err(p1, p2, nm);
        cr_expect(el < 1e-5 && ep < 1e-5, "%s: logits rel err %.3e, maps %.3e", pe_name(pes[pi]),
                  el, ep);
        free(l1); free(l2); free(p1); free(p2);
        model_free(&m);
    }
}
