/* probes.c: head-role scores and behaviour accuracies on held-out probe passages
 * (see probes.h). Each score is computed from real captured attention maps. */
#include "probes.h"

#include <math.h>
#include <string.h>

static const char *ROLE_NAMES[ROLE_COUNT] = {"previous-token", "duplicate-token", "induction",
                                             "coreference", "agreement", "first-token"};
static const char *BEH_NAMES[BEH_COUNT] = {"pronoun", "agreement", "induction", "fact"};

const char *probes_role_name(HeadRole r) { return ROLE_NAMES[r]; }
const char *probes_behaviour_name(Behaviour b) { return BEH_NAMES[b]; }

/* Running sums for every head's role scores. */
typedef struct {
    int nh;                        /* L * NH */
    double *sum;                   /* (ROLE_COUNT, nh) attention on the expected cells */
    double rows[ROLE_COUNT];       /* rows counted */
    double uni[ROLE_COUNT];        /* what uniform attention would have put there */
    int correct[BEH_COUNT], total[BEH_COUNT];
} Acc;

/* Adds, for every head, the attention of row i on the keys in keys[0..nk). */
static void add_row(Acc *a, HeadRole role, const float *maps, int T, int i, const int *keys,
                    int nk) {
    if (nk == 0) return;
    for (int hd = 0; hd < a->nh; hd++) {
        const float *row = maps + ((size_t)hd * T + i) * T;
        double s = 0;
        for (int k = 0; k < nk; k++) s += row[keys[k]];
        a->sum[role * a->nh + hd] += s;
    }
    a->rows[role] += 1;
    a->uni[role] += (double)nk / (i + 1);   /* causal uniform: 1/(i+1) per visible key */
}

/* First-token is measured on every probe. Previous-token and duplicate-token are
 * measured on the induction probes (random words, then a filler, then the same
 * words again), as Olsson et al. (2022) and TransformerLens measure them on
 * repeated random tokens: there nothing but position says where to look, and a
 * duplicate is an exact repeat. */
static void score_generic(Acc *a, const float *maps, const int *ids, int T, int random_span) {
    int keys[256];
    for (int i = 1; i < T; i++) {
        int prev = i - 1, zero = 0, nk = 0;
        add_row(a, ROLE_SINK, maps, T, i, &zero, 1);
        if (!random_span) continue;
        add_row(a, ROLE_PREV, maps, T, i, &prev, 1);
        for (int j = 1; j < i && nk < 256; j++)
            if (ids[j] == ids[i]) keys[nk++] = j;
        add_row(a, ROLE_DUP, maps, T, i, keys, nk);
    }
}

/* Induction: each token of the second copy -> the token after its first copy. */
static void score_induction(Acc *a, const Probe *p, const float *maps, const float *probs,
                            const int *ids, int T, int V) {
    for (int r = 0; r < p->span_len; r++) {
        int i = p->repeat_start + r, e = p->span_start + r;
        if (i >= T) break;
        int key = e + 1;
        if (key < p->repeat_start) add_row(a, ROLE_INDUCT, maps, T, i, &key, 1);
        /* behaviour: from the second token of the copy on, the next token is known */
        if (r >= 1 && i + 1 < T && r + 1 < p->span_len) {
            const float *pr = probs + (size_t)i * V;
            int best = 0;
            for (int v = 1; v < V; v++) best = pr[v] > pr[best] ? v : best;
            a->correct[BEH_INDUCT] += best == ids[i + 1];
            a->total[BEH_INDUCT]++;
        }
    }
}

/* P(answer) > P(wrong) at the row that predicts the query token. */
static void score_choice(Acc *a, Behaviour b, const Probe *p, const Model *m, const float *probs,
                         int T) {
    int ia = vocab_lookup(&m->vocab, p->answer), iw = vocab_lookup(&m->vocab, p->wrong);
    if (ia < 0 || iw < 0 || p->query < 1 || p->query >= T) return;
    const float *pr = probs + (size_t)(p->query - 1) * m->cfg.vocab_size;
    a->correct[b] += pr[ia] > pr[iw];
    a->total[b]++;
}

