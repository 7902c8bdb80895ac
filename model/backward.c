/* backward.c: the backward pass of the model (see backward.h), for the trainer.
 *
 * Read model_backward top to bottom: it is forward.c's model_forward read from the
 * bottom up. The gradient of the residual stream (dres) is the thread that runs
 * through it: each block adds to it what flows back through its two branches,
 * while the skip connections pass it on unchanged. Only one layer's activation
 * gradients are alive at a time, so the scratch is sized by (B, T), not by L. */
#include "backward.h"

#include "arch.h"

#include <math.h>
#include <string.h>

#include "ops.h"
#include "posenc.h"

/* The activation gradients of one step, pointers into m->grad_acts_memory. */
typedef struct {
    float *dlogits;    /* (B, T, V) */
    float *dres;       /* (B, T, C) gradient of the residual stream at the current point */
    float *dln;        /* (B, T, C) gradient of a LayerNorm output: lnf, then ln2, ln1 */
    float *dz;         /* (B, T, C) gradient of the attention output (= of zin: no ablation) */
    float *dqkv;       /* (B, T, 3C) gradient of the c_attn output */
    float *dq;         /* (B, NH, T, hs) per head, first after RoPE, then before */
    float *dk;         /* (B, NH, T, hs) likewise */
    float *dv;         /* (B, NH, T, hs) */
    float *dfch;       /* (B, T, 4C) gradient of the MLP hidden: after GELU, then before */
} GradActs;

/* Points g into m's scratch, growing it if (B, T) needs more. */
static void grad_acts_point(Model *m, GradActs *g, size_t BT) {
    size_t C = m->cfg.n_embd, V = m->cfg.vocab_size;
    size_t sizes[9] = {BT * V, BT * C, BT * C, BT * C, BT * 3 * C,
                       BT * C, BT * C, BT * C, BT * 4 * C};
    size_t total = 0;
    for (int i = 0; i < 9; i++) total += sizes[i];
    if (total > m->grad_acts_cap) {
        free(m->grad_acts_memory);
        m->grad_acts_memory = avz_xmalloc(sizeof(float) * total);
        m->grad_acts_cap = total;
    }
    float **ptrs[9] = {&g->dlogits, &g->dres, &g->dln, &g->dz, &g->dqkv,
                       &g->dq, &g->dk, &g->dv, &g->dfch};
    float *p = m->grad_acts_memory;
    for (int i = 0; i < 9; i++) {
        *ptrs[i] = p;
        p += sizes[i];
    }
}

static float dot(const float *a, const float *b, int n) {
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* The CPU version walks query rows one at a time: a head's K, V, dK and dV are
 * T * hs floats each and stay in cache. (A GPU kernel tiles the same identities,
 * as FlashAttention-2 does, keeping blocks of K and V in shared memory.) */
void backward_attention(const AttnShape *s, const float *q, const float *k, const float *v,
                        const float *out, const float *dout, const float *lse, float *dq,
                        float *dk, float *dv) {
    int T = s->T, hs = s->hs;
    memset(dk, 0, sizeof(float) * T * hs);
    memset(dv, 0, sizeof(float) * T * hs);
    for (int i = 0; i < T; i++) {
        const float *qi = q + (size_t)i * hs;
        const float *oi = out + (size_t)i * s->ostride, *doi = dout + (size_t)i * s->ostride;
        float *dqi = dq + (size_t)i * hs;
        memset(dqi, 0, sizeof(float) * hs);
        /* D_i: the softmax couples a row's scores through its normalisation; this
         * is the part of dP every score of the row shares */
        float D = dot(doi, oi, hs);
        int jmax = s->causal ? i : T - 1;    /* masked keys have P = 0: no gradient */
        for (int j = 0; j <= jmax; j++) {
            const float *kj = k + (size_t)j * hs, *vj = v + (size_t)j * hs;
            /* recompute P_ij exactly as the forward scored it (same ALiBi bias) */
            float S = dot(qi, kj, hs) * s->scale + attn_alibi_bias(s->slope, i, j);
            float p = expf(S - lse[i]);
            float dp = dot(doi, vj, hs);
            float ds = p * (dp - D) * s->scale;   /* dS_ij, with the scale of S = q.k*scale */
            float *dkj = dk + (size_t)j * hs, *dvj = dv + (size_t)j * hs;
            for (int d = 0; d < hs; d++) {
                dvj[d] += p * doi[d];
                dqi[d] += ds * kj[d];
                dkj[d] += ds * qi[d];
            }
        }
    }
}

/* dz (B, T, C) -> dq, dk, dv (B, NH, T, hs) for layer l, every (b, h) on its own. */
static void attention_layer_backward(Model *m, int l, const GradActs *g) {
    int B = m->B, T = m->T, C = m->cfg.n_embd, NH = m->cfg.n_head, hs = C / NH;
    size_t BT = (size_t)B * T;
    const ActTensors *a = &m->acts;
    const float *q = a->q + l * BT * C, *k = a->k + l * BT * C, *v = a->v + l * BT * C;
    const float *z = a->z + l * BT * C, *lse = a->lse + l * NH * BT;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            AttnShape s = {T, hs, 1.0f / sqrtf((float)hs), m->alibi_slopes[h], 1, C};
            size_t bh = (size_t)b * NH + h, head = bh * T * hs;
            size_t col = (size_t)b * T * C + h * hs;   /* this head's slice of (B, T, C) */
            backward_attention(&s, q + head, k + head, v + head, z + col, g->dz + col,
                               lse + bh * T, g->dq + head, g->dk + head, g->dv + head);
        }
    }
}

