/* grammar.h: what the passage generators of model/corpus/ share; internal to the
 * corpus (the public interface is model/corpus.h).
 *
 * One file per kind of passage: people.c (coreference), agree.c (subject-verb
 * agreement), facts.c (the knowledge base), repeats.c (everything that repeats:
 * lists, random spans, random blocks from the whole vocabulary, echoes of ordinary
 * text). Each writes through a Writer, which counts words so that a generator knows
 * the token index of what it writes (index 0 is <bos>, word i is token i + 1), and
 * each says which words it can write (its *_words function), from which vocab.c
 * builds the vocabulary. corpus.c draws the kind of each passage and makes the
 * probes. */
#ifndef AVZ_CORPUS_GRAMMAR_H
#define AVZ_CORPUS_GRAMMAR_H

#include "corpus.h"

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define PICK(r, table) ((table)[pick((r), N_OF(table))])

/* ---- the writer ---- */

/* Appends words to a caller's buffer and counts them; `full` latches on overflow. */
typedef struct { char *buf; size_t cap, len; int n_words; int full; } Writer;

void corpus_writer_init(Writer *w, char *buf, size_t cap);
/* Appends one or more space-separated words. */
void corpus_put(Writer *w, const char *words);
/* Appends a copy of n of the words already written, from word index `from` (0-based,
 * so token from + 1) on. */
void corpus_put_copy(Writer *w, int from, int n);

static inline void put(Writer *w, const char *words) { corpus_put(w, words); }
/* Token index that the next word will have (<bos> is 0). */
static inline int next_tok(const Writer *w) { return w->n_words + 1; }

/* "a" or "an" for the word that follows. */
static inline const char *article(const char *word) {
    return word[0] && strchr("aeiou", word[0]) ? "an" : "a";
}

static inline void put_article(Writer *w, const char *word) {
    put(w, article(word));
    put(w, word);
}

/* ---- randomness ---- */

static inline int pick(AvzRng *r, int n) { return (int)(avz_rng_u64(r) % (uint64_t)n); }
static inline int chance(AvzRng *r, float p) { return avz_rng_uniform(r) < p; }
static inline int range(AvzRng *r, int lo, int hi) { return lo + pick(r, hi - lo + 1); }
/* n distinct indices from [0, pool). */
void corpus_pick_distinct(AvzRng *r, int pool, int n, int *out);

/* ---- the words ---- */

/* Receives words (one or more, space-separated) for the vocabulary. */
typedef void (*WordSink)(const char *words);

/* Each kind names the words it can write: function words (content = 0: pronouns,
 * verb forms, prepositions) or content words (content = 1: names, nouns, adjectives,
 * the knowledge base). The order is fixed, so the vocabulary is too. */
void corpus_people_words(WordSink add, int content);
void corpus_agree_words(WordSink add, int content);
void corpus_facts_words(WordSink add, int content);
void corpus_repeats_words(WordSink add, int content);

/* The content words (random spans draw from them), and every word except <bos> and
 * <unk> (random blocks draw from them, as the standard protocol does; see detect.h).
 * Both point into the vocabulary (vocab.c). */
const char *const *corpus_content_pool(int *n);
const char *const *corpus_word_pool(int *n);

/* ---- people (people.c), for the other kinds ---- */

/* The three referent classes; a pronoun's form is a function of its class. */
enum { CLS_FEMALE, CLS_MALE, CLS_PLURAL, CLS_COUNT };
typedef struct { const char *text; int cls; } Referent;

Referent corpus_referent_random(AvzRng *r);     /* a person or group of a random class */
int corpus_n_people(void);                      /* named people (women, then men) */
const char *corpus_person(int i);               /* "marie curie" */
const char *corpus_place(AvzRng *r);            /* "station" */
const char *corpus_subj(int cls);               /* she / he / they */
const char *corpus_was(int cls);                /* was / was / were */

/* A capital city (facts.c), where coreference characters meet. */
const char *corpus_capital_city(AvzRng *r);

/* ---- the generators: each writes one passage of n_sent sentences ---- */

void corpus_gen_coref(Writer *w, AvzRng *r, int n_sent);
void corpus_gen_agree(Writer *w, AvzRng *r, int n_sent);
void corpus_gen_facts(Writer *w, AvzRng *r, int n_sent);
void corpus_gen_induct_list(Writer *w, AvzRng *r, int n_sent, float repeat_frac);
void corpus_gen_induct_random(Writer *w, AvzRng *r, int n_sent, float repeat_frac);
void corpus_gen_blocks(Writer *w, AvzRng *r, int max_len, float repeat_frac);
void corpus_gen_echo(Writer *w, AvzRng *r, int n_sent, float repeat_frac);
void corpus_gen_twoback(Writer *w, AvzRng *r);

/* One sentence of ordinary text that refers to nobody (an agreement sentence or a
 * fact): the text that repeats sit in. */
void corpus_put_plain_sentence(Writer *w, AvzRng *r);

/* ---- the probes (see corpus_probe) ---- */

void corpus_probe_set(char *dst, size_t cap, const char *word);
void corpus_probe_coref(Writer *w, AvzRng *r, Probe *p);
void corpus_probe_agree(Writer *w, AvzRng *r, Probe *p);
void corpus_probe_fact(Writer *w, AvzRng *r, Probe *p);
void corpus_probe_induct(Writer *w, AvzRng *r, Probe *p);

#endif
