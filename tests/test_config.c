/* test_config.c: config.json parsing, validation and saving.
 *
 * A valid config with defaults, a real-world GPT-2 config with extra keys, one
 * bad value per field (each message must name the file, the field and the bad
 * value), the cross-field checks, and a save/load round trip of random configs. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gui_helpers.h"   /* write_file */
#include "config.h"

#define PATH "assets/models/x/config.json"

#define assert_has(msg, word) \
    cr_assert(strstr((msg), (word)) != NULL, "message \"%s\" lacks \"%s\"", (msg), (word))

Test(config, minimal_uses_defaults) {
    const char *json = "{\"n_layer\": 2, \"n_head\": 4, \"n_embd\": 48, \"n_positions\": 64,"
                       " \"vocab_size\": 500, \"position_encoding\": \"rope\"}";
    ModelConfig c;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(config_parse(&c, json, PATH, err), AVZ_OK, "%s", err);
    cr_assert_eq(c.n_layer, 2);
    cr_assert_eq(c.n_head, 4);
    cr_assert_eq(c.n_embd, 48);
    cr_assert_eq(c.n_positions, 64);
    cr_assert_eq(c.vocab_size, 500);
    cr_assert_eq(c.pe, PE_ROPE);
    cr_assert_eq(c.layer_norm_epsilon, 1e-5f, "default epsilon");
    cr_assert_eq(c.rope_theta, 10000.0f, "default rope_theta");
    cr_assert_str_eq(c.tokenizer, "word");
    cr_assert_eq(config_max_len(&c), AVZ_MAX_T, "rope may run past its training context");
}

Test(config, gpt2_config_with_extra_keys) {
    /* the shape of Hugging Face's gpt2/config.json, plus position_encoding */
    const char *json =
        "{\n  \"activation_function\": \"gelu_new\",\n  \"architectures\": [\"GPT2LMHeadModel\"],\n"
        "  \"attn_pdrop\": 0.1,\n  \"layer_norm_epsilon\": 1e-05,\n  \"model_type\": \"gpt2\",\n"
        "  \"n_ctx\": 1024,\n  \"n_embd\": 768,\n  \"n_head\": 12,\n  \"n_layer\": 12,\n"
        "  \"n_positions\": 1024,\n  \"task_specific_params\": {\"text-generation\": "
        "{\"do_sample\": true}},\n  \"vocab_size\": 50257,\n"
        "  \"position_encoding\": \"learned\"\n}\n";
    ModelConfig c;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(config_parse(&c, json, PATH, err), AVZ_OK, "%s", err);
    cr_assert_eq(c.n_layer, 12);
    cr_assert_eq(c.n_embd, 768);
    cr_assert_eq(c.vocab_size, 50257);
    cr_assert_eq(c.pe, PE_LEARNED);
    cr_assert_eq(config_max_len(&c), 1024, "a learned table stops at n_positions");
    c.n_positions = 1 << 20;
    cr_assert_eq(config_max_len(&c), AVZ_MAX_T, "and never beyond the global cap");
}

/* A valid base config with one key's value replaced by value (or the key
 * dropped when value is NULL). */
static void with_field(char *out, size_t len, const char *key, const char *value) {
    const char *keys[] = {"n_layer", "n_head", "n_embd", "n_positions", "vocab_size",
                          "layer_norm_epsilon", "position_encoding", "rope_theta", "tokenizer"};
    const char *vals[] = {"3", "4", "64", "128", "1000", "1e-5", "\"alibi\"", "10000", "\"word\""};
    size_t used = (size_t)snprintf(out, len, "{");
    for (int i = 0; i < 9; i++) {
        const char *v = strcmp(keys[i], key) == 0 ? value : vals[i];
        if (!v) continue;
        used += (size_t)snprintf(out + used, len - used, "%s\"%s\": %s", used > 1 ? ", " : "",
                                 keys[i], v);
    }
    snprintf(out + used, len - used, "}");
}

