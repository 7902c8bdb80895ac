/* test_corpus.c: checks of the synthetic corpus and its probes (model/corpus.c).
 *
 * Determinism, the vocabulary's closure (every generated word is in it), the
 * passage kinds, and the probes' annotations, checked by parsing the probe text
 * rather than trusting the generator: the token at query is the answer, the
 * antecedent's first name always takes the same pronoun, the verb's number matches
 * the head noun's number by an independent plural lookup, and the second copy of
 * an induction span equals the first. Last, corpus_write's file and its errors. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <criterion/criterion.h>

#include "corpus.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TOK 1400

/* ---- helpers ---- */

/* A text split into tokens: tok[0] = "<bos>", tok[i + 1] = word i. */
typedef struct {
    int n;
    const char *tok[MAX_TOK];
    char store[CORPUS_PASSAGE_CAP];
} Toks;

static void toks_split(Toks *t, const char *text) {
    snprintf(t->store, sizeof t->store, "%s", text);
    t->n = 0;
    t->tok[t->n++] = "<bos>";
    for (char *w = strtok(t->store, " "); w; w = strtok(NULL, " ")) {
        cr_assert(t->n < MAX_TOK);
        t->tok[t->n++] = w;
    }
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A sorted copy of the vocabulary, for bsearch. */
typedef struct { const char **w; int n; } WordSet;

static WordSet vocab_set(void) {
    const char *const *words;
    WordSet s;
    s.n = corpus_vocab(&words);
    s.w = malloc(sizeof(char *) * (size_t)s.n);
    memcpy(s.w, words, sizeof(char *) * (size_t)s.n);
    qsort(s.w, (size_t)s.n, sizeof(char *), cmp_str);
    return s;
}

static int in_set(const WordSet *s, const char *word) {
    return bsearch(&word, s->w, (size_t)s->n, sizeof(char *), cmp_str) != NULL;
}

/* The passage kinds in CorpusMix's order. */
enum { K_COREF, K_AGREE, K_FACTS, K_LIST, K_RANDOM, K_BLOCKS, K_ECHO, K_TWOBACK, N_KINDS };

static CorpusMix mix_only(int kind, float repeat_frac) {
    CorpusMix m;
    corpus_mix_default(&m);
    float *w[N_KINDS] = {&m.w_coref, &m.w_agree, &m.w_facts, &m.w_induct_list,
                         &m.w_induct_random, &m.w_blocks, &m.w_echo, &m.w_twoback};
    for (int i = 0; i < N_KINDS; i++) *w[i] = i == kind ? 1.0f : 0.0f;
    m.repeat_frac = repeat_frac;
    return m;
}

static int has_word(const Toks *t, const char *word) {
    for (int i = 1; i < t->n; i++)
        if (strcmp(t->tok[i], word) == 0) return 1;
    return 0;
}

/* Does some run of len tokens occur twice without overlapping? */
static int has_repeat(const Toks *t, int len) {
    for (int i = 1; i + len <= t->n; i++)
        for (int j = i + len; j + len <= t->n; j++) {
            int k = 0;
            while (k < len && strcmp(t->tok[i + k], t->tok[j + k]) == 0) k++;
            if (k == len) return 1;
        }
    return 0;
}

/* A tiny string -> string map, for "this key always gets that answer" checks. */
#define MAP_MAX 512
typedef struct { char key[MAP_MAX][64]; char val[MAP_MAX][32]; int n; } StrMap;

static const char *map_get(const StrMap *m, const char *key) {
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->key[i], key) == 0) return m->val[i];
    return NULL;
}

/* Records key -> val; fails the test if key was seen with another value. */
static void map_expect(StrMap *m, const char *key, const char *val) {
    const char *old = map_get(m, key);
    if (old) {
        cr_assert_str_eq(old, val, "'%s' maps to both '%s' and '%s'", key, old, val);
        return;
    }
    cr_assert(m->n < MAP_MAX);
    snprintf(m->key[m->n], sizeof m->key[0], "%s", key);
    snprintf(m->val[m->n], sizeof m->val[0], "%s", val);
    m->n++;
}

