/* train.c: the training loop (see train.h). Plain AdamW on the CPU; the data are
 * passages from the synthetic grammar, generated on the fly from a seeded RNG so
 * that a run is reproducible from its seed (and its thread count) alone. */
#define _POSIX_C_SOURCE 200809L
#include "train.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "backward.h"
#include "detect.h"
#include "lengths.h"
#include "model.h"
#include "posenc.h"
#include "probes.h"

/* The shipped models' corpus: half random blocks from the whole vocabulary, repeated
 * with no marker (the standard protocol's shape: only copying predicts the second
 * copy, which is what grows an induction head), the other half the corpus' ordinary
 * kinds, for coreference, agreement and facts (the lessons' heads). */
static void shipped_mix(CorpusMix *x) {
    corpus_mix_default(x);
    x->w_blocks = 0.5f, x->w_coref = 0.15f, x->w_agree = 0.12f, x->w_facts = 0.08f;
    x->w_induct_list = 0.05f, x->w_induct_random = 0.05f, x->w_echo = 0.05f;
}

/* The shipped models' recipe (`make models`): 2 layers x 4 heads, width 128, context 64,
 * 6,000 steps of 32 sequences. Measured (README, "The shipped models"): at width 64, or
 * batch 16, no variant formed an induction head within 3,000 steps; at width 128 and
 * batch 32 ALiBi and learned positions form one near steps 1,500-2,500 and RoPE near
 * 2,800, and RoPE's previous-token head sharpens for another thousand steps after it.
 * The shipped ALiBi model adds a third layer and two-back passages to this recipe
 * (Makefile, MODEL_ARGS_alibi): with two layers its previous-token head cannot get
 * sharp (tests/test_shipped_roles.c). */
void train_config_default(TrainConfig *tc) {
    memset(tc, 0, sizeof *tc);
    tc->pe = PE_ROPE;
    tc->n_layer = 2;
    tc->n_head = 4;
    tc->n_embd = 128;
    tc->n_positions = 64;
    tc->steps = 6000;
    tc->batch = 32;
    tc->warmup = 100;
    tc->eval_every = 250;
    tc->lr = 3e-3f;
    tc->min_lr_frac = 0.1f;
    tc->weight_decay = 0.1f;
    tc->clip = 1.0f;
    tc->beta1 = 0.9f;
    tc->beta2 = 0.98f;
    tc->seed = 1;
    tc->val_batches = 8;
    tc->probe_count = 40;
    shipped_mix(&tc->mix);
    tc->live_every = 25;
}

/* "Induction in 2 minutes" (README, "Watching an induction head form"): the shipped
 * recipe with learned positions, a context of 32 tokens (so blocks of up to 15 words
 * repeat inside it) and a higher learning rate, for 2,600 steps. A step costs half as
 * much as at context 64, and the phase change comes in fewer steps: measured on this
 * 2-core machine, the induction score jumps between steps 1,600 and 2,400 (about 100
 * to 150 s) and the previous-token head sharpens with it. ALiBi forms induction as
 * fast but can never have a sharp previous-token head (README), RoPE forms it later. */
static void recipe_induction_2min(TrainConfig *tc) {
    tc->pe = PE_LEARNED;
    tc->n_positions = 32;
    tc->mix.block_max = 15;
    tc->lr = 5e-3f;
    tc->steps = 2600;
    tc->eval_every = 2600;
}

static const struct { const char *name; void (*apply)(TrainConfig *); } RECIPES[] = {
    {"shipped", NULL},
    {"induction-2min", recipe_induction_2min},
};

const char *train_recipe_names(void) { return "shipped, induction-2min"; }

AvzCode train_recipe(TrainConfig *tc, const char *name, char *err) {
    for (size_t i = 0; i < sizeof RECIPES / sizeof RECIPES[0]; i++) {
        if (strcmp(name, RECIPES[i].name) != 0) continue;
        TrainConfig keep = *tc;
        train_config_default(tc);
        tc->pe = keep.pe;   /* a recipe may choose its encoding; --pe, given, wins later */
        if (RECIPES[i].apply) RECIPES[i].apply(tc);
        tc->out_dir = keep.out_dir;
        tc->threads = keep.threads;
        tc->quiet = keep.quiet;
        tc->live_log = keep.live_log;
        tc->live_every = keep.live_every;
        tc->resume = keep.resume;
        tc->seed = keep.seed;
        tc->recipe = RECIPES[i].name;
        return AVZ_OK;
    }
    return avz_fail(err, AVZ_ERR_INPUT, "train: unknown recipe '%s' (known: %s)", name,
                    train_recipe_names());
}

float train_lr_at(const TrainConfig *tc, int s) {
    if (s < tc->warmup) return tc->lr * (float)(s + 1) / (float)tc->warmup;
    float t = (float)(s - tc->warmup) / (float)(tc->steps - tc->warmup > 1 ? tc->steps - tc->warmup - 1 : 1);
    if (t > 1) t = 1;
    float lo = tc->lr * tc->min_lr_frac;
    return lo + 0.5f * (tc->lr - lo) * (1.0f + cosf(3.14159265f * t));
}

/* ---- data ------------------------------------------------------------------------ */

