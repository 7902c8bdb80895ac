/* tokenizer.h: the word-level tokenizer and its vocabulary (vocab.json).
 *
 * Text -> tokens: lowercase ASCII letters, split on whitespace, and every
 * punctuation character is a token of its own ("curie." -> "curie", ".").
 * The sequence starts with <bos>; a word missing from the vocabulary becomes
 * <unk>, and the tokenizer reports which words were unknown. Invalid UTF-8 is
 * replaced by U+FFFD, never a crash. Non-ASCII letters are kept as they are
 * (lowercasing is ASCII only). */
#ifndef AVZ_TOKENIZER_H
#define AVZ_TOKENIZER_H

#include "common.h"

typedef struct {
    int n;              /* vocabulary size */
    char **words;       /* (n) id -> word, owned */
    /* open-addressing hash table word -> id */
    int *slots;         /* (n_slots) id or -1 */
    int n_slots;
    int bos_id, unk_id;
} Vocab;

/* Parses vocab.json text ({"word": id, ...}); ids must be exactly 0..n-1, each
 * once, and "<bos>" and "<unk>" must be present. path is used in messages. */
AvzCode vocab_parse(Vocab *v, const char *json, const char *path, char *err);
/* Reads <dir>/vocab.json. */
AvzCode vocab_load(Vocab *v, const char *dir, char *err);
/* Builds a vocabulary from n words (ids in the given order; they must include
 * <bos> and <unk>, no duplicates). */
AvzCode vocab_from_words(Vocab *v, const char *const *words, int n, char *err);
/* Writes <dir>/vocab.json atomically. */
AvzCode vocab_save(const Vocab *v, const char *dir, char *err);
void vocab_free(Vocab *v);
/* Word -> id, or -1. */
int vocab_lookup(const Vocab *v, const char *word);

/* One tokenized text. Every array has n entries, owned. */
typedef struct {
    int n;
    int *ids;           /* (n) token ids, ids[0] = <bos> */
    char **text;        /* (n) the token's text as it appeared (lowercased), for labels */
    int *unknown;       /* (n) 1 where the word was not in the vocabulary */
    int *byte_start;    /* (n) byte offset of the token in the input text (-1 for <bos>) */
    int *byte_len;      /* (n) its length in bytes (0 for <bos>) */
    int n_unknown;
} Tokens;

/* Tokenizes text (any bytes, NUL-terminated). Never fails on content; returns
 * AVZ_ERR_INPUT only when the result would be longer than max_tokens, with a
 * message giving both numbers. */
AvzCode tokenize(const Vocab *v, const char *text, int max_tokens, Tokens *out, char *err);
void tokens_free(Tokens *t);

/* The unknown words joined by ", " into buf (for messages). */
void tokens_unknown_list(const Tokens *t, char *buf, size_t len);

#endif