/* Independent of the generator: English plural nouns as the grammar uses them. */
static int is_plural_noun(const char *w) {
    static const char *const irregular[] = {"children", "men", "women", "mice", "geese",
                                            "people"};
    for (size_t i = 0; i < sizeof irregular / sizeof irregular[0]; i++)
        if (strcmp(w, irregular[i]) == 0) return 1;
    size_t n = strlen(w);
    return n > 1 && w[n - 1] == 's';
}

/* 1 if answer is the singular form of the pair (answer, wrong), 0 if plural, -1 if
 * the two are not a singular/plural pair at all. */
static int verb_is_singular(const char *answer, const char *wrong) {
    static const char *const pairs[][2] = {{"is", "are"}, {"was", "were"}, {"has", "have"}};
    for (int i = 0; i < 3; i++) {
        if (!strcmp(answer, pairs[i][0]) && !strcmp(wrong, pairs[i][1])) return 1;
        if (!strcmp(answer, pairs[i][1]) && !strcmp(wrong, pairs[i][0])) return 0;
    }
    size_t na = strlen(answer), nw = strlen(wrong);
    /* runs / run, watches / watch: the singular is the plural plus "s" or "es" */
    if (na > nw && !strncmp(answer, wrong, nw) && answer[na - 1] == 's') return 1;
    if (nw > na && !strncmp(wrong, answer, na) && wrong[nw - 1] == 's') return 0;
    return -1;
}

/* ---- determinism ---- */

Test(corpus, same_seed_same_text_other_seed_other_text) {
    CorpusMix m;
    corpus_mix_default(&m);
    AvzRng a, b, c;
    avz_rng_init(&a, 11);
    avz_rng_init(&b, 11);
    avz_rng_init(&c, 12);
    static char x[CORPUS_PASSAGE_CAP], y[CORPUS_PASSAGE_CAP], z[CORPUS_PASSAGE_CAP];
    int differ = 0;
    for (int i = 0; i < 300; i++) {
        int nx = corpus_passage(&a, &m, x, sizeof x);
        int ny = corpus_passage(&b, &m, y, sizeof y);
        corpus_passage(&c, &m, z, sizeof z);
        cr_assert_gt(nx, 0);
        cr_assert_eq(nx, ny);
        cr_assert_str_eq(x, y, "passage %d differs for the same seed", i);
        differ += strcmp(x, z) != 0;
    }
    cr_assert_gt(differ, 290, "seeds 11 and 12 gave %d different passages of 300", differ);
}

Test(corpus, probes_are_deterministic) {
    for (int kind = PROBE_COREF; kind <= PROBE_FACT; kind++) {
        AvzRng a, b;
        avz_rng_init(&a, 3);
        avz_rng_init(&b, 3);
        Probe p, q;
        for (int i = 0; i < 50; i++) {
            cr_assert_eq(corpus_probe(&a, (ProbeKind)kind, &p), 0);
            cr_assert_eq(corpus_probe(&b, (ProbeKind)kind, &q), 0);
            cr_assert(memcmp(&p, &q, sizeof p) == 0, "probe kind %d #%d differs", kind, i);
        }
    }
    AvzRng r;
    avz_rng_init(&r, 1);
    Probe p;
    cr_assert_eq(corpus_probe(&r, (ProbeKind)99, &p), -1);
}

/* ---- vocabulary ---- */

Test(corpus, vocab_is_small_unique_and_starts_with_specials) {
    const char *const *words;
    int n = corpus_vocab(&words);
    cr_log_info("vocabulary: %d words", n);
    cr_assert_leq(n, 2000);
    cr_assert_geq(n, 300);
    cr_assert_str_eq(words[0], "<bos>");
    cr_assert_str_eq(words[1], "<unk>");
    cr_assert_str_eq(words[2], ".");
    cr_assert_str_eq(words[3], ",");
    const char *const *again;
    cr_assert_eq(corpus_vocab(&again), n);
    cr_assert_eq(again, words);
    WordSet s = vocab_set();
    for (int i = 0; i < n; i++) {
        cr_assert_gt(strlen(words[i]), 0);
        cr_assert_null(strchr(words[i], ' '), "'%s' holds a space", words[i]);
        if (i > 0) cr_assert_str_neq(s.w[i - 1], s.w[i], "duplicate word '%s'", s.w[i]);
    }
    free(s.w);
}

