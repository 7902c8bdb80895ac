/* corpus.c: the seeded grammar behind attnviz's training text, and its probes.
 *
 * The file reads top to bottom: the word tables (people, nouns, verbs, the
 * knowledge base), a small writer that appends words and counts them (so that a
 * generator knows the token index of what it writes), one generator per passage
 * kind, the vocabulary, the public passage and file functions, and the probes.
 * Each generator states the rule that makes its hard word predictable; those
 * rules are what a trained head must discover. See model/CORPUS.md. */
#include "corpus.h"

#include <math.h>
#include <string.h>
#include <threads.h>

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define PICK(r, table) ((table)[pick((r), N_OF(table))])

/* ---- people and groups (coreference) ---- */

/* The three referent classes; a pronoun's form is a function of its class. */
enum { CLS_FEMALE, CLS_MALE, CLS_PLURAL, CLS_COUNT };

static const char *const k_subj[CLS_COUNT] = {"she", "he", "they"};
static const char *const k_obj[CLS_COUNT] = {"her", "him", "them"};
static const char *const k_poss[CLS_COUNT] = {"her", "his", "their"};
static const char *const k_was[CLS_COUNT] = {"was", "was", "were"};

/* First names carry the gender: each is used for one gender only. */
static const char *const k_women[] = {
    "marie curie", "ada lovelace", "grace hopper", "emmy noether", "rosalind franklin",
    "lise meitner", "dorothy hodgkin", "katherine johnson", "barbara mcclintock",
    "mary somerville", "hedy lamarr", "jane goodall", "rachel carson", "chien wu",
    "anna pascal", "clara maxwell", "sofia banach", "alice newton", "emma faraday",
    "olivia kepler", "lucy darwin", "helen gauss", "ruth tesla", "nora euler",
    "irene planck", "julia fermi", "laura bohr", "sarah edison", "hannah morse",
    "maya shannon", "lena hubble", "vera dirac", "tess mendel", "zoe pasteur",
    "ella herschel", "rita sagan", "greta nash", "iris turing", "leah hopper", "nina curie",
};
static const char *const k_men[] = {
    "alan turing", "isaac newton", "charles darwin", "albert einstein", "niels bohr",
    "james maxwell", "richard feynman", "paul dirac", "michael faraday", "johannes kepler",
    "blaise pascal", "leonhard euler", "carl gauss", "enrico fermi", "max planck",
    "nikola tesla", "thomas edison", "samuel morse", "john nash", "claude shannon",
    "edwin hubble", "gregor mendel", "louis pasteur", "william herschel", "carl sagan",
    "stefan banach", "srinivasa ramanujan", "oscar lovelace", "hugo noether",
    "felix franklin", "victor meitner", "simon hodgkin", "daniel johnson",
    "arthur mcclintock", "edward somerville", "harry lamarr", "ivan goodall",
    "omar carson", "pablo wu", "ravi curie",
};
static const char *const k_groups[] = {
    "the students", "the engineers", "the children", "the nurses", "the farmers",
    "the sailors", "the doctors", "the teachers", "the soldiers", "the musicians",
    "the painters", "the workers", "the scientists", "the pilots", "the players",
    "the neighbors",
};
static const char *const k_places[] = {
    "station", "library", "market", "museum", "school", "harbor", "park", "bridge",
    "hospital", "office", "cafe", "theater", "garden", "lab", "church", "bakery",
    "airport", "beach", "castle", "farm",
};
static const char *const k_meet_verbs[] = {
    "met", "visited", "called", "thanked", "helped", "praised", "greeted", "followed",
    "invited", "watched", "found", "surprised",
};
/* Things a person owns in coref passages (singular). */
static const char *const k_belongings[] = {
    "book", "lecture", "letter", "map", "camera", "bag", "coat", "idea", "plan", "story",
    "painting", "notebook", "poem", "recipe", "bicycle", "umbrella", "report", "song",
    "drawing", "photo",
};

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

/* ---- lists (induction) ---- */

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

/* Function words used literally by the templates below. */
static const char *const k_glue[] = {
    "the", "a", "an", "at", "in", "to", "of", "and", "because", "later", "then", "gave",
    "told", "about", "happy", "see", "arrived", "wrote", "borrowed", "returned", "it",
    "next", "day", "everyone", "liked", "smiled", "waited", "for", "near", "until",
    "tired", "had", "lunch", "with", "came", "met", "back", "went", "again", "too",
    "is", "are", "was", "were", "that", "on", "very", "capital", "city",
    "says", "goes", "sound", "makes", "opposite", "opposites", "kind", "every", "both",
    "home", "busy", "all", "morning",
};