/* Fills one row of T+1 tokens: <bos> passage <bos> passage ... cut at T+1. */
void train_sample_row(const Model *m, AvzRng *rng, const CorpusMix *mix, int *row, int T1) {
    static char buf[CORPUS_PASSAGE_CAP];
    int n = 0;
    while (n < T1) {
        corpus_passage(rng, mix, buf, sizeof buf);
        row[n++] = m->vocab.bos_id;
        char *save = NULL;
        for (char *w = strtok_r(buf, " ", &save); w && n < T1; w = strtok_r(NULL, " ", &save)) {
            int id = vocab_lookup(&m->vocab, w);
            row[n++] = id >= 0 ? id : m->vocab.unk_id;
        }
    }
}

/* A batch: inputs (B, T) and targets (B, T) = the next tokens. */
static void sample_batch(const Model *m, AvzRng *rng, const CorpusMix *mix, int B, int T,
                         int *inputs, int *targets) {
    int *row = avz_xmalloc(sizeof(int) * (T + 1));
    for (int b = 0; b < B; b++) {
        train_sample_row(m, rng, mix, row, T + 1);
        memcpy(inputs + b * T, row, sizeof(int) * T);
        memcpy(targets + b * T, row + 1, sizeof(int) * T);
    }
    free(row);
}

/* ---- the optimiser ------------------------------------------------------------------ */

typedef struct {
    float *grads, *m, *v;     /* (num_parameters) each */
    unsigned char *decay;     /* (num_parameters) 1 where weight decay applies */
    int step;                 /* steps taken */
    AvzRng rng;               /* the data stream's state */
} TrainState;

/* Weight decay only on matrices (embeddings and the four weight matrices of each
 * block), never on biases or LayerNorm gains. */
static void mark_decay(const Model *m, unsigned char *decay) {
    static const int is_matrix[N_PARAM_TENSORS] = {1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0};
    size_t off = 0;
    for (int i = 0; i < N_PARAM_TENSORS; i++) {
        memset(decay + off, is_matrix[i], m->param_sizes[i]);
        off += m->param_sizes[i];
    }
}

static float grad_norm(const float *g, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return (float)sqrt(s);
}

/* One AdamW step with global-norm clipping. */
static void adamw_step(const TrainConfig *tc, Model *m, TrainState *st, float lr) {
    size_t n = m->num_parameters;
    float norm = grad_norm(st->grads, n);
    float gs = norm > tc->clip ? tc->clip / norm : 1.0f;
    int t = ++st->step;
    float bc1 = 1.0f - powf(tc->beta1, (float)t), bc2 = 1.0f - powf(tc->beta2, (float)t);
    float *p = m->params_memory;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float g = st->grads[i] * gs;
        st->m[i] = tc->beta1 * st->m[i] + (1.0f - tc->beta1) * g;
        st->v[i] = tc->beta2 * st->v[i] + (1.0f - tc->beta2) * g * g;
        float upd = (st->m[i] / bc1) / (sqrtf(st->v[i] / bc2) + 1e-8f);
        p[i] -= lr * (upd + (st->decay[i] ? tc->weight_decay * p[i] : 0.0f));
    }
    model_params_changed(m);   /* the packed weights of the next pass are stale */
}

/* ---- checkpoints -------------------------------------------------------------------- */

#define STATE_MAGIC 0x41565a54u /* "AVZT" */

static AvzCode save_state(const char *dir, const Model *m, const TrainState *st, char *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/train_state.bin", dir);
    AvzAtomicFile af;
    AvzCode rc = avz_atomic_open(&af, path, err);
    if (rc) return rc;
    uint64_t hdr[4] = {STATE_MAGIC, (uint64_t)st->step, st->rng.s, m->num_parameters};
    size_t n = m->num_parameters;
    int ok = fwrite(hdr, sizeof hdr, 1, af.f) == 1 && fwrite(st->m, 4, n, af.f) == n &&
             fwrite(st->v, 4, n, af.f) == n;
    if (!ok) {
        avz_atomic_abort(&af);
        return avz_fail(err, AVZ_ERR_INTERNAL, "%s: write failed", path);
    }
    return avz_atomic_commit(&af, err);
}

static AvzCode load_state(const char *dir, const Model *m, TrainState *st, char *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/train_state.bin", dir);
    size_t len, n = m->num_parameters;
    char *buf = avz_read_file(path, &len, err);
    if (!buf) return AVZ_ERR_INPUT;
    uint64_t hdr[4];
    AvzCode rc = AVZ_OK;
    if (len != sizeof hdr + 8 * n) {
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: %zu bytes, expected %zu for this model", path,
                      len, sizeof hdr + 8 * n);
    } else {
        memcpy(hdr, buf, sizeof hdr);
        if (hdr[0] != STATE_MAGIC || hdr[3] != n)
            rc = avz_fail(err, AVZ_ERR_INPUT, "%s: not a training state of this model", path);
    }
    if (!rc) {
        st->step = (int)hdr[1];
        st->rng.s = hdr[2];
        memcpy(st->m, buf + sizeof hdr, 4 * n);
        memcpy(st->v, buf + sizeof hdr + 4 * n, 4 * n);
    }
    free(buf);
    return rc;
}

static AvzCode checkpoint(const TrainConfig *tc, const Model *m, const TrainState *st, char *err) {
    AvzCode rc = model_save(m, tc->out_dir, err);
    return rc ? rc : save_state(tc->out_dir, m, st, err);
}

/* ---- evaluation ------------------------------------------------------------------------ */

/* The standard protocol (detect.h) on m through a CPU backend (training is CPU-only:
 * its weights live here): random blocks from every word of the vocabulary after
 * <bos>. cheap: 8 sequences at 3 lengths (8, 16 and the longest that fits), for
 * the evaluations during training; else detect_opts_default. r is the caller's to
 * free (detect_report_free). */