/* Marks, in seen (one flag per word of s), every word of t. */
static void mark_seen(const WordSet *s, const Toks *t, int *seen) {
    for (int k = 1; k < t->n; k++) {
        const char **hit = bsearch(&t->tok[k], s->w, (size_t)s->n, sizeof(char *), cmp_str);
        seen[hit - s->w] = 1;
    }
}

/* Every word of a text is in the vocabulary. */
static void expect_in_vocab(const WordSet *s, const char *text) {
    static Toks t;
    toks_split(&t, text);
    for (int i = 1; i < t.n; i++)
        cr_assert(in_set(s, t.tok[i]), "'%s' is not in the vocabulary: %s", t.tok[i], text);
}

Test(corpus, every_generated_word_is_in_vocab) {
    WordSet s = vocab_set();
    static char buf[CORPUS_PASSAGE_CAP];
    CorpusMix m;
    corpus_mix_default(&m);
    AvzRng r;
    avz_rng_init(&r, 2024);
    for (int i = 0; i < 2000; i++) {
        cr_assert_gt(corpus_passage(&r, &m, buf, sizeof buf), 0);
        expect_in_vocab(&s, buf);
    }
    for (int kind = 0; kind < N_KINDS; kind++) { /* each kind alone, long passages, controls */
        CorpusMix one = mix_only(kind, 0.5f);
        one.max_sentences = CORPUS_MAX_SENTENCES;
        for (int i = 0; i < 400; i++) {
            cr_assert_gt(corpus_passage(&r, &one, buf, sizeof buf), 0);
            expect_in_vocab(&s, buf);
        }
    }
    Probe p;
    for (int kind = PROBE_COREF; kind <= PROBE_FACT; kind++)
        for (int i = 0; i < 500; i++) {
            corpus_probe(&r, (ProbeKind)kind, &p);
            expect_in_vocab(&s, p.text);
            if (kind != PROBE_INDUCT) {
                cr_assert(in_set(&s, p.answer));
                cr_assert(in_set(&s, p.wrong));
            }
        }
    free(s.w);
}

Test(corpus, every_vocab_word_is_generated) {
    WordSet s = vocab_set();
    int *seen = calloc((size_t)s.n, sizeof(int));
    static char buf[CORPUS_PASSAGE_CAP];
    static Toks t;
    CorpusMix m;
    corpus_mix_default(&m);
    AvzRng r;
    avz_rng_init(&r, 1);
    for (int i = 0; i < 20000; i++) {
        corpus_passage(&r, &m, buf, sizeof buf);
        toks_split(&t, buf);
        mark_seen(&s, &t, seen);
    }
    for (int i = 0; i < s.n; i++)
        if (strcmp(s.w[i], "<bos>") && strcmp(s.w[i], "<unk>"))
            cr_expect(seen[i], "vocabulary word '%s' never generated", s.w[i]);
    free(seen);
    free(s.w);
}

/* ---- passage kinds ---- */

