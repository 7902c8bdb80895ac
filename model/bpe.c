/* bpe.c: the byte-pair-encoding model, and the whole encode path around it (see bpe.h).
 *
 * How BPE works. Training started from single characters and, again and again,
 * glued together the pair of neighbouring symbols seen most often in the corpus,
 * recording each glue as a "merge" (merges.txt, or model.merges): merge 0 was the most
 * frequent pair ("Ġ t" in GPT-2), merge 1 the next, ... Encoding a word replays that
 * history: start from the word's characters and keep applying the earliest-learned
 * (lowest-rank) merge that applies anywhere in the word, until none does. The symbols
 * left are the tokens. "lower" with merges [l o, lo w, e r, low er] goes
 *   l o w e r -> lo w e r -> low e r -> low er -> lower.
 * The rank order matters, not the order in the word: a later merge can never break
 * up an earlier one.
 *
 * Where the characters come from:
 *   - byte-level BPE (GPT-2, Llama 3): the pre-tokenizer wrote every byte of the text
 *     as one visible character (pretokenize.c: ' ' -> 'Ġ'), so the 256 characters
 *     are all in the vocab and no text is ever unknown;
 *   - SentencePiece-style BPE (Llama 2): the characters are real Unicode characters,
 *     spaces written as '▁'; a character missing from the vocab falls back to its
 *     UTF-8 bytes as the tokens <0xE2> <0x82> <0xAC> (byte_fallback), or to <unk>.
 *
 * The merge loop follows Hugging Face's Rust code exactly (models/bpe/word.rs): a
 * linked list of symbols and a min-heap of candidate merges keyed by (rank, position),
 * so a word of n characters takes O(n log n), and ties go to the leftmost pair. */
#include "bpe.h"

#include <limits.h>

#include "pretokenize.h"
#include "tokenizer_json.h"

#define BPE_ADDED    1 /* flags[id]: an added token */
#define BPE_SPECIAL  2 /* ... marked special */
#define BPE_MAX_TEXT (256 << 20)

/* ---- hash tables ----------------------------------------------------------------------- */

/* A string -> id table by open addressing; the keys are the pieces themselves
 * (b->piece[id]), so a slot only holds the id (-1 when empty). */
typedef struct {
    int *slot; /* (cap) */
    int cap;   /* a power of two, at least twice the entries */
} StrMap;

/* (left id, right id) -> the merge's rank and the id of the merged piece. */
typedef struct {
    uint64_t key; /* left << 32 | right */
    int rank;     /* -1: empty slot */
    int id;
} MergeSlot;

typedef struct {
    MergeSlot *slot; /* (cap) */
    int cap;
} MergeMap;

/* An added token as it is matched in text. */
typedef struct {
    char *text; /* what to look for (owned): its content, normalized when normalized */
    int len;
    int id, single_word, lstrip, rstrip, normalized;
} Added;

struct Bpe {
    int n_ids;            /* max id + 1 */
    char **piece;         /* (n_ids) id -> vocab string or added content, NULL for holes */
    int *plen;            /* (n_ids) strlen(piece[id]) */
    unsigned char *flags; /* (n_ids) BPE_ADDED | BPE_SPECIAL */
    StrMap vocab;         /* the model's vocab: what BPE may produce */
    StrMap added_map;     /* added tokens' contents, for bpe_piece_to_id */
    MergeMap merges;
    Added *added; /* (n_added) */
    int n_added;
    unsigned char starts[2][256]; /* [normalized][byte]: some added token starts with it */
    int byte_id[256];             /* <0xNN> tokens for byte_fallback, -1 if absent */
    int byte_fallback, fuse_unk, ignore_merges;
    int unk_id; /* -1: unknown characters are dropped, as HF does */
    PretokNormalizer norm;
    PretokPipeline pre;
    int *prefix, n_prefix, *suffix, n_suffix; /* the post-processor's ids */
    TokJsonLabel label;
    int bos, eos;
};

