/* fuzz_targets.c: fuzz target bodies (see fuzz_targets.h). */
#include "fuzz_targets.h"

#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "config.h"
#include "safetensors.h"
#include "gui/script.h"
#include "tokenizer.h"

/* The bytes as a NUL-terminated string (JSON and text parsers expect one). */
static char *as_string(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return NULL;
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

int fuzz_safetensors(const uint8_t *data, size_t size) {
    SafeTensors st;
    char err[AVZ_ERR_LEN];
    if (safetensors_open_mem(&st, data, size, "fuzz.safetensors", err) != AVZ_OK) return 0;
    /* a file that validates must be fully readable */
    for (int i = 0; i < st.n_tensors; i++) {
        int64_t n = st_numel(&st.tensors[i]);
        if (n > (1 << 20)) continue;
        float *buf = malloc(sizeof(float) * (size_t)(n ? n : 1));
        if (buf) safetensors_read_f32(&st, &st.tensors[i], buf);
        free(buf);
    }
    safetensors_free(&st);
    return 0;
}

int fuzz_config(const uint8_t *data, size_t size) {
    char *s = as_string(data, size), err[AVZ_ERR_LEN];
    ModelConfig cfg;
    if (s) config_parse(&cfg, s, "fuzz/config.json", err);
    free(s);
    return 0;
}

int fuzz_vocab(const uint8_t *data, size_t size) {
    char *s = as_string(data, size), err[AVZ_ERR_LEN];
    Vocab v;
    if (s && vocab_parse(&v, s, "fuzz/vocab.json", err) == AVZ_OK) {
        for (int i = 0; i < v.n; i++) vocab_lookup(&v, v.words[i]);
        vocab_free(&v);
    }
    free(s);
    return 0;
}

int fuzz_tokenizer(const uint8_t *data, size_t size) {
    static const char *words[] = {"<bos>", "<unk>", ".", ",", "marie", "curie", "she", "was"};
    static Vocab v;
    static int ready;
    char err[AVZ_ERR_LEN];
    if (!ready) ready = vocab_from_words(&v, words, 8, err) == AVZ_OK;
    char *s = as_string(data, size);
    Tokens t;
    if (s && tokenize(&v, s, 1 << 16, &t, err) == AVZ_OK) {
        char buf[256];
        tokens_unknown_list(&t, buf, sizeof buf);
        tokens_free(&t);
    }
    free(s);
    return 0;
}

int fuzz_script(const uint8_t *data, size_t size) {
    char *s = as_string(data, size), err[AVZ_ERR_LEN];
    Script sc;
    if (s && script_parse(s, "fuzz.script", &sc, err) == AVZ_OK) script_free(&sc);
    free(s);
    return 0;
}

/* A Hugging Face config.json: the same parser as fuzz_config, by the architecture table's
 * keys; a config that parses must give sizes that are positive and consistent. */
int fuzz_hf_config(const uint8_t *data, size_t size) {
    char *s = as_string(data, size), err[AVZ_ERR_LEN];
    ModelConfig cfg;
    if (s && config_parse(&cfg, s, "fuzz/config.json", err) == AVZ_OK) {
        int qkv = config_qkv_dim(&cfg), a = config_attn_dim(&cfg), u = config_up_dim(&cfg);
        if (qkv <= 0 || a <= 0 || u <= 0 || cfg.n_head % cfg.n_kv_head != 0 ||
            cfg.head_dim > 256 || (cfg.pe == PE_ROPE && cfg.head_dim % 2))
            abort();   /* the parser let through what the model cannot hold */
    }
    free(s);
    return 0;
}

int fuzz_index(const uint8_t *data, size_t size) {
    char *s = as_string(data, size), err[AVZ_ERR_LEN];
    CkptIndex ix;
    if (s && ckpt_index_parse(&ix, s, "fuzz/model.safetensors.index.json", err) == AVZ_OK) {
        for (int i = 0; i < ix.n; i++)
            if (ix.file[i] < 0 || ix.file[i] >= ix.n_files || strchr(ix.files[ix.file[i]], '/'))
                abort();
        ckpt_index_free(&ix);
    }
    free(s);
    return 0;
}
