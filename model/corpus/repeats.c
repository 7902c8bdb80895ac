/* repeats.c: passages in which something comes back, the data that makes
 * previous-token and induction heads form (Olsson et al. 2022). Five kinds:
 *   induct-list    a list of goods or people, later repeated in a sentence;
 *   induct-random  random content words, then (after a short filler, sometimes a
 *                  marker) the same words again;
 *   blocks         a block of words drawn uniformly, with replacement, from the
 *                  whole vocabulary, then the same block again: the shape of the
 *                  standard protocol (detect.h), alone, with other words between the
 *                  copies, or inside ordinary text;
 *   echo           ordinary sentences, then a stretch of them again word for word,
 *                  from any word on;
 *   two-back       random words from the whole vocabulary in which the next word is,
 *                  half the time, the word two back: a previous-token head's own task.
 * Rule: once a stretch seen earlier begins again, each next word is the one that
 * followed it the first time; with probability 1 - repeat_frac a fresh stretch comes
 * instead (a control, so that "copy whatever came before" is not always right).
 * See model/CORPUS.md. */
#include "corpus/grammar.h"

static const char *const k_goods[] = {
    "apples", "ropes", "lamps", "tea", "bread", "milk", "candles", "nails", "soap", "rice",
    "eggs", "cheese", "flour", "sugar", "salt", "pencils", "stamps", "buttons", "socks",
    "gloves", "batteries", "blankets", "bowls", "spoons", "tomatoes", "lemons", "beans",
    "honey", "coffee", "paper", "string", "tape", "matches", "needles", "brushes", "shoes",
    "hats", "maps", "cards", "beads",
};
static const char *const k_list_verbs[] = {
    "bought", "packed", "needed", "carried", "sold", "ordered", "wanted", "counted",
};
/* First and second marker of a random-repeat span: "listen , SPAN . again , SPAN ." */
static const char *const k_markers[][2] = {
    {"listen ,", "again ,"}, {"say", "now say"}, {"remember", "repeat"},
    {"words ,", "once more ,"}, {"copy this ,", "the copy ,"},
};

/* ---- induct-list ---- */

/* "x , y , z and w" */
static void put_list(Writer *w, const char *const *items, int n) {
    for (int i = 0; i < n; i++) {
        if (i > 0) put(w, i == n - 1 ? "and" : ",");
        put(w, items[i]);
    }
}

/* n distinct goods, or n distinct people, into items. */
static void list_items(AvzRng *r, int people, int n, const char **items) {
    int idx[8];
    if (!people) {
        corpus_pick_distinct(r, N_OF(k_goods), n, idx);
        for (int i = 0; i < n; i++) items[i] = k_goods[idx[i]];
        return;
    }
    corpus_pick_distinct(r, corpus_n_people(), n, idx);
    for (int i = 0; i < n; i++) items[i] = corpus_person(idx[i]);
}

/* Sentences between the two lists, which add distance but name nobody new. */
static void put_filler(Writer *w, AvzRng *r, const Referent *subj) {
    switch (pick(r, 3)) {
    case 0: if (subj) put(w, corpus_subj(subj->cls)); else put(w, "everyone");
            put(w, "went home"); break;
    case 1: if (subj) { put(w, corpus_subj(subj->cls)); put(w, corpus_was(subj->cls)); }
            else put(w, "it was");
            put(w, "busy all day"); break;
    default: put(w, "the"); put(w, corpus_place(r)); put(w, "was busy"); break;
    }
    put(w, ".");
}

/* "ada lovelace bought apples , ropes and tea . she went home . later , she bought
 *  apples , ropes and tea again ." or the same with a list of people. */
