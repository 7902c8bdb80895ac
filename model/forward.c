/* forward.c: the CPU forward pass of the model, and attention capture.
 *
 * Read model_forward top to bottom: it is the transformer. Every intermediate
 * result is kept in m->acts so that (1) the visualizer can show and recompute any
 * attention map, and (2) the trainer's backward pass can reuse them. */
#include <math.h>
#include <string.h>

#include "attention.h"
#include "model.h"
#include "ops.h"
#include "posenc.h"

float model_embed_scale(const ModelConfig *cfg) {
    return cfg->pe == PE_SINUSOIDAL ? sqrtf((float)cfg->n_embd) : 1.0f;
}

/* x = wte[token] (+ the position vector for the additive encodings). */
static void embed(Model *m, const int *tokens, int B, int T, int use_position) {
    int C = m->cfg.n_embd;
    float scale = model_embed_scale(&m->cfg);
    const float *pos = NULL;
    if (use_position && m->cfg.pe == PE_LEARNED) pos = m->params.wpe;
    if (use_position && m->cfg.pe == PE_SINUSOIDAL) pos = m->sin_table;
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            float *x = m->acts.encoded + ((size_t)b * T + t) * C;
            const float *e = m->params.wte + (size_t)tokens[b * T + t] * C;
            for (int i = 0; i < C; i++) x[i] = scale * e[i] + (pos ? pos[(size_t)t * C + i] : 0.0f);
        }
    }
}

/* RoPE's cosines and sines depend on (position, pair) only: computed once per model
 * for the longest text seen so far, then reused (a table for more positions starts
 * with the same rows). */
static const float *rope_table(Model *m, int T) {
    int hd = m->cfg.head_dim;
    if (m->rope_pos) {                 /* this pass's own positions (training only) */
        if (T > m->rope_pos_T) {
            free(m->rope_pos_table);
            m->rope_pos_table = avz_xmalloc(sizeof(float) * (size_t)T * hd);
            m->rope_pos_T = T;
        }
        posenc_rope_table_at(m->rope_pos_table, m->rope_pos, T, hd, m->cfg.rope_theta);
        return m->rope_pos_table;
    }
    if (T > m->rope_T) {
        free(m->rope_table);
        m->rope_table = avz_xmalloc(sizeof(float) * (size_t)T * hd);
        posenc_rope_table(m->rope_table, T, hd, m->cfg.rope_theta, 0);
        m->rope_T = T;
    }
    return m->rope_table;
}

/* Where a head's columns lie in a row of the q, k, v product (QKV floats: [q | k | v],
 * query head h at h*hd, key/value head g at koff + g*hd and voff + g*hd). */
typedef struct {
    int ld, hd, koff, voff;
} QkvCols;

/* Query head h of batch row b: its columns of qkv (T rows) into qh (T, hd), and when kh
 * is not NULL those of its key/value head g into kh and vh (T, hd) too (a key/value head
 * serves NH / NKV query heads: split once, for the first of them). RoPE (cs: rope_table,
 * or NULL for none) rotates q and k. Done per head right before the head's attention, so
 * that what attention reads is still in the L1 cache. */
static AVZ_HOT void split_head(const float *qkv, QkvCols qc, int b, int h, int g, int T,
                               const float *cs, float *qh, float *kh, float *vh) {
    int hd = qc.hd;
    for (int t = 0; t < T; t++) {
        const float *row = qkv + ((size_t)b * T + t) * qc.ld;
        avz_copy_row(qh + (size_t)t * hd, row + h * hd, hd);
        if (!kh) continue;
        avz_copy_row(kh + (size_t)t * hd, row + qc.koff + g * hd, hd);
        avz_copy_row(vh + (size_t)t * hd, row + qc.voff + g * hd, hd);
    }
    if (cs) {
        posenc_rope_apply_table(qh, T, hd, cs, +1);
        if (kh) posenc_rope_apply_table(kh, T, hd, cs, +1);
    }
}

/* A flash pass keeps every probability (attn_fast_keep) when the text is short: up to
 * this many tokens, and this much memory for all of them. Past that, flash proper. */
#define KEEP_MAX_T 256
#define KEEP_MAX_BYTES (16u << 20)

