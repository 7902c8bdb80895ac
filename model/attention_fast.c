/* attention_fast.c: flash attention at the speed of the machine, and a fast capture.
 *
 * Same contract and same maths as attn_flash in attention.c: read that one first, it is
 * the readable reference, and the tests hold this one to it. What changes here is only
 * how the work is laid out for the CPU:
 *
 * 1. Two small matrix products. Take a panel of GEMM_MR = 6 query rows and a block of
 *    bk keys. Their scores S = Q K^T are a (6 x bk) matrix product, and the output
 *    update O += P V a (6 x hs) one: both run on the register-blocked tile kernels of
 *    gemm.c, which keep the 6-row block of the result in vector registers. For that the
 *    key block is packed transposed, Kt (hs x bk), so that the kernel's "row of B" (one
 *    dimension of every key) is contiguous; the value block is copied with its rows
 *    padded to the kernel width.
 * 2. Softmax between them, vectorised: scale, ALiBi bias and mask, the row maximum, and
 *    an exp that the compiler can vectorise (avz_fast_exp in fastmath.h: libm's expf is
 *    a function call per element, which no compiler turns into vector code).
 * 3. The online softmax of the reference, per row: when a block raises the row's
 *    maximum, the running sum l and the output row O are multiplied by
 *    exp(m_old - m_new). That multiply is folded into the P V kernel: it scales the old
 *    O row while it adds the new products (the cscale argument).
 * 4. Causal attention does half the work. Key blocks entirely after a query block are
 *    never visited; inside a block, a panel stops at its last row's diagonal (the
 *    matrix products are trimmed to the keys the panel can see), and only the keys past
 *    each row's own diagonal are masked.
 * 5. Tiles sized from this machine's caches, not from constants: bk so that the packed
 *    Kt and V blocks (read once per panel) stay in L1, bq so that a query block's Q and
 *    O stay in L2. See attn_fast_tiles.
 * 6. Threads over (head, query block), longest blocks first: under a causal mask the
 *    last query block sees every key, so starting with it evens out the finish.
 *
 * Every row is computed by the same sequence of operations whatever the tile of rows
 * or the thread it falls in, so results do not depend on the number of threads. */
#include "attention.h"
#include "common.h"
#include "fastmath.h"
#include "gemm.h"
#include "ops.h"
#include "simd.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- tiles --------------------------------------------------------------------------------- */

static int round_up(int x, int m) { return (x + m - 1) / m * m; }

/* Everything that depends only on (T, hs) and the machine: tile sizes and where each
 * buffer sits in the scratch. Never on the thread count (so results do not either). */
typedef struct {
    const GemmKernels *g;
    int T, hs, hsp;     /* head size, and padded to the narrow kernel width */
    int bq, bk;         /* query rows per block (a multiple of GEMM_MR), keys per block */
    size_t q_off, o_off, m_off, l_off, kt_off, v_off, s_off, floats;
} FastPlan;

static size_t align16(size_t n) { return (n + 15) / 16 * 16; }   /* 64 bytes */

static FastPlan fast_plan(int T, int hs) {
    FastPlan p = {0};
    const CpuCaches *c = cpu_caches();
    p.g = gemm_kernels();
    int W = p.g->nr_wide, w = p.g->nr_narrow;
    p.T = T;
    p.hs = hs;
    p.hsp = round_up(hs, w);
    /* bk: the packed Kt (hs x bk) and V (bk x hsp) blocks are reread for every panel of
     * 6 rows, so they should fill about 3/4 of L1 (the rest: a panel of S, Q and O).
     * At least one wide kernel width (with a large head, L2 is the next best). */
    int bk = (int)(c->l1d * 3 / 4 / (sizeof(float) * (size_t)(hs + p.hsp)));
    bk = bk >= W ? bk / W * W : W;
    if (bk > 512) bk = 512;
    if (bk > round_up(T, w)) bk = round_up(T, w);
    p.bk = bk;
    /* bq: a query block's Q (bq x hs) and O (bq x hsp) stay in a quarter of L2 while its
     * key blocks stream past. At most 252 rows (42 panels), so that even a few heads give
     * enough blocks to share between threads. */
    int bq = (int)(c->l2 / 4 / (sizeof(float) * (size_t)(hs + p.hsp)));
    bq = bq / GEMM_MR * GEMM_MR;
    if (bq > 252) bq = 252;
    if (bq < GEMM_MR) bq = GEMM_MR;
    if (bq > round_up(T, GEMM_MR)) bq = round_up(T, GEMM_MR);
    p.bq = bq;
    size_t off = 0;
    p.q_off = off;  off += align16((size_t)bq * hs);      /* Q block, rows zero-padded */
    p.o_off = off;  off += align16((size_t)bq * p.hsp);   /* unnormalised output O */
    p.m_off = off;  off += align16(bq);                   /* running max m */
    p.l_off = off;  off += align16(bq);                   /* running sum l */
    p.kt_off = off; off += align16((size_t)hs * bk);      /* key block, transposed */
    p.v_off = off;  off += align16((size_t)bk * p.hsp);   /* value block */
    p.s_off = off;  off += align16((size_t)GEMM_MR * bk); /* one panel of S, then P */
    p.floats = off;
    return p;
}