Test(corpus, each_kind_has_its_signature) {
    static const char *const fact_words[] = {"is", "are", "says", "goes"};
    static char buf[CORPUS_PASSAGE_CAP];
    static Toks t;
    AvzRng r;
    avz_rng_init(&r, 77);
    for (int kind = 0; kind < N_KINDS; kind++) {
        CorpusMix m = mix_only(kind, 1.0f);
        for (int i = 0; i < 300; i++) {
            corpus_passage(&r, &m, buf, sizeof buf);
            toks_split(&t, buf);
            if (kind != K_BLOCKS && kind != K_TWOBACK) /* random words end anywhere */
                cr_assert_str_eq(t.tok[t.n - 1], ".", "passage does not end with ' .': %s", buf);
            int pron = has_word(&t, "she") || has_word(&t, "he") || has_word(&t, "they") ||
                       has_word(&t, "her") || has_word(&t, "him") || has_word(&t, "them") ||
                       has_word(&t, "his") || has_word(&t, "their");
            int fact = 0;
            for (int k = 0; k < 4; k++) fact |= has_word(&t, fact_words[k]);
            switch (kind) {
            case K_COREF: cr_assert(pron, "coref passage without a pronoun: %s", buf); break;
            case K_AGREE: cr_assert(!pron && has_word(&t, "the"), "agreement passage: %s", buf); break;
            case K_FACTS: cr_assert(fact, "fact passage without a relation verb: %s", buf); break;
            case K_LIST: case K_RANDOM:
                cr_assert(has_repeat(&t, 5), "no repeated span: %s", buf); break;
            case K_TWOBACK: {
                int back2 = 0;
                for (int k = 3; k < t.n; k++) back2 += !strcmp(t.tok[k], t.tok[k - 2]);
                cr_assert_geq(back2, 1, "no word equals the word two back: %s", buf);
                break;
            }
            default: cr_assert(has_repeat(&t, 2), "nothing repeated: %s", buf); break;
            }
        }
    }
    CorpusMix controls = mix_only(K_RANDOM, 0.0f);  /* random spans, never repeated */
    for (int i = 0; i < 300; i++) {
        corpus_passage(&r, &controls, buf, sizeof buf);
        toks_split(&t, buf);
        cr_assert(!has_repeat(&t, 5), "repeat_frac 0 still repeated: %s", buf);
    }
    controls = mix_only(K_BLOCKS, 0.0f);
    for (int i = 0; i < 300; i++) {
        corpus_passage(&r, &controls, buf, sizeof buf);
        toks_split(&t, buf);
        cr_assert(!has_repeat(&t, 5), "repeat_frac 0 still repeated a block: %s", buf);
    }
}

/* A random block, as the standard protocol draws one (detect.h): words from the whole
 * vocabulary, punctuation and function words too, with replacement, 2 to block_max of
 * them; half the passages are nothing but the block twice. */
Test(corpus, blocks_draw_from_the_whole_vocabulary) {
    const char *const *words;
    int n_vocab = corpus_vocab(&words);
    WordSet s = vocab_set();
    int *seen = calloc((size_t)s.n, sizeof(int));
    static char buf[CORPUS_PASSAGE_CAP];
    static Toks t;
    AvzRng r;
    avz_rng_init(&r, 31);
    CorpusMix m = mix_only(K_BLOCKS, 1.0f);
    int alone = 0, with_dup = 0, longest = 0, n_pass = 4000;
    for (int i = 0; i < n_pass; i++) {
        corpus_passage(&r, &m, buf, sizeof buf);
        toks_split(&t, buf);
        mark_seen(&s, &t, seen);
        int n = (t.n - 1) / 2, same = (t.n - 1) % 2 == 0;
        for (int k = 0; same && k < n; k++) same = !strcmp(t.tok[1 + k], t.tok[1 + n + k]);
        if (same) {
            alone++;
            longest = n > longest ? n : longest;
            for (int a = 0; a < n && !with_dup; a++)
                for (int b = a + 1; b < n; b++) with_dup |= !strcmp(t.tok[1 + a], t.tok[1 + b]);
        }
    }
    int n_seen = 0;
    for (int i = 0; i < s.n; i++) n_seen += seen[i];
    cr_assert_geq(n_seen, n_vocab - 2, "blocks used %d of %d words", n_seen, n_vocab);
    const char *dot = ".", **at_dot = bsearch(&dot, s.w, (size_t)s.n, sizeof(char *), cmp_str);
    cr_assert(seen[at_dot - s.w], "no '.' in a block");
    cr_assert(alone > n_pass * 35 / 100 && alone < n_pass * 55 / 100,
              "%d of %d passages are a block twice", alone, n_pass);
    cr_assert_eq(longest, CORPUS_BLOCK_MAX, "longest block %d", longest);
    cr_assert(with_dup, "blocks are drawn with replacement: some word should come twice");
    m.block_max = 3;                                /* block_max caps the length */
    for (int i = 0; i < 500; i++) {
        corpus_passage(&r, &m, buf, sizeof buf);
        toks_split(&t, buf);
        int n = (t.n - 1) / 2, same = (t.n - 1) % 2 == 0;
        for (int k = 0; same && k < n; k++) same = !strcmp(t.tok[1 + k], t.tok[1 + n + k]);
        if (same) cr_assert_leq(n, 3, "block of %d words with block_max 3: %s", n, buf);
    }
    m.block_max = 1;
    cr_assert_eq(corpus_mix_check(&m, NULL), AVZ_ERR_INPUT);
    free(seen);
    free(s.w);
}

