/* teach.c: the computations behind the teaching views (see teach.h for the lessons).
 *
 * Each function works from the real model: its position tables, its weights, the
 * activations of its last forward pass, and the same attention kernels the model
 * runs. The flash trace is attn_flash (attention.c) written so that it can stop after
 * any tile and show its state. */
#include "teach.h"

#include <math.h>
#include <string.h>

#include "attention.h"
#include "posenc.h"

static int head_size(const Model *m) { return m->cfg.head_dim; }

/* ---- 1. Position view ------------------------------------------------------------- */

/* Why an encoding has no vector to show, or NULL if it has one. */
static const char *no_vector_reason(PosEncoding pe) {
    switch (pe) {
    case PE_NONE: return "adds nothing: the model has no position information at all";
    case PE_ROPE: return "rotates q and k instead of adding a vector to the embedding";
    case PE_ALIBI: return "subtracts a distance penalty from each score instead of adding a "
                          "vector to the embedding";
    default: return NULL;
    }
}

/* The (rows, C) table the model adds, and how many rows it has. */
static const float *position_table(const Model *m, int *rows) {
    if (m->cfg.pe == PE_LEARNED) {
        *rows = m->cfg.n_positions;
        return m->params.wpe;
    }
    *rows = config_max_len(&m->cfg);   /* the sinusoidal table covers every accepted T */
    return m->sin_table;
}

AvzCode teach_position_vectors(const Model *m, int T, float *out, char *err) {
    const char *name = pe_name(m->cfg.pe), *why = no_vector_reason(m->cfg.pe);
    if (why) return avz_fail(err, AVZ_ERR_INPUT, "%s %s", name, why);
    int rows;
    const float *table = position_table(m, &rows);
    if (T < 1 || T > rows)
        return avz_fail(err, AVZ_ERR_INPUT, "the %s table has positions 0..%d; asked for %d",
                        name, rows - 1, T);
    memcpy(out, table, sizeof(float) * (size_t)T * m->cfg.n_embd);
    return AVZ_OK;
}

void teach_rope_angles(const Model *m, int T, float *out) {
    int hs = head_size(m), half = hs / 2;
    const double two_pi = 6.283185307179586;
    for (int p = 0; p < T; p++)
        for (int i = 0; i < half; i++) {
            double a = fmod(posenc_rope_angle(p, i, hs, m->cfg.rope_theta), two_pi);
            out[(size_t)p * half + i] = (float)a;
        }
}

void teach_alibi_bias(const Model *m, int head, int T, float *out) {
    AVZ_ASSERT(head >= 0 && head < m->cfg.n_head);
    float slope = m->alibi_slopes[head];
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++)
            out[(size_t)i * T + j] = j <= i ? -slope * (float)(i - j) : 0.0f;
}

/* dot and cosine of every pair of rows of p (T, n); either output may be NULL. */
static void pairwise_similarity(const float *p, int T, int n, float *dot, float *cos) {
    for (int i = 0; i < T; i++) {
        for (int j = 0; j < T; j++) {
            double d = 0, ni = 0, nj = 0;
            for (int c = 0; c < n; c++) {
                d += (double)p[(size_t)i * n + c] * p[(size_t)j * n + c];
                ni += (double)p[(size_t)i * n + c] * p[(size_t)i * n + c];
                nj += (double)p[(size_t)j * n + c] * p[(size_t)j * n + c];
            }
            if (dot) dot[(size_t)i * T + j] = (float)d;
            if (cos) cos[(size_t)i * T + j] = ni > 0 && nj > 0 ? (float)(d / sqrt(ni * nj)) : 0.0f;
        }
    }
}

