/* test_train.c: the trainer: schedule, determinism, resume, logs, model card, and
 * that training actually lowers the loss. Tiny models, a few steps. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "backward.h"
#include "helpers.h"
#include "lengths.h"
#include "backend.h"
#include "train.h"

static void tiny(TrainConfig *tc, const char *dir, int steps) {
    train_config_default(tc);
    tc->pe = PE_ALIBI;
    tc->n_layer = 1;
    tc->n_head = 2;
    tc->n_embd = 16;
    tc->n_positions = 16;
    tc->batch = 4;
    tc->steps = steps;
    tc->warmup = 5;
    tc->eval_every = 10;
    tc->val_batches = 2;
    tc->probe_count = 3;
    tc->threads = 1;
    tc->quiet = 1;
    tc->out_dir = dir;
}

static char *slurp(const char *dir, const char *name, size_t *len) {
    char path[256], err[AVZ_ERR_LEN];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *b = avz_read_file(path, len, err);
    cr_assert(b, "%s", err);
    return b;
}

Test(train, schedule_warms_up_then_decays) {
    TrainConfig tc;
    train_config_default(&tc);
    tc.steps = 1000;
    tc.warmup = 100;
    tc.lr = 1e-3f;
    tc.min_lr_frac = 0.1f;
    cr_assert_float_eq(train_lr_at(&tc, 0), 1e-5f, 1e-9f);
    cr_assert_float_eq(train_lr_at(&tc, 99), 1e-3f, 1e-9f);
    cr_assert(train_lr_at(&tc, 500) < 1e-3f && train_lr_at(&tc, 500) > 1e-4f);
    cr_assert_float_eq(train_lr_at(&tc, 999), 1e-4f, 1e-7f);
    for (int s = 101; s < 1000; s++) cr_assert(train_lr_at(&tc, s) <= train_lr_at(&tc, s - 1));
}

Test(train, writes_model_log_and_card_and_lowers_the_loss) {
    char dir[64], err[AVZ_ERR_LEN];
    helper_tmpdir(dir, sizeof dir);
    TrainConfig tc;
    tiny(&tc, dir, 60);
    tc.eval_every = 20;
    cr_assert_eq(train_run(&tc, err), AVZ_OK, "%s", err);
    Model m;
    cr_assert_eq(model_load(&m, dir, err), AVZ_OK, "%s", err);
    cr_assert_eq(m.cfg.pe, PE_ALIBI);
    model_free(&m);
    size_t len;
    char *log = slurp(dir, "train_log.csv", &len);
    cr_assert(strncmp(log, "step,tokens,train_loss,val_loss", 31) == 0, "%s", log);
    float v[3];
    int rows = 0;
    for (char *line = strchr(log, '\n'); line && line[1] && rows < 3; line = strchr(line + 1, '\n')) {
        int step;
        long tokens;
        float tl;
        cr_assert_eq(sscanf(line + 1, "%d,%ld,%f,%f", &step, &tokens, &tl, &v[rows]), 4);
        cr_assert_eq(step, 20 * (rows + 1));
        rows++;
    }
    cr_assert_eq(rows, 3);
    cr_assert(v[2] < v[0], "validation loss did not fall: %f -> %f", v[0], v[2]);
    free(log);
    char *card = slurp(dir, "README.md", &len);
    cr_assert(strstr(card, "# attnviz model: alibi") && strstr(card, "Head roles") &&
              strstr(card, "validation"), "%s", card);
    free(card);
}

Test(train, same_seed_same_weights_and_resume_is_exact) {
    char a[64], b[64], err[AVZ_ERR_LEN];
    helper_tmpdir(a, sizeof a);
    helper_tmpdir(b, sizeof b);
    TrainConfig tc;
    tiny(&tc, a, 20);                       /* straight through: 20 steps */
    cr_assert_eq(train_run(&tc, err), AVZ_OK, "%s", err);
    tiny(&tc, b, 20);                       /* interrupted after 10 steps, then resumed */
    tc.stop_at = 10;
    cr_assert_eq(train_run(&tc, err), AVZ_OK, "%s", err);
    tiny(&tc, b, 20);
    tc.resume = 1;
    cr_assert_eq(train_run(&tc, err), AVZ_OK, "%s", err);
    size_t la, lb;
    char *wa = slurp(a, "model.safetensors", &la), *wb = slurp(b, "model.safetensors", &lb);
    cr_assert_eq(la, lb);
    cr_assert(memcmp(wa, wb, la) == 0, "resumed run differs from the straight run");
    free(wa);
    free(wb);
}