static uint64_t hash_bytes(const char *s, int n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (int i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static uint64_t hash_u64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static void strmap_init(StrMap *m, int n) {
    m->cap = 16;
    while (m->cap < 2 * n) m->cap *= 2;
    m->slot = avz_xmalloc(sizeof(int) * (size_t)m->cap);
    for (int i = 0; i < m->cap; i++) m->slot[i] = -1;
}

/* The id whose piece is s[0..n), or -1. */
static int strmap_get(const Bpe *b, const StrMap *m, const char *s, int n) {
    if (!m->cap) return -1;
    uint64_t mask = (uint64_t)m->cap - 1;
    for (uint64_t i = hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
        int id = m->slot[i];
        if (id < 0) return -1;
        if (b->plen[id] == n && memcmp(b->piece[id], s, (size_t)n) == 0) return id;
    }
}

/* Adds id under its piece; returns the id already there instead if the piece is taken. */
static int strmap_put(const Bpe *b, StrMap *m, int id) {
    const char *s = b->piece[id];
    int n = b->plen[id];
    uint64_t mask = (uint64_t)m->cap - 1;
    for (uint64_t i = hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
        int old = m->slot[i];
        if (old < 0) {
            m->slot[i] = id;
            return id;
        }
        if (b->plen[old] == n && memcmp(b->piece[old], s, (size_t)n) == 0) return old;
    }
}

static const MergeSlot *merge_get(const MergeMap *m, int left, int right) {
    uint64_t key = (uint64_t)left << 32 | (uint32_t)right;
    if (!m->cap) return NULL;
    uint64_t mask = (uint64_t)m->cap - 1;
    for (uint64_t i = hash_u64(key) & mask;; i = (i + 1) & mask) {
        const MergeSlot *s = &m->slot[i];
        if (s->rank < 0) return NULL;
        if (s->key == key) return s;
    }
}

/* A pair listed twice keeps its later rank, as in HF (a map filled in order). */
static void merge_put(MergeMap *m, int left, int right, int rank, int id) {
    uint64_t key = (uint64_t)left << 32 | (uint32_t)right, mask = (uint64_t)m->cap - 1;
    for (uint64_t i = hash_u64(key) & mask;; i = (i + 1) & mask) {
        MergeSlot *s = &m->slot[i];
        if (s->rank < 0 || s->key == key) {
            *s = (MergeSlot){key, rank, id};
            return;
        }
    }
}

/* ---- output --------------------------------------------------------------------------- */

void bpe_tokens_free(BpeTokens *t) {
    free(t->ids);
    free(t->byte_start);
    free(t->byte_len);
    memset(t, 0, sizeof *t);
}

static void emit(BpeTokens *t, int id, int start, int len) {
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->ids = realloc(t->ids, sizeof(int) * (size_t)t->cap);
        t->byte_start = realloc(t->byte_start, sizeof(int) * (size_t)t->cap);
        t->byte_len = realloc(t->byte_len, sizeof(int) * (size_t)t->cap);
        if (!t->ids || !t->byte_start || !t->byte_len) {
            fprintf(stderr, "bpe: out of memory for %d tokens\n", t->cap);
            exit(1);
        }
    }
    t->ids[t->n] = id;
    t->byte_start[t->n] = start;
    t->byte_len[t->n] = len;
    t->n++;
}

/* Emits id for bytes [a, b) of w, at the original span those bytes came from. */
static void emit_span(BpeTokens *t, int id, PretokPiece w, int a, int b) {
    int start = w.o0[a], end = w.o1[b - 1];
    emit(t, id, start, end - start);
}

/* ---- one encode call's state ------------------------------------------------------------- */

/* ---- the merge loop --------------------------------------------------------------------- */

/* The symbols of one word, a doubly linked list in arrays: symbol i is token id[i]
 * covering bytes [start[i], start[i] + len[i]) of the word; len 0 once merged away. */
typedef struct {
    int *id, *start, *len, *prev, *next;
    int n;
} Symbols;

/* A candidate merge: the pair (pos, next[pos]) becomes new_id. */
typedef struct {
    int rank, pos, new_id;
} Cand;

typedef struct {
    Cand *v;
    int n, cap;
} Heap;

static int cand_less(Cand a, Cand b) { return a.rank != b.rank ? a.rank < b.rank : a.pos < b.pos; }

static void heap_push(Heap *h, Cand c) {
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 64;
        h->v = realloc(h->v, sizeof *h->v * (size_t)h->cap);
        AVZ_ASSERT(h->v);
    }
    int i = h->n++;
    while (i > 0 && cand_less(c, h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = c;
}

static Cand heap_pop(Heap *h) {
    Cand top = h->v[0], last = h->v[--h->n];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && cand_less(h->v[c + 1], h->v[c])) c++;
        if (!cand_less(h->v[c], last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n > 0) h->v[i] = last;
    return top;
}

/* What one bpe_encode call carries along: where tokens go, and scratch memory that
 * every word reuses (so that a text of a million short words is not a million
 * allocations). */
typedef struct {
    const Bpe *b;
    BpeTokens *out;
    char *err;
    PretokStr norm;    /* the stretch of text being encoded, normalized */
    PretokList words;  /* its pre-tokens */
    int *mem;          /* (5 * mem_cap) the arrays of Symbols */
    size_t mem_cap;
    Heap heap;
} Enc;

/* Queues the merge of symbol pos with the one after it, if the merges list has it. */
static void queue_pair(const Bpe *b, const Symbols *sy, Heap *h, int pos) {
    int nx = sy->next[pos];
    if (pos < 0 || nx < 0) return;
    const MergeSlot *m = merge_get(&b->merges, sy->id[pos], sy->id[nx]);
    if (m) heap_push(h, (Cand){m->rank, pos, m->id});
}

/* Applies merges to the symbols until none applies. A candidate is stale when one of
 * its two symbols has been merged into something else since it was queued; like HF,
 * check that the pair now at pos still merges into the same token. */
static void merge_all(const Bpe *b, Symbols *sy, Heap *heap) {
    Heap h = *heap;
    h.n = 0;
    for (int i = 0; i + 1 < sy->n; i++) queue_pair(b, sy, &h, i);
    while (h.n > 0) {
        Cand c = heap_pop(&h);
        int p = c.pos, nx = sy->next[p];
        if (sy->len[p] == 0 || nx < 0) continue;
        const MergeSlot *m = merge_get(&b->merges, sy->id[p], sy->id[nx]);
        if (!m || m->id != c.new_id) continue;
        /* p absorbs nx */
        sy->id[p] = c.new_id;
        sy->len[p] += sy->len[nx];
        sy->len[nx] = 0;
        sy->next[p] = sy->next[nx];
        if (sy->next[nx] >= 0) sy->prev[sy->next[nx]] = p;
        queue_pair(b, sy, &h, sy->prev[p]);
        queue_pair(b, sy, &h, p);
    }
    *heap = h; /* keep the memory for the next word */
}

static void sym_add(Symbols *sy, int id, int start, int len) {
    int i = sy->n++;
    sy->id[i] = id, sy->start[i] = start, sy->len[i] = len;
    sy->prev[i] = i - 1, sy->next[i] = -1;
    if (i > 0) sy->next[i - 1] = i;
}

/* The first symbols of a word: one per character, or its bytes' <0xNN> tokens when the
 * character is not in the vocab (byte_fallback), or <unk> (several unknown characters
 * in a row fused into one when fuse_unk), or nothing when there is no unk token. */
static void initial_symbols(const Bpe *b, PretokPiece w, Symbols *sy) {
    int unk_open = 0; /* the last symbol is an unk that may grow */
    for (int i = 0; i < w.n;) {
        uint32_t cp;
        int k = pretok_utf8_decode(w.s + i, w.n - i, &cp);
        if (k == 0) k = 1; /* cannot happen: the text was made valid UTF-8 */
        int id = strmap_get(b, &b->vocab, w.s + i, k), bytes_ok = b->byte_fallback;
        for (int j = 0; id < 0 && bytes_ok && j < k; j++)
            bytes_ok = b->byte_id[(unsigned char)w.s[i + j]] >= 0;
        if (id >= 0) {
            sym_add(sy, id, i, k);
            unk_open = 0;
        } else if (bytes_ok) {
            for (int j = 0; j < k; j++)
                sym_add(sy, b->byte_id[(unsigned char)w.s[i + j]], i + j, 1);
            unk_open = 0;
        } else if (b->unk_id >= 0) {
            if (unk_open && b->fuse_unk)
                sy->len[sy->n - 1] += k;
            else
                sym_add(sy, b->unk_id, i, k);
            unk_open = 1;
        }
        i += k;
    }
}

/* One pre-token through the model. */
static void encode_word(Enc *e, PretokPiece w) {
    const Bpe *b = e->b;
    if (b->ignore_merges) { /* Llama 3: a pre-token that is a whole vocab entry stays whole */
        int id = strmap_get(b, &b->vocab, w.s, w.n);
        if (id >= 0) {
            emit_span(e->out, id, w, 0, w.n);
            return;
        }
    }
    size_t cap = (size_t)w.n + 1; /* at most one symbol per byte */
    if (cap > e->mem_cap) {
        free(e->mem);
        e->mem_cap = 2 * cap;
        e->mem = avz_xmalloc(sizeof(int) * 5 * e->mem_cap);
    }
    Symbols sy = {e->mem, e->mem + cap, e->mem + 2 * cap, e->mem + 3 * cap, e->mem + 4 * cap, 0};
    initial_symbols(b, w, &sy);
    merge_all(b, &sy, &e->heap);
    for (int i = sy.n ? 0 : -1; i >= 0; i = sy.next[i])
        emit_span(e->out, sy.id[i], w, sy.start[i], sy.start[i] + sy.len[i]);
}

/* ---- added tokens ----------------------------------------------------------------------- */

/* The code point that ends at s[end) (s valid UTF-8), and where it starts. */
static uint32_t cp_before(const char *s, int end, int *start) {
    int i = end - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    uint32_t cp = 0;
    pretok_utf8_decode(s + i, end - i, &cp);
    *start = i;
    return cp;
}

/* The longest added token (of the normalized or the raw kind) that starts at byte i of
 * s, and passes its single_word rule; its index in b->added, or -1. */
static int added_at(const Bpe *b, const char *s, int n, int i, int normalized) {
    int best = -1;
    for (int k = 0; k < b->n_added; k++) {
        const Added *a = &b->added[k];
        if (a->normalized != normalized || a->len > n - i ||
            (best >= 0 && a->len <= b->added[best].len))
            continue;
        if (s[i] != a->text[0] || memcmp(s + i, a->text, (size_t)a->len) != 0) continue;
        best = k;
    }
    if (best < 0 || !b->added[best].single_word) return best;
    /* single_word: not glued to a word character on either side */
    uint32_t cp;
    int st, e = i + b->added[best].len;
    if (i > 0 && pretok_is_word_char(cp_before(s, i, &st))) return -1;
    if (e < n && pretok_utf8_decode(s + e, n - e, &cp) && pretok_is_word_char(cp)) return -1;
    return best;
}

/* Cuts s (valid UTF-8) at the added tokens: calls on_text for each stretch between them
 * and emits each token. Matching is leftmost-longest, as HF's Aho-Corasick does;
 * lstrip / rstrip tokens also take the whitespace beside them. */
typedef AvzCode (*TextFn)(Enc *e, const PretokStr *s, int from, int to);

static AvzCode split_added(Enc *e, const PretokStr *s, int normalized, TextFn on_text) {
    const Bpe *b = e->b;
    int done = 0; /* bytes of s handled so far */
    for (int i = 0; i < s->n;) {
        /* tokens start on a character: never inside one (added contents are UTF-8) */
        int k = b->starts[normalized][(unsigned char)s->s[i]]
                    ? added_at(b, s->s, s->n, i, normalized)
                    : -1;
        if (k < 0) {
            i++;
            continue;
        }
        const Added *a = &b->added[k];
        int start = i, stop = i + a->len, st;
        while (a->lstrip && start > done && pretok_is_white_space(cp_before(s->s, start, &st)))
            start = st;
        uint32_t cp;
        int m;
        while (a->rstrip && stop < s->n &&
               (m = pretok_utf8_decode(s->s + stop, s->n - stop, &cp)) && pretok_is_white_space(cp))
            stop += m;
        if (start > done) {
            AvzCode rc = on_text(e, s, done, start);
            if (rc) return rc;
        }
        emit_span(e->out, a->id, pretok_piece(s), start, stop);
        done = i = stop;
    }
    if (done < s->n) return on_text(e, s, done, s->n);
    return AVZ_OK;
}

/* A stretch of normalized text between added tokens: pre-tokens, then the model. */
static AvzCode encode_normalized(Enc *e, const PretokStr *s, int from, int to) {
    pretok_list_clear(&e->words);
    AvzCode rc = pretok_run(&e->b->pre, pretok_piece_slice(s, from, to), &e->words, e->err);
    for (int i = 0; rc == AVZ_OK && i < e->words.n; i++) encode_word(e, pretok_list_get(&e->words, i));
    return rc;
}

/* A stretch of raw text between added tokens: normalize it, then look for the added
 * tokens that are matched in normalized text. */
static AvzCode encode_raw(Enc *e, const PretokStr *s, int from, int to) {
    AvzCode rc = pretok_normalize(&e->b->norm, pretok_piece_slice(s, from, to), &e->norm, e->err);
    return rc ? rc : split_added(e, &e->norm, 1, encode_normalized);
}

AvzCode bpe_encode(const Bpe *b, const char *text, size_t len, int add_special, BpeTokens *out,
                   char *err) {
    if (len > BPE_MAX_TEXT)
        return avz_fail(err, AVZ_ERR_INPUT, "text too long to tokenize (%zu bytes, at most %d)",
                        len, BPE_MAX_TEXT);
    Enc e = {.b = b, .out = out, .err = err};
    PretokStr raw;
    pretok_str_init(&raw);
    pretok_str_init(&e.norm);
    pretok_list_init(&e.words);
    pretok_from_utf8(&raw, text, (int)len);
    if (add_special)
        for (int i = 0; i < b->n_prefix; i++) emit(out, b->prefix[i], 0, 0);
    AvzCode rc = split_added(&e, &raw, 0, encode_raw);
    if (add_special)
        for (int i = 0; i < b->n_suffix; i++) emit(out, b->suffix[i], (int)len, 0);
    pretok_str_free(&raw);
    pretok_str_free(&e.norm);
    pretok_list_free(&e.words);
    free(e.mem);
    free(e.heap.v);
    return rc;
}

/* ---- building ---------------------------------------------------------------------------- */

static char *xstrdup(const char *s) {
    size_t n = strlen(s);
    char *d = avz_xmalloc(n + 1);
    memcpy(d, s, n + 1);
    return d;
}

/* Where the vocab is, for messages: "vocab.json" or "tokenizer.json: model.vocab". */
static void vocab_where(const TokJson *tj, char *buf, size_t n) {
    if (tj->merges_from_txt)
        snprintf(buf, n, "%s", tj->file);
    else
        snprintf(buf, n, "%s: %s", tj->file, tj->vocab_field);
}

static AvzCode build_vocab(Bpe *b, TokJson *tj, char *err) {
    char where[400];
    vocab_where(tj, where, sizeof where);
    int max_id = -1;
    for (int i = 0; i < tj->n_pieces; i++) max_id = tj->ids[i] > max_id ? tj->ids[i] : max_id;
    for (int i = 0; i < tj->n_added; i++)
        max_id = tj->added[i].id > max_id ? tj->added[i].id : max_id;
    b->n_ids = max_id + 1;
    b->piece = avz_xcalloc((size_t)b->n_ids + 1, sizeof(char *));
    b->plen = avz_xcalloc((size_t)b->n_ids + 1, sizeof(int));
    b->flags = avz_xcalloc((size_t)b->n_ids + 1, 1);
    strmap_init(&b->vocab, tj->n_pieces);
    for (int i = 0; i < tj->n_pieces; i++) {
        int id = tj->ids[i];
        if (b->piece[id])
            return avz_fail(err, AVZ_ERR_INPUT, "%s: id %d is given to both '%.100s' and '%.100s'",
                            where, id, b->piece[id], tj->pieces[i]);
        b->piece[id] = tj->pieces[i]; /* taken over from tj */
        b->plen[id] = (int)strlen(b->piece[id]);
        tj->pieces[i] = NULL;
        int old = strmap_put(b, &b->vocab, id);
        if (old != id)
            return avz_fail(err, AVZ_ERR_INPUT, "%s: '%.100s' appears twice (ids %d and %d)", where,
                            b->piece[id], old, id);
    }
    return AVZ_OK;
}

static AvzCode build_added(Bpe *b, TokJson *tj, char *err) {
    b->added = avz_xcalloc((size_t)tj->n_added, sizeof *b->added);
    strmap_init(&b->added_map, tj->n_added);
    for (int i = 0; i < tj->n_added; i++) {
        const TokJsonAdded *t = &tj->added[i];
        if (!b->piece[t->id]) {
            b->piece[t->id] = xstrdup(t->content);
            b->plen[t->id] = (int)strlen(t->content);
        } else if (strcmp(b->piece[t->id], t->content)) {
            return avz_fail(err, AVZ_ERR_INPUT,
                            "%s: added_tokens[%d]: id %d is '%.100s' in the "
                            "vocab, not '%.100s'",
                            tj->file, i, t->id, b->piece[t->id], t->content);
        }
        if (strmap_put(b, &b->added_map, t->id) != t->id) continue; /* listed twice: first wins */
        b->flags[t->id] |= BPE_ADDED | (t->special ? BPE_SPECIAL : 0);
        Added *a = &b->added[b->n_added++];
        *a = (Added){NULL, 0, t->id, t->single_word, t->lstrip, t->rstrip, t->normalized};
        if (t->normalized && b->norm.n > 0) { /* matched in normalized text, so normalize it */
            PretokStr in, outs;
            pretok_str_init(&in);
            pretok_str_init(&outs);
            pretok_str_append(&in, t->content, (int)strlen(t->content), 0, 0);
            AvzCode rc = pretok_normalize(&b->norm, pretok_piece(&in), &outs, err);
            a->text = xstrdup(rc == AVZ_OK && outs.n ? outs.s : t->content);
            pretok_str_free(&in);
            pretok_str_free(&outs);
        } else {
            a->text = xstrdup(t->content);
        }
        a->len = (int)strlen(a->text);
        b->starts[a->normalized][(unsigned char)a->text[0]] = 1;
    }
    return AVZ_OK;
}

static AvzCode build_merges(Bpe *b, const TokJson *tj, char *err) {
    char where[400], vwhere[400];
    vocab_where(tj, vwhere, sizeof vwhere);
    b->merges.cap = 16;
    while (b->merges.cap < 2 * tj->n_merges) b->merges.cap *= 2;
    b->merges.slot = avz_xmalloc(sizeof(MergeSlot) * (size_t)b->merges.cap);
    for (int i = 0; i < b->merges.cap; i++) b->merges.slot[i].rank = -1;
    for (int i = 0; i < tj->n_merges; i++) {
        const char *pa = tj->merge_a[i], *pb = tj->merge_b[i];
        if (tj->merges_from_txt)
            snprintf(where, sizeof where, "%s:%d", tj->merges_field, tj->merge_line[i]);
        else
            snprintf(where, sizeof where, "%s: %s[%d]", tj->file, tj->merges_field, i);
        int la = (int)strlen(pa), lb = (int)strlen(pb);
        int ia = strmap_get(b, &b->vocab, pa, la), ib = strmap_get(b, &b->vocab, pb, lb);
        if (ia < 0 || ib < 0)
            return avz_fail(err, AVZ_ERR_INPUT, "%s: '%.100s' is not in %s", where,
                            ia < 0 ? pa : pb, vwhere);
        char *ab = avz_xmalloc((size_t)(la + lb) + 1);
        memcpy(ab, pa, (size_t)la);
        memcpy(ab + la, pb, (size_t)lb + 1);
        int iab = strmap_get(b, &b->vocab, ab, la + lb);
        if (iab < 0) {
            AvzCode rc = avz_fail(err, AVZ_ERR_INPUT,
                                  "%s: '%.100s' (the merge of '%.50s' and "
                                  "'%.50s') is not in %s",
                                  where, ab, pa, pb, vwhere);
            free(ab);
            return rc;
        }
        free(ab);
        merge_put(&b->merges, ia, ib, i, iab);
    }
    return AVZ_OK;
}

/* An id by name: an added token, else a vocab piece; -1 if neither. */
static int find_id(const Bpe *b, const char *name) {
    if (!name) return -1;
    int n = (int)strlen(name), id = strmap_get(b, &b->added_map, name, n);
    return id >= 0 ? id : strmap_get(b, &b->vocab, name, n);
}

static int first_id(const Bpe *b, const char *const *names) {
    for (; *names; names++) {
        int id = find_id(b, *names);
        if (id >= 0) return id;
    }
    return -1;
}

static AvzCode build_rest(Bpe *b, TokJson *tj, char *err) {
    static const char *bos_names[] = {"<s>", "<|begin_of_text|>", "<|endoftext|>", "<bos>", NULL};
    static const char *eos_names[] = {"</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>", NULL};
    b->unk_id = -1;
    if (tj->unk_token && (b->unk_id = find_id(b, tj->unk_token)) < 0)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: model.unk_token: '%.100s' is not in the vocab",
                        tj->file, tj->unk_token);
    for (int i = 0; i < 256; i++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", i);
        b->byte_id[i] = strmap_get(b, &b->vocab, name, 6);
    }
    b->byte_fallback = tj->byte_fallback, b->fuse_unk = tj->fuse_unk;
    b->ignore_merges = tj->ignore_merges, b->label = tj->label;
    int *lists[2] = {tj->prefix, tj->suffix}, counts[2] = {tj->n_prefix, tj->n_suffix};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < counts[k]; i++)
            if (lists[k][i] >= b->n_ids || !b->piece[lists[k][i]])
                return avz_fail(err, AVZ_ERR_INPUT, "%s: post_processor: id %d is not in the vocab",
                                tj->file, lists[k][i]);
    b->prefix = tj->prefix, b->n_prefix = tj->n_prefix, tj->prefix = NULL, tj->n_prefix = 0;
    b->suffix = tj->suffix, b->n_suffix = tj->n_suffix, tj->suffix = NULL, tj->n_suffix = 0;
    b->bos = tj->bos_token ? find_id(b, tj->bos_token) : b->n_prefix ? b->prefix[0] : -1;
    if (b->bos < 0) b->bos = first_id(b, bos_names);
    b->eos = tj->eos_token ? find_id(b, tj->eos_token) : -1;
    if (b->eos < 0) b->eos = first_id(b, eos_names);
    return AVZ_OK;
}

