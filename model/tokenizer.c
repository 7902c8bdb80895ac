/* tokenizer.c: the word-level tokenizer and its vocabulary (vocab.json).
 *
 * attnviz uses whole words as tokens, so that every row and column of an
 * attention map is a word a student can read ("curie", ","), not a sub-word
 * fragment. The rules, in the order they apply to the input bytes:
 *
 *   - ASCII whitespace and other ASCII control characters separate tokens and
 *     are dropped;
 *   - every ASCII punctuation character (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~) is a
 *     token of its own, always ("don't" -> "don", "'", "t");
 *   - any other maximal run of bytes is a word: ASCII letters are lowercased,
 *     valid UTF-8 is kept as it is, and each invalid UTF-8 sequence becomes
 *     U+FFFD (the replacement character), so a label can always be drawn.
 *
 * A token missing from the vocabulary becomes <unk>, but keeps its text so that
 * the visualizer can still label it. The vocabulary is an open-addressing hash
 * table (FNV-1a, linear probing), at most half full so that probes stay short. */
#define _POSIX_C_SOURCE 200809L   /* lstat */
#include "tokenizer.h"

#include <sys/stat.h>

#include "bpe.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <string.h>

static const char BOS[] = "<bos>";
static const char UNK[] = "<unk>";

static char *dup_str(const char *s) {
    size_t n = strlen(s);
    char *d = avz_xmalloc(n + 1);
    memcpy(d, s, n + 1);
    return d;
}

/* ---- the hash table ------------------------------------------------------- */

/* FNV-1a: xor each byte in, then multiply by the FNV prime. Cheap, and mixes
 * well enough for short strings such as words. */
static uint32_t fnv1a(const char *s) {
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h;
}

/* The slot that holds word, or the empty slot where it would go. n_slots is a
 * power of two, so "& mask" wraps the probe around the table. */
static int find_slot(const Vocab *v, const char *word) {
    uint32_t mask = (uint32_t)v->n_slots - 1;
    uint32_t i = fnv1a(word) & mask;
    while (v->slots[i] >= 0 && strcmp(v->words[v->slots[i]], word) != 0) i = (i + 1) & mask;
    return (int)i;
}

int vocab_lookup(const Vocab *v, const char *word) {
    if (v->n_slots == 0) return -1;
    return v->slots[find_slot(v, word)];
}

/* Builds the hash table over v->words[0..n-1] (already filled) and checks that
 * no word repeats and that <bos> and <unk> exist. label names the source. */
static AvzCode vocab_index(Vocab *v, const char *label, char *err) {
    v->n_slots = 16;
    while (v->n_slots < 2 * v->n) v->n_slots *= 2;
    v->slots = avz_xmalloc((size_t)v->n_slots * sizeof *v->slots);
    for (int i = 0; i < v->n_slots; i++) v->slots[i] = -1;
    for (int id = 0; id < v->n; id++) {
        int s = find_slot(v, v->words[id]);
        if (v->slots[s] >= 0)
            return avz_fail(err, AVZ_ERR_INPUT, "%s: word '%.60s' appears twice (ids %d and %d)",
                            label, v->words[id], v->slots[s], id);
        v->slots[s] = id;
    }
    v->bos_id = vocab_lookup(v, BOS);
    v->unk_id = vocab_lookup(v, UNK);
    if (v->bos_id < 0 || v->unk_id < 0)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: the vocabulary must contain '%s'", label,
                        v->bos_id < 0 ? BOS : UNK);
    return AVZ_OK;
}

