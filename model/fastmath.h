/* fastmath.h: exp and tanh in a form the compiler can vectorise.
 *
 * libm's expf and tanhf are function calls, one element at a time: in a loop over a
 * row of scores or activations no compiler turns them into vector code, and they
 * cost 10 to 20 ns each. These versions use only + - * / and an integer shift, so a
 * loop that calls them runs 8 or 16 elements per instruction. They are accurate to
 * about 1e-7 relative (a few float32 ulps): tests/test_attention.c checks them against
 * libm over their whole range. */
#ifndef AVZ_FASTMATH_H
#define AVZ_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* AVZ_CONTRACT asks GCC to fuse a * b + c into one FMA instruction in one function (one
 * rounding, half the instructions), as the Makefile does for all of gemm.c and
 * attention_fast.c; in ISO C mode it keeps them apart by default. For the kernels in
 * other files that call the functions below. */
#if defined(__GNUC__) && !defined(__clang__)
#define AVZ_CONTRACT __attribute__((optimize("fp-contract=fast")))
#else
#define AVZ_CONTRACT
#endif

/* e^x for x <= 88; 0 below -87 (where e^x < 2e-38 is negligible next to 1).
 *   e^x = 2^n * e^r,  n = round(x / ln 2),  r = x - n ln 2  in [-0.35, 0.35].
 * ln 2 is split into a short part (exact when multiplied by any n) and a tiny rest,
 * so that r keeps its accuracy (Cody and Waite). e^r is its Taylor series up to
 * r^7 / 7! (error under 6e-9 on that interval), and 2^n is written straight into a
 * float's exponent field. */
static inline float avz_exp_core(float x);

static inline float avz_fast_exp(float x) {
    float xc = x < -87.0f ? -87.0f : x;
    float e = avz_exp_core(xc);
    return x < -87.0f ? 0.0f : e;
}

/* The same for -87 <= x <= 88 only, with no test of the range (for callers that bound
 * x themselves: fewer instructions in the loop). */
static inline float avz_exp_core(float x) {
    /* adding 1.5 * 2^23 pushes the fraction bits out of the float: the addition
     * itself rounds to the nearest integer */
    float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    /* the polynomial in Estrin's order: pairs of terms first, then pairs of pairs. The
     * same sum as Horner's rule, but 3 multiply-adds deep instead of 7, so that the
     * CPU can overlap more of them (exp is latency-bound in GELU and softmax loops) */
    float r2 = r * r, r4 = r2 * r2;
    float p01 = 1.0f + r, p23 = 0.5f + r * (1.0f / 6.0f);
    float p45 = 1.0f / 24.0f + r * (1.0f / 120.0f), p67 = 1.0f / 720.0f + r * (1.0f / 5040.0f);
    float p = (p01 + r2 * p23) + r4 * (p45 + r2 * p67);
    /* a shift of the biased exponent into place (as unsigned: a multiply by 2^23 of a
     * signed int is what GCC then emits, a slow vector multiply) */
    union { uint32_t i; float f; } two_n = {.i = (uint32_t)((int32_t)n + 127) << 23};
    return p * two_n.f;
}

/* tanh(u) = sign(u) (1 - a) / (1 + a) with a = e^(-2|u|) in (0, 1]: never overflows.
 * Near 0 the subtraction 1 - a leaves an absolute error of ~1e-7, which is all that
 * matters inside GELU's 1 + tanh(u). */
static inline float avz_fast_tanh(float u) {
    float a = avz_fast_exp(-2.0f * fabsf(u));
    float t = (1.0f - a) / (1.0f + a);
    return u < 0.0f ? -t : t;
}

/* 1 / d for 1 <= d <= 2, without a division (a vector division takes 10 to 16 cycles,
 * longer than all the rest of GELU). Newton's method for f(y) = 1/y - d: each step
 * y <- y (2 - d y) squares the relative error. The first guess comes from the bits: a
 * float's bits read as an integer are roughly a scaled log2 of it, so subtracting them
 * from a constant (0x7EF311C3) roughly negates the log2, i.e. gives ~1/d within 12%
 * (for any normal d, in fact). Three steps: 0.12 -> 0.014 -> 2e-4 -> 4e-8, below float
 * precision. */
static inline float avz_fast_recip(float d) {
    union { int32_t i; float f; } g = {.f = d};
    g.i = 0x7EF311C3 - g.i;
    float y = g.f;
    for (int it = 0; it < 3; it++) y = y * (2.0f - d * y);
    return y;
}

/* GELU, tanh approximation: 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3).
 * Since 0.5 (1 + tanh(u)) = 1 / (1 + e^(-2u)), the logistic function of z = 2u, this is
 * x * sigmoid(z): one exp, one reciprocal, and no cancellation near 0. With
 * a = e^(-|z|) in (0, 1] nothing can overflow: sigmoid(z) = 1 / (1 + a) for z >= 0 and
 * a / (1 + a) for z < 0. (|z| is capped at 87, where a ~ 1e-38 is as good as 0.) */
