/* test_bpe_ref.c: the BPE tokenizers (model/bpe.c) against Hugging Face's on thousands
 * of generated lines.
 *
 * A seeded generator makes the lines (prose, code, numbers, punctuation runs, emoji with
 * ZWJ and skin tones, CJK, Arabic and Hebrew, combining marks, NFC and NFD, whitespace
 * runs, special tokens, very long words, and bytes that are not UTF-8) and writes them to
 * a JSON file; tests/ref/tokenize_ref.mjs runs the reference tokenizers on all of them
 * in one node process per tokenizer; every line's ids must be equal, and every span
 * must lie in the text and cover it. The references and the tokenizer files are npm
 * packages installed by `make deps` into build/npm (or AVZ_NPM_DIR); without node or
 * them the tests fail and say so. Run from the repository root. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include "bpe_fixtures.h"
#include "pretokenize.h"
#include "tokenizer_json.h"

/* ---- the generated lines ------------------------------------------------------------------- */

typedef struct {
    char *s;
    int n, cap;
} Buf;

static void put_bytes(Buf *b, const char *s, int n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = realloc(b->s, (size_t)b->cap);
        cr_assert(b->s);
    }
    memcpy(b->s + b->n, s, (size_t)n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void put_str(Buf *b, const char *s) { put_bytes(b, s, (int)strlen(s)); }

static void put_cp(Buf *b, uint32_t cp) {
    char u[4];
    put_bytes(b, u, pretok_utf8_encode(cp, u));
}

static int rnd(AvzRng *r, int n) { return (int)(avz_rng_u64(r) % (uint64_t)n); }
#define PICK(r, list) (list)[rnd(r, (int)(sizeof(list) / sizeof *(list)))]

/* clang-format off */
static const char *WORDS[] = {
    "the", "of", "and", "attention", "head", "token", "model", "Marie", "Curie", "was", "born",
    "in", "Warsaw", "she", "discovered", "radium", "polonium", "it's", "don't", "we'll", "they're",
    "I've", "I'm", "he'd", "IT'S", "WE'LL", "O'Neil", "rock'n'roll", "'tis", "can't", "won't",
    "transformer", "softmax", "query", "key", "value", "New", "York", "café", "naïve", "résumé",
    "über", "façade", "Straße", "coöperate", "e-mail", "state-of-the-art", "U.S.A.", "Dr.",
    "co-operation", "isn't", "you'd", "Y'ALL", "ma'am", "a", "I", "to", "is", "that", "with"};
static const char *CODE[] = {
    "for (int i = 0; i < n; i++) {", "return x->next;", "def foo(a, b=2):", "}", "};",
    "if x == 0x1F: print(f\"{x!r}\")", "#include <stdio.h>", "// a comment", "/* block */",
    "x += y**2;", "arr[i][j] = -1;", "s = 'it''s'", "key: value", "<div class=\"a\">",
    "SELECT * FROM t WHERE id=42;", "fn main() -> Result<(), Box<dyn Error>> {",
    "const std::vector<int>& v", "$ ls -la | grep '\\.c$'", "\"\\n\\t\\\\\"", "a && b || !c",
    "template<typename T>", "lambda x: x*2", "i++; --j;", "@decorator", "#!/bin/sh"};
static const char *NUMBERS[] = {
    "3.14159", "1,000,000", "-42", "1e-10", "2024-01-15", "12:30:45", "+1 (555) 123-4567",
    "٣٤٥٦", "１２３", "²³", "½", "Ⅻ", "0xDEADBEEF", "v1.2.3", "100%", "$5.99", "€20", "#1"};
static const char *PUNCT[] = {
    "...", "—", "–", "«»", "“quoted”", "‘single’", "…", "¿¡", "§¶", "•", "→", "©®™", "?!", "!!!",
    "--", "''", "\"\""};
static const char *EMOJI[] = {
    "😀", "😂", "👍", "👍🏽", "👋🏿", "❤\uFE0F", "✨", "🔥", "🎉", "☃", "★", "🤖",
    "👨\u200D👩\u200D👧\u200D👦", "🏳\uFE0F\u200D🌈", "👩🏾\u200D💻", "🧑\u200D🚀", /* ZWJ sequences */
    "🇫🇷", "🇯🇵", "1\uFE0F\u20E3"};                                      /* flags, keycap */
static const char *SCRIPTS[] = {
    "日本語のテキストです。", "我们今天去公园玩。", "한국어 문장", "ｶﾀｶﾅ", "「引用」",
    "مرحبا بالعالم", "שלום עולם", "ע\u05B4ב\u05B0ר\u05B4ית" /* with niqqud */,
    "café", "cafe\u0301", "mañana", "man\u0303ana", "Ångström", "A\u030Angstro\u0308m", /* NFC/D */
    "Tiếng Việt", "नमस\u094Dत\u0947", "สว\u0E31สด\u0E35", "Ελληνικά", "Привет, мир!", "ﬁ",
    "Ｆｕｌｌ"};
static const char *SPACES[] = {
    " ", "  ", "   ", "        ", "\n", "\n\n", "\n\n\n", "\r\n", "\t", "\t\t", " \n ",
    "  \n  \n", "\n\t", " \t ", "\x0B", "\x0C",
    "\u00A0", "\u3000", "\u2003", "\u2028", "\u2029", "\u200B"};
static const char *SPECIALS[] = {
    "<|endoftext|>", "<s>", "</s>", "<unk>", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>",
    "<|start_header_id|>", "<|reserved_special_token_5|>", "<|endoftext|", "<s", "</ s>",
    "<|begin_of_text>", "<<s>>", "<s><s>", "</s></s>", "<|endoftext|><|endoftext|>"};
static const char *CONTROLS[] = {"\x01", "\x07", "\x1B[31m", "\x7F", "\xC2\x80", "\xC2\x9F",
                                 "\u00AD", "\uFFFD", "\u200D", "\u2060", "\u200F", "\\",
                                 "\\n"};
/* Blocks of old, stable code points (Unicode <= 6), for random characters. */
static const uint32_t BLOCKS[][2] = {
    {0xA1, 0xFF}, {0x100, 0x17F}, {0x391, 0x3C9}, {0x410, 0x44F}, {0x5D0, 0x5EA}, {0x627, 0x64A},
    {0x905, 0x939}, {0x3041, 0x3096}, {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3}, {0x1F600, 0x1F64F},
    {0x2200, 0x22FF}, {0x2190, 0x21FF}, {0x2500, 0x257F}, {0x20000, 0x2A6D6}, {0x300, 0x36F}};

/* clang-format on */

static void gen_prose(AvzRng *r, Buf *b) {
    int n = 3 + rnd(r, 12);
    for (int i = 0; i < n; i++) {
        const char *w = PICK(r, WORDS);
        if (i) put_str(b, rnd(r, 8) ? " " : ", ");
        if (rnd(r, 6) == 0 && w[0] >= 'a' && w[0] <= 'z') {
            char c[2] = {(char)(w[0] - 32), 0};
            put_str(b, c);
            put_str(b, w + 1);
        } else {
            put_str(b, w);
        }
        if (rnd(r, 10) == 0)
            put_str(b, PICK(r, ((const char *[]){"'s", "'ll", "'S", "'LL", "'re", "'d"})));
    }
    put_str(b, PICK(r, ((const char *[]){".", "!", "?", "", ":", ";", "...", "\""})));
}

static void gen_code(AvzRng *r, Buf *b) {
    int lines = 1 + rnd(r, 4);
    for (int i = 0; i < lines; i++) {
        int depth = rnd(r, 4), tabs = rnd(r, 3) == 0;
        for (int d = 0; d < depth; d++) put_str(b, tabs ? "\t" : "    ");
        put_str(b, PICK(r, CODE));
        if (i + 1 < lines) put_str(b, "\n");
    }
}

static void gen_number(AvzRng *r, Buf *b) {
    if (rnd(r, 2)) {
        put_str(b, PICK(r, NUMBERS));
        return;
    }
    int n = 1 + rnd(r, rnd(r, 4) ? 12 : 60);
    for (int i = 0; i < n; i++) put_cp(b, (uint32_t)('0' + rnd(r, 10)));
}

static void gen_punct(AvzRng *r, Buf *b) {
    static const char ascii[] = "!?.,;:-_=+*/\\|@#$%^&~`'\"()[]{}<>";
    if (rnd(r, 2)) {
        put_str(b, PICK(r, PUNCT));
        return;
    }
    int n = 1 + rnd(r, 12);
    for (int i = 0; i < n; i++) put_bytes(b, &ascii[rnd(r, (int)sizeof ascii - 1)], 1);
}

static void gen_emoji(AvzRng *r, Buf *b) {
    int n = 1 + rnd(r, 4);
    for (int i = 0; i < n; i++) {
        put_str(b, PICK(r, EMOJI));
        if (rnd(r, 3) == 0) put_str(b, " ");
    }
}

static void gen_random_chars(AvzRng *r, Buf *b) {
    int n = 1 + rnd(r, 20);
    const uint32_t *blk = BLOCKS[rnd(r, (int)(sizeof BLOCKS / sizeof *BLOCKS))];
    for (int i = 0; i < n; i++) {
        if (rnd(r, 5) == 0) blk = BLOCKS[rnd(r, (int)(sizeof BLOCKS / sizeof *BLOCKS))];
        put_cp(b, blk[0] + (uint32_t)rnd(r, (int)(blk[1] - blk[0] + 1)));
    }
}

/* Zalgo: letters with a pile of combining marks. */
static void gen_combining(AvzRng *r, Buf *b) {
    int n = 1 + rnd(r, 8);
    for (int i = 0; i < n; i++) {
        put_cp(b, (uint32_t)('a' + rnd(r, 26)));
        for (int k = rnd(r, 5); k > 0; k--) put_cp(b, 0x300 + (uint32_t)rnd(r, 0x70));
    }
}

static void gen_long(AvzRng *r, Buf *b) {
    static const char *units[] = {"a", "ab", "abc", "ha", "_", "=-", "9", "😀", "日本", "x ", "  ",
                                  "\n", "д"};
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int n = 50 + rnd(r, rnd(r, 4) ? 300 : 3000);
    if (rnd(r, 3) == 0) {
        for (int i = 0; i < n; i++) put_bytes(b, &b64[rnd(r, 64)], 1);
    } else if (rnd(r, 4) == 0) {
        put_str(b, "https://example.com/path/to/some/resource?query=value&other=123#frag");
    } else {
        const char *u = PICK(r, units);
        for (int i = 0; i < n; i++) put_str(b, u);
    }
}

static void gen_fragment(AvzRng *r, Buf *b) {
    switch (rnd(r, 20)) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4: gen_prose(r, b); break;
    case 5:
    case 6: gen_code(r, b); break;
    case 7:
    case 8: gen_number(r, b); break;
    case 9: gen_punct(r, b); break;
    case 10: gen_emoji(r, b); break;
    case 11:
    case 12: put_str(b, PICK(r, SCRIPTS)); break;
    case 13: gen_random_chars(r, b); break;
    case 14: gen_combining(r, b); break;
    case 15: put_str(b, PICK(r, SPACES)); break;
    case 16: put_str(b, PICK(r, SPECIALS)); break;
    case 17: put_str(b, PICK(r, CONTROLS)); break;
    case 18:
        if (rnd(r, 3) == 0)
            gen_long(r, b);
        else
            gen_prose(r, b);
        break;
    default:
        gen_emoji(r, b);
        gen_prose(r, b);
        break;
    }
}

