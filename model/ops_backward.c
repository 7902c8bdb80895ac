/* ops_backward.c: the backward pass of the CPU operations in ops.c, for the trainer.
 *
 * Each function is the chain rule for one forward op: given the gradient of the
 * loss with respect to the op's output (dout), it produces the gradients with
 * respect to the op's inputs and parameters. The contracts are in ops.h.
 *
 * Two kinds of loops appear:
 *   - input gradients (dx) are independent per row, so rows are spread over threads;
 *   - weight gradients (dw) are sums over all N rows. To stay deterministic
 *     without atomics, each thread owns a block of rows of dw and adds the N
 *     contributions to it in a fixed order (rows 0..N-1, four at a time), so the
 *     result does not even depend on the number of threads. The small (C)
 *     gradients of LayerNorm and of the biases are summed on one thread. */
#include "ops.h"

#include <math.h>
#include <string.h>

/* The matrix products below handle ROWS rows of their input at a time: each
 * weight row they load from memory then serves ROWS rows of output, and each
 * output row they load serves ROWS multiply-adds. When fewer than ROWS rows are
 * left, the last row is repeated (and its result dropped or weighted by 0), so
 * there is only one loop body. "omp simd" asks the compiler to vectorise the
 * inner loops even at -O2. */
#define ROWS 4      /* the loop bodies below are written out for 4 */
#define CHUNK 128   /* columns per stack accumulator in ops_matmul_wt_backward */

/* Points rows[r] at row min(n + r, N - 1) of x (N rows of len floats). */
static void row_block(const float *rows[ROWS], const float *x, int n, int N, size_t len) {
    for (int r = 0; r < ROWS; r++) rows[r] = x + (size_t)(n + r < N ? n + r : N - 1) * len;
}

/* out (I, J) += A^T @ Bm, where A is (N, I) and Bm is (N, J): for every row n,
 * out[i][:] += A[n][i] * Bm[n][:]. Blocks of OUT_BLOCK rows of out stay in the L1
 * cache while the N rows of A and Bm stream past, four at a time. */
#define OUT_BLOCK 8
static void add_at_b(float *out, const float *A, const float *Bm, int N, int I, int J) {
#pragma omp parallel for schedule(static)
    for (int i0 = 0; i0 < I; i0 += OUT_BLOCK) {
        int i1 = i0 + OUT_BLOCK < I ? i0 + OUT_BLOCK : I;
        for (int n = 0; n < N; n += ROWS) {
            const float *a[ROWS], *b[ROWS];
            row_block(a, A, n, N, I);
            row_block(b, Bm, n, N, J);
            for (int i = i0; i < i1; i++) {
                float c[ROWS];   /* the repeated rows past N get weight 0 */
                for (int r = 0; r < ROWS; r++) c[r] = n + r < N ? a[r][i] : 0.0f;
                float *oi = out + (size_t)i * J;
#pragma omp simd
                for (int j = 0; j < J; j++)
                    oi[j] += c[0] * b[0][j] + c[1] * b[1][j] + c[2] * b[2][j] + c[3] * b[3][j];
            }
        }
    }
}

void ops_layernorm_backward(float *dx, float *dw, float *db, const float *dout,
                            const float *x, const float *w, const float *mean,
                            const float *rstd, int N, int C) {
    /* dx: every row on its own. y = xhat * w + b and xhat = (x - mean) * rstd, where
     * mean and rstd themselves depend on every x of the row; differentiating through
     * them gives the two mean terms below. */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * C, *gn = dout + (size_t)n * C;
        float m = mean[n], r = rstd[n];
        float mean_dn = 0.0f, mean_dn_xhat = 0.0f;
        for (int i = 0; i < C; i++) {
            float dn = gn[i] * w[i];
            mean_dn += dn;
            mean_dn_xhat += dn * (xn[i] - m) * r;
        }
        mean_dn /= C;
        mean_dn_xhat /= C;
        float *dxn = dx + (size_t)n * C;
        for (int i = 0; i < C; i++) {
            float xhat = (xn[i] - m) * r;
            dxn[i] += r * (gn[i] * w[i] - mean_dn - xhat * mean_dn_xhat);
        }
    }
    /* dw, db: sums over rows, in row order (cheap: N * C) */
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * C, *gn = dout + (size_t)n * C;
        float m = mean[n], r = rstd[n];
        for (int i = 0; i < C; i++) {
            dw[i] += gn[i] * (xn[i] - m) * r;
            db[i] += gn[i];
        }
    }
}

