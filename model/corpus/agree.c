/* agree.c: subject-verb agreement passages. The main verb agrees with the head noun
 * of its subject (the first noun after "the") across attractor nouns of the other
 * number in prepositional phrases and relative clauses, so predicting it means
 * looking back at that one noun. See model/CORPUS.md, "agree". */
#include "corpus/grammar.h"

/* ---- nouns and verbs (agreement) ---- */

typedef struct { const char *sg, *pl; int animate; } Noun;
typedef struct { const char *sg, *pl; } VerbForms; /* "runs"/"run": 3rd person sg / pl */

static const Noun k_nouns[] = {
    {"dog", "dogs", 1}, {"cat", "cats", 1}, {"horse", "horses", 1}, {"bird", "birds", 1},
    {"child", "children", 1}, {"man", "men", 1}, {"woman", "women", 1},
    {"teacher", "teachers", 1}, {"farmer", "farmers", 1}, {"doctor", "doctors", 1},
    {"student", "students", 1}, {"baker", "bakers", 1}, {"mouse", "mice", 1},
    {"goose", "geese", 1}, {"girl", "girls", 1}, {"boy", "boys", 1}, {"king", "kings", 1},
    {"queen", "queens", 1}, {"singer", "singers", 1}, {"pilot", "pilots", 1},
    {"nurse", "nurses", 1}, {"neighbor", "neighbors", 1},
    {"key", "keys", 0}, {"book", "books", 0}, {"lamp", "lamps", 0}, {"box", "boxes", 0},
    {"cabinet", "cabinets", 0}, {"door", "doors", 0}, {"window", "windows", 0},
    {"table", "tables", 0}, {"chair", "chairs", 0}, {"bottle", "bottles", 0},
    {"picture", "pictures", 0}, {"letter", "letters", 0}, {"bag", "bags", 0},
    {"shelf", "shelves", 0}, {"knife", "knives", 0}, {"car", "cars", 0},
    {"boat", "boats", 0}, {"bridge", "bridges", 0}, {"tree", "trees", 0},
    {"flower", "flowers", 0}, {"house", "houses", 0}, {"clock", "clocks", 0},
    {"cup", "cups", 0}, {"coat", "coats", 0}, {"road", "roads", 0}, {"tower", "towers", 0},
};
static const VerbForms k_intransitive[] = {
    {"runs", "run"}, {"sleeps", "sleep"}, {"waits", "wait"}, {"sings", "sing"},
    {"walks", "walk"}, {"jumps", "jump"}, {"eats", "eat"}, {"smiles", "smile"},
    {"works", "work"}, {"plays", "play"}, {"laughs", "laugh"}, {"rests", "rest"},
};
static const VerbForms k_transitive[] = {
    {"loves", "love"}, {"likes", "like"}, {"feeds", "feed"}, {"sees", "see"},
    {"helps", "help"}, {"knows", "know"}, {"visits", "visit"}, {"watches", "watch"},
    {"follows", "follow"}, {"finds", "find"},
};
static const VerbForms k_be_now = {"is", "are"}, k_be_then = {"was", "were"},
                       k_have = {"has", "have"};
static const char *const k_preps[] = {
    "near", "behind", "beside", "under", "by", "with", "of", "above", "next to", "to",
};
static const char *const k_adj_any[] = {
    "old", "new", "small", "big", "red", "blue", "green", "tall", "strange", "famous",
    "little", "white", "black", "yellow",
};
static const char *const k_adj_animate[] = {
    "hungry", "sleepy", "calm", "angry", "busy", "clever", "brave", "gentle",
};
static const char *const k_adj_thing[] = {
    "broken", "empty", "heavy", "shiny", "wooden", "cheap", "expensive", "dusty",
};
static const char *const k_adverbials[] = {
    "every day", "at night", "all day", "in the park", "after lunch", "in the morning",
};

/* ---- agreement passages ----
 * Rule: the main verb (is/are, was/were, has/have, runs/run) agrees with the head
 * noun of its subject, the first noun after "the", whatever nouns follow it in a
 * prepositional phrase or a relative clause. A relative clause's own verb agrees
 * with its own subject. */

enum { SUBJ_SIMPLE, SUBJ_PP, SUBJ_OBJ_REL, SUBJ_SUBJ_REL, SUBJ_PP_PP, SUBJ_KINDS };

/* A noun other than not_this; animacy 1 = animate only, 0 = things only, -1 = any. */
static const Noun *noun_pick(AvzRng *r, int animacy, const Noun *not_this) {
    const Noun *n;
    do n = &k_nouns[pick(r, N_OF(k_nouns))];
    while ((animacy >= 0 && n->animate != animacy) || n == not_this);
    return n;
}

/* "the [adjective] noun"; returns the noun's token index. */
static int put_np(Writer *w, AvzRng *r, const Noun *n, int plural) {
    put(w, "the");
    if (chance(r, 0.3f)) put(w, PICK(r, k_adj_any));
    int at = next_tok(w);
    put(w, plural ? n->pl : n->sg);
    return at;
}

/* Writes a subject of the given structure with head noun *head (chosen here) of
 * number plural; attractor nouns have number attr. Returns the head's token index. */