/* ---- the writer ---- */

/* Appends words to a caller's buffer and counts them; `full` latches on overflow. */
typedef struct { char *buf; size_t cap, len; int n_words; int full; } Writer;

static void writer_init(Writer *w, char *buf, size_t cap) {
    *w = (Writer){buf, cap, 0, 0, 0};
    if (cap) buf[0] = '\0';
}

/* Appends one or more space-separated words. */
static void put(Writer *w, const char *words) {
    const char *s = words;
    while (*s) {
        while (*s == ' ') s++;
        size_t n = strcspn(s, " ");
        if (n == 0) break;
        size_t need = n + (w->len ? 1 : 0) + 1;
        if (w->full || w->len + need > w->cap) { w->full = 1; return; }
        if (w->len) w->buf[w->len++] = ' ';
        memcpy(w->buf + w->len, s, n);
        w->len += n;
        w->buf[w->len] = '\0';
        w->n_words++;
        s += n;
    }
}

/* Token index that the next word will have (<bos> is 0). */
static int next_tok(const Writer *w) { return w->n_words + 1; }

/* "a" or "an" for the word that follows. */
static const char *article(const char *word) {
    return word[0] && strchr("aeiou", word[0]) ? "an" : "a";
}

static void put_article(Writer *w, const char *word) {
    put(w, article(word));
    put(w, word);
}

/* ---- randomness ---- */

static int pick(AvzRng *r, int n) { return (int)(avz_rng_u64(r) % (uint64_t)n); }
static int chance(AvzRng *r, float p) { return avz_rng_uniform(r) < p; }
static int range(AvzRng *r, int lo, int hi) { return lo + pick(r, hi - lo + 1); }

/* ---- coreference passages ----
 * Rules (deterministic, so the pronoun is predictable):
 *   the topic is the person or group last named as a sentence's subject; a subject
 *   pronoun (she/he/they, was/were) refers to the topic;
 *   the other is the participant named after the topic (or the old topic after a
 *   change of topic); an object pronoun (her/him/them) refers to the other;
 *   a possessive refers to the topic, except after "liked" and "borrowed", where it
 *   refers to the other. */

typedef struct { const char *text; int cls; } Referent;

/* Every person and group has a fixed habit, told right after a subject pronoun
 * ("she painted all day ."). To predict the habit, the pronoun's own position must
 * find out whom it refers to, so the model learns heads that attend from the
 * pronoun to its antecedent's name: the coreference heads the app shows. */
static const char *const k_habits[] = {
    "painted", "danced", "cooked", "swam", "gardened", "sketched", "whistled", "knitted",
    "hiked", "fished", "baked", "prayed", "juggled", "studied", "sailed", "rowed",
};

static const char *habit_of(const Referent *x) {
    uint32_t h = 2166136261u;                     /* FNV-1a of the name: fixed per person */
    for (const char *c = x->text; *c; c++) h = (h ^ (unsigned char)*c) * 16777619u;
    return k_habits[h % (uint32_t)(sizeof k_habits / sizeof k_habits[0])];
}
typedef struct { Referent topic, other; } CorefState;

static Referent referent_of_class(AvzRng *r, int cls) {
    Referent x = {NULL, cls};
    if (cls == CLS_FEMALE) x.text = PICK(r, k_women);
    else if (cls == CLS_MALE) x.text = PICK(r, k_men);
    else x.text = PICK(r, k_groups);
    return x;
}

/* A referent of class cls that is neither a nor b (either may be NULL). */
static Referent referent_new(AvzRng *r, int cls, const Referent *a, const Referent *b) {
    Referent x;
    do x = referent_of_class(r, cls);
    while ((a && x.text == a->text) || (b && x.text == b->text));
    return x;
}

static int class_random(AvzRng *r) {
    float u = avz_rng_uniform(r);
    return u < 0.4f ? CLS_FEMALE : u < 0.8f ? CLS_MALE : CLS_PLURAL;
}