/* Builds a Bpe from a parsed description, taking over its strings and stages. */
static AvzCode build(Bpe **out, TokJson *tj, char *err) {
    Bpe *b = avz_xcalloc(1, sizeof *b);
    b->norm = tj->norm, b->pre = tj->pre; /* taken over; build_added normalizes with it */
    memset(&tj->norm, 0, sizeof tj->norm);
    memset(&tj->pre, 0, sizeof tj->pre);
    AvzCode rc = build_vocab(b, tj, err);
    if (!rc) rc = build_added(b, tj, err);
    if (!rc) rc = build_merges(b, tj, err);
    if (!rc) rc = build_rest(b, tj, err);
    tokjson_free(tj);
    if (rc) {
        bpe_free(b);
        b = NULL;
    }
    *out = b;
    return rc;
}

AvzCode bpe_load_gpt2(Bpe **out, const char *vocab_json, const char *merges_txt, char *err) {
    TokJson tj;
    *out = NULL;
    AvzCode rc = tokjson_load_gpt2(&tj, vocab_json, merges_txt, err);
    return rc ? rc : build(out, &tj, err);
}

AvzCode bpe_load_hf(Bpe **out, const char *tokenizer_json, char *err) {
    TokJson tj;
    *out = NULL;
    AvzCode rc = tokjson_load(&tj, tokenizer_json, err);
    return rc ? rc : build(out, &tj, err);
}