void corpus_gen_induct_list(Writer *w, AvzRng *r, int n_sent, float repeat_frac) {
    int people = chance(r, 0.35f), n = people ? range(r, 2, 4) : range(r, 3, 6);
    const char *items[8];
    list_items(r, people, n, items);
    Referent buyer = corpus_referent_random(r);
    const char *verb = PICK(r, k_list_verbs);
    if (people) {
        put_list(w, items, n); put(w, "came to the"); put(w, corpus_place(r));
    } else {
        put(w, buyer.text); put(w, verb); put_list(w, items, n);
    }
    put(w, ".");
    int n_fill = n_sent - 2 < 0 ? 0 : n_sent - 2 > 3 ? 3 : n_sent - 2;
    for (int i = 0; i < n_fill; i++) put_filler(w, r, people ? NULL : &buyer);
    int repeat = chance(r, repeat_frac);
    if (!repeat) list_items(r, people, n, items);
    if (people) {
        put(w, "the next day ,"); put_list(w, items, n); put(w, "came");
        put(w, repeat ? "back" : "too");
    } else {
        put(w, "later ,"); put(w, corpus_subj(buyer.cls)); put(w, verb); put_list(w, items, n);
        put(w, repeat ? "again" : "too");
    }
    put(w, ".");
}

/* ---- induct-random ---- */

/* A span of len distinct content words; returns the token index of its first word. */
static int put_random_span(Writer *w, const int *idx, int len) {
    int n_pool;
    const char *const *pool = corpus_content_pool(&n_pool);
    int at = next_tok(w);
    for (int i = 0; i < len; i++) put(w, pool[idx[i]]);
    return at;
}

/* A span of random words and, usually, its copy. Only 30% of pairs are announced by
 * marker words, and a filler of 0-6 other random words sits between the copies, so
 * the distance between the copies varies: the only way to predict the second copy
 * is to find the earlier occurrence of the current word and copy what came after it
 * (an induction head), not to count positions from a marker. Returns the two spans'
 * starts: "listen , w1 ... wk . again , w1 ... wk ." */
static void put_random_pair(Writer *w, AvzRng *r, float repeat_frac, int len,
                            int *first, int *second) {
    int n_pool, idx[16], fill[16];
    const char *const *pool = corpus_content_pool(&n_pool);
    const char *const *marker = k_markers[pick(r, N_OF(k_markers))];
    int marked = chance(r, 0.3f);
    corpus_pick_distinct(r, n_pool, len, idx);
    if (marked) put(w, marker[0]);
    *first = put_random_span(w, idx, len);
    put(w, marked ? "." : ",");
    int n_fill = range(r, 0, 6);
    for (int k = 0; k < n_fill; k++) {
        int clash;
        do {                                        /* filler words never repeat the span */
            fill[k] = pick(r, n_pool);
            clash = 0;
            for (int i = 0; i < len; i++) clash |= fill[k] == idx[i];
        } while (clash);
        put(w, pool[fill[k]]);
    }
    if (marked) put(w, marker[1]);
    if (!chance(r, repeat_frac)) corpus_pick_distinct(r, n_pool, len, idx);
    *second = put_random_span(w, idx, len);
    put(w, ".");
}

void corpus_gen_induct_random(Writer *w, AvzRng *r, int n_sent, float repeat_frac) {
    int pairs = n_sent / 2 < 1 ? 1 : n_sent / 2, a, b;
    for (int i = 0; i < pairs; i++) put_random_pair(w, r, repeat_frac, range(r, 5, 12), &a, &b);
}

/* "listen , w1 ... wk . again , w1 ... wk ." always repeated. */
void corpus_probe_induct(Writer *w, AvzRng *r, Probe *p) {
    p->span_len = range(r, 5, 12);
    put_random_pair(w, r, 1.0f, p->span_len, &p->span_start, &p->repeat_start);
}

/* ---- blocks: the standard protocol's shape ---- */

/* n words drawn uniformly, with replacement, from every word of the vocabulary
 * (punctuation and function words too), into idx. */
static void draw_block(AvzRng *r, int n, int *idx) {
    int n_pool;
    corpus_word_pool(&n_pool);
    for (int i = 0; i < n; i++) idx[i] = pick(r, n_pool);
}

static void put_block(Writer *w, const int *idx, int n) {
    int n_pool;
    const char *const *pool = corpus_word_pool(&n_pool);
    for (int i = 0; i < n; i++) put(w, pool[idx[i]]);
}