/* A class other than cls: mostly the other gender, sometimes a group. */
static int class_other(AvzRng *r, int cls) {
    if (cls == CLS_PLURAL) return chance(r, 0.5f) ? CLS_FEMALE : CLS_MALE;
    if (chance(r, 0.25f)) return CLS_PLURAL;
    return cls == CLS_FEMALE ? CLS_MALE : CLS_FEMALE;
}

/* A distractor for the corpus: another class 60% of the time, else the same class,
 * so that "the pronoun is the opposite of the last name" is not a shortcut. */
static int class_distractor(AvzRng *r, int cls) {
    return chance(r, 0.6f) ? class_other(r, cls) : cls;
}

/* Writes a referent; returns the token index of its first word. */
static int put_ref(Writer *w, const Referent *x) {
    int at = next_tok(w);
    put(w, x->text);
    return at;
}

/* One opening sentence: the topic acts on the other. *subj is set to the token index
 * of a subject pronoun inside the sentence, or -1. Returns the topic's token index. */
static int coref_intro(Writer *w, AvzRng *r, const CorefState *st, int *subj) {
    const Referent *t = &st->topic, *o = &st->other;
    int at = put_ref(w, t);
    *subj = -1;
    switch (pick(r, 5)) {
    case 0: put(w, PICK(r, k_meet_verbs)); put_ref(w, o); put(w, "at the");
            put(w, PICK(r, k_places)); break;
    case 1: put(w, PICK(r, k_meet_verbs)); put_ref(w, o); put(w, "in");
            put(w, PICK(r, k_capitals).b); break;
    case 2: put(w, "thanked"); put_ref(w, o); put(w, "because");
            *subj = next_tok(w); put(w, k_subj[t->cls]); put(w, "liked");
            put(w, k_poss[o->cls]); put(w, PICK(r, k_belongings)); break;
    case 3: put(w, "waited for"); put_ref(w, o); put(w, "near the");
            put(w, PICK(r, k_places)); put(w, "until");
            *subj = next_tok(w); put(w, k_subj[t->cls]); put(w, k_was[t->cls]);
            put(w, "tired"); break;
    default: put(w, "had lunch with"); put_ref(w, o); put(w, "at the");
             put(w, PICK(r, k_places)); break;
    }
    put(w, ".");
    return at;
}

/* Subject pronoun of the topic; returns its token index. */
static int put_subj(Writer *w, const CorefState *st) {
    int at = next_tok(w);
    put(w, k_subj[st->topic.cls]);
    return at;
}

/* A new participant C becomes the other. */
static void introduce_other(Writer *w, AvzRng *r, CorefState *st) {
    int cls = class_distractor(r, st->topic.cls);
    st->other = referent_new(r, cls, &st->topic, &st->other);
    put_ref(w, &st->other);
}

/* A newly named subject C becomes the topic; the old topic becomes the other. */
static void switch_topic(Writer *w, AvzRng *r, CorefState *st) {
    int cls = class_distractor(r, st->topic.cls);
    Referent c = referent_new(r, cls, &st->topic, &st->other);
    st->other = st->topic;
    st->topic = c;
    put_ref(w, &c);
}

/* One follow-up sentence. With need_subj, only templates that open with the topic's
 * subject pronoun are used; *subj gets its token index (or -1). */
static void coref_continue(Writer *w, AvzRng *r, CorefState *st, int need_subj, int *subj) {
    const char *thing = PICK(r, k_belongings);
    *subj = -1;
    if (chance(r, 0.3f)) {                        /* the topic's habit */
        *subj = put_subj(w, st);
        put(w, habit_of(&st->topic));
        put(w, chance(r, 0.5f) ? "all day" : "again");
        put(w, ".");
        return;
    }
    switch (pick(r, need_subj ? 6 : 10)) {
    case 0: *subj = put_subj(w, st); put(w, "gave"); put(w, k_obj[st->other.cls]);
            put(w, k_poss[st->topic.cls]); put(w, thing); break;
    case 1: *subj = put_subj(w, st); put(w, "told"); put(w, k_obj[st->other.cls]);
            put(w, "about"); put(w, k_poss[st->topic.cls]); put(w, thing); break;
    case 2: *subj = put_subj(w, st); put(w, k_was[st->topic.cls]); put(w, "happy to see");
            put(w, k_obj[st->other.cls]); break;
    case 3: put(w, "later ,"); *subj = put_subj(w, st); put(w, "wrote to");
            put(w, k_obj[st->other.cls]); put(w, "about the"); put(w, thing); break;
    case 4: *subj = put_subj(w, st); put(w, "borrowed"); put(w, k_poss[st->other.cls]);
            put(w, thing); put(w, "and returned it the next day"); break;
    case 5: *subj = put_subj(w, st); put(w, "thanked"); introduce_other(w, r, st);
            put(w, "because"); put_subj(w, st); put(w, "liked");
            put(w, k_poss[st->other.cls]); put(w, thing); break;
    case 6: put(w, "then"); switch_topic(w, r, st); put(w, "arrived at the");
            put(w, PICK(r, k_places)); break;
    case 7: switch_topic(w, r, st); put(w, PICK(r, k_meet_verbs));
            put(w, k_obj[st->other.cls]); break;
    case 8: put(w, "everyone liked"); put(w, k_poss[st->topic.cls]); put(w, thing); break;
    default: *subj = put_subj(w, st); put(w, "smiled at"); introduce_other(w, r, st); break;
    }
    put(w, ".");
}