/* An echo repeats, word for word, a stretch of 2 to 30 of its own earlier words. */
Test(corpus, echo_repeats_a_stretch_of_itself) {
    static char buf[CORPUS_PASSAGE_CAP];
    static Toks t;
    AvzRng r;
    avz_rng_init(&r, 37);
    CorpusMix m = mix_only(K_ECHO, 1.0f);
    int short_ones = 0, long_ones = 0;
    for (int i = 0; i < 1000; i++) {
        corpus_passage(&r, &m, buf, sizeof buf);
        toks_split(&t, buf);
        /* the copy is the stretch before the final " ."; find the longest tail that
         * occurred earlier */
        int best = 0;
        for (int end = t.n - 1; end <= t.n; end++)  /* without the final ".", or with it */
            for (int len = 2; len <= 30 && len < end; len++) {
                int start = end - len, found = 0;
                for (int j = 1; j + len <= start && !found; j++) {
                    int k = 0;
                    while (k < len && !strcmp(t.tok[j + k], t.tok[start + k])) k++;
                    found = k == len;
                }
                if (found && len > best) best = len;
            }
        cr_assert_geq(best, 2, "no echo: %s", buf);
        short_ones += best <= 5;
        long_ones += best >= 20;
    }
    cr_assert(short_ones > 20 && long_ones > 20, "echo lengths: %d short, %d long", short_ones,
              long_ones);
}

/* Two-back: words from the whole vocabulary, 16 to 48 of them, each from the third on
 * the word two back half the time (and otherwise a fresh draw, which equals it by
 * chance about once in 634). Off unless asked for: the default mix has weight 0. */
Test(corpus, twoback_repeats_the_word_two_back_half_the_time) {
    const char *const *words;
    int n_vocab = corpus_vocab(&words);
    WordSet s = vocab_set();
    int *seen = calloc((size_t)s.n, sizeof(int));
    static char buf[CORPUS_PASSAGE_CAP];
    static Toks t;
    AvzRng r;
    avz_rng_init(&r, 41);
    CorpusMix m = mix_only(K_TWOBACK, 1.0f);
    long back2 = 0, cells = 0;
    int shortest = 1 << 30, longest = 0;
    for (int i = 0; i < 3000; i++) {
        corpus_passage(&r, &m, buf, sizeof buf);
        toks_split(&t, buf);
        int n = t.n - 1;
        shortest = n < shortest ? n : shortest;
        longest = n > longest ? n : longest;
        mark_seen(&s, &t, seen);
        for (int k = 3; k < t.n; k++, cells++) back2 += !strcmp(t.tok[k], t.tok[k - 2]);
    }
    double frac = (double)back2 / (double)cells;
    cr_assert(frac > 0.48 && frac < 0.52, "%.3f of the words equal the word two back", frac);
    cr_assert_eq(shortest, 16);
    cr_assert_eq(longest, 48);
    int n_seen = 0;
    for (int i = 0; i < s.n; i++) n_seen += seen[i];
    cr_assert_geq(n_seen, n_vocab - 2, "two-back used %d of %d words", n_seen, n_vocab);
    CorpusMix d;
    corpus_mix_default(&d);
    cr_assert_eq(d.w_twoback, 0.0f, "the default mix has no two-back passages");
    char err[AVZ_ERR_LEN];
    d.w_twoback = -1.0f;
    cr_assert_eq(corpus_mix_check(&d, err), AVZ_ERR_INPUT);
    cr_assert(strstr(err, "w_twoback"), "the error names the field: %s", err);
    free(seen);
    free(s.w);
}

