/* test_aggregate.c: mean over heads, attention rollout and differences
 * (app/aggregate.c) on random causal maps. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "aggregate.h"
#include "common.h"

/* A random causal attention map (T, T): rows sum to 1 over j <= i. */
static void random_map(float *A, int T, AvzRng *r) {
    for (int i = 0; i < T; i++) {
        double s = 0;
        for (int j = 0; j < T; j++) {
            A[i * T + j] = j <= i ? 0.05f + avz_rng_uniform(r) : 0.0f;
            s += A[i * T + j];
        }
        for (int j = 0; j <= i; j++) A[i * T + j] = (float)(A[i * T + j] / s);
    }
}

Test(aggregate, mean_of_heads) {
    enum { T = 7, N = 3 };
    float maps[N * T * T], out[T * T];
    AvzRng r;
    avz_rng_init(&r, 11);
    for (int k = 0; k < N; k++) random_map(maps + k * T * T, T, &r);
    aggregate_mean(maps, N, T, out);
    for (int i = 0; i < T * T; i++) {
        float want = (maps[i] + maps[T * T + i] + maps[2 * T * T + i]) / 3.0f;
        cr_assert_float_eq(out[i], want, 1e-6, "cell %d", i);
    }
}

/* The reference: explicit 0.5 A + 0.5 I, renormalised, multiplied left to right. */
static void reference_rollout(const float *means, int L, int T, double *R) {
    double *hat = malloc(sizeof(double) * T * T), *tmp = malloc(sizeof(double) * T * T);
    for (int i = 0; i < T * T; i++) R[i] = (i / T == i % T);
    for (int l = 0; l < L; l++) {
        for (int i = 0; i < T; i++) {
            double s = 0;
            for (int j = 0; j < T; j++) s += hat[i * T + j] = 0.5 * means[(l * T + i) * T + j] + 0.5 * (i == j);
            for (int j = 0; j < T; j++) hat[i * T + j] /= s;
        }
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) {
                double s = 0;
                for (int k = 0; k < T; k++) s += hat[i * T + k] * R[k * T + j];
                tmp[i * T + j] = s;
            }
        memcpy(R, tmp, sizeof(double) * T * T);
    }
    free(hat);
    free(tmp);
}

Test(aggregate, rollout_matches_the_definition) {
    int sizes[] = {1, 2, 5, 13};
    AvzRng r;
    avz_rng_init(&r, 12);
    for (int si = 0; si < 4; si++) {
        int T = sizes[si], L = 3;
        float *means = malloc(sizeof(float) * L * T * T), *out = malloc(sizeof(float) * T * T);
        float *scratch = malloc(sizeof(float) * 2 * T * T);
        double *ref = malloc(sizeof(double) * T * T);
        for (int l = 0; l < L; l++) random_map(means + l * T * T, T, &r);
        aggregate_rollout(means, L, T, out, scratch);
        reference_rollout(means, L, T, ref);
        double maxerr = 0;
        for (int i = 0; i < T * T; i++) maxerr = fmax(maxerr, fabs(out[i] - ref[i]));
        cr_assert(maxerr < 1e-5, "T=%d: max error %g", T, maxerr);
        for (int i = 0; i < T; i++) {
            double s = 0;
            for (int j = 0; j < T; j++) {
                s += out[i * T + j];
                if (j > i) cr_assert_eq(out[i * T + j], 0.0f, "not causal at (%d,%d)", i, j);
            }
            cr_assert(fabs(s - 1.0) < 1e-5, "T=%d row %d sums to %g", T, i, s);
        }
        free(means);
        free(out);
        free(scratch);
        free(ref);
    }
}

Test(aggregate, rollout_of_one_layer_and_zero_rows) {
    enum { T = 3 };
    float A[T * T] = {1, 0, 0, 0.5f, 0.5f, 0, 0, 0, 0}, out[T * T], scratch[2 * T * T];
    aggregate_rollout(A, 1, T, out, scratch);
    float want[T * T] = {1, 0, 0, 0.25f, 0.75f, 0, 0, 0, 1}; /* a zero row: 0.5 I renormalised */
    for (int i = 0; i < T * T; i++) cr_assert_float_eq(out[i], want[i], 1e-6, "cell %d", i);
}

Test(aggregate, difference_and_its_range) {
    float a[4] = {0.1f, 0.5f, 0.2f, NAN}, b[4] = {0.3f, 0.1f, 0.2f, 1.0f}, d[4];
    float m = aggregate_diff(a, b, 4, d);
    cr_assert_float_eq(d[0], 0.2f, 1e-6);
    cr_assert_float_eq(d[1], -0.4f, 1e-6);
    cr_assert_float_eq(d[2], 0.0f, 1e-6);
    cr_assert(isnan(d[3]));
    cr_assert_float_eq(m, 0.4f, 1e-6);
    float z[2] = {1, 2};
    cr_assert_eq(aggregate_diff(z, z, 2, d), 0.0f);
}