static void gen_coref(Writer *w, AvzRng *r, int n_sent) {
    CorefState st;
    st.topic = referent_of_class(r, class_random(r));
    st.other = referent_new(r, class_distractor(r, st.topic.cls), &st.topic, NULL);
    int subj;
    coref_intro(w, r, &st, &subj);
    /* at least two sentences, and the last one opens with a subject pronoun */
    int n = n_sent < 2 ? 2 : n_sent;
    for (int i = 1; i < n; i++) coref_continue(w, r, &st, i == n - 1, &subj);
}

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

static void gen_agree(Writer *w, AvzRng *r, int n_sent) {
    for (int i = 0; i < n_sent; i++) {
        int kind = pick(r, SUBJ_KINDS), plural = chance(r, 0.5f);
        int attr = chance(r, 0.6f) ? !plural : chance(r, 0.5f);
        const Noun *head;
        VerbForms verb;
        agree_subject(w, r, kind, plural, attr, &head);
        agree_predicate(w, r, head, plural, &verb);
    }
}

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

static void gen_facts(Writer *w, AvzRng *r, int n_sent) {
    FactMark m;
    for (int i = 0; i < n_sent; i++) fact_sentence(w, r, pick(r, FACT_KINDS), 0, &m);
}

/* ---- induction passages ----
 * Rule: a span seen earlier in the passage tends to come back; once its first word
 * has come back, each next word is the one that followed it the first time. With
 * probability 1 - repeat_frac the second span is fresh instead (a control). */

/* n distinct indices from [0, pool). */
static void pick_distinct(AvzRng *r, int pool, int n, int *out) {
    for (int i = 0; i < n; i++) {
        int dup;
        do {
            out[i] = pick(r, pool);
            dup = 0;
            for (int k = 0; k < i; k++) dup |= out[k] == out[i];
        } while (dup);
    }
}

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
        pick_distinct(r, N_OF(k_goods), n, idx);
        for (int i = 0; i < n; i++) items[i] = k_goods[idx[i]];
        return;
    }
    pick_distinct(r, N_OF(k_women) + N_OF(k_men), n, idx);
    for (int i = 0; i < n; i++)
        items[i] = idx[i] < N_OF(k_women) ? k_women[idx[i]] : k_men[idx[i] - N_OF(k_women)];
}

/* Sentences between the two lists, which add distance but name nobody new. */
static void put_filler(Writer *w, AvzRng *r, const Referent *subj) {
    switch (pick(r, 3)) {
    case 0: if (subj) put(w, k_subj[subj->cls]); else put(w, "everyone");
            put(w, "went home"); break;
    case 1: if (subj) { put(w, k_subj[subj->cls]); put(w, k_was[subj->cls]); }
            else put(w, "it was");
            put(w, "busy all day"); break;
    default: put(w, "the"); put(w, PICK(r, k_places)); put(w, "was busy"); break;
    }
    put(w, ".");
}

/* "ada lovelace bought apples , ropes and tea . she went home . later , she bought
 *  apples , ropes and tea again ." or the same with a list of people. */
