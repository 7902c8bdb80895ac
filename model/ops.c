/* ops.c: CPU forward operations. Rows are independent, so each loop over rows is
 * spread across threads with OpenMP; the inner loops run along contiguous memory
 * so that the compiler can vectorise them. */
#include "ops.h"

#include "common.h"

#include <math.h>
#include <string.h>

void ops_layernorm(float *out, float *mean, float *rstd, const float *x, const float *w,
                   const float *b, int N, int C, float eps) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * C;
        float m = 0.0f;
        for (int i = 0; i < C; i++) m += xn[i];
        m /= C;
        float v = 0.0f;
        for (int i = 0; i < C; i++) v += (xn[i] - m) * (xn[i] - m);
        v /= C;
        float r = 1.0f / sqrtf(v + eps);
        float *on = out + (size_t)n * C;
        for (int i = 0; i < C; i++) on[i] = (xn[i] - m) * r * w[i] + b[i];
        if (mean) mean[n] = m;
        if (rstd) rstd[n] = r;
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

void ops_matmul(float *out, const float *x, const float *w, const float *b, int N, int C,
                int OC) {
    /* blocks of 16 rows: enough work per thread, a multiple of the 4-row kernel */
    int nblocks = (N + 15) / 16;
#pragma omp parallel for schedule(static)
    for (int blk = 0; blk < nblocks; blk++) {
        int n0 = blk * 16, n1 = n0 + 16 < N ? n0 + 16 : N;
        matmul_rows(out, x, w, b, n0, n1, C, OC);
    }
}

void ops_matmul_wt(float *out, const float *x, const float *wte, int N, int C, int V) {
    /* x @ wte^T is a matmul with the (C, V) transpose of wte. Transposing first
     * (V*C floats, small next to the N*V*C products) turns the V dot products per
     * row into the contiguous row updates of ops_matmul, which vectorise. */
    float *wt = avz_xmalloc(sizeof(float) * (size_t)V * C);
    for (int v = 0; v < V; v++)
        for (int i = 0; i < C; i++) wt[(size_t)i * V + v] = wte[(size_t)v * C + i];
    ops_matmul(out, x, wt, NULL, N, C, V);
    free(wt);
}

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */

void ops_gelu(float *out, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float xi = x[i];
        out[i] = 0.5f * xi * (1.0f + tanhf(GELU_K * (xi + 0.044715f * xi * xi * xi)));
    }
}

void ops_add(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void ops_softmax(float *probs, const float *logits, int N, int V) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *l = logits + (size_t)n * V;
        float *p = probs + (size_t)n * V;
        float mx = -INFINITY;
        for (int v = 0; v < V; v++) mx = l[v] > mx ? l[v] : mx;
        float s = 0.0f;
        for (int v = 0; v < V; v++) s += (p[v] = expf(l[v] - mx));
        for (int v = 0; v < V; v++) p[v] /= s;
    }
}

float ops_crossentropy(float *losses, const float *logits, const int *targets, int N, int V) {
    double total = 0.0;
    int counted = 0;
    for (int n = 0; n < N; n++) {
        if (targets[n] < 0) { losses[n] = 0.0f; continue; }
        const float *l = logits + (size_t)n * V;
        float mx = -INFINITY;
        for (int v = 0; v < V; v++) mx = l[v] > mx ? l[v] : mx;
        double s = 0.0;
        for (int v = 0; v < V; v++) s += exp((double)(l[v] - mx));
        /* -log softmax(l)[target] = log(sum exp(l - mx)) + mx - l[target] */
        losses[n] = (float)(log(s) + mx - l[targets[n]]);
        total += losses[n];
        counted++;
    }
    return counted ? (float)(total / counted) : -1.0f;
}
