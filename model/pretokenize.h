/* pretokenize.h: the stages of a Hugging Face tokenizer that come before the BPE model.
 *
 * Hugging Face tokenizers run text through four stages, each a small piece that can be
 * tested alone:  normalizer -> pre-tokenizer -> model -> decoder.
 *   - a normalizer rewrites the whole text (Llama 2: put "▁" in front, spaces -> "▁");
 *   - a pre-tokenizer cuts it into pre-tokens that the model never merges across
 *     (GPT-2: words, numbers, punctuation runs and spaces by a regex), and may rewrite
 *     them too (ByteLevel: every byte becomes one visible character, ' ' -> 'Ġ');
 *   - the model (bpe.c) turns each pre-token into token ids;
 *   - the decoder turns ids back into text (used here only for axis labels).
 * This file holds the first two stages. Every string carries, for each of its bytes,
 * the span of ORIGINAL input bytes it came from, so that each final token knows
 * which part of the user's text it covers, whatever was inserted or replaced.
 *
 * Regexes are Oniguruma patterns in tokenizer.json (what the Rust library compiles);
 * they are run with PCRE2 after a small translation (pretok_regex_compile). */
#ifndef AVZ_PRETOKENIZE_H
#define AVZ_PRETOKENIZE_H

#include <stdint.h>

#include "common.h"

/* ---- strings that remember where each byte came from ---------------------------- */

typedef struct {
    char *s;      /* (n + 1) UTF-8 bytes, NUL-terminated */
    int *o0, *o1; /* (n) byte i came from original bytes [o0[i], o1[i]); inserted bytes
                     have o0 == o1 (zero width) */
    int n, cap;
} PretokStr;

/* A read-only view of some bytes of a PretokStr or a PretokList (no ownership). */
typedef struct {
    const char *s;
    const int *o0, *o1;
    int n;
} PretokPiece;

void pretok_str_init(PretokStr *p);
void pretok_str_free(PretokStr *p);
void pretok_str_clear(PretokStr *p);
/* Appends n bytes that all came from original span [o0, o1). */
void pretok_str_append(PretokStr *p, const char *bytes, int n, int o0, int o1);
/* Appends bytes [from, to) of src with their spans. */
void pretok_str_append_slice(PretokStr *p, PretokPiece src, int from, int to);
/* A view of all of p, or of its bytes [from, to). */
PretokPiece pretok_piece(const PretokStr *p);
PretokPiece pretok_piece_slice(const PretokStr *p, int from, int to);

/* A valid UTF-8 copy of len bytes of text, byte i of the input being original byte i.
 * Each maximal ill-formed subsequence becomes U+FFFD spanning the bytes it replaces
 * (the WHATWG / Unicode "maximal subpart" rule: what JavaScript's TextDecoder and
 * Python's errors="replace" do). Returns the number of replacements made. */
int pretok_from_utf8(PretokStr *out, const char *text, int len);

/* A list of pre-tokens: one string holding them all one after another, and where each
 * ends (one allocation for the lot, however many pre-tokens there are). */
typedef struct {
    PretokStr text;
    int *end; /* (n) pre-token i is text bytes [i ? end[i - 1] : 0, end[i]) */
    int n, cap;
} PretokList;

void pretok_list_init(PretokList *l);
void pretok_list_free(PretokList *l);
/* Empties l, keeping its memory. */
void pretok_list_clear(PretokList *l);
/* Closes the pre-token written so far at the end of l->text (none if it is empty). */
void pretok_list_cut(PretokList *l);
/* Appends bytes [from, to) of p as one pre-token (none if empty). */
void pretok_list_add(PretokList *l, PretokPiece p, int from, int to);
/* Pre-token i. */
PretokPiece pretok_list_get(const PretokList *l, int i);

/* ---- UTF-8 and Unicode helpers ------------------------------------------------------ */

/* Decodes one code point of valid UTF-8 at s (n bytes left); returns its length
 * (1-4), or 0 if the bytes there are not valid UTF-8. */
int pretok_utf8_decode(const char *s, int n, uint32_t *cp);
/* Encodes cp into out (4 bytes of room); returns the length. */
int pretok_utf8_encode(uint32_t cp, char *out);
/* Unicode White_Space (what Rust's char::is_whitespace and Oniguruma's \s match). */
int pretok_is_white_space(uint32_t cp);
/* A "word" character for added tokens' single_word: a letter, mark, decimal digit or
 * connector (\w of Rust's regex crate). */
int pretok_is_word_char(uint32_t cp);