/* One line: a few fragments, joined by spaces, newlines or nothing, sometimes with
 * leading or trailing whitespace. */
static void gen_line(AvzRng *r, Buf *b) {
    static const char *joins[] = {"", " ", " ", " ", "  ", "\n", "\n\n", "\t", ". ", ", "};
    b->n = 0;
    put_str(b, "");
    if (rnd(r, 8) == 0) put_str(b, PICK(r, SPACES));
    int n = 1 + rnd(r, 5);
    for (int i = 0; i < n; i++) {
        if (i) put_str(b, PICK(r, joins));
        gen_fragment(r, b);
    }
    if (rnd(r, 8) == 0) put_str(b, PICK(r, SPACES));
}

/* The same, then broken: stray bytes, cut sequences, overlongs, surrogates, NUL. */
static void gen_bad_line(AvzRng *r, Buf *b) {
    static const char *bad[] = {
        "\xFF",         "\x80",     "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
        "\xF0\x9F\x98", "\xE2\x82", "\xC3",     "\xFE\xFE",     "\xF8\x88\x80\x80\x80"};
    gen_line(r, b);
    for (int k = 1 + rnd(r, 4); k > 0; k--) {
        int at = b->n ? rnd(r, b->n + 1) : 0;
        const char *ins = rnd(r, 8) ? PICK(r, bad) : "\0";
        int m = *ins ? (int)strlen(ins) : 1;
        Buf t = {0};
        put_bytes(&t, b->s, at);
        put_bytes(&t, ins, m);
        put_bytes(&t, b->s + at, b->n - at);
        free(b->s);
        *b = t;
    }
}

