/* test_hf_models.c: Hugging Face GPT-2 and Llama-family checkpoints, as the Hub serves
 * them, against an independent float64 reference.
 *
 * Each layout is written by tests/ref/hf_fixture.py (tiny random weights in the exact
 * file layout: names, Conv1D or nn.Linear, prefixes, buffers, shards, dtypes) into a temp
 * folder, loaded with model_load and run; `hf_fixture.py forward` computes the same pass
 * in float64 numpy. For T = 1, 20 and 37 (never a multiple of a tile) every attention map
 * must agree within 1e-4 (max abs), the probability of the reference's top-1 token within
 * 1e-4, and the top-1 id wherever the reference's top two logits are far enough apart for
 * float32 to tell them apart. The naive and flash attention must agree too. The maximum
 * errors of every layout are printed. tests/ref/README.md describes the fixtures. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "backend.h"
#include "backward.h"
#include "device.h"
#include "helpers.h"
#include "model.h"
#ifdef AVZ_CUDA
#include "gpu_backend.h"
#endif

#define FIXTURE "/usr/bin/python3 tests/ref/hf_fixture.py"
#define TOL_MAP 1e-4
#define TOL_PROB 1e-4
#define GAP_TOP1 1e-3   /* top-1 vs top-2 logit gap below which float32 may swap them */

/* The reference's .bin (tests/ref/README.md). */
typedef struct {
    int L, NH, NKV, HD, T, V;
    long long *ids, *top1;
    double *top1_prob, *logits, *probs, *attn;
} Ref;

static void ref_free(Ref *r) {
    free(r->ids);
    free(r->top1);
    free(r->top1_prob);
    free(r->logits);
    free(r->probs);
    free(r->attn);
}

static void *read_n(FILE *f, size_t n, size_t size) {
    void *p = malloc(n * size > 0 ? n * size : 1);
    cr_assert(p && fread(p, size, n, f) == n, "short reference file");
    return p;
}

static void ref_read(Ref *r, const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s: missing (the reference forward failed?)", path);
    char magic[8];
    uint64_t h[9];
    cr_assert(fread(magic, 1, 8, f) == 8 && memcmp(magic, "AVZREF1", 8) == 0, "%s: bad magic", path);
    cr_assert(fread(h, 8, 9, f) == 9);
    r->L = (int)h[2], r->NH = (int)h[3], r->NKV = (int)h[4], r->HD = (int)h[5];
    r->T = (int)h[6], r->V = (int)h[7];
    cr_assert(h[8] & 1, "%s: no logits (run without --no-vocab-arrays)", path);
    size_t T = r->T, V = r->V;
    r->ids = read_n(f, T, 8);
    r->top1 = read_n(f, T, 8);
    r->top1_prob = read_n(f, T, 8);
    r->logits = read_n(f, T * V, 8);
    r->probs = read_n(f, T * V, 8);
    r->attn = read_n(f, (size_t)r->L * r->NH * T * T, 8);
    fclose(f);
}

/* Writes the fixture `variant` (plus extra options) into a fresh temp folder. */
static void make_fixture(char *dir, size_t len, const char *variant, const char *extra) {
    helper_tmpdir(dir, len);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, FIXTURE " make %s --variant %s %s", dir, variant, extra);
    cr_assert_eq(system(cmd), 0, "fixture failed: %s", cmd);
}

/* Runs the reference on ids into dir/ref_T.bin and reads it. */
static void reference(Ref *r, const char *dir, const int *ids, int T) {
    char cmd[8192], path[256];
    snprintf(path, sizeof path, "%s/ref_%d.bin", dir, T);
    int n = snprintf(cmd, sizeof cmd, FIXTURE " forward %s --out %s --ids ", dir, path);
    for (int t = 0; t < T; t++) n += snprintf(cmd + n, sizeof cmd - n, t ? ",%d" : "%d", ids[t]);
    cr_assert_eq(system(cmd), 0, "reference forward failed: %s", cmd);
    ref_read(r, path);
}

typedef struct {
    double map, prob;          /* against the reference */
    double fn_map, fn_logit;   /* flash against naive: maps (abs), logits (relative to the largest) */
    int top1_checked, top1_wrong;
} Errors;