/* The backward of split_heads: undo RoPE on dq and dk (the gradient of a rotation
 * is the inverse rotation), then put the heads back into the (B, T, 3C) layout. */
static void split_heads_backward(Model *m, const GradActs *g) {
    int B = m->B, T = m->T, C = m->cfg.n_embd, NH = m->cfg.n_head, hs = C / NH;
    int rope = m->cfg.pe == PE_ROPE;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            size_t off = ((size_t)b * NH + h) * T * hs;
            if (rope && m->rope_pos) {   /* the forward pass's table of its positions */
                posenc_rope_apply_table(g->dq + off, T, hs, m->rope_pos_table, -1);
                posenc_rope_apply_table(g->dk + off, T, hs, m->rope_pos_table, -1);
            } else if (rope) {
                posenc_rope_apply(g->dq + off, T, hs, m->cfg.rope_theta, 0, -1);
                posenc_rope_apply(g->dk + off, T, hs, m->cfg.rope_theta, 0, -1);
            }
            for (int t = 0; t < T; t++) {
                float *row = g->dqkv + ((size_t)b * T + t) * 3 * C + h * hs;
                memcpy(row, g->dq + off + (size_t)t * hs, sizeof(float) * hs);
                memcpy(row + C, g->dk + off + (size_t)t * hs, sizeof(float) * hs);
                memcpy(row + 2 * C, g->dv + off + (size_t)t * hs, sizeof(float) * hs);
            }
        }
    }
}

/* The backward of embed: each row's gradient goes to its token's embedding and,
 * for the learned encoding, to its position's vector. Rows in order, so repeated
 * tokens add up deterministically. */
static void embed_backward(Model *m, const int *tokens, const float *dres, ParamTensors *dp) {
    int B = m->B, T = m->T, C = m->cfg.n_embd;
    int learned = m->cfg.pe == PE_LEARNED;
    float scale = model_embed_scale(&m->cfg);       /* x = scale * wte[token] + ... */
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            const float *gx = dres + ((size_t)b * T + t) * C;
            float *dwte = dp->wte + (size_t)tokens[b * T + t] * C;
            for (int i = 0; i < C; i++) dwte[i] += scale * gx[i];
            if (!learned) continue;
            float *dwpe = dp->wpe + (size_t)t * C;
            for (int i = 0; i < C; i++) dwpe[i] += gx[i];
        }
    }
}

void model_zero_grad(const Model *m, float *grads) {
    memset(grads, 0, sizeof(float) * m->num_parameters);
}

AvzCode model_backward_supported(const Model *m, char *err) {
    const ModelConfig *c = &m->cfg;
    if (config_is_core_gpt2(c)) return AVZ_OK;
    return avz_fail(err, AVZ_ERR_INPUT, "the backward pass (and so training) supports attnviz's "
                    "own GPT-2 layout only (LayerNorm, GELU, NKV = NH, F = 4C, a tied head); "
                    "this is a %s model (%s, %s, NKV %d of NH %d, F %d, %s head)",
                    arch_info(c->arch)->model_type, arch_norm_name(c->norm),
                    arch_mlp_name(c->mlp), c->n_kv_head, c->n_head, c->n_inner,
                    c->untied ? "untied" : "tied");
}

