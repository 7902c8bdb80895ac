/* ops.c: CPU forward operations. Rows are independent, so each loop over rows is
 * spread across threads with OpenMP; the inner loops run along contiguous memory
 * so that the compiler can vectorise them. */
#include "ops.h"

#include "common.h"
#include "fastmath.h"
#include "gemm.h"
#include "simd.h"

#include <math.h>
#include <string.h>

/* One row of LayerNorm. The sums run in vector lanes (avz_row_sum in fastmath.h): the
 * same maths, summed in a different order than one element after another. */
static AVZ_HOT AVZ_CONTRACT void layernorm_row(float *on, float *mean, float *rstd, const float *xn,
                                  const float *w, const float *b, int C, float eps) {
    float m = avz_row_sum(xn, C) / C;            /* lane sums: see fastmath.h */
    float v = avz_row_sumsq(xn, m, C) / C;
    float r = 1.0f / sqrtf(v + eps);
    for (int i = 0; i < C; i++) on[i] = (xn[i] - m) * r * w[i] + b[i];
    if (mean) *mean = m;
    if (rstd) *rstd = r;
}

/* Rows [n0, n1) of ops_add_layernorm (add may be NULL: LayerNorm of x alone). */
static void add_layernorm_rows(float *sum, float *out, float *mean, float *rstd, const float *x,
                               const float *add, const float *w, const float *b, int n0, int n1,
                               int C, float eps, int simd) {
    size_t o = (size_t)n0 * C;
    if (simd) {   /* avx512_ops.c: the same maths, the row held in registers */
        simd_add_layernorm_avx512(add ? sum + o : NULL, out + o, mean ? mean + n0 : NULL,
                                  rstd ? rstd + n0 : NULL, x + o, add ? add + o : NULL, w, b,
                                  n1 - n0, C, eps);
        return;
    }
    if (add) ops_add(sum + o, x + o, add + o, (size_t)(n1 - n0) * C);
    const float *src = add ? sum : x;
    for (int n = n0; n < n1; n++)
        layernorm_row(out + (size_t)n * C, mean ? mean + n : NULL, rstd ? rstd + n : NULL,
                      src + (size_t)n * C, w, b, C, eps);
}

void ops_add_layernorm(float *sum, float *out, float *mean, float *rstd, const float *x,
                       const float *add, const float *w, const float *b, int N, int C,
                       float eps) {
    int simd = C % 16 == 0 && simd_avx512_active();
    /* threads only when there is enough work: waking one costs microseconds, and far
     * more when the machine is busy with something else. Blocks of 16 rows. */
    int nblocks = (N + 15) / 16;
#pragma omp parallel for schedule(static) if ((size_t)N * C > (1u << 16))
    for (int blk = 0; blk < nblocks; blk++) {
        int n0 = blk * 16, n1 = n0 + 16 < N ? n0 + 16 : N;
        add_layernorm_rows(sum, out, mean, rstd, x, add, w, b, n0, n1, C, eps, simd);
    }
}

void ops_layernorm(float *out, float *mean, float *rstd, const float *x, const float *w,
                   const float *b, int N, int C, float eps) {
    ops_add_layernorm(NULL, out, mean, rstd, x, NULL, w, b, N, C, eps);
}

/* One row of RMSNorm: the mean of the squares in double (a long row of large
 * activations loses nothing), then a scale per element. */
static AVZ_HOT void rmsnorm_row(float *on, float *rstd, const float *xn, const float *w, int C,
                                float eps) {
    double ss = 0.0;
    for (int i = 0; i < C; i++) ss += (double)xn[i] * xn[i];
    float r = 1.0f / sqrtf((float)(ss / C) + eps);
    for (int i = 0; i < C; i++) on[i] = xn[i] * r * w[i];
    if (rstd) *rstd = r;
}

void ops_add_rmsnorm(float *sum, float *out, float *rstd, const float *x, const float *add,
                     const float *w, int N, int C, float eps) {
#pragma omp parallel for schedule(static) if ((size_t)N * C > (1u << 16))
    for (int n = 0; n < N; n++) {
        size_t o = (size_t)n * C;
        const float *src = x + o;
        if (add) {
            ops_add(sum + o, x + o, add + o, (size_t)C);
            src = sum + o;
        }
        rmsnorm_row(out + o, rstd ? rstd + n : NULL, src, w, C, eps);
    }
}

/* Rows [n0, n1) of out = x @ w + b. Four rows at a time share each row of w, so it
 * is read from cache once per four outputs; the inner loop walks a row of w and
 * rows of out, both contiguous, and vectorises. */
static AVZ_HOT void matmul_rows(float *out, const float *x, const float *w, const float *b,
                                int n0, int n1, int C, int OC) {
    for (int n = n0; n < n1; n++) {
        float *on = out + (size_t)n * OC;
        if (b) memcpy(on, b, sizeof(float) * OC);
        else memset(on, 0, sizeof(float) * OC);
    }
    int n = n0;
    for (; n + 4 <= n1; n += 4) {
        float *o0 = out + (size_t)n * OC, *o1 = o0 + OC, *o2 = o1 + OC, *o3 = o2 + OC;
        const float *x0 = x + (size_t)n * C;
        for (int i = 0; i < C; i++) {
            float a0 = x0[i], a1 = x0[C + i], a2 = x0[2 * C + i], a3 = x0[3 * C + i];
            const float *wi = w + (size_t)i * OC;
#pragma omp simd
            for (int o = 0; o < OC; o++) {
                float wv = wi[o];
                o0[o] += a0 * wv;
                o1[o] += a1 * wv;
                o2[o] += a2 * wv;
                o3[o] += a3 * wv;
            }
        }
    }
    for (; n < n1; n++) {
        float *on = out + (size_t)n * OC;
        const float *xn = x + (size_t)n * C;
        for (int i = 0; i < C; i++) {
            float a = xn[i];
            const float *wi = w + (size_t)i * OC;
#pragma omp simd
            for (int o = 0; o < OC; o++) on[o] += a * wi[o];
        }
    }
}

