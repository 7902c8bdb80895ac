/* vocab.c: the corpus vocabulary, built once from the word tables of every passage
 * kind (each kind's *_words function) and then read-only: <bos>, <unk>, "." and ","
 * first, then the function words, then the content words. */
#include "corpus/grammar.h"

#include <threads.h>

/* Function words used literally by the templates of several kinds. */
static const char *const k_glue[] = {
    "the", "a", "an", "at", "in", "to", "of", "and", "because", "later", "then", "gave",
    "told", "about", "happy", "see", "arrived", "wrote", "borrowed", "returned", "it",
    "next", "day", "everyone", "liked", "smiled", "waited", "for", "near", "until",
    "tired", "had", "lunch", "with", "came", "met", "back", "went", "again", "too",
    "is", "are", "was", "were", "that", "on", "very", "capital", "city",
    "says", "goes", "sound", "makes", "opposite", "opposites", "kind", "every", "both",
    "home", "busy", "all", "morning",
};

#define VOCAB_MAX 2000
#define VOCAB_ARENA 32768

static struct {
    const char *words[VOCAB_MAX];   /* (n) id -> word, pointers into arena */
    int n, content_start;           /* words [content_start, n) are content words */
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

static void vocab_build(void) {
    static void (*const kinds[])(WordSink, int) = {corpus_people_words, corpus_agree_words,
                                                   corpus_facts_words, corpus_repeats_words};
    vocab_add("<bos> <unk> . ,");
    for (int i = 0; i < N_OF(k_glue); i++) vocab_add(k_glue[i]);
    for (int k = 0; k < N_OF(kinds); k++) kinds[k](vocab_add, 0);
    g_vocab.content_start = g_vocab.n;
    for (int k = 0; k < N_OF(kinds); k++) kinds[k](vocab_add, 1);
}

int corpus_vocab(const char *const **words) {
    call_once(&g_vocab_once, vocab_build);
    *words = g_vocab.words;
    return g_vocab.n;
}

const char *const *corpus_content_pool(int *n) {
    const char *const *words;
    int total = corpus_vocab(&words);
    *n = total - g_vocab.content_start;
    return words + g_vocab.content_start;
}

const char *const *corpus_word_pool(int *n) {
    const char *const *words;
    *n = corpus_vocab(&words) - 2;   /* all but <bos> and <unk>, which come first */
    return words + 2;
}
