/* test_attention.c: flash attention against the naive reference, capture from the
 * saved log-sum-exp, and the position encodings' defining properties. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "attention.h"
#include "common.h"
#include "posenc.h"

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
