/* backward.h: the backward pass of the whole model, for the trainer.
 *
 * model_forward computes the loss; model_backward walks the same graph in reverse
 * and applies the chain rule to every operation, producing the gradient of the
 * mean loss with respect to every parameter. The pieces:
 *   - the per-op rules for LayerNorm, the linear layers, GELU, the tied LM head and
 *     softmax + cross-entropy are in ops.h / ops_backward.c;
 *   - attention's rule is backward_attention below: like flash attention it never
 *     keeps the (T, T) matrix, it recomputes P from q, k and the saved lse;
 *   - the position encodings: learned wpe gets the sum of the gradients at its
 *     position; RoPE is a rotation, so its backward is the inverse rotation
 *     (posenc_rope_apply with sign -1) of dq and dk; ALiBi's bias and the causal
 *     mask are constants, handled by recomputing P exactly as the forward did;
 *     sinusoidal and "none" have no parameters. */
#ifndef AVZ_BACKWARD_H
#define AVZ_BACKWARD_H

#include "attention.h"
#include "model.h"

/* Sets the gradient arena grads (m->num_parameters floats) to zero. */
void model_zero_grad(const Model *m, float *grads);

/* AVZ_OK when model_backward can differentiate m: attnviz's own GPT-2 layout
 * (config_is_core_gpt2). Otherwise AVZ_ERR_INPUT with a message saying what the model
 * is. The trainer asks before training; model_backward itself aborts with that
 * message on any other model (a programmer error). */
AvzCode model_backward_supported(const Model *m, char *err);

/* Adds the gradient of m->mean_loss (the mean cross-entropy over the counted
 * targets) with respect to every parameter into grads, an arena of
 * m->num_parameters floats laid out exactly like m->params_memory (point into it
 * with model_point_params and m->param_sizes).
 *
 * Must follow model_forward(m, tokens, targets, B, T, opts) with the same tokens
 * and targets, targets != NULL, no head ablation and no_position = 0; either
 * attention kind. Reads m->acts and does not change the weights. Keeps a scratch
 * buffer for the activation gradients in m (grad_acts_memory), reused by later
 * calls and freed by model_free. Deterministic for a fixed number of threads.
 * With no counted target (all targets < 0) the loss is constant and nothing is
 * added. */
void model_backward(Model *m, const int *tokens, const int *targets, float *grads);

/* Backward of one attention head (see attention.h for the forward):
 *   given out = softmax(S, causal) v (as from attn_naive / attn_flash with this same
 *   shape), its row log-sum-exps lse (T), and dout = dLoss/dout, computes
 *   dq, dk, dv (T, hs) packed, written (not added). q, k, v: (T, hs) packed;
 *   out and dout: row t at t * s->ostride. Using FlashAttention-2's identities:
 *     P_ij  = exp(S_ij - lse_i)           (recomputed, never stored)
 *     D_i   = dout_i . out_i              (= sum_j P_ij dP_ij)
 *     dP_ij = dout_i . v_j,   dS_ij = P_ij (dP_ij - D_i)
 *     dq_i  = scale * sum_j dS_ij k_j,  dk_j = scale * sum_i dS_ij q_i,
 *     dv_j  = sum_i P_ij dout_i. */
void backward_attention(const AttnShape *s, const float *q, const float *k, const float *v,
                        const float *out, const float *dout, const float *lse, float *dq,
                        float *dk, float *dv);

#endif