static int keeps_probs(const Model *m, AttnKind kind, int B, int T) {
    size_t n = (size_t)m->cfg.n_layer * B * m->cfg.n_head * attn_keep_rows(T) * attn_keep_ld(T);
    return kind == ATTN_FLASH && T <= KEEP_MAX_T && n * sizeof(float) <= KEEP_MAX_BYTES;
}

/* The attention of one layer: every (b, h) independently, from its columns of qkv
 * (split into q, k, v per head first, split_head), writing its head's slice of z
 * (B, T, A) and its row log-sum-exps. Grouped-query attention: the NH / NKV query heads
 * of key/value head g run one after another on the same k and v. Flash runs the fast
 * kernel (one thread per key/value head); attn_flash in attention.c is its readable
 * reference. A short text keeps P (m->p_kept) instead: the same result, and capture
 * needs no recomputation. */
static void attention_layer(Model *m, int l, int B, int T, AttnKind kind, int use_position) {
    const ModelConfig *c = &m->cfg;
    int NH = c->n_head, NKV = c->n_kv_head, hd = c->head_dim, group = NH / NKV;
    int A = config_attn_dim(c), KV = NKV * hd;
    QkvCols qc = {config_qkv_dim(c), hd, A, A + KV};
    size_t BT = (size_t)B * T, kept = attn_keep_rows(T) * attn_keep_ld(T);
    float *q = m->acts.q + l * BT * A, *k = m->acts.k + l * BT * KV, *v = m->acts.v + l * BT * KV;
    float *z = m->acts.z + l * BT * A, *lse = m->acts.lse + l * NH * BT;
    float *att = kind == ATTN_NAIVE ? m->att + (size_t)l * B * NH * T * T : NULL;
    float *pk = m->kept ? m->p_kept + (size_t)l * B * NH * kept : NULL;
    const float *qkv = m->acts.qkv + l * BT * qc.ld;
    const float *cs = use_position && c->pe == PE_ROPE ? rope_table(m, T) : NULL;
    /* threads only when the work pays for waking them (about 4 MFLOP) */
    int par = (double)B * NH * T * T * hd > 1e6;
#pragma omp parallel for collapse(2) schedule(dynamic) if (par)
    for (int b = 0; b < B; b++) {
        for (int g = 0; g < NKV; g++) {
            float *kh = k + ((size_t)b * NKV + g) * T * hd, *vh = v + ((size_t)b * NKV + g) * T * hd;
            for (int j = 0; j < group; j++) {
                int h = g * group + j;
                AttnShape s = {T, hd, 1.0f / sqrtf((float)hd),
                               use_position ? m->alibi_slopes[h] : 0.0f, 1, A};
                size_t bh = (size_t)b * NH + h;
                float *qh = q + bh * T * hd;
                split_head(qkv, qc, b, h, g, T, cs, qh, j == 0 ? kh : NULL, vh);
                float *out = z + (size_t)b * T * A + h * hd;
                if (att) attn_naive(&s, qh, kh, vh, att + bh * T * T, out, lse + bh * T);
                else if (pk) attn_fast_keep(&s, qh, kh, vh, out, lse + bh * T, pk + bh * kept);
                else attn_flash_fast(&s, qh, kh, vh, out, lse + bh * T);   /* attention_fast.c */
            }
        }
    }
}

/* Does this pass switch off any head? */
static int any_ablated(const Model *m, const ForwardOpts *o) {
    for (int i = 0; o->ablate && i < m->cfg.n_layer * m->cfg.n_head; i++)
        if (o->ablate[i]) return 1;
    return 0;
}

/* Head ablation: zin = z, except that a switched-off head's slice is zeroed
 * ("zero") or replaced by its mean over the text's positions ("mean"). This acts on
 * the head's own output before c_proj mixes the heads, so it removes exactly that
 * head and leaves every bias alone. Returns what c_proj reads: zin, or z itself when
 * no head is switched off (then zin is not written: a copy for nothing). */