static void gen_induct_list(Writer *w, AvzRng *r, int n_sent, float repeat_frac) {
    int people = chance(r, 0.35f), n = people ? range(r, 2, 4) : range(r, 3, 6);
    const char *items[8];
    list_items(r, people, n, items);
    Referent buyer = referent_of_class(r, class_random(r));
    const char *verb = PICK(r, k_list_verbs);
    if (people) {
        put_list(w, items, n); put(w, "came to the"); put(w, PICK(r, k_places));
    } else {
        put_ref(w, &buyer); put(w, verb); put_list(w, items, n);
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
        put(w, "later ,"); put(w, k_subj[buyer.cls]); put(w, verb); put_list(w, items, n);
        put(w, repeat ? "again" : "too");
    }
    put(w, ".");
}

/* The words random spans are drawn from: every content word of the vocabulary. */
static const char *const *random_pool(int *n);

/* A span of len distinct random words; returns the token index of its first word. */
static int put_random_span(Writer *w, const int *idx, int len) {
    int n_pool;
    const char *const *pool = random_pool(&n_pool);
    int at = next_tok(w);
    for (int i = 0; i < len; i++) put(w, pool[idx[i]]);
    return at;
}

/* "listen , w1 ... wk . again , w1 ... wk ." (Olsson et al. 2022: repeated random
 * tokens are what makes induction heads form). Returns the two spans' starts. */
/* A span of random words and, usually, its copy. Only 30% of pairs are announced by
 * marker words, and a filler of 0-6 other random words sits between the copies, so
 * the distance between the copies varies: the only way to predict the second copy
 * is to find the earlier occurrence of the current word and copy what came after it
 * (an induction head), not to count positions from a marker. */
static void put_random_pair(Writer *w, AvzRng *r, float repeat_frac, int len,
                            int *first, int *second) {
    int n_pool, idx[16], fill[16];
    const char *const *pool = random_pool(&n_pool);
    const char *const *marker = k_markers[pick(r, N_OF(k_markers))];
    int marked = chance(r, 0.3f);
    pick_distinct(r, n_pool, len, idx);
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
    if (!chance(r, repeat_frac)) pick_distinct(r, n_pool, len, idx);
    *second = put_random_span(w, idx, len);
    put(w, ".");
}
static void gen_induct_random(Writer *w, AvzRng *r, int n_sent, float repeat_frac) {
    int pairs = n_sent / 2 < 1 ? 1 : n_sent / 2, a, b;
    for (int i = 0; i < pairs; i++) put_random_pair(w, r, repeat_frac, range(r, 5, 12), &a, &b);
}

/* ---- the vocabulary ----
 * Built once from the tables (every word the generators can write), then read-only. */

#define VOCAB_MAX 2000
#define VOCAB_ARENA 32768

static struct {
    const char *words[VOCAB_MAX];   /* (n) id -> word, pointers into arena */
    int n, content_start;           /* words [content_start, n) feed random spans */
    char arena[VOCAB_ARENA];
    size_t used;
} g_vocab;
static once_flag g_vocab_once = ONCE_FLAG_INIT;

/* Adds each space-separated word of s that is not there yet. */
static void vocab_add(const char *s) {
    while (*s) {
        while (*s == ' ') s++;
        size_t n = strcspn(s, " ");
        if (n == 0) break;
        int seen = 0;
        for (int i = 0; i < g_vocab.n && !seen; i++)
            seen = strlen(g_vocab.words[i]) == n && memcmp(g_vocab.words[i], s, n) == 0;
        if (!seen) {
            AVZ_ASSERT(g_vocab.n < VOCAB_MAX && g_vocab.used + n + 1 <= VOCAB_ARENA);
            char *copy = g_vocab.arena + g_vocab.used;
            memcpy(copy, s, n);
            copy[n] = '\0';
            g_vocab.used += n + 1;
            g_vocab.words[g_vocab.n++] = copy;
        }
        s += n;
    }
}

static void vocab_add_table(const char *const *t, int n) {
    for (int i = 0; i < n; i++) vocab_add(t[i]);
}

static void vocab_add_verbs(const VerbForms *v, int n) {
    for (int i = 0; i < n; i++) { vocab_add(v[i].sg); vocab_add(v[i].pl); }
}

static void vocab_add_pairs(const Pair *p, int n) {
    for (int i = 0; i < n; i++) { vocab_add(p[i].a); vocab_add(p[i].b); }
}