static int agree_subject(Writer *w, AvzRng *r, int kind, int plural, int attr,
                         const Noun **head) {
    const Noun *h = noun_pick(r, kind == SUBJ_SUBJ_REL ? 1 : -1, NULL);
    *head = h;
    int at = put_np(w, r, h, plural);
    const Noun *a = noun_pick(r, kind == SUBJ_OBJ_REL ? 1 : -1, h);
    const VerbForms *tv = &k_transitive[pick(r, N_OF(k_transitive))];
    switch (kind) {
    case SUBJ_PP: put(w, PICK(r, k_preps)); put_np(w, r, a, attr); break;
    case SUBJ_OBJ_REL: put(w, "that"); put_np(w, r, a, attr);
                       put(w, attr ? tv->pl : tv->sg); break;
    case SUBJ_SUBJ_REL: put(w, "that"); put(w, plural ? tv->pl : tv->sg);
                        put_np(w, r, a, attr); break;
    case SUBJ_PP_PP: put(w, PICK(r, k_preps)); put_np(w, r, a, attr);
                     put(w, PICK(r, k_preps));
                     put_np(w, r, noun_pick(r, -1, a), chance(r, 0.5f)); break;
    default: break;
    }
    return at;
}

/* What follows a form of "be": an adjective that fits the head, or a place. */
static void put_be_complement(Writer *w, AvzRng *r, const Noun *head) {
    switch (pick(r, 4)) {
    case 0: put(w, head->animate ? PICK(r, k_adj_animate) : PICK(r, k_adj_thing)); break;
    case 1: put(w, "very"); put(w, PICK(r, k_adj_any)); break;
    case 2: put(w, PICK(r, k_adj_any)); break;
    default: put(w, chance(r, 0.5f) ? "on the" : "near the");
             put(w, noun_pick(r, 0, head)->sg); break;
    }
}

/* The main verb and the rest of the sentence. Returns the verb's token index and
 * its two forms in *verb (sg, pl). */
static int agree_predicate(Writer *w, AvzRng *r, const Noun *head, int plural,
                           VerbForms *verb) {
    int kind = pick(r, head->animate ? 4 : 3);
    *verb = kind == 0 ? k_be_now : kind == 1 ? k_be_then : kind == 2 ? k_have
                                  : k_intransitive[pick(r, N_OF(k_intransitive))];
    int at = next_tok(w);
    put(w, plural ? verb->pl : verb->sg);
    if (kind <= 1) {
        put_be_complement(w, r, head);
    } else if (kind == 2) {
        if (chance(r, 0.5f)) put_article(w, PICK(r, k_adj_any));
        else put(w, "a");
        put(w, noun_pick(r, 0, head)->sg);
    } else if (chance(r, 0.6f)) {
        put(w, PICK(r, k_adverbials));
    }
    put(w, ".");
    return at;
}

void corpus_gen_agree(Writer *w, AvzRng *r, int n_sent) {
    for (int i = 0; i < n_sent; i++) {
        int kind = pick(r, SUBJ_KINDS), plural = chance(r, 0.5f);
        int attr = chance(r, 0.6f) ? !plural : chance(r, 0.5f);
        const Noun *head;
        VerbForms verb;
        agree_subject(w, r, kind, plural, attr, &head);
        agree_predicate(w, r, head, plural, &verb);
    }
}

/* ---- the probe ---- */

/* "the keys to the old cabinet are on the table ." with "are" as the query. */
void corpus_probe_agree(Writer *w, AvzRng *r, Probe *p) {
    int kind = 1 + pick(r, SUBJ_KINDS - 1), plural = chance(r, 0.5f);
    const Noun *head;
    VerbForms verb;
    p->targets[p->n_targets++] = agree_subject(w, r, kind, plural, !plural, &head);
    p->query = agree_predicate(w, r, head, plural, &verb);
    corpus_probe_set(p->answer, sizeof p->answer, plural ? verb.pl : verb.sg);
    corpus_probe_set(p->wrong, sizeof p->wrong, plural ? verb.sg : verb.pl);
}

void corpus_agree_words(WordSink add, int content) {
    if (!content) {
        const VerbForms *tables[] = {k_intransitive, k_transitive, &k_have};
        const int counts[] = {N_OF(k_intransitive), N_OF(k_transitive), 1};
        for (int t = 0; t < 3; t++)
            for (int i = 0; i < counts[t]; i++) { add(tables[t][i].sg); add(tables[t][i].pl); }
        for (int i = 0; i < N_OF(k_preps); i++) add(k_preps[i]);
        for (int i = 0; i < N_OF(k_adverbials); i++) add(k_adverbials[i]);
        return;
    }
    for (int i = 0; i < N_OF(k_nouns); i++) { add(k_nouns[i].sg); add(k_nouns[i].pl); }
    for (int i = 0; i < N_OF(k_adj_any); i++) add(k_adj_any[i]);
    for (int i = 0; i < N_OF(k_adj_animate); i++) add(k_adj_animate[i]);
    for (int i = 0; i < N_OF(k_adj_thing); i++) add(k_adj_thing[i]);
}