/* One pass of m on ids (T) against the reference; errors are maxed into e. */
static void compare_pass(Model *m, const int *ids, int T, const Ref *r, Errors *e,
                         const char *what) {
    char err[AVZ_ERR_LEN];
    const ModelConfig *c = &m->cfg;
    cr_assert_eq(r->L, c->n_layer, "%s: L", what);
    cr_assert_eq(r->NH, c->n_head, "%s: NH", what);
    cr_assert_eq(r->NKV, c->n_kv_head, "%s: NKV", what);
    cr_assert_eq(r->HD, c->head_dim, "%s: head_dim", what);
    size_t nmap = (size_t)c->n_layer * c->n_head * T * T, V = c->vocab_size;
    float *flash = malloc(sizeof(float) * nmap), *naive = malloc(sizeof(float) * nmap);
    ForwardOpts o = {.attn = ATTN_NAIVE};
    cr_assert_eq(model_forward(m, ids, NULL, 1, T, &o, err), AVZ_OK, "%s: %s", what, err);
    model_capture_all(m, 0, naive);
    float *naive_logits = malloc(sizeof(float) * T * V);
    memcpy(naive_logits, m->acts.logits, sizeof(float) * T * V);
    cr_assert_eq(model_forward(m, ids, NULL, 1, T, NULL, err), AVZ_OK, "%s: %s", what, err);
    model_capture_all(m, 0, flash);
    for (size_t i = 0; i < nmap; i++) {
        double d = fabs(flash[i] - r->attn[i]);
        if (!(d <= e->map)) e->map = d;   /* a NaN makes it NaN, which fails below */
        d = fabs(flash[i] - naive[i]);
        if (!(d <= e->fn_map)) e->fn_map = d;
    }
    double big = 0, dl = 0;
    for (size_t i = 0; i < (size_t)T * V; i++) {
        big = fmax(big, fabs(naive_logits[i]));
        dl = fmax(dl, fabs(naive_logits[i] - m->acts.logits[i]));
    }
    if (!(dl / big <= e->fn_logit)) e->fn_logit = dl / big;
    const float *probs = model_probs(m);
    for (int t = 0; t < T; t++) {
        long long top = r->top1[t];
        double d = fabs(probs[(size_t)t * V + top] - r->top1_prob[t]);
        if (!(d <= e->prob)) e->prob = d;
        /* the reference's runner-up logit: is top-1 decided beyond float32 noise? */
        const double *lg = r->logits + (size_t)t * V;
        double second = -INFINITY;
        for (size_t v = 0; v < V; v++)
            if ((long long)v != top && lg[v] > second) second = lg[v];
        if (lg[top] - second < GAP_TOP1) continue;
        int best = 0;
        for (size_t v = 1; v < V; v++)
            if (m->acts.logits[(size_t)t * V + v] > m->acts.logits[(size_t)t * V + best]) best = (int)v;
        e->top1_checked++;
        e->top1_wrong += best != top;
    }
    free(flash);
    free(naive);
    free(naive_logits);
}

typedef struct {
    const char *variant, *extra;
} Layout;

/* Ids for a pass: deterministic, spread over the vocabulary. */
static void fixture_ids(int *ids, int T, int V, uint64_t seed) {
    AvzRng rng;
    avz_rng_init(&rng, seed);
    for (int t = 0; t < T; t++) ids[t] = (int)(avz_rng_u64(&rng) % (uint64_t)V);
}

/* Every layout of the list, each at every length, checked and printed. */
static void run_layouts(const Layout *list, int n, const int *lengths, int nlen) {
    for (int i = 0; i < n; i++) {
        char dir[64], what[160], err[AVZ_ERR_LEN];
        snprintf(what, sizeof what, "%s %s", list[i].variant, list[i].extra);
        make_fixture(dir, sizeof dir, list[i].variant, list[i].extra);
        Model m;
        cr_assert_eq(model_load(&m, dir, err), AVZ_OK, "%s: %s", what, err);
        Errors e = {0};
        for (int k = 0; k < nlen; k++) {
            int T = lengths[k];
            if (T > config_max_len(&m.cfg)) continue;
            int *ids = malloc(sizeof(int) * T);
            fixture_ids(ids, T, m.cfg.vocab_size, 100 + (uint64_t)T);
            Ref r;
            reference(&r, dir, ids, T);
            compare_pass(&m, ids, T, &r, &e, what);
            ref_free(&r);
            free(ids);
        }
        printf("hf %-42s %-4s maps %.1e  top-1 prob %.1e  top-1 ids %2d/%-2d  flash-naive "
               "maps %.1e logits %.1e\n", what, m.disk_dtype, e.map, e.prob,
               e.top1_checked - e.top1_wrong, e.top1_checked, e.fn_map, e.fn_logit);
        fflush(stdout);
        cr_expect(e.map <= TOL_MAP, "%s: attention maps differ by %.3e (limit %.0e)", what, e.map,
                  TOL_MAP);
        cr_expect(e.prob <= TOL_PROB, "%s: top-1 probability differs by %.3e", what, e.prob);
        cr_expect(e.fn_map <= 1e-5 && e.fn_logit <= 1e-5, "%s: flash and naive differ by %.3e "
                  "(maps), %.3e (logits, relative)", what, e.fn_map, e.fn_logit);
        cr_expect(e.top1_wrong == 0, "%s: %d of %d well-separated top-1 ids differ", what,
                  e.top1_wrong, e.top1_checked);
        model_free(&m);
        helper_rmtree(dir);
    }
}