/* Function words first, then content words. */
static void vocab_build(void) {
    vocab_add("<bos> <unk> . ,");
    vocab_add_table(k_glue, N_OF(k_glue));
    vocab_add_table(k_subj, CLS_COUNT);
    vocab_add_table(k_obj, CLS_COUNT);
    vocab_add_table(k_poss, CLS_COUNT);
    vocab_add_verbs(k_intransitive, N_OF(k_intransitive));
    vocab_add_verbs(k_transitive, N_OF(k_transitive));
    vocab_add_verbs(&k_have, 1);
    vocab_add_table(k_meet_verbs, N_OF(k_meet_verbs));
    vocab_add_table(k_habits, N_OF(k_habits));
    vocab_add_table(k_list_verbs, N_OF(k_list_verbs));
    vocab_add_table(k_preps, N_OF(k_preps));
    vocab_add_table(k_adverbials, N_OF(k_adverbials));
    for (int i = 0; i < N_OF(k_markers); i++) {
        vocab_add(k_markers[i][0]);
        vocab_add(k_markers[i][1]);
    }
    g_vocab.content_start = g_vocab.n;
    vocab_add_table(k_women, N_OF(k_women));
    vocab_add_table(k_men, N_OF(k_men));
    vocab_add_table(k_groups, N_OF(k_groups));
    vocab_add_table(k_places, N_OF(k_places));
    vocab_add_table(k_belongings, N_OF(k_belongings));
    for (int i = 0; i < N_OF(k_nouns); i++) { vocab_add(k_nouns[i].sg); vocab_add(k_nouns[i].pl); }
    vocab_add_table(k_adj_any, N_OF(k_adj_any));
    vocab_add_table(k_adj_animate, N_OF(k_adj_animate));
    vocab_add_table(k_adj_thing, N_OF(k_adj_thing));
    vocab_add_pairs(k_capitals, N_OF(k_capitals));
    vocab_add_pairs(k_sounds, N_OF(k_sounds));
    vocab_add_pairs(k_opposites, N_OF(k_opposites));
    for (int i = 0; i < N_OF(k_categories); i++) {
        vocab_add(k_categories[i].name);
        vocab_add(k_categories[i].plural);
        vocab_add_table(k_categories[i].items, 5);
    }
    vocab_add_table(k_goods, N_OF(k_goods));
}

int corpus_vocab(const char *const **words) {
    call_once(&g_vocab_once, vocab_build);
    *words = g_vocab.words;
    return g_vocab.n;
}

static const char *const *random_pool(int *n) {
    const char *const *words;
    int total = corpus_vocab(&words);
    *n = total - g_vocab.content_start;
    return words + g_vocab.content_start;
}

/* ---- passages and files ---- */

void corpus_mix_default(CorpusMix *m) {
    *m = (CorpusMix){.w_coref = 0.30f, .w_agree = 0.25f, .w_facts = 0.15f,
                     .w_induct_list = 0.10f, .w_induct_random = 0.20f,
                     .min_sentences = 2, .max_sentences = 5, .repeat_frac = 0.9f};
}

