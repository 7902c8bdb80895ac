/* test_attention.c: flash attention against the naive reference, capture from the
 * saved log-sum-exp, the fast kernels (attention_fast.c) on every instruction-set path
 * against the same reference, and the position encodings' defining properties. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "attention.h"
#include "common.h"
#include "gemm.h"
#include "posenc.h"

#include <omp.h>

static void fill(float *x, size_t n, AvzRng *r, float scale) {
    for (size_t i = 0; i < n; i++) x[i] = scale * avz_rng_normal(r);
}

/* max |a - b| / max |b|: the relative error of a against the reference b */
static double rel_err(const float *a, const float *b, size_t n) {
    double num = 0, den = 1e-30;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs((double)a[i] - b[i]));
        den = fmax(den, fabs((double)b[i]));
    }
    return num / den;
}

typedef struct {
    float *q, *k, *v, *P, *on, *of, *ln, *lf;
} Bufs;

static Bufs bufs_alloc(int T, int hs) {
    size_t n = (size_t)T * hs;
    Bufs b = {malloc(4 * n), malloc(4 * n), malloc(4 * n), malloc(4 * (size_t)T * T),
              malloc(4 * n), malloc(4 * n), malloc(4 * T), malloc(4 * T)};
    return b;
}

static void bufs_free(Bufs *b) {
    free(b->q); free(b->k); free(b->v); free(b->P);
    free(b->on); free(b->of); free(b->ln); free(b->lf);
}

/* Runs both methods on random q, k, v (q scaled by logit_scale) and checks the
 * outputs and the log-sum-exps agree within 1e-5 relative error. */
static void check_flash(int T, int hs, float slope, int causal, float logit_scale, int rope) {
    AvzRng r;
    avz_rng_init(&r, 1000u * T + hs + (unsigned)(slope * 100) + causal);
    Bufs b = bufs_alloc(T, hs);
    fill(b.q, (size_t)T * hs, &r, logit_scale);
    fill(b.k, (size_t)T * hs, &r, 1.0f);
    fill(b.v, (size_t)T * hs, &r, 1.0f);
    if (rope) {
        posenc_rope_apply(b.q, T, hs, 10000.0f, 0, 1);
        posenc_rope_apply(b.k, T, hs, 10000.0f, 0, 1);
    }
    AttnShape s = {T, hs, 1.0f / sqrtf((float)hs), slope, causal, hs};
    attn_naive(&s, b.q, b.k, b.v, b.P, b.on, b.ln);
    attn_flash(&s, b.q, b.k, b.v, b.of, b.lf);
    double eo = rel_err(b.of, b.on, (size_t)T * hs), el = rel_err(b.lf, b.ln, T);
    cr_expect(eo <= 1e-5, "T=%d hs=%d slope=%g causal=%d x%g: output rel err %.3e", T, hs,
              slope, causal, logit_scale, eo);
    cr_expect(el <= 1e-5, "T=%d hs=%d slope=%g causal=%d x%g: lse rel err %.3e", T, hs, slope,
              causal, logit_scale, el);
    for (int i = 0; i < T * hs; i++) cr_assert(isfinite(b.of[i]), "non-finite output");
    bufs_free(&b);
}

static const int TS[] = {1, 7, 63, 64, 65, 300};
static const int HSS[] = {16, 64};

Test(flash, matches_naive_every_encoding) {
    /* none / sinusoidal / learned all reach attention as plain q, k; RoPE rotates
     * them; ALiBi adds a bias. Cover all three code paths. */
    for (int ti = 0; ti < 6; ti++)
        for (int hi = 0; hi < 2; hi++) {
            check_flash(TS[ti], HSS[hi], 0.0f, 1, 1.0f, 0);      /* none, sinusoidal, learned */
            check_flash(TS[ti], HSS[hi], 0.0f, 1, 1.0f, 1);      /* rope */
            check_flash(TS[ti], HSS[hi], 0.25f, 1, 1.0f, 0);     /* alibi */
        }
}

Test(flash, stable_for_huge_logits) {
    for (int ti = 0; ti < 6; ti++)
        for (int hi = 0; hi < 2; hi++) {
            check_flash(TS[ti], HSS[hi], 0.0f, 1, 1000.0f, 0);
            check_flash(TS[ti], HSS[hi], 0.5f, 1, 1000.0f, 1);
        }
}