static const int LENGTHS[] = {1, 20, 37};

Test(hf, gpt2_layouts, .timeout = 240) {
    static const Layout list[] = {
        {"gpt2-tiny", ""},
        {"gpt2-untied", ""},
        {"gpt2-prefix", ""},                                   /* transformer.* + buffers */
        {"gpt2-tiny", "--attn-bias-buffers --buffer-dtype u8"},
        {"gpt2-tiny", "--attn-bias-buffers --buffer-dtype bool"},
        {"gpt2-tiny", "--dtype f16"},
        {"gpt2-tiny", "--dtype bf16 --attn-bias-buffers"},
        {"gpt2-untied", "--dtype f16 --prefix"},
        {"gpt2-sharded", ""},
        {"gpt2-tiny", "--embd 24 --heads 3 --intermediate 40 --ln-eps 1e-6"},
    };
    run_layouts(list, sizeof list / sizeof list[0], LENGTHS, 3);
}

Test(hf, llama_layouts, .timeout = 240) {
    static const Layout list[] = {
        {"llama-tiny", ""},
        {"llama-gqa", ""},
        {"llama-mqa", ""},
        {"llama-headdim", ""},                                 /* hd 16 != C / NH = 8 */
        {"llama-bias", ""},                                    /* q, k, v and o biases */
        {"llama-bias", "--mlp-bias"},
        {"llama-tied", ""},
        {"llama-tied", "--dtype f16"},
        {"llama-gqa", "--rotary-buffers"},
        {"llama-gqa", "--shards 3 --dtype bf16"},
        {"smollm2", ""},                                       /* GQA, tied, theta 1e5, bf16 */
        {"qwen2", ""},                                         /* q, k, v biases, no o bias */
        {"qwen2", "--tied --dtype bf16"},
    };
    run_layouts(list, sizeof list / sizeof list[0], LENGTHS, 3);
}

/* Past the kept-P limit (T > 256) flash attention never builds P, and capture recomputes
 * it from q, the key/value head's k and the log-sum-exps. */
Test(hf, long_texts_recompute_maps_for_shared_kv_heads, .timeout = 120) {
    static const Layout list[] = {{"llama-gqa", ""}, {"llama-mqa", ""}, {"llama-headdim", ""}};
    static const int lengths[] = {300};
    run_layouts(list, sizeof list / sizeof list[0], lengths, 1);
}

/* A Mistral config is Llama's layout (the forward of the reference reads it as Llama). */
Test(hf, mistral_is_a_row_of_the_table, .timeout = 60) {
    char dir[64], err[AVZ_ERR_LEN], cmd[512];
    make_fixture(dir, sizeof dir, "llama-gqa", "");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"import json,sys; p=sys.argv[1]+'/config.json'; "
             "c=json.load(open(p)); c['model_type']='mistral'; c.pop('attention_bias'); "
             "c.pop('mlp_bias'); c['sliding_window']=None; json.dump(c,open(p,'w'))\" %s", dir);
    cr_assert_eq(system(cmd), 0);
    Model m;
    cr_assert_eq(model_load(&m, dir, err), AVZ_OK, "%s", err);
    cr_expect_eq(m.cfg.arch, ARCH_MISTRAL);
    int ids[20];
    fixture_ids(ids, 20, m.cfg.vocab_size, 5);
    Ref r;
    reference(&r, dir, ids, 20);
    Errors e = {0};
    compare_pass(&m, ids, 20, &r, &e, "mistral");
    printf("hf mistral (llama-gqa as model_type mistral)     maps %.2e  top-1 prob %.2e\n", e.map,
           e.prob);
    cr_expect(e.map <= TOL_MAP && e.prob <= TOL_PROB, "mistral: maps %.3e, prob %.3e", e.map, e.prob);
    ref_free(&r);
    model_free(&m);
    helper_rmtree(dir);
}