static AvzCode standard_roles(Model *m, int cheap, int twice, DetectReport *r, char *err) {
    DetectOpts o;
    if (twice) lengths_detect_opts_2x(&o, &m->cfg);
    else detect_opts_default(&o, &m->cfg);
    if (cheap) {
        int nmax = o.lengths[o.n_lengths - 1];
        o.n_lengths = 0;
        if (nmax > 8) o.lengths[o.n_lengths++] = 8;
        if (nmax > 16) o.lengths[o.n_lengths++] = 16;
        o.lengths[o.n_lengths++] = nmax;
        o.seqs_per_length = 8;
    }
    int n_pool, *pool = detect_pool_word_vocab(&m->vocab, &n_pool);
    Backend *cpu = backend_cpu_create();
    AvzCode rc = twice ? lengths_detect(&cpu, m, pool, n_pool, m->vocab.bos_id, &o, r, err)
                       : detect_run(&cpu, m, pool, n_pool, m->vocab.bos_id, &o, NULL, r, NULL, err);
    backend_close(cpu);
    free(pool);
    return rc;
}

/* Mean of a report's per-length losses. */
static float mean_of(const float *x, int n) {
    double s = 0;
    for (int k = 0; k < n; k++) s += x[k];
    return n ? (float)(s / n) : NAN;
}

typedef struct {
    float val_loss;
    float std_prev, std_induct;         /* best head by the standard protocol (cheap) */
    float loss_first, loss_second;      /* its mean loss on the first and second copy */
    float prev, induct, coref, agree;   /* best head's role scores on the corpus probes */
    float acc_pronoun, acc_agree, acc_induct, acc_fact;
} EvalResult;

/* Mean loss over n_batches held-out batches (a stream the training never draws). */
static AvzCode val_loss(const TrainConfig *tc, Model *m, int n_batches, float *out, char *err) {
    int B = tc->batch, T = tc->n_positions;
    int *in = avz_xmalloc(sizeof(int) * B * T), *tg = avz_xmalloc(sizeof(int) * B * T);
    AvzRng vr;
    avz_rng_init(&vr, tc->seed ^ 0xA11DA7E5ull);
    double s = 0;
    AvzCode rc = AVZ_OK;
    for (int i = 0; !rc && i < n_batches; i++) {
        sample_batch(m, &vr, &tc->mix, B, T, in, tg);
        rc = model_forward(m, in, tg, B, T, NULL, err);
        s += m->mean_loss;
    }
    free(in);
    free(tg);
    *out = (float)(s / n_batches);
    return rc;
}

static AvzCode evaluate(const TrainConfig *tc, Model *m, EvalResult *e, char *err) {
    AvzCode rc = val_loss(tc, m, tc->val_batches, &e->val_loss, err);
    DetectReport dr;
    if (!rc) rc = standard_roles(m, 1, 0, &dr, err);
    if (rc) return rc;
    e->std_prev = detect_best(&dr, DET_PREV, NULL);
    e->std_induct = detect_best(&dr, DET_INDUCT, NULL);
    e->loss_first = mean_of(dr.loss_first, dr.n_lengths);
    e->loss_second = mean_of(dr.loss_second, dr.n_lengths);
    detect_report_free(&dr);
    ProbeReport pr;
    Backend *cpu = backend_cpu_create();
    rc = probes_run(&cpu, m, PROBES_SEED, tc->probe_count, NULL, &pr, err);
    backend_close(cpu);
    if (rc) return rc;
    e->prev = probes_best(&pr, ROLE_PREV, NULL);
    e->induct = probes_best(&pr, ROLE_INDUCT, NULL);
    e->coref = probes_best(&pr, ROLE_COREF, NULL);
    e->agree = probes_best(&pr, ROLE_AGREE, NULL);
    e->acc_pronoun = pr.acc[BEH_PRONOUN];
    e->acc_agree = pr.acc[BEH_AGREE];
    e->acc_induct = pr.acc[BEH_INDUCT];
    e->acc_fact = pr.acc[BEH_FACT];
    probe_report_free(&pr);
    return AVZ_OK;
}

static AvzCode log_eval(const TrainConfig *tc, int step, float train_loss, float lr,
                        const EvalResult *e, char *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/train_log.csv", tc->out_dir);
    struct stat sb;
    int fresh = stat(path, &sb) != 0;
    FILE *f = fopen(path, "a");
    if (!f) return avz_fail(err, AVZ_ERR_INPUT, "%s: cannot append: %s", path, strerror(errno));
    if (fresh)
        fprintf(f, "step,tokens,train_loss,val_loss,lr,prev_token,induction,coreference,"
                   "agreement,acc_pronoun,acc_agreement,acc_induction,acc_fact,std_prev_token,"
                   "std_induction,std_loss_first,std_loss_second\n");
    fprintf(f, "%d,%ld,%.4f,%.4f,%.6f,%.4f,%.4f,%.4f,%.4f,%.3f,%.3f,%.3f,%.3f,%.4f,%.4f,%.4f,"
            "%.4f\n", step, (long)step * tc->batch * tc->n_positions, train_loss, e->val_loss,
            lr, e->prev, e->induct, e->coref, e->agree, e->acc_pronoun, e->acc_agree,
            e->acc_induct, e->acc_fact, e->std_prev, e->std_induct, e->loss_first,
            e->loss_second);
    fclose(f);
    return AVZ_OK;
}

/* ---- live scores ------------------------------------------------------------------------ */

void train_scores_free(TrainScores *sc) {
    free(sc->prev);
    free(sc->induct);
    free(sc->dup);
    memset(sc, 0, sizeof *sc);
}