AttnFastTiles attn_fast_tiles(int T, int hs) {
    FastPlan p = fast_plan(T, hs);
    AttnFastTiles t = {p.bq, p.bk, p.g->isa, p.floats * sizeof(float)};
    return t;
}

size_t attn_flash_fast_scratch_bytes(int T, int hs) {
    return fast_plan(T, hs).floats * sizeof(float);
}

static float *scratch_alloc(const FastPlan *p) {
    float *s = aligned_alloc(64, p->floats * sizeof(float));
    AVZ_ASSERT(s);
    return s;
}

/* ---- the kernel -------------------------------------------------------------------------- */

/* Copies keys [k0, k0 + nk) into Kt (hs x bk, transposed) and, unless v is NULL, their
 * values into V (nk x hsp), padding with zeros up to the narrow kernel width, so that a
 * kernel may run over whole widths: a zero key gives a score that the mask then hides,
 * a zero value row adds nothing. */
static AVZ_HOT void pack_kv(const FastPlan *p, const float *k, const float *v, int k0, int nk,
                            float *Kt, float *V) {
    int hs = p->hs, hsp = p->hsp, bk = p->bk, nkp = round_up(nk, p->g->nr_narrow);
    /* AVX-512: Kt by 16 x 16 blocks transposed in registers, with the zero keys (simd.h) */
    int simd_kt = hs % 16 == 0 && nkp % 16 == 0 && simd_avx512_active();
    if (simd_kt) simd_transpose_keys_avx512(k + (size_t)k0 * hs, nk, hs, Kt, bk);
    for (int j = 0; j < nk; j++) {
        const float *kj = k + (size_t)(k0 + j) * hs;
        if (!simd_kt)
            for (int d = 0; d < hs; d++) Kt[(size_t)d * bk + j] = kj[d];
        if (!v) continue;
        avz_copy_row(V + (size_t)j * hsp, v + (size_t)(k0 + j) * hs, hs);
        for (int d = hs; d < hsp; d++) V[(size_t)j * hsp + d] = 0.0f;
    }
    for (int j = nk; j < nkp; j++) {
        if (!simd_kt)
            for (int d = 0; d < hs; d++) Kt[(size_t)d * bk + j] = 0.0f;
        if (v) memset(V + (size_t)j * hsp, 0, sizeof(float) * hsp);
    }
}

/* The logit of query i and key j: the scaled dot product plus the ALiBi bias. Shared
 * by the flash kernel and the capture so that both compute the same numbers. */
static inline float logit(float dot, float scale, float slope, int i, int j) {
    float bias = -slope * (float)abs(i - j);
    return dot * scale + bias;
}

/* The softmax step of one panel: turns the scores of rows [i0, i0 + GEMM_MR) against
 * keys [k0, k0 + ncols) in S into exp(logit - m_new), and updates each row's running
 * max m and sum l. corr[r] = exp(m_old - m_new) is the factor that the row's old
 * output must be multiplied by. nk keys of the block are real, the rest padding. */
