/* test_hf_bad.c: broken Hugging Face checkpoint folders, each with the message a user
 * gets (the catalogue of test_bad_inputs.c, for the checkpoint layouts). Each folder
 * starts as a valid tests/ref/hf_fixture.py fixture and is broken in one way; model_load
 * must refuse it with AVZ_ERR_INPUT, never crash or hang, and the message must name the
 * file and the field or tensor. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "helpers.h"
#include "model.h"

#define FIXTURE "/usr/bin/python3 tests/ref/hf_fixture.py"

static void make_fixture(char *dir, size_t len, const char *variant, const char *extra) {
    helper_tmpdir(dir, len);
    char cmd[512];
    snprintf(cmd, sizeof cmd, FIXTURE " make %s --variant %s %s", dir, variant, extra);
    cr_assert_eq(system(cmd), 0, "fixture failed: %s", cmd);
}

/* Runs a Python statement on the folder's config.json as c (a dict), then saves it. */
static void edit_config(const char *dir, const char *stmt) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"import json,sys; p=sys.argv[1]+'/config.json'; "
             "c=json.load(open(p)); %s; json.dump(c,open(p,'w'))\" %s", stmt, dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* The same on the index (as x). */
static void edit_index(const char *dir, const char *stmt) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"import json,sys; "
             "p=sys.argv[1]+'/model.safetensors.index.json'; x=json.load(open(p)); %s; "
             "json.dump(x,open(p,'w'))\" %s", stmt, dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* Loads dir; expects AVZ_ERR_INPUT and a message holding every given piece (NULL ends). */
static void expect_error(const char *dir, const char *a, const char *b, const char *c) {
    Model m;
    char err[AVZ_ERR_LEN] = "";
    alarm(30);   /* a loader that waits on a FIFO would hang the suite: fail instead */
    AvzCode rc = model_load(&m, dir, err);
    alarm(0);
    if (rc == AVZ_OK) model_free(&m);
    cr_assert_eq(rc, AVZ_ERR_INPUT, "loaded a broken folder %s (%s / %s)", dir, a, b ? b : "");
    cr_expect(strstr(err, a) && (!b || strstr(err, b)) && (!c || strstr(err, c)),
              "message lacks \"%s\" / \"%s\" / \"%s\": %s", a, b ? b : "", c ? c : "", err);
    printf("hf bad: %s\n", err);
}

