/* helpers.c: test fixtures (see helpers.h). Not itself a test file. */
#define _DEFAULT_SOURCE
#include "helpers.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <sys/stat.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void helper_vocab(Vocab *v, int n_words) {
    int n = n_words + 4;
    char **w = malloc(sizeof(char *) * n);
    w[0] = strdup("<bos>");
    w[1] = strdup("<unk>");
    w[2] = strdup(".");
    w[3] = strdup(",");
    for (int i = 0; i < n_words; i++) {
        w[4 + i] = malloc(16);
        snprintf(w[4 + i], 16, "w%d", i);
    }
    char err[AVZ_ERR_LEN];
    cr_assert_eq(vocab_from_words(v, (const char *const *)w, n, err), AVZ_OK, "%s", err);
    for (int i = 0; i < n; i++) free(w[i]);
    free(w);
}

void helper_model(Model *m, PosEncoding pe, int L, int NH, int C, int n_positions, uint64_t seed) {
    Vocab v;
    helper_vocab(&v, 36);
    ModelConfig cfg = {0};
    cfg.n_layer = L;
    cfg.n_head = NH;
    cfg.n_embd = C;
    cfg.n_positions = n_positions;
    cfg.vocab_size = v.n;
    cfg.layer_norm_epsilon = 1e-5f;
    cfg.pe = pe;
    cfg.rope_theta = 10000.0f;
    snprintf(cfg.tokenizer, sizeof cfg.tokenizer, "word");
    char err[AVZ_ERR_LEN];
    cr_assert_eq(model_create(m, &cfg, &v, err), AVZ_OK, "%s", err);
    model_init_random(m, seed);
    /* GPT-2's init is so small that every map is near uniform: scale the attention
     * weights up so that the maps (and the tests) have structure */
    size_t n = m->param_sizes[4];
    for (size_t i = 0; i < n; i++) m->params.qkvw[i] *= 20.0f;
    for (size_t i = 0; i < m->param_sizes[0]; i++) m->params.wte[i] *= 10.0f;
    model_params_changed(m);   /* written by hand: the packed copies are stale */
}

void helper_llama(Model *m, const HelperLlama *s, float qkv_scale, uint64_t seed) {
    Vocab v;
    helper_vocab(&v, 36);
    ModelConfig cfg = {0};
    cfg.arch = ARCH_LLAMA;
    cfg.hf = 1;
    cfg.n_layer = s->L;
    cfg.n_head = s->NH;
    cfg.n_kv_head = s->NKV;
    cfg.n_embd = s->C;
    cfg.head_dim = s->hd;
    cfg.n_inner = s->F;
    cfg.n_positions = 80;
    cfg.vocab_size = v.n;
    cfg.layer_norm_epsilon = 1e-6f;
    cfg.pe = PE_ROPE;
    cfg.rope_theta = 10000.0f;
    cfg.bias = s->bias;
    cfg.untied = s->untied;
    snprintf(cfg.tokenizer, sizeof cfg.tokenizer, "word");
    char err[AVZ_ERR_LEN];
    cr_assert_eq(model_create(m, &cfg, &v, err), AVZ_OK, "%s", err);
    model_init_random(m, seed);
    ParamTensors *p = &m->params;
    const size_t *sz = m->param_sizes;
    for (size_t i = 0; i < sz[4]; i++) p->qkvw[i] *= qkv_scale;
    for (size_t i = 0; i < sz[0]; i++) p->wte[i] *= 10.0f;
    AvzRng r;
    avz_rng_init(&r, seed * 7 + 1);
    float *gains[] = {p->ln1w, p->ln2w, p->lnfw};
    const size_t ng[] = {sz[2], sz[8], sz[14]};
    for (int t = 0; t < 3; t++)
        for (size_t i = 0; i < ng[t]; i++) gains[t][i] = 1.0f + 0.3f * avz_rng_normal(&r);
    float *biases[] = {p->qkvb, p->attprojb, p->fcb, p->fcprojb};   /* size 0 when absent */
    const size_t nb[] = {sz[5], sz[7], sz[11], sz[13]};
    for (int t = 0; t < 4; t++)
        for (size_t i = 0; i < nb[t]; i++) biases[t][i] = 0.3f * avz_rng_normal(&r);
    model_params_changed(m);   /* written by hand: the packed copies are stale */
}

void helper_tokens(int *ids, int T, int V, uint64_t seed) {
    AvzRng r;
    avz_rng_init(&r, seed);
    ids[0] = 0;
    for (int t = 1; t < T; t++) ids[t] = 2 + (int)(avz_rng_u64(&r) % (uint64_t)(V - 2));
}

void helper_tmpdir(char *out, size_t len) {
    snprintf(out, len, "/tmp/attnviz-test-XXXXXX");
    cr_assert(mkdtemp(out) != NULL, "mkdtemp failed");
}

double helper_rel_err(const float *a, const float *b, size_t n) {
    double num = 0, den = 1e-30;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs((double)a[i] - b[i]));
        den = fmax(den, fabs((double)b[i]));
    }
    return num / den;
}

void helper_rmtree(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

int helper_file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

int helper_dir_entries(const char *dir) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}