/* The characters on which the JavaScript references are known to differ from HF's
 * Rust library (Oniguruma): U+0085 and U+FEFF in GPT-2's ByteLevel regex (JS's \s
 * misses the first and adds the second), U+180E (checked alike), and "'ſ" (Oniguruma's
 * (?i:'s) folds ſ to s; the JS port folds ASCII only). Lines with them are compared
 * with the Rust library only, when it is installed. */
static int js_divergent(const char *s, int n) {
    PretokStr p;
    pretok_str_init(&p);
    pretok_from_utf8(&p, s, n);
    int bad = 0;
    for (int i = 0; i < p.n && !bad; i++) {
        uint32_t cp;
        int k = pretok_utf8_decode(p.s + i, p.n - i, &cp);
        bad = cp == 0x85 || cp == 0xFEFF || cp == 0x180E ||
              (cp == '\'' && !strncmp(p.s + i + 1, "ſ", 2));
        i += k - 1;
    }
    pretok_str_free(&p);
    return bad;
}

typedef struct {
    int n, n_probe, n_bad_utf8;
    char **s;    /* (n) raw bytes, NUL-terminated for printing */
    int *len;    /* (n) */
    char *hex;   /* (n) 1: not valid UTF-8, sent to node as {"hex": ...} */
    char *probe; /* (n) 1: compared with the Rust library only */
    char *eot;   /* (n) 1: contains <|endoftext|> (gpt-3-encoder has no special tokens) */
} Corpus;