static AVZ_HOT void softmax_panel(float *S, int lds, int ncols, int i0, int k0, int nk,
                                  int causal, float scale, float slope, float *m, float *l,
                                  float *corr) {
    for (int r = 0; r < GEMM_MR; r++) {
        int i = i0 + r;
        int visible = causal && i - k0 + 1 < nk ? i - k0 + 1 : nk;   /* may be <= 0 */
        float *x = S + (size_t)r * lds;
        float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
        for (int j = 0; j < ncols; j++) {
            /* keys at or past `visible` are in the row's future (or padding): -inf */
            x[j] = j < visible ? logit(x[j], scale, slope, i, k0 + j) : -INFINITY;
            mx = x[j] > mx ? x[j] : mx;
        }
        float m_new = mx > m[r] ? mx : m[r];
        if (m_new == -INFINITY) {          /* nothing visible yet: nothing to add */
            corr[r] = 1.0f;
            for (int j = 0; j < ncols; j++) x[j] = 0.0f;
            continue;
        }
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int j = 0; j < ncols; j++) {
            x[j] = avz_fast_exp(x[j] - m_new);        /* masked: exp(-inf) = 0 */
            sum += x[j];
        }
        corr[r] = avz_fast_exp(m[r] - m_new);         /* first block: exp(-inf) = 0 */
        l[r] = l[r] * corr[r] + sum;
        m[r] = m_new;
    }
}

/* One query block [q0, q0 + nq) of one head against every key it may see. */
static void flash_query_block(const FastPlan *p, const AttnShape *s, float slope,
                              const float *q, const float *k, const float *v, float *out,
                              float *lse, int q0, float *scratch) {
    int T = s->T, hs = p->hs, hsp = p->hsp, bk = p->bk;
    int nq = T - q0 < p->bq ? T - q0 : p->bq, npanels = (nq + GEMM_MR - 1) / GEMM_MR;
    float *Q = scratch + p->q_off, *O = scratch + p->o_off, *m = scratch + p->m_off;
    float *l = scratch + p->l_off, *Kt = scratch + p->kt_off, *V = scratch + p->v_off;
    float *S = scratch + p->s_off, corr[GEMM_MR];
    int rows = npanels * GEMM_MR;
    memcpy(Q, q + (size_t)q0 * hs, sizeof(float) * (size_t)nq * hs);
    memset(Q + (size_t)nq * hs, 0, sizeof(float) * (size_t)(rows - nq) * hs);
    memset(O, 0, sizeof(float) * (size_t)rows * hsp);
    for (int r = 0; r < rows; r++) {
        m[r] = -INFINITY;
        l[r] = 0.0f;
    }
    /* causal: keys after the block's last query are never visible */
    int kend = s->causal ? q0 + nq : T;
    for (int k0 = 0; k0 < kend; k0 += bk) {
        int nk = kend - k0 < bk ? kend - k0 : bk;
        pack_kv(p, k, v, k0, nk, Kt, V);
        for (int pn = 0; pn < npanels; pn++) {
            int r0 = pn * GEMM_MR, ilast = q0 + r0 + GEMM_MR - 1;
            int nvis = nk;                           /* keys the panel's last row sees */
            if (s->causal) {
                if (k0 > ilast) continue;            /* the whole block is in its future */
                if (ilast - k0 + 1 < nvis) nvis = ilast - k0 + 1;
            }
            int ncols = round_up(nvis, p->g->nr_narrow);
            /* S (6 x ncols) = Q_panel (6 x hs) . Kt (hs x ncols) */
            gemm_panel(p->g, hs, Q + (size_t)r0 * hs, hs, Kt, bk, S, bk, NULL, ncols);
            softmax_panel(S, bk, ncols, q0 + r0, k0, nk, s->causal, s->scale, slope,
                          m + r0, l + r0, corr);
            /* O_panel (6 x hsp) = O_panel * corr + P (6 x ncols) . V (ncols x hsp) */
            gemm_panel_long_k(p->g, ncols, S, bk, V, hsp, O + (size_t)r0 * hsp, hsp, corr, hsp);
        }
    }
    /* finish: divide by the sum once; log-sum-exp = m + log(l) */
    for (int r = 0; r < nq; r++) {
        float inv = 1.0f / l[r], *o = out + (size_t)(q0 + r) * s->ostride;
        for (int d = 0; d < hs; d++) o[d] = O[(size_t)r * hsp + d] * inv;
        lse[q0 + r] = m[r] + logf(l[r]);
    }
}