Test(flash, non_causal_matches_naive) {
    check_flash(65, 16, 0.0f, 0, 1.0f, 0);
    check_flash(300, 64, 0.125f, 0, 1.0f, 0);
}

Test(capture, rows_sum_to_one_zero_above_diagonal_equal_naive) {
    int T = 65, hs = 16;
    AvzRng r;
    avz_rng_init(&r, 7);
    Bufs b = bufs_alloc(T, hs);
    fill(b.q, (size_t)T * hs, &r, 2.0f);
    fill(b.k, (size_t)T * hs, &r, 1.0f);
    fill(b.v, (size_t)T * hs, &r, 1.0f);
    AttnShape s = {T, hs, 0.25f, 0.0625f, 1, hs};
    attn_naive(&s, b.q, b.k, b.v, b.P, b.on, b.ln);
    attn_flash(&s, b.q, b.k, b.v, b.of, b.lf);
    float *C = malloc(4 * (size_t)T * T);
    attn_capture_rows(&s, b.q, b.k, b.lf, 0, T, C);      /* from the flash pass's lse */
    for (int i = 0; i < T; i++) {
        double sum = 0;
        for (int j = 0; j < T; j++) {
            if (j > i) cr_assert_eq(C[i * T + j], 0.0f, "P[%d][%d] above the diagonal", i, j);
            sum += C[i * T + j];
        }
        cr_assert(fabs(sum - 1.0) < 1e-5, "row %d sums to %.7f", i, sum);
    }
    double e = rel_err(C, b.P, (size_t)T * T);
    cr_assert(e < 1e-5, "capture vs naive P: rel err %.3e", e);
    /* a block of rows in the middle equals the same rows of the full capture */
    float *R = malloc(4 * (size_t)5 * T);
    attn_capture_rows(&s, b.q, b.k, b.lf, 30, 5, R);
    cr_assert(memcmp(R, C + 30 * T, 4 * 5 * (size_t)T) == 0, "row block differs");
    free(R);
    free(C);
    bufs_free(&b);
}

/* RoPE's defining property: the rotated q_m . k_n depends only on m - n. */
Test(rope, score_depends_only_on_distance) {
    int hs = 32;
    AvzRng r;
    avz_rng_init(&r, 11);
    float q0[32], k0[32];
    fill(q0, hs, &r, 1.0f);
    fill(k0, hs, &r, 1.0f);
    for (int dist = 0; dist < 20; dist += 3) {
        float ref = 0;
        for (int shift = 0; shift < 200; shift += 37) {
            float q[32], k[32];
            memcpy(q, q0, sizeof q);
            memcpy(k, k0, sizeof k);
            posenc_rope_apply(q, 1, hs, 10000.0f, shift + dist, 1);   /* query at m */
            posenc_rope_apply(k, 1, hs, 10000.0f, shift, 1);          /* key at n = m - dist */
            float dot = 0;
            for (int d = 0; d < hs; d++) dot += q[d] * k[d];
            if (shift == 0) ref = dot;
            cr_assert(fabsf(dot - ref) < 1e-3f * (1 + fabsf(ref)),
                      "distance %d shift %d: %f vs %f", dist, shift, dot, ref);
        }
    }
    /* and it does change with the distance itself */
    float q[32], k[32], d1 = 0, d2 = 0;
    memcpy(q, q0, sizeof q); memcpy(k, k0, sizeof k);
    posenc_rope_apply(q, 1, hs, 10000.0f, 5, 1);
    for (int d = 0; d < hs; d++) d1 += q[d] * k[d];
    memcpy(q, q0, sizeof q);
    posenc_rope_apply(q, 1, hs, 10000.0f, 9, 1);
    for (int d = 0; d < hs; d++) d2 += q[d] * k[d];
    cr_assert(fabsf(d1 - d2) > 1e-3f, "scores at distance 5 and 9 should differ");
}