void vocab_free(Vocab *v) {
    if (v->words)
        for (int i = 0; i < v->n; i++) free(v->words[i]);
    free(v->words);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

/* ---- reading vocab.json --------------------------------------------------- */

/* The line (1-based) of position pos in text, for "invalid JSON near line N". */
static int line_of(const char *text, const char *pos) {
    int line = 1;
    for (const char *c = text; c < pos && *c; c++)
        if (*c == '\n') line++;
    return line;
}

/* An id as a whole JSON number in int range, or 0 when it is not one. */
static int json_id(const cJSON *item, int *out) {
    if (!cJSON_IsNumber(item)) return 0;
    double d = item->valuedouble;
    if (d != floor(d) || d < INT_MIN || d > INT_MAX) return 0;
    *out = (int)d;
    return 1;
}

/* Places each word at its id in v->words. With n entries, ids inside 0..n-1 and
 * no id used twice, every id is used exactly once; an id outside the range means
 * some id inside it is missing, and the message names that one. */
static AvzCode place_words(Vocab *v, const cJSON *root, const char *path, char *err) {
    const cJSON *item, *outside = NULL;
    int outside_id = 0;
    cJSON_ArrayForEach(item, root) {
        int id;
        if (!json_id(item, &id))
            return avz_fail(err, AVZ_ERR_INPUT, "%s: word '%.60s' must map to an integer id",
                            path, item->string);
        if (id < 0 || id >= v->n) {
            if (!outside) {
                outside = item;
                outside_id = id;
            }
            continue;
        }
        if (v->words[id])
            return avz_fail(err, AVZ_ERR_INPUT,
                            "%s: duplicate id %d, given to both '%.60s' and '%.60s'", path, id,
                            v->words[id], item->string);
        v->words[id] = dup_str(item->string);
    }
    if (!outside) return AVZ_OK;
    int missing = 0;
    while (missing < v->n && v->words[missing]) missing++;
    return avz_fail(err, AVZ_ERR_INPUT,
                    "%s: missing id %d (ids must run 0..%d, each used once; '%.60s' has id %d)",
                    path, missing, v->n - 1, outside->string, outside_id);
}

AvzCode vocab_parse(Vocab *v, const char *json, const char *path, char *err) {
    memset(v, 0, sizeof *v);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &end, 1); /* 1: nothing may follow */
    if (!root)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: invalid JSON near line %d", path,
                        line_of(json, end ? end : json));
    AvzCode rc = AVZ_OK;
    if (!cJSON_IsObject(root)) {
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: expected an object {\"word\": id, ...}", path);
    } else {
        v->n = cJSON_GetArraySize(root);
        v->words = avz_xcalloc((size_t)(v->n ? v->n : 1), sizeof *v->words);
        rc = place_words(v, root, path, err);
        if (!rc) rc = vocab_index(v, path, err);
    }
    cJSON_Delete(root);
    if (rc) vocab_free(v);
    return rc;
}

AvzCode vocab_load(Vocab *v, const char *dir, char *err) {
    memset(v, 0, sizeof *v);
    char path[4096];
    if (snprintf(path, sizeof path, "%s/vocab.json", dir) >= (int)sizeof path)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: folder path too long", dir);
    char *text = avz_read_file(path, NULL, err);
    if (!text) return AVZ_ERR_INPUT;
    AvzCode rc = vocab_parse(v, text, path, err);
    free(text);
    return rc;
}

AvzCode vocab_from_words(Vocab *v, const char *const *words, int n, char *err) {
    memset(v, 0, sizeof *v);
    if (n < 0) return avz_fail(err, AVZ_ERR_INTERNAL, "vocabulary: negative size %d", n);
    v->n = n;
    v->words = avz_xcalloc((size_t)(n ? n : 1), sizeof *v->words);
    for (int i = 0; i < n; i++) {
        if (!words[i]) {
            vocab_free(v);
            return avz_fail(err, AVZ_ERR_INTERNAL, "vocabulary: word %d is NULL", i);
        }
        v->words[i] = dup_str(words[i]);
    }
    AvzCode rc = vocab_index(v, "vocabulary", err);
    if (rc) vocab_free(v);
    return rc;
}

/* ---- writing vocab.json --------------------------------------------------- */

static void buf_str(AvzBuf *b, const char *s) { avz_buf_put(b, s, strlen(s)); }

/* s as a JSON string literal: quotes, backslashes and control characters are
 * escaped; every other byte (UTF-8 included) is copied as it is. */
static void buf_json_string(AvzBuf *b, const char *s) {
    avz_buf_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': buf_str(b, "\\\""); break;
        case '\\': buf_str(b, "\\\\"); break;
        case '\n': buf_str(b, "\\n"); break;
        case '\r': buf_str(b, "\\r"); break;
        case '\t': buf_str(b, "\\t"); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                buf_str(b, esc);
            } else {
                avz_buf_put(b, (const char *)p, 1);
            }
        }
    }
    avz_buf_put(b, "\"", 1);
}