/* n_lines ordinary lines, then a tenth as many broken ones, then probes. */
static void corpus_make(Corpus *c, uint64_t seed, int n_lines) {
    /* U+0085 (only as bytes: C11 has no \u escape below U+00A0), U+FEFF, U+180E, 'ſ */
    static const char *probes[] = {"\xC2\x85", " \xC2\x85", "\uFEFF", "\uFEFF\uFEFF", "\u180E",
                                   "'ſ", "'ſa"};
    AvzRng r;
    avz_rng_init(&r, seed);
    int n_bad = n_lines / 10, n_probes = n_lines / 40 + 5, total = n_lines + n_bad + n_probes;
    memset(c, 0, sizeof *c);
    c->s = calloc((size_t)total, sizeof *c->s);
    c->len = calloc((size_t)total, sizeof *c->len);
    c->hex = calloc((size_t)total, 1), c->probe = calloc((size_t)total, 1);
    c->eot = calloc((size_t)total, 1);
    Buf b = {0};
    for (int i = 0; i < total; i++) {
        if (i < n_lines) {
            gen_line(&r, &b);
        } else if (i < n_lines + n_bad) {
            gen_bad_line(&r, &b);
        } else { /* a probe: one of the divergent characters inside a line */
            gen_line(&r, &b);
            Buf t = {0};
            int at = rnd(&r, 2) ? 0 : b.n;
            while (at > 0 && at < b.n && ((unsigned char)b.s[at] & 0xC0) == 0x80) at++;
            put_bytes(&t, b.s, at);
            put_str(&t, PICK(&r, probes));
            put_bytes(&t, b.s + at, b.n - at);
            free(b.s);
            b = t;
        }
        PretokStr p;
        pretok_str_init(&p);
        c->hex[i] = pretok_from_utf8(&p, b.s, b.n) > 0 || memchr(b.s, 0, (size_t)b.n) != NULL;
        c->eot[i] = strstr(p.s ? p.s : "", "<|endoftext|>") != NULL;
        pretok_str_free(&p);
        c->probe[i] = js_divergent(b.s, b.n);
        c->n_probe += c->probe[i];
        c->n_bad_utf8 += c->hex[i];
        c->s[i] = malloc((size_t)b.n + 1);
        memcpy(c->s[i], b.s, (size_t)b.n + 1);
        c->len[i] = b.n;
    }
    c->n = total;
    free(b.s);
}