AvzCode teach_position_similarity(const Model *m, int T, float *dot, float *cos, char *err) {
    if (m->cfg.pe == PE_ROPE) {
        /* R_t u for t = 0..T-1: the rotation itself, made visible on a fixed vector */
        if (T < 1 || T > AVZ_MAX_T)
            return avz_fail(err, AVZ_ERR_INPUT, "rope: T = %d is outside 1..%d", T, AVZ_MAX_T);
        int hs = head_size(m);
        float *u = avz_xmalloc(sizeof(float) * (size_t)T * hs);
        for (size_t i = 0; i < (size_t)T * hs; i++) u[i] = 1.0f / sqrtf((float)hs);
        posenc_rope_apply(u, T, hs, m->cfg.rope_theta, 0, +1);
        pairwise_similarity(u, T, hs, dot, cos);
        free(u);
        return AVZ_OK;
    }
    if (m->cfg.pe == PE_ALIBI)
        return avz_fail(err, AVZ_ERR_INPUT, "alibi has no vector per position: it biases each "
                        "score by distance (see the bias map)");
    float *p = avz_xmalloc(sizeof(float) * (size_t)(T > 0 ? T : 1) * m->cfg.n_embd);
    AvzCode rc = teach_position_vectors(m, T, p, err);
    if (rc == AVZ_OK) pairwise_similarity(p, T, m->cfg.n_embd, dot, cos);
    free(p);
    return rc;
}

void teach_rope_score_vs_distance(const Model *m, const float *q, const float *k, int D,
                                  float *out) {
    int hs = head_size(m);
    float *kd = avz_xmalloc(sizeof(float) * hs);
    for (int d = 0; d < D; d++) {
        /* rotating both by their positions leaves q . R_(-d) k: rotate k back by d */
        memcpy(kd, k, sizeof(float) * hs);
        posenc_rope_apply(kd, 1, hs, m->cfg.rope_theta, d, -1);
        float s = 0.0f;
        for (int c = 0; c < hs; c++) s += q[c] * kd[c];
        out[d] = s;
    }
    free(kd);
}

void teach_head_qk(const Model *m, int layer, int head, int qpos, int kpos, float *q,
                   float *k) {
    int hs = head_size(m), QKV = config_qkv_dim(&m->cfg), A = config_attn_dim(&m->cfg);
    AVZ_ASSERT(layer >= 0 && layer < m->cfg.n_layer && head >= 0 && head < m->cfg.n_head);
    AVZ_ASSERT(qpos >= 0 && qpos < m->T && kpos >= 0 && kpos < m->T);
    /* qkv is (L, B, T, QKV): columns [q | k | v], query head h at h * hs, its key/value
     * head g at A + g * hs */
    const float *qkv = m->acts.qkv + (size_t)layer * m->B * m->T * QKV;
    int g = model_kv_head(&m->cfg, head);
    memcpy(q, qkv + (size_t)qpos * QKV + head * hs, sizeof(float) * hs);
    memcpy(k, qkv + (size_t)kpos * QKV + A + g * hs, sizeof(float) * hs);
}

/* ---- 2. Permutation demo ---------------------------------------------------------- */

AvzCode teach_layer0_scores(Model *m, const int *ids, int T, int no_position, float *S,
                            char *err) {
    ForwardOpts o = {.no_position = no_position};
    AvzCode rc = model_forward(m, ids, NULL, 1, T, &o, err);
    if (rc) return rc;
    int NH = m->cfg.n_head, hs = head_size(m);
    float scale = 1.0f / sqrtf((float)hs);
    for (int h = 0; h < NH; h++) {
        /* layer 0, batch row 0: the head's (T, hs) queries and keys, RoPE applied */
        const float *q = model_head_q(m, 0, 0, h), *k = model_head_k(m, 0, 0, h);
        float slope = no_position ? 0.0f : m->alibi_slopes[h];
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) {
                float dot = 0.0f;
                for (int c = 0; c < hs; c++) dot += q[(size_t)i * hs + c] * k[(size_t)j * hs + c];
                S[((size_t)h * T + i) * T + j] = dot * scale + attn_alibi_bias(slope, i, j);
            }
    }
    return AVZ_OK;
}

