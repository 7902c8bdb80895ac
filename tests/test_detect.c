/* test_detect.c: the standard head-role protocol (model/detect.c). The scorer is
 * proven on hand-built models whose heads are known by construction (a previous-token
 * head, a two-layer induction circuit, heads with uniform attention), then checked
 * for determinism and batching, run on every shipped model (whose table it prints),
 * and fed bad options. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "detect.h"
#include "helpers.h"

/* ---- a model with known heads ------------------------------------------------
 *
 * A 2-layer, 2-head, learned-position model whose residual stream is laid out by
 * hand in one-hot codes (V = vocabulary size, P = n_positions):
 *   TOK  .. TOK+V   the current token, one-hot (from wte)
 *   POS  .. POS+P   the position, one-hot (from wpe)
 *   PREV .. PREV+V  the previous token, one-hot (written by head 0.0)
 *   Z1..Z4          one "balance" dimension per code, holding minus its sum, so
 *                   that every row of the residual has mean 0
 * Pre-LN: LayerNorm subtracts the row's mean and divides by its spread. With mean 0
 * and the same number of unit entries in every row (the same spread), LN(x) is just
 * x times a constant (rstd), so the codes survive it, scaled; the gains below
 * account for that scale. Heads:
 *   0.0 previous-token: query = the code of position i-1 (W_q shifts the position
 *       code by one, gain G0), key = the position code (W_k identity), value = the
 *       token code; c_proj writes the value into PREV.
 *   1.0 induction: query = the current token code (gain G1), key = PREV: the key of
 *       position j says "my previous token was t", and the query of a later t
 *       matches it. Its value is the token code of the attended position (the token
 *       that followed the earlier copy), which c_proj writes into TOK with gain GOUT:
 *       the LM head (tied to wte) then predicts it.
 *   0.1 and 1.1: all-zero q, k, v: uniform attention, no output.
 * The MLPs are zero. */
#define HB_WORDS 192                      /* + 4 helper words: V = 196 */
#define HB_P 32                           /* n_positions: blocks up to 15 after bos */
#define HB_G0 6.0f
#define HB_G1 9.0f
#define HB_GOUT 10.0f

typedef struct { int V, P, C, hs, TOK, POS, PREV, Z1, Z2, Z3, Z4; } Layout;

static Layout layout(int V, int P) {
    Layout y = {V, P, 0, 0, 0, V, V + P, 2 * V + P, 2 * V + P + 1, 2 * V + P + 2, 2 * V + P + 3};
    y.C = (2 * V + P + 4 + 1) / 2 * 2;    /* even: two heads of hs = C / 2 >= V */
    y.hs = y.C / 2;
    return y;
}

/* Weight accessors in model.h's layouts: qkvw (L, C, 3C) [in, out] with columns
 * [q | k | v], head h at h*hs; attprojw (L, C, C) [in, out]. */
static float *wq(Model *m, const Layout *y, int l, int in, int h, int d) {
    return m->params.qkvw + ((size_t)l * y->C + in) * 3 * y->C + h * y->hs + d;
}
static float *wk(Model *m, const Layout *y, int l, int in, int h, int d) {
    return wq(m, y, l, in, h, d) + y->C;
}
static float *wv(Model *m, const Layout *y, int l, int in, int h, int d) {
    return wq(m, y, l, in, h, d) + 2 * y->C;
}
static float *wo(Model *m, const Layout *y, int l, int h, int d, int out) {
    return m->params.attprojw + ((size_t)l * y->C + h * y->hs + d) * y->C + out;
}

/* The constant LN scale of a mean-0 row holding `units` entries of +-1. */
static float ln_scale(int units, int C) { return 1.0f / sqrtf((float)units / C + 1e-5f); }