/* What a live line measures: the loss on 2 held-out batches, and every head's scores by
 * the cheap standard protocol with the model's loss on each copy of the blocks. */
static AvzCode live_scores(const TrainConfig *tc, Model *m, int step, double wall,
                           double train_loss, float lr, TrainScores *sc, char *err) {
    memset(sc, 0, sizeof *sc);
    DetectReport dr;
    AvzCode rc = val_loss(tc, m, 2, &sc->val_loss, err);
    if (!rc) rc = standard_roles(m, 1, 0, &dr, err);
    if (rc) return rc;
    sc->step = step;
    sc->wall_s = wall;
    sc->tokens = (long)step * tc->batch * tc->n_positions;
    sc->lr = lr;
    sc->train_loss = train_loss < 0 ? NAN : (float)train_loss;
    sc->loss_first = mean_of(dr.loss_first, dr.n_lengths);
    sc->loss_second = mean_of(dr.loss_second, dr.n_lengths);
    sc->L = dr.L;
    sc->NH = dr.NH;
    int nh = dr.L * dr.NH;
    sc->prev = avz_xmalloc(sizeof(float) * nh);
    sc->induct = avz_xmalloc(sizeof(float) * nh);
    sc->dup = avz_xmalloc(sizeof(float) * nh);
    memcpy(sc->prev, dr.score + DET_PREV * nh, sizeof(float) * nh);
    memcpy(sc->induct, dr.score + DET_INDUCT * nh, sizeof(float) * nh);
    memcpy(sc->dup, dr.score + DET_DUP * nh, sizeof(float) * nh);
    detect_report_free(&dr);
    return AVZ_OK;
}

/* One line of the live log: {"step": .., "wall_s": .., "train_loss": .., "val_loss": ..,
 * "loss_first": .., "loss_second": .., "heads": [{"head": "0.0", "prev": .., "induction":
 * .., "duplicate": ..}, ...]}, scores by the cheap standard protocol. train_loss is the
 * moving average (null before the first step). */
AvzCode train_scores_append(const char *path, const TrainScores *sc, char *err) {
    FILE *f = fopen(path, "a");
    if (!f) return avz_fail(err, AVZ_ERR_INPUT, "%s: cannot append: %s", path, strerror(errno));
    char tl[32];
    if (!isfinite(sc->train_loss)) snprintf(tl, sizeof tl, "null");
    else snprintf(tl, sizeof tl, "%.4f", sc->train_loss);
    fprintf(f, "{\"step\": %d, \"wall_s\": %.2f, \"tokens\": %ld, \"lr\": %.6f, \"train_loss\": "
            "%s, \"val_loss\": %.4f, \"loss_first\": %.4f, \"loss_second\": %.4f, \"heads\": [",
            sc->step, sc->wall_s, sc->tokens, sc->lr, tl, sc->val_loss, sc->loss_first,
            sc->loss_second);
    for (int hd = 0; hd < sc->L * sc->NH; hd++)
        fprintf(f, "%s{\"head\": \"%d.%d\", \"prev\": %.4f, \"induction\": %.4f, \"duplicate\": "
                "%.4f}", hd ? ", " : "", hd / sc->NH, hd % sc->NH, sc->prev[hd], sc->induct[hd],
                sc->dup[hd]);
    fprintf(f, "]}\n");
    int bad = ferror(f);
    fclose(f);
    if (bad) return avz_fail(err, AVZ_ERR_INTERNAL, "%s: write failed", path);
    return AVZ_OK;
}

static AvzCode log_live(const TrainConfig *tc, Model *m, int step, double wall, double train_loss,
                        float lr, char *err) {
    TrainScores sc;
    AvzCode rc = live_scores(tc, m, step, wall, train_loss, lr, &sc, err);
    if (!rc) rc = train_scores_append(tc->live_log, &sc, err);
    train_scores_free(&sc);
    return rc;
}

/* ---- the model card ------------------------------------------------------------------------ */

static void card_probe_roles(FILE *f, const ProbeReport *pr) {
    int n = pr->L * pr->NH;
    fprintf(f, "| head |");
    for (int k = 0; k < ROLE_COUNT; k++) fprintf(f, " %s |", probes_role_name(k));
    fprintf(f, "\n|---|");
    for (int k = 0; k < ROLE_COUNT; k++) fprintf(f, "---|");
    fprintf(f, "\n| uniform |");
    for (int k = 0; k < ROLE_COUNT; k++) fprintf(f, " %.2f |", pr->uniform[k]);
    fprintf(f, "\n");
    for (int hd = 0; hd < n; hd++) {
        fprintf(f, "| %d.%d |", hd / pr->NH, hd % pr->NH);
        for (int k = 0; k < ROLE_COUNT; k++) {
            int best;
            probes_best(pr, k, &best);
            float v = pr->score[k * n + hd];
            fprintf(f, best == hd ? " **%.2f** |" : " %.2f |", v);
        }
        fprintf(f, "\n");
    }
}

