/* corpus.c: the public face of the corpus (model/corpus.h): the mix of passage kinds,
 * one passage, a corpus file, and the probes. The kinds themselves are in people.c,
 * agree.c, facts.c and repeats.c; see model/CORPUS.md. */
#include "corpus/grammar.h"

#include <math.h>

enum { KIND_COREF, KIND_AGREE, KIND_FACTS, KIND_LIST, KIND_RANDOM, KIND_BLOCKS, KIND_ECHO,
       KIND_TWOBACK, N_KINDS };

static const char *const KIND_FIELDS[N_KINDS] = {"w_coref", "w_agree", "w_facts",
    "w_induct_list", "w_induct_random", "w_blocks", "w_echo", "w_twoback"};

/* The weights of m in kind order. */
static void mix_weights(const CorpusMix *m, float w[N_KINDS]) {
    w[KIND_COREF] = m->w_coref;
    w[KIND_AGREE] = m->w_agree;
    w[KIND_FACTS] = m->w_facts;
    w[KIND_LIST] = m->w_induct_list;
    w[KIND_RANDOM] = m->w_induct_random;
    w[KIND_BLOCKS] = m->w_blocks;
    w[KIND_ECHO] = m->w_echo;
    w[KIND_TWOBACK] = m->w_twoback;
}

void corpus_mix_default(CorpusMix *m) {
    *m = (CorpusMix){.w_coref = 0.25f, .w_agree = 0.20f, .w_facts = 0.12f,
                     .w_induct_list = 0.05f, .w_induct_random = 0.08f, .w_blocks = 0.30f,
                     .w_echo = 0.10f, .min_sentences = 2, .max_sentences = 5,
                     .repeat_frac = 0.9f, .block_max = CORPUS_BLOCK_MAX};
}

AvzCode corpus_mix_check(const CorpusMix *m, char *err) {
    if (!m) return avz_fail(err, AVZ_ERR_INPUT, "corpus mix: missing");
    float w[N_KINDS], sum = 0.0f;
    mix_weights(m, w);
    for (int i = 0; i < N_KINDS; i++) {
        if (!isfinite(w[i]) || w[i] < 0.0f)
            return avz_fail(err, AVZ_ERR_INPUT, "corpus mix: %s must be >= 0 (got %g)",
                            KIND_FIELDS[i], (double)w[i]);
        sum += w[i];
    }
    if (sum <= 0.0f) return avz_fail(err, AVZ_ERR_INPUT, "corpus mix: all weights are 0");
    if (m->min_sentences < 1 || m->max_sentences < m->min_sentences ||
        m->max_sentences > CORPUS_MAX_SENTENCES)
        return avz_fail(err, AVZ_ERR_INPUT,
                        "corpus mix: need 1 <= min_sentences (%d) <= max_sentences (%d) <= %d",
                        m->min_sentences, m->max_sentences, CORPUS_MAX_SENTENCES);
    if (!(m->repeat_frac >= 0.0f && m->repeat_frac <= 1.0f))
        return avz_fail(err, AVZ_ERR_INPUT, "corpus mix: repeat_frac must be in [0, 1] (got %g)",
                        (double)m->repeat_frac);
    if (m->block_max < 2 || m->block_max > CORPUS_BLOCK_MAX)
        return avz_fail(err, AVZ_ERR_INPUT, "corpus mix: block_max must be in 2..%d (got %d)",
                        CORPUS_BLOCK_MAX, m->block_max);
    return AVZ_OK;
}

/* A passage kind drawn in proportion to the weights. */
static int kind_pick(AvzRng *r, const CorpusMix *m) {
    float w[N_KINDS], sum = 0.0f;
    mix_weights(m, w);
    for (int k = 0; k < N_KINDS; k++) sum += w[k];
    float u = avz_rng_uniform(r) * sum;
    int last = 0;
    for (int k = 0; k < N_KINDS; k++) {
        if (w[k] <= 0.0f) continue;
        if (u < w[k]) return k;
        u -= w[k];
        last = k;
    }
    return last; /* rounding: the last kind with a weight */
}

void corpus_put_plain_sentence(Writer *w, AvzRng *r) {
    if (chance(r, 0.5f)) corpus_gen_agree(w, r, 1);
    else corpus_gen_facts(w, r, 1);
}

int corpus_passage(AvzRng *rng, const CorpusMix *mix, char *buf, size_t cap) {
    if (!buf || cap == 0) return -1;
    buf[0] = '\0';
    if (corpus_mix_check(mix, NULL) != AVZ_OK) return -1;
    Writer w;
    corpus_writer_init(&w, buf, cap);
    int kind = kind_pick(rng, mix);
    int n_sent = range(rng, mix->min_sentences, mix->max_sentences);
    float rep = mix->repeat_frac;
    switch (kind) {
    case KIND_COREF: corpus_gen_coref(&w, rng, n_sent); break;
    case KIND_AGREE: corpus_gen_agree(&w, rng, n_sent); break;
    case KIND_FACTS: corpus_gen_facts(&w, rng, n_sent); break;
    case KIND_LIST: corpus_gen_induct_list(&w, rng, n_sent, rep); break;
    case KIND_RANDOM: corpus_gen_induct_random(&w, rng, n_sent, rep); break;
    case KIND_BLOCKS: corpus_gen_blocks(&w, rng, mix->block_max, rep); break;
    case KIND_TWOBACK: corpus_gen_twoback(&w, rng); break;
    default: corpus_gen_echo(&w, rng, n_sent, rep); break;
    }
    if (w.full) {
        buf[0] = '\0';
        return -1;
    }
    return w.n_words;
}

AvzCode corpus_write(const char *path, uint64_t seed, long n_tokens, const CorpusMix *mix,
                     char *err) {
    AvzCode rc = corpus_mix_check(mix, err);
    if (rc) return rc;
    if (n_tokens <= 0)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: n_tokens must be > 0 (got %ld)", path, n_tokens);
    AvzAtomicFile af;
    rc = avz_atomic_open(&af, path, err);
    if (rc) return rc;
    AvzRng rng;
    avz_rng_init(&rng, seed);
    char buf[CORPUS_PASSAGE_CAP];
    for (long total = 0; total < n_tokens;) {
        int n = corpus_passage(&rng, mix, buf, sizeof buf);
        AVZ_ASSERT(n > 0); /* CORPUS_PASSAGE_CAP holds any passage of a valid mix */
        if (fputs(buf, af.f) == EOF || fputc('\n', af.f) == EOF) {
            avz_atomic_abort(&af);
            return avz_fail(err, AVZ_ERR_INTERNAL, "%s: write failed", path);
        }
        total += n;
    }
    return avz_atomic_commit(&af, err);
}

/* ---- probes ---- */

void corpus_probe_set(char *dst, size_t cap, const char *word) {
    snprintf(dst, cap, "%s", word);
}

int corpus_probe(AvzRng *rng, ProbeKind kind, Probe *p) {
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->query = -1;
    p->span_start = p->repeat_start = -1;
    Writer w;
    corpus_writer_init(&w, p->text, sizeof p->text);
    switch (kind) {
    case PROBE_COREF: corpus_probe_coref(&w, rng, p); break;
    case PROBE_AGREE: corpus_probe_agree(&w, rng, p); break;
    case PROBE_INDUCT: corpus_probe_induct(&w, rng, p); break;
    case PROBE_FACT: corpus_probe_fact(&w, rng, p); break;
    default: return -1;
    }
    AVZ_ASSERT(!w.full); /* every probe template fits in Probe.text */
    return 0;
}