static const float *ablate_heads(Model *m, int l, int B, int T, const ForwardOpts *o) {
    int NH = m->cfg.n_head, hd = m->cfg.head_dim, A = config_attn_dim(&m->cfg);
    size_t BT = (size_t)B * T;
    const float *z = m->acts.z + l * BT * A;
    float *zin = m->acts.zin + l * BT * A;
    if (!m->ablated) return z;
    memcpy(zin, z, sizeof(float) * BT * A);
    for (int h = 0; h < NH; h++) {
        if (!o->ablate[l * NH + h]) continue;
        for (int b = 0; b < B; b++) {
            float mean[AVZ_MAX_HS] = {0};
            if (o->ablate_mode == ABLATE_MEAN) {
                for (int t = 0; t < T; t++)
                    for (int d = 0; d < hd; d++) mean[d] += z[((size_t)b * T + t) * A + h * hd + d];
                for (int d = 0; d < hd; d++) mean[d] /= T;
            }
            for (int t = 0; t < T; t++)
                memcpy(zin + ((size_t)b * T + t) * A + h * hd, mean, sizeof(float) * hd);
        }
    }
    return zin;
}

/* out (N, OC) = x (N, C) @ w + b, by the packed copy of w when the weight cache has one
 * (the same bits either way). */
static void linear(float *out, const float *x, const float *w, const GemmPackedB *packed,
                   const float *b, int N, int C, int OC) {
    if (packed) ops_matmul_packed(out, x, packed, b, N);
    else ops_matmul(out, x, w, b, N, C, OC);
}

/* A layer's bias, or NULL when the model's linear layers of that kind have none. */
static const float *bias_of(const ModelConfig *c, unsigned kind, const float *b) {
    return (c->bias & kind) ? b : NULL;
}

/* sum = x + add (when add is not NULL), then out = Norm(sum, or x): the model's norm,
 * LayerNorm (mean and rstd saved) or RMSNorm (rstd saved, no mean, no bias). */
static void add_norm(const ModelConfig *c, float *sum, float *out, float *mean, float *rstd,
                     const float *x, const float *add, const float *w, const float *b, int N) {
    if (c->norm == NORM_RMS) ops_add_rmsnorm(sum, out, rstd, x, add, w, N, c->n_embd,
                                             c->layer_norm_epsilon);
    else ops_add_layernorm(sum, out, mean, rstd, x, add, w, b, N, c->n_embd,
                           c->layer_norm_epsilon);
}

AvzCode model_check_input(const Model *m, const int *tokens, int B, int T, char *err) {
    int max = config_max_len(&m->cfg);
    if (B < 1 || T < 1) return avz_fail(err, AVZ_ERR_INPUT, "empty input (B=%d, T=%d)", B, T);
    if (T > max)
        return avz_fail(err, AVZ_ERR_INPUT, "text is %d tokens long; this %s model accepts at "
                        "most %d", T, pe_name(m->cfg.pe), max);
    for (int i = 0; i < B * T; i++)
        if (tokens[i] < 0 || tokens[i] >= m->cfg.vocab_size)
            return avz_fail(err, AVZ_ERR_INPUT, "token id %d at position %d is outside the "
                            "vocabulary (0..%d)", tokens[i], i, m->cfg.vocab_size - 1);
    return AVZ_OK;
}