Test(train, resume_without_a_checkpoint_names_the_folder) {
    char dir[64], err[AVZ_ERR_LEN];
    helper_tmpdir(dir, sizeof dir);
    TrainConfig tc;
    tiny(&tc, dir, 10);
    tc.resume = 1;
    cr_assert_eq(train_run(&tc, err), AVZ_ERR_INPUT);
    cr_assert(strstr(err, dir), "%s", err);
}

Test(lengths, learned_stops_at_its_table_others_go_on) {
    Model m;
    char err[AVZ_ERR_LEN];
    const char *const *words;
    int n = corpus_vocab(&words);
    PosEncoding pes[2] = {PE_LEARNED, PE_ALIBI};
    for (int e = 0; e < 2; e++) {
        Vocab v;
        cr_assert_eq(vocab_from_words(&v, words, n, err), AVZ_OK);
        ModelConfig cfg = {.n_layer = 1, .n_head = 2, .n_embd = 16, .n_positions = 16,
                           .vocab_size = n, .layer_norm_epsilon = 1e-5f, .pe = pes[e],
                           .rope_theta = 10000.0f, .tokenizer = "word"};
        cr_assert_eq(model_create(&m, &cfg, &v, err), AVZ_OK, "%s", err);
        model_init_random(&m, 3);
        float loss[40];
        Backend *be = backend_cpu_create();
        cr_assert_eq(lengths_measure(&be, &m, 40, 2, 7, loss, err), AVZ_OK, "%s", err);
        backend_close(be);
        for (int t = 0; t < 40; t++) {
            if (pes[e] == PE_LEARNED && t >= 16) cr_assert(isnan(loss[t]));
            else cr_assert(isfinite(loss[t]) && loss[t] > 0, "position %d: %f", t, loss[t]);
        }
        model_free(&m);
    }
}

/* The trainer's pattern (forward, backward, a step on the weights, model_params_changed)
 * with the weight cache on gives the same losses, bit for bit, as with it off: every
 * step's new weights are packed before the next pass reads them. */
Test(train, weight_cache_on_gives_the_same_losses_as_off) {
    Model on, off;
    helper_model(&on, PE_ROPE, 2, 2, 16, 16, 12);
    helper_model(&off, PE_ROPE, 2, 2, 16, 16, 12);
    model_weight_cache_enable(&off, 0);
    enum { B = 2, T = 16 };
    int ids[B * T], tg[B * T];
    helper_tokens(ids, B * T, on.cfg.vocab_size, 8);
    for (int i = 0; i < B * T; i++) tg[i] = i + 1 < B * T ? ids[i + 1] : -1;
    size_t n = on.num_parameters;
    float *g_on = malloc(sizeof(float) * n), *g_off = malloc(sizeof(float) * n);
    char err[AVZ_ERR_LEN];
    float first = 0;
    for (int step = 0; step < 5; step++) {
        Model *ms[2] = {&on, &off};
        float *gs[2] = {g_on, g_off};
        for (int k = 0; k < 2; k++) {
            cr_assert_eq(model_forward(ms[k], ids, tg, B, T, NULL, err), AVZ_OK, "%s", err);
            memset(gs[k], 0, sizeof(float) * n);
            model_backward(ms[k], ids, tg, gs[k]);
            for (size_t i = 0; i < n; i++) ms[k]->params_memory[i] -= 0.5f * gs[k][i];
            model_params_changed(ms[k]);
        }
        cr_assert(on.mean_loss == off.mean_loss, "step %d: loss %.9g with the cache, %.9g "
                  "without", step, on.mean_loss, off.mean_loss);
        if (step == 0) first = on.mean_loss;
    }
    cr_expect(on.mean_loss < first, "the steps did not lower the loss (%g -> %g)", first,
              on.mean_loss);
    free(g_on); free(g_off);
    model_free(&on);
    model_free(&off);
}
