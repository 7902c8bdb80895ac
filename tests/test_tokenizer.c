/* test_tokenizer.c: the word tokenizer and vocab.json.
 *
 * Sentences with known tokens, unknown words, hostile bytes (invalid UTF-8,
 * control characters, a seeded fuzz of random byte strings checked against the
 * tokenizer's invariants), the length limit, broken vocab files, and a
 * save/load round trip including words that need JSON escaping. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tokenizer.h"

#define assert_has(msg, word) \
    cr_assert(strstr((msg), (word)) != NULL, "message \"%s\" lacks \"%s\"", (msg), (word))

#define FFFD "\xEF\xBF\xBD"

static const char *const WORDS[] = {"<bos>", "<unk>", "marie", "curie", "said", ",", "she",
                                    "was", "tired", ".", "élan", "café", "'"};
#define N_WORDS ((int)(sizeof WORDS / sizeof WORDS[0]))

static Vocab make_vocab(void) {
    Vocab v;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(vocab_from_words(&v, WORDS, N_WORDS, err), AVZ_OK, "%s", err);
    return v;
}

/* Checks that t holds exactly the texts want[0..n-1] (after <bos>). */
static void expect_texts(const Tokens *t, const char *const *want, int n) {
    cr_assert_eq(t->n, n + 1, "got %d tokens, want %d", t->n, n + 1);
    cr_assert_str_eq(t->text[0], "<bos>");
    for (int i = 0; i < n; i++)
        cr_assert_str_eq(t->text[i + 1], want[i], "token %d", i + 1);
}

Test(tokenizer, sentence_with_punctuation) {
    Vocab v = make_vocab();
    const char *text = "Marie Curie said, she was tired.";
    Tokens t;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(tokenize(&v, text, 64, &t, err), AVZ_OK, "%s", err);
    const char *want[] = {"marie", "curie", "said", ",", "she", "was", "tired", "."};
    expect_texts(&t, want, 8);
    const int ids[] = {0, 2, 3, 4, 5, 6, 7, 8, 9};
    const int starts[] = {-1, 0, 6, 12, 16, 18, 22, 26, 31};
    const int lens[] = {0, 5, 5, 4, 1, 3, 3, 5, 1};
    for (int i = 0; i < t.n; i++) {
        cr_assert_eq(t.ids[i], ids[i], "id of token %d", i);
        cr_assert_eq(t.byte_start[i], starts[i], "start of token %d", i);
        cr_assert_eq(t.byte_len[i], lens[i], "length of token %d", i);
        cr_assert_eq(t.unknown[i], 0);
    }
    cr_assert_eq(t.n_unknown, 0);
    tokens_free(&t);
    vocab_free(&v);
}

Test(tokenizer, punctuation_is_always_its_own_token) {
    Vocab v = make_vocab();
    Tokens t;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(tokenize(&v, "She's\t(tired)...\n", 64, &t, err), AVZ_OK);
    const char *want[] = {"she", "'", "s", "(", "tired", ")", ".", ".", "."};
    expect_texts(&t, want, 9);
    cr_assert_eq(t.ids[2], 12, "the apostrophe is in the vocabulary");
    cr_assert(t.unknown[3] && t.unknown[4] && t.unknown[6], "s ( ) are not");
    cr_assert_eq(t.n_unknown, 3);
    tokens_free(&t);
    vocab_free(&v);
}

Test(tokenizer, unknown_words_flagged_and_listed) {
    Vocab v = make_vocab();
    Tokens t;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(tokenize(&v, "Marie found Polonium and polonium.", 64, &t, err), AVZ_OK);
    const char *want[] = {"marie", "found", "polonium", "and", "polonium", "."};
    expect_texts(&t, want, 6);
    const int unknown[] = {0, 0, 1, 1, 1, 1, 0};
    for (int i = 0; i < t.n; i++) {
        cr_assert_eq(t.unknown[i], unknown[i], "token %d", i);
        if (unknown[i]) cr_assert_eq(t.ids[i], v.unk_id);
    }
    cr_assert_eq(t.n_unknown, 4);

    char buf[128];
    tokens_unknown_list(&t, buf, sizeof buf);
    cr_assert_str_eq(buf, "found, polonium, and", "each unknown word once, in order");
    tokens_unknown_list(&t, buf, 19); /* room for "found, polonium..." but not ", and" */
    cr_assert_str_eq(buf, "found, polonium...");
    tokens_unknown_list(&t, buf, 18); /* no room for the "..." after polonium: cut back */
    cr_assert_str_eq(buf, "found...");
    tokens_unknown_list(&t, buf, 4);
    cr_assert_str_eq(buf, "...");
    tokens_unknown_list(&t, buf, 1);
    cr_assert_str_eq(buf, "");
    tokens_free(&t);
    vocab_free(&v);
}

