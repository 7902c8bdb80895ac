/* pretokenize.c: normalizers and pre-tokenizers of Hugging Face tokenizers (see
 * pretokenize.h), on strings that remember, byte by byte, where in the user's text
 * they came from.
 *
 * Each stage here is a function from a string (or a list of strings) to a new one,
 * and keeps the per-byte spans up to date: an inserted "▁" gets a zero-width span,
 * a "▁" that replaced a space gets the space's span, a U+FFFD that replaced a bad
 * byte gets that byte's span. The BPE model (bpe.c) then turns the spans of the bytes
 * a token covers into the token's span in the original text. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "pretokenize.h"

#include <pcre2.h>
#include <pthread.h>
#include <string.h>

/* ---- strings with spans ------------------------------------------------------------ */

void pretok_str_init(PretokStr *p) { memset(p, 0, sizeof *p); }

void pretok_str_free(PretokStr *p) {
    free(p->s);
    free(p->o0);
    free(p->o1);
    pretok_str_init(p);
}

void pretok_str_clear(PretokStr *p) {
    p->n = 0;
    if (p->s) p->s[0] = '\0';
}

static void str_reserve(PretokStr *p, int extra) {
    if (p->n + extra + 1 <= p->cap) return;
    int cap = p->cap ? p->cap : 64;
    while (cap < p->n + extra + 1) cap *= 2;
    char *s = realloc(p->s, (size_t)cap);
    int *o0 = realloc(p->o0, sizeof(int) * (size_t)cap);
    int *o1 = realloc(p->o1, sizeof(int) * (size_t)cap);
    if (!s || !o0 || !o1) {
        fprintf(stderr, "pretokenize: out of memory for a string of %d bytes\n", cap);
        exit(1);
    }
    p->s = s, p->o0 = o0, p->o1 = o1, p->cap = cap;
}

void pretok_str_append(PretokStr *p, const char *bytes, int n, int o0, int o1) {
    str_reserve(p, n);
    for (int i = 0; i < n; i++) {
        p->s[p->n + i] = bytes[i];
        p->o0[p->n + i] = o0;
        p->o1[p->n + i] = o1;
    }
    p->n += n;
    p->s[p->n] = '\0';
}

void pretok_str_append_slice(PretokStr *p, PretokPiece src, int from, int to) {
    int n = to - from;
    if (n <= 0) return;
    str_reserve(p, n);
    memcpy(p->s + p->n, src.s + from, (size_t)n);
    memcpy(p->o0 + p->n, src.o0 + from, sizeof(int) * (size_t)n);
    memcpy(p->o1 + p->n, src.o1 + from, sizeof(int) * (size_t)n);
    p->n += n;
    p->s[p->n] = '\0';
}

PretokPiece pretok_piece_slice(const PretokStr *p, int from, int to) {
    return (PretokPiece){p->s + from, p->o0 + from, p->o1 + from, to - from};
}

PretokPiece pretok_piece(const PretokStr *p) { return pretok_piece_slice(p, 0, p->n); }

/* ---- UTF-8 ------------------------------------------------------------------------------ */

/* How many bytes of a valid sequence start at s (at most n), by the table of
 * well-formed UTF-8 (Unicode 3.9, table 3-7): 0 < k <= 4 when the whole sequence is
 * valid; otherwise -m, where m >= 1 is the length of the maximal subpart to replace. */
static int utf8_scan(const unsigned char *s, int n) {
    unsigned b = s[0];
    int need;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the first continuation byte */
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF)
        need = 1;
    else if (b == 0xE0)
        need = 2, lo = 0xA0;
    else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF)
        need = 2;
    else if (b == 0xED)
        need = 2, hi = 0x9F; /* no surrogates */
    else if (b == 0xF0)
        need = 3, lo = 0x90;
    else if (b >= 0xF1 && b <= 0xF3)
        need = 3;
    else if (b == 0xF4)
        need = 3, hi = 0x8F; /* nothing above U+10FFFF */
    else
        return -1;
    for (int k = 1; k <= need; k++) {
        if (k >= n) return -k;
        unsigned c = s[k];
        if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return -k;
    }
    return need + 1;
}