void attn_flash_fast(const AttnShape *s, const float *q, const float *k, const float *v,
                     float *out, float *lse) {
    FastPlan p = fast_plan(s->T, s->hs);
    float *scratch = scratch_alloc(&p);
    for (int q0 = 0; q0 < s->T; q0 += p.bq)
        flash_query_block(&p, s, s->slope, q, k, v, out, lse, q0, scratch);
    free(scratch);
}

void attn_flash_fast_heads(const AttnShape *s, int nh, const float *slopes, const float *q,
                           const float *k, const float *v, float *out, size_t out_head_stride,
                           float *lse) {
    FastPlan p = fast_plan(s->T, s->hs);
    int T = s->T, nqb = (T + p.bq - 1) / p.bq, ntasks = nh * nqb;
    size_t hsz = (size_t)T * s->hs;
#pragma omp parallel
    {
        float *scratch = scratch_alloc(&p);   /* one per thread */
#pragma omp for schedule(dynamic, 1)
        for (int t = 0; t < ntasks; t++) {
            int qb = nqb - 1 - t / nh, h = t % nh;   /* last (longest) query blocks first */
            flash_query_block(&p, s, slopes ? slopes[h] : s->slope, q + h * hsz, k + h * hsz,
                              v + h * hsz, out + h * out_head_stride, lse + (size_t)h * T,
                              qb * p.bq, scratch);
        }
        free(scratch);
    }
}

/* ---- capture ----------------------------------------------------------------------------- */

/* Rows [i0, i0 + nr) of P against keys [k0, k0 + nk) from their scores S. */
static AVZ_HOT void capture_panel(const float *S, int lds, int nr, int i0, int k0, int nk,
                                  const AttnShape *s, const float *lse, float *P, int ldp) {
    for (int r = 0; r < nr; r++) {
        int i = i0 + r;
        int visible = s->causal && i - k0 + 1 < nk ? i - k0 + 1 : nk;
        const float *x = S + (size_t)r * lds;
        float *Pr = P + (size_t)r * ldp, li = lse[i], scale = s->scale, slope = s->slope;
#pragma omp simd
        for (int j = 0; j < visible; j++)
            Pr[j] = avz_fast_exp(logit(x[j], scale, slope, i, k0 + j) - li);
    }
}

/* P row i: exp(logit_ij - lse_i) for the keys it sees, 0 for the others; the same
 * scores kernel and the same logit() as the flash pass, so each row sums to 1 up to
 * rounding. Key blocks outside, panels of 6 rows inside, as in the flash kernel. */
void attn_capture_rows_fast(const AttnShape *s, const float *q, const float *k,
                            const float *lse, int row0, int nrows, float *P) {
    if (nrows <= 0) return;
    FastPlan p = fast_plan(s->T, s->hs);
    int T = s->T, hs = s->hs, bk = p.bk, npanels = (nrows + GEMM_MR - 1) / GEMM_MR;
    float *scratch = scratch_alloc(&p);
    float *Qpad = scratch + p.q_off, *Kt = scratch + p.kt_off, *S = scratch + p.s_off;
    /* the last panel may be partial: its rows go through a zero-padded copy */
    int last = (npanels - 1) * GEMM_MR, nlast = nrows - last;
    memcpy(Qpad, q + (size_t)(row0 + last) * hs, sizeof(float) * (size_t)nlast * hs);
    memset(Qpad + (size_t)nlast * hs, 0, sizeof(float) * (size_t)(GEMM_MR - nlast) * hs);
    for (int r = 0; r < nrows; r++) {                 /* the masked future: zero */
        int i = row0 + r, first = s->causal ? i + 1 : T;
        memset(P + (size_t)r * T + first, 0, sizeof(float) * (size_t)(T - first));
    }
    int kend = s->causal ? row0 + nrows : T;
    for (int k0 = 0; k0 < kend; k0 += bk) {
        int nk = kend - k0 < bk ? kend - k0 : bk;
        pack_kv(&p, k, NULL, k0, nk, Kt, NULL);
        for (int pn = 0; pn < npanels; pn++) {
            int r0 = pn * GEMM_MR, ilast = row0 + r0 + GEMM_MR - 1, nvis = nk;
            if (s->causal) {
                if (k0 > ilast) continue;
                if (ilast - k0 + 1 < nvis) nvis = ilast - k0 + 1;
            }
            const float *Qp = r0 == last ? Qpad : q + (size_t)(row0 + r0) * hs;
            gemm_panel(p.g, hs, Qp, hs, Kt, bk, S, bk, NULL, round_up(nvis, p.g->nr_narrow));
            int nr = nrows - r0 < GEMM_MR ? nrows - r0 : GEMM_MR;
            capture_panel(S, bk, nr, row0 + r0, k0, nk, s, lse, P + (size_t)r0 * T + k0, T);
        }
    }
    free(scratch);
}