AvzCode vocab_save(const Vocab *v, const char *dir, char *err) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/vocab.json", dir) >= (int)sizeof path)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: folder path too long", dir);
    /* one entry per line, in id order, so that the file diffs and reads well */
    AvzBuf b = {0};
    buf_str(&b, "{\n");
    for (int id = 0; id < v->n; id++) {
        char num[32];
        snprintf(num, sizeof num, ": %d%s\n", id, id + 1 < v->n ? "," : "");
        buf_str(&b, "  ");
        buf_json_string(&b, v->words[id]);
        buf_str(&b, num);
    }
    buf_str(&b, "}\n");
    AvzCode rc = avz_write_file_atomic(path, b.p, b.len, err);
    free(b.p);
    return rc;
}

/* ---- splitting text ------------------------------------------------------- */

/* ASCII whitespace and control characters (and DEL): separators. */
static int is_sep(unsigned char c) { return c <= 0x20 || c == 0x7f; }

/* ASCII punctuation, the same set as ispunct() in the C locale. */
static int is_punct(unsigned char c) {
    return (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) ||
           (c >= 0x7b && c <= 0x7e);
}

static int is_word_byte(unsigned char c) { return c && !is_sep(c) && !is_punct(c); }

/* Finds the next token at or after *pos: its start and length in bytes. Returns
 * 0 at the end of the text. Never looks past the terminating NUL. */
static int next_span(const unsigned char *s, size_t *pos, size_t *start, size_t *len) {
    size_t i = *pos;
    while (s[i] && is_sep(s[i])) i++;
    if (!s[i]) {
        *pos = i;
        return 0;
    }
    *start = i;
    if (is_punct(s[i])) {
        i++;
    } else {
        while (is_word_byte(s[i])) i++;
    }
    *len = i - *start;
    *pos = i;
    return 1;
}

/* The label text of a word: ASCII lowercased, invalid UTF-8 replaced by U+FFFD
 * (EF BF BD). Each input byte yields at most 3 output bytes. Caller frees. */
static char *word_text(const unsigned char *s, size_t len) {
    char *out = avz_xmalloc(3 * len + 1), *o = out;
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c < 0x80) {
            *o++ = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
            i++;
            continue;
        }
        size_t at;
        int cut;
        size_t ok = avz_utf8_sequence(s + i, len - i, &at, &cut);
        size_t bad = at ? at : 1;   /* the maximal subpart: one U+FFFD for it */
        if (ok) {
            memcpy(o, s + i, ok);
            o += ok;
            i += ok;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += bad;
        }
    }
    *o = '\0';
    return out;
}

/* ---- tokenize ------------------------------------------------------------- */

static void tokens_alloc(Tokens *t, int n) {
    t->n = n;
    t->ids = avz_xcalloc((size_t)n, sizeof *t->ids);
    t->text = avz_xcalloc((size_t)n, sizeof *t->text);
    t->unknown = avz_xcalloc((size_t)n, sizeof *t->unknown);
    t->byte_start = avz_xcalloc((size_t)n, sizeof *t->byte_start);
    t->byte_len = avz_xcalloc((size_t)n, sizeof *t->byte_len);
}

AvzCode tokenize(const Vocab *v, const char *text, int max_tokens, Tokens *out, char *err) {
    AVZ_ASSERT(v->n_slots > 0 && max_tokens >= 1);
    memset(out, 0, sizeof *out);
    const unsigned char *s = (const unsigned char *)text;
    if (strlen(text) > INT_MAX)
        return avz_fail(err, AVZ_ERR_INPUT, "text is too long (over %d bytes)", INT_MAX);

    /* pass 1: count, so that an over-long text is refused with its exact length */
    size_t count = 1, pos = 0, start, len; /* 1 for <bos> */
    while (next_span(s, &pos, &start, &len)) count++;
    if (count > (size_t)max_tokens)
        return avz_fail(err, AVZ_ERR_INPUT,
                        "text is %zu tokens long; this model accepts at most %d", count,
                        max_tokens);

    /* pass 2: fill */
    tokens_alloc(out, (int)count);
    out->ids[0] = v->bos_id;
    out->text[0] = dup_str(BOS);
    out->byte_start[0] = -1;
    pos = 0;
    for (int i = 1; next_span(s, &pos, &start, &len); i++) {
        out->text[i] = word_text(s + start, len);
        out->byte_start[i] = (int)start;
        out->byte_len[i] = (int)len;
        int id = vocab_lookup(v, out->text[i]);
        out->unknown[i] = id < 0;
        out->ids[i] = id < 0 ? v->unk_id : id;
        out->n_unknown += id < 0;
    }
    return AVZ_OK;
}