/* Ablation acts on a query head's output before the output projection, in every family:
 * zeroing a head changes the logits, and zeroing its output by hand gives the same. */
Test(hf, ablation_works_for_every_family, .timeout = 60) {
    static const char *variants[] = {"gpt2-tiny", "llama-gqa", "qwen2"};
    for (int i = 0; i < 3; i++) {
        char dir[64], err[AVZ_ERR_LEN];
        make_fixture(dir, sizeof dir, variants[i], "");
        Model m;
        cr_assert_eq(model_load(&m, dir, err), AVZ_OK, "%s", err);
        int T = 17, ids[17];
        fixture_ids(ids, T, m.cfg.vocab_size, 9);
        size_t V = m.cfg.vocab_size, n = (size_t)T * V;
        float *base = malloc(sizeof(float) * n), *zero = malloc(sizeof(float) * n);
        cr_assert_eq(model_forward(&m, ids, NULL, 1, T, NULL, err), AVZ_OK, "%s", err);
        memcpy(base, m.acts.logits, sizeof(float) * n);
        unsigned char *mask = calloc((size_t)m.cfg.n_layer * m.cfg.n_head, 1);
        mask[m.cfg.n_head + 1] = 1;   /* layer 1, head 1 */
        for (int mode = 0; mode < 2; mode++) {
            ForwardOpts o = {.ablate = mask, .ablate_mode = mode ? ABLATE_MEAN : ABLATE_ZERO};
            cr_assert_eq(model_forward(&m, ids, NULL, 1, T, &o, err), AVZ_OK, "%s", err);
            memcpy(zero, m.acts.logits, sizeof(float) * n);
            double d = 0;
            for (size_t k = 0; k < n; k++) d = fmax(d, fabs(zero[k] - base[k]));
            cr_expect(d > 1e-4, "%s: ablating head 1.1 (%s) changed nothing", variants[i],
                      mode ? "mean" : "zero");
            /* the ablated head's slice of zin is zero (or constant over t) */
            int A = config_attn_dim(&m.cfg), hd = m.cfg.head_dim;
            const float *zin = m.acts.zin + (size_t)1 * T * A;
            for (int t = 0; t < T; t++)
                for (int k = 0; k < hd; k++) {
                    float want = mode ? zin[1 * hd + k] : 0.0f;
                    cr_assert_eq(zin[(size_t)t * A + 1 * hd + k], want, "%s: zin", variants[i]);
                }
        }
        free(mask);
        free(base);
        free(zero);
        model_free(&m);
        helper_rmtree(dir);
    }
}