Test(hf_bad, not_a_regular_file_in_place_of_model_safetensors, .timeout = 60) {
    char dir[64], path[128];
    make_fixture(dir, sizeof dir, "gpt2-tiny", "");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(mkfifo(path, 0644), 0);
    expect_error(dir, "model.safetensors", "FIFO", NULL);
    unlink(path);
    cr_assert_eq(mkdir(path, 0755), 0);
    expect_error(dir, "model.safetensors", "a folder", NULL);
    rmdir(path);
    cr_assert_eq(symlink("/dev/null", path), 0);
    expect_error(dir, "model.safetensors", "a device", NULL);
    unlink(path);
    expect_error(dir, "model.safetensors", "No such file", NULL);
    /* and config.json as a FIFO */
    make_fixture(dir, sizeof dir, "llama-tiny", "");
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    cr_assert_eq(mkfifo(path, 0644), 0);
    expect_error(dir, "config.json", "FIFO", NULL);
    helper_rmtree(dir);
    /* and GPT-2's merges.txt as a FIFO or a folder: named, never opened */
    make_fixture(dir, sizeof dir, "gpt2-tiny", "");
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("{\"a\": 0, \"b\": 1, \"ab\": 2}", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/merges.txt", dir);
    cr_assert_eq(mkfifo(path, 0644), 0);
    expect_error(dir, "merges.txt", "FIFO", NULL);
    unlink(path);
    cr_assert_eq(mkdir(path, 0755), 0);
    expect_error(dir, "merges.txt", "a folder", NULL);
    rmdir(path);
    helper_rmtree(dir);
}

Test(hf_bad, sharded_checkpoints, .timeout = 60) {
    char dir[64], path[160];
    /* a shard the index names is missing */
    make_fixture(dir, sizeof dir, "gpt2-sharded", "");
    snprintf(path, sizeof path, "%s/model-00002-of-00003.safetensors", dir);
    cr_assert_eq(unlink(path), 0);
    expect_error(dir, "model.safetensors.index.json", "model-00002-of-00003.safetensors",
                 "cannot be opened");
    /* a tensor of a shard missing from the index */
    make_fixture(dir, sizeof dir, "gpt2-sharded", "");
    edit_index(dir, "del x['weight_map']['h.1.ln_2.bias']");
    expect_error(dir, "h.1.ln_2.bias", "does not list", "index.json");
    /* the index lists a tensor that no shard has */
    make_fixture(dir, sizeof dir, "gpt2-sharded", "");
    edit_index(dir, "x['weight_map']['h.7.ln_2.bias']='model-00001-of-00003.safetensors'");
    expect_error(dir, "model.safetensors.index.json", "h.7.ln_2.bias", "no shard has it");
    /* ... or the wrong shard */
    make_fixture(dir, sizeof dir, "gpt2-sharded", "");
    edit_index(dir, "x['weight_map']['wte.weight']='model-00003-of-00003.safetensors'");
    expect_error(dir, "index.json", "wte.weight", "model-00003-of-00003.safetensors");
    /* a shard name that leaves the folder */
    make_fixture(dir, sizeof dir, "gpt2-sharded", "");
    edit_index(dir, "x['weight_map']['wte.weight']='../model-00001-of-00003.safetensors'");
    expect_error(dir, "index.json", "wte.weight", "plain file name");
    /* no weight_map */
    edit_index(dir, "x.pop('weight_map')");
    expect_error(dir, "model.safetensors.index.json", "weight_map", NULL);
    /* a truncated shard */
    make_fixture(dir, sizeof dir, "llama-gqa", "--shards 3");
    snprintf(path, sizeof path, "%s/model-00003-of-00003.safetensors", dir);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(truncate(path, sb.st_size - 64), 0);
    expect_error(dir, "model-00003-of-00003.safetensors", "outside the data section", NULL);
    helper_rmtree(dir);
}

Test(hf_bad, tensors_that_disagree_with_the_config, .timeout = 60) {
    char dir[64];
    make_fixture(dir, sizeof dir, "llama-gqa", "");
    edit_config(dir, "c['intermediate_size']=100");
    expect_error(dir, "model.safetensors", "model.layers.0.mlp.gate_proj.weight",
                 "has shape [88, 32] but config.json implies [100, 32]");
    make_fixture(dir, sizeof dir, "llama-gqa", "");
    edit_config(dir, "c['num_key_value_heads']=4");
    expect_error(dir, "model.layers.0.self_attn.k_proj.weight", "[16, 32]", "[32, 32]");
    make_fixture(dir, sizeof dir, "llama-tiny", "");
    edit_config(dir, "c['num_hidden_layers']=3");
    expect_error(dir, "missing tensor 'model.layers.2.", NULL, NULL);
    make_fixture(dir, sizeof dir, "llama-tiny", "");
    edit_config(dir, "c['num_hidden_layers']=1");
    expect_error(dir, "unexpected tensor 'model.layers.1.", "1-layer llama", NULL);
    /* biases the config does not announce are not silently ignored */
    make_fixture(dir, sizeof dir, "llama-bias", "");
    edit_config(dir, "c['attention_bias']=False");
    expect_error(dir, "unexpected tensor", "_proj.bias", NULL);
    make_fixture(dir, sizeof dir, "llama-tiny", "");
    edit_config(dir, "c['attention_bias']=True");
    expect_error(dir, "missing tensor 'model.layers.0.self_attn.q_proj.bias'", NULL, NULL);
    /* the LM head */
    make_fixture(dir, sizeof dir, "llama-tied", "");
    edit_config(dir, "c['tie_word_embeddings']=False");
    expect_error(dir, "missing tensor 'lm_head.weight'", "tie_word_embeddings is false", NULL);
    make_fixture(dir, sizeof dir, "gpt2-untied", "");
    edit_config(dir, "c.pop('tie_word_embeddings')");
    expect_error(dir, "lm_head.weight", "differs from 'wte.weight'", "tie_word_embeddings");
    /* a weight of a dtype attnviz does not convert */
    make_fixture(dir, sizeof dir, "gpt2-tiny", "--attn-bias-buffers --buffer-dtype u8");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"import sys; p=sys.argv[1]+'/model.safetensors'; "
             "b=open(p,'rb').read(); b=b.replace(b'{\\\"dtype\\\":\\\"F32\\\",\\\"shape\\\":[32]',"
             "b'{\\\"dtype\\\":\\\"I32\\\",\\\"shape\\\":[32]',1); open(p,'wb').write(b)\" %s", dir);
    cr_assert_eq(system(cmd), 0);
    expect_error(dir, "model.safetensors", "has dtype I32", NULL);
    helper_rmtree(dir);
}