/* "w1 ... wn w1 ... wn": a block of 2 to max_len random words from the whole
 * vocabulary and the same block again, with no marker and no punctuation of its own.
 * Half the time the copies stand alone, as in the standard protocol; otherwise 1 to
 * 16 other random words or an ordinary sentence come between them, or an ordinary
 * sentence before or after them; now and then a third copy follows. Nothing the
 * grammar teaches predicts a random block, so the second copy can only be predicted
 * by copying: find the earlier occurrence of the current word, take what followed. */
void corpus_gen_blocks(Writer *w, AvzRng *r, int max_len, float repeat_frac) {
    int idx[CORPUS_BLOCK_MAX], n = range(r, 2, max_len), gap[16];
    draw_block(r, n, idx);
    float u = avz_rng_uniform(r);
    int before = u >= 0.8f && u < 0.9f, after = u >= 0.9f;
    if (before) corpus_put_plain_sentence(w, r);
    put_block(w, idx, n);
    if (u >= 0.5f && u < 0.7f) {                  /* other random words between */
        int k = range(r, 1, 16);
        draw_block(r, k, gap);
        put_block(w, gap, k);
    } else if (u >= 0.7f && u < 0.8f) {           /* a sentence between */
        corpus_put_plain_sentence(w, r);
    }
    int repeat = chance(r, repeat_frac);
    if (!repeat) draw_block(r, n, idx);           /* the control: a fresh block */
    put_block(w, idx, n);
    if (repeat && chance(r, 0.1f)) put_block(w, idx, n);   /* and once more */
    if (after) corpus_put_plain_sentence(w, r);
}

/* ---- two-back: what only a previous-token head can predict ---- */

/* "w1 w2 w1 w3 w4 w3 w3 ...": 16 to 48 words drawn uniformly from the whole
 * vocabulary, except that each word from the third on is, with probability 1/2, the
 * word two back (x[t+1] = x[t-1]). Reading word t, the best guess is "half the time,
 * the word just before me", whatever the words are: a head must look exactly one
 * position back and copy what it finds. Without this kind an ALiBi model gets by with
 * a blurred previous-token head: its distance penalty alone (slope m) cannot favour
 * position t - 1 over t - 2 by more than e^m, and induction works with the blur. */
void corpus_gen_twoback(Writer *w, AvzRng *r) {
    int n_pool, idx[48], n = range(r, 16, 48);
    corpus_word_pool(&n_pool);
    for (int i = 0; i < n; i++)
        idx[i] = i >= 2 && chance(r, 0.5f) ? idx[i - 2] : pick(r, n_pool);
    put_block(w, idx, n);
}

/* ---- echo: ordinary text that repeats itself ---- */

/* "the cup is red . a dog says woof . is red . a dog": n_sent ordinary sentences,
 * sometimes one more, then a stretch of 2 to 30 of their words again, from any word
 * on (so the copy may begin and end in the middle of a sentence), and a full stop
 * unless the copy ended with one.
 * With 1 - repeat_frac another ordinary sentence comes instead (the control). */
void corpus_gen_echo(Writer *w, AvzRng *r, int n_sent, float repeat_frac) {
    for (int i = 0; i < n_sent; i++) corpus_put_plain_sentence(w, r);
    int have = w->n_words, len = range(r, 2, have < 30 ? have : 30);
    int from = pick(r, have - len + 1);
    if (chance(r, 0.4f)) corpus_put_plain_sentence(w, r);
    if (chance(r, repeat_frac)) {
        corpus_put_copy(w, from, len);
        int ends_a_sentence = w->len >= 2 && !strcmp(w->buf + w->len - 2, " .");
        if (!ends_a_sentence) put(w, ".");
    } else {
        corpus_put_plain_sentence(w, r);
    }
}

void corpus_repeats_words(WordSink add, int content) {
    if (!content) {
        for (int i = 0; i < N_OF(k_list_verbs); i++) add(k_list_verbs[i]);
        for (int i = 0; i < N_OF(k_markers); i++) { add(k_markers[i][0]); add(k_markers[i][1]); }
        return;
    }
    for (int i = 0; i < N_OF(k_goods); i++) add(k_goods[i]);
}