Test(hf, model_describe_says_what_was_read, .timeout = 60) {
    char dir[64], err[AVZ_ERR_LEN], buf[2048];
    make_fixture(dir, sizeof dir, "llama-headdim", "--dtype bf16");
    Model m;
    cr_assert_eq(model_load(&m, dir, err), AVZ_OK, "%s", err);
    int n = model_describe(&m, buf, sizeof buf);
    cr_assert(n > 0 && n < (int)sizeof buf, "%d", n);
    const char *want[] = {"llama (LlamaForCausalLM)", "L = 2", "NH = 4 query heads, NKV = 2",
                          "hd = 16", "C = 32", "SwiGLU, F = 88", "V = 96", "RMSNorm", "rope",
                          "untied", "biases:     none", "BF16 on disk", "tokenizer:  none"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(strstr(buf, want[i]), "model info lacks \"%s\":\n%s", want[i], buf);
    char small[32];
    cr_expect_eq(model_describe(&m, small, sizeof small), n, "returns the length it needs");
    cr_expect_eq(strlen(small), sizeof small - 1, "and truncates");
    model_free(&m);
    helper_rmtree(dir);
    /* attnviz's own model */
    cr_assert_eq(model_load(&m, "assets/models/rope", err), AVZ_OK, "%s", err);
    model_describe(&m, buf, sizeof buf);
    cr_expect(strstr(buf, "gpt2 (attnviz's own layout)") && strstr(buf, "LayerNorm") &&
              strstr(buf, "tied to the token embedding") && strstr(buf, "F32 on disk") &&
              strstr(buf, "tokenizer:  word"), "%s", buf);
    model_free(&m);
}

/* Tokenizer files: model_load must not read GPT-2's vocab.json as attnviz's word
 * vocabulary (both are JSON maps), and must not need a tokenizer at all. */
Test(hf, tokenizer_files_are_recognised_not_misread, .timeout = 60) {
    char dir[64], err[AVZ_ERR_LEN];
    make_fixture(dir, sizeof dir, "gpt2-tiny", "");
    char path[128];
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"!\": 0, \"\\\"\": 1, \"#\": 2}", f);   /* GPT-2's first entries: no <bos>, <unk> */
    fclose(f);
    snprintf(path, sizeof path, "%s/merges.txt", dir);
    f = fopen(path, "w");
    fputs("#version: 0.2\nĠ t\n", f);
    fclose(f);
    Model m;
    cr_assert_eq(model_load(&m, dir, err), AVZ_OK, "%s", err);
    cr_expect_str_eq(m.cfg.tokenizer, "gpt2");
    cr_expect_eq(m.vocab.n, 0, "no word vocabulary for a BPE model");
    cr_expect_eq(m.cfg.bos_id, 95);
    model_free(&m);
    helper_rmtree(dir);
    make_fixture(dir, sizeof dir, "llama-tiny", "");
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    f = fopen(path, "w");
    fputs("{\"model\": {\"type\": \"BPE\"}}", f);
    fclose(f);
    cr_assert_eq(model_load(&m, dir, err), AVZ_OK, "%s", err);
    cr_expect_str_eq(m.cfg.tokenizer, "tokenizer.json");
    cr_expect_eq(m.cfg.bos_id, 1);
    cr_expect_eq(m.cfg.eos_id, 2);
    model_free(&m);
    helper_rmtree(dir);
}

/* Only attnviz's own layout can be trained or saved: the others say so. */
Test(hf, backward_and_save_refuse_other_layouts, .timeout = 60) {
    char dir[64], out[80], err[AVZ_ERR_LEN];
    make_fixture(dir, sizeof dir, "llama-gqa", "");
    Model m;
    cr_assert_eq(model_load(&m, dir, err), AVZ_OK, "%s", err);
    cr_expect_eq(model_backward_supported(&m, err), AVZ_ERR_INPUT);
    cr_expect(strstr(err, "llama") && strstr(err, "own GPT-2 layout"), "%s", err);
    snprintf(out, sizeof out, "%s/copy", dir);
    cr_expect_eq(model_save(&m, out, err), AVZ_ERR_INPUT);
    cr_expect(strstr(err, "saves only its own models"), "%s", err);
    model_free(&m);
    helper_rmtree(dir);
    Model toy;
    helper_model(&toy, PE_ROPE, 1, 2, 16, 16, 1);
    cr_expect_eq(model_backward_supported(&toy, err), AVZ_OK, "%s", err);
    model_free(&toy);
}

/* ---- the CUDA backend and the fall back to the CPU --------------------------------------- */

/* A backend that fails the way the CUDA backend refuses a model it cannot run. */
static AvzCode refusing_forward(Backend *be, Model *m, const int *tokens, const int *targets,
                                int B, int T, const ForwardOpts *o, char *err) {
    (void)be; (void)m; (void)tokens; (void)targets; (void)B; (void)T; (void)o;
    return avz_fail(err, AVZ_ERR_INTERNAL, "the CUDA backend runs GPT-2's layout only");
}
static void no_capture(Backend *be, const Model *m, int l, int h, int b, float *out) {
    (void)be; (void)m; (void)l; (void)h; (void)b; (void)out;
}
static void free_backend(Backend *be) { free(be); }

Test(hf, a_refusing_backend_falls_back_to_the_cpu_with_a_note, .timeout = 60) {
    char dir[64], err[AVZ_ERR_LEN], note[AVZ_ERR_LEN] = "";
    make_fixture(dir, sizeof dir, "llama-gqa", "");
    Model m;
    cr_assert_eq(model_load(&m, dir, err), AVZ_OK, "%s", err);
    Backend *be = calloc(1, sizeof *be);
    be->name = "cuda";
    be->forward = refusing_forward;
    be->capture = no_capture;
    be->destroy = free_backend;
    int ids[12];
    fixture_ids(ids, 12, m.cfg.vocab_size, 3);
    cr_assert_eq(backend_forward(&be, &m, ids, NULL, 1, 12, NULL, note, err), AVZ_OK, "%s", err);
    cr_expect_str_eq(be->name, "cpu");
    cr_expect(strstr(note, "CUDA failed") && strstr(note, "GPT-2's layout"), "note: %s", note);
    Ref r;
    reference(&r, dir, ids, 12);
    Errors e = {0};
    compare_pass(&m, ids, 12, &r, &e, "fallback");
    cr_expect(e.map <= TOL_MAP, "the CPU's maps after the fall back: %.3e", e.map);
    ref_free(&r);
    backend_close(be);
    model_free(&m);
    helper_rmtree(dir);
}

