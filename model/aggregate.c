/* aggregate.c: mean over heads, attention rollout, differences (see aggregate.h). */
#include "aggregate.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

void aggregate_mean(const float *maps, int n, int T, float *out) {
    size_t nn = (size_t)T * T;
    for (size_t i = 0; i < nn; i++) {
        double s = 0.0;
        for (int k = 0; k < n; k++) s += maps[(size_t)k * nn + i];
        out[i] = (float)(s / n);
    }
}

/* A_hat = 0.5 A + 0.5 I with rows renormalised, into out (T, T). */
static void residual_mix(const float *A, int T, float *out) {
    for (int i = 0; i < T; i++) {
        const float *a = A + (size_t)i * T;
        float *o = out + (size_t)i * T;
        double s = 0.0;
        for (int j = 0; j < T; j++) {
            o[j] = 0.5f * a[j] + (i == j ? 0.5f : 0.0f);
            s += o[j];
        }
        if (s > 0.0)
            for (int j = 0; j < T; j++) o[j] = (float)(o[j] / s);
        else
            for (int j = 0; j < T; j++) o[j] = i == j ? 1.0f : 0.0f;
    }
}

/* out = A @ B for (T, T) matrices; out must not alias A or B. */
static void matmul(const float *A, const float *B, int T, float *out) {
    for (int i = 0; i < T; i++) {
        float *o = out + (size_t)i * T;
        for (int j = 0; j < T; j++) o[j] = 0.0f;
        for (int k = 0; k < T; k++) {
            float a = A[(size_t)i * T + k];
            if (a == 0.0f) continue;
            const float *b = B + (size_t)k * T;
            for (int j = 0; j < T; j++) o[j] += a * b[j];
        }
    }
}

void aggregate_rollout(const float *layer_means, int n_layers, int T, float *out,
                       float *scratch) {
    size_t nn = (size_t)T * T;
    float *hat = scratch, *tmp = scratch + nn;
    residual_mix(layer_means, T, out);                 /* rollout through layer 0 */
    for (int l = 1; l < n_layers; l++) {
        residual_mix(layer_means + (size_t)l * nn, T, hat);
        matmul(hat, out, T, tmp);                      /* A_hat_l @ (rollout so far) */
        memcpy(out, tmp, sizeof(float) * nn);
    }
}

float aggregate_diff(const float *before, const float *after, int n, float *out) {
    float m = 0.0f;
    for (int i = 0; i < n; i++) {
        out[i] = after[i] - before[i];
        if (isfinite(out[i]) && fabsf(out[i]) > m) m = fabsf(out[i]);
    }
    return m;
}