Test(rope, inverse_rotation_restores) {
    float x[4 * 16], y[4 * 16];
    AvzRng r;
    avz_rng_init(&r, 3);
    fill(x, 64, &r, 1.0f);
    memcpy(y, x, sizeof x);
    posenc_rope_apply(y, 4, 16, 10000.0f, 10, 1);
    posenc_rope_apply(y, 4, 16, 10000.0f, 10, -1);
    for (int i = 0; i < 64; i++) cr_assert(fabsf(x[i] - y[i]) < 1e-5f);
    /* GPT-NeoX pairing: dims 0 and 8 rotate together at angle p * theta^0 = p */
    float e[16] = {0};
    e[0] = 1.0f;
    posenc_rope_apply(e, 1, 16, 10000.0f, 1, 1);
    cr_assert(fabsf(e[0] - cosf(1.0f)) < 1e-6f && fabsf(e[8] - sinf(1.0f)) < 1e-6f,
              "pair (0, 8) rotated to (%f, %f)", e[0], e[8]);
}

Test(alibi, slopes_follow_the_paper) {
    float s[8];
    posenc_alibi_slopes(s, 8);
    for (int i = 0; i < 8; i++)
        cr_assert(fabsf(s[i] - powf(2.0f, -(float)(i + 1))) < 1e-7f, "8 heads: slope %d = %g", i,
                  s[i]);
    /* 6 heads: the 4-head sequence 1/4, 1/16, 1/64, 1/256, then every other slope of
     * the 8-head sequence: 1/2, 1/8 */
    float s6[6], want[6] = {0.25f, 1.0f / 16, 1.0f / 64, 1.0f / 256, 0.5f, 0.125f};
    posenc_alibi_slopes(s6, 6);
    for (int i = 0; i < 6; i++)
        cr_assert(fabsf(s6[i] - want[i]) < 1e-7f, "6 heads: slope %d = %g, want %g", i, s6[i],
                  want[i]);
    cr_assert_float_eq(attn_alibi_bias(0.5f, 7, 3), -2.0f, 1e-7f);
}

Test(sinusoidal, known_values) {
    int T = 50, C = 16;
    float *pe = malloc(sizeof(float) * T * C);
    posenc_sinusoidal(pe, T, C);
    cr_assert_float_eq(pe[0], 0.0f, 1e-7f);               /* sin(0) */
    cr_assert_float_eq(pe[1], 1.0f, 1e-7f);               /* cos(0) */
    cr_assert_float_eq(pe[1 * C + 0], sinf(1.0f), 1e-6f); /* p=1, i=0: sin(1) */
    cr_assert_float_eq(pe[1 * C + 1], cosf(1.0f), 1e-6f);
    /* p = 7, i = 3: angle 7 / 10000^(6/16) */
    double a = 7.0 / pow(10000.0, 6.0 / 16.0);
    cr_assert_float_eq(pe[7 * C + 6], (float)sin(a), 1e-6f);
    cr_assert_float_eq(pe[7 * C + 7], (float)cos(a), 1e-6f);
    free(pe);
}

/* ---- the fast kernels (attention_fast.c) --------------------------------------------- */

/* q, k, v for one check: q scaled by logit_scale, RoPE-rotated when rope. */
static void fill_qkv(Bufs *b, int T, int hs, float logit_scale, int rope, uint64_t seed) {
    AvzRng r;
    avz_rng_init(&r, seed);
    fill(b->q, (size_t)T * hs, &r, logit_scale);
    fill(b->k, (size_t)T * hs, &r, 1.0f);
    fill(b->v, (size_t)T * hs, &r, 1.0f);
    if (rope) {
        posenc_rope_apply(b->q, T, hs, 10000.0f, 0, 1);
        posenc_rope_apply(b->k, T, hs, 10000.0f, 0, 1);
    }
}

/* Fast flash and fast capture against attn_naive: outputs, lse and P within 1e-5. */
static void check_fast(const char *isa, int T, int hs, float slope, int causal, int rope) {
    Bufs b = bufs_alloc(T, hs);
    fill_qkv(&b, T, hs, 1.0f, rope, 7000u * T + 13u * hs + 2u * causal + rope);
    AttnShape s = {T, hs, 1.0f / sqrtf((float)hs), slope, causal, hs};
    attn_naive(&s, b.q, b.k, b.v, b.P, b.on, b.ln);
    attn_flash_fast(&s, b.q, b.k, b.v, b.of, b.lf);
    float *C = malloc(4 * (size_t)T * T);
    attn_capture_rows_fast(&s, b.q, b.k, b.lf, 0, T, C);
    double eo = rel_err(b.of, b.on, (size_t)T * hs), el = rel_err(b.lf, b.ln, T);
    double ep = rel_err(C, b.P, (size_t)T * T);
    cr_expect(eo <= 1e-5 && el <= 1e-5 && ep <= 1e-5, "%s T=%d hs=%d slope=%g causal=%d rope=%d: "
              "rel err out %.3e lse %.3e P %.3e", isa, T, hs, slope, causal, rope, eo, el, ep);
    free(C);
    bufs_free(&b);
}