static void corpus_free(Corpus *c) {
    for (int i = 0; i < c->n; i++) free(c->s[i]);
    free(c->s), free(c->len), free(c->hex), free(c->probe), free(c->eot);
}

static void corpus_write(const Corpus *c, const char *path) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < c->n; i++) {
        if (!c->hex[i]) {
            cJSON_AddItemToArray(arr, cJSON_CreateString(c->s[i]));
            continue;
        }
        char *h = malloc((size_t)c->len[i] * 2 + 1);
        for (int k = 0; k < c->len[i]; k++) sprintf(h + 2 * k, "%02x", (unsigned char)c->s[i][k]);
        h[2 * c->len[i]] = '\0';
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "hex", h);
        cJSON_AddItemToArray(arr, o);
        free(h);
    }
    char *text = cJSON_PrintUnformatted(arr);
    FILE *f = fopen(path, "wb");
    cr_assert(f && text);
    fputs(text, f);
    fclose(f);
    free(text);
    cJSON_Delete(arr);
}

/* Runs the node reference on the corpus; returns its parsed output. */
static cJSON *run_reference(const char *kind, const Corpus *c) {
    char in[128], out[128], errf[128], cmd[1024], err[AVZ_ERR_LEN];
    cr_assert(
        system("node --version >/dev/null 2>&1") == 0,
        "node is not installed: run `make deps` (it installs nodejs, npm and the references)");
    snprintf(in, sizeof in, "%s/in.json", tmpdir);
    snprintf(out, sizeof out, "%s/out.json", tmpdir);
    snprintf(errf, sizeof errf, "%s/node.err", tmpdir);
    corpus_write(c, in);
    double t0 = avz_now();
    snprintf(cmd, sizeof cmd, "node tests/ref/tokenize_ref.mjs '%s' '%s' '%s' 2>'%s'", kind, in,
             out, errf);
    int rc = system(cmd);
    if (rc != 0) {
        size_t n;
        char *msg = tokjson_read_file(errf, &n, err);
        cr_assert_fail("%s failed (%d): %s", cmd, rc, msg ? msg : err);
    }
    size_t n;
    char *text = tokjson_read_file(out, &n, err);
    cr_assert(text, "%s", err);
    cJSON *root = cJSON_Parse(text);
    free(text);
    cr_assert(cJSON_IsObject(root), "%s: not a JSON object", out);
    fprintf(stderr, "[bpe] %s: node reference on %d lines took %.1f s\n", kind, c->n,
            avz_now() - t0);
    return root;
}