AvzCode bpe_load_hf_mem(Bpe **out, const char *json, size_t len, const char *name, char *err) {
    TokJson tj;
    *out = NULL;
    AvzCode rc = tokjson_parse(&tj, json, len, name, err);
    return rc ? rc : build(out, &tj, err);
}

void bpe_free(Bpe *b) {
    if (!b) return;
    for (int i = 0; i < b->n_ids; i++) free(b->piece[i]);
    for (int i = 0; i < b->n_added; i++) free(b->added[i].text);
    free(b->piece);
    free(b->plen);
    free(b->flags);
    free(b->vocab.slot);
    free(b->added_map.slot);
    free(b->merges.slot);
    free(b->added);
    free(b->prefix);
    free(b->suffix);
    pretok_normalizer_free(&b->norm);
    pretok_pipeline_free(&b->pre);
    free(b);
}

/* ---- queries and labels ------------------------------------------------------------------- */

int bpe_vocab_size(const Bpe *b) { return b->n_ids; }
int bpe_bos_id(const Bpe *b) { return b->bos; }
int bpe_eos_id(const Bpe *b) { return b->eos; }

int bpe_is_special(const Bpe *b, int id) {
    return id >= 0 && id < b->n_ids && (b->flags[id] & BPE_SPECIAL) != 0;
}

