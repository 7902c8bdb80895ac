/* attention.c: the naive reference and the flash (tiled, online-softmax) attention
 * for one head on the CPU. Read attention.h first for the maths. */
#include "attention.h"

#include <math.h>
#include <string.h>

/* One score: scaled dot product plus the ALiBi bias. */
static float score(const AttnShape *s, const float *qi, const float *kj, int i, int j) {
    float dot = 0.0f;
    for (int d = 0; d < s->hs; d++) dot += qi[d] * kj[d];
    return dot * s->scale + attn_alibi_bias(s->slope, i, j);
}

void attn_naive(const AttnShape *s, const float *q, const float *k, const float *v,
                float *P, float *out, float *lse) {
    int T = s->T, hs = s->hs;
    for (int i = 0; i < T; i++) {
        float *Pi = P + (size_t)i * T;
        int jmax = s->causal ? i : T - 1;   /* last key this query may see */
        /* pass 1: scores and their max (subtracting the max keeps exp() finite) */
        float mx = -INFINITY;
        for (int j = 0; j <= jmax; j++) {
            Pi[j] = score(s, q + (size_t)i * hs, k + (size_t)j * hs, i, j);
            if (Pi[j] > mx) mx = Pi[j];
        }
        /* pass 2: exponentiate and sum */
        float sum = 0.0f;
        for (int j = 0; j <= jmax; j++) {
            Pi[j] = expf(Pi[j] - mx);
            sum += Pi[j];
        }
        /* pass 3: normalise; masked keys get exactly 0 */
        for (int j = 0; j <= jmax; j++) Pi[j] /= sum;
        for (int j = jmax + 1; j < T; j++) Pi[j] = 0.0f;
        lse[i] = mx + logf(sum);
        /* out_i = sum_j P_ij v_j */
        float *oi = out + (size_t)i * s->ostride;
        memset(oi, 0, sizeof(float) * hs);
        for (int j = 0; j <= jmax; j++) {
            const float *vj = v + (size_t)j * hs;
            for (int d = 0; d < hs; d++) oi[d] += Pi[j] * vj[d];
        }
    }
}

size_t attn_flash_scratch_bytes(int hs) {
    /* acc (BQ, hs) + scores (BQ, BK) + m and l (BQ each) */
    return sizeof(float) * ((size_t)AVZ_FLASH_BQ * hs + AVZ_FLASH_BQ * AVZ_FLASH_BK
                            + 2 * AVZ_FLASH_BQ);
}

/* The state flash keeps for one block of query rows. */
typedef struct {
    float m[AVZ_FLASH_BQ];                   /* running max of each row's scores */
    float l[AVZ_FLASH_BQ];                   /* running sum of exp(score - m) */
    float acc[AVZ_FLASH_BQ * AVZ_MAX_HS];    /* running sum of exp(score - m) * v */
    float S[AVZ_FLASH_BQ * AVZ_FLASH_BK];    /* this tile's scores */
} FlashTile;

/* Folds one key block [k0, k1) into query rows [q0, q0 + nq). */
static void flash_key_block(const AttnShape *s, const float *q, const float *k,
                            const float *v, int q0, int nq, int k0, int k1, FlashTile *t) {
    int hs = s->hs;
    for (int r = 0; r < nq; r++) {
        int i = q0 + r;
        int jend = (s->causal && i + 1 < k1) ? i + 1 : k1;   /* keys j < jend are visible */
        if (jend <= k0) continue;                           /* whole tile masked for this row */
        float *Sr = t->S + r * AVZ_FLASH_BK;
        float blockmax = -INFINITY;
        for (int j = k0; j < jend; j++) {
            Sr[j - k0] = score(s, q + (size_t)i * hs, k + (size_t)j * hs, i, j);
            if (Sr[j - k0] > blockmax) blockmax = Sr[j - k0];
        }
        /* online softmax: if this block raises the max, shrink what we have so far
         * by exp(m_old - m_new) so that every term is relative to the same max */
        float m_new = blockmax > t->m[r] ? blockmax : t->m[r];
        float corr = expf(t->m[r] - m_new);                 /* exp(-inf) = 0 on the first block */
        float *acc = t->acc + r * hs;
        t->l[r] *= corr;
        for (int d = 0; d < hs; d++) acc[d] *= corr;
        for (int j = k0; j < jend; j++) {
            float p = expf(Sr[j - k0] - m_new);
            t->l[r] += p;
            const float *vj = v + (size_t)j * hs;
            for (int d = 0; d < hs; d++) acc[d] += p * vj[d];
        }
        t->m[r] = m_new;
    }
}

void attn_flash(const AttnShape *s, const float *q, const float *k, const float *v,
                float *out, float *lse) {
    int T = s->T, hs = s->hs;
    FlashTile tile;
    for (int q0 = 0; q0 < T; q0 += AVZ_FLASH_BQ) {
        int nq = T - q0 < AVZ_FLASH_BQ ? T - q0 : AVZ_FLASH_BQ;
        for (int r = 0; r < nq; r++) {
            tile.m[r] = -INFINITY;
            tile.l[r] = 0.0f;
        }
        memset(tile.acc, 0, sizeof(float) * nq * hs);
        /* causal: keys past the block's last query are never visible, skip them */
        int kend = s->causal ? q0 + nq : T;
        for (int k0 = 0; k0 < kend; k0 += AVZ_FLASH_BK) {
            int k1 = k0 + AVZ_FLASH_BK < kend ? k0 + AVZ_FLASH_BK : kend;
            flash_key_block(s, q, k, v, q0, nq, k0, k1, &tile);
        }
        /* finish: divide by the sum once, and keep log-sum-exp = m + log(l) */
        for (int r = 0; r < nq; r++) {
            float inv = 1.0f / tile.l[r];
            float *o = out + (size_t)(q0 + r) * s->ostride;
            for (int d = 0; d < hs; d++) o[d] = tile.acc[r * hs + d] * inv;
            lse[q0 + r] = tile.m[r] + logf(tile.l[r]);
        }
    }
}

void attn_capture_rows(const AttnShape *s, const float *q, const float *k,
                       const float *lse, int row0, int nrows, float *P) {
    int T = s->T, hs = s->hs;
    for (int r = 0; r < nrows; r++) {
        int i = row0 + r;
        float *Pr = P + (size_t)r * T;
        int jmax = s->causal ? i : T - 1;
        for (int j = 0; j <= jmax; j++)
            Pr[j] = expf(score(s, q + (size_t)i * hs, k + (size_t)j * hs, i, j) - lse[i]);
        for (int j = jmax + 1; j < T; j++) Pr[j] = 0.0f;
    }
}