static void build_known_model(Model *m, Layout *out) {
    Vocab v;
    helper_vocab(&v, HB_WORDS);
    Layout y = layout(v.n, HB_P);
    ModelConfig cfg = {0};
    cfg.n_layer = 2;
    cfg.n_head = 2;
    cfg.n_embd = y.C;
    cfg.n_positions = y.P;
    cfg.vocab_size = v.n;
    cfg.layer_norm_epsilon = 1e-5f;
    cfg.pe = PE_LEARNED;
    cfg.rope_theta = 10000.0f;
    snprintf(cfg.tokenizer, sizeof cfg.tokenizer, "word");
    char err[AVZ_ERR_LEN];
    cr_assert_eq(model_create(m, &cfg, &v, err), AVZ_OK, "%s", err);   /* all weights 0 */
    int C = y.C, V = y.V;
    ParamTensors *p = &m->params;
    for (int t = 0; t < V; t++) {
        p->wte[(size_t)t * C + y.TOK + t] = 1.0f;
        p->wte[(size_t)t * C + y.Z1] = -1.0f;
    }
    for (int i = 0; i < y.P; i++) {
        p->wpe[(size_t)i * C + y.POS + i] = 1.0f;
        p->wpe[(size_t)i * C + y.Z2] = -1.0f;
    }
    for (int i = 0; i < 2 * C; i++) p->ln1w[i] = p->ln2w[i] = 1.0f;
    for (int i = 0; i < C; i++) p->lnfw[i] = 1.0f;
    /* layer 0 rows hold 4 unit entries (token, Z1, position, Z2); layer 1 adds the
     * previous-token code and Z3: 6 */
    float s0 = ln_scale(4, C), s1 = ln_scale(6, C);
    for (int i = 1; i < y.P; i++) *wq(m, &y, 0, y.POS + i, 0, i - 1) = HB_G0;  /* 0.0 */
    for (int i = 0; i < y.P; i++) *wk(m, &y, 0, y.POS + i, 0, i) = 1.0f;
    for (int t = 0; t < V; t++) {
        *wv(m, &y, 0, y.TOK + t, 0, t) = 1.0f;
        *wo(m, &y, 0, 0, t, y.PREV + t) = 1.0f / s0;
        *wo(m, &y, 0, 0, t, y.Z3) = -1.0f / s0;
        *wq(m, &y, 1, y.TOK + t, 0, t) = HB_G1;                                 /* 1.0 */
        *wk(m, &y, 1, y.PREV + t, 0, t) = 1.0f;
        *wv(m, &y, 1, y.TOK + t, 0, t) = 1.0f;
        *wo(m, &y, 1, 0, t, y.TOK + t) = HB_GOUT / s1;
        *wo(m, &y, 1, 0, t, y.Z4) = -HB_GOUT / s1;
    }
    model_params_changed(m);   /* written by hand: the packed copies are stale */
    *out = y;
}

/* The known model's pool (every id but <bos> and <unk>) and short-context options. */
static int *known_pool(const Model *m, int *n) { return detect_pool_word_vocab(&m->vocab, n); }

static DetectOpts known_opts(const Model *m) {
    DetectOpts o;
    detect_opts_default(&o, &m->cfg);   /* n_positions 32: 5, 8, 12, 15 */
    o.seqs_per_length = 16;             /* the heads are exact: half the default is plenty */
    return o;
}

static void run_known(DetectReport *r, Model *m, const DetectOpts *o) {
    int n_pool;
    int *pool = known_pool(m, &n_pool);
    char err[AVZ_ERR_LEN], note[AVZ_ERR_LEN];
    Backend *be = backend_cpu_create();
    cr_assert_eq(detect_run(&be, m, pool, n_pool, m->vocab.bos_id, o, NULL, r, note, err), AVZ_OK,
                 "%s", err);
    backend_close(be);
    free(pool);
}

/* "0.97 [0.99 0.98 0.96 0.95]": a head's mean and per-length scores, for messages. */
static const char *fmt_head(const DetectReport *r, DetectRole role, int head, char *buf,
                            size_t len) {
    int n = snprintf(buf, len, "%.4f [", r->score[role * r->L * r->NH + head]);
    for (int k = 0; k < r->n_lengths && n < (int)len; k++)
        n += snprintf(buf + n, len - n, "%s%d: %.4f", k ? ", " : "", r->lengths[k],
                      detect_at(r, role, k, head));
    if (n < (int)len) snprintf(buf + n, len - n, "]");
    return buf;
}