static AvzCode run_probe(Backend **bep, Model *m, const Probe *p, const ForwardOpts *opts, Acc *a, char *err) {
    Tokens tok;
    AvzCode rc = tokenize(&m->vocab, p->text, 1 << 16, &tok, err);
    if (rc) return rc;
    int T = tok.n, V = m->cfg.vocab_size;
    if (T > config_max_len(&m->cfg)) {   /* longer than a short-context model takes: left out */
        tokens_free(&tok);
        return AVZ_OK;
    }
    rc = backend_forward(bep, m, tok.ids, NULL, 1, T, opts, NULL, err);
    if (rc) { tokens_free(&tok); return rc; }
    float *maps = avz_xmalloc(sizeof(float) * (size_t)a->nh * T * T);
    for (int hd = 0; hd < a->nh; hd++)   /* (L, NH, T, T), head hd = l * NH + h */
        (*bep)->capture(*bep, m, hd / m->cfg.n_head, hd % m->cfg.n_head, 0,
                        maps + (size_t)hd * T * T);
    const float *probs = model_probs(m);
    score_generic(a, maps, tok.ids, T, p->kind == PROBE_INDUCT);
    int nt = 0, keys[4];
    for (int k = 0; k < p->n_targets; k++)
        if (p->targets[k] < p->query) keys[nt++] = p->targets[k];
    if (p->query > 0 && p->query < T) {
        if (p->kind == PROBE_COREF) add_row(a, ROLE_COREF, maps, T, p->query, keys, nt);
        if (p->kind == PROBE_AGREE) add_row(a, ROLE_AGREE, maps, T, p->query, keys, nt);
    }
    if (p->kind == PROBE_INDUCT) score_induction(a, p, maps, probs, tok.ids, T, V);
    if (p->kind == PROBE_COREF) score_choice(a, BEH_PRONOUN, p, m, probs, T);
    if (p->kind == PROBE_AGREE) score_choice(a, BEH_AGREE, p, m, probs, T);
    if (p->kind == PROBE_FACT) score_choice(a, BEH_FACT, p, m, probs, T);
    free(maps);
    tokens_free(&tok);
    return AVZ_OK;
}

AvzCode probes_run(Backend **bep, Model *m, uint64_t seed, int n_per_kind, const ForwardOpts *opts,
                   ProbeReport *r, char *err) {
    memset(r, 0, sizeof *r);
    Acc a = {0};
    a.nh = m->cfg.n_layer * m->cfg.n_head;
    a.sum = avz_xcalloc((size_t)ROLE_COUNT * a.nh, sizeof(double));
    AvzCode rc = AVZ_OK;
    ProbeKind kinds[4] = {PROBE_COREF, PROBE_AGREE, PROBE_INDUCT, PROBE_FACT};
    for (int k = 0; !rc && k < 4; k++) {
        AvzRng rng;
        avz_rng_init(&rng, seed + 1000003ull * (uint64_t)k);
        for (int i = 0; !rc && i < n_per_kind; i++) {
            Probe p;
            if (corpus_probe(&rng, kinds[k], &p) != 0) continue;
            rc = run_probe(bep, m, &p, opts, &a, err);
        }
    }
    if (!rc) {
        r->L = m->cfg.n_layer;
        r->NH = m->cfg.n_head;
        r->score = avz_xcalloc((size_t)ROLE_COUNT * a.nh, sizeof(float));
        for (int role = 0; role < ROLE_COUNT; role++) {
            double n = a.rows[role] > 0 ? a.rows[role] : 1;
            for (int hd = 0; hd < a.nh; hd++)
                r->score[role * a.nh + hd] = (float)(a.sum[role * a.nh + hd] / n);
            r->uniform[role] = (float)(a.uni[role] / n);
        }
        for (int b = 0; b < BEH_COUNT; b++) {
            r->n_probes[b] = a.total[b];
            r->acc[b] = a.total[b] ? (float)a.correct[b] / a.total[b] : NAN;
        }
    }
    free(a.sum);
    return rc;
}

void probe_report_free(ProbeReport *r) {
    free(r->score);
    r->score = NULL;
}

float probes_best(const ProbeReport *r, HeadRole role, int *head) {
    int n = r->L * r->NH, best = 0;
    const float *s = r->score + (size_t)role * n;
    for (int i = 1; i < n; i++) best = s[i] > s[best] ? i : best;
    if (head) *head = best;
    return s[best];
}