/* On a machine with a GPU: the real CUDA backend runs a Llama checkpoint (RMSNorm,
 * SwiGLU, grouped-query attention, untied head) and an untied GPT-2 as loaded from their
 * Hugging Face files, and matches the CPU: logits, every map and the next-token
 * probabilities. SKIPPED, visibly, without one (tests/gpu/emu/run.sh llama checks the
 * same kernels on the CPU-side emulator). */
Test(hf, cuda_runs_llama_and_untied_gpt2, .timeout = 120) {
#ifdef AVZ_CUDA
    char why[AVZ_ERR_LEN] = "";
    Backend *probe = gpu_backend_create(why);
    if (!probe) {
        fprintf(stderr, "[SKIP] hf::cuda_runs_llama_and_untied_gpt2: no CUDA device: %s\n", why);
        cr_skip_test("no CUDA device: %s", why);
    }
    backend_close(probe);
    static const char *variants[] = {"llama-gqa", "gpt2-untied"};
    for (int i = 0; i < 2; i++) {
        char dir[64], err[AVZ_ERR_LEN], note[AVZ_ERR_LEN] = "";
        make_fixture(dir, sizeof dir, variants[i], "--embd 64");   /* head size 16 */
        Model m;
        cr_assert_eq(model_load(&m, dir, err), AVZ_OK, "%s", err);
        Backend *be = device_open("cuda", note, err);
        cr_assert(be && strcmp(be->name, "cuda") == 0, "device_open(cuda): %s", note);
        int ids[20];
        fixture_ids(ids, 20, m.cfg.vocab_size, 4);
        cr_assert_eq(backend_forward(&be, &m, ids, NULL, 1, 20, NULL, note, err), AVZ_OK, "%s", err);
        cr_expect_str_eq(be->name, "cuda", "%s runs on the GPU: %s", variants[i], note);
        size_t n = (size_t)20 * m.cfg.vocab_size, nmap = (size_t)m.cfg.n_layer * m.cfg.n_head * 400;
        float *gpu = malloc(sizeof(float) * n), *gprobs = malloc(sizeof(float) * n);
        float *gmaps = malloc(sizeof(float) * nmap), *cmaps = malloc(sizeof(float) * nmap);
        memcpy(gpu, m.acts.logits, sizeof(float) * n);
        memcpy(gprobs, model_probs(&m), sizeof(float) * n);
        for (int l = 0; l < m.cfg.n_layer; l++)
            for (int h = 0; h < m.cfg.n_head; h++)
                be->capture(be, &m, l, h, 0, gmaps + ((size_t)l * m.cfg.n_head + h) * 400);
        cr_assert_eq(model_forward(&m, ids, NULL, 1, 20, NULL, err), AVZ_OK, "%s", err);
        model_capture_all(&m, 0, cmaps);
        double e = helper_rel_err(gpu, m.acts.logits, n);
        double em = helper_rel_err(gmaps, cmaps, nmap);
        double ep = helper_rel_err(gprobs, model_probs(&m), n);
        printf("hf cuda %s logits rel err %.2e, maps %.2e, probs %.2e\n", variants[i], e, em, ep);
        cr_expect(e <= 1e-4, "%s logits on the GPU: rel err %.3e", variants[i], e);
        cr_expect(em <= TOL_MAP, "%s maps on the GPU: rel err %.3e", variants[i], em);
        cr_expect(ep <= TOL_PROB, "%s probabilities on the GPU: rel err %.3e", variants[i], ep);
        free(gpu);
        free(gprobs);
        free(gmaps);
        free(cmaps);
        backend_close(be);
        model_free(&m);
        helper_rmtree(dir);
    }
#else
    fprintf(stderr, "[SKIP] hf::cuda_runs_llama_and_untied_gpt2: built without CUDA\n");
    cr_skip_test("built without CUDA (nvcc not found, or NO_CUDA=1)");
#endif
}