/* ---- short texts: every probability kept ------------------------------------------------- */

/* For a short text the whole (T, T) matrix of one head is a few kilobytes, and the
 * visualizer wants all of it anyway. So instead of an online softmax now and a
 * recomputation at capture, attn_fast_keep computes each row of P once, exactly as
 * attn_naive does (scores, row max, exp, sum, normalise), keeps it, and multiplies the
 * normalised P by V. Capture is then a copy. Same tiles of GEMM_MR rows and the same
 * kernels as above. */

/* rows of P padded to whole vectors of lanes (fastmath.h), so that no row needs a tail */
size_t attn_keep_ld(int T) { return (size_t)round_up(T, AVZ_LANES); }
size_t attn_keep_rows(int T) { return (size_t)round_up(T, GEMM_MR); }

/* Rows i0 .. i0 + GEMM_MR - 1 of P from their scores (row r at P + r * ld; row i sees
 * its first visible(i) keys): softmax in place, zeros for the masked keys; lse[r] gets
 * each row's log-sum-exp. Rows are walked in whole vectors of AVZ_LANES floats (ld is
 * a multiple of it), so no loop has a tail.
 * The work goes in phases across the 6 rows (all logits, then all maxima, then all
 * sums...), not row after row: a row of a small model is a few vectors, and its steps
 * wait on each other (a maximum folds its lanes in 4 dependent steps, then exp, then
 * the sum folds again, then a division). Side by side in the instruction stream, six
 * rows' independent steps overlap in the CPU instead of waiting in turn. */
static AVZ_HOT void keep_panel(float *P, int ld, int i0, int T, int causal, float scale,
                               float slope, float lse[GEMM_MR]) {
    int n[GEMM_MR];
    float m[GEMM_MR], total[GEMM_MR];
    P = __builtin_assume_aligned(P, 64);   /* P's rows start on cache lines: no peeling */
    for (int r = 0; r < GEMM_MR; r++) {
        int i = i0 + r, visible = causal && i + 1 < T ? i + 1 : T;
        float *x = P + (size_t)r * ld;
        int nv = (visible + AVZ_LANES - 1) / AVZ_LANES;   /* whole vectors */
        n[r] = nv * AVZ_LANES;
        /* every logit of the whole vectors (a loop of whole vectors, so that the compiler
         * emits neither a condition nor a tail), then -inf over the masked keys (fewer
         * than one vector) */
        for (int v = 0; v < nv; v++)
#pragma omp simd
            for (int l = 0; l < AVZ_LANES; l++) {
                int j = v * AVZ_LANES + l;
                x[j] = logit(x[j], scale, slope, i, j);
            }
        for (int j = visible; j < n[r]; j++) x[j] = -INFINITY;
    }
    for (int r = 0; r < GEMM_MR; r++) m[r] = avz_row_max(P + (size_t)r * ld, n[r]);
    for (int r = 0; r < GEMM_MR; r++)   /* masked: exp(-inf) = 0 */
        total[r] = avz_row_exp_sum(P + (size_t)r * ld, m[r], n[r]);
    for (int r = 0; r < GEMM_MR; r++) {
        float *x = P + (size_t)r * ld, inv = 1.0f / total[r];
        for (int v = 0; v < ld / AVZ_LANES; v++)   /* whole vectors again; past n: 0 */
#pragma omp simd
            for (int l = 0; l < AVZ_LANES; l++) {
                int j = v * AVZ_LANES + l;
                x[j] = j < n[r] ? x[j] * inv : 0.0f;
            }
        lse[r] = m[r] + logf(total[r]);
    }
}