Test(detect, opts_default_follows_the_context) {
    ModelConfig cfg = {0};
    DetectOpts o;
    struct { int ctx, n, want[8]; } cases[] = {
        {64, 7, {5, 8, 12, 16, 24, 30, 31}},
        {61, 6, {5, 8, 12, 16, 24, 30}},      /* the largest n (30) is already there */
        {32, 4, {5, 8, 12, 15}},
        {11, 1, {5}},
        {8, 1, {3}},
        {4, 0, {0}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cfg.n_positions = cases[c].ctx;
        detect_opts_default(&o, &cfg);
        cr_expect_eq(o.n_lengths, cases[c].n, "n_positions %d: %d lengths", cases[c].ctx,
                     o.n_lengths);
        for (int k = 0; k < o.n_lengths && k < cases[c].n; k++)
            cr_expect_eq(o.lengths[k], cases[c].want[k], "n_positions %d: lengths[%d] = %d",
                         cases[c].ctx, k, o.lengths[k]);
        cr_expect_eq(o.seqs_per_length, 32);
        cr_expect_eq(o.seed, DETECT_SEED);
    }
}

Test(detect, word_pool_leaves_out_the_specials) {
    const char *words[] = {"<bos>", "the", "<unk>", "<pad>", "cat", "<", ">", "<x"};
    Vocab v;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(vocab_from_words(&v, words, 8, err), AVZ_OK, "%s", err);
    int n, *pool = detect_pool_word_vocab(&v, &n);
    int want[] = {1, 4, 5, 6, 7};   /* "<" and ">" and "<x" are words, not specials */
    cr_assert_eq(n, 5, "pool has %d ids", n);
    for (int k = 0; k < n; k++) cr_expect_eq(pool[k], want[k], "pool[%d] = %d", k, pool[k]);
    free(pool);
    vocab_free(&v);
}

static void check_previous_token_head(const DetectReport *r) {
    char a[512], b[512];
    int h00 = 0;   /* layer 0, head 0 */
    cr_expect(r->score[DET_PREV * 4 + h00] >= 0.95f, "head 0.0 previous-token %s",
              fmt_head(r, DET_PREV, h00, a, sizeof a));
    cr_expect(detect_min_over_lengths(r, DET_PREV, h00) >= 0.95f,
              "head 0.0 previous-token at its weakest length %s",
              fmt_head(r, DET_PREV, h00, a, sizeof a));
    cr_expect(r->score[DET_INDUCT * 4 + h00] <= 0.1f, "head 0.0 induction %s",
              fmt_head(r, DET_INDUCT, h00, b, sizeof b));
    int best;
    detect_best(r, DET_PREV, &best);
    cr_expect_eq(best, h00, "best previous-token head is %d, not 0.0", best);
    cr_log_info("head 0.0: previous-token %s", fmt_head(r, DET_PREV, h00, a, sizeof a));
    cr_log_info("head 0.0: induction %s", fmt_head(r, DET_INDUCT, h00, b, sizeof b));
}

static void check_induction_circuit(const DetectReport *r) {
    char a[512], b[512];
    int h10 = 2;   /* layer 1, head 0 */
    cr_expect(r->score[DET_INDUCT * 4 + h10] >= 0.9f, "head 1.0 induction %s",
              fmt_head(r, DET_INDUCT, h10, a, sizeof a));
    cr_expect(r->score[DET_PREV * 4 + 0] >= 0.95f, "head 0.0 previous-token %s",
              fmt_head(r, DET_PREV, 0, b, sizeof b));
    int best;
    detect_best(r, DET_INDUCT, &best);
    cr_expect_eq(best, h10, "best induction head is %d, not 1.0", best);
    cr_log_info("head 1.0: induction %s", fmt_head(r, DET_INDUCT, h10, a, sizeof a));
    cr_log_info("copy 1 / copy 2 loss at n = %d: %.4f / %.4f (chance %.4f)", r->lengths[0],
                r->loss_first[0], r->loss_second[0], r->loss_chance);
    /* the circuit copies: the second copy is predicted, the first is not */
    for (int k = 0; k < r->n_lengths; k++) {
        cr_expect(r->loss_second[k] < 0.25f * r->loss_first[k],
                  "n = %d: loss on copy 2 %.4f, copy 1 %.4f (chance %.4f)", r->lengths[k],
                  r->loss_second[k], r->loss_first[k], r->loss_chance);
        cr_expect(r->loss_first[k] > 0.5f * r->loss_chance, "n = %d: copy 1 loss %.4f, chance %.4f",
                  r->lengths[k], r->loss_first[k], r->loss_chance);
    }
}

static void check_uniform_heads(const DetectReport *r) {
    int uniform_heads[] = {1, 3};   /* 0.1 and 1.1: zero q and k */
    double worst = 0;
    for (int u = 0; u < 2; u++) {
        int hd = uniform_heads[u];
        for (int role = 0; role < DET_COUNT; role++) {
            double e = fabs(r->score[role * 4 + hd] - r->uniform[role]);
            worst = fmax(worst, e);
            cr_expect(e <= 1e-5, "head %d %s: %.7f, uniform %.7f", hd, detect_role_name(role),
                      r->score[role * 4 + hd], r->uniform[role]);
            for (int k = 0; k < r->n_lengths; k++) {
                float u = r->uniform_by_length[role * r->n_lengths + k];
                double ek = fabs(detect_at(r, role, k, hd) - u);
                worst = fmax(worst, ek);
                cr_expect(ek <= 1e-5, "head %d %s at n = %d: %.7f, uniform %.7f", hd,
                          detect_role_name(role), r->lengths[k], detect_at(r, role, k, hd), u);
            }
        }
    }
    /* the baseline itself, by hand, for induction at n = 5 with bos: rows 6..10 */
    double want = 0;
    for (int i = 6; i <= 10; i++) want += 1.0 / (i + 1);
    cr_expect(fabs(r->uniform_by_length[DET_INDUCT * r->n_lengths + 0] - want / 5) < 1e-6,
              "uniform induction at n = 5: %.7f, by hand %.7f",
              r->uniform_by_length[DET_INDUCT * r->n_lengths + 0], want / 5);
    cr_log_info("uniform heads: worst |score - uniform| = %.2e", worst);
}

/* One model, one run: three heads known by construction, checked one by one. */
Test(detect, heads_known_by_construction_score_as_built) {
    Model m;
    Layout y;
    build_known_model(&m, &y);
    DetectOpts o = known_opts(&m);
    DetectReport r;
    run_known(&r, &m, &o);
    check_previous_token_head(&r);   /* 0.0 */
    check_induction_circuit(&r);     /* 1.0 and the losses */
    check_uniform_heads(&r);         /* 0.1 and 1.1 */
    detect_report_free(&r);
    model_free(&m);
}

/* ---- determinism and batching, on a random model with structure --------------- */

static void run_random(DetectReport *r, Model *m, int max_batch, uint64_t seed) {
    int n_pool, *pool = detect_pool_word_vocab(&m->vocab, &n_pool);
    DetectOpts o;
    detect_opts_default(&o, &m->cfg);
    o.seqs_per_length = 7;   /* not a multiple of the batch of 3 */
    o.max_batch = max_batch;
    o.seed = seed;
    char err[AVZ_ERR_LEN];
    Backend *be = backend_cpu_create();
    cr_assert_eq(detect_run(&be, m, pool, n_pool, m->vocab.bos_id, &o, NULL, r, NULL, err),
                 AVZ_OK, "%s", err);
    backend_close(be);
    free(pool);
}

static double max_diff(const float *a, const float *b, size_t n) {
    double e = 0;
    for (size_t i = 0; i < n; i++) e = fmax(e, fabs((double)a[i] - b[i]));
    return e;
}

Test(detect, same_seed_same_report_and_batching_does_not_matter) {
    Model m;
    helper_model(&m, PE_ROPE, 2, 4, 32, 64, 11);
    DetectReport a, b, one, three, other;
    run_random(&a, &m, 0, DETECT_SEED);
    run_random(&b, &m, 0, DETECT_SEED);
    size_t nb = (size_t)DET_COUNT * a.n_lengths * 8;
    cr_expect(memcmp(a.by_length, b.by_length, sizeof(float) * nb) == 0, "same seed, other scores");
    cr_expect(memcmp(a.loss_second, b.loss_second, sizeof(float) * a.n_lengths) == 0);
    run_random(&one, &m, 1, DETECT_SEED);
    run_random(&three, &m, 3, DETECT_SEED);
    double e1 = max_diff(one.by_length, a.by_length, nb);
    double e3 = max_diff(three.by_length, a.by_length, nb);
    double l1 = fmax(max_diff(one.loss_first, a.loss_first, a.n_lengths),
                     max_diff(one.loss_second, a.loss_second, a.n_lengths));
    cr_expect(e1 <= 1e-6, "one sequence per pass vs all at once: max score diff %.3e", e1);
    cr_expect(e3 <= 1e-6, "batches of 3 vs all at once: max score diff %.3e", e3);
    cr_expect(l1 <= 1e-5, "one sequence per pass vs all at once: max loss diff %.3e", l1);
    run_random(&other, &m, 0, DETECT_SEED + 1);
    cr_expect(max_diff(other.by_length, a.by_length, nb) > 1e-4, "another seed, same scores");
    cr_log_info("batching: max diff %.2e (B = 1), %.2e (B = 3)", e1, e3);
    detect_report_free(&a); detect_report_free(&b); detect_report_free(&one);
    detect_report_free(&three); detect_report_free(&other);
    model_free(&m);
}

/* The protocol re-done from detect.h's text alone, one sequence at a time through
 * model_forward and model_capture_all, with the losses from model_losses: what
 * anyone reproducing a number would write. Checked against detect_run. */
static void reference_protocol(Model *m, const int *pool, int n_pool, int bos, int n, int S,
                               uint64_t seed, double *score /* (DET_COUNT, nh) */,
                               double *loss1, double *loss2) {
    int off = bos >= 0, T = off + 2 * n, NH = m->cfg.n_head, nh = m->cfg.n_layer * NH;
    int *seq = malloc(sizeof(int) * T), *tg = malloc(sizeof(int) * T);
    float *maps = malloc(sizeof(float) * nh * T * T);
    double rows[DET_COUNT] = {0};
    memset(score, 0, sizeof(double) * DET_COUNT * nh);
    *loss1 = *loss2 = 0;
    AvzRng rng;
    avz_rng_init(&rng, seed + n);
    char err[AVZ_ERR_LEN];
    for (int s = 0; s < S; s++) {
        if (off) seq[0] = bos;
        for (int j = 0; j < n; j++) seq[off + j] = pool[avz_rng_u64(&rng) % (uint64_t)n_pool];
        for (int j = 0; j < n; j++) seq[off + n + j] = seq[off + j];
        for (int t = 0; t < T; t++) tg[t] = t + 1 < T ? seq[t + 1] : -1;
        cr_assert_eq(model_forward(m, seq, tg, 1, T, NULL, err), AVZ_OK, "%s", err);
        model_capture_all(m, 0, maps);
        for (int hd = 0; hd < nh; hd++) {
            const float *A = maps + (size_t)hd * T * T;
            for (int i = 1; i < T; i++) {
                score[DET_PREV * nh + hd] += A[i * T + i - 1];
                score[DET_FIRST * nh + hd] += A[i * T + 0];
                score[DET_CURRENT * nh + hd] += A[i * T + i];
            }
            for (int i = off + n; i < T; i++) {
                score[DET_DUP * nh + hd] += A[i * T + i - n];
                score[DET_INDUCT * nh + hd] += A[i * T + i - n + 1];
            }
        }
        const float *ls = model_losses(m);
        for (int t = off; t <= off + n - 2; t++) *loss1 += ls[t];
        for (int t = off + n; t <= T - 2; t++) *loss2 += ls[t];
    }
    rows[DET_PREV] = rows[DET_FIRST] = rows[DET_CURRENT] = (double)(T - 1) * S;
    rows[DET_DUP] = rows[DET_INDUCT] = (double)n * S;
    for (int role = 0; role < DET_COUNT; role++)
        for (int hd = 0; hd < nh; hd++) score[role * nh + hd] /= rows[role];
    *loss1 /= (double)(n - 1) * S;
    *loss2 /= (double)(n - 1) * S;
    free(seq); free(tg); free(maps);
}

Test(detect, the_documented_protocol_reproduces_every_number) {
    Model m;
    helper_model(&m, PE_ROPE, 2, 4, 32, 64, 21);
    int n_pool, *pool = detect_pool_word_vocab(&m.vocab, &n_pool), nh = 8;
    DetectOpts o;
    detect_opts_default(&o, &m.cfg);
    o.n_lengths = 2;
    o.lengths[0] = 7;
    o.lengths[1] = 32;   /* only without bos: 2 x 32 = 64 */
    o.seqs_per_length = 5;
    Backend *be = backend_cpu_create();
    char err[AVZ_ERR_LEN];
    for (int with_bos = 0; with_bos < 2; with_bos++) {
        int bos = with_bos ? m.vocab.bos_id : -1;
        if (with_bos) o.lengths[1] = 31;
        DetectReport r;
        cr_assert_eq(detect_run(&be, &m, pool, n_pool, bos, &o, NULL, &r, NULL, err), AVZ_OK,
                     "%s", err);
        double worst = 0, worst_loss = 0, worst_mean = 0;
        double mean[DET_COUNT * 8] = {0};
        for (int k = 0; k < 2; k++) {
            double ref[DET_COUNT * 8], l1, l2;
            reference_protocol(&m, pool, n_pool, bos, o.lengths[k], o.seqs_per_length, o.seed,
                               ref, &l1, &l2);
            for (int role = 0; role < DET_COUNT; role++)
                for (int hd = 0; hd < nh; hd++) {
                    worst = fmax(worst, fabs(detect_at(&r, role, k, hd) - ref[role * nh + hd]));
                    mean[role * nh + hd] += ref[role * nh + hd] / 2;
                }
            worst_loss = fmax(worst_loss, fmax(fabs(r.loss_first[k] - l1),
                                               fabs(r.loss_second[k] - l2)));
        }
        for (int i = 0; i < DET_COUNT * nh; i++)
            worst_mean = fmax(worst_mean, fabs(r.score[i] - mean[i]));
        cr_expect(worst <= 1e-6, "bos %d: max |score - reference| = %.3e", bos, worst);
        cr_expect(worst_mean <= 1e-6, "bos %d: max |mean - reference mean| = %.3e", bos,
                  worst_mean);
        cr_expect(worst_loss <= 1e-5, "bos %d: max |loss - reference| = %.3e", bos, worst_loss);
        cr_log_info("protocol re-done by hand, bos %d: score diff %.2e, loss diff %.2e", bos,
                    worst, worst_loss);
        detect_report_free(&r);
    }
    backend_close(be);
    free(pool);
    model_free(&m);
}

/* Counts the progress calls; cancels at call `stop_at` (0: never). */
typedef struct { int calls, last_done, last_total, stop_at; } Progress;
static int on_progress(void *user, int done, int total) {
    Progress *p = user;
    p->calls++;
    p->last_done = done;
    p->last_total = total;
    return p->stop_at && p->calls >= p->stop_at;
}

Test(detect, progress_reaches_the_end_and_can_cancel) {
    Model m;
    helper_model(&m, PE_ALIBI, 1, 2, 16, 24, 3);
    int n_pool, *pool = detect_pool_word_vocab(&m.vocab, &n_pool);
    DetectOpts o;
    detect_opts_default(&o, &m.cfg);   /* 5, 8, 11 */
    o.seqs_per_length = 4;
    o.max_batch = 2;                   /* 2 passes per length: 6 */
    Progress pr = {0};
    o.progress = on_progress;
    o.user = &pr;
    char err[AVZ_ERR_LEN];
    DetectReport r;
    Backend *be = backend_cpu_create();
    cr_assert_eq(detect_run(&be, &m, pool, n_pool, 0, &o, NULL, &r, NULL, err), AVZ_OK, "%s", err);
    cr_expect_eq(pr.calls, 7, "%d progress calls", pr.calls);
    cr_expect(pr.last_done == 6 && pr.last_total == 6, "last call %d of %d", pr.last_done,
              pr.last_total);
    detect_report_free(&r);
    pr = (Progress){.stop_at = 3};
    cr_expect_eq(detect_run(&be, &m, pool, n_pool, 0, &o, NULL, &r, NULL, err), AVZ_ERR_INPUT);
    cr_expect(strstr(err, "cancelled") != NULL, "message: %s", err);
    cr_expect(r.score == NULL && r.by_length == NULL, "a cancelled run leaves nothing to free");
    backend_close(be);
    free(pool);
    model_free(&m);
}

/* ---- the shipped models ---------------------------------------------------------- */

static void print_best(const DetectReport *r, DetectRole role) {
    int hd;
    float s = detect_best(r, role, &hd);
    char line[1024];
    int n = snprintf(line, sizeof line, "  best %-15s head %d.%d  mean %.3f (uniform %.3f)  by n:",
                     detect_role_name(role), hd / r->NH, hd % r->NH, s, r->uniform[role]);
    for (int k = 0; k < r->n_lengths && n < (int)sizeof line; k++)
        n += snprintf(line + n, sizeof line - n, " %d:%.3f", r->lengths[k],
                      detect_at(r, role, k, hd));
    printf("%s\n", line);
}

Test(detect, shipped_models_run_and_every_score_is_a_fraction) {
    static const char *SHIPPED[] = {"rope", "alibi", "learned", "none", "sinusoidal"};
    char note[AVZ_ERR_LEN] = "", err[AVZ_ERR_LEN];
    Backend *be = backend_cpu_create();   /* the reference; tests/test_gpu.c compares devices */
    printf("detect: standard protocol on the shipped models (%s)\n", be->device);
    for (int s = 0; s < 5; s++) {
        char dir[256];
        snprintf(dir, sizeof dir, "assets/models/%s", SHIPPED[s]);
        Model m;
        cr_assert_eq(model_load(&m, dir, err), AVZ_OK, "%s", err);
        int n_pool, *pool = detect_pool_word_vocab(&m.vocab, &n_pool);
        DetectOpts o;
        detect_opts_default(&o, &m.cfg);
        DetectReport r;
        cr_assert_eq(detect_run(&be, &m, pool, n_pool, m.vocab.bos_id, &o, NULL, &r, note, err),
                     AVZ_OK, "%s: %s", SHIPPED[s], err);
        int nh = r.L * r.NH;
        for (int i = 0; i < DET_COUNT * r.n_lengths * nh; i++)
            cr_expect(r.by_length[i] >= -1e-6f && r.by_length[i] <= 1.0f + 1e-6f,
                      "%s: by_length[%d] = %f", SHIPPED[s], i, r.by_length[i]);
        for (int i = 0; i < DET_COUNT * nh; i++)
            cr_expect(r.score[i] >= -1e-6f && r.score[i] <= 1.0f + 1e-6f, "%s: score[%d] = %f",
                      SHIPPED[s], i, r.score[i]);
        char label[256];
        detect_protocol_label(&r, label, sizeof label);
        printf("%s (%s):\n", SHIPPED[s], label);
        print_best(&r, DET_PREV);
        print_best(&r, DET_INDUCT);
        print_best(&r, DET_DUP);
        print_best(&r, DET_FIRST);
        char line[1024];
        int n = snprintf(line, sizeof line, "  loss copy 1 / copy 2 (chance %.2f):", r.loss_chance);
        for (int k = 0; k < r.n_lengths && n < (int)sizeof line; k++) {
            cr_expect(isfinite(r.loss_first[k]) && isfinite(r.loss_second[k]) &&
                      r.loss_first[k] >= 0 && r.loss_second[k] >= 0, "%s: losses at n = %d",
                      SHIPPED[s], r.lengths[k]);
            n += snprintf(line + n, sizeof line - n, " %d:%.2f/%.2f", r.lengths[k],
                          r.loss_first[k], r.loss_second[k]);
        }
        printf("%s\n", line);
        detect_report_free(&r);
        free(pool);
        model_free(&m);
    }
    fflush(stdout);
    backend_close(be);
}

/* ---- bad input ------------------------------------------------------------------- */

Test(detect, bad_options_are_input_errors_naming_the_option) {
    Model m;
    helper_model(&m, PE_LEARNED, 1, 2, 16, 64, 5);
    int n_pool, *pool = detect_pool_word_vocab(&m.vocab, &n_pool), V = m.cfg.vocab_size;
    int bad_pool[] = {2, V, 3};
    DetectOpts good;
    detect_opts_default(&good, &m.cfg);
    good.seqs_per_length = 2;
    Backend *be = backend_cpu_create();
    char err[AVZ_ERR_LEN];
    DetectReport r;
    struct { const char *what, *want; const int *pool; int n_pool, bos, len, seqs, nl; } cases[] = {
        {"empty pool", "pool is empty", pool, 0, 0, 5, 2, 1},
        {"NULL pool", "pool is empty", NULL, 3, 0, 5, 2, 1},
        {"pool id out of range", "pool[1]", bad_pool, 3, 0, 5, 2, 1},
        {"32 + 32 + bos > 64", "lengths[0] = 32 does not fit twice", pool, n_pool, 0, 32, 2, 1},
        {"block of 1", "lengths[0] = 1", pool, n_pool, 0, 1, 2, 1},
        {"bos = V", "bos", pool, n_pool, V, 5, 2, 1},
        {"bos = -2", "bos", pool, n_pool, -2, 5, 2, 1},
        {"no lengths", "n_lengths", pool, n_pool, 0, 5, 2, 0},
        {"no sequences", "seqs_per_length", pool, n_pool, 0, 5, 0, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        DetectOpts o = good;
        o.n_lengths = cases[c].nl;
        o.lengths[0] = cases[c].len;
        o.seqs_per_length = cases[c].seqs;
        err[0] = '\0';
        AvzCode rc = detect_run(&be, &m, cases[c].pool, cases[c].n_pool, cases[c].bos, &o, NULL,
                                &r, NULL, err);
        cr_expect_eq(rc, AVZ_ERR_INPUT, "%s: code %d", cases[c].what, rc);
        cr_expect(strstr(err, cases[c].want) != NULL, "%s: message '%s' lacks '%s'",
                  cases[c].what, err, cases[c].want);
        cr_expect(r.score == NULL, "%s: a failed run leaves nothing to free", cases[c].what);
    }
    /* without bos the sequence is B + B: 32 + 32 fits a 64-token context */
    DetectOpts o = good;
    o.n_lengths = 1;
    o.lengths[0] = 32;
    cr_expect_eq(detect_run(&be, &m, pool, n_pool, -1, &o, NULL, &r, NULL, err), AVZ_OK, "%s", err);
    detect_report_free(&r);
    backend_close(be);
    free(pool);
    model_free(&m);
}