int pretok_utf8_decode(const char *s, int n, uint32_t *cp) {
    if (n <= 0) return 0;
    const unsigned char *u = (const unsigned char *)s;
    int k = utf8_scan(u, n);
    if (k <= 0) return 0;
    uint32_t c = k == 1 ? u[0] : k == 2 ? u[0] & 0x1Fu : k == 3 ? u[0] & 0x0Fu : u[0] & 0x07u;
    for (int i = 1; i < k; i++) c = (c << 6) | (u[i] & 0x3Fu);
    *cp = c;
    return k;
}

int pretok_utf8_encode(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

int pretok_from_utf8(PretokStr *out, const char *text, int len) {
    static const char fffd[3] = {(char)0xEF, (char)0xBF, (char)0xBD};
    int replaced = 0;
    pretok_str_clear(out);
    str_reserve(out, len);
    for (int i = 0; i < len;) {
        int k = utf8_scan((const unsigned char *)text + i, len - i);
        if (k > 0) { /* a valid character: its bytes stand for themselves */
            str_reserve(out, k);
            for (int j = 0; j < k; j++) {
                out->s[out->n] = text[i + j];
                out->o0[out->n] = i + j;
                out->o1[out->n++] = i + j + 1;
            }
            out->s[out->n] = '\0';
            i += k;
        } else {
            pretok_str_append(out, fffd, 3, i, i - k); /* U+FFFD spans the bad bytes */
            i += -k;
            replaced++;
        }
    }
    return replaced;
}

int pretok_is_white_space(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

/* ---- lists ---------------------------------------------------------------------------- */

void pretok_list_init(PretokList *l) { memset(l, 0, sizeof *l); }

void pretok_list_free(PretokList *l) {
    pretok_str_free(&l->text);
    free(l->end);
    pretok_list_init(l);
}

void pretok_list_clear(PretokList *l) {
    pretok_str_clear(&l->text);
    l->n = 0;
}

void pretok_list_cut(PretokList *l) {
    if (l->text.n == (l->n ? l->end[l->n - 1] : 0)) return; /* nothing since the last cut */
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->end = realloc(l->end, sizeof(int) * (size_t)l->cap);
        if (!l->end) {
            fprintf(stderr, "pretokenize: out of memory for %d pre-tokens\n", l->cap);
            exit(1);
        }
    }
    l->end[l->n++] = l->text.n;
}

void pretok_list_add(PretokList *l, PretokPiece p, int from, int to) {
    pretok_list_cut(l); /* whatever was written before is a pre-token of its own */
    pretok_str_append_slice(&l->text, p, from, to);
    pretok_list_cut(l);
}

PretokPiece pretok_list_get(const PretokList *l, int i) {
    return pretok_piece_slice(&l->text, i ? l->end[i - 1] : 0, l->end[i]);
}

/* ---- GPT-2's byte alphabet ----------------------------------------------------------- */

/* bytes_to_unicode() of GPT-2's encoder.py: the 188 bytes that are printable in
 * Latin-1 ('!'..'~', '¡'..'¬', '®'..'ÿ') keep their own code point; the other 68
 * (controls, space, DEL, NBSP, soft hyphen) get U+0100, U+0101, ... in byte order. */
static int is_printable_latin1(int b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

static uint32_t byte_cp[256]; /* byte -> code point */
static pthread_once_t alphabet_once = PTHREAD_ONCE_INIT;

static void alphabet_init(void) {
    uint32_t next = 256; /* the next code point for a byte that cannot stand for itself */
    for (int b = 0; b < 256; b++) byte_cp[b] = is_printable_latin1(b) ? (uint32_t)b : next++;
}

uint32_t pretok_byte_to_cp(uint8_t byte) {
    pthread_once(&alphabet_once, alphabet_init);
    return byte_cp[byte];
}

int pretok_cp_to_byte(uint32_t cp) {
    if (cp < 256) return is_printable_latin1((int)cp) ? (int)cp : -1;
    pthread_once(&alphabet_once, alphabet_init);
    for (int b = 0; b < 256; b++) /* the moved ones are U+0100..U+0143, in byte order */
        if (byte_cp[b] == cp) return b;
    return -1;
}

/* ---- regexes ---------------------------------------------------------------------------- */

struct PretokRegex {
    pcre2_code *code;
};

/* Unicode White_Space as class members: tab..CR, NEL and the separators. */
#define WS_MEMBERS "\\t\\n\\x0B\\f\\r\\x{85}\\p{Z}"
/* Oniguruma's \w: letters, marks, decimal digits, connectors (PCRE2's lacks the marks). */
#define WORD_MEMBERS "\\p{L}\\p{Nl}\\p{M}\\p{Nd}\\p{Pc}"

/* What an Oniguruma escape becomes in PCRE2, in a class or outside one; NULL when the
 * two engines agree on it. */
static const char *onig_escape(char e, int in_class) {
    switch (e) {
    case 's': return in_class ? WS_MEMBERS : "[" WS_MEMBERS "]";
    case 'S': return in_class ? NULL : "[^" WS_MEMBERS "]";
    case 'w': return in_class ? WORD_MEMBERS : "[" WORD_MEMBERS "]";
    case 'W': return in_class ? NULL : "[^" WORD_MEMBERS "]";
    case 'h': return in_class ? "0-9A-Fa-f" : "[0-9A-Fa-f]"; /* a hex digit, not a space */
    case 'H': return in_class ? NULL : "[^0-9A-Fa-f]";
    default: return NULL;
    }
}

/* Rewrites an Oniguruma pattern (what the Rust library compiles) into PCRE2 syntax. The
 * two agree on what tokenizers use ((?i:...) with Unicode case folding, \p{L}, {1,3},
 * lookahead) except a few escapes: PCRE2's \s also matches U+180E and its \h is
 * horizontal space, so those become explicit classes (onig_escape). A negated escape
 * inside a class ([\S]) is left to PCRE2. Caller frees the result. */
static char *onig_to_pcre2(const char *src) {
    size_t n = strlen(src);
    char *out = avz_xmalloc(n * 20 + 1), *o = out;
    int in_class = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '\\' && i + 1 < n) {
            char e = src[++i];
            const char *rep = onig_escape(e, in_class);
            if (rep) {
                o += sprintf(o, "%s", rep);
            } else {
                *o++ = '\\';
                *o++ = e;
            }
            continue;
        }
        if (c == '[') {
            in_class++;
            *o++ = c;
            if (i + 1 < n && src[i + 1] == '^') *o++ = src[++i];
            if (i + 1 < n && src[i + 1] == ']') *o++ = src[++i]; /* a leading ] is literal */
            continue;
        }
        if (c == ']' && in_class) in_class--;
        *o++ = c;
    }
    *o = '\0';
    return out;
}