Test(config, each_bad_field_is_named) {
    static const struct {
        const char *key, *value, *want;
    } cases[] = {
        {"n_head", "-3", "field 'n_head' must be a positive integer (got -3)"},
        {"n_layer", "0", "field 'n_layer' must be a positive integer (got 0)"},
        {"n_layer", "4.5", "field 'n_layer' must be a positive integer (got 4.5)"},
        {"n_layer", "65", "field 'n_layer' must be at most 64 (got 65)"},
        {"n_embd", "\"64\"", "field 'n_embd' must be a positive integer (got the string \"64\")"},
        {"n_embd", "16384", "field 'n_embd' must be at most 8192"},
        {"n_positions", NULL, "missing field 'n_positions'"},
        {"n_positions", "2000000", "field 'n_positions' must be at most 1048576"},
        {"vocab_size", "null", "field 'vocab_size' must be a positive integer (got null)"},
        {"vocab_size", "[3]", "field 'vocab_size' must be a positive integer (got an array)"},
        {"layer_norm_epsilon", "0", "field 'layer_norm_epsilon' must be a number > 0"},
        {"layer_norm_epsilon", "1e-60", "field 'layer_norm_epsilon' must be a number > 0"},
        {"rope_theta", "\"big\"", "field 'rope_theta' must be a number > 0"},
        {"rope_theta", "1e50", "field 'rope_theta' must be a number > 0 that fits a float"},
        {"position_encoding", NULL, "missing field 'position_encoding'"},
        {"position_encoding", "2", "field 'position_encoding' must be a string (got 2)"},
        {"tokenizer", "\"bpe\"", "field 'tokenizer' must be \"word\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[512];
        with_field(json, sizeof json, cases[i].key, cases[i].value);
        ModelConfig c;
        memset(&c, 0x5a, sizeof c);
        char err[AVZ_ERR_LEN] = "";
        cr_assert_eq(config_parse(&c, json, PATH, err), AVZ_ERR_INPUT, "accepted %s", json);
        assert_has(err, PATH ": ");
        assert_has(err, cases[i].want);
        cr_assert_eq(c.n_layer, 0x5a5a5a5a, "cfg must be untouched on failure");
    }
}

Test(config, base_of_bad_field_table_is_valid) {
    /* so that each failure above is caused by its one changed field */
    char json[512];
    with_field(json, sizeof json, "none", NULL);
    ModelConfig c;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(config_parse(&c, json, PATH, err), AVZ_OK, "%s", err);
    cr_assert_eq(c.pe, PE_ALIBI);
}

Test(config, n_embd_not_divisible_by_n_head) {
    char json[512];
    with_field(json, sizeof json, "n_embd", "50");
    ModelConfig c;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(config_parse(&c, json, PATH, err), AVZ_ERR_INPUT);
    assert_has(err, "field 'n_embd' (50) must be divisible by 'n_head' (4)");
}

/* The attention kernels keep one row of a head on the stack: heads are limited to
 * AVZ_MAX_HS (256) dimensions, and a bigger one is refused, not overflowed. */
Test(config, heads_larger_than_256_dimensions_are_refused) {
    char json[512];
    with_field(json, sizeof json, "n_embd", "2048");
    ModelConfig c;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(config_parse(&c, json, PATH, err), AVZ_ERR_INPUT);
    assert_has(err, "'n_embd' / 'n_head' = 512");
    with_field(json, sizeof json, "n_embd", "1024");
    cr_assert_eq(config_parse(&c, json, PATH, err), AVZ_OK, "%s", err);
}

Test(config, encodings_that_pair_dimensions_need_even_sizes) {
    const char *rope = "{\"n_layer\": 1, \"n_head\": 4, \"n_embd\": 12, \"n_positions\": 8,"
                       " \"vocab_size\": 9, \"position_encoding\": \"rope\"}";
    const char *sinus = "{\"n_layer\": 1, \"n_head\": 3, \"n_embd\": 9, \"n_positions\": 8,"
                        " \"vocab_size\": 9, \"position_encoding\": \"sinusoidal\"}";
    ModelConfig c;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(config_parse(&c, rope, PATH, err), AVZ_ERR_INPUT);
    assert_has(err, "= 3 must be even for rope");
    cr_assert_eq(config_parse(&c, sinus, PATH, err), AVZ_ERR_INPUT);
    assert_has(err, "field 'n_embd' (9) must be even for sinusoidal");
}

Test(config, unknown_position_encoding) {
    char json[512];
    with_field(json, sizeof json, "position_encoding", "\"xpos\"");
    ModelConfig c;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(config_parse(&c, json, PATH, err), AVZ_ERR_INPUT);
    assert_has(err, "field 'position_encoding' must be one of none, sinusoidal, learned, rope, "
                    "alibi (got \"xpos\")");
}

Test(config, invalid_json_gives_line) {
    const char *json = "{\n  \"n_layer\": 2,\n  \"n_head\": ,\n}";
    ModelConfig c;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(config_parse(&c, json, PATH, err), AVZ_ERR_INPUT);
    assert_has(err, PATH ": invalid JSON near line 3");
    cr_assert_eq(config_parse(&c, "{\"n_layer\": 2}\n\n}", PATH, err), AVZ_ERR_INPUT);
    assert_has(err, "invalid JSON near line 3"); /* text after the object */
    cr_assert_eq(config_parse(&c, "[1, 2]", PATH, err), AVZ_ERR_INPUT);
    assert_has(err, "expected a JSON object");
}

Test(config, pe_names_round_trip) {
    for (int pe = 0; pe < PE_COUNT; pe++)
        cr_assert_eq(pe_from_name(pe_name((PosEncoding)pe)), pe);
    cr_assert_str_eq(pe_name(PE_SINUSOIDAL), "sinusoidal");
    cr_assert_eq(pe_from_name("Rope"), -1, "names are case-sensitive");
    cr_assert_eq(pe_from_name(""), -1);
    cr_assert_eq(pe_from_name(NULL), -1);
}

/* Files in dir other than . and .. */
static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

Test(config, save_load_round_trip_random_configs) {
    char dir[] = "/tmp/avz_cfg_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    AvzRng rng;
    avz_rng_init(&rng, 77);
    for (int trial = 0; trial < 50; trial++) {
        ModelConfig c = {0};
        c.n_layer = 1 + (int)(avz_rng_u64(&rng) % 64);
        c.n_head = 1 + (int)(avz_rng_u64(&rng) % 16);
        c.n_embd = c.n_head * 2 * (1 + (int)(avz_rng_u64(&rng) % 32)); /* even head size */
        c.n_positions = 1 + (int)(avz_rng_u64(&rng) % 4096);
        c.vocab_size = 3 + (int)(avz_rng_u64(&rng) % 60000);
        c.layer_norm_epsilon = 1e-7f + avz_rng_uniform(&rng) * 1e-4f; /* not round decimals */
        c.rope_theta = 100.0f + avz_rng_uniform(&rng) * 1e6f;
        c.pe = (PosEncoding)(avz_rng_u64(&rng) % PE_COUNT);
        snprintf(c.tokenizer, sizeof c.tokenizer, "word");
        char err[AVZ_ERR_LEN];
        cr_assert_eq(config_save(&c, dir, err), AVZ_OK, "%s", err);
        ModelConfig back;
        cr_assert_eq(config_load(&back, dir, err), AVZ_OK, "%s", err);
        cr_assert_eq(back.n_layer, c.n_layer);
        cr_assert_eq(back.n_head, c.n_head);
        cr_assert_eq(back.n_embd, c.n_embd);
        cr_assert_eq(back.n_positions, c.n_positions);
        cr_assert_eq(back.vocab_size, c.vocab_size);
        cr_assert_eq(back.layer_norm_epsilon, c.layer_norm_epsilon, "eps %.9g != %.9g",
                     back.layer_norm_epsilon, c.layer_norm_epsilon);
        cr_assert_eq(back.rope_theta, c.rope_theta, "theta %.9g != %.9g", back.rope_theta,
                     c.rope_theta);
        cr_assert_eq(back.pe, c.pe);
        cr_assert_str_eq(back.tokenizer, "word");
    }
    char path[256];
    snprintf(path, sizeof path, "%s/config.json", dir);
    size_t len;
    char *text = avz_read_file(path, &len, NULL);
    cr_assert_not_null(text);
    assert_has(text, "\"model_type\":\t\"gpt2\"");
    cr_assert_eq(text[len - 1], '\n', "the file ends with a newline");
    free(text);
    cr_assert_eq(count_files(dir), 1, "an atomic save must leave no temp file");

    /* a short epsilon is written short, the way a person would write it */
    ModelConfig c;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(config_load(&c, dir, err), AVZ_OK);
    c.layer_norm_epsilon = 1e-5f;
    cr_assert_eq(config_save(&c, dir, err), AVZ_OK, "%s", err);
    text = avz_read_file(path, &len, NULL);
    assert_has(text, "\"layer_norm_epsilon\":\t1e-05,");
    free(text);

    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(rmdir(dir), 0);
}

Test(config, load_from_missing_folder_names_file) {
    ModelConfig c;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(config_load(&c, "/tmp/avz_no_such_model_55", err), AVZ_ERR_INPUT);
    assert_has(err, "/tmp/avz_no_such_model_55/config.json");
}


#define HF_GPT2_JSON "{\"model_type\": \"gpt2\", \"n_layer\": 2, \"n_head\": 4, \"n_embd\": 32, " \
                     "\"n_positions\": 64, \"vocab_size\": 96}"
#define OWN_JSON "{\"n_layer\": 2, \"n_head\": 4, \"n_embd\": 32, \"n_positions\": 64, " \
                 "\"vocab_size\": 96, \"position_encoding\": \"rope\"}"

/* ModelConfig.tokenizer (what `attnviz model info` names) follows the rule that
 * tokenizer_open_bpe loads by: tokenizer.json wins over vocab.json + merges.txt. And
 * attnviz's own layout keeps the word tokenizer whatever BPE files lie beside it. */
Test(config, the_tokenizer_named_is_the_one_loaded, .timeout = 20) {
    char dir[] = "/tmp/avz-cfg-XXXXXX", err[AVZ_ERR_LEN], path[128];
    cr_assert(mkdtemp(dir));
    ModelConfig c;
    write_file(dir, "config.json", HF_GPT2_JSON);
    cr_assert_eq(config_load(&c, dir, err), AVZ_OK, "%s", err);
    cr_expect_str_eq(c.tokenizer, "none");
    write_file(dir, "vocab.json", "{\"a\": 0, \"b\": 1, \"ab\": 2}");
    write_file(dir, "merges.txt", "a b\n");
    cr_assert_eq(config_load(&c, dir, err), AVZ_OK, "%s", err);
    cr_expect_str_eq(c.tokenizer, "gpt2");
    write_file(dir, "tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, "
             "\"merges\": []}}");
    cr_assert_eq(config_load(&c, dir, err), AVZ_OK, "%s", err);
    cr_expect_str_eq(c.tokenizer, "tokenizer.json", "tokenizer.json is what gets loaded");
    /* attnviz's own config, no 'tokenizer' field, merges.txt and tokenizer.json beside it */
    write_file(dir, "config.json", OWN_JSON);
    cr_assert_eq(config_load(&c, dir, err), AVZ_OK, "%s", err);
    cr_expect_str_eq(c.tokenizer, "word");
    /* a Hugging Face config whose merges.txt is a FIFO: named, never opened */
    write_file(dir, "config.json", HF_GPT2_JSON);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/merges.txt", dir);
    unlink(path);
    cr_assert_eq(mkfifo(path, 0600), 0);
    snprintf(c.tokenizer, sizeof c.tokenizer, "untouched");
    cr_expect_eq(config_load(&c, dir, err), AVZ_ERR_INPUT);
    assert_has(err, "merges.txt");
    assert_has(err, "FIFO");
    cr_expect_str_eq(c.tokenizer, "untouched", "cfg is left as it was on failure");
    unlink(path);
    const char *names[] = {"vocab.json", "config.json"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    cr_assert_eq(rmdir(dir), 0);
}