static void fast_every_case(const char *isa) {
    if (!gemm_select(isa)) cr_skip_test("this CPU cannot run the %s kernels", isa);
    static const int Ts[] = {1, 7, 63, 64, 65, 300, 1000}, HS[] = {16, 32, 64, 128};
    for (int ti = 0; ti < 7; ti++)
        for (int hi = 0; hi < 4; hi++)
            for (int causal = 0; causal < 2; causal++) {
                check_fast(isa, Ts[ti], HS[hi], 0.0f, causal, 0);    /* none, sinusoidal, learned */
                check_fast(isa, Ts[ti], HS[hi], 0.0f, causal, 1);    /* rope */
                check_fast(isa, Ts[ti], HS[hi], 0.25f, causal, 0);   /* alibi */
            }
}

/* Head sizes that are not multiples of any kernel width (the kernels pad them). */
Test(flash_fast, odd_head_sizes) {
    static const int HS[] = {1, 3, 8, 24, 80, 256}, Ts[] = {1, 5, 70, 130};
    for (int hi = 0; hi < 6; hi++)
        for (int ti = 0; ti < 4; ti++)
            for (int causal = 0; causal < 2; causal++) {
                check_fast("best", Ts[ti], HS[hi], 0.0f, causal, 0);
                check_fast("best", Ts[ti], HS[hi], 0.125f, causal, 0);
            }
}

Test(flash_fast, matches_naive_avx512) { fast_every_case("avx512"); }
Test(flash_fast, matches_naive_avx2) { fast_every_case("avx2"); }
Test(flash_fast, matches_naive_portable) { fast_every_case("portable"); }

/* Attention in double precision: the exact answer for the given float inputs. */
static void attn_exact(const AttnShape *s, const float *q, const float *k, const float *v,
                       double *out, double *P) {
    int T = s->T, hs = s->hs;
    double *S = malloc(sizeof(double) * T);
    for (int i = 0; i < T; i++) {
        int jmax = s->causal ? i : T - 1;
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j <= jmax; j++) {
            double dot = 0;
            for (int d = 0; d < hs; d++) dot += (double)q[i * hs + d] * k[j * hs + d];
            S[j] = dot * s->scale - (double)s->slope * abs(i - j);
            mx = fmax(mx, S[j]);
        }
        for (int j = 0; j <= jmax; j++) sum += (S[j] = exp(S[j] - mx));
        for (int d = 0; d < hs; d++) out[i * hs + d] = 0;
        for (int j = 0; j < T; j++) {
            double p = j <= jmax ? S[j] / sum : 0.0;
            P[(size_t)i * T + j] = p;
            for (int d = 0; d < hs; d++) out[i * hs + d] += p * v[j * hs + d];
        }
    }
    free(S);
}

static double rel_err_d(const float *a, const double *b, size_t n) {
    double num = 0, den = 1e-30;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs(a[i] - b[i]));
        den = fmax(den, fabs(b[i]));
    }
    return num / den;
}

/* Logits x1000 (scores in the thousands). exp must not overflow, and lse must still
 * agree with naive within 1e-5. The rest is ill-conditioned in float32, so it is held
 * to the exact (double) answer with tolerances that say why:
 *  - outputs: rounding a logit of ~3000 to float32 moves it by ~1e-4, so attn_naive
 *    itself is about 1e-4 from the exact answer, and no kernel that orders its
 *    arithmetic differently can agree with it to 1e-5. The fast kernel must be no
 *    further from the exact answer than 3x naive's own distance (plus 1e-5).
 *  - P recomputed from lse: P = exp(s - lse) inherits the rounding of s and of the
 *    float32 lse, whose last bit at ~3000 is 2.4e-4. Allowed: 8 units of 2^-24 * max|lse|
 *    (plus 1e-5), for P against the exact P and for each row's sum against 1. */