/* ---- probes ---- */

/* The referent at the antecedent tokens: "first last", or the group noun. */
static void antecedent(const Toks *t, const Probe *p, char *out, size_t cap) {
    if (p->n_targets == 2)
        snprintf(out, cap, "%s %s", t->tok[p->targets[0]], t->tok[p->targets[1]]);
    else
        snprintf(out, cap, "%s", t->tok[p->targets[0]]);
}

Test(corpus, coref_probes_point_at_an_antecedent_of_the_right_gender) {
    static StrMap first_name, person;
    static Toks t;
    static Probe probes[2000];
    AvzRng r;
    avz_rng_init(&r, 5);
    for (int i = 0; i < 2000; i++) {
        Probe *p = &probes[i];
        cr_assert_eq(corpus_probe(&r, PROBE_COREF, p), 0);
        toks_split(&t, p->text);
        cr_assert(p->query > 0 && p->query < t.n);
        cr_assert_str_eq(t.tok[p->query], p->answer, "%s", p->text);
        cr_assert(!strcmp(p->answer, "she") || !strcmp(p->answer, "he") ||
                  !strcmp(p->answer, "they"));
        cr_assert(!strcmp(p->wrong, "she") || !strcmp(p->wrong, "he") || !strcmp(p->wrong, "they"));
        cr_assert_str_neq(p->answer, p->wrong, "no distractor of another class: %s", p->text);
        cr_assert(p->n_targets == 1 || p->n_targets == 2);
        cr_assert_lt(p->targets[p->n_targets - 1], p->query);
        char ante[64];
        antecedent(&t, p, ante, sizeof ante);
        if (p->n_targets == 2) {            /* a person: the first name fixes the gender */
            cr_assert_eq(p->targets[1], p->targets[0] + 1);
            cr_assert_str_neq(p->answer, "they");
            map_expect(&first_name, t.tok[p->targets[0]], p->answer);
            map_expect(&person, ante, p->answer);
        } else {                            /* a group: "the students" -> they */
            cr_assert_str_eq(t.tok[p->targets[0] - 1], "the");
            cr_assert(is_plural_noun(ante), "group '%s' is not plural", ante);
            cr_assert_str_eq(p->answer, "they");
        }
    }
    static const char *const women[] = {"marie", "ada", "grace", "emmy", "rosalind"};
    static const char *const men[] = {"alan", "isaac", "charles", "albert", "niels"};
    for (int i = 0; i < 5; i++) {
        cr_assert_str_eq(map_get(&first_name, women[i]), "she", "%s", women[i]);
        cr_assert_str_eq(map_get(&first_name, men[i]), "he", "%s", men[i]);
    }
    cr_assert_geq(first_name.n, 60, "only %d first names seen", first_name.n);
    /* a distractor whose pronoun is `wrong` stands between the antecedent and the pronoun */
    for (int i = 0; i < 2000; i++) {
        const Probe *p = &probes[i];
        toks_split(&t, p->text);
        int found = 0;
        for (int j = p->targets[p->n_targets - 1] + 1; j < p->query && !found; j++) {
            const char *g = map_get(&first_name, t.tok[j]);
            if (g) found = strcmp(g, p->wrong) == 0;
            else if (!strcmp(p->wrong, "they") && !strcmp(t.tok[j - 1], "the"))
                found = is_plural_noun(t.tok[j]);
        }
        cr_assert(found, "no distractor for '%s': %s", p->wrong, p->text);
    }
}

