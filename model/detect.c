/* detect.c: head roles by the standard protocol of random repeated blocks (see
 * detect.h for the protocol itself). Draw the blocks, run them through the backend a
 * batch at a time, read each head's attention at the cells a role predicts, and the
 * model's loss on each copy. */
#include "detect.h"

#include <math.h>
#include <string.h>

static const char *ROLE_NAMES[DET_COUNT] = {"previous-token", "duplicate-token", "induction",
                                            "first-token", "current-token"};

const char *detect_role_name(DetectRole r) {
    return r >= 0 && r < DET_COUNT ? ROLE_NAMES[r] : "?";
}

/* ---- the protocol's pieces ---------------------------------------------- */

/* The key a role expects query row i to attend to, or -1 where the row does not
 * count (see detect.h). n: block length; off: 1 with bos, else 0. This one function
 * decides the rows of the scores, of the uniform baseline and of their counts. */
static int role_target(DetectRole role, int i, int n, int off) {
    int second = i >= off + n;   /* row i is in the second copy */
    if (i < 1) return -1;        /* row 0 can only attend to itself */
    switch (role) {
    case DET_PREV: return i - 1;
    case DET_DUP: return second ? i - n : -1;
    case DET_INDUCT: return second ? i - n + 1 : -1;
    case DET_FIRST: return 0;
    case DET_CURRENT: return i;
    default: return -1;
    }
}

void detect_opts_default(DetectOpts *o, const ModelConfig *cfg) {
    static const int BASE[] = {5, 8, 12, 16, 24, 30};
    memset(o, 0, sizeof *o);
    o->seqs_per_length = 32;
    o->seed = DETECT_SEED;
    int nmax = (cfg->n_positions - 1) / 2;   /* the largest n with 2n + 1 <= n_positions */
    if (nmax < 2) return;                    /* no block fits: detect_run says so */
    for (size_t k = 0; k < sizeof BASE / sizeof BASE[0]; k++)
        if (BASE[k] < nmax) o->lengths[o->n_lengths++] = BASE[k];
    o->lengths[o->n_lengths++] = nmax;       /* BASE is sorted, so this stays sorted */
}

static int is_special(const char *w) {
    size_t n = strlen(w);
    return n >= 2 && w[0] == '<' && w[n - 1] == '>';
}

int *detect_pool_word_vocab(const Vocab *v, int *n) {
    int *pool = avz_xmalloc(sizeof(int) * (size_t)(v->n > 0 ? v->n : 1));
    *n = 0;
    for (int id = 0; id < v->n; id++)
        if (id != v->bos_id && id != v->unk_id && !is_special(v->words[id])) pool[(*n)++] = id;
    return pool;
}

static AvzCode check_opts(const Model *m, int n_pool, const int *pool, int bos,
                          const DetectOpts *o, char *err) {
    int V = m->cfg.vocab_size, ctx = m->cfg.n_positions, off = bos >= 0;
    if (n_pool < 1 || !pool)
        return avz_fail(err, AVZ_ERR_INPUT, "detect: the token pool is empty (n_pool = %d): "
                        "the random blocks need ids to draw from", n_pool);
    for (int k = 0; k < n_pool; k++)
        if (pool[k] < 0 || pool[k] >= V)
            return avz_fail(err, AVZ_ERR_INPUT, "detect: pool[%d] = %d is outside the "
                            "vocabulary (0..%d)", k, pool[k], V - 1);
    if (bos < -1 || bos >= V)
        return avz_fail(err, AVZ_ERR_INPUT, "detect: bos = %d is outside the vocabulary "
                        "(0..%d, or -1 for a model without one)", bos, V - 1);
    if (o->n_lengths < 1 || o->n_lengths > DETECT_MAX_LENGTHS)
        return avz_fail(err, AVZ_ERR_INPUT, "detect: n_lengths = %d; give 1..%d block lengths "
                        "(a context of n_positions = %d holds none)", o->n_lengths,
                        DETECT_MAX_LENGTHS, ctx);
    for (int k = 0; k < o->n_lengths; k++) {
        int n = o->lengths[k];
        if (n < 2)
            return avz_fail(err, AVZ_ERR_INPUT, "detect: lengths[%d] = %d: a block needs at "
                            "least 2 tokens, or induction and previous-token coincide", k, n);
        if (off + 2 * n > ctx)
            return avz_fail(err, AVZ_ERR_INPUT, "detect: lengths[%d] = %d does not fit twice in "
                            "the context: %s2 x %d = %d tokens > n_positions %d", k, n,
                            off ? "[bos] + " : "", n, off + 2 * n, ctx);
    }
    if (o->seqs_per_length < 1)
        return avz_fail(err, AVZ_ERR_INPUT, "detect: seqs_per_length = %d; it must be >= 1",
                        o->seqs_per_length);
    if (o->max_batch < 0)
        return avz_fail(err, AVZ_ERR_INPUT, "detect: max_batch = %d; use 0 (all at once) or "
                        "more", o->max_batch);
    return AVZ_OK;
}