static void check_fast_huge(int T, int hs, float slope, int causal, int rope) {
    Bufs b = bufs_alloc(T, hs);
    fill_qkv(&b, T, hs, 1000.0f, rope, 9000u * T + hs + causal);
    AttnShape s = {T, hs, 1.0f / sqrtf((float)hs), slope, causal, hs};
    attn_naive(&s, b.q, b.k, b.v, b.P, b.on, b.ln);
    attn_flash_fast(&s, b.q, b.k, b.v, b.of, b.lf);
    float *C = malloc(4 * (size_t)T * T);
    attn_capture_rows_fast(&s, b.q, b.k, b.lf, 0, T, C);
    double *od = malloc(sizeof(double) * T * hs), *Pd = malloc(sizeof(double) * T * T);
    attn_exact(&s, b.q, b.k, b.v, od, Pd);
    for (int i = 0; i < T * hs; i++) cr_assert(isfinite(b.of[i]), "non-finite output");
    double el = rel_err(b.lf, b.ln, T);
    cr_expect(el <= 1e-5, "T=%d hs=%d x1000: lse rel err %.3e", T, hs, el);
    double eo_n = rel_err_d(b.on, od, (size_t)T * hs), eo_f = rel_err_d(b.of, od, (size_t)T * hs);
    cr_expect(eo_f <= 3 * eo_n + 1e-5, "T=%d hs=%d causal=%d x1000: output err vs exact %.3e, "
              "naive's %.3e", T, hs, causal, eo_f, eo_n);
    double lmax = 0;
    for (int i = 0; i < T; i++) lmax = fmax(lmax, fabs(b.lf[i]));
    double ptol = 1e-5 + 8.0 * ldexp(1.0, -24) * lmax;
    double ep = rel_err_d(C, Pd, (size_t)T * T);
    cr_expect(ep <= ptol, "T=%d hs=%d causal=%d x1000: P err vs exact %.3e > %.3e", T, hs,
              causal, ep, ptol);
    for (int i = 0; i < T; i++) {
        double sum = 0;
        for (int j = 0; j < T; j++) sum += C[(size_t)i * T + j];
        cr_expect(fabs(sum - 1.0) <= ptol, "T=%d hs=%d x1000: row %d sums to %.7f", T, hs, i, sum);
    }
    free(od);
    free(Pd);
    free(C);
    bufs_free(&b);
}

Test(flash_fast, stable_for_huge_logits) {
    static const int Ts[] = {1, 7, 65, 300, 1000}, HS[] = {16, 64, 128};
    for (int ti = 0; ti < 5; ti++)
        for (int hi = 0; hi < 3; hi++)
            for (int causal = 0; causal < 2; causal++) {
                check_fast_huge(Ts[ti], HS[hi], 0.0f, causal, 0);
                check_fast_huge(Ts[ti], HS[hi], 0.5f, causal, 1);
            }
}

/* The checks above can fail: a wrong mask or a perturbed output is caught. */
Test(flash_fast, the_comparison_catches_errors) {
    int T = 65, hs = 32;
    Bufs b = bufs_alloc(T, hs);
    fill_qkv(&b, T, hs, 1.0f, 0, 5);
    AttnShape s = {T, hs, 1.0f / sqrtf((float)hs), 0.0f, 1, hs}, nc = s;
    nc.causal = 0;
    attn_naive(&s, b.q, b.k, b.v, b.P, b.on, b.ln);
    attn_flash_fast(&nc, b.q, b.k, b.v, b.of, b.lf);       /* mask forgotten */
    cr_assert(rel_err(b.of, b.on, (size_t)T * hs) > 1e-2, "a missing mask went unnoticed");
    attn_flash_fast(&s, b.q, b.k, b.v, b.of, b.lf);
    b.of[17 * hs + 3] += 1e-4f;                           /* one element off by 1e-4 */
    cr_assert(rel_err(b.of, b.on, (size_t)T * hs) > 1e-5, "a perturbed output went unnoticed");
    bufs_free(&b);
}

