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

/* ---- every tokenizer behind one face ---------------------------------------------
 * A model folder brings its own tokenizer, and the rest of attnviz does not care
 * which: text -> Tokens (ids, the text to show for each, byte spans) and id -> label.
 *   word   our toy models: vocab.json of whole words, the tokenizer above;
 *   gpt2   GPT-2's vocab.json + merges.txt: byte-level BPE (model/bpe.h);
 *   hf     a Hugging Face tokenizer.json (Llama 2/3, SmolLM, TinyLlama, Qwen2): BPE.
 * The sequence always starts with the model's beginning-of-text token when it has
 * one: <bos> for word models, <s> / <|begin_of_text|> for Llama (added by its
 * post-processor, or here when a file's post-processor does not), and <|endoftext|>
 * for GPT-2, which Hugging Face's tokenizer does not add but TransformerLens does by
 * default: a first token every position can attend to (the "attention sink") without
 * which GPT-2's maps pile onto the first word. */
/* TOKENIZER_NONE: what tokenizer_find_bpe answers for a folder without BPE files; a
 * Tokenizer never has it. */
typedef enum { TOKENIZER_NONE = -1, TOKENIZER_WORD = 0, TOKENIZER_GPT2, TOKENIZER_HF } TokenizerKind;

struct Bpe;
typedef struct {
    TokenizerKind kind;
    struct Bpe *bpe;            /* gpt2, hf: owned; NULL for word (the Vocab is passed in) */
    int bos_id;                 /* prepended when >= 0 and the tokenizer did not add it */
    int n_vocab;                /* ids are 0..n_vocab-1 */
} Tokenizer;

/* The word tokenizer of v. The functions below take the word vocabulary as v (a model
 * keeps it in Model.vocab; NULL is fine for the BPE kinds): the Tokenizer holds no
 * pointer into the model, so a Model can be moved by value. */
void tokenizer_init_word(Tokenizer *t, const Vocab *v);
/* Which BPE tokenizer files dir holds, by the one rule that both what `attnviz model
 * info` names (config_load's ModelConfig.tokenizer) and what is loaded
 * (tokenizer_open_bpe) follow: tokenizer.json wins; else vocab.json + merges.txt; else
 * none. *kind is TOKENIZER_HF, TOKENIZER_GPT2 or TOKENIZER_NONE. AVZ_ERR_INPUT naming
 * the path, *kind TOKENIZER_NONE, when the file to read is there but is not a regular
 * file (a folder, a FIFO, a device: reading it would fail or wait forever), or when
 * merges.txt has no vocab.json beside it. Reads no file. */
AvzCode tokenizer_find_bpe(const char *dir, TokenizerKind *kind, char *err);
/* The BPE tokenizer of a folder, chosen by tokenizer_find_bpe. AVZ_ERR_INPUT naming the
 * file when there is none or one is bad. */
AvzCode tokenizer_open_bpe(Tokenizer *t, const char *dir, char *err);
/* Does dir hold a usable set of BPE files (tokenizer_find_bpe finds one, no error)? */
int tokenizer_dir_has_bpe(const char *dir);
void tokenizer_free(Tokenizer *t);

/* Text -> tokens, as tokenize() above for every kind: never fails on content (invalid
 * UTF-8 is replaced by U+FFFD), AVZ_ERR_INPUT only past max_tokens, with both numbers. */
AvzCode tokenizer_encode(const Tokenizer *t, const Vocab *v, const char *text, int max_tokens, Tokens *out,
                         char *err);
/* The text to show for id on an axis ("curie", " world", "<0xE2>"), NUL-terminated. */
void tokenizer_label(const Tokenizer *t, const Vocab *v, int id, char *buf, size_t n);
/* The vocabulary's own string for id ("Ġworld", "▁the"): the tooltip's "piece". */
const char *tokenizer_piece(const Tokenizer *t, const Vocab *v, int id);
/* Special tokens (<bos>, <unk>, <s>, <|endoftext|>, ...), which the role protocol's
 * random blocks leave out. */
int tokenizer_is_special(const Tokenizer *t, const Vocab *v, int id);
/* "word", "GPT-2 byte-level BPE", "tokenizer.json BPE". */
const char *tokenizer_kind_name(const Tokenizer *t);

#endif