/* All S sequences of length n, (S, T): [bos] + B + B, each B drawn with replacement
 * from pool by the stream avz_rng_init(seed + n), block by block, token by token. */
static int *draw_sequences(int n, int S, int bos, const int *pool, int n_pool, uint64_t seed) {
    int off = bos >= 0, T = off + 2 * n;
    int *tok = avz_xmalloc(sizeof(int) * (size_t)S * T);
    AvzRng rng;
    avz_rng_init(&rng, seed + (uint64_t)n);
    for (int s = 0; s < S; s++) {
        int *seq = tok + (size_t)s * T;
        if (off) seq[0] = bos;
        for (int j = 0; j < n; j++) {
            int id = pool[avz_rng_u64(&rng) % (uint64_t)n_pool];
            seq[off + j] = id;       /* first copy */
            seq[off + n + j] = id;   /* second copy: token i equals token i - n */
        }
    }
    return tok;
}

/* Uniform attention's score per role for length n: the mean of 1/(i+1) over the
 * role's rows. */
static void uniform_scores(int n, int off, float *out /* (DET_COUNT) */) {
    int T = off + 2 * n;
    for (int role = 0; role < DET_COUNT; role++) {
        double s = 0;
        int rows = 0;
        for (int i = 0; i < T; i++) {
            if (role_target(role, i, n, off) < 0) continue;
            s += 1.0 / (i + 1);
            rows++;
        }
        out[role] = rows ? (float)(s / rows) : 0.0f;
    }
}

/* Adds, for batch row b of the last pass and every head, the attention on each
 * role's target cells into sum (DET_COUNT, nh). buf: (T, T) scratch. */
static void add_maps(Backend *be, const Model *m, int b, int n, int off, double *sum,
                     float *buf) {
    int T = m->T, NH = m->cfg.n_head, nh = m->cfg.n_layer * NH;
    for (int hd = 0; hd < nh; hd++) {
        be->capture(be, m, hd / NH, hd % NH, b, buf);   /* (T, T), row = query */
        for (int role = 0; role < DET_COUNT; role++) {
            double s = 0;
            for (int i = 0; i < T; i++) {
                int j = role_target(role, i, n, off);
                if (j >= 0) s += buf[(size_t)i * T + j];
            }
            sum[role * nh + hd] += s;
        }
    }
}

/* -log softmax(logits)[target], in double so that a confident model's tiny
 * losses are not rounded away. */
static double token_loss(const float *logits, int V, int target) {
    float mx = logits[0];
    for (int v = 1; v < V; v++) mx = logits[v] > mx ? logits[v] : mx;
    double s = 0;
    for (int v = 0; v < V; v++) s += exp((double)logits[v] - mx);
    return log(s) + mx - logits[target];
}

