/* test_bad_inputs.c: a catalogue of broken model folders and bad requests, each
 * with the message a user gets. Nothing may crash and every message must name
 * what was wrong. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "model.h"
#include "safetensors.h"

/* A valid saved model in a fresh folder. */
static void saved_model(char *dir, size_t len) {
    Model m;
    char err[AVZ_ERR_LEN];
    helper_model(&m, PE_ROPE, 1, 2, 16, 16, 5);
    helper_tmpdir(dir, len);
    cr_assert_eq(model_save(&m, dir, err), AVZ_OK, "%s", err);
    model_free(&m);
}

static void write_text(const char *dir, const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
}

/* Loads dir, expects AVZ_ERR_INPUT and a message holding every given piece. */
static void expect_load_error(const char *dir, const char *a, const char *b) {
    Model m;
    char err[AVZ_ERR_LEN] = "";
    cr_assert_eq(model_load(&m, dir, err), AVZ_ERR_INPUT, "loaded a broken model");
    cr_assert(strstr(err, a) && (!b || strstr(err, b)), "message: %s", err);
}

Test(bad_inputs, folder_that_is_not_a_model) {
    char dir[64];
    helper_tmpdir(dir, sizeof dir);
    expect_load_error(dir, "config.json", NULL);
    expect_load_error("/etc/hostname", "not a folder", NULL);
}

Test(bad_inputs, nan_weights_are_reported) {
    char dir[64], path[128];
    saved_model(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    SafeTensors st;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(safetensors_open(&st, path, err), AVZ_OK);
    const StTensorInfo *t = safetensors_find(&st, "h.0.mlp.c_fc.weight");
    long off = (long)(st.data - st.file) + (long)t->begin + 12;
    safetensors_free(&st);
    FILE *f = fopen(path, "r+b");
    float nan = NAN;
    fseek(f, off, SEEK_SET);
    fwrite(&nan, 4, 1, f);
    fclose(f);
    expect_load_error(dir, "NaN or Inf", "model.safetensors");
}

Test(bad_inputs, config_disagrees_with_tensors) {
    char dir[64];
    saved_model(dir, sizeof dir);
    write_text(dir, "config.json", "{\"n_layer\": 1, \"n_head\": 2, \"n_embd\": 32, "
               "\"n_positions\": 16, \"vocab_size\": 40, \"position_encoding\": \"rope\"}");
    expect_load_error(dir, "wte.weight", "config.json implies");
    write_text(dir, "config.json", "{\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 16, "
               "\"n_positions\": 16, \"vocab_size\": 40, \"position_encoding\": \"rope\"}");
    expect_load_error(dir, "missing tensor 'h.1.", NULL);
    write_text(dir, "config.json", "{\"n_layer\": 1, \"n_head\": 2, \"n_embd\": 16, "
               "\"n_positions\": 16, \"vocab_size\": 41, \"position_encoding\": \"rope\"}");
    expect_load_error(dir, "vocab", "41");
    write_text(dir, "config.json", "{\"n_layer\": 1, \"n_head\": 2, \"n_embd\": 16, "
               "\"n_positions\": 16, \"vocab_size\": 40, \"position_encoding\": \"learned\"}");
    expect_load_error(dir, "wpe.weight", NULL);
}

Test(bad_inputs, truncated_and_empty_files) {
    char dir[64], path[128];
    saved_model(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    struct stat sb;
    stat(path, &sb);
    cr_assert_eq(truncate(path, sb.st_size - 100), 0);
    expect_load_error(dir, "model.safetensors", NULL);
    cr_assert_eq(truncate(path, 0), 0);
    expect_load_error(dir, "model.safetensors", NULL);
    saved_model(dir, sizeof dir);
    write_text(dir, "config.json", "");
    expect_load_error(dir, "config.json", NULL);
    saved_model(dir, sizeof dir);
    write_text(dir, "vocab.json", "{\"<bos>\": 0,");
    expect_load_error(dir, "vocab.json", NULL);
}

/* attnviz's own layout (a position_encoding field) keeps its word tokenizer when GPT-2's
 * merges.txt lies beside it and the config names no tokenizer (FORMAT.md, section 5);
 * a GPT-2 vocab.json read as words is refused naming the field that made it so. */
Test(bad_inputs, own_layout_beside_bpe_files_keeps_the_word_tokenizer) {
    char dir[64], err[AVZ_ERR_LEN];
    saved_model(dir, sizeof dir);
    Model m;
    cr_assert_eq(model_load(&m, dir, err), AVZ_OK, "%s", err);
    int n_words = m.vocab.n;
    model_free(&m);
    write_text(dir, "merges.txt", "#version: 0.2\nw 1\n");
    write_text(dir, "tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, "
               "\"merges\": []}}");
    cr_assert_eq(model_load(&m, dir, err), AVZ_OK, "%s", err);
    cr_expect_str_eq(m.cfg.tokenizer, "word");
    cr_expect_eq(m.vocab.n, n_words, "vocab.json read as the word vocabulary");
    model_free(&m);
    write_text(dir, "vocab.json", "{\"!\": 0, \"w\": 1}");   /* GPT-2's: no <bos> */
    expect_load_error(dir, "vocab.json", "'position_encoding'");
    cr_assert(model_load(&m, dir, err) == AVZ_ERR_INPUT);
    cr_expect(strstr(err, "<bos>") && strstr(err, "tokenizer.json is not read"), "%s", err);
    char path[128];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    unlink(path);
    cr_assert(model_load(&m, dir, err) == AVZ_ERR_INPUT);
    cr_expect(strstr(err, "merges.txt is not read"), "%s", err);
    snprintf(path, sizeof path, "%s/merges.txt", dir);
    unlink(path);   /* without BPE files: the plain message */
    cr_assert(model_load(&m, dir, err) == AVZ_ERR_INPUT);
    cr_expect(strstr(err, "<bos>") && !strstr(err, "position_encoding"), "%s", err);
    helper_rmtree(dir);
}

Test(bad_inputs, texts_past_the_cap_empty_and_unknown) {
    Model m;
    char err[AVZ_ERR_LEN];
    helper_model(&m, PE_ALIBI, 1, 2, 16, 16, 9);
    /* past the cap: AVZ_MAX_T tokens at most, whatever the encoding */
    size_t n = 3 * AVZ_MAX_T;
    char *text = malloc(n + 1);
    for (size_t i = 0; i < n; i += 3) memcpy(text + i, "w1 ", 3);
    text[n] = '\0';
    Tokens t;
    cr_assert_eq(tokenize(&m.vocab, text, config_max_len(&m.cfg), &t, err), AVZ_ERR_INPUT);
    cr_assert(strstr(err, "at most 2048"), "%s", err);
    free(text);
    /* empty: just <bos>, and the model still runs */
    cr_assert_eq(tokenize(&m.vocab, "", config_max_len(&m.cfg), &t, err), AVZ_OK);
    cr_assert_eq(t.n, 1);
    cr_assert_eq(model_forward(&m, t.ids, NULL, 1, t.n, NULL, err), AVZ_OK, "%s", err);
    tokens_free(&t);
    /* only unknown words: every one flagged, the pass still runs */
    cr_assert_eq(tokenize(&m.vocab, "zebra quokka", 100, &t, err), AVZ_OK);
    cr_assert_eq(t.n_unknown, 2);
    cr_assert_eq(model_forward(&m, t.ids, NULL, 1, t.n, NULL, err), AVZ_OK, "%s", err);
    tokens_free(&t);
    model_free(&m);
}