void tokens_free(Tokens *t) {
    if (t->text)
        for (int i = 0; i < t->n; i++) free(t->text[i]);
    free(t->ids);
    free(t->text);
    free(t->unknown);
    free(t->byte_start);
    free(t->byte_len);
    memset(t, 0, sizeof *t);
}

/* Whether the unknown word at i already appeared earlier in t. */
static int seen_before(const Tokens *t, int i) {
    for (int j = 1; j < i; j++)
        if (t->unknown[j] && strcmp(t->text[j], t->text[i]) == 0) return 1;
    return 0;
}

void tokens_unknown_list(const Tokens *t, char *buf, size_t len) {
    if (len == 0) return;
    buf[0] = '\0';
    /* used: bytes written; safe: the longest prefix after which "..." still
     * fits, where the list is cut back to when a word does not fit */
    size_t used = 0, safe = 0;
    for (int i = 1; i < t->n; i++) {
        if (!t->unknown[i] || seen_before(t, i)) continue; /* each word once */
        const char *sep = used ? ", " : "";
        size_t need = strlen(sep) + strlen(t->text[i]);
        if (used + need + 1 > len) {
            if (safe + 4 <= len) memcpy(buf + safe, "...", 4);
            else buf[0] = '\0';
            return;
        }
        snprintf(buf + used, len - used, "%s%s", sep, t->text[i]);
        used += need;
        if (used + 4 <= len) safe = used;
    }
}

/* ---- every tokenizer behind one face (see tokenizer.h) ---------------------------- */

void tokenizer_init_word(Tokenizer *t, const Vocab *v) {
    memset(t, 0, sizeof *t);
    t->kind = TOKENIZER_WORD;
    t->bos_id = v->bos_id;
    t->n_vocab = v->n;
}