const char *bpe_piece(const Bpe *b, int id) {
    return id >= 0 && id < b->n_ids ? b->piece[id] : NULL;
}

int bpe_piece_to_id(const Bpe *b, const char *piece) { return piece ? find_id(b, piece) : -1; }

/* Appends s to buf (length *at of n) only if it fits whole with the NUL. */
static int put(char *buf, size_t n, size_t *at, const char *s, size_t len) {
    if (*at + len + 1 > n) return 0;
    memcpy(buf + *at, s, len);
    *at += len;
    buf[*at] = '\0';
    return 1;
}

/* Writes bytes for display: whole UTF-8 characters as they are, controls escaped,
 * stray bytes as <0xNN>. */
static void render(const char *s, int n, char *buf, size_t cap) {
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < n;) {
        uint32_t cp;
        char tmp[16];
        int k = pretok_utf8_decode(s + i, n - i, &cp), ok;
        if (k == 0) {
            snprintf(tmp, sizeof tmp, "<0x%02X>", (unsigned char)s[i]);
            ok = put(buf, cap, &at, tmp, 6), k = 1;
        } else if (cp == '\n' || cp == '\t' || cp == '\r') {
            ok = put(buf, cap, &at, cp == '\n' ? "\\n" : cp == '\t' ? "\\t" : "\\r", 2);
        } else if (cp < 0x20 || cp == 0x7F) {
            snprintf(tmp, sizeof tmp, "\\x%02X", (unsigned)cp);
            ok = put(buf, cap, &at, tmp, 4);
        } else if (cp >= 0x80 && cp < 0xA0) {
            snprintf(tmp, sizeof tmp, "\\u%04X", (unsigned)cp);
            ok = put(buf, cap, &at, tmp, 6);
        } else {
            ok = put(buf, cap, &at, s + i, (size_t)k);
        }
        if (!ok) return;
        i += k;
    }
}

