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
    int hs = m->cfg.n_embd / m->cfg.n_head;
    if (T > m->rope_T) {
        free(m->rope_table);
        m->rope_table = avz_xmalloc(sizeof(float) * (size_t)T * hs);
        posenc_rope_table(m->rope_table, T, hs, m->cfg.rope_theta, 0);
        m->rope_T = T;
    }
    return m->rope_table;
}

/* Head h of batch row b: its columns of qkv (T rows of 3C) into qh, kh, vh (T, hs)
 * each; RoPE (cs: rope_table, or NULL for none) rotates q and k. Done per head right
 * before the head's attention, so that what attention reads is still in the L1 cache. */
static AVZ_HOT void split_head(const float *qkv, int b, int h, int T, int C, int hs,
                               const float *cs, float *qh, float *kh, float *vh) {
    for (int t = 0; t < T; t++) {
        const float *row = qkv + ((size_t)b * T + t) * 3 * C + h * hs;
        avz_copy_row(qh + (size_t)t * hs, row, hs);
        avz_copy_row(kh + (size_t)t * hs, row + C, hs);
        avz_copy_row(vh + (size_t)t * hs, row + 2 * C, hs);
    }
    if (cs) {
        posenc_rope_apply_table(qh, T, hs, cs, +1);
        posenc_rope_apply_table(kh, T, hs, cs, +1);
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
 * (split into q, k, v per head first, split_head), writing its head's slice
 * of z (B, T, C) and its row log-sum-exps. Flash runs the fast kernel (one thread per
 * head); attn_flash in attention.c is its readable reference. A short text keeps P
 * (m->p_kept) instead: the same result, and capture needs no recomputation. */
static void attention_layer(Model *m, int l, int B, int T, AttnKind kind, int use_position) {
    int C = m->cfg.n_embd, NH = m->cfg.n_head, hs = C / NH;
    size_t BT = (size_t)B * T, kept = attn_keep_rows(T) * attn_keep_ld(T);
    float *q = m->acts.q + l * BT * C, *k = m->acts.k + l * BT * C, *v = m->acts.v + l * BT * C;
    float *z = m->acts.z + l * BT * C, *lse = m->acts.lse + l * NH * BT;
    float *att = kind == ATTN_NAIVE ? m->att + (size_t)l * B * NH * T * T : NULL;
    float *pk = m->kept ? m->p_kept + (size_t)l * B * NH * kept : NULL;
    const float *qkv = m->acts.qkv + l * BT * 3 * C;
    const float *cs = use_position && m->cfg.pe == PE_ROPE ? rope_table(m, T) : NULL;
    /* threads only when the work pays for waking them (about 4 MFLOP) */
    int par = (double)B * NH * T * T * hs > 1e6;
#pragma omp parallel for collapse(2) schedule(dynamic) if (par)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            AttnShape s = {T, hs, 1.0f / sqrtf((float)hs),
                           use_position ? m->alibi_slopes[h] : 0.0f, 1, C};
            size_t bh = (size_t)b * NH + h;
            float *qh = q + bh * T * hs, *kh = k + bh * T * hs, *vh = v + bh * T * hs;
            split_head(qkv, b, h, T, C, hs, cs, qh, kh, vh);
            float *out = z + (size_t)b * T * C + h * hs;
            if (att) attn_naive(&s, qh, kh, vh, att + bh * T * T, out, lse + bh * T);
            else if (pk) attn_fast_keep(&s, qh, kh, vh, out, lse + bh * T, pk + bh * kept);
            else attn_flash_fast(&s, qh, kh, vh, out, lse + bh * T);   /* attention_fast.c */
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
    int C = m->cfg.n_embd, NH = m->cfg.n_head, hs = C / NH;
    size_t BT = (size_t)B * T;
    const float *z = m->acts.z + l * BT * C;
    float *zin = m->acts.zin + l * BT * C;
    if (!m->ablated) return z;
    memcpy(zin, z, sizeof(float) * BT * C);
    for (int h = 0; h < NH; h++) {
        if (!o->ablate[l * NH + h]) continue;
        for (int b = 0; b < B; b++) {
            float mean[AVZ_MAX_HS] = {0};
            if (o->ablate_mode == ABLATE_MEAN) {
                for (int t = 0; t < T; t++)
                    for (int d = 0; d < hs; d++) mean[d] += z[((size_t)b * T + t) * C + h * hs + d];
                for (int d = 0; d < hs; d++) mean[d] /= T;
            }
            for (int t = 0; t < T; t++)
                memcpy(zin + ((size_t)b * T + t) * C + h * hs, mean, sizeof(float) * hs);
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

    embed(m, tokens, B, T, use_pos);
    const float *x = a->encoded;                           /* (B, T, C) residual stream */
    for (int l = 0; l < L; l++) {
        float *ln1 = a->ln1 + l * BT * C, *qkv = a->qkv + l * BT * 3 * C;
        float *res2 = a->residual2 + l * BT * C, *ln2 = a->ln2 + l * BT * C;
        float *fch = a->fch + l * BT * 4 * C, *fchg = a->fch_gelu + l * BT * 4 * C;
        float *attproj = a->attproj + l * BT * C, *fcproj = a->fcproj + l * BT * C;
        float *res3 = a->residual3 + l * BT * C;
        /* attention sub-block: x + c_proj(attn(LN(x))) */
        ops_layernorm(ln1, a->ln1_mean + l * BT, a->ln1_rstd + l * BT, x,
                      p->ln1w + l * C, p->ln1b + l * C, BT, C, c->layer_norm_epsilon);
        linear(qkv, ln1, p->qkvw + (size_t)l * C * 3 * C, wc ? &wc->qkv[l] : NULL,
               p->qkvb + l * 3 * C, BT, C, 3 * C);
        attention_layer(m, l, B, T, o->attn, use_pos);
        const float *zin = ablate_heads(m, l, B, T, o);
        linear(attproj, zin, p->attprojw + (size_t)l * C * C,
               wc ? &wc->attproj[l] : NULL, p->attprojb + l * C, BT, C, C);
        /* MLP sub-block: x + c_proj(gelu(c_fc(LN(x)))), its x = res2 = x + attproj
         * (the residual add and the LayerNorm in one pass over the rows) */
        ops_add_layernorm(res2, ln2, a->ln2_mean + l * BT, a->ln2_rstd + l * BT, x, attproj,
                          p->ln2w + l * C, p->ln2b + l * C, BT, C, c->layer_norm_epsilon);
        linear(fch, ln2, p->fcw + (size_t)l * C * 4 * C, wc ? &wc->fc[l] : NULL,
               p->fcb + l * 4 * C, BT, C, 4 * C);
        ops_gelu(fchg, fch, BT * 4 * C);
        linear(fcproj, fchg, p->fcprojw + (size_t)l * 4 * C * C, wc ? &wc->fcproj[l] : NULL,
               p->fcprojb + l * C, BT, 4 * C, C);
        ops_add(res3, res2, fcproj, BT * C);
        x = res3;
    }
    ops_layernorm(a->lnf, a->lnf_mean, a->lnf_rstd, x, p->lnfw, p->lnfb, BT, C,
                  c->layer_norm_epsilon);
    if (wc) ops_matmul_packed(a->logits, a->lnf, &wc->lm_head, NULL, BT);   /* tied LM head */
    else ops_matmul_wt(a->logits, a->lnf, p->wte, BT, C, V);

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

void model_capture(const Model *m, int layer, int head, int b, float *out) {
    int T = m->T, NH = m->cfg.n_head, C = m->cfg.n_embd, hs = C / NH;
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
    AttnShape s = {T, hs, 1.0f / sqrtf((float)hs),
                   m->no_position ? 0.0f : m->alibi_slopes[head], 1, hs};
    const float *q = m->acts.q + layer * BT * C + bh * T * hs;
    const float *k = m->acts.k + layer * BT * C + bh * T * hs;
    const float *lse = m->acts.lse + layer * NH * BT + bh * T;
    attn_capture_rows_fast(&s, q, k, lse, 0, T, out);
}

void model_capture_all(const Model *m, int b, float *out) {
    int L = m->cfg.n_layer, NH = m->cfg.n_head;
    size_t TT = (size_t)m->T * m->T;
    int par = (double)L * NH * TT * (m->cfg.n_embd / NH) > 1e6;   /* worth waking threads */
#pragma omp parallel for collapse(2) schedule(dynamic) if (par)
    for (int l = 0; l < L; l++)
        for (int h = 0; h < NH; h++) model_capture(m, l, h, b, out + ((size_t)l * NH + h) * TT);
}