void model_backward(Model *m, const int *tokens, const int *targets, float *grads) {
    char why[AVZ_ERR_LEN];
    if (model_backward_supported(m, why) != AVZ_OK) {   /* a caller that did not ask first */
        fprintf(stderr, "model_backward: %s\n", why);
        abort();
    }
    AVZ_ASSERT(m->has_losses && !m->no_position);
    if (m->mean_loss < 0.0f) return;   /* no counted target: nothing to learn from */
    const ModelConfig *c = &m->cfg;
    int L = c->n_layer, C = c->n_embd, V = c->vocab_size;
    size_t BT = (size_t)m->B * m->T;
    GradActs g;
    grad_acts_point(m, &g, BT);
    ParamTensors dp;
    model_point_params(&dp, grads, m->param_sizes);
    const ParamTensors *p = &m->params;
    const ActTensors *a = &m->acts;

    /* loss -> logits -> ln_f -> the last residual stream */
    ops_crossentropy_backward(g.dlogits, a->logits, targets, BT, V);
    ops_matmul_wt_backward(g.dln, dp.wte, g.dlogits, a->lnf, p->wte, BT, C, V);
    memset(g.dres, 0, sizeof(float) * BT * C);
    const float *xL = L ? a->residual3 + (L - 1) * BT * C : a->encoded;
    ops_layernorm_backward(g.dres, dp.lnfw, dp.lnfb, g.dln, xL, p->lnfw, a->lnf_mean,
                           a->lnf_rstd, BT, C);

    for (int l = L - 1; l >= 0; l--) {
        const float *x = l ? a->residual3 + (l - 1) * BT * C : a->encoded;   /* block input */
        const float *ln1 = a->ln1 + l * BT * C, *res2 = a->residual2 + l * BT * C;
        const float *ln2 = a->ln2 + l * BT * C, *zin = (m->ablated ? a->zin : a->z) + l * BT * C;
        const float *fch = a->fch + l * BT * 4 * C, *fchg = a->fch_gelu + l * BT * 4 * C;
        /* MLP sub-block, res3 = res2 + fcproj(gelu(fc(ln2(res2)))): dres (= d res3)
         * flows into the branch, and the branch's gradient is added back to it */
        ops_matmul_backward(g.dfch, dp.fcprojw + (size_t)l * 4 * C * C, dp.fcprojb + l * C,
                            g.dres, fchg, p->fcprojw + (size_t)l * 4 * C * C, BT, 4 * C, C);
        ops_gelu_backward(g.dfch, g.dfch, fch, BT * 4 * C);
        ops_matmul_backward(g.dln, dp.fcw + (size_t)l * C * 4 * C, dp.fcb + l * 4 * C, g.dfch,
                            ln2, p->fcw + (size_t)l * C * 4 * C, BT, C, 4 * C);
        ops_layernorm_backward(g.dres, dp.ln2w + l * C, dp.ln2b + l * C, g.dln, res2,
                               p->ln2w + l * C, a->ln2_mean + l * BT, a->ln2_rstd + l * BT,
                               BT, C);
        /* attention sub-block, res2 = x + attproj(attn(ln1(x))): now dres = d res2 */
        ops_matmul_backward(g.dz, dp.attprojw + (size_t)l * C * C, dp.attprojb + l * C, g.dres,
                            zin, p->attprojw + (size_t)l * C * C, BT, C, C);
        attention_layer_backward(m, l, &g);
        split_heads_backward(m, &g);
        ops_matmul_backward(g.dln, dp.qkvw + (size_t)l * C * 3 * C, dp.qkvb + l * 3 * C,
                            g.dqkv, ln1, p->qkvw + (size_t)l * C * 3 * C, BT, C, 3 * C);
        ops_layernorm_backward(g.dres, dp.ln1w + l * C, dp.ln1b + l * C, g.dln, x,
                               p->ln1w + l * C, a->ln1_mean + l * BT, a->ln1_rstd + l * BT,
                               BT, C);
    }
    embed_backward(m, tokens, g.dres, &dp);   /* dres is now d encoded */
}
