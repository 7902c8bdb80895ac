/* posenc.c: sinusoidal tables, ALiBi slopes and the RoPE rotation.
 * See posenc.h for the formulas; each function is the paper's definition, written
 * out plainly so that it can be read beside the paper. */
#include "posenc.h"

#include "common.h"
#include "simd.h"

#include <math.h>
#include <stddef.h>

void posenc_sinusoidal(float *out, int T, int C) {
    for (int p = 0; p < T; p++) {
        for (int i = 0; 2 * i < C; i++) {
            /* the wavelength grows geometrically from 2*pi to 10000*2*pi across the dims */
            double freq = pow(10000.0, -2.0 * i / (double)C);
            out[p * C + 2 * i] = (float)sin(p * freq);
            if (2 * i + 1 < C) out[p * C + 2 * i + 1] = (float)cos(p * freq);
        }
    }
}

/* The power-of-two rule: start = ratio = 2^(-8/n). */
static void alibi_pow2(float *slopes, int n) {
    double start = pow(2.0, -8.0 / n);
    double s = start;
    for (int i = 0; i < n; i++) {
        slopes[i] = (float)s;
        s *= start;
    }
}

void posenc_alibi_slopes(float *slopes, int n) {
    int p = 1;
    while (p * 2 <= n) p *= 2;           /* closest power of two <= n */
    alibi_pow2(slopes, p);
    if (p == n) return;
    /* the remaining heads interleave between the first p: take the even-indexed
     * slopes 0, 2, 4, ... of the 2p sequence (the paper's get_slopes rule) */
    float twice[128];
    int m = 2 * p > 128 ? 128 : 2 * p;
    alibi_pow2(twice, m);
    for (int i = 0; i < n - p; i++) slopes[p + i] = twice[2 * i];
}

double posenc_rope_angle(int p, int i, int hs, float base) {
    return (double)p * pow((double)base, -2.0 * i / (double)hs);
}

void posenc_rope_apply(float *x, int T, int hs, float base, int pos0, int sign) {
    int half = hs / 2;
    for (int i = 0; i < half; i++) {
        double theta = pow((double)base, -2.0 * i / (double)hs);
        for (int t = 0; t < T; t++) {
            double a = (double)(pos0 + t) * theta;
            float c = (float)cos(a), s = (float)(sign * sin(a));
            float *row = x + (size_t)t * hs;
            float x1 = row[i], x2 = row[i + half];
            row[i] = x1 * c - x2 * s;
            row[i + half] = x1 * s + x2 * c;
        }
    }
}

static void rope_table_rows(float *cs, const int *pos, int T, int hs, float base, int pos0) {
    int half = hs / 2;
    for (int i = 0; i < half; i++) {
        double theta = pow((double)base, -2.0 * i / (double)hs);
        for (int t = 0; t < T; t++) {
            double a = (double)(pos ? pos[t] : pos0 + t) * theta;
            cs[(size_t)t * 2 * half + i] = (float)cos(a);
            cs[(size_t)t * 2 * half + half + i] = (float)sin(a);
        }
    }
}

void posenc_rope_table(float *cs, int T, int hs, float base, int pos0) {
    rope_table_rows(cs, NULL, T, hs, base, pos0);
}

void posenc_rope_table_at(float *cs, const int *pos, int T, int hs, float base) {
    rope_table_rows(cs, pos, T, hs, base, 0);
}

void posenc_random_positions(int *pos, int T, int n, AvzRng *rng) {
    int need = T;
    for (int i = 0; i < n && need > 0; i++)
        if ((double)avz_rng_uniform(rng) * (n - i) < need) pos[T - need--] = i;
}

/* Row t's cosines and sines lie side by side in the table, each in the order of the
 * pairs, so that a loop over pairs reads contiguous runs. */
void posenc_rope_apply_table(float *x, int T, int hs, const float *cs, int sign) {
    if ((hs == 16 || hs % 32 == 0) && simd_avx512_active()) {   /* 16 lanes at a time: simd.h */
        simd_rope_avx512(x, T, hs, cs, sign);
        return;
    }
    int half = hs / 2;
    for (int t = 0; t < T; t++) {
        float *row = x + (size_t)t * hs;
        const float *ct = cs + (size_t)t * 2 * half, *st = ct + half;
        for (int i = 0; i < half; i++) {
            float c = ct[i], s = sign * st[i];
            float x1 = row[i], x2 = row[i + half];
            row[i] = x1 * c - x2 * s;
            row[i + half] = x1 * s + x2 * c;
        }
    }
}