/* A line for a message: printable ASCII as is, the rest escaped, cut at 200 bytes. */
static void print_ids(const char *what, const int *ids, int n) {
    fprintf(stderr, "    %s (%d):", what, n);
    for (int i = 0; i < n && i < 60; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, n > 60 ? " ...\n" : "\n");
}

/* Spans lie inside the text, in order, and cover all of it without gaps (overlaps
 * only where one U+FFFD replaced several bytes). */
static void check_spans(const BpeTokens *t, const char *s, int len, int valid) {
    int prev_end = 0;
    for (int i = 0; i < t->n; i++) {
        int a = t->byte_start[i], e = a + t->byte_len[i];
        cr_assert(a >= 0 && e <= len && t->byte_len[i] >= 0, "span %d [%d, %d) of %d", i, a, e,
                  len);
        if (valid)
            cr_assert(a == prev_end, "gap or overlap at token %d in '%s'", i, escaped(s, len));
        else
            cr_assert(a <= prev_end && e >= prev_end, "span %d out of order in '%s'", i,
                      escaped(s, len));
        prev_end = e;
    }
    if (t->n)
        cr_assert_eq(prev_end, len, "'%s': spans end at %d of %d", escaped(s, len), prev_end, len);
}

/* Compares C's ids with one engine's; returns the number of lines that differ (and
 * prints the first few). */
static int compare(const Bpe *b, const Corpus *c, const cJSON *ref, const char *engine,
                   int skip_probe, int skip_eot, int *compared) {
    const cJSON *lines = cJSON_GetObjectItemCaseSensitive(ref, engine);
    cr_assert(cJSON_GetArraySize(lines) == c->n, "%s: %d lines, want %d", engine,
              cJSON_GetArraySize(lines), c->n);
    int special = strstr(engine, "+special") != NULL, bad = 0;
    *compared = 0;
    const cJSON *line = lines->child;
    for (int i = 0; i < c->n; i++, line = line->next) {
        if ((skip_probe && c->probe[i]) || (skip_eot && c->eot[i])) continue;
        char err[AVZ_ERR_LEN];
        BpeTokens t = {0};
        cr_assert(bpe_encode(b, c->s[i], (size_t)c->len[i], special, &t, err) == AVZ_OK, "%s", err);
        if (!special) check_spans(&t, c->s[i], c->len[i], !c->hex[i]);
        int n = cJSON_GetArraySize(line), first = -1;
        int *want = malloc(sizeof(int) * (size_t)(n + 1));
        const cJSON *id = line->child;
        for (int k = 0; k < n; k++, id = id->next) want[k] = id->valueint;
        for (int k = 0; k < n || k < t.n; k++)
            if (k >= n || k >= t.n || want[k] != t.ids[k]) {
                first = k;
                break;
            }
        if (first >= 0 && bad++ < 5) {
            fprintf(stderr, "[bpe] MISMATCH with %s, line %d: '%s'\n", engine, i,
                    escaped(c->s[i], c->len[i]));
            print_ids("ours", t.ids, t.n);
            print_ids(engine, want, n);
            fprintf(stderr, "    first difference at token %d\n", first);
        }
        (*compared)++;
        free(want);
        bpe_tokens_free(&t);
    }
    return bad;
}

/* Lines on which two engines give different ids. */
static int engines_disagree(const Corpus *c, const cJSON *ref, const char *e1, const char *e2,
                            int only_probe, int skip_eot) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(ref, e1)->child;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(ref, e2)->child;
    int n = 0;
    for (int i = 0; i < c->n; i++, a = a->next, b = b->next) {
        if ((only_probe && !c->probe[i]) || (skip_eot && c->eot[i])) continue;
        char *sa = cJSON_PrintUnformatted(a), *sb = cJSON_PrintUnformatted(b);
        n += strcmp(sa, sb) != 0;
        free(sa), free(sb);
    }
    return n;
}