/* Adds the loss of batch row b's copy 1 and copy 2 (tokens 2..n of each, see
 * detect.h) into l1 and l2. seq: the row's tokens (T). */
static void add_losses(const Model *m, int b, const int *seq, int n, int off, double *l1,
                       double *l2) {
    int T = m->T, V = m->cfg.vocab_size;
    const float *lg = m->acts.logits + (size_t)b * T * V;
    for (int t = off; t <= off + n - 2; t++) *l1 += token_loss(lg + (size_t)t * V, V, seq[t + 1]);
    for (int t = off + n; t <= T - 2; t++) *l2 += token_loss(lg + (size_t)t * V, V, seq[t + 1]);
}

/* ---- the run ---------------------------------------------------------------- */

static void report_alloc(DetectReport *r, const Model *m, const DetectOpts *o, int n_pool,
                         int bos) {
    int nh = m->cfg.n_layer * m->cfg.n_head, K = o->n_lengths;
    memset(r, 0, sizeof *r);
    r->L = m->cfg.n_layer;
    r->NH = m->cfg.n_head;
    r->n_lengths = K;
    memcpy(r->lengths, o->lengths, sizeof(int) * K);
    r->seqs_per_length = o->seqs_per_length;
    r->n_pool = n_pool;
    r->bos = bos;
    r->seed = o->seed;
    r->score = avz_xcalloc((size_t)DET_COUNT * nh, sizeof(float));
    r->by_length = avz_xcalloc((size_t)DET_COUNT * K * nh, sizeof(float));
    r->uniform_by_length = avz_xcalloc((size_t)DET_COUNT * K, sizeof(float));
    r->loss_first = avz_xcalloc(K, sizeof(float));
    r->loss_second = avz_xcalloc(K, sizeof(float));
    r->loss_chance = (float)log((double)n_pool);
}

/* One block length (index k): every sequence through the backend in batches of Bb,
 * sums turned into means in r. *done counts passes for progress. */
static AvzCode run_length(Backend **bep, Model *m, int k, const int *pool, int n_pool, int bos,
                          const DetectOpts *o, const ForwardOpts *fo, DetectReport *r,
                          int *done, int total, char *note, char *err) {
    int n = o->lengths[k], off = bos >= 0, T = off + 2 * n, S = o->seqs_per_length;
    int Bb = o->max_batch > 0 && o->max_batch < S ? o->max_batch : S;
    int nh = r->L * r->NH;
    int *tok = draw_sequences(n, S, bos, pool, n_pool, o->seed);
    double *sum = avz_xcalloc((size_t)DET_COUNT * nh, sizeof(double)), l1 = 0, l2 = 0;
    float *buf = avz_xmalloc(sizeof(float) * (size_t)T * T);
    AvzCode rc = AVZ_OK;
    for (int s0 = 0; s0 < S && !rc; s0 += Bb) {
        int B = S - s0 < Bb ? S - s0 : Bb;
        if (o->progress && o->progress(o->user, *done, total)) {
            rc = avz_fail(err, AVZ_ERR_INPUT, "detect: cancelled after %d of %d passes", *done,
                          total);
            break;
        }
        const int *batch = tok + (size_t)s0 * T;
        rc = backend_forward(bep, m, batch, NULL, B, T, fo, note, err);
        for (int b = 0; !rc && b < B; b++) {
            add_maps(*bep, m, b, n, off, sum, buf);
            add_losses(m, b, batch + (size_t)b * T, n, off, &l1, &l2);
        }
        (*done)++;
    }
    if (!rc) {
        float uni[DET_COUNT];
        uniform_scores(n, off, uni);
        for (int role = 0; role < DET_COUNT; role++) {
            int rows = 0;
            for (int i = 0; i < T; i++) rows += role_target(role, i, n, off) >= 0;
            double count = (double)rows * S;
            for (int hd = 0; hd < nh; hd++)
                r->by_length[((size_t)role * r->n_lengths + k) * nh + hd] =
                    (float)(sum[role * nh + hd] / count);
            r->uniform_by_length[role * r->n_lengths + k] = uni[role];
        }
        r->loss_first[k] = (float)(l1 / ((double)(n - 1) * S));
        r->loss_second[k] = (float)(l2 / ((double)(n - 1) * S));
    }
    free(buf);
    free(sum);
    free(tok);
    return rc;
}

