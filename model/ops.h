/* ops.h: the CPU building blocks of the transformer, forward (and, for the
 * trainer, backward). Each is a plain loop over rows written to be read; shapes are
 * given as (rows, cols) with N = B*T rows. These are the reference the GPU kernels
 * are checked against. */
#ifndef AVZ_OPS_H
#define AVZ_OPS_H

#include <stddef.h>

#include "attention.h"
#include "gemm.h"

/* LayerNorm over the last dim: out = (x - mean) / sqrt(var + eps) * w + b.
 * x, out: (N, C); mean, rstd: (N) saved for the backward pass (may be NULL). */
void ops_layernorm(float *out, float *mean, float *rstd, const float *x, const float *w,
                   const float *b, int N, int C, float eps);

/* The residual add and the LayerNorm after it, in one pass: sum = x + add, then
 * out = LayerNorm(sum) as above. sum (N, C) may not alias x or add. */
void ops_add_layernorm(float *sum, float *out, float *mean, float *rstd, const float *x,
                       const float *add, const float *w, const float *b, int N, int C,
                       float eps);

/* RMSNorm (Zhang and Sennrich 2019; Llama): out = x / sqrt(mean(x^2) + eps) * w, no mean
 * subtracted, no bias. When add is not NULL the rows normalised are sum = x + add, written
 * to sum first (as ops_add_layernorm). rstd (N) gets each row's 1 / rms (may be NULL).
 * x, add, sum, out: (N, C). */
void ops_add_rmsnorm(float *sum, float *out, float *rstd, const float *x, const float *add,
                     const float *w, int N, int C, float eps);

/* Linear layer in GPT-2's Conv1D layout: out (N, OC) = x (N, C) @ w (C, OC) + b (OC).
 * b may be NULL. Runs on the fast kernels of gemm.c. */
void ops_matmul(float *out, const float *x, const float *w, const float *b, int N, int C,
                int OC);

/* The same product with w packed once (gemm_pack_b; the model's weight cache): the
 * same bits as ops_matmul, without packing w on every call. out (N, w->N). */
void ops_matmul_packed(float *out, const float *x, const GemmPackedB *w, const float *b, int N);

/* The same product as plain loops over rows (4 at a time): the readable reference
 * the fast one is tested against. */
void ops_matmul_ref(float *out, const float *x, const float *w, const float *b, int N, int C,
                    int OC);

/* The tied LM head: logits (N, V) = x (N, C) @ wte^T, wte is (V, C). */
void ops_matmul_wt(float *out, const float *x, const float *wte, int N, int C, int V);

/* GELU, tanh approximation (as GPT-2): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
 * ops_gelu computes tanh with the vectorisable one of fastmath.h (or avx512_ops.c's);
 * ops_gelu_ref with libm's tanhf, the reference it is tested against. */
void ops_gelu(float *out, const float *x, size_t n);
void ops_gelu_ref(float *out, const float *x, size_t n);

/* SwiGLU (Shazeer 2020; Llama's MLP): gu is (N, 2F), each row the gate's F values then
 * up's F; out (N, F) = silu(gate) * up, with silu(g) = g * sigmoid(g) = g / (1 + e^-g). */
void ops_swiglu(float *out, const float *gu, int N, int F);

/* out = a + b, n floats. */
void ops_add(float *out, const float *a, const float *b, size_t n);

/* Softmax of each of N rows of V logits into probs. */
void ops_softmax(float *probs, const float *logits, int N, int V);

/* Cross-entropy of each row's logits against target (skipped, loss 0, when target < 0).
 * Returns the mean over counted rows (or -1 when none). */
float ops_crossentropy(float *losses, const float *logits, const int *targets, int N, int V);

/* ---- attention of a short text, every probability kept (attention_fast.c) ----------
 * (Declared here beside the other building blocks of the forward pass; it belongs with
 * the kernels of attention.h, whose contracts it shares.)
 * One head like attn_flash_fast, computed the way attn_naive is: each row of P once,
 * exactly (max, exp, sum, normalise), kept in P, then out = P v. For a short text
 * this is faster than the online softmax plus a recomputation at capture, and capture
 * becomes a copy. P (64-byte aligned): attn_keep_rows(T) rows of attn_keep_ld(T)
 * floats; row i holds P[i][0..T) (zeros where masked) and zeros up to ld; the rows past
 * T are scratch.
 * out: row t at out + t * s->ostride, hs floats; lse: (T). Single-threaded. */
size_t attn_keep_ld(int T);
size_t attn_keep_rows(int T);
void attn_fast_keep(const AttnShape *s, const float *q, const float *k, const float *v,
                    float *out, float *lse, float *P);

/* ---- backward ------------------------------------------------------------
 * The gradients of the operations above, for the trainer (model/backward.c).
 * Conventions: d<name> is the gradient of the loss with respect to <name>.
 * Weight gradients (dw, db) are always ADDED to (+=), so that a caller can sum
 * them over layers, steps or micro-batches; whether an input gradient dx is
 * written or added is said in each contract. Every reduction over rows is done
 * in a fixed order, so the results are bitwise repeatable (and do not depend on
 * the thread count). No output may overlap an input unless a contract says so.
 * Implemented in ops_backward.c. */

/* LayerNorm backward. With xhat = (x - mean) * rstd and dn = dout * w:
 *   dx += rstd * (dn - mean(dn) - xhat * mean(dn * xhat))   (added: x is the residual
 *                                                           stream, which has a skip path)
 *   dw += sum over rows of dout * xhat,  db += sum over rows of dout.
 * dout, x, dx: (N, C); w, dw, db: (C); mean, rstd: (N) saved by ops_layernorm. */
void ops_layernorm_backward(float *dx, float *dw, float *db, const float *dout,
                            const float *x, const float *w, const float *mean,
                            const float *rstd, int N, int C);

/* Linear layer backward, Conv1D layout (out = x @ w + b, w is (C, OC)):
 *   dx  = dout @ w^T         (N, C), written
 *   dw += x^T @ dout         (C, OC)
 *   db += sum over rows of dout   (OC); db may be NULL (no bias). */
void ops_matmul_backward(float *dx, float *dw, float *db, const float *dout, const float *x,
                         const float *w, int N, int C, int OC);

/* Tied LM head backward (logits = x @ wte^T):
 *   dx    = dlogits @ wte     (N, C), written
 *   dwte += dlogits^T @ x     (V, C), added to the embedding's gradient. */
void ops_matmul_wt_backward(float *dx, float *dwte, const float *dlogits, const float *x,
                            const float *wte, int N, int C, int V);

/* GELU backward: dx = dout * gelu'(x), n floats, written. dx may equal dout. */
void ops_gelu_backward(float *dx, const float *dout, const float *x, size_t n);

/* Softmax + cross-entropy backward for the MEAN loss of ops_crossentropy:
 *   dlogits = (softmax(logits) - onehot(target)) / count   for rows with target >= 0,
 *   dlogits = 0                                            for rows with target < 0,
 * where count is the number of rows with target >= 0. dlogits: (N, V), written. */
void ops_crossentropy_backward(float *dlogits, const float *logits, const int *targets, int N,
                               int V);

#endif