AvzCode model_forward(Model *m, const int *tokens, const int *targets, int B, int T,
                      const ForwardOpts *opts, char *err) {
    AvzCode rc = model_check_input(m, tokens, B, T, err);
    if (rc) return rc;
    ForwardOpts defaults = {0};
    const ForwardOpts *o = opts ? opts : &defaults;
    const ModelConfig *c = &m->cfg;
    int L = c->n_layer, C = c->n_embd, NH = c->n_head, V = c->vocab_size;
    size_t BT = (size_t)B * T;
    int use_pos = !o->no_position;
    model_ensure_acts(m, B, T);
    if (o->attn == ATTN_NAIVE) {
        size_t need = (size_t)L * B * NH * T * T;
        if (need > m->att_cap) {
            free(m->att);
            m->att = avz_xmalloc(sizeof(float) * need);
            m->att_cap = need;
        }
    }
    m->kept = keeps_probs(m, o->attn, B, T);
    if (m->kept) {
        size_t need = (size_t)L * B * NH * attn_keep_rows(T) * attn_keep_ld(T);
        if (need > m->p_kept_cap) {   /* rows start on a cache line: ld is a multiple of 16 */
            free(m->p_kept);
            m->p_kept = aligned_alloc(64, (sizeof(float) * need + 63) / 64 * 64);
            AVZ_ASSERT(m->p_kept);
            m->p_kept_cap = need;
        }
    }
    ParamTensors *p = &m->params;
    ActTensors *a = &m->acts;
    m->ablated = any_ablated(m, o);
    const ModelWeightCache *wc = model_weight_cache(m);   /* NULL: multiply unpacked */

    int QKV = config_qkv_dim(c), A = config_attn_dim(c), F = c->n_inner, U = config_up_dim(c);
    /* A pass that starts at layer l0 > 0 reuses the residual stream the last pass left
     * after layer l0 - 1: layers below an ablated head compute what they computed before. */
    int l0 = o->first_layer > 0 && o->first_layer < L && m->B == B && m->T == T ? o->first_layer : 0;
    const float *x = a->encoded;                           /* (B, T, C) residual stream */
    if (l0 == 0) embed(m, tokens, B, T, use_pos);
    else x = a->residual3 + (size_t)(l0 - 1) * BT * C;
    for (int l = l0; l < L; l++) {
        float *ln1 = a->ln1 + l * BT * C, *qkv = a->qkv + l * BT * QKV;
        float *res2 = a->residual2 + l * BT * C, *ln2 = a->ln2 + l * BT * C;
        float *fch = a->fch + l * BT * U, *fchg = a->fch_gelu + l * BT * F;
        float *attproj = a->attproj + l * BT * C, *fcproj = a->fcproj + l * BT * C;
        float *res3 = a->residual3 + l * BT * C;
        /* attention sub-block: x + c_proj(attn(Norm(x))) */
        add_norm(c, NULL, ln1, a->ln1_mean + l * BT, a->ln1_rstd + l * BT, x, NULL,
                 p->ln1w + l * C, p->ln1b + l * C, BT);
        linear(qkv, ln1, p->qkvw + (size_t)l * C * QKV, wc ? &wc->qkv[l] : NULL,
               bias_of(c, BIAS_QKV, p->qkvb + l * QKV), BT, C, QKV);
        attention_layer(m, l, B, T, o->attn, use_pos);
        const float *zin = ablate_heads(m, l, B, T, o);
        linear(attproj, zin, p->attprojw + (size_t)l * A * C, wc ? &wc->attproj[l] : NULL,
               bias_of(c, BIAS_O, p->attprojb + l * C), BT, A, C);
        /* MLP sub-block: x + down(act(up(Norm(x)))), its x = res2 = x + attproj
         * (the residual add and the norm in one pass over the rows) */
        add_norm(c, res2, ln2, a->ln2_mean + l * BT, a->ln2_rstd + l * BT, x, attproj,
                 p->ln2w + l * C, p->ln2b + l * C, BT);
        linear(fch, ln2, p->fcw + (size_t)l * C * U, wc ? &wc->fc[l] : NULL,
               bias_of(c, BIAS_MLP, p->fcb + l * U), BT, C, U);
        if (c->mlp == MLP_SWIGLU) ops_swiglu(fchg, fch, BT, F);   /* silu(gate) * up */
        else ops_gelu(fchg, fch, BT * F);
        linear(fcproj, fchg, p->fcprojw + (size_t)l * F * C, wc ? &wc->fcproj[l] : NULL,
               bias_of(c, BIAS_MLP, p->fcprojb + l * C), BT, F, C);
        ops_add(res3, res2, fcproj, BT * C);
        x = res3;
    }
    add_norm(c, NULL, a->lnf, a->lnf_mean, a->lnf_rstd, x, NULL, p->lnfw, p->lnfb, BT);
    /* the LM head: wte (tied) or lm_head, both (V, C), read transposed */
    if (wc) ops_matmul_packed(a->logits, a->lnf, &wc->lm_head, NULL, BT);
    else ops_matmul_wt(a->logits, a->lnf, c->untied ? p->lm_head : p->wte, BT, C, V);

    m->B = B;
    m->T = T;
    m->last_attn = o->attn;
    m->no_position = o->no_position;
    m->mean_loss = targets ? ops_crossentropy(m->losses, a->logits, targets, BT, V) : -1.0f;
    m->has_losses = targets != NULL;
    m->probs_valid = 0;
    return AVZ_OK;
}

