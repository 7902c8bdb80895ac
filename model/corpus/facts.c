/* facts.c: fact passages from a small fixed knowledge base (capitals, animal
 * sounds, opposites, categories), each fact in several templates, so that a model
 * must recall the relation rather than one string. See model/CORPUS.md, "facts". */
#include "corpus/grammar.h"

/* ---- the knowledge base (facts) ---- */

typedef struct { const char *a, *b; } Pair;

static const Pair k_capitals[] = { /* country, capital */
    {"france", "paris"}, {"italy", "rome"}, {"spain", "madrid"}, {"germany", "berlin"},
    {"japan", "tokyo"}, {"egypt", "cairo"}, {"kenya", "nairobi"}, {"peru", "lima"},
    {"norway", "oslo"}, {"sweden", "stockholm"}, {"poland", "warsaw"},
    {"austria", "vienna"}, {"greece", "athens"}, {"portugal", "lisbon"},
    {"ireland", "dublin"}, {"canada", "ottawa"}, {"russia", "moscow"},
    {"china", "beijing"}, {"cuba", "havana"}, {"hungary", "budapest"},
};
static const Pair k_sounds[] = { /* animal, sound */
    {"dog", "woof"}, {"cat", "meow"}, {"cow", "moo"}, {"duck", "quack"}, {"sheep", "baa"},
    {"pig", "oink"}, {"horse", "neigh"}, {"owl", "hoot"}, {"lion", "roar"},
    {"snake", "hiss"}, {"frog", "croak"}, {"bee", "buzz"}, {"mouse", "squeak"},
    {"wolf", "howl"}, {"crow", "caw"},
};
static const Pair k_opposites[] = {
    {"hot", "cold"}, {"big", "small"}, {"fast", "slow"}, {"happy", "sad"},
    {"light", "dark"}, {"old", "young"}, {"open", "closed"}, {"early", "late"},
    {"rich", "poor"}, {"strong", "weak"}, {"loud", "quiet"}, {"wet", "dry"},
    {"full", "empty"}, {"hard", "soft"}, {"long", "short"}, {"high", "low"},
    {"clean", "dirty"}, {"thick", "thin"}, {"near", "far"}, {"good", "bad"},
};
typedef struct { const char *name, *plural; const char *items[5]; } Category;
static const Category k_categories[] = {
    {"vegetable", "vegetables", {"carrot", "potato", "onion", "cabbage", "leek"}},
    {"fruit", "fruits", {"apple", "banana", "pear", "plum", "cherry"}},
    {"tool", "tools", {"hammer", "saw", "drill", "wrench", "chisel"}},
    {"instrument", "instruments", {"piano", "violin", "drum", "flute", "trumpet"}},
    {"bird", "birds", {"sparrow", "eagle", "robin", "parrot", "swan"}},
    {"tree", "trees", {"oak", "pine", "birch", "maple", "willow"}},
};


/* ---- fact passages ----
 * Rule: the knowledge base never changes, so "the capital of france is" is always
 * followed by "paris". Each fact has several templates; the first ones are "probe
 * safe": the object comes after the subject and is not preceded by a/an (which would
 * give the answer away). FactMark records where the subject and the object went. */

enum { FACT_CAPITAL, FACT_SOUND, FACT_OPPOSITE, FACT_CATEGORY, FACT_KINDS };

typedef struct { int subj[2], n_subj, obj; const char *answer, *wrong; } FactMark;

static void mark_subj(FactMark *m, const Writer *w) { m->subj[m->n_subj++] = next_tok(w); }
static void mark_obj(FactMark *m, const Writer *w, const char *ans) {
    m->obj = next_tok(w);
    m->answer = ans;
}

/* The b (or a) of another pair, for the probe's wrong answer. */
static const char *other_of(AvzRng *r, const Pair *t, int n, int i, int take_b) {
    int j = (i + 1 + pick(r, n - 1)) % n;
    return take_b ? t[j].b : t[j].a;
}

static void fact_capital(Writer *w, AvzRng *r, int safe, FactMark *m) {
    int i = pick(r, N_OF(k_capitals));
    const Pair *p = &k_capitals[i];
    switch (pick(r, safe ? 4 : 5)) {
    case 0: put(w, "the capital of"); mark_subj(m, w); put(w, p->a); put(w, "is");
            mark_obj(m, w, p->b); put(w, p->b); break;
    case 1: mark_subj(m, w); put(w, p->b); put(w, "is the capital of");
            mark_obj(m, w, p->a); put(w, p->a); break;
    case 2: mark_subj(m, w); put(w, p->b); put(w, "is a city in");
            mark_obj(m, w, p->a); put(w, p->a); break;
    case 3: put(w, "in"); mark_subj(m, w); put(w, p->a); put(w, ", the capital is");
            mark_obj(m, w, p->b); put(w, p->b); break;
    default: put(w, "the capital city of"); mark_subj(m, w); put(w, p->a); put(w, "is");
             mark_obj(m, w, p->b); put(w, p->b); break;
    }
    m->wrong = other_of(r, k_capitals, N_OF(k_capitals), i, m->answer == p->b);
    put(w, ".");
}