Test(tokenizer, non_ascii_kept_ascii_lowercased) {
    Vocab v = make_vocab();
    Tokens t;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(tokenize(&v, "élan CAFÉ café", 64, &t, err), AVZ_OK);
    const char *want[] = {"élan", "cafÉ", "café"};
    expect_texts(&t, want, 3);
    cr_assert_eq(t.unknown[1], 0);
    cr_assert_eq(t.unknown[2], 1, "lowercasing is ASCII only, so CAFÉ is not café");
    cr_assert_eq(t.unknown[3], 0);
    cr_assert_eq(t.byte_len[1], 5, "é is two bytes");
    tokens_free(&t);
    vocab_free(&v);
}

Test(tokenizer, invalid_utf8_becomes_replacement_char) {
    Vocab v = make_vocab();
    Tokens t;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(tokenize(&v, "\xff\xfe abc \xc3", 64, &t, err), AVZ_OK);
    const char *want[] = {FFFD FFFD, "abc", FFFD};
    expect_texts(&t, want, 3);
    cr_assert_eq(t.byte_start[1], 0);
    cr_assert_eq(t.byte_len[1], 2, "byte ranges refer to the original input");
    cr_assert_eq(t.byte_start[3], 7);
    cr_assert_eq(t.byte_len[3], 1);
    tokens_free(&t);

    /* a surrogate (ED A0 80), an overlong '/' (C0 AF), a cut-off emoji
     * (F0 9F 98 then a space), and a valid emoji: one U+FFFD per maximal bad part */
    cr_assert_eq(tokenize(&v, "x\xed\xa0\x80y \xc0\xaf \xf0\x9f\x98 \xf0\x9f\x98\x80", 64, &t,
                          err), AVZ_OK);
    const char *want2[] = {"x" FFFD FFFD FFFD "y", FFFD FFFD, FFFD, "\xf0\x9f\x98\x80"};
    expect_texts(&t, want2, 4);
    tokens_free(&t);
    vocab_free(&v);
}

Test(tokenizer, empty_and_blank_text_is_just_bos) {
    Vocab v = make_vocab();
    const char *texts[] = {"", "   \t\n\r ", "\x01\x7f"};
    for (int k = 0; k < 3; k++) {
        Tokens t;
        char err[AVZ_ERR_LEN];
        cr_assert_eq(tokenize(&v, texts[k], 1, &t, err), AVZ_OK, "%s", err);
        cr_assert_eq(t.n, 1);
        cr_assert_eq(t.ids[0], v.bos_id);
        cr_assert_eq(t.byte_start[0], -1);
        cr_assert_eq(t.byte_len[0], 0);
        cr_assert_eq(t.n_unknown, 0);
        tokens_free(&t);
    }
    vocab_free(&v);
}

Test(tokenizer, too_long_text) {
    Vocab v = make_vocab();
    Tokens t;
    char err[AVZ_ERR_LEN];
    const char *text = "she was tired, marie said.";  /* 7 tokens + <bos> */
    cr_assert_eq(tokenize(&v, text, 5, &t, err), AVZ_ERR_INPUT);
    assert_has(err, "text is 8 tokens long; this model accepts at most 5");
    cr_assert_eq(t.n, 0, "nothing to free after a refusal");
    cr_assert_null(t.ids);
    tokens_free(&t); /* harmless on the empty result */
    cr_assert_eq(tokenize(&v, text, 8, &t, err), AVZ_OK, "exactly the limit is fine");
    cr_assert_eq(t.n, 8);
    tokens_free(&t);
    vocab_free(&v);
}

/* An independent UTF-8 check for the fuzz test: decodes code points and rejects
 * overlong forms, surrogates and values above U+10FFFF. */