/* Capture of a block of rows equals the same rows of the full capture, bit for bit. */
Test(flash_fast, capture_row_blocks_equal_full_capture) {
    int T = 130, hs = 32;
    Bufs b = bufs_alloc(T, hs);
    fill_qkv(&b, T, hs, 2.0f, 0, 8);
    AttnShape s = {T, hs, 1.0f / sqrtf((float)hs), 0.0625f, 1, hs};
    attn_flash_fast(&s, b.q, b.k, b.v, b.of, b.lf);
    float *C = malloc(4 * (size_t)T * T), *R = malloc(4 * (size_t)T * T);
    attn_capture_rows_fast(&s, b.q, b.k, b.lf, 0, T, C);
    int blocks[][2] = {{30, 5}, {0, 1}, {64, 66}, {129, 1}, {7, 100}};
    for (int i = 0; i < 5; i++) {
        attn_capture_rows_fast(&s, b.q, b.k, b.lf, blocks[i][0], blocks[i][1], R);
        cr_assert(memcmp(R, C + (size_t)blocks[i][0] * T, 4 * (size_t)blocks[i][1] * T) == 0,
                  "rows %d..%d differ from the full capture", blocks[i][0],
                  blocks[i][0] + blocks[i][1] - 1);
    }
    free(R);
    free(C);
    bufs_free(&b);
}

/* Many heads at once (threads over heads and query blocks), in the model's layout:
 * head h's output is the column slice h*hs of a (T, nh*hs) matrix. Equal bit for bit
 * to one head at a time, with 1 or 3 threads. */
Test(flash_fast, heads_in_parallel_equal_one_at_a_time) {
    int T = 700, hs = 32, nh = 3, C = nh * hs;
    size_t n = (size_t)nh * T * hs;
    float *q = malloc(4 * n), *k = malloc(4 * n), *v = malloc(4 * n);
    float *o1 = malloc(4 * n), *o2 = malloc(4 * n), *l1 = malloc(4 * nh * T), *l2 = malloc(4 * nh * T);
    AvzRng r;
    avz_rng_init(&r, 21);
    fill(q, n, &r, 1.0f);
    fill(k, n, &r, 1.0f);
    fill(v, n, &r, 1.0f);
    float slopes[3] = {0.5f, 0.25f, 0.0f};
    for (int causal = 0; causal < 2; causal++) {
        AttnShape s = {T, hs, 1.0f / sqrtf((float)hs), 0.0f, causal, C};
        for (int h = 0; h < nh; h++) {
            AttnShape sh = s;
            sh.slope = slopes[h];
            size_t off = (size_t)h * T * hs;
            attn_flash_fast(&sh, q + off, k + off, v + off, o1 + h * hs, l1 + h * T);
        }
        int threads = omp_get_max_threads();
        for (int nt = 1; nt <= 3; nt += 2) {
            omp_set_num_threads(nt);
            memset(o2, 0, 4 * n);
            attn_flash_fast_heads(&s, nh, slopes, q, k, v, o2, hs, l2);
            cr_assert(memcmp(o1, o2, 4 * n) == 0 && memcmp(l1, l2, 4 * (size_t)nh * T) == 0,
                      "causal=%d, %d threads: heads at once differ from one at a time", causal, nt);
        }
        omp_set_num_threads(threads);
    }
    free(q); free(k); free(v); free(o1); free(o2); free(l1); free(l2);
}

Test(flash_fast, tiles_fit_the_caches) {
    const CpuCaches *c = cpu_caches();
    cr_assert(c->l1d >= 4096 && c->l2 >= c->l1d, "caches %zu / %zu (%s)", c->l1d, c->l2, c->source);
    int hss[] = {16, 64, 128, 256};
    for (int i = 0; i < 4; i++) {
        AttnFastTiles t = attn_fast_tiles(4096, hss[i]);
        cr_assert(t.bq % GEMM_MR == 0 && t.bq >= GEMM_MR && t.bk >= 4, "hs %d: bq %d bk %d", hss[i],
                  t.bq, t.bk);
        cr_assert(t.scratch_bytes == attn_flash_fast_scratch_bytes(4096, hss[i]));
        /* tiny next to the (T, T) matrix naive needs: under 1% at T = 16384 */
        cr_assert(t.scratch_bytes < 0.01 * 4.0 * 16384 * 16384, "hs %d: %zu bytes", hss[i],
                  t.scratch_bytes);
    }
    AttnFastTiles t1 = attn_fast_tiles(1, 64);
    cr_assert(t1.bq == GEMM_MR, "T = 1: bq %d", t1.bq);
}
