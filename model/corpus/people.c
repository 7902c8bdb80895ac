/* people.c: coreference passages. People have a first and a last name, and the
 * first name fixes the gender; groups are plural nouns. Pronouns refer back to them
 * by fixed rules (below), so a pronoun's form, and the habit that follows it, can only
 * be predicted by looking back at its antecedent: the coreference heads the app
 * shows. See model/CORPUS.md, "coref". */
#include "corpus/grammar.h"

/* ---- people and groups (coreference) ---- */

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

/* ---- coreference passages ----
 * Rules (deterministic, so the pronoun is predictable):
 *   the topic is the person or group last named as a sentence's subject; a subject
 *   pronoun (she/he/they, was/were) refers to the topic;
 *   the other is the participant named after the topic (or the old topic after a
 *   change of topic); an object pronoun (her/him/them) refers to the other;
 *   a possessive refers to the topic, except after "liked" and "borrowed", where it
 *   refers to the other. */

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
            put(w, corpus_capital_city(r)); break;
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

void corpus_gen_coref(Writer *w, AvzRng *r, int n_sent) {
    CorefState st;
    st.topic = referent_of_class(r, class_random(r));
    st.other = referent_new(r, class_distractor(r, st.topic.cls), &st.topic, NULL);
    int subj;
    coref_intro(w, r, &st, &subj);
    /* at least two sentences, and the last one opens with a subject pronoun */
    int n = n_sent < 2 ? 2 : n_sent;
    for (int i = 1; i < n; i++) coref_continue(w, r, &st, i == n - 1, &subj);
}

/* ---- for the other kinds ---- */

Referent corpus_referent_random(AvzRng *r) { return referent_of_class(r, class_random(r)); }
int corpus_n_people(void) { return N_OF(k_women) + N_OF(k_men); }
const char *corpus_person(int i) {
    return i < N_OF(k_women) ? k_women[i] : k_men[i - N_OF(k_women)];
}
const char *corpus_place(AvzRng *r) { return PICK(r, k_places); }
const char *corpus_subj(int cls) { return k_subj[cls]; }
const char *corpus_was(int cls) { return k_was[cls]; }

/* ---- the probe ---- */

/* "marie curie met alan turing at the station . she gave him her book ." with the
 * pronoun "she" as the query and "marie curie" as the targets. */
void corpus_probe_coref(Writer *w, AvzRng *r, Probe *p) {
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
    corpus_probe_set(p->answer, sizeof p->answer, k_subj[st.topic.cls]);
    corpus_probe_set(p->wrong, sizeof p->wrong, k_subj[distractor]);
}

void corpus_people_words(WordSink add, int content) {
    const char *const *fn[] = {k_subj, k_obj, k_poss};
    if (!content) {
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < CLS_COUNT; i++) add(fn[k][i]);
        for (int i = 0; i < N_OF(k_meet_verbs); i++) add(k_meet_verbs[i]);
        for (int i = 0; i < N_OF(k_habits); i++) add(k_habits[i]);
        return;
    }
    for (int i = 0; i < N_OF(k_women); i++) add(k_women[i]);
    for (int i = 0; i < N_OF(k_men); i++) add(k_men[i]);
    for (int i = 0; i < N_OF(k_groups); i++) add(k_groups[i]);
    for (int i = 0; i < N_OF(k_places); i++) add(k_places[i]);
    for (int i = 0; i < N_OF(k_belongings); i++) add(k_belongings[i]);
}