/* 1 if piece is a byte token "<0xNN>" (hex in upper case, as HF writes them). */
static int is_byte_piece(const char *p) {
    unsigned v;
    char tail;
    return strlen(p) == 6 && !strncmp(p, "<0x", 3) && p[5] == '>' &&
           sscanf(p + 3, "%2X%c", &v, &tail) == 2 && tail == '>';
}

void bpe_label(const Bpe *b, int id, char *buf, size_t n) {
    if (n == 0) return;
    const char *p = bpe_piece(b, id);
    if (!p) {
        snprintf(buf, n, "<%d?>", id);
        return;
    }
    int len = (int)strlen(p), m = 0;
    if ((b->flags[id] & BPE_ADDED) || is_byte_piece(p) || b->label == TOKJSON_LABEL_RAW) {
        render(p, len, buf, n);
        return;
    }
    char *bytes = avz_xmalloc((size_t)len + 1);
    for (int i = 0; i < len;) {
        uint32_t cp;
        int k = pretok_utf8_decode(p + i, len - i, &cp);
        if (k == 0) k = 1, cp = 0xFFFD;
        int byte = b->label == TOKJSON_LABEL_BYTELEVEL ? pretok_cp_to_byte(cp) : -1;
        if (b->label == TOKJSON_LABEL_BYTELEVEL && byte < 0) { /* not a byte-level piece */
            m = -1;
            break;
        }
        if (byte >= 0)
            bytes[m++] = (char)byte;
        else if (cp == 0x2581)
            bytes[m++] = ' '; /* ▁ */
        else
            memcpy(bytes + m, p + i, (size_t)k), m += k;
        i += k;
    }
    if (m < 0)
        render(p, len, buf, n);
    else
        render(bytes, m, buf, n);
    free(bytes);
}