void teach_shuffle(const int *ids, int T, uint64_t seed, int *perm, int *shuffled) {
    AvzRng r;
    avz_rng_init(&r, seed);
    for (int i = 0; i < T; i++) perm[i] = i;
    /* Fisher-Yates: position i takes a random one of the entries not yet placed */
    for (int i = T - 1; i > 0; i--) {
        int j = (int)(avz_rng_u64(&r) % (uint64_t)(i + 1));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    int identity = 1;
    for (int i = 0; i < T && identity; i++) identity = perm[i] == i;
    if (identity && T >= 2) {   /* nothing moved: swap the first two so the demo shows something */
        perm[0] = 1;
        perm[1] = 0;
    }
    for (int i = 0; i < T; i++) shuffled[i] = ids[perm[i]];
}

float teach_permutation_diff(const float *S_orig, const float *S_shuf, const int *perm,
                             int NH, int T) {
    float mx = 0.0f;
    for (int h = 0; h < NH; h++) {
        const float *so = S_orig + (size_t)h * T * T, *ss = S_shuf + (size_t)h * T * T;
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) {
                float d = fabsf(ss[(size_t)i * T + j] - so[(size_t)perm[i] * T + perm[j]]);
                if (d > mx) mx = d;
            }
    }
    return mx;
}

void teach_permutation_free(TeachPermutation *tp) {
    free(tp->ids);
    free(tp->perm);
    free(tp->shuffled);
    free(tp->orig_pos);
    free(tp->shuf_pos);
    free(tp->orig_nopos);
    free(tp->shuf_nopos);
    memset(tp, 0, sizeof *tp);
}

AvzCode teach_permutation_init(TeachPermutation *tp, Model *m, const int *ids, int T,
                               uint64_t seed, char *err) {
    memset(tp, 0, sizeof *tp);
    if (T < 1) return avz_fail(err, AVZ_ERR_INPUT, "the permutation demo needs a text");
    int NH = m->cfg.n_head;
    size_t nS = (size_t)NH * T * T;
    tp->T = T;
    tp->NH = NH;
    tp->ids = avz_xmalloc(sizeof(int) * T);
    tp->perm = avz_xmalloc(sizeof(int) * T);
    tp->shuffled = avz_xmalloc(sizeof(int) * T);
    tp->orig_pos = avz_xmalloc(sizeof(float) * nS);
    tp->shuf_pos = avz_xmalloc(sizeof(float) * nS);
    tp->orig_nopos = avz_xmalloc(sizeof(float) * nS);
    tp->shuf_nopos = avz_xmalloc(sizeof(float) * nS);
    memcpy(tp->ids, ids, sizeof(int) * T);
    teach_shuffle(ids, T, seed, tp->perm, tp->shuffled);
    /* the original sentence with position last, so that the model is left as usual */
    AvzCode rc = teach_layer0_scores(m, tp->shuffled, T, 1, tp->shuf_nopos, err);
    if (!rc) rc = teach_layer0_scores(m, ids, T, 1, tp->orig_nopos, err);
    if (!rc) rc = teach_layer0_scores(m, tp->shuffled, T, 0, tp->shuf_pos, err);
    if (!rc) rc = teach_layer0_scores(m, ids, T, 0, tp->orig_pos, err);
    if (rc) {
        teach_permutation_free(tp);
        return rc;
    }
    tp->diff_nopos = teach_permutation_diff(tp->orig_nopos, tp->shuf_nopos, tp->perm, NH, T);
    tp->diff_pos = teach_permutation_diff(tp->orig_pos, tp->shuf_pos, tp->perm, NH, T);
    return AVZ_OK;
}

/* ---- 3. Flash attention, step by step --------------------------------------------- */

/* One score, exactly as attention.c computes it. */
static float trace_score(const FlashTrace *ft, int i, int j) {
    const float *qi = ft->q + (size_t)i * ft->hs, *kj = ft->k + (size_t)j * ft->hs;
    float dot = 0.0f;
    for (int d = 0; d < ft->hs; d++) dot += qi[d] * kj[d];
    return dot * ft->scale + attn_alibi_bias(ft->slope, i, j);
}