void ops_matmul_ref(float *out, const float *x, const float *w, const float *b, int N, int C,
                    int OC) {
    /* blocks of 16 rows: enough work per thread, a multiple of the 4-row kernel */
    int nblocks = (N + 15) / 16;
#pragma omp parallel for schedule(static)
    for (int blk = 0; blk < nblocks; blk++) {
        int n0 = blk * 16, n1 = n0 + 16 < N ? n0 + 16 : N;
        matmul_rows(out, x, w, b, n0, n1, C, OC);
    }
}

void ops_matmul(float *out, const float *x, const float *w, const float *b, int N, int C,
                int OC) {
    /* the same product through the blocked, packed kernels of gemm.c (3 to 5 times
     * faster than ops_matmul_ref above; the tests compare the two) */
    gemm_sgemm(N, OC, C, x, C, w, OC, 0, out, OC, b);
}

void ops_matmul_packed(float *out, const float *x, const GemmPackedB *w, const float *b, int N) {
    gemm_sgemm_packed(N, w, x, w->K, out, w->N, b);
}

void ops_matmul_wt(float *out, const float *x, const float *wte, int N, int C, int V) {
    /* x @ wte^T is a matmul with the (C, V) transpose of wte; gemm_sgemm reads the
     * transpose directly while it packs B, so nothing is copied beforehand */
    gemm_sgemm(N, V, C, x, C, wte, C, 1, out, V, NULL);
}

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */

void ops_gelu_ref(float *out, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float xi = x[i];
        out[i] = 0.5f * xi * (1.0f + tanhf(GELU_K * (xi + 0.044715f * xi * xi * xi)));
    }
}

/* The same function with the vectorisable exp of fastmath.h, as x / (1 + e^(-2u))
 * (avz_fast_gelu: equal to the tanh form): libm's tanhf is a call per element, and was
 * a third of a small model's forward pass. */
static AVZ_HOT AVZ_CONTRACT void gelu_fast(float *out, const float *x, size_t n) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) out[i] = avz_fast_gelu(x[i]);
}

void ops_gelu(float *out, const float *x, size_t n) {
    if (simd_avx512_active()) simd_gelu_avx512(out, x, n);   /* avx512_ops.c */
    else gelu_fast(out, x, n);
}

/* silu(g) * u with sigmoid(g) from a = e^(-|g|) in (0, 1]: 1 / (1 + a) for g >= 0 and
 * a / (1 + a) below, so that no exponential overflows whatever g is. */
static AVZ_HOT AVZ_CONTRACT void swiglu_row(float *out, const float *g, const float *u, int F) {
#pragma omp simd
    for (int i = 0; i < F; i++) {
        float a = avz_fast_exp(-fabsf(g[i]));
        float sig = (g[i] >= 0.0f ? 1.0f : a) / (1.0f + a);
        out[i] = g[i] * sig * u[i];
    }
}

void ops_swiglu(float *out, const float *gu, int N, int F) {
#pragma omp parallel for schedule(static) if ((size_t)N * F > (1u << 18))
    for (int n = 0; n < N; n++)
        swiglu_row(out + (size_t)n * F, gu + (size_t)n * 2 * F, gu + (size_t)n * 2 * F + F, F);
}

void ops_add(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/* Row helpers for softmax and cross-entropy, vectorised: the max, and the sum of
 * exp(l - mx) (fastmath.h), each lane summing its own elements, then the lanes. */
static AVZ_HOT float row_max(const float *l, int V) {
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int v = 0; v < V; v++) mx = l[v] > mx ? l[v] : mx;
    return mx;
}

static AVZ_HOT float row_exp_sum(const float *l, float mx, int V) {
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int v = 0; v < V; v++) s += avz_fast_exp(l[v] - mx);
    return s;
}

/* The same, keeping each exp(l - mx) in p. */
static AVZ_HOT float row_exp_store_sum(const float *l, float mx, float *p, int V) {
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int v = 0; v < V; v++) {
        p[v] = avz_fast_exp(l[v] - mx);
        s += p[v];
    }
    return s;
}

void ops_softmax(float *probs, const float *logits, int N, int V) {
#pragma omp parallel for schedule(static) if ((size_t)N * V > (1u << 18))
    for (int n = 0; n < N; n++) {
        const float *l = logits + (size_t)n * V;
        float *p = probs + (size_t)n * V;
        float s = row_exp_store_sum(l, row_max(l, V), p, V), inv = 1.0f / s;
        for (int v = 0; v < V; v++) p[v] *= inv;
    }
}

float ops_crossentropy(float *losses, const float *logits, const int *targets, int N, int V) {
    double total = 0.0;
    int counted = 0;
    for (int n = 0; n < N; n++) {
        if (targets[n] < 0) { losses[n] = 0.0f; continue; }
        const float *l = logits + (size_t)n * V;
        float mx = row_max(l, V);
        double s = row_exp_sum(l, mx, V);
        /* -log softmax(l)[target] = log(sum exp(l - mx)) + mx - l[target] */
        losses[n] = (float)(log(s) + mx - l[targets[n]]);
        total += losses[n];
        counted++;
    }
    return counted ? (float)(total / counted) : -1.0f;
}