/* dir/name into path; 1 if something (a file, folder, FIFO, dangling link) is there. */
static int present(const char *dir, const char *name, char *path, size_t len) {
    struct stat st;
    snprintf(path, len, "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

AvzCode tokenizer_find_bpe(const char *dir, TokenizerKind *kind, char *err) {
    char path[4200];
    *kind = TOKENIZER_NONE;
    if (present(dir, "tokenizer.json", path, sizeof path)) {
        AvzCode rc = avz_stat_regular(path, NULL, err);
        if (!rc) *kind = TOKENIZER_HF;
        return rc;
    }
    if (!present(dir, "merges.txt", path, sizeof path)) return AVZ_OK;
    AvzCode rc = avz_stat_regular(path, NULL, err);
    if (rc) return rc;
    if (!present(dir, "vocab.json", path, sizeof path))
        return avz_fail(err, AVZ_ERR_INPUT, "%s/merges.txt: GPT-2's merges need the "
                        "vocab.json beside them, and %s has none", dir, dir);
    if ((rc = avz_stat_regular(path, NULL, err))) return rc;
    *kind = TOKENIZER_GPT2;
    return AVZ_OK;
}

int tokenizer_dir_has_bpe(const char *dir) {
    AvzErr err;
    TokenizerKind kind;
    return tokenizer_find_bpe(dir, &kind, err) == AVZ_OK && kind != TOKENIZER_NONE;
}

AvzCode tokenizer_open_bpe(Tokenizer *t, const char *dir, char *err) {
    memset(t, 0, sizeof *t);
    char a[4200], b[4200];
    TokenizerKind kind;
    AvzCode rc = tokenizer_find_bpe(dir, &kind, err);
    if (rc) return rc;
    if (kind == TOKENIZER_HF) {
        snprintf(a, sizeof a, "%s/tokenizer.json", dir);
        t->kind = TOKENIZER_HF;
        rc = bpe_load_hf(&t->bpe, a, err);
    } else if (kind == TOKENIZER_GPT2) {
        snprintf(a, sizeof a, "%s/vocab.json", dir);
        snprintf(b, sizeof b, "%s/merges.txt", dir);
        t->kind = TOKENIZER_GPT2;
        rc = bpe_load_gpt2(&t->bpe, a, b, err);
    } else {
        return avz_fail(err, AVZ_ERR_INPUT, "%s: no tokenizer: expected tokenizer.json, or "
                        "vocab.json with merges.txt", dir);
    }
    if (rc) return rc;
    t->n_vocab = bpe_vocab_size(t->bpe);
    /* Llama 2's post-processor adds <s> itself (bpe_encode with add_special); GPT-2's
     * and some Llama 3 files add nothing, so their bos is prepended when missing, as
     * TransformerLens does (tokenizer_encode). */
    t->bos_id = bpe_bos_id(t->bpe);
    return AVZ_OK;
}

void tokenizer_free(Tokenizer *t) {
    if (t->bpe) bpe_free(t->bpe);
    memset(t, 0, sizeof *t);
}

const char *tokenizer_kind_name(const Tokenizer *t) {
    switch (t->kind) {
    case TOKENIZER_GPT2: return "GPT-2 byte-level BPE";
    case TOKENIZER_HF: return "tokenizer.json BPE";
    default: return "word";
    }
}

void tokenizer_label(const Tokenizer *t, const Vocab *v, int id, char *buf, size_t n) {
    if (n == 0) return;
    if (t->kind == TOKENIZER_WORD) {
        if (v && id >= 0 && id < v->n) snprintf(buf, n, "%s", v->words[id]);
        else snprintf(buf, n, "<%d?>", id);   /* as bpe_label: "<5?>" */
        return;
    }
    bpe_label(t->bpe, id, buf, n);
}

const char *tokenizer_piece(const Tokenizer *t, const Vocab *v, int id) {
    if (t->kind == TOKENIZER_WORD) return v && id >= 0 && id < v->n ? v->words[id] : NULL;
    return bpe_piece(t->bpe, id);
}

int tokenizer_is_special(const Tokenizer *t, const Vocab *v, int id) {
    if (t->kind != TOKENIZER_WORD) return bpe_is_special(t->bpe, id) || id == t->bos_id;
    const char *w = tokenizer_piece(t, v, id);
    size_t n = w ? strlen(w) : 0;
    return n >= 3 && w[0] == '<' && w[n - 1] == '>';   /* <bos>, <unk>, <pad>, ... */
}

AvzCode tokenizer_encode(const Tokenizer *t, const Vocab *v, const char *text, int max_tokens,
                         Tokens *out, char *err) {
    if (t->kind == TOKENIZER_WORD) return tokenize(v, text, max_tokens, out, err);
    memset(out, 0, sizeof *out);
    BpeTokens bt = {0};
    AvzCode rc = bpe_encode(t->bpe, text, strlen(text), 1, &bt, err);
    if (rc) return rc;
    int lead = t->bos_id >= 0 && (bt.n == 0 || bt.ids[0] != t->bos_id) ? 1 : 0;
    if (bt.n + lead > max_tokens) {
        rc = avz_fail(err, AVZ_ERR_INPUT, "text is %d tokens long; this model accepts at most %d",
                      bt.n + lead, max_tokens);
        bpe_tokens_free(&bt);
        return rc;
    }
    if (bt.n + lead == 0) {   /* an empty text with no bos: nothing to run */
        bpe_tokens_free(&bt);
        return avz_fail(err, AVZ_ERR_INPUT, "the text is empty");
    }
    tokens_alloc(out, bt.n + lead);
    char label[256];
    if (lead) {
        out->ids[0] = t->bos_id;
        tokenizer_label(t, v, t->bos_id, label, sizeof label);
        out->text[0] = dup_str(label);
        out->byte_start[0] = -1;
    }
    for (int i = 0; i < bt.n; i++) {
        int k = i + lead;
        out->ids[k] = bt.ids[i];
        tokenizer_label(t, v, bt.ids[i], label, sizeof label);
        out->text[k] = dup_str(label);
        out->byte_start[k] = bt.byte_len[i] > 0 ? bt.byte_start[i] : -1;
        out->byte_len[k] = bt.byte_len[i];
    }
    bpe_tokens_free(&bt);
    return AVZ_OK;
}