/* Lists the tiles in the algorithm's order; causal skips keys after a block's last query. */
static void trace_plan(FlashTrace *ft) {
    ft->nqb = (ft->T + ft->bq - 1) / ft->bq;
    ft->nkb = (ft->T + ft->bk - 1) / ft->bk;
    ft->step_qb = avz_xmalloc(sizeof(int) * ft->nqb * ft->nkb);
    ft->step_kb = avz_xmalloc(sizeof(int) * ft->nqb * ft->nkb);
    ft->step_of = avz_xmalloc(sizeof(int) * ft->nqb * ft->nkb);
    ft->n_steps = 0;
    for (int qb = 0; qb < ft->nqb; qb++) {
        int q1 = (qb + 1) * ft->bq < ft->T ? (qb + 1) * ft->bq : ft->T;
        int kend = ft->causal ? q1 : ft->T;
        for (int kb = 0; kb < ft->nkb; kb++) {
            int used = kb * ft->bk < kend;
            ft->step_of[qb * ft->nkb + kb] = used ? ft->n_steps : -1;
            if (!used) continue;
            ft->step_qb[ft->n_steps] = qb;
            ft->step_kb[ft->n_steps] = kb;
            ft->n_steps++;
        }
    }
}

/* Back to the start for the rows of query block qb: no scores seen yet. */
static void trace_reset_block(FlashTrace *ft, int qb) {
    int r0 = qb * ft->bq, r1 = r0 + ft->bq < ft->T ? r0 + ft->bq : ft->T;
    for (int i = r0; i < r1; i++) {
        ft->m[i] = -INFINITY;
        ft->l[i] = 0.0f;
        ft->corr[i] = 1.0f;
        ft->lse[i] = 0.0f;
        ft->row_done[i] = 0;
    }
    memset(ft->O + (size_t)r0 * ft->hs, 0, sizeof(float) * (size_t)(r1 - r0) * ft->hs);
    memset(ft->out + (size_t)r0 * ft->hs, 0, sizeof(float) * (size_t)(r1 - r0) * ft->hs);
}

/* Folds keys [k0, k1) into row i: the online softmax update of attention.c's
 * flash_key_block. Sr is the row's slice of the tile's scores. */
static void trace_row(FlashTrace *ft, int i, int k0, int k1, float *Sr) {
    int hs = ft->hs;
    int jend = (ft->causal && i + 1 < k1) ? i + 1 : k1;    /* keys j < jend are visible */
    if (jend <= k0) return;                                 /* the whole tile is masked */
    float blockmax = -INFINITY;
    for (int j = k0; j < jend; j++) {
        Sr[j - k0] = trace_score(ft, i, j);
        if (Sr[j - k0] > blockmax) blockmax = Sr[j - k0];
    }
    /* a larger max makes every earlier term too big by exp(m_new - m_old): shrink them */
    float m_new = blockmax > ft->m[i] ? blockmax : ft->m[i];
    float corr = expf(ft->m[i] - m_new);                    /* 0 on the row's first tile */
    float *O = ft->O + (size_t)i * hs;
    ft->l[i] *= corr;
    for (int d = 0; d < hs; d++) O[d] *= corr;
    for (int j = k0; j < jend; j++) {
        float p = expf(Sr[j - k0] - m_new);
        ft->l[i] += p;
        const float *vj = ft->v + (size_t)j * hs;
        for (int d = 0; d < hs; d++) O[d] += p * vj[d];
    }
    ft->m[i] = m_new;
    ft->corr[i] = corr;
}

/* The block's last tile is done: divide by the sum once, keep the log-sum-exp. */
static void trace_finish_block(FlashTrace *ft, int qb) {
    int r0 = qb * ft->bq, r1 = r0 + ft->bq < ft->T ? r0 + ft->bq : ft->T;
    for (int i = r0; i < r1; i++) {
        float inv = 1.0f / ft->l[i];
        for (int d = 0; d < ft->hs; d++)
            ft->out[(size_t)i * ft->hs + d] = ft->O[(size_t)i * ft->hs + d] * inv;
        ft->lse[i] = ft->m[i] + logf(ft->l[i]);
        ft->row_done[i] = 1;
    }
}