Test(hf_bad, config_fields, .timeout = 60) {
    static const struct {
        const char *variant, *stmt, *want1, *want2;
    } cases[] = {
        {"llama-tiny", "c['rope_scaling']={'type': 'linear', 'factor': 2.0}", "'rope_scaling'",
         "unsupported"},
        {"llama-tiny", "c['rope_scaling']={'rope_type': 'llama3', 'factor': 8.0}", "'rope_scaling'",
         "RoPE scaling"},
        {"llama-tiny", "c['model_type']='phi3'", "'model_type' is \"phi3\"", "gpt2, llama"},
        {"llama-tiny", "c['num_key_value_heads']=3", "'num_key_value_heads' (3) must divide",
         "'num_attention_heads' (4)"},
        {"llama-tiny", "c['head_dim']=512", "'head_dim' = 512", "256"},
        {"llama-tiny", "c['head_dim']=7", "must be even", "'head_dim'"},
        {"llama-tiny", "c['hidden_act']='gelu'", "'hidden_act' is \"gelu\"", "silu"},
        {"llama-tiny", "c.pop('intermediate_size')", "missing field 'intermediate_size'", NULL},
        {"llama-tiny", "c.pop('hidden_size')", "missing field 'hidden_size'", NULL},
        {"llama-tiny", "c['num_attention_heads']=0", "'num_attention_heads' must be a positive", NULL},
        {"llama-tiny", "c['attention_bias']='yes'", "'attention_bias' must be true or false", NULL},
        {"llama-tiny", "c['rms_norm_eps']=-1", "'rms_norm_eps' must be a number > 0", NULL},
        {"qwen2", "c['use_sliding_window']=True", "'use_sliding_window'", "sliding-window"},
        {"gpt2-tiny", "c['activation_function']='relu'", "'activation_function' is \"relu\"",
         "gelu_new"},
        {"gpt2-tiny", "c['scale_attn_by_inverse_layer_idx']=True",
         "'scale_attn_by_inverse_layer_idx'", NULL},
        {"gpt2-tiny", "c.pop('n_positions'); c.pop('n_ctx')", "missing field 'n_positions'", NULL},
        {"gpt2-tiny", "c['n_embd']=30", "'n_embd' (30) must be divisible by 'n_head' (4)", NULL},
        {"gpt2-tiny", "c['n_inner']=4.5", "'n_inner' must be a positive integer", NULL},
        {"gpt2-tiny", "c['bos_token_id']='x'", "'bos_token_id' must be a token id", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[64];
        make_fixture(dir, sizeof dir, cases[i].variant, "");
        edit_config(dir, cases[i].stmt);
        expect_error(dir, "config.json", cases[i].want1, cases[i].want2);
        helper_rmtree(dir);
    }
}

/* A config attnviz can read but that is not the one it was given: gpt2's n_ctx alone,
 * an eos list (Llama 3), head_dim null. */
Test(hf_bad, tolerated_variants_load, .timeout = 60) {
    static const struct {
        const char *variant, *stmt;
    } cases[] = {
        {"gpt2-tiny", "c.pop('n_positions')"},
        {"gpt2-tiny", "c['activation_function']='gelu_pytorch_tanh'; c['n_inner']=None"},
        {"llama-tiny", "c['eos_token_id']=[2, 5]; c['head_dim']=None; c.pop('rms_norm_eps')"},
        {"llama-tiny", "c.pop('num_key_value_heads'); c.pop('rope_theta'); c.pop('hidden_act')"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[64], err[AVZ_ERR_LEN];
        make_fixture(dir, sizeof dir, cases[i].variant, "");
        edit_config(dir, cases[i].stmt);
        Model m;
        cr_expect_eq(model_load(&m, dir, err), AVZ_OK, "%s: %s", cases[i].stmt, err);
        if (i == 2) cr_expect_eq(m.cfg.eos_id, 2, "the first of Llama 3's eos ids");
        if (i == 2) cr_expect_eq(m.cfg.layer_norm_epsilon, 1e-6f, "rms_norm_eps default");
        model_free(&m);
        helper_rmtree(dir);
    }
}

/* The index parser on its own (the fuzz target's contract). */
Test(hf_bad, index_parser, .timeout = 10) {
    static const struct {
        const char *json, *want;
    } bad[] = {
        {"[1]", "expected a JSON object"},
        {"{", "invalid JSON"},
        {"{\"metadata\": {}}", "missing field 'weight_map'"},
        {"{\"weight_map\": []}", "'weight_map' must be an object"},
        {"{\"weight_map\": {}}", "lists no tensors"},
        {"{\"weight_map\": {\"a\": 3}}", "tensor 'a' must name a .safetensors file"},
        {"{\"weight_map\": {\"a\": \"/etc/passwd\"}}", "plain file name"},
        {"{\"weight_map\": {\"a\": \".hidden.safetensors\"}}", "plain file name"},
        {"{\"weight_map\": {\"a\": \"x.bin\"}}", "plain file name"},
        {"{\"weight_map\": {\"a\": \"x.safetensors\", \"a\": \"x.safetensors\"}}", "'a' twice"},
        {"{\"metadata\": 3, \"weight_map\": {\"a\": \"x.safetensors\"}}", "'metadata' must be"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CkptIndex ix;
        char err[AVZ_ERR_LEN] = "";
        cr_expect_eq(ckpt_index_parse(&ix, bad[i].json, "i.json", err), AVZ_ERR_INPUT, "%s",
                     bad[i].json);
        cr_expect(strstr(err, "i.json: ") && strstr(err, bad[i].want), "%s -> %s", bad[i].json, err);
    }
    CkptIndex ix;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(ckpt_index_parse(&ix, "{\"metadata\": {\"total_size\": 8}, \"weight_map\": "
                                  "{\"a\": \"s1.safetensors\", \"b\": \"s2.safetensors\", "
                                  "\"c\": \"s1.safetensors\"}}", "i.json", err), AVZ_OK, "%s", err);
    cr_expect_eq(ix.n, 3);
    cr_expect_eq(ix.n_files, 2);
    cr_expect_eq(ix.file[2], 0);
    cr_expect_str_eq(ix.files[1], "s2.safetensors");
    ckpt_index_free(&ix);
}
