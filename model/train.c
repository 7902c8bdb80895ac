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
#include "model.h"
#include "probes.h"

void train_config_default(TrainConfig *tc) {
    memset(tc, 0, sizeof *tc);
    tc->pe = PE_ROPE;
    tc->n_layer = 2;
    tc->n_head = 4;
    tc->n_embd = 64;
    tc->n_positions = 64;
    tc->steps = 4000;
    tc->batch = 16;
    tc->warmup = 200;
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
    corpus_mix_default(&tc->mix);
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

typedef struct {
    float val_loss;
    float prev, induct, coref, agree;   /* best head's role scores */
    float acc_pronoun, acc_agree, acc_induct, acc_fact;
} EvalResult;

static AvzCode evaluate(const TrainConfig *tc, Model *m, EvalResult *e, char *err) {
    int B = tc->batch, T = tc->n_positions;
    int *in = avz_xmalloc(sizeof(int) * B * T), *tg = avz_xmalloc(sizeof(int) * B * T);
    AvzRng vr;
    avz_rng_init(&vr, tc->seed ^ 0xA11DA7E5ull);   /* held-out: never the training stream */
    double s = 0;
    AvzCode rc = AVZ_OK;
    for (int i = 0; !rc && i < tc->val_batches; i++) {
        sample_batch(m, &vr, &tc->mix, B, T, in, tg);
        rc = model_forward(m, in, tg, B, T, NULL, err);
        s += m->mean_loss;
    }
    free(in);
    free(tg);
    if (rc) return rc;
    e->val_loss = (float)(s / tc->val_batches);
    ProbeReport pr;
    Backend *cpu = backend_cpu_create();   /* training is CPU-only: its weights live here */
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
                   "agreement,acc_pronoun,acc_agreement,acc_induction,acc_fact\n");
    fprintf(f, "%d,%ld,%.4f,%.4f,%.6f,%.4f,%.4f,%.4f,%.4f,%.3f,%.3f,%.3f,%.3f\n", step,
            (long)step * tc->batch * tc->n_positions, train_loss, e->val_loss, lr, e->prev,
            e->induct, e->coref, e->agree, e->acc_pronoun, e->acc_agree, e->acc_induct,
            e->acc_fact);
    fclose(f);
    return AVZ_OK;
}

/* ---- the model card ------------------------------------------------------------------------ */

static void card_roles(FILE *f, const ProbeReport *pr) {
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
    fprintf(f, "# attnviz model: %s\n\n", pe_name(c->pe));
    fprintf(f, "A GPT-2 style transformer trained from scratch by `attnviz train` on the "
               "synthetic corpus of `model/CORPUS.md`.\n\n");
    fprintf(f, "- **Architecture:** %d layers x %d heads, width %d, head size %d, trained "
               "context %d tokens, position encoding `%s`, vocabulary %d words, %zu "
               "parameters.\n", c->n_layer, c->n_head, c->n_embd, c->n_embd / c->n_head,
            c->n_positions, pe_name(c->pe), c->vocab_size, m->num_parameters);
    fprintf(f, "- **Corpus mix (weights):** coreference %.2f, agreement %.2f, facts %.2f, "
               "repeated lists %.2f, repeated random spans %.2f (repeat fraction %.2f).\n",
            tc->mix.w_coref, tc->mix.w_agree, tc->mix.w_facts, tc->mix.w_induct_list,
            tc->mix.w_induct_random, tc->mix.repeat_frac);
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
    fprintf(f, "## Head roles\n\nFraction of each head's attention on the cells a role "
               "predicts (`attnviz heads --roles`, 100 held-out probes per kind); the best "
               "head per role in bold.\n\n");
    card_roles(f, &pr);
    fprintf(f, "\nThe training curve, with the best head's role scores at every "
               "evaluation, is in `train_log.csv`.\n\nReproduce: `attnviz train --pe %s "
               "--steps %d --batch %d --induct %.2f --seed %llu --threads %d --out DIR` "
               "(or `make models`).\n", pe_name(c->pe), tc->steps, tc->batch,
            tc->mix.w_induct_random, (unsigned long long)tc->seed, tc->threads);
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
    if (mkdir(tc->out_dir, 0755) != 0 && errno != EEXIST) {
        model_free(m);
        return avz_fail(err, AVZ_ERR_INPUT, "%s: cannot create folder: %s", tc->out_dir,
                        strerror(errno));
    }
    return AVZ_OK;
}