/* Every head's mean score by the standard protocol, the best per role in bold. */
static void card_standard_heads(FILE *f, const DetectReport *r) {
    static const DetectRole roles[] = {DET_PREV, DET_INDUCT, DET_DUP, DET_FIRST};
    int nh = r->L * r->NH, nr = 4;
    fprintf(f, "| head |");
    for (int k = 0; k < nr; k++) fprintf(f, " %s |", detect_role_name(roles[k]));
    fprintf(f, "\n|---|");
    for (int k = 0; k < nr; k++) fprintf(f, "---|");
    fprintf(f, "\n| uniform |");
    for (int k = 0; k < nr; k++) fprintf(f, " %.2f |", r->uniform[roles[k]]);
    fprintf(f, "\n");
    for (int hd = 0; hd < nh; hd++) {
        fprintf(f, "| %d.%d |", hd / r->NH, hd % r->NH);
        for (int k = 0; k < nr; k++) {
            int best;
            detect_best(r, roles[k], &best);
            fprintf(f, best == hd ? " **%.2f** |" : " %.2f |", r->score[roles[k] * nh + hd]);
        }
        fprintf(f, "\n");
    }
}

/* Per block length: the best previous-token and induction heads' scores and the
 * model's loss on each copy. */
static void card_by_length(FILE *f, const DetectReport *r, int prev, int ind) {
    fprintf(f, "| block length n | tokens | previous-token %d.%d | induction %d.%d | loss, "
               "first copy | loss, second copy |\n|---|---|---|---|---|---|\n",
            prev / r->NH, prev % r->NH, ind / r->NH, ind % r->NH);
    for (int k = 0; k < r->n_lengths; k++)
        fprintf(f, "| %d | %d | %.2f | %.2f | %.2f | %.2f |\n", r->lengths[k],
                2 * r->lengths[k] + (r->bos >= 0), detect_at(r, DET_PREV, k, prev),
                detect_at(r, DET_INDUCT, k, ind), r->loss_first[k], r->loss_second[k]);
}

/* The headline: roles by the standard protocol, at the training context and at twice
 * it (where the encoding allows), then every head's scores. */
static AvzCode card_standard(FILE *f, Model *m, char *err) {
    DetectReport r, r2;
    AvzCode rc = standard_roles(m, 0, 0, &r, err);
    if (rc) return rc;
    int prev, ind, has2 = m->cfg.pe != PE_LEARNED;
    float sp = detect_best(&r, DET_PREV, &prev), si = detect_best(&r, DET_INDUCT, &ind);
    if (has2 && (rc = standard_roles(m, 0, 1, &r2, err))) { detect_report_free(&r); return rc; }
    char label[256];
    detect_protocol_label(&r, label, sizeof label);
    fprintf(f, "## Head roles by the standard protocol\n\n`<bos>` and a block of n words "
               "drawn uniformly from the whole vocabulary, then the same block again "
               "(Olsson et al. 2022; TransformerLens): nothing but copying can predict the "
               "second copy. A score is the head's mean attention on the cell its role "
               "predicts (`model/detect.h`; %s; uniform attention scores %.2f and %.2f).\n\n",
            label, r.uniform[DET_PREV], r.uniform[DET_INDUCT]);
    fprintf(f, "- **Best previous-token head:** %d.%d, %.2f (weakest length %.2f).\n",
            prev / r.NH, prev % r.NH, sp, detect_min_over_lengths(&r, DET_PREV, prev));
    fprintf(f, "- **Best induction head:** %d.%d, %.2f (weakest length %.2f).\n", ind / r.NH,
            ind % r.NH, si, detect_min_over_lengths(&r, DET_INDUCT, ind));
    fprintf(f, "- **Loss on the random blocks:** first copy %.2f, second copy %.2f nats per "
               "token (mean over the lengths; knowing nothing of the block scores ln %d = "
               "%.2f).\n\n", mean_of(r.loss_first, r.n_lengths),
            mean_of(r.loss_second, r.n_lengths), r.n_pool, r.loss_chance);
    card_by_length(f, &r, prev, ind);
    if (has2) {
        fprintf(f, "\nAt twice the training context (blocks past the %d tokens it trained on; "
                   "the same heads):\n\n", m->cfg.n_positions);
        card_by_length(f, &r2, prev, ind);
        detect_report_free(&r2);
    } else {
        fprintf(f, "\nA learned position table ends at %d positions: there is no twice the "
                   "context to measure.\n", m->cfg.n_positions);
    }
    fprintf(f, "\nEvery head (mean over the lengths; the best per role in bold):\n\n");
    card_standard_heads(f, &r);
    detect_report_free(&r);
    return AVZ_OK;
}

/* The mix, as the command-line options that set it. */
static void card_mix_options(FILE *f, const CorpusMix *x) {
    fprintf(f, "--coref %.2f --agree %.2f --facts %.2f --lists %.2f --induct %.2f --blocks %.2f "
               "--echo %.2f", x->w_coref, x->w_agree, x->w_facts, x->w_induct_list,
            x->w_induct_random, x->w_blocks, x->w_echo);
    if (x->w_twoback > 0) fprintf(f, " --twoback %.2f", x->w_twoback);
}