static void fact_sound(Writer *w, AvzRng *r, int safe, FactMark *m) {
    int i = pick(r, N_OF(k_sounds));
    const Pair *p = &k_sounds[i];
    int k = pick(r, safe ? 4 : 5);
    if (k == 4) {           /* "woof is the sound a dog makes ." */
        mark_obj(m, w, p->b); put(w, p->b); put(w, "is the sound"); put(w, article(p->a));
        mark_subj(m, w); put(w, p->a); put(w, "makes");
    } else {
        if (k == 3) put(w, "the sound of");
        put(w, k == 1 ? "the" : article(p->a));
        mark_subj(m, w); put(w, p->a);
        put(w, k == 3 ? "is" : k == 2 ? "goes" : "says");
        mark_obj(m, w, p->b); put(w, p->b);
    }
    m->wrong = other_of(r, k_sounds, N_OF(k_sounds), i, 1);
    put(w, ".");
}

/* Opposites are symmetric, so either word of a pair may come first. */
static void fact_opposite(Writer *w, AvzRng *r, FactMark *m) {
    int i = pick(r, N_OF(k_opposites));
    int flip = chance(r, 0.5f);
    const char *x = flip ? k_opposites[i].b : k_opposites[i].a;
    const char *y = flip ? k_opposites[i].a : k_opposites[i].b;
    int k = pick(r, 3);
    if (k == 0) put(w, "the opposite of");
    mark_subj(m, w); put(w, x);
    put(w, k == 0 ? "is" : k == 1 ? "is the opposite of" : "and");
    mark_obj(m, w, y); put(w, y);
    if (k == 2) put(w, "are opposites");
    m->wrong = other_of(r, k_opposites, N_OF(k_opposites), i, chance(r, 0.5f));
    put(w, ".");
}

static void fact_category(Writer *w, AvzRng *r, int safe, FactMark *m) {
    int c = pick(r, N_OF(k_categories));
    const Category *cat = &k_categories[c];
    int i = pick(r, 5);
    int k = pick(r, safe ? 2 : 4);
    const Category *other = &k_categories[(c + 1 + pick(r, N_OF(k_categories) - 1)) %
                                          N_OF(k_categories)];
    if (k == 1) {           /* "an apple and a pear are both fruits ." */
        put(w, article(cat->items[i]));
        mark_subj(m, w); put(w, cat->items[i]); put(w, "and");
        const char *second = cat->items[(i + 1 + pick(r, 4)) % 5];
        put(w, article(second));
        mark_subj(m, w); put(w, second); put(w, "are both");
        mark_obj(m, w, cat->plural); put(w, cat->plural);
        m->wrong = other->plural;
    } else {
        if (k == 3) put(w, "every");
        else put(w, article(cat->items[i]));
        mark_subj(m, w); put(w, cat->items[i]); put(w, "is");
        if (k == 0) put(w, "a kind of"); else put(w, article(cat->name));
        mark_obj(m, w, cat->name); put(w, cat->name);
        m->wrong = other->name;
    }
    put(w, ".");
}

static void fact_sentence(Writer *w, AvzRng *r, int kind, int safe, FactMark *m) {
    *m = (FactMark){{0, 0}, 0, 0, NULL, NULL};
    switch (kind) {
    case FACT_CAPITAL: fact_capital(w, r, safe, m); break;
    case FACT_SOUND: fact_sound(w, r, safe, m); break;
    case FACT_OPPOSITE: fact_opposite(w, r, m); break;
    default: fact_category(w, r, safe, m); break;
    }
}

void corpus_gen_facts(Writer *w, AvzRng *r, int n_sent) {
    FactMark m;
    for (int i = 0; i < n_sent; i++) fact_sentence(w, r, pick(r, FACT_KINDS), 0, &m);
}

/* ---- the probe ---- */

/* Zero to two context facts, then a probe-safe fact whose object is the query. */
void corpus_probe_fact(Writer *w, AvzRng *r, Probe *p) {
    FactMark m;
    int n_context = pick(r, 3);
    for (int i = 0; i < n_context; i++) fact_sentence(w, r, pick(r, FACT_KINDS), 0, &m);
    fact_sentence(w, r, pick(r, FACT_KINDS), 1, &m);
    p->query = m.obj;
    for (int i = 0; i < m.n_subj; i++) p->targets[p->n_targets++] = m.subj[i];
    corpus_probe_set(p->answer, sizeof p->answer, m.answer);
    corpus_probe_set(p->wrong, sizeof p->wrong, m.wrong);
}

const char *corpus_capital_city(AvzRng *r) { return PICK(r, k_capitals).b; }

void corpus_facts_words(WordSink add, int content) {
    if (!content) return;   /* the templates' words are in vocab.c's glue */
    const Pair *pairs[] = {k_capitals, k_sounds, k_opposites};
    const int counts[] = {N_OF(k_capitals), N_OF(k_sounds), N_OF(k_opposites)};
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < counts[t]; i++) { add(pairs[t][i].a); add(pairs[t][i].b); }
    for (int i = 0; i < N_OF(k_categories); i++) {
        add(k_categories[i].name);
        add(k_categories[i].plural);
        for (int k = 0; k < 5; k++) add(k_categories[i].items[k]);
    }
}
