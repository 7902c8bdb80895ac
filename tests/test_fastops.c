/* test_fastops.c: the vectorisable exp and tanh (fastmath.h) against libm, and the
 * operations built on them (GELU, softmax, cross-entropy, LayerNorm, the RoPE table)
 * against plain or double-precision references. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "common.h"
#include "fastmath.h"
#include "ops.h"
#include "posenc.h"

Test(fastmath, exp_matches_libm) {
    double worst = 0;
    for (float x = -87.0f; x <= 88.0f; x += 0.0137f) {
        double want = exp((double)x), got = avz_fast_exp(x);
        worst = fmax(worst, fabs(got - want) / want);
    }
    cr_assert(worst < 3e-7, "exp: worst relative error %.3e", worst);
    cr_assert_eq(avz_fast_exp(-INFINITY), 0.0f);
    cr_assert_eq(avz_fast_exp(-100.0f), 0.0f);
    cr_assert_eq(avz_fast_exp(0.0f), 1.0f);
}

Test(fastmath, tanh_matches_libm) {
    double worst = 0;
    for (float u = -12.0f; u <= 12.0f; u += 0.00731f)
        worst = fmax(worst, fabs(avz_fast_tanh(u) - tanh((double)u)));
    cr_assert(worst < 3e-7, "tanh: worst absolute error %.3e", worst);
    cr_assert_eq(avz_fast_tanh(50.0f), 1.0f);
    cr_assert_eq(avz_fast_tanh(-50.0f), -1.0f);
}

Test(fastops, gelu_matches_reference) {
    enum { N = 4099 };
    static float x[N], a[N], b[N];
    AvzRng r;
    avz_rng_init(&r, 4);
    for (int i = 0; i < N; i++) x[i] = 4.0f * avz_rng_normal(&r);
    ops_gelu(a, x, N);
    ops_gelu_ref(b, x, N);
    for (int i = 0; i < N; i++)
        cr_assert(fabsf(a[i] - b[i]) <= 1e-6f * (1.0f + fabsf(b[i])), "gelu(%g) = %g, want %g",
                  x[i], a[i], b[i]);
}

Test(fastops, softmax_and_crossentropy_match_double) {
    enum { N = 7, V = 651 };
    static float logits[N * V], probs[N * V], losses[N];
    int targets[N] = {0, 5, 650, 100, -1, 17, 300};
    AvzRng r;
    avz_rng_init(&r, 5);
    for (int i = 0; i < N * V; i++) logits[i] = 3.0f * avz_rng_normal(&r);
    ops_softmax(probs, logits, N, V);
    float mean = ops_crossentropy(losses, logits, targets, N, V);
    double total = 0;
    for (int n = 0; n < N; n++) {
        const float *l = logits + n * V;
        double mx = -INFINITY, s = 0;
        for (int v = 0; v < V; v++) mx = fmax(mx, l[v]);
        for (int v = 0; v < V; v++) s += exp(l[v] - mx);
        for (int v = 0; v < V; v++) {
            double want = exp(l[v] - mx) / s;
            cr_assert(fabs(probs[n * V + v] - want) <= 1e-6 * want + 1e-9, "p[%d][%d]", n, v);
        }
        if (targets[n] < 0) {
            cr_assert_eq(losses[n], 0.0f);
            continue;
        }
        double loss = log(s) + mx - l[targets[n]];
        cr_assert(fabs(losses[n] - loss) <= 1e-5 * (1 + loss), "loss %d: %g vs %g", n, losses[n], loss);
        total += loss;
    }
    cr_assert(fabs(mean - total / 6) <= 1e-5 * (1 + total / 6), "mean %g vs %g", mean, total / 6);
}

Test(fastops, layernorm_matches_double) {
    enum { N = 5, C = 67 };
    float x[N * C], w[C], b[C], out[N * C], mean[N], rstd[N];
    AvzRng r;
    avz_rng_init(&r, 6);
    for (int i = 0; i < N * C; i++) x[i] = 2.0f + avz_rng_normal(&r);
    for (int i = 0; i < C; i++) { w[i] = avz_rng_normal(&r); b[i] = avz_rng_normal(&r); }
    ops_layernorm(out, mean, rstd, x, w, b, N, C, 1e-5f);
    for (int n = 0; n < N; n++) {
        double m = 0, v = 0;
        for (int i = 0; i < C; i++) m += x[n * C + i];
        m /= C;
        for (int i = 0; i < C; i++) v += (x[n * C + i] - m) * (x[n * C + i] - m);
        v /= C;
        double rs = 1.0 / sqrt(v + 1e-5);
        cr_assert(fabs(mean[n] - m) < 1e-5 && fabs(rstd[n] - rs) < 1e-5 * rs, "row %d", n);
        for (int i = 0; i < C; i++) {
            double want = (x[n * C + i] - m) * rs * w[i] + b[i];
            cr_assert(fabs(out[n * C + i] - want) < 1e-5 * (1 + fabs(want)), "out[%d][%d]", n, i);
        }
    }
}

Test(fastops, rope_table_equals_rope_apply_bit_for_bit) {
    enum { T = 37, HS = 24 };
    float a[T * HS], b[T * HS], cs[T * HS];
    AvzRng r;
    avz_rng_init(&r, 8);
    for (int i = 0; i < T * HS; i++) a[i] = b[i] = avz_rng_normal(&r);
    for (int sign = -1; sign <= 1; sign += 2) {
        posenc_rope_apply(a, T, HS, 10000.0f, 5, sign);
        posenc_rope_table(cs, T, HS, 10000.0f, 5);
        posenc_rope_apply_table(b, T, HS, cs, sign);
        cr_assert(memcmp(a, b, sizeof a) == 0, "sign %d: table and direct rotation differ", sign);
    }
}

Test(fastmath, reciprocal_without_division) {
    double worst = 0;
    for (float d = 1.0f; d <= 2.0f; d += 0.000137f)
        worst = fmax(worst, fabs((double)avz_fast_recip(d) * d - 1.0));
    cr_assert(worst < 3e-7, "1/d: worst relative error %.3e", worst);
    cr_assert(fabsf(avz_fast_gelu(-30.0f)) < 1e-30f && fabsf(avz_fast_gelu(30.0f) - 30.0f) < 1e-5f,
              "gelu tails: %g, %.9g", avz_fast_gelu(-30.0f), avz_fast_gelu(30.0f));
}

Test(fastmath, row_sums_and_maxima_every_length) {
    AvzRng r;
    avz_rng_init(&r, 11);
    float x[70], e[70];
    for (int n = 1; n <= 70; n++) {
        for (int j = 0; j < n; j++) x[j] = 3.0f * avz_rng_normal(&r);
        double s = 0, ss = 0, mx = x[0], es = 0;
        for (int j = 0; j < n; j++) s += x[j];
        for (int j = 0; j < n; j++) {
            ss += ((double)x[j] - 0.5) * (x[j] - 0.5);
            mx = fmax(mx, x[j]);
        }
        for (int j = 0; j < n; j++) es += exp(x[j] - mx);
        memcpy(e, x, sizeof(float) * n);
        float got_es = avz_row_exp_sum(e, (float)mx, n);
        cr_expect(fabs(avz_row_sum(x, n) - s) < 1e-5 * (1 + fabs(s)), "n=%d: sum", n);
        cr_expect(fabs(avz_row_sumsq(x, 0.5f, n) - ss) < 1e-5 * ss, "n=%d: sum of squares", n);
        cr_expect_eq(avz_row_max(x, n), (float)mx, "n=%d: max", n);
        cr_expect(fabs(got_es - es) < 1e-5 * es, "n=%d: sum of exp %g, want %g", n, got_es, es);
        for (int j = 0; j < n; j++)
            cr_expect(fabs(e[j] - exp(x[j] - mx)) < 1e-6, "n=%d: e[%d]", n, j);
    }
}