/* Writes <out>/README.md: what the model is, how it was trained, what it learned. */
static AvzCode write_card(const TrainConfig *tc, Model *m, float train_loss, double secs,
                          char *err) {
    EvalResult e;
    ProbeReport pr;
    AvzCode rc = evaluate(tc, m, &e, err);
    if (!rc) {
        Backend *cpu = backend_cpu_create();
        rc = probes_run(&cpu, m, PROBES_SEED, 100, NULL, &pr, err);
        backend_close(cpu);
    }
    if (rc) return rc;
    char path[4200];
    snprintf(path, sizeof path, "%s/README.md", tc->out_dir);
    AvzAtomicFile af;
    if ((rc = avz_atomic_open(&af, path, err))) { probe_report_free(&pr); return rc; }
    FILE *f = af.f;
    const ModelConfig *c = &m->cfg;
    const CorpusMix *x = &tc->mix;
    fprintf(f, "# attnviz model: %s\n\n", pe_name(c->pe));
    fprintf(f, "A GPT-2 style transformer trained from scratch by `attnviz train` on the "
               "synthetic corpus of `model/CORPUS.md`.\n\n");
    fprintf(f, "- **Architecture:** %d layers x %d heads, width %d, head size %d, trained "
               "context %d tokens, position encoding `%s`, vocabulary %d words, %zu "
               "parameters.\n", c->n_layer, c->n_head, c->n_embd, c->n_embd / c->n_head,
            c->n_positions, pe_name(c->pe), c->vocab_size, m->num_parameters);
    fprintf(f, "- **Corpus mix (weights):** coreference %.2f, agreement %.2f, facts %.2f, "
               "repeated lists %.2f, repeated random spans %.2f, random blocks from the whole "
               "vocabulary %.2f, echoes of ordinary text %.2f", x->w_coref, x->w_agree,
            x->w_facts, x->w_induct_list, x->w_induct_random, x->w_blocks, x->w_echo);
    if (x->w_twoback > 0)
        fprintf(f, ", random words whose next word is half the time the word two back %.2f",
                x->w_twoback);
    fprintf(f, " (repeat fraction %.2f).\n", x->repeat_frac);
    fprintf(f, "- **Training:** %d steps of %d x %d tokens (%.1fM tokens), AdamW (lr %.1e, "
               "warmup %d, cosine to %.0f%%, weight decay %.2f on matrices, clip %.1f), seed "
               "%llu, %d thread(s), %.1f minutes.\n", tc->steps, tc->batch, c->n_positions,
            tc->steps * (double)tc->batch * c->n_positions / 1e6, tc->lr, tc->warmup,
            100 * tc->min_lr_frac, tc->weight_decay, tc->clip, (unsigned long long)tc->seed,
            tc->threads, secs / 60);
    fprintf(f, "- **Final loss:** train %.3f (moving average), validation %.3f (held-out "
               "passages).\n", train_loss, e.val_loss);
    fprintf(f, "- **Behaviour on held-out probes:** pronoun %.0f%%, agreement %.0f%%, "
               "induction %.0f%%, facts %.0f%%.\n\n", 100 * pr.acc[BEH_PRONOUN],
            100 * pr.acc[BEH_AGREE], 100 * pr.acc[BEH_INDUCT], 100 * pr.acc[BEH_FACT]);
    rc = card_standard(f, m, err);
    if (rc) {
        avz_atomic_abort(&af);
        probe_report_free(&pr);
        return rc;
    }
    fprintf(f, "\n## Corpus probes\n\nThe same roles, and coreference and agreement, on "
               "held-out passages shaped like the training corpus (`attnviz heads --roles`, "
               "100 probes per kind, model/probes.h): fraction of each head's attention on "
               "the cells a role predicts, the best head per role in bold. These passages "
               "are the template the corpus teaches, so they flatter a model next to the "
               "standard protocol above.\n\n");
    card_probe_roles(f, &pr);
    fprintf(f, "\nThe training curve, with the best heads' scores at every evaluation (the "
               "standard protocol in a cheap setting: 8 sequences at 3 lengths), is in "
               "`train_log.csv`.\n\nReproduce: `attnviz train --pe %s", pe_name(c->pe));
    if (tc->recipe && tc->recipe[0]) fprintf(f, " --recipe %s", tc->recipe);
    fprintf(f, " --layers %d --heads %d --embd %d --context %d --steps %d --batch %d --lr %g "
               "--warmup %d ", c->n_layer, c->n_head, c->n_embd, c->n_positions, tc->steps,
            tc->batch, tc->lr, tc->warmup);
    card_mix_options(f, x);
    if (tc->random_positions > 0) fprintf(f, " --random-positions %d", tc->random_positions);
    fprintf(f, " --seed %llu --threads %d --out DIR`%s.\n", (unsigned long long)tc->seed,
            tc->threads, tc->recipe && !strcmp(tc->recipe, "shipped") ? " (or `make models`)"
                                                                         : "");
    probe_report_free(&pr);
    return avz_atomic_commit(&af, err);
}

/* ---- the loop ----------------------------------------------------------------------------- */

static void progress_bar(const TrainConfig *tc, int step, float loss, double tok_s, double eta) {
    if (tc->quiet) return;
    int w = 24, fill = (int)((double)step / tc->steps * w);
    char bar[32];
    for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '.';
    bar[w] = '\0';
    fprintf(stderr, "\r  step %5d/%d [%s] loss %.3f | %6.0f tok/s | ETA %dm%02ds  ", step,
            tc->steps, bar, loss, tok_s, (int)eta / 60, (int)eta % 60);
    fflush(stderr);
}

static AvzCode setup_model(const TrainConfig *tc, Model *m, char *err) {
    if (tc->resume) return model_load(m, tc->out_dir, err);
    const char *const *words;
    int n = corpus_vocab(&words);
    Vocab v;
    AvzCode rc = vocab_from_words(&v, words, n, err);
    if (rc) return rc;
    char json[512];
    snprintf(json, sizeof json, "{\"n_layer\": %d, \"n_head\": %d, \"n_embd\": %d, "
             "\"n_positions\": %d, \"vocab_size\": %d, \"position_encoding\": \"%s\"}",
             tc->n_layer, tc->n_head, tc->n_embd, tc->n_positions, n, pe_name(tc->pe));
    ModelConfig cfg;
    rc = config_parse(&cfg, json, "attnviz train", err);
    if (!rc) rc = model_create(m, &cfg, &v, err);
    if (rc) { vocab_free(&v); return rc; }
    model_init_random(m, tc->seed);
    if (tc->out_dir && mkdir(tc->out_dir, 0755) != 0 && errno != EEXIST) {
        model_free(m);
        return avz_fail(err, AVZ_ERR_INPUT, "%s: cannot create folder: %s", tc->out_dir,
                        strerror(errno));
    }
    return AVZ_OK;
}