static void trace_clear_tile(FlashTrace *ft) {
    for (int i = 0; i < ft->bq * ft->bk; i++) ft->S[i] = -INFINITY;
}

/* Runs step s, the next one after the state held now. */
static void trace_step(FlashTrace *ft, int s) {
    int qb = ft->step_qb[s], kb = ft->step_kb[s];
    int q0 = qb * ft->bq, q1 = q0 + ft->bq < ft->T ? q0 + ft->bq : ft->T;
    int k0 = kb * ft->bk, k1 = k0 + ft->bk < ft->T ? k0 + ft->bk : ft->T;
    trace_clear_tile(ft);
    for (int i = q0; i < q1; i++) trace_row(ft, i, k0, k1, ft->S + (size_t)(i - q0) * ft->bk);
    if (s + 1 == ft->n_steps || ft->step_qb[s + 1] != qb) trace_finish_block(ft, qb);
    ft->cur = s;
}

void flash_trace_goto(FlashTrace *ft, int s) {
    if (s < -1) s = -1;
    if (s >= ft->n_steps) s = ft->n_steps - 1;
    if (s < ft->cur) {
        /* going back: blocks before s's block are finished either way; s's block is
         * replayed from its first tile, later blocks start over */
        int qb = s >= 0 ? ft->step_qb[s] : 0;
        for (int b = qb; b <= ft->step_qb[ft->cur]; b++) trace_reset_block(ft, b);
        trace_clear_tile(ft);
        ft->cur = s >= 0 ? ft->step_of[qb * ft->nkb] - 1 : -1;
    }
    for (int t = ft->cur + 1; t <= s; t++) trace_step(ft, t);
}

/* max |flash - naive| over the head's output, once, for the view to quote. */
static float trace_check_naive(FlashTrace *ft) {
    int T = ft->T, hs = ft->hs;
    AttnShape sh = {T, hs, ft->scale, ft->slope, ft->causal, hs};
    float *P = avz_xmalloc(sizeof(float) * (size_t)T * T);
    float *ref = avz_xmalloc(sizeof(float) * (size_t)T * hs), *lse = avz_xmalloc(sizeof(float) * T);
    attn_naive(&sh, ft->q, ft->k, ft->v, P, ref, lse);
    flash_trace_goto(ft, ft->n_steps - 1);
    float mx = 0.0f;
    for (size_t i = 0; i < (size_t)T * hs; i++) mx = fmaxf(mx, fabsf(ft->out[i] - ref[i]));
    free(P);
    free(ref);
    free(lse);
    return mx;
}

static float *copy_floats(const float *src, size_t n) {
    float *d = avz_xmalloc(sizeof(float) * n);
    memcpy(d, src, sizeof(float) * n);
    return d;
}

AvzCode flash_trace_init(FlashTrace *ft, const float *q, const float *k, const float *v,
                         int T, int hs, float scale, float slope, int causal, int bq, int bk,
                         char *err) {
    memset(ft, 0, sizeof *ft);
    if (T < 1 || hs < 1 || bq < 1 || bk < 1)
        return avz_fail(err, AVZ_ERR_INPUT, "flash trace: T = %d, hs = %d, tiles %d x %d must "
                        "all be at least 1", T, hs, bq, bk);
    *ft = (FlashTrace){.T = T, .hs = hs, .bq = bq, .bk = bk, .causal = causal != 0,
                       .scale = scale, .slope = slope};
    size_t n = (size_t)T * hs;
    ft->q = copy_floats(q, n);
    ft->k = copy_floats(k, n);
    ft->v = copy_floats(v, n);
    trace_plan(ft);
    ft->m = avz_xmalloc(sizeof(float) * T);
    ft->l = avz_xmalloc(sizeof(float) * T);
    ft->corr = avz_xmalloc(sizeof(float) * T);
    ft->lse = avz_xmalloc(sizeof(float) * T);
    ft->row_done = avz_xmalloc(T);
    ft->O = avz_xmalloc(sizeof(float) * n);
    ft->out = avz_xmalloc(sizeof(float) * n);
    ft->S = avz_xmalloc(sizeof(float) * (size_t)bq * bk);
    for (int b = 0; b < ft->nqb; b++) trace_reset_block(ft, b);
    trace_clear_tile(ft);
    ft->cur = -1;
    ft->max_err = trace_check_naive(ft);
    flash_trace_goto(ft, -1);
    return AVZ_OK;
}