static AvzCode train_loop(const TrainConfig *tc, Model *m, TrainState *st, float *final_loss,
                          char *err) {
    int B = tc->batch, T = tc->n_positions;
    int *in = avz_xmalloc(sizeof(int) * B * T), *tg = avz_xmalloc(sizeof(int) * B * T);
    double t0 = avz_now(), ema = -1;
    int first = st->step;
    AvzCode rc = AVZ_OK;
    int end = tc->stop_at > 0 && tc->stop_at < tc->steps ? tc->stop_at : tc->steps;
    while (!rc && st->step < end) {
        int s = st->step;
        sample_batch(m, &st->rng, &tc->mix, B, T, in, tg);
        rc = model_forward(m, in, tg, B, T, NULL, err);
        if (rc) break;
        float loss = m->mean_loss;
        ema = ema < 0 ? loss : 0.95 * ema + 0.05 * loss;
        memset(st->grads, 0, sizeof(float) * m->num_parameters);
        model_backward(m, in, tg, st->grads);
        float lr = train_lr_at(tc, s);
        adamw_step(tc, m, st, lr);
        double el = avz_now() - t0, done = st->step - first;
        progress_bar(tc, st->step, (float)ema, done * B * T / el,
                     el / done * (tc->steps - st->step));
        if (st->step % tc->eval_every == 0 || st->step == tc->steps) {
            EvalResult e;
            rc = evaluate(tc, m, &e, err);
            if (!rc) rc = log_eval(tc, st->step, (float)ema, lr, &e, err);
            if (!rc) rc = checkpoint(tc, m, st, err);
            if (!rc && !tc->quiet)
                fprintf(stderr, "\n  eval %5d: val %.3f | best heads: prev %.2f induct %.2f "
                        "coref %.2f agree %.2f | acc: pronoun %.2f agree %.2f induct %.2f "
                        "fact %.2f\n", st->step, e.val_loss, e.prev, e.induct, e.coref,
                        e.agree, e.acc_pronoun, e.acc_agree, e.acc_induct, e.acc_fact);
        }
    }
    *final_loss = (float)ema;
    free(in);
    free(tg);
    return rc;
}

AvzCode train_run(const TrainConfig *tc, char *err) {
    if (tc->steps < 1 || tc->batch < 1 || tc->eval_every < 1 || tc->warmup < 1 || tc->lr <= 0)
        return avz_fail(err, AVZ_ERR_INPUT, "train: --steps, --batch, --eval-every, --warmup "
                        "and --lr must be positive");
    AvzCode rc = corpus_mix_check(&tc->mix, err);
    if (rc) return rc;
#ifdef _OPENMP
    if (tc->threads > 0) omp_set_num_threads(tc->threads);
#endif
    Model m;
    if ((rc = setup_model(tc, &m, err))) return rc;
    /* a resumed run keeps the shape of the model it resumes */
    TrainConfig t = *tc;
    t.pe = m.cfg.pe;
    t.n_layer = m.cfg.n_layer;
    t.n_head = m.cfg.n_head;
    t.n_embd = m.cfg.n_embd;
    t.n_positions = m.cfg.n_positions;
    tc = &t;
    TrainState st = {0};
    size_t n = m.num_parameters;
    st.grads = avz_xcalloc(n, 4);
    st.m = avz_xcalloc(n, 4);
    st.v = avz_xcalloc(n, 4);
    st.decay = avz_xcalloc(n, 1);
    mark_decay(&m, st.decay);
    avz_rng_init(&st.rng, tc->seed);
    if (tc->resume) rc = load_state(tc->out_dir, &m, &st, err);
    if (!rc && !tc->quiet)
        fprintf(stderr, "training %s: %d layers x %d heads, C=%d, T=%d, %zu parameters, "
                "batch %d, %d steps%s\n", pe_name(tc->pe), m.cfg.n_layer, m.cfg.n_head,
                m.cfg.n_embd, m.cfg.n_positions, n, tc->batch, tc->steps,
                tc->resume ? " (resumed)" : "");
    double t0 = avz_now();
    float final_loss = 0;
    if (!rc) rc = train_loop(tc, &m, &st, &final_loss, err);
    if (!rc && st.step == tc->steps) rc = write_card(tc, &m, final_loss, avz_now() - t0, err);
    free(st.grads);
    free(st.m);
    free(st.v);
    free(st.decay);
    model_free(&m);
    return rc;
}