/* Every engine of the reference output against C; asserts zero mismatches. */
static void compare_all(const char *kind, const Bpe *b, const Corpus *c, const cJSON *ref) {
    static const char *engines[] = {"hf", "hf+special", "gpt-3-encoder", "rust", "rust+special"};
    int total_bad = 0;
    for (int k = 0; k < 5; k++) {
        if (!cJSON_GetObjectItemCaseSensitive(ref, engines[k])) continue;
        int rust = k >= 3, g3 = k == 2, n;
        double t0 = avz_now();
        int bad = compare(b, c, ref, engines[k], !rust, g3, &n);
        fprintf(stderr, "[bpe] %s vs %s: %d lines compared, %d mismatches (%.2f s in C)\n", kind,
                engines[k], n, bad, avz_now() - t0);
        total_bad += bad;
    }
    if (cJSON_GetObjectItemCaseSensitive(ref, "rust"))
        fprintf(stderr,
                "[bpe] %s: on the %d probe lines, @huggingface/tokenizers differs from "
                "the Rust library on %d\n",
                kind, c->n_probe, engines_disagree(c, ref, "hf", "rust", 1, 0));
    else
        fprintf(stderr,
                "[bpe] %s: the Rust library (npm 'tokenizers') is not installed: %d probe "
                "lines not compared\n",
                kind, c->n_probe);
    if (cJSON_GetObjectItemCaseSensitive(ref, "gpt-3-encoder"))
        fprintf(stderr,
                "[bpe] gpt2: gpt-3-encoder and @huggingface/tokenizers differ on %d lines "
                "(<|endoftext|> and probe lines left out)\n",
                engines_disagree(c, ref, "hf", "gpt-3-encoder", 0, 1) -
                    engines_disagree(c, ref, "hf", "gpt-3-encoder", 1, 1));
    cr_assert_eq(total_bad, 0, "%s: %d lines differ from the references (printed above)", kind,
                 total_bad);
}

static void reference_test(const char *kind) {
    Corpus c;
    corpus_make(&c, 20240601, 3000);
    fprintf(stderr, "[bpe] %s: %d generated lines (%d not valid UTF-8, %d probes)\n", kind, c.n,
            c.n_bad_utf8, c.n_probe);
    cr_assert(c.n - c.n_probe >= 3000);
    Bpe *b = load(kind);
    cJSON *ref = run_reference(kind, &c);
    compare_all(kind, b, &c, ref);
    cJSON_Delete(ref);
    bpe_free(b);
    corpus_free(&c);
}

Test(bpe_ref, gpt2, .init = make_tmpdir, .fini = rm_tmpdir, .timeout = 120) {
    reference_test("gpt2");
}
Test(bpe_ref, llama2, .init = make_tmpdir, .fini = rm_tmpdir, .timeout = 120) {
    reference_test("llama2");
}
Test(bpe_ref, llama3, .init = make_tmpdir, .fini = rm_tmpdir, .timeout = 120) {
    reference_test("llama3");
}

/* Meta's later Llama 3 tokenizer.json adds <|begin_of_text|> through a Sequence of
 * ByteLevel and TemplateProcessing: the same file with that post-processor. */