void ops_matmul_backward(float *dx, float *dw, float *db, const float *dout, const float *x,
                         const float *w, int N, int C, int OC) {
    /* dx[n][i] = sum_o dout[n][o] * w[i][o]: dot products of contiguous rows */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n += ROWS) {
        const float *g[ROWS];
        row_block(g, dout, n, N, OC);
        for (int i = 0; i < C; i++) {
            const float *wi = w + (size_t)i * OC;
            float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
            for (int o = 0; o < OC; o++) {
                s0 += g[0][o] * wi[o];
                s1 += g[1][o] * wi[o];
                s2 += g[2][o] * wi[o];
                s3 += g[3][o] * wi[o];
            }
            float sums[ROWS] = {s0, s1, s2, s3};
            for (int r = 0; r < ROWS && n + r < N; r++) dx[(size_t)(n + r) * C + i] = sums[r];
        }
    }
    /* dw[i][o] += sum_n x[n][i] * dout[n][o] */
    add_at_b(dw, x, dout, N, C, OC);
    if (!db) return;
    for (int n = 0; n < N; n++) {
        const float *gn = dout + (size_t)n * OC;
        for (int o = 0; o < OC; o++) db[o] += gn[o];
    }
}

void ops_matmul_wt_backward(float *dx, float *dwte, const float *dlogits, const float *x,
                            const float *wte, int N, int C, int V) {
    /* dx[n][:] = sum_v dlogits[n][v] * wte[v][:], for four rows n at once, in
     * column chunks that fit a small accumulator on the stack */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n += ROWS) {
        const float *g[ROWS];
        row_block(g, dlogits, n, N, V);
        for (int i0 = 0; i0 < C; i0 += CHUNK) {
            int nc = C - i0 < CHUNK ? C - i0 : CHUNK;
            float acc[ROWS][CHUNK] = {{0}};
            for (int v = 0; v < V; v++) {
                const float *wv = wte + (size_t)v * C + i0;
                float c0 = g[0][v], c1 = g[1][v], c2 = g[2][v], c3 = g[3][v];
#pragma omp simd
                for (int i = 0; i < nc; i++) {
                    acc[0][i] += c0 * wv[i];
                    acc[1][i] += c1 * wv[i];
                    acc[2][i] += c2 * wv[i];
                    acc[3][i] += c3 * wv[i];
                }
            }
            for (int r = 0; r < ROWS && n + r < N; r++)
                memcpy(dx + (size_t)(n + r) * C + i0, acc[r], sizeof(float) * nc);
        }
    }
    /* dwte[v][:] += sum_n dlogits[n][v] * x[n][:] */
    add_at_b(dwte, dlogits, x, N, V, C);
}

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */

void ops_gelu_backward(float *dx, const float *dout, const float *x, size_t n) {
    /* gelu(x) = 0.5 x (1 + tanh u), u = K (x + 0.044715 x^3), so
     * gelu'(x) = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) K (1 + 3 * 0.044715 x^2) */
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float xi = x[i];
        float th = tanhf(GELU_K * (xi + 0.044715f * xi * xi * xi));
        float du = GELU_K * (1.0f + 3.0f * 0.044715f * xi * xi);
        float grad = 0.5f * (1.0f + th) + 0.5f * xi * (1.0f - th * th) * du;
        dx[i] = dout[i] * grad;
    }
}

void ops_crossentropy_backward(float *dlogits, const float *logits, const int *targets, int N,
                               int V) {
    int count = 0;
    for (int n = 0; n < N; n++) count += targets[n] >= 0;
    float inv = count ? 1.0f / count : 0.0f;
    /* loss_n = -log softmax(l)[t]; d loss_n / d l_v = softmax(l)_v - [v == t], and
     * the mean over counted rows divides every row's gradient by count */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float *g = dlogits + (size_t)n * V;
        if (targets[n] < 0) {
            memset(g, 0, sizeof(float) * V);
            continue;
        }
        const float *l = logits + (size_t)n * V;
        float mx = -INFINITY;
        for (int v = 0; v < V; v++) mx = l[v] > mx ? l[v] : mx;
        float s = 0.0f;
        for (int v = 0; v < V; v++) s += (g[v] = expf(l[v] - mx));
        float scale = inv / s;
        for (int v = 0; v < V; v++) g[v] *= scale;
        g[targets[n]] -= inv;
    }
}