Test(corpus, agreement_probes_match_the_head_noun_across_an_attractor) {
    static Probe probes[3000];
    static StrMap nouns;                    /* every noun seen as a head -> "sg" / "pl" */
    static Toks t;
    AvzRng r;
    avz_rng_init(&r, 9);
    for (int i = 0; i < 3000; i++) {
        Probe *p = &probes[i];
        cr_assert_eq(corpus_probe(&r, PROBE_AGREE, p), 0);
        toks_split(&t, p->text);
        cr_assert_eq(p->n_targets, 1);
        cr_assert(p->targets[0] > 0 && p->targets[0] < p->query && p->query < t.n);
        cr_assert_str_eq(t.tok[p->query], p->answer, "%s", p->text);
        int sg = verb_is_singular(p->answer, p->wrong);
        cr_assert_neq(sg, -1, "'%s'/'%s' is not a number pair", p->answer, p->wrong);
        const char *head = t.tok[p->targets[0]];
        cr_assert_eq(!is_plural_noun(head), sg, "head '%s' with verb '%s': %s", head, p->answer,
                     p->text);
        map_expect(&nouns, head, sg ? "sg" : "pl");
    }
    for (int i = 0; i < 3000; i++) {
        const Probe *p = &probes[i];
        toks_split(&t, p->text);
        const char *head_num = map_get(&nouns, t.tok[p->targets[0]]);
        int found = 0;
        for (int j = p->targets[0] + 1; j < p->query && !found; j++) {
            const char *num = map_get(&nouns, t.tok[j]);
            found = num && strcmp(num, head_num) != 0;
        }
        cr_assert(found, "no attractor of the other number: %s", p->text);
    }
}

Test(corpus, induction_probes_repeat_their_span) {
    static Toks t;
    AvzRng r;
    avz_rng_init(&r, 13);
    Probe p;
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(corpus_probe(&r, PROBE_INDUCT, &p), 0);
        toks_split(&t, p.text);
        cr_assert_eq(p.query, -1);
        cr_assert_eq(p.n_targets, 0);
        cr_assert(p.span_len >= 5 && p.span_len <= 12);
        cr_assert_geq(p.span_start, 1);
        cr_assert_geq(p.repeat_start, p.span_start + p.span_len);
        cr_assert_leq(p.repeat_start + p.span_len, t.n);
        for (int k = 0; k < p.span_len; k++) {
            cr_assert_str_eq(t.tok[p.span_start + k], t.tok[p.repeat_start + k], "%s", p.text);
            for (int j = 0; j < k; j++)
                cr_assert_str_neq(t.tok[p.span_start + j], t.tok[p.span_start + k],
                                  "a word twice in one span: %s", p.text);
        }
    }
}

Test(corpus, fact_probes_follow_one_knowledge_base) {
    static StrMap facts;                    /* subject word(s) -> object */
    static Toks t;
    AvzRng r;
    avz_rng_init(&r, 17);
    Probe p;
    for (int i = 0; i < 3000; i++) {
        cr_assert_eq(corpus_probe(&r, PROBE_FACT, &p), 0);
        toks_split(&t, p.text);
        cr_assert(p.query > 0 && p.query < t.n);
        cr_assert_str_eq(t.tok[p.query], p.answer, "%s", p.text);
        cr_assert_str_neq(p.answer, p.wrong);
        cr_assert(p.n_targets == 1 || p.n_targets == 2);
        char key[64] = "";
        for (int k = 0; k < p.n_targets; k++) {
            cr_assert_lt(p.targets[k], p.query);
            strncat(key, t.tok[p.targets[k]], sizeof key - strlen(key) - 2);
            strcat(key, " ");
        }
        map_expect(&facts, key, p.answer);
        cr_assert_str_neq(t.tok[p.query - 1], "a", "object after 'a' gives it away: %s", p.text);
        cr_assert_str_neq(t.tok[p.query - 1], "an", "object after 'an': %s", p.text);
    }
    static const char *const known[][2] = {
        {"france ", "paris"}, {"paris ", "france"}, {"dog ", "woof"}, {"hot ", "cold"},
        {"carrot ", "vegetable"}, {"violin ", "instrument"},
    };
    for (int i = 0; i < 6; i++)
        cr_assert_str_eq(map_get(&facts, known[i][0]), known[i][1], "%s", known[i][0]);
}

/* ---- buffers and files ---- */

Test(corpus, small_buffer_and_bad_mix_give_minus_one) {
    CorpusMix m;
    corpus_mix_default(&m);
    AvzRng r;
    avz_rng_init(&r, 1);
    char tiny[8] = "xxxxxxx";
    cr_assert_eq(corpus_passage(&r, &m, tiny, sizeof tiny), -1);
    cr_assert_str_eq(tiny, "");
    static char buf[CORPUS_PASSAGE_CAP];
    m.min_sentences = 4;
    m.max_sentences = 3;
    cr_assert_eq(corpus_passage(&r, &m, buf, sizeof buf), -1);
    cr_assert_str_eq(buf, "");
}