static inline float avz_fast_gelu(float x) {
    float z = 1.5957691216057308f * (x + 0.044715f * x * x * x);   /* 2 sqrt(2/pi) */
    float nz = -fabsf(z);
    float a = avz_exp_core(nz > -87.0f ? nz : -87.0f);
    float r = avz_fast_recip(1.0f + a);
    return x * (z >= 0.0f ? r : a * r);
}

/* ---- sums and maxima along a row -------------------------------------------------------
 * A reduction over a row of n floats runs in AVZ_LANES lanes: lane l adds up (or takes
 * the max of) elements l, l + 16, l + 32, ... The compiler keeps the lanes in one vector
 * register. Then the lanes are joined in 4 steps, each folding the upper half of the
 * register onto the lower one (a shuffle and one vector operation). A plain
 * `omp simd reduction` joins them one lane after another instead, 16 dependent adds,
 * which for the short rows of a small model cost more than the row itself. */
#define AVZ_LANES 16

#if defined(__GNUC__) && !defined(__clang__)
typedef float AvzLanes __attribute__((vector_size(4 * AVZ_LANES)));
typedef int32_t AvzLaneIdx __attribute__((vector_size(4 * AVZ_LANES)));

/* the upper half of each group of 2w lanes folded onto the lower half, w = 8, 4, 2, 1 */
static const AvzLaneIdx avz_fold[4] = {
    {8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7},
    {4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11},
    {2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13},
    {1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14}};

static inline float avz_lanes_sum(const float acc[AVZ_LANES]) {
    AvzLanes v;
    memcpy(&v, acc, sizeof v);
    for (int i = 0; i < 4; i++) v += __builtin_shuffle(v, avz_fold[i]);
    return v[0];
}

static inline float avz_lanes_max(const float acc[AVZ_LANES]) {
    AvzLanes v;
    memcpy(&v, acc, sizeof v);
    for (int i = 0; i < 4; i++) {
        AvzLanes w = __builtin_shuffle(v, avz_fold[i]);
        AvzLaneIdx gt = w > v;   /* -1 where w is larger: take w there */
        v = (AvzLanes)((gt & (AvzLaneIdx)w) | (~gt & (AvzLaneIdx)v));
    }
    return v[0];
}
#else   /* other compilers: the same joins, one lane at a time */
static inline float avz_lanes_sum(const float acc[AVZ_LANES]) {
    float s = 0.0f;
    for (int l = 0; l < AVZ_LANES; l++) s += acc[l];
    return s;
}

static inline float avz_lanes_max(const float acc[AVZ_LANES]) {
    float m = acc[0];
    for (int l = 1; l < AVZ_LANES; l++) m = acc[l] > m ? acc[l] : m;
    return m;
}
#endif

/* sum of x[0..n) */
static inline float avz_row_sum(const float *x, int n) {
    float acc[AVZ_LANES] = {0};
    int j = 0;
    for (; j + AVZ_LANES <= n; j += AVZ_LANES)
        for (int l = 0; l < AVZ_LANES; l++) acc[l] += x[j + l];
    for (int l = 0; j + l < n; l++) acc[l] += x[j + l];
    return avz_lanes_sum(acc);
}

/* sum of (x[j] - m)^2 over j < n: a row's variance times n */
static inline float avz_row_sumsq(const float *x, float m, int n) {
    float acc[AVZ_LANES] = {0};
    int j = 0;
    for (; j + AVZ_LANES <= n; j += AVZ_LANES)
        for (int l = 0; l < AVZ_LANES; l++) acc[l] += (x[j + l] - m) * (x[j + l] - m);
    for (int l = 0; j + l < n; l++) acc[l] += (x[j + l] - m) * (x[j + l] - m);
    return avz_lanes_sum(acc);
}

/* max of x[0..n), n >= 1 */
static inline float avz_row_max(const float *x, int n) {
    float acc[AVZ_LANES];
    for (int l = 0; l < AVZ_LANES; l++) acc[l] = x[0];
    int j = 0;
    for (; j + AVZ_LANES <= n; j += AVZ_LANES)
        for (int l = 0; l < AVZ_LANES; l++) acc[l] = x[j + l] > acc[l] ? x[j + l] : acc[l];
    for (int l = 0; j + l < n; l++) acc[l] = x[j + l] > acc[l] ? x[j + l] : acc[l];
    return avz_lanes_max(acc);
}

/* x[j] = e^(x[j] - m) for j < n; returns their sum */
static inline float avz_row_exp_sum(float *x, float m, int n) {
    float acc[AVZ_LANES] = {0};
    int j = 0;
    for (; j + AVZ_LANES <= n; j += AVZ_LANES)
        for (int l = 0; l < AVZ_LANES; l++) {
            x[j + l] = avz_fast_exp(x[j + l] - m);
            acc[l] += x[j + l];
        }
    for (int l = 0; j + l < n; l++) {
        x[j + l] = avz_fast_exp(x[j + l] - m);
        acc[l] += x[j + l];
    }
    return avz_lanes_sum(acc);
}

#endif