static int valid_utf8(const unsigned char *s) {
    while (*s) {
        unsigned c = *s, cp, n;
        if (c < 0x80) { s++; continue; }
        if ((c & 0xe0) == 0xc0) n = 1, cp = c & 0x1f;
        else if ((c & 0xf0) == 0xe0) n = 2, cp = c & 0x0f;
        else if ((c & 0xf8) == 0xf0) n = 3, cp = c & 0x07;
        else return 0;
        for (unsigned k = 1; k <= n; k++) {
            if ((s[k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[k] & 0x3f);
        }
        static const unsigned min[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
        s += n + 1;
    }
    return 1;
}

Test(tokenizer, fuzz_random_bytes_keep_invariants) {
    Vocab v = make_vocab();
    AvzRng rng;
    avz_rng_init(&rng, 2024);
    /* bytes biased towards the interesting ones: spaces, punctuation, UTF-8 leads */
    const unsigned char pool[] = {' ', '\t', '.', ',', '\'', 'A', 'z', 'e', 0x80, 0xbf, 0xc2,
                                  0xc3, 0xa9, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xff, 0x01};
    char text[64];
    for (int trial = 0; trial < 3000; trial++) {
        int len = (int)(avz_rng_u64(&rng) % 63);
        for (int i = 0; i < len; i++) {
            uint64_t r = avz_rng_u64(&rng);
            text[i] = (char)(r & 1 ? pool[(r >> 1) % sizeof pool] : 1 + (r >> 8) % 255);
        }
        text[len] = '\0';
        Tokens t;
        char err[AVZ_ERR_LEN];
        cr_assert_eq(tokenize(&v, text, 64, &t, err), AVZ_OK, "%s", err);
        int prev_end = 0, unknown = 0;
        for (int i = 1; i < t.n; i++) {
            cr_assert(t.ids[i] >= 0 && t.ids[i] < v.n);
            cr_assert(t.byte_start[i] >= prev_end && t.byte_len[i] >= 1, "trial %d", trial);
            prev_end = t.byte_start[i] + t.byte_len[i];
            cr_assert(prev_end <= len, "trial %d: token %d ends past the text", trial, i);
            cr_assert(valid_utf8((const unsigned char *)t.text[i]), "trial %d token %d", trial, i);
            cr_assert(strpbrk(t.text[i], " \t\n") == NULL);
            cr_assert(strlen(t.text[i]) <= 3 * (size_t)t.byte_len[i]);
            unknown += t.unknown[i];
        }
        cr_assert_eq(unknown, t.n_unknown);
        tokens_free(&t);
    }
    vocab_free(&v);
}

/* ---- vocabularies ------------------------------------------------------- */

Test(vocab, parse_valid) {
    Vocab v;
    char err[AVZ_ERR_LEN];
    const char *json = "{\"<unk>\": 2, \"cat\": 0, \"<bos>\": 1, \"\\u00e9t\\u00e9\": 3}";
    cr_assert_eq(vocab_parse(&v, json, "m/vocab.json", err), AVZ_OK, "%s", err);
    cr_assert_eq(v.n, 4);
    cr_assert_eq(v.bos_id, 1);
    cr_assert_eq(v.unk_id, 2);
    cr_assert_eq(vocab_lookup(&v, "cat"), 0);
    cr_assert_eq(vocab_lookup(&v, "été"), 3, "JSON escapes decode to UTF-8");
    cr_assert_eq(vocab_lookup(&v, "dog"), -1);
    cr_assert_str_eq(v.words[3], "été");
    vocab_free(&v);
}

Test(vocab, broken_files_named) {
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"<bos>\": 0, \"<unk>\": 1, \"a\": 1}", "duplicate id 1, given to both '<unk>' and 'a'"},
        {"{\"<bos>\": 0, \"a\": 1}", "must contain '<unk>'"},
        {"{\"<unk>\": 0, \"a\": 1}", "must contain '<bos>'"},
        {"{\"<bos>\": 0, \"<unk>\": 1, \"a\": 5}", "missing id 2 (ids must run 0..2"},
        {"{\"<bos>\": 0, \"<unk>\": 1, \"a\": -1}", "missing id 2"},
        {"{\"<bos>\": 0, \"<unk>\": 1, \"a\": 1.5}", "word 'a' must map to an integer id"},
        {"{\"<bos>\": 0, \"<unk>\": 1, \"a\": \"2\"}", "word 'a' must map to an integer id"},
        {"{\"<bos>\": 0, \"<unk>\": 1, \"a\": 2, \"a\": 3}", "word 'a' appears twice (ids 2 and 3)"},
        {"{\"<bos>\": 0, ", "invalid JSON near line 1"},
        {"{\n\"<bos>\": 0,\n\"<unk>\": 1\n} x", "invalid JSON near line 4"},
        {"[\"<bos>\", \"<unk>\"]", "expected an object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Vocab v;
        char err[AVZ_ERR_LEN] = "";
        cr_assert_eq(vocab_parse(&v, cases[i].json, "m/vocab.json", err), AVZ_ERR_INPUT,
                     "accepted %s", cases[i].json);
        assert_has(err, "m/vocab.json: ");
        assert_has(err, cases[i].want);
        cr_assert_null(v.words, "nothing to free after a failure");
    }
}

Test(vocab, from_words_rejects_duplicates) {
    const char *words[] = {"<bos>", "<unk>", "x", "y", "x"};
    Vocab v;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(vocab_from_words(&v, words, 5, err), AVZ_ERR_INPUT);
    assert_has(err, "word 'x' appears twice (ids 2 and 4)");
    cr_assert_eq(vocab_from_words(&v, words + 1, 3, err), AVZ_ERR_INPUT);
    assert_has(err, "<bos>");
}

Test(vocab, many_random_words_all_found) {
    /* 5000 random words: every one maps back to its id, and near misses do not */
    enum { N = 5000 };
    static char store[N][24];
    static const char *words[N];
    AvzRng rng;
    avz_rng_init(&rng, 99);
    words[0] = "<bos>";
    words[1] = "<unk>";
    for (int i = 2; i < N; i++) {
        int len = 3 + (int)(avz_rng_u64(&rng) % 8);
        for (int k = 0; k < len; k++) store[i][k] = (char)('a' + avz_rng_u64(&rng) % 26);
        snprintf(store[i] + len, sizeof store[i] - (size_t)len, "%d", i); /* unique */
        words[i] = store[i];
    }
    Vocab v;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(vocab_from_words(&v, words, N, err), AVZ_OK, "%s", err);
    cr_assert_geq(v.n_slots, 2 * N, "the table must stay at most half full");
    for (int i = 0; i < N; i++) {
        cr_assert_eq(vocab_lookup(&v, words[i]), i, "%s", words[i]);
        char miss[16];
        snprintf(miss, sizeof miss, "%sq", words[i]);
        cr_assert_eq(vocab_lookup(&v, miss), -1, "%s", miss);
    }
    vocab_free(&v);
}

Test(vocab, save_load_round_trip) {
    char dir[] = "/tmp/avz_vocab_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    const char *words[] = {"<bos>", "<unk>", "\"", "\\", "a\nb", "tab\there", "\x01", "café",
                           "日本", ",", "{}", "ordinary"};
    int n = (int)(sizeof words / sizeof words[0]);
    Vocab v, back;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(vocab_from_words(&v, words, n, err), AVZ_OK, "%s", err);
    cr_assert_eq(vocab_save(&v, dir, err), AVZ_OK, "%s", err);
    cr_assert_eq(vocab_load(&back, dir, err), AVZ_OK, "%s", err);
    cr_assert_eq(back.n, n);
    for (int i = 0; i < n; i++) {
        cr_assert_str_eq(back.words[i], words[i], "word %d", i);
        cr_assert_eq(vocab_lookup(&back, words[i]), i);
    }

    /* one entry per line, in id order */
    char path[256];
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    char *text = avz_read_file(path, NULL, NULL);
    cr_assert_not_null(text);
    cr_assert_eq(strncmp(text, "{\n  \"<bos>\": 0,\n  \"<unk>\": 1,\n  \"\\\"\": 2,\n", 41), 0,
                 "file starts:\n%.60s", text);
    assert_has(text, "\n  \"a\\nb\": 4,\n");
    assert_has(text, "\n  \"\\u0001\": 6,\n");
    assert_has(text, "\n  \"ordinary\": 11\n}\n");
    free(text);

    vocab_free(&v);
    vocab_free(&back);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(rmdir(dir), 0, "an atomic save must leave no temp file");
}

Test(vocab, load_missing_names_file) {
    Vocab v;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(vocab_load(&v, "/tmp/avz_no_such_model_56", err), AVZ_ERR_INPUT);
    assert_has(err, "/tmp/avz_no_such_model_56/vocab.json");
}
