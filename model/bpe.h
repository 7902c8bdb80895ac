/* bpe.h: byte-pair-encoding tokenizers whose ids equal Hugging Face's exactly: GPT-2
 * (byte-level BPE), Llama 2 / TinyLlama (SentencePiece-style BPE with byte fallback)
 * and Llama 3 (byte-level BPE with a split regex and ignore_merges), or any BPE
 * tokenizer.json built from the same pieces.
 *
 * How a text becomes ids (bpe.c explains each step):
 *   1. added tokens (<s>, <|endoftext|>, ...) are cut out of the raw text first;
 *   2. every other stretch is normalized, then cut into pre-tokens (pretokenize.c);
 *   3. each pre-token starts as one symbol per character and BPE merges neighbours,
 *      always the pair with the lowest merge rank first, until no pair is mergeable;
 *   4. the post-processor adds what the template says (Llama 2: <s> in front).
 * Every token keeps the span of ORIGINAL input bytes it covers, for the UI's axes.
 * A Bpe is read-only once loaded, so one can be shared between threads. */
#ifndef AVZ_BPE_H
#define AVZ_BPE_H

#include "common.h"

typedef struct Bpe Bpe;

/* Loads GPT-2's vocab.json + merges.txt (paths) with the pipeline HF's
 * GPT2TokenizerFast gives them: ByteLevel pre-tokenizer, <|endoftext|> a special token
 * (bos and eos). On success *out is owned by the caller (bpe_free). On failure *out is
 * NULL and err names the file and line or field (AVZ_ERR_INPUT). */
AvzCode bpe_load_gpt2(Bpe **out, const char *vocab_json, const char *merges_txt, char *err);

/* Loads a Hugging Face tokenizer.json (path). bos and eos are taken from a
 * tokenizer_config.json beside it when there is one, else from the post-processor
 * and the usual names. A model other than BPE, or a stage this code does not
 * implement, is refused with a message naming the field. Ownership as above. */
AvzCode bpe_load_hf(Bpe **out, const char *tokenizer_json, char *err);

/* The same from tokenizer.json text in memory (len bytes; name is used in messages). */
AvzCode bpe_load_hf_mem(Bpe **out, const char *json, size_t len, const char *name, char *err);

void bpe_free(Bpe *b);

/* Max id + 1, added tokens included (ids without a piece may exist below it). */
int bpe_vocab_size(const Bpe *b);

/* The tokens of one text. byte_start/byte_len give the span of input bytes each token
 * covers: a token the post-processor added, or a "▁" the normalizer inserted, has
 * byte_len 0; byte-level tokens may cover part of a character. */
typedef struct {
    int n, cap;
    int *ids;        /* (n) */
    int *byte_start; /* (n) into the original text */
    int *byte_len;   /* (n) */
} BpeTokens;

/* Frees the arrays and zeroes t (a zeroed BpeTokens needs no init). */
void bpe_tokens_free(BpeTokens *t);

/* Encodes len bytes of text (any bytes; NUL is a character), APPENDING to out.
 * add_special: add what the post-processor adds (Llama 2's <s>; GPT-2 and this
 * Llama 3 file add nothing). Invalid UTF-8 is replaced by U+FFFD first, as a browser
 * or Python's errors="replace" would, never an error; spans still refer to the
 * original bytes. Fails (AVZ_ERR_INPUT) only on a text over 256 MiB or a regex that
 * hits PCRE2's match limit. */
AvzCode bpe_encode(const Bpe *b, const char *text, size_t len, int add_special, BpeTokens *out,
                   char *err);

/* The vocab string of id ("Ġworld", "▁the", "<0xE2>", "<s>"), owned by b; NULL if id
 * is out of range or has no piece. */
const char *bpe_piece(const Bpe *b, int id);

/* The id of a vocab string or added token, or -1. */
int bpe_piece_to_id(const Bpe *b, const char *piece);

/* The text to show for id on an axis, NUL-terminated and truncated to n bytes (at a
 * character boundary): byte-level pieces decoded to their bytes ("Ġworld" -> " world"),
 * "▁" shown as a space, a byte token or a byte that is not part of whole UTF-8 shown
 * as <0xE2>, control characters escaped ("\n" shown as \n). Special tokens as they
 * are. An id with no piece gives the number in angle brackets with a question mark:
 * "<123456?>" (tokenizer_label writes the same for a word model). */
void bpe_label(const Bpe *b, int id, char *buf, size_t n);

/* The beginning- and end-of-text ids, or -1 if there is none. GPT-2: <|endoftext|>
 * (50256) for both; Llama 2: <s>, </s>; Llama 3: <|begin_of_text|>, <|end_of_text|>. */
int bpe_bos_id(const Bpe *b);
int bpe_eos_id(const Bpe *b);

/* 1 if id is an added token marked special (<s>, <|endoftext|>), else 0. */
int bpe_is_special(const Bpe *b, int id);

#endif