/* The means over the lengths (unweighted: each length counts once). */
static void report_means(DetectReport *r) {
    int nh = r->L * r->NH, K = r->n_lengths;
    for (int role = 0; role < DET_COUNT; role++) {
        for (int hd = 0; hd < nh; hd++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += r->by_length[((size_t)role * K + k) * nh + hd];
            r->score[role * nh + hd] = (float)(s / K);
        }
        double u = 0;
        for (int k = 0; k < K; k++) u += r->uniform_by_length[role * K + k];
        r->uniform[role] = (float)(u / K);
    }
}

AvzCode detect_run(Backend **bep, Model *m, const int *pool, int n_pool, int bos,
                   const DetectOpts *o, const ForwardOpts *fo, DetectReport *r, char *note,
                   char *err) {
    memset(r, 0, sizeof *r);
    AvzCode rc = check_opts(m, n_pool, pool, bos, o, err);
    if (rc) return rc;
    int S = o->seqs_per_length, Bb = o->max_batch > 0 && o->max_batch < S ? o->max_batch : S;
    int total = o->n_lengths * ((S + Bb - 1) / Bb), done = 0;
    report_alloc(r, m, o, n_pool, bos);
    for (int k = 0; k < o->n_lengths && !rc; k++)
        rc = run_length(bep, m, k, pool, n_pool, bos, o, fo, r, &done, total, note, err);
    if (rc) {
        detect_report_free(r);
        return rc;
    }
    report_means(r);
    if (o->progress) o->progress(o->user, total, total);
    return AVZ_OK;
}

void detect_report_free(DetectReport *r) {
    free(r->score);
    free(r->by_length);
    free(r->uniform_by_length);
    free(r->loss_first);
    free(r->loss_second);
    memset(r, 0, sizeof *r);
}

/* ---- reading a report ------------------------------------------------------- */

float detect_at(const DetectReport *r, DetectRole role, int k, int head) {
    int nh = r->L * r->NH;
    AVZ_ASSERT(role >= 0 && role < DET_COUNT && k >= 0 && k < r->n_lengths);
    AVZ_ASSERT(head >= 0 && head < nh);
    return r->by_length[((size_t)role * r->n_lengths + k) * nh + head];
}

float detect_best(const DetectReport *r, DetectRole role, int *head) {
    int nh = r->L * r->NH, best = 0;
    AVZ_ASSERT(role >= 0 && role < DET_COUNT && nh > 0);
    const float *s = r->score + (size_t)role * nh;
    for (int i = 1; i < nh; i++) best = s[i] > s[best] ? i : best;
    if (head) *head = best;
    return s[best];
}

float detect_min_over_lengths(const DetectReport *r, DetectRole role, int head) {
    float lo = detect_at(r, role, 0, head);
    for (int k = 1; k < r->n_lengths; k++) {
        float v = detect_at(r, role, k, head);
        lo = v < lo ? v : lo;
    }
    return lo;
}

void detect_protocol_label(const DetectReport *r, char *buf, size_t len) {
    int lo = r->n_lengths ? r->lengths[0] : 0, hi = lo;
    for (int k = 1; k < r->n_lengths; k++) {
        lo = r->lengths[k] < lo ? r->lengths[k] : lo;
        hi = r->lengths[k] > hi ? r->lengths[k] : hi;
    }
    snprintf(buf, len, "random repeated blocks, n = %d..%d (%d length%s), %d seqs each, seed %llu",
             lo, hi, r->n_lengths, r->n_lengths == 1 ? "" : "s", r->seqs_per_length,
             (unsigned long long)r->seed);
}
