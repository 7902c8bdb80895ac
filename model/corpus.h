/* corpus.h: the synthetic training corpus and the annotated probes.
 *
 * attnviz trains tiny word-level transformers on passages from a seeded
 * probabilistic grammar, built so that particular attention heads have a reason
 * to form: a previous-token head and an induction head (spans that repeat), a
 * coreference head (a pronoun looks back at its antecedent's name) and an
 * agreement head (a verb looks back at the head noun of its subject). The same
 * grammar makes annotated probes, so that model/probes.c can measure whether a
 * trained head really plays its role. Every choice comes from an AvzRng, so one
 * seed gives one corpus. model/CORPUS.md describes the grammar with examples.
 *
 * Text format: lowercase words separated by single spaces; "." and "," are
 * words of their own; every sentence ends with " .". A token index i refers to
 * the tokenized passage: index 0 is <bos>, index i + 1 is word i. */
#ifndef AVZ_CORPUS_H
#define AVZ_CORPUS_H

#include "common.h"

/* How often each kind of passage is drawn (relative weights, each >= 0, not all
 * 0) and how long passages are. */
typedef struct {
    float w_coref;          /* people and groups, then pronouns that refer back to them */
    float w_agree;          /* subject-verb agreement across attractor nouns */
    float w_facts;          /* capitals, animal sounds, opposites, categories */
    float w_induct_list;    /* a list of items or names, later repeated */
    float w_induct_random;  /* a span of random content words, repeated after a filler
                             * (sometimes announced by a marker) */
    float w_blocks;         /* a block of words drawn uniformly from the whole vocabulary,
                             * then the same block again: the standard protocol's shape */
    float w_echo;           /* ordinary sentences, then a stretch of them again */
    float w_twoback;        /* random words in which the next word is, half the time, the
                             * word two back (what a previous-token head predicts) */
    int min_sentences, max_sentences; /* per passage, 1 <= min <= max <= CORPUS_MAX_SENTENCES */
    float repeat_frac;      /* induction passages: probability that the second span copies
                             * the first; otherwise it is a fresh span (a control), in [0, 1] */
    int block_max;          /* longest random block, 2..CORPUS_BLOCK_MAX (the trainer may
                             * raise it step by step: a curriculum) */
} CorpusMix;

#define CORPUS_MAX_SENTENCES 12
/* The longest random block (w_blocks): two copies fill a 64-token context. */
#define CORPUS_BLOCK_MAX 32
/* A buffer of this many bytes holds any passage of any valid mix. */
#define CORPUS_PASSAGE_CAP 8192

/* Defaults: coref 0.25, agree 0.20, facts 0.12, induct_list 0.05, induct_random 0.08,
 * blocks 0.30, echo 0.10, twoback 0, 2 to 5 sentences, repeat_frac 0.9, block_max 32. */
void corpus_mix_default(CorpusMix *m);

/* AVZ_OK, or AVZ_ERR_INPUT with err (may be NULL) naming the bad field. */
AvzCode corpus_mix_check(const CorpusMix *m, char *err);

/* Every word the grammar and the probes can produce, in a fixed order that does
 * not depend on any seed: "<bos>", "<unk>", ".", "," first, then function words,
 * then content words (names, nouns, adjectives, the knowledge base). Returns the
 * count (at most 2000, no duplicates); *words points to a static array owned by
 * this module, valid for the life of the program. Thread-safe. */
int corpus_vocab(const char *const **words);

/* Generates one passage into buf (NUL-terminated, words separated by single
 * spaces, no newline). Returns its length in words, or -1 (buf set to "" when
 * cap > 0) when the mix is invalid or cap is too small; CORPUS_PASSAGE_CAP
 * always suffices. Deterministic for the rng state. */
int corpus_passage(AvzRng *rng, const CorpusMix *mix, char *buf, size_t cap);

/* Generates passages from seed until they hold at least n_tokens words (<bos> not
 * counted), one passage per line, and writes them to path atomically. Returns
 * AVZ_ERR_INPUT for a bad mix, n_tokens <= 0 or a missing or unwritable folder;
 * AVZ_ERR_INTERNAL when a write fails. err may be NULL. */
AvzCode corpus_write(const char *path, uint64_t seed, long n_tokens, const CorpusMix *mix,
                     char *err);

/* ---- probes: annotated examples for measuring head roles ---- */

typedef enum { PROBE_COREF, PROBE_AGREE, PROBE_INDUCT, PROBE_FACT } ProbeKind;

typedef struct {
    ProbeKind kind;
    char text[1024];        /* one passage, same format as the corpus */
    int query;              /* token index of the pronoun / the main verb / the fact's object;
                             * -1 for PROBE_INDUCT */
    int targets[4];         /* coref: the antecedent's name (first + last, or the group noun);
                             * agree: the subject's head noun; fact: the fact's subject word(s) */
    int n_targets;          /* 0 for PROBE_INDUCT */
    char answer[32];        /* the word at query, to be predicted from tokens < query */
    char wrong[32];         /* its competitor: the distractor's pronoun, the verb's other
                             * number, another capital / sound / ...; accuracy counts
                             * P(answer) > P(wrong) */
    int span_start, span_len, repeat_start; /* induct: the first copy is tokens
                             * [span_start, span_start + span_len), the second starts at
                             * repeat_start; -1, 0, -1 for the other kinds */
} Probe;

/* Fills p with one probe of the given kind. Coref probes put a distractor of
 * another gender or number between the antecedent and the pronoun; agreement
 * probes put an attractor noun of the opposite number between the head noun and
 * the verb; induction probes repeat 5 to 12 distinct random words. Returns 0, or
 * -1 for an unknown kind. Deterministic for the rng state. */
int corpus_probe(AvzRng *rng, ProbeKind kind, Probe *p);

#endif