AvzCode pretok_regex_compile(PretokRegex **out, const char *pattern, char *err) {
    *out = NULL;
    char *pat = onig_to_pcre2(pattern);
    int code;
    PCRE2_SIZE at;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                                   &code, &at, NULL);
    free(pat);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return avz_fail(err, AVZ_ERR_INPUT, "bad regex at offset %zu: %s", (size_t)at,
                        (const char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* faster when available; fine without */
    PretokRegex *r = avz_xmalloc(sizeof *r);
    r->code = re;
    *out = r;
    return AVZ_OK;
}

void pretok_regex_free(PretokRegex *re) {
    if (!re) return;
    pcre2_code_free(re->code);
    free(re);
}

/* GPT-2's pattern, as in encoder.py and in HF's ByteLevel pre-tokenizer: contractions,
 * an optional space and a run of letters / of digits / of other symbols, then spaces
 * (a run of spaces leaves its last space to the word after it: \s+(?!\S)). */
static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static PretokRegex *gpt2_regex;
static pthread_once_t gpt2_once = PTHREAD_ONCE_INIT;

static void gpt2_compile(void) {
    char err[AVZ_ERR_LEN];
    AVZ_ASSERT(pretok_regex_compile(&gpt2_regex, GPT2_PATTERN, err) == AVZ_OK);
}

const PretokRegex *pretok_regex_gpt2(void) {
    pthread_once(&gpt2_once, gpt2_compile);
    return gpt2_regex;
}

static PretokRegex *word_regex;
static pthread_once_t word_once = PTHREAD_ONCE_INIT;

static void word_compile(void) {
    char err[AVZ_ERR_LEN];
    AVZ_ASSERT(pretok_regex_compile(&word_regex, "^[\\p{L}\\p{Nl}\\p{M}\\p{Nd}\\p{Pc}]", err) ==
               AVZ_OK);
}

int pretok_is_word_char(uint32_t cp) {
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
               cp == '_';
    pthread_once(&word_once, word_compile);
    char u[4];
    int k = pretok_utf8_encode(cp, u);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(word_regex->code, NULL);
    int rc = pcre2_match(word_regex->code, (PCRE2_SPTR)u, (PCRE2_SIZE)k, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

/* One piece of a split: bytes [a, b) of the string, and whether the pattern matched it. */
typedef struct {
    int a, b, match;
} Piece;

typedef struct {
    Piece *v;
    int n, cap;
} Pieces;

static void pieces_push(Pieces *ps, int a, int b, int match) {
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? 2 * ps->cap : 16;
        ps->v = realloc(ps->v, sizeof *ps->v * (size_t)ps->cap);
        if (!ps->v) {
            fprintf(stderr, "pretokenize: out of memory\n");
            exit(1);
        }
    }
    ps->v[ps->n++] = (Piece){a, b, match};
}

/* Cuts p into matches and the gaps between them, as Rust's Pattern::find_matches does
 * (an empty match is kept as an empty piece; the search then moves one character on). */
static AvzCode find_matches(const PretokRegex *re, const char *literal, PretokPiece p, Pieces *out,
                            char *err) {
    out->n = 0;
    if (p.n == 0) {
        pieces_push(out, 0, 0, 0);
        return AVZ_OK;
    }
    int prev = 0;
    if (literal) {
        int m = (int)strlen(literal);
        for (int i = 0; m > 0 && i + m <= p.n;) {
            if (memcmp(p.s + i, literal, (size_t)m) != 0) {
                i++;
                continue;
            }
            if (prev != i) pieces_push(out, prev, i, 0);
            pieces_push(out, i, i + m, 1);
            prev = i = i + m;
        }
    } else {
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
        for (int off = 0; off <= p.n;) {
            int rc = pcre2_match(re->code, (PCRE2_SPTR)p.s, (PCRE2_SIZE)p.n, (PCRE2_SIZE)off,
                                 PCRE2_NO_UTF_CHECK, md, NULL);
            if (rc == PCRE2_ERROR_NOMATCH) break;
            if (rc < 0) {
                PCRE2_UCHAR msg[256];
                pcre2_get_error_message(rc, msg, sizeof msg);
                pcre2_match_data_free(md);
                return avz_fail(err, AVZ_ERR_INPUT, "regex match failed: %s", (const char *)msg);
            }
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            int a = (int)ov[0], b = (int)ov[1];
            if (prev != a) pieces_push(out, prev, a, 0);
            pieces_push(out, a, b, 1);
            prev = b;
            if (b > a) {
                off = b;
                continue;
            }
            if (a >= p.n) break;
            uint32_t cp;
            int k = pretok_utf8_decode(p.s + a, p.n - a, &cp);
            off = a + (k > 0 ? k : 1);
        }
        pcre2_match_data_free(md);
    }
    if (prev != p.n) pieces_push(out, prev, p.n, 0);
    return AVZ_OK;
}

/* Applies a SplitDelimiterBehavior to the matches (the same folds as Rust's
 * NormalizedString::split), in place; "match" ends up meaning "drop this piece". */
static void apply_behavior(Pieces *ps, PretokBehavior behavior) {
    int w = 0, prev_match = 0;
    switch (behavior) {
    case PRETOK_ISOLATED:
        for (int i = 0; i < ps->n; i++) ps->v[i].match = 0;
        return;
    case PRETOK_REMOVED: return;
    case PRETOK_MERGED_WITH_PREV:
        for (int i = 0; i < ps->n; i++) {
            Piece pc = ps->v[i];
            if (pc.match && !prev_match && w > 0)
                ps->v[w - 1].b = pc.b;
            else
                ps->v[w++] = (Piece){pc.a, pc.b, 0};
            prev_match = pc.match;
        }
        break;
    case PRETOK_MERGED_WITH_NEXT:
        /* the same fold from the right, then written back in order */
        w = ps->n;
        for (int i = ps->n - 1; i >= 0; i--) {
            Piece pc = ps->v[i];
            if (pc.match && !prev_match && w < ps->n)
                ps->v[w].a = pc.a;
            else
                ps->v[--w] = (Piece){pc.a, pc.b, 0};
            prev_match = pc.match;
        }
        memmove(ps->v, ps->v + w, sizeof *ps->v * (size_t)(ps->n - w));
        w = ps->n - w;
        break;
    case PRETOK_CONTIGUOUS:
        for (int i = 0; i < ps->n; i++) {
            Piece pc = ps->v[i];
            if (pc.match == prev_match && w > 0)
                ps->v[w - 1].b = pc.b;
            else
                ps->v[w++] = (Piece){pc.a, pc.b, 0};
            prev_match = pc.match;
        }
        break;
    }
    ps->n = w;
}

/* Splits p by a pattern and behavior, appending the non-empty pieces to out. */
static AvzCode split_by(const PretokRegex *re, const char *literal, PretokBehavior behavior,
                        int invert, PretokPiece p, PretokList *out, char *err) {
    Pieces ps = {0};
    AvzCode rc = find_matches(re, literal, p, &ps, err);
    if (rc == AVZ_OK) {
        if (invert)
            for (int i = 0; i < ps.n; i++) ps.v[i].match = !ps.v[i].match;
        apply_behavior(&ps, behavior);
        for (int i = 0; i < ps.n; i++)
            if (!ps.v[i].match) pretok_list_add(out, p, ps.v[i].a, ps.v[i].b);
    }
    free(ps.v);
    return rc;
}

/* ---- normalizers ------------------------------------------------------------------------ */

/* Replaces every match in in by text; the replacement takes the span of what it replaced. */
static AvzCode norm_replace(const char *text, const PretokRegex *re, const char *literal,
                            PretokPiece in, PretokStr *out, char *err) {
    Pieces ps = {0};
    AvzCode rc = find_matches(re, literal, in, &ps, err);
    int tn = (int)strlen(text);
    for (int i = 0; rc == AVZ_OK && i < ps.n; i++) {
        Piece pc = ps.v[i];
        if (!pc.match) {
            pretok_str_append_slice(out, in, pc.a, pc.b);
        } else if (pc.b > pc.a) {
            pretok_str_append(out, text, tn, in.o0[pc.a], in.o1[pc.b - 1]);
        } else { /* an empty match: inserted, zero width */
            int at = pc.a < in.n ? in.o0[pc.a] : (in.n ? in.o1[in.n - 1] : 0);
            pretok_str_append(out, text, tn, at, at);
        }
    }
    free(ps.v);
    return rc;
}

AvzCode pretok_normalize(const PretokNormalizer *nz, PretokPiece in, PretokStr *out, char *err) {
    pretok_str_clear(out);
    pretok_str_append_slice(out, in, 0, in.n);
    PretokStr tmp;
    pretok_str_init(&tmp);
    AvzCode rc = AVZ_OK;
    for (int i = 0; rc == AVZ_OK && i < nz->n; i++) {
        const PretokNormStep *st = &nz->steps[i];
        pretok_str_clear(&tmp);
        if (st->kind == PRETOK_NORM_PREPEND) {
            if (out->n == 0) continue; /* HF prepends only to a non-empty string */
            pretok_str_append(&tmp, st->text, (int)strlen(st->text), out->o0[0], out->o0[0]);
            pretok_str_append_slice(&tmp, pretok_piece(out), 0, out->n);
        } else {
            rc = norm_replace(st->text, st->re, st->literal, pretok_piece(out), &tmp, err);
        }
        PretokStr swap = *out;
        *out = tmp;
        tmp = swap;
    }
    pretok_str_free(&tmp);
    return rc;
}

void pretok_normalizer_free(PretokNormalizer *nz) {
    for (int i = 0; i < nz->n; i++) {
        free(nz->steps[i].text);
        free(nz->steps[i].literal);
        pretok_regex_free(nz->steps[i].re);
    }
    free(nz->steps);
    nz->steps = NULL;
    nz->n = 0;
}

/* ---- pre-tokenizers ----------------------------------------------------------------------- */

/* Writes p's bytes to the end of out->text as GPT-2 alphabet characters (each keeps its
 * byte's span), and cuts them off as one pre-token. */
static void write_bytelevel(PretokPiece p, PretokList *out) {
    PretokStr *t = &out->text;
    str_reserve(t, 2 * p.n);
    for (int j = 0; j < p.n; j++) {
        uint32_t cp = pretok_byte_to_cp((uint8_t)p.s[j]);
        int k = pretok_utf8_encode(cp, t->s + t->n);
        for (int q = 0; q < k; q++) t->o0[t->n + q] = p.o0[j], t->o1[t->n + q] = p.o1[j];
        t->n += k;
    }
    t->s[t->n] = '\0';
    pretok_list_cut(out);
}

/* ByteLevel on one pre-token: the optional prefix space, GPT-2's split, then every byte
 * written as its alphabet character. */
static AvzCode step_bytelevel(const PretokStep *st, PretokPiece p, PretokList *out, char *err) {
    PretokStr pre;
    pretok_str_init(&pre);
    if (st->add_prefix_space && p.n > 0 && p.s[0] != ' ') {
        pretok_str_append(&pre, " ", 1, p.o0[0], p.o0[0]);
        pretok_str_append_slice(&pre, p, 0, p.n);
        p = pretok_piece(&pre);
    }
    AvzCode rc = AVZ_OK;
    if (st->use_regex) {
        PretokList parts;
        pretok_list_init(&parts);
        rc = split_by(pretok_regex_gpt2(), NULL, PRETOK_ISOLATED, 0, p, &parts, err);
        pretok_list_cut(out);
        for (int i = 0; rc == AVZ_OK && i < parts.n; i++) write_bytelevel(pretok_list_get(&parts, i), out);
        pretok_list_free(&parts);
    } else {
        pretok_list_cut(out);
        write_bytelevel(p, out);
    }
    pretok_str_free(&pre);
    return rc;
}

/* Metaspace on one pre-token: spaces become the replacement, which is also put in
 * front (always, or only at the very start of the text), then an optional cut before
 * each replacement character. */
static AvzCode step_metaspace(const PretokStep *st, PretokPiece p, PretokList *out, char *err) {
    PretokStr a, b;
    pretok_str_init(&a);
    pretok_str_init(&b);
    AvzCode rc = norm_replace(st->replacement, NULL, " ", p, &a, err);
    int rn = (int)strlen(st->replacement);
    int starts = a.n >= rn && memcmp(a.s, st->replacement, (size_t)rn) == 0;
    int first = p.n > 0 && p.o0[0] == 0;
    if (rc == AVZ_OK && a.n > 0 && !starts &&
        (st->prepend == PRETOK_PREPEND_ALWAYS || (st->prepend == PRETOK_PREPEND_FIRST && first)))
        pretok_str_append(&b, st->replacement, rn, a.o0[0], a.o0[0]);
    pretok_str_append_slice(&b, pretok_piece(&a), 0, a.n);
    if (rc == AVZ_OK) {
        if (st->split)
            rc = split_by(NULL, st->replacement, PRETOK_MERGED_WITH_NEXT, 0, pretok_piece(&b), out,
                          err);
        else
            pretok_list_add(out, pretok_piece(&b), 0, b.n);
    }
    pretok_str_free(&a);
    pretok_str_free(&b);
    return rc;
}

static AvzCode run_step(const PretokStep *st, PretokPiece p, PretokList *out, char *err) {
    switch (st->kind) {
    case PRETOK_SPLIT: return split_by(st->re, st->literal, st->behavior, st->invert, p, out, err);
    case PRETOK_BYTELEVEL: return step_bytelevel(st, p, out, err);
    case PRETOK_METASPACE: return step_metaspace(st, p, out, err);
    }
    return avz_fail(err, AVZ_ERR_INTERNAL, "pre-tokenizer: unknown step %d", (int)st->kind);
}

AvzCode pretok_run(const PretokPipeline *pp, PretokPiece in, PretokList *out, char *err) {
    if (in.n == 0) return AVZ_OK;
    if (pp->n == 0) {
        pretok_list_add(out, in, 0, in.n);
        return AVZ_OK;
    }
    /* each step maps the list of pre-tokens so far to a new list; the last one writes
     * straight into out */
    PretokList lists[2];
    pretok_list_init(&lists[0]);
    pretok_list_init(&lists[1]);
    pretok_list_add(&lists[0], in, 0, in.n);
    AvzCode rc = AVZ_OK;
    for (int s = 0; rc == AVZ_OK && s < pp->n; s++) {
        PretokList *cur = &lists[s % 2], *next = s + 1 == pp->n ? out : &lists[(s + 1) % 2];
        if (next != out) pretok_list_clear(next);
        for (int i = 0; rc == AVZ_OK && i < cur->n; i++)
            rc = run_step(&pp->steps[s], pretok_list_get(cur, i), next, err);
    }
    pretok_list_free(&lists[0]);
    pretok_list_free(&lists[1]);
    return rc;
}

void pretok_pipeline_free(PretokPipeline *pp) {
    for (int i = 0; i < pp->n; i++) {
        pretok_regex_free(pp->steps[i].re);
        free(pp->steps[i].literal);
    }
    free(pp->steps);
    pp->steps = NULL;
    pp->n = 0;
}