const float *model_losses(const Model *m) { return m->has_losses ? m->losses : NULL; }

const float *model_probs(Model *m) {
    size_t n = (size_t)m->B * m->T * m->cfg.vocab_size;
    if (!m->probs || n > m->probs_cap) {
        free(m->probs);
        m->probs = avz_xmalloc(sizeof(float) * n);
        m->probs_cap = n;
        m->probs_valid = 0;
    }
    if (!m->probs_valid) ops_softmax(m->probs, m->acts.logits, m->B * m->T, m->cfg.vocab_size);
    m->probs_valid = 1;
    return m->probs;
}

int model_kv_head(const ModelConfig *c, int h) { return h / (c->n_head / c->n_kv_head); }

const float *model_head_q(const Model *m, int l, int b, int h) {
    const ModelConfig *c = &m->cfg;
    size_t BT = (size_t)m->B * m->T, hd = c->head_dim;
    return m->acts.q + l * BT * config_attn_dim(c) + ((size_t)b * c->n_head + h) * m->T * hd;
}

const float *model_head_k(const Model *m, int l, int b, int h) {
    const ModelConfig *c = &m->cfg;
    size_t BT = (size_t)m->B * m->T, hd = c->head_dim, KV = (size_t)c->n_kv_head * hd;
    return m->acts.k + l * BT * KV + ((size_t)b * c->n_kv_head + model_kv_head(c, h)) * m->T * hd;
}

const float *model_head_v(const Model *m, int l, int b, int h) {
    return m->acts.v + (model_head_k(m, l, b, h) - m->acts.k);
}

void model_capture(const Model *m, int layer, int head, int b, float *out) {
    int T = m->T, NH = m->cfg.n_head, hd = m->cfg.head_dim;
    AVZ_ASSERT(layer >= 0 && layer < m->cfg.n_layer && head >= 0 && head < NH);
    AVZ_ASSERT(b >= 0 && b < m->B);
    size_t BT = (size_t)m->B * T, bh = (size_t)b * NH + head;
    if (m->last_attn == ATTN_NAIVE) {   /* the naive pass kept P: copy it */
        memcpy(out, m->att + ((size_t)layer * m->B * NH + bh) * T * T, sizeof(float) * T * T);
        return;
    }
    if (m->kept) {                      /* so did a short flash pass, in rows of ld floats */
        size_t ld = attn_keep_ld(T), rows = attn_keep_rows(T);
        const float *P = m->p_kept + ((size_t)layer * m->B * NH + bh) * rows * ld;
        if (ld == (size_t)T) memcpy(out, P, sizeof(float) * T * T);
        else
            for (int i = 0; i < T; i++) memcpy(out + (size_t)i * T, P + i * ld, sizeof(float) * T);
        return;
    }
    /* flash proper: recompute P from the head's q, the keys of its key/value head and
     * the saved log-sum-exps */
    AttnShape s = {T, hd, 1.0f / sqrtf((float)hd),
                   m->no_position ? 0.0f : m->alibi_slopes[head], 1, hd};
    const float *lse = m->acts.lse + layer * NH * BT + bh * T;
    attn_capture_rows_fast(&s, model_head_q(m, layer, b, head), model_head_k(m, layer, b, head),
                           lse, 0, T, out);
}

void model_capture_all(const Model *m, int b, float *out) {
    int L = m->cfg.n_layer, NH = m->cfg.n_head;
    size_t TT = (size_t)m->T * m->T;
    int par = (double)L * NH * TT * m->cfg.head_dim > 1e6;   /* worth waking threads */
#pragma omp parallel for collapse(2) schedule(dynamic) if (par)
    for (int l = 0; l < L; l++)
        for (int h = 0; h < NH; h++) model_capture(m, l, h, b, out + ((size_t)l * NH + h) * TT);
}