/* ---- a run, one step at a time ----------------------------------------------------------- */

struct TrainSession {
    TrainConfig tc;             /* the run's settings (the resumed model's shape) */
    Model m;
    TrainState st;
    int *in, *tg;               /* (B, T) the batch */
    int *pos;                   /* (T) the step's random positions, or NULL (random_positions) */
    double ema;                 /* moving average of the loss, < 0 before the first step */
    double t0;                  /* when the session opened */
    float *good;                /* (num_parameters) the weights at the last good point */
    int good_step;
};

AvzCode train_session_open(TrainSession **out, const TrainConfig *tc, char *err) {
    *out = NULL;
    if (tc->steps < 1 || tc->batch < 1 || tc->eval_every < 1 || tc->warmup < 1 || tc->lr <= 0)
        return avz_fail(err, AVZ_ERR_INPUT, "train: --steps, --batch, --eval-every, --warmup "
                        "and --lr must be positive");
    if (tc->live_log && tc->live_every < 1)
        return avz_fail(err, AVZ_ERR_INPUT, "train: --live-every must be positive (got %d)",
                        tc->live_every);
    AvzCode rc = corpus_mix_check(&tc->mix, err);
    if (rc) return rc;
    if (tc->random_positions && (tc->pe != PE_ROPE || tc->random_positions < tc->n_positions))
        return avz_fail(err, AVZ_ERR_INPUT, "train: --random-positions %d needs --pe rope and "
                        "at least the context (%d)", tc->random_positions, tc->n_positions);
#ifdef _OPENMP
    if (tc->threads > 0) omp_set_num_threads(tc->threads);
#endif
    TrainSession *s = avz_xcalloc(1, sizeof *s);
    if ((rc = setup_model(tc, &s->m, err))) { free(s); return rc; }
    /* a resumed run keeps the shape of the model it resumes */
    s->tc = *tc;
    s->tc.pe = s->m.cfg.pe;
    s->tc.n_layer = s->m.cfg.n_layer;
    s->tc.n_head = s->m.cfg.n_head;
    s->tc.n_embd = s->m.cfg.n_embd;
    s->tc.n_positions = s->m.cfg.n_positions;
    size_t n = s->m.num_parameters;
    s->st.grads = avz_xcalloc(n, 4);
    s->st.m = avz_xcalloc(n, 4);
    s->st.v = avz_xcalloc(n, 4);
    s->st.decay = avz_xcalloc(n, 1);
    s->good = avz_xmalloc(4 * n);
    mark_decay(&s->m, s->st.decay);
    avz_rng_init(&s->st.rng, tc->seed);
    if (tc->resume && (rc = load_state(tc->out_dir, &s->m, &s->st, err))) {
        train_session_close(s);
        return rc;
    }
    int B = s->tc.batch, T = s->tc.n_positions;
    s->in = avz_xmalloc(sizeof(int) * B * T);
    s->tg = avz_xmalloc(sizeof(int) * B * T);
    if (s->tc.random_positions > 0 && s->m.cfg.pe == PE_ROPE)
        s->pos = avz_xmalloc(sizeof(int) * T);
    s->ema = -1;
    s->t0 = avz_now();
    train_session_keep(s);
    *out = s;
    return AVZ_OK;
}

/* One step of the textbook loop: a batch, the forward pass with targets, the
 * backward pass, an AdamW step. A loss that is not a finite number means the run
 * diverged: the step is not taken and the weights go back to the last good point. */
AvzCode train_session_step(TrainSession *s, float *loss, char *err) {
    const TrainConfig *tc = &s->tc;
    int B = tc->batch, T = tc->n_positions, step = s->st.step;
    sample_batch(&s->m, &s->st.rng, &tc->mix, B, T, s->in, s->tg);
    if (s->pos) {                  /* one random draw of positions for the step's batch */
        posenc_random_positions(s->pos, T, tc->random_positions, &s->st.rng);
        s->m.rope_pos = s->pos;
    }
    AvzCode rc = model_forward(&s->m, s->in, s->tg, B, T, NULL, err);
    if (rc) { s->m.rope_pos = NULL; return rc; }
    float l = s->m.mean_loss;
    if (loss) *loss = l;
    if (!isfinite(l)) {
        memcpy(s->m.params_memory, s->good, 4 * s->m.num_parameters);
        model_params_changed(&s->m);
        return avz_fail(err, AVZ_ERR_INPUT, "train: the loss diverged (%s) at step %d; the "
                        "weights are back to those of step %d, the last good point (try a "
                        "lower learning rate)", isnan(l) ? "NaN" : "infinite", step + 1,
                        s->good_step);
    }
    s->ema = s->ema < 0 ? l : 0.95 * s->ema + 0.05 * l;
    memset(s->st.grads, 0, sizeof(float) * s->m.num_parameters);
    model_backward(&s->m, s->in, s->tg, s->st.grads);
    s->m.rope_pos = NULL;          /* everything else reads ordinary positions */
    adamw_step(tc, &s->m, &s->st, train_lr_at(tc, step));
    return AVZ_OK;
}

