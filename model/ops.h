/* ops.h: the CPU building blocks of the transformer, forward (and, for the
 * trainer, backward). Each is a plain loop over rows written to be read; shapes are
 * given as (rows, cols) with N = B*T rows. These are the reference the GPU kernels
 * are checked against. */
#ifndef AVZ_OPS_H
#define AVZ_OPS_H

#include <stddef.h>

/* LayerNorm over the last dim: out = (x - mean) / sqrt(var + eps) * w + b.
 * x, out: (N, C); mean, rstd: (N) saved for the backward pass (may be NULL). */
void ops_layernorm(float *out, float *mean, float *rstd, const float *x, const float *w,
                   const float *b, int N, int C, float eps);

/* Linear layer in GPT-2's Conv1D layout: out (N, OC) = x (N, C) @ w (C, OC) + b (OC).
 * b may be NULL. */
void ops_matmul(float *out, const float *x, const float *w, const float *b, int N, int C,
                int OC);

/* The tied LM head: logits (N, V) = x (N, C) @ wte^T, wte is (V, C). */
void ops_matmul_wt(float *out, const float *x, const float *wte, int N, int C, int V);

/* GELU, tanh approximation (as GPT-2): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
void ops_gelu(float *out, const float *x, size_t n);

/* out = a + b, n floats. */
void ops_add(float *out, const float *a, const float *b, size_t n);

/* Softmax of each of N rows of V logits into probs. */
void ops_softmax(float *probs, const float *logits, int N, int V);

/* Cross-entropy of each row's logits against target (skipped, loss 0, when target < 0).
 * Returns the mean over counted rows (or -1 when none). */
float ops_crossentropy(float *losses, const float *logits, const int *targets, int N, int V);

#endif