AvzCode flash_trace_init_model(FlashTrace *ft, const Model *m, int layer, int head, int bq,
                               int bk, char *err) {
    memset(ft, 0, sizeof *ft);
    int NH = m->cfg.n_head, hs = head_size(m), T = m->T;
    if (T < 1 || m->B < 1) return avz_fail(err, AVZ_ERR_INPUT, "no forward pass to trace yet");
    if (layer < 0 || layer >= m->cfg.n_layer || head < 0 || head >= NH)
        return avz_fail(err, AVZ_ERR_INPUT, "no head %d.%d in a model of %d layers x %d heads",
                        layer, head, m->cfg.n_layer, NH);
    /* layer, batch row 0, the head (and the keys and values of its key/value head) */
    float slope = m->no_position ? 0.0f : m->alibi_slopes[head];
    return flash_trace_init(ft, model_head_q(m, layer, 0, head), model_head_k(m, layer, 0, head),
                            model_head_v(m, layer, 0, head), T, hs, 1.0f / sqrtf((float)hs),
                            slope, 1, bq, bk, err);
}

void flash_trace_free(FlashTrace *ft) {
    free(ft->step_qb);
    free(ft->step_kb);
    free(ft->step_of);
    free(ft->q);
    free(ft->k);
    free(ft->v);
    free(ft->m);
    free(ft->l);
    free(ft->corr);
    free(ft->O);
    free(ft->S);
    free(ft->out);
    free(ft->lse);
    free(ft->row_done);
    memset(ft, 0, sizeof *ft);
}

size_t teach_naive_bytes(int T) { return sizeof(float) * (size_t)T * T; }

size_t teach_flash_bytes(int T, int hs, int bq, int bk) {
    size_t tile = (size_t)bq * bk + (size_t)bq * hs + 2 * (size_t)bq;   /* S, O, m and l */
    return sizeof(float) * (tile + (size_t)T);                          /* + the lse row */
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median time of up to 5 calls of one kernel (0 the tuned flash, 1 naive, 2 the
 * readable flash); stops early after a second in all. */
static double time_kernel(int which, const AttnShape *s, const float *q, const float *k,
                          const float *v, float *P, float *out, float *lse) {
    double t[5];
    int n = 0;
    double total = 0;
    while (n < 5 && (n < 1 || total < 1.0)) {
        double t0 = avz_now();
        if (which == 1) attn_naive(s, q, k, v, P, out, lse);
        else if (which == 2) attn_flash(s, q, k, v, out, lse);
        else attn_flash_fast(s, q, k, v, out, lse);
        t[n] = avz_now() - t0;
        total += t[n++];
    }
    qsort(t, n, sizeof(double), cmp_double);
    return t[n / 2];
}

void teach_time_attention(const float *q, const float *k, const float *v, int T, int hs,
                          int causal, double *naive_s, double *flash_s, double *fast_s) {
    AttnShape s = {T, hs, 1.0f / sqrtf((float)hs), 0.0f, causal != 0, hs};
    float *P = avz_xmalloc(teach_naive_bytes(T));
    float *out = avz_xmalloc(sizeof(float) * (size_t)T * hs), *lse = avz_xmalloc(sizeof(float) * T);
    *naive_s = time_kernel(1, &s, q, k, v, P, out, lse);
    *flash_s = time_kernel(2, &s, q, k, v, NULL, out, lse);
    if (fast_s) *fast_s = time_kernel(0, &s, q, k, v, NULL, out, lse);
    free(P);
    free(out);
    free(lse);
}