void train_session_keep(TrainSession *s) {
    memcpy(s->good, s->m.params_memory, 4 * s->m.num_parameters);
    s->good_step = s->st.step;
}

int train_session_steps(const TrainSession *s) { return s->st.step; }
float train_session_loss(const TrainSession *s) { return s->ema < 0 ? NAN : (float)s->ema; }
const TrainConfig *train_session_config(const TrainSession *s) { return &s->tc; }
Model *train_session_model(TrainSession *s) { return &s->m; }

AvzCode train_session_scores(TrainSession *s, TrainScores *out, char *err) {
    int step = s->st.step;
    return live_scores(&s->tc, &s->m, step, avz_now() - s->t0, s->ema,
                       train_lr_at(&s->tc, step > 0 ? step - 1 : 0), out, err);
}

/* A model folder is written whole or not at all: every file into a fresh sibling
 * folder, which is then renamed onto dir (a folder of that name that is already there
 * is refused, never half overwritten). */
AvzCode train_session_save(TrainSession *s, const char *dir, char *err) {
    struct stat sb;
    if (stat(dir, &sb) == 0)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: already exists; choose a new folder", dir);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.partial-%ld", dir, (long)getpid());
    if (mkdir(tmp, 0755) != 0)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: cannot create folder: %s", tmp, strerror(errno));
    TrainConfig t = s->tc;
    t.out_dir = tmp;
    t.steps = s->st.step;  /* the card tells the steps taken */
    AvzCode rc = model_save(&s->m, tmp, err);
    if (!rc) rc = write_card(&t, &s->m, train_session_loss(s), avz_now() - s->t0, err);
    if (!rc && rename(tmp, dir) != 0)
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: cannot rename into place: %s", dir,
                      strerror(errno));
    if (rc) {   /* nothing half-written stays behind */
        static const char *files[] = {"config.json", "model.safetensors", "vocab.json",
                                      "README.md"};
        char p[4300];
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(p, sizeof p, "%s/%s", tmp, files[i]);
            unlink(p);
        }
        rmdir(tmp);
    }
    return rc;
}

void train_session_close(TrainSession *s) {
    if (!s) return;
    free(s->st.grads);
    free(s->st.m);
    free(s->st.v);
    free(s->st.decay);
    free(s->good);
    free(s->in);
    free(s->tg);
    free(s->pos);
    model_free(&s->m);
    free(s);
}

/* ---- the command-line run: the session's steps with a progress bar, logs and checkpoints */

static AvzCode train_loop(TrainSession *s, char *err) {
    const TrainConfig *tc = &s->tc;
    TrainState *st = &s->st;
    Model *m = &s->m;
    double t0 = avz_now();
    int first = st->step;
    AvzCode rc = AVZ_OK;
    int end = tc->stop_at > 0 && tc->stop_at < tc->steps ? tc->stop_at : tc->steps;
    int live = tc->live_log && tc->live_every > 0;
    if (live && st->step == 0)          /* the untrained model: the scores before any step */
        rc = log_live(tc, m, 0, 0.0, -1.0, train_lr_at(tc, 0), err);
    while (!rc && st->step < end) {
        float lr = train_lr_at(tc, st->step);
        if ((rc = train_session_step(s, NULL, err))) break;
        double el = avz_now() - t0, done = st->step - first;
        progress_bar(tc, st->step, (float)s->ema, done * tc->batch * tc->n_positions / el,
                     el / done * (tc->steps - st->step));
        if (live && (st->step % tc->live_every == 0 || st->step == tc->steps))
            rc = log_live(tc, m, st->step, avz_now() - t0, s->ema, lr, err);
        if (!rc && (st->step % tc->eval_every == 0 || st->step == tc->steps)) {
            EvalResult e;
            rc = evaluate(tc, m, &e, err);
            if (!rc) rc = log_eval(tc, st->step, (float)s->ema, lr, &e, err);
            if (!rc) rc = checkpoint(tc, m, st, err);
            if (!rc) train_session_keep(s);
            if (!rc && !tc->quiet)
                fprintf(stderr, "\n  eval %5d: val %.3f | standard: prev %.2f induct %.2f, loss "
                        "copy 1 %.2f copy 2 %.2f | corpus probes: prev %.2f induct %.2f coref "
                        "%.2f agree %.2f | acc: pronoun %.2f agree %.2f induct %.2f fact %.2f\n",
                        st->step, e.val_loss, e.std_prev, e.std_induct, e.loss_first,
                        e.loss_second, e.prev, e.induct, e.coref, e.agree, e.acc_pronoun,
                        e.acc_agree, e.acc_induct, e.acc_fact);
        }
    }
    return rc;
}

AvzCode train_run(const TrainConfig *tc, char *err) {
    TrainSession *s;
    AvzCode rc = train_session_open(&s, tc, err);
    if (rc) return rc;
    tc = &s->tc;
    if (!tc->quiet)
        fprintf(stderr, "training %s: %d layers x %d heads, C=%d, T=%d, %zu parameters, "
                "batch %d, %d steps%s\n", pe_name(tc->pe), tc->n_layer, tc->n_head, tc->n_embd,
                tc->n_positions, s->m.num_parameters, tc->batch, tc->steps,
                tc->resume ? " (resumed)" : "");
    double t0 = avz_now();
    rc = train_loop(s, err);
    if (!rc && s->st.step == tc->steps)
        rc = write_card(tc, &s->m, train_session_loss(s), avz_now() - t0, err);
    train_session_close(s);
    return rc;
}