/* Words in a file and the words of its last line. */
static long count_words(const char *text, long *last_line) {
    long total = 0, line = 0;
    for (const char *s = text; *s; s++) {
        if (*s != ' ' && *s != '\n' && (s == text || s[-1] == ' ' || s[-1] == '\n')) {
            total++;
            line++;
        }
        if (*s == '\n' && s[1]) line = 0;
    }
    *last_line = line;
    return total;
}

static void make_tmp_dir(char *dir) {
    strcpy(dir, "/tmp/avz_corpus_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

Test(corpus, write_makes_a_file_with_enough_tokens) {
    char dir[64], path[128], path2[128], err[AVZ_ERR_LEN];
    make_tmp_dir(dir);
    snprintf(path, sizeof path, "%s/corpus.txt", dir);
    snprintf(path2, sizeof path2, "%s/again.txt", dir);
    CorpusMix m;
    corpus_mix_default(&m);
    cr_assert_eq(corpus_write(path, 5, 3000, &m, err), AVZ_OK, "%s", err);
    cr_assert_eq(corpus_write(path2, 5, 3000, &m, err), AVZ_OK, "%s", err);
    size_t len, len2;
    char *text = avz_read_file(path, &len, err);
    char *text2 = avz_read_file(path2, &len2, err);
    cr_assert_not_null(text);
    cr_assert_not_null(text2);
    cr_assert(len == len2 && memcmp(text, text2, len) == 0, "same seed, different files");
    cr_assert_eq(text[len - 1], '\n');
    cr_assert_null(strstr(text, "\n\n"));
    long last;
    long words = count_words(text, &last);
    cr_assert_geq(words, 3000);
    cr_assert_lt(words - last, 3000, "kept writing after %ld words", words - last);
    unlink(path2);
    struct stat sb;
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    cr_assert_neq(stat(tmp, &sb), 0, "temp file left behind");
    cr_assert_eq(corpus_write(path, 6, 3000, &m, err), AVZ_OK, "%s", err); /* replaces it */
    char *text3 = avz_read_file(path, &len2, err);
    cr_assert(len != len2 || memcmp(text, text3, len) != 0, "seed 6 wrote seed 5's corpus");
    free(text);
    free(text2);
    free(text3);
    unlink(path);
    rmdir(dir);
}

Test(corpus, write_reports_bad_input) {
    char err[AVZ_ERR_LEN] = "";
    CorpusMix m;
    corpus_mix_default(&m);
    cr_assert_eq(corpus_write("/tmp/avz_no_such_folder_9431/c.txt", 1, 100, &m, err),
                 AVZ_ERR_INPUT);
    cr_assert_not_null(strstr(err, "avz_no_such_folder_9431"), "%s", err);
    cr_assert_eq(corpus_write("/tmp/avz_c.txt", 1, 0, &m, err), AVZ_ERR_INPUT);
    CorpusMix bad = m;
    bad.w_agree = -1.0f;
    cr_assert_eq(corpus_write("/tmp/avz_c.txt", 1, 100, &bad, err), AVZ_ERR_INPUT);
    cr_assert_not_null(strstr(err, "w_agree"), "%s", err);
    bad = mix_only(0, 0.5f);
    bad.w_coref = 0.0f;
    cr_assert_eq(corpus_mix_check(&bad, err), AVZ_ERR_INPUT);
    bad = m;
    bad.repeat_frac = 2.0f;
    cr_assert_eq(corpus_mix_check(&bad, err), AVZ_ERR_INPUT);
    bad = m;
    bad.max_sentences = CORPUS_MAX_SENTENCES + 1;
    cr_assert_eq(corpus_mix_check(&bad, NULL), AVZ_ERR_INPUT);
    struct stat sb;
    cr_assert_neq(stat("/tmp/avz_c.txt", &sb), 0, "a failed write left a file");
}
