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

/* e^x for x <= 88; 0 below -87 (where e^x < 2e-38 is negligible next to 1).
 *   e^x = 2^n * e^r,  n = round(x / ln 2),  r = x - n ln 2  in [-0.35, 0.35].
 * ln 2 is split into a short part (exact when multiplied by any n) and a tiny rest,
 * so that r keeps its accuracy (Cody and Waite). e^r is its Taylor series up to
 * r^7 / 7! (error under 6e-9 on that interval), and 2^n is written straight into a
 * float's exponent field. */
static inline float avz_fast_exp(float x) {
    float xc = x < -87.0f ? -87.0f : x;
    /* adding 1.5 * 2^23 pushes the fraction bits out of the float: the addition
     * itself rounds to the nearest integer */
    float n = (xc * 1.44269504f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union { int32_t i; float f; } two_n = {.i = ((int32_t)n + 127) * (1 << 23)};
    return x < -87.0f ? 0.0f : p * two_n.f;
}

/* tanh(u) = sign(u) (1 - a) / (1 + a) with a = e^(-2|u|) in (0, 1]: never overflows.
 * Near 0 the subtraction 1 - a leaves an absolute error of ~1e-7, which is all that
 * matters inside GELU's 1 + tanh(u). */
static inline float avz_fast_tanh(float u) {
    float a = avz_fast_exp(-2.0f * fabsf(u));
    float t = (1.0f - a) / (1.0f + a);
    return u < 0.0f ? -t : t;
}

#endif