AvzCode corpus_mix_check(const CorpusMix *m, char *err) {
    if (!m) return avz_fail(err, AVZ_ERR_INPUT, "corpus mix: missing");
    const float w[5] = {m->w_coref, m->w_agree, m->w_facts, m->w_induct_list,
                        m->w_induct_random};
    const char *names[5] = {"w_coref", "w_agree", "w_facts", "w_induct_list",
                            "w_induct_random"};
    float sum = 0.0f;
    for (int i = 0; i < 5; i++) {
        if (!isfinite(w[i]) || w[i] < 0.0f)
            return avz_fail(err, AVZ_ERR_INPUT, "corpus mix: %s must be >= 0 (got %g)",
                            names[i], (double)w[i]);
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
    return AVZ_OK;
}

/* A passage kind drawn in proportion to the weights: 0 coref ... 4 induct_random. */
static int kind_pick(AvzRng *r, const CorpusMix *m) {
    const float w[5] = {m->w_coref, m->w_agree, m->w_facts, m->w_induct_list,
                        m->w_induct_random};
    float sum = w[0] + w[1] + w[2] + w[3] + w[4];
    float u = avz_rng_uniform(r) * sum;
    for (int k = 0; k < 4; k++) {
        if (u < w[k]) return k;
        u -= w[k];
    }
    return w[4] > 0.0f ? 4 : 0; /* rounding: fall back to the last nonzero kind */
}

int corpus_passage(AvzRng *rng, const CorpusMix *mix, char *buf, size_t cap) {
    if (!buf || cap == 0) return -1;
    buf[0] = '\0';
    if (corpus_mix_check(mix, NULL) != AVZ_OK) return -1;
    Writer w;
    writer_init(&w, buf, cap);
    int kind = kind_pick(rng, mix);
    int n_sent = range(rng, mix->min_sentences, mix->max_sentences);
    switch (kind) {
    case 0: gen_coref(&w, rng, n_sent); break;
    case 1: gen_agree(&w, rng, n_sent); break;
    case 2: gen_facts(&w, rng, n_sent); break;
    case 3: gen_induct_list(&w, rng, n_sent, mix->repeat_frac); break;
    default: gen_induct_random(&w, rng, n_sent, mix->repeat_frac); break;
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

static void probe_set(char *dst, size_t cap, const char *word) {
    snprintf(dst, cap, "%s", word);
}

/* "marie curie met alan turing at the station . she gave him her book ." with the
 * pronoun "she" as the query and "marie curie" as the targets. */
static void probe_coref(Writer *w, AvzRng *r, Probe *p) {
    CorefState st;
    st.topic = referent_of_class(r, class_random(r));
    st.other = referent_new(r, class_other(r, st.topic.cls), &st.topic, NULL);
    int distractor = st.other.cls, subj;
    int at = coref_intro(w, r, &st, &subj);
    /* the probe's pronoun opens a habit sentence: its row must find the antecedent */
    subj = put_subj(w, &st);
    put(w, habit_of(&st.topic));
    put(w, "again .");
    p->query = subj;
    if (st.topic.cls == CLS_PLURAL) {
        p->targets[p->n_targets++] = at + 1;    /* "the students": the noun */
    } else {
        p->targets[p->n_targets++] = at;        /* first name */
        p->targets[p->n_targets++] = at + 1;    /* last name */
    }
    probe_set(p->answer, sizeof p->answer, k_subj[st.topic.cls]);
    probe_set(p->wrong, sizeof p->wrong, k_subj[distractor]);
}

/* "the keys to the old cabinet are on the table ." with "are" as the query. */
static void probe_agree(Writer *w, AvzRng *r, Probe *p) {
    int kind = 1 + pick(r, SUBJ_KINDS - 1), plural = chance(r, 0.5f);
    const Noun *head;
    VerbForms verb;
    p->targets[p->n_targets++] = agree_subject(w, r, kind, plural, !plural, &head);
    p->query = agree_predicate(w, r, head, plural, &verb);
    probe_set(p->answer, sizeof p->answer, plural ? verb.pl : verb.sg);
    probe_set(p->wrong, sizeof p->wrong, plural ? verb.sg : verb.pl);
}

/* "listen , w1 ... wk . again , w1 ... wk ." always repeated. */
static void probe_induct(Writer *w, AvzRng *r, Probe *p) {
    p->span_len = range(r, 5, 12);
    put_random_pair(w, r, 1.0f, p->span_len, &p->span_start, &p->repeat_start);
}

/* Zero to two context facts, then a probe-safe fact whose object is the query. */
static void probe_fact(Writer *w, AvzRng *r, Probe *p) {
    FactMark m;
    int n_context = pick(r, 3);
    for (int i = 0; i < n_context; i++) fact_sentence(w, r, pick(r, FACT_KINDS), 0, &m);
    fact_sentence(w, r, pick(r, FACT_KINDS), 1, &m);
    p->query = m.obj;
    for (int i = 0; i < m.n_subj; i++) p->targets[p->n_targets++] = m.subj[i];
    probe_set(p->answer, sizeof p->answer, m.answer);
    probe_set(p->wrong, sizeof p->wrong, m.wrong);
}

int corpus_probe(AvzRng *rng, ProbeKind kind, Probe *p) {
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->query = -1;
    p->span_start = p->repeat_start = -1;
    Writer w;
    writer_init(&w, p->text, sizeof p->text);
    switch (kind) {
    case PROBE_COREF: probe_coref(&w, rng, p); break;
    case PROBE_AGREE: probe_agree(&w, rng, p); break;
    case PROBE_INDUCT: probe_induct(&w, rng, p); break;
    case PROBE_FACT: probe_fact(&w, rng, p); break;
    default: return -1;
    }
    AVZ_ASSERT(!w.full); /* every probe template fits in Probe.text */
    return 0;
}