#define KEEP_STACK_FLOATS 4096   /* 16 KiB: T = 64 with hs = 16 needs 2240 floats */

void attn_fast_keep(const AttnShape *s, const float *q, const float *k, const float *v,
                    float *out, float *lse, float *P) {
    int T = s->T, hs = s->hs, ld = (int)attn_keep_ld(T), simd = simd_avx512_active();
    if (simd && hs == 16 && T <= 64) {   /* the whole head in registers, panel by panel */
        simd_attn_small_avx512(q, k, v, T, s->causal, s->scale, s->slope, out, s->ostride, lse,
                               P, ld);   /* simd.h */
        return;
    }
    FastPlan p = fast_plan(T, hs);
    int hsp = p.hsp, npanels = (T + GEMM_MR - 1) / GEMM_MR;
    /* Kt (hs x ld) and V (ld x hsp), padded with zeros; a padded Q panel; an O panel */
    size_t nbuf = align16((size_t)hs * ld + (size_t)ld * hsp + GEMM_MR * hsp + GEMM_MR * hs);
    /* a short text's buffers fit on the stack (a malloc and free per head and layer were
     * a visible part of a small model's pass); longer ones on the heap */
    _Alignas(64) float stack_buf[KEEP_STACK_FLOATS];
    float *buf = nbuf <= KEEP_STACK_FLOATS ? stack_buf : aligned_alloc(64, sizeof(float) * nbuf);
    AVZ_ASSERT(buf);
    float *Kt = buf, *V = Kt + (size_t)hs * ld, *O = V + (size_t)ld * hsp;
    float *Qpad = O + GEMM_MR * hsp;
    FastPlan kp = p;
    kp.bk = ld;                                  /* pack_kv's row length of Kt */
    pack_kv(&kp, k, v, 0, T, Kt, V);
    for (int j = round_up(T, p.g->nr_narrow); j < ld; j++) {   /* the rest of the padding */
        for (int d = 0; d < hs; d++) Kt[(size_t)d * ld + j] = 0.0f;
        memset(V + (size_t)j * hsp, 0, sizeof(float) * hsp);
    }
    for (int pn = 0; pn < npanels; pn++) {
        int r0 = pn * GEMM_MR, nr = T - r0 < GEMM_MR ? T - r0 : GEMM_MR;
        int nvis = s->causal && r0 + GEMM_MR < T ? r0 + GEMM_MR : T;   /* keys the panel sees */
        int ncols = round_up(nvis, p.g->nr_narrow);
        const float *Qp = q + (size_t)r0 * hs;
        if (nr < GEMM_MR) {                      /* the last, partial panel: padded rows */
            memcpy(Qpad, Qp, sizeof(float) * (size_t)nr * hs);
            memset(Qpad + (size_t)nr * hs, 0, sizeof(float) * (size_t)(GEMM_MR - nr) * hs);
            Qp = Qpad;
        }
        float *Pp = P + (size_t)r0 * ld;
        /* S (6 x ncols) = Q_panel . Kt, then each row's softmax in place */
        gemm_panel(p.g, hs, Qp, hs, Kt, ld, Pp, ld, NULL, ncols);
        float l[GEMM_MR];
        if (simd) simd_keep_panel_avx512(Pp, ld, r0, T, s->causal, s->scale, s->slope, l);
        else keep_panel(Pp, ld, r0, T, s->causal, s->scale, s->slope, l);
        for (int r = 0; r < nr; r++) lse[r0 + r] = l[r];
        /* O_panel (6 x hsp) = P_panel (6 x ncols) . V (ncols x hsp) */
        gemm_panel_long_k(p.g, ncols, Pp, ld, V, hsp, O, hsp, NULL, hsp);
        for (int r = 0; r < nr; r++) avz_copy_row(out + (size_t)(r0 + r) * s->ostride, O + r * hsp, hs);
    }
    if (buf != stack_buf) free(buf);
}