/* GPT-2's byte <-> unicode alphabet (bytes_to_unicode): printable bytes stand for
 * themselves ('A' -> 'A'), the others are moved to U+0100.. so that every byte is a
 * visible character (' ' -> 'Ġ' U+0120, '\n' -> 'Ċ' U+010A). */
uint32_t pretok_byte_to_cp(uint8_t byte);
/* The inverse: the byte a code point stands for, or -1 if it is not in the alphabet. */
int pretok_cp_to_byte(uint32_t cp);

/* ---- regexes ------------------------------------------------------------------------ */

typedef struct PretokRegex PretokRegex;
/* Compiles an Oniguruma pattern (as written in tokenizer.json) with PCRE2, UTF + UCP.
 * The escapes on which the two engines differ are rewritten to mean what Oniguruma
 * means: \s and \S exactly Unicode White_Space (PCRE2's \s also matches U+180E), \h a
 * hex digit, \w with marks. Returns AVZ_ERR_INPUT with PCRE2's message on a bad pattern.
 * Free with pretok_regex_free. */
AvzCode pretok_regex_compile(PretokRegex **out, const char *pattern, char *err);
void pretok_regex_free(PretokRegex *re);
/* The regex GPT-2's ByteLevel pre-tokenizer uses, compiled once (never freed). */
const PretokRegex *pretok_regex_gpt2(void);

/* ---- normalizers ---------------------------------------------------------------------- */

typedef enum {
    PRETOK_NORM_PREPEND, /* put text in front of a non-empty string */
    PRETOK_NORM_REPLACE  /* replace every match of a literal (or regex) by text */
} PretokNormKind;

typedef struct {
    PretokNormKind kind;
    char *text;      /* PREPEND: what to put in front; REPLACE: the replacement. Owned. */
    char *literal;   /* REPLACE: the literal pattern (owned), or NULL when re is used */
    PretokRegex *re; /* REPLACE: a regex pattern (owned), or NULL */
} PretokNormStep;

/* A Sequence of normalizers, flattened; n == 0 means no normalizer. */
typedef struct {
    PretokNormStep *steps; /* (n) owned */
    int n;
} PretokNormalizer;

/* Runs every step on in, writing the result to out (cleared first). */
AvzCode pretok_normalize(const PretokNormalizer *nz, PretokPiece in, PretokStr *out, char *err);
void pretok_normalizer_free(PretokNormalizer *nz);

/* ---- pre-tokenizers ------------------------------------------------------------------ */

typedef enum { PRETOK_SPLIT, PRETOK_BYTELEVEL, PRETOK_METASPACE } PretokKind;

/* What a Split does with the pieces its pattern matches (HF's SplitDelimiterBehavior). */
typedef enum {
    PRETOK_ISOLATED,         /* each match is a pre-token of its own */
    PRETOK_REMOVED,          /* matches are dropped */
    PRETOK_MERGED_WITH_PREV, /* a match is glued to the piece before it */
    PRETOK_MERGED_WITH_NEXT, /* a match is glued to the piece after it */
    PRETOK_CONTIGUOUS        /* consecutive matches become one piece */
} PretokBehavior;

typedef enum { PRETOK_PREPEND_ALWAYS, PRETOK_PREPEND_FIRST, PRETOK_PREPEND_NEVER } PretokPrepend;

typedef struct {
    PretokKind kind;
    /* PRETOK_SPLIT */
    PretokRegex *re; /* the pattern (owned), or NULL when literal is used */
    char *literal;   /* a literal pattern (owned), or NULL */
    PretokBehavior behavior;
    int invert; /* the pattern matches the pieces to keep, not the delimiters */
    /* PRETOK_BYTELEVEL */
    int add_prefix_space; /* put ' ' in front of a pre-token that does not start with one */
    int use_regex;        /* split with GPT-2's regex first */
    /* PRETOK_METASPACE */
    char replacement[8];   /* UTF-8 of the replacement character, "▁" */
    PretokPrepend prepend; /* when to put the replacement in front */
    int split;             /* cut before each replacement character */
} PretokStep;

/* A Sequence of pre-tokenizers, flattened; n == 0 means the whole text is one
 * pre-token. */
typedef struct {
    PretokStep *steps; /* (n) owned */
    int n;
} PretokPipeline;

/* Runs every step on in (one section of text) and appends the resulting pre-tokens,
 * in order and none of them empty, to out. Fails only if a regex match fails (PCRE2's
 * match limit), with AVZ_ERR_INPUT. */
AvzCode pretok_run(const PretokPipeline *pp, PretokPiece in, PretokList *out, char *err);
void pretok_pipeline_free(PretokPipeline *pp);

#endif