Test(bpe_ref, llama3_template_bos, .init = make_tmpdir, .fini = rm_tmpdir, .timeout = 120) {
    static const char post[] =
        "{\"type\": \"Sequence\", \"processors\": [{\"type\": \"ByteLevel\", \"add_prefix_space\": "
        "true, \"trim_offsets\": false, \"use_regex\": true}, {\"type\": \"TemplateProcessing\", "
        "\"single\": [{\"SpecialToken\": {\"id\": \"<|begin_of_text|>\", \"type_id\": 0}}, "
        "{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], \"pair\": [], \"special_tokens\": "
        "{\"<|begin_of_text|>\": {\"id\": \"<|begin_of_text|>\", \"ids\": [128000], \"tokens\": "
        "[\"<|begin_of_text|>\"]}}}]}";
    char err[AVZ_ERR_LEN], path[128], kind[160];
    size_t n;
    char *text = tokjson_read_file(npm_file(LLAMA3_JSON), &n, err);
    cr_assert(text, "%s", err);
    cJSON *root = cJSON_ParseWithLength(text, n);
    free(text);
    cJSON_ReplaceItemInObjectCaseSensitive(root, "post_processor", cJSON_Parse(post));
    text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    snprintf(path, sizeof path, "%s/tokenizer.json", tmpdir);
    write_tmp("tokenizer.json", text);
    free(text);
    Bpe *b;
    cr_assert(bpe_load_hf(&b, path, err) == AVZ_OK, "%s", err);
    EXPECT(b, "Hello world", 1, 128000, 9906, 1917);
    Corpus c;
    corpus_make(&c, 7, 1000); /* only the post-processor differs from the llama3 test */
    snprintf(kind, sizeof kind, "file:%s", path);
    cJSON *ref = run_reference(kind, &c);
    compare_all("llama3 (TemplateProcessing)", b, &c, ref);
    cJSON_Delete(ref);
    corpus_free(&c);
    bpe_free(b);
}

/* GPT-2 as a tokenizer.json (merges written as ["a", "b"] pairs) gives the same ids as
 * vocab.json + merges.txt. */
Test(bpe, gpt2_tokenizer_json_equals_gpt2_files, .init = make_tmpdir, .fini = rm_tmpdir,
     .timeout = 60) {
    char err[AVZ_ERR_LEN], *line;
    size_t n;
    char *vocab = tokjson_read_file(npm_file(GPT2_VOCAB), &n, err);
    cr_assert(vocab, "%s", err);
    char *merges = tokjson_read_file(npm_file(GPT2_MERGES), &n, err);
    cr_assert(merges, "%s", err);
    cJSON *m = cJSON_CreateObject(), *pairs = cJSON_CreateArray(), *root = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "type", "BPE");
    cJSON_AddItemToObject(m, "vocab", cJSON_Parse(vocab));
    for (char *save = NULL, *p = strtok_r(merges, "\n", &save); p;
         p = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(p, "#version", 8) || !(line = strchr(p, ' '))) continue;
        *line = '\0';
        const char *ab[2] = {p, line + 1};
        cJSON_AddItemToArray(pairs, cJSON_CreateStringArray(ab, 2));
    }
    cJSON_AddItemToObject(m, "merges", pairs);
    cJSON_AddItemToObject(root, "model", m);
    cJSON_AddItemToObject(root, "pre_tokenizer",
                          cJSON_Parse("{\"type\": \"ByteLevel\", "
                                      "\"add_prefix_space\": false, \"use_regex\": true}"));
    cJSON_AddItemToObject(root, "added_tokens",
                          cJSON_Parse("[{\"id\": 50256, \"content\": "
                                      "\"<|endoftext|>\", \"special\": true}]"));
    char *json = cJSON_PrintUnformatted(root);
    Bpe *h, *g = load("gpt2");
    cr_assert(bpe_load_hf_mem(&h, json, strlen(json), "gpt2.json", err) == AVZ_OK, "%s", err);
    Corpus c;
    corpus_make(&c, 11, 1000);
    for (int i = 0; i < c.n; i++) {
        BpeTokens a = {0}, b = {0};
        cr_assert(!bpe_encode(g, c.s[i], (size_t)c.len[i], 1, &a, err) &&
                  !bpe_encode(h, c.s[i], (size_t)c.len[i], 1, &b, err));
        cr_assert(a.n == b.n && !memcmp(a.ids, b.ids, sizeof(int) * (size_t)a.n), "line %d: '%s'",
                  i, escaped(c.s[i], c.len[i]));
        bpe_tokens_free(&a), bpe_tokens_free(&b);
    }
    corpus_free(&c);
    bpe_free(g), bpe_free(h);
    free(json), free(vocab), free(merges);
    cJSON_Delete(root);
}
