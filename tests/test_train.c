/* test_train.c: the trainer: schedule, determinism, resume, logs, model card, and
 * that training actually lowers the loss. Tiny models, a few steps. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "backward.h"
#include "helpers.h"
#include "detect.h"
#include "lengths.h"
#include "backend.h"
#include "posenc.h"
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
    cr_assert(strstr(card, "# attnviz model: alibi") && strstr(card, "validation"), "%s", card);
    /* the standard protocol is the headline, the corpus probes a second, named table */
    char *std = strstr(card, "## Head roles by the standard protocol");
    char *probes = strstr(card, "## Corpus probes");
    cr_assert(std && probes && std < probes, "%s", card);
    cr_assert(strstr(card, "Best previous-token head:") && strstr(card, "Best induction head:") &&
              strstr(card, "second copy") && strstr(card, "twice the training context"), "%s",
              card);
    free(card);
}

/* The log's standard-protocol columns are fractions and losses. */
Test(train, log_has_the_standard_protocol_columns) {
    char dir[64], err[AVZ_ERR_LEN];
    helper_tmpdir(dir, sizeof dir);
    TrainConfig tc;
    tiny(&tc, dir, 10);
    cr_assert_eq(train_run(&tc, err), AVZ_OK, "%s", err);
    size_t len;
    char *log = slurp(dir, "train_log.csv", &len);
    cr_assert(strstr(log, ",std_prev_token,std_induction,std_loss_first,std_loss_second\n"), "%s",
              log);
    char *row = strchr(log, '\n') + 1;
    float v[17];
    char *p = row;
    for (int k = 0; k < 17; k++) {
        v[k] = strtof(p, &p);
        p++;
    }
    cr_assert(v[13] >= 0 && v[13] <= 1 && v[14] >= 0 && v[14] <= 1, "%s", row);
    cr_assert(v[15] > 0 && v[16] > 0, "%s", row);
    free(log);
}

/* --live-log: one JSON line at step 0 and every live_every steps, every head's scores. */
Test(train, live_log_has_a_line_every_k_steps_with_every_head) {
    char dir[64], path[128], err[AVZ_ERR_LEN];
    helper_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/live.jsonl", dir);
    TrainConfig tc;
    tiny(&tc, dir, 12);
    tc.live_log = path;
    tc.live_every = 5;
    cr_assert_eq(train_run(&tc, err), AVZ_OK, "%s", err);
    size_t len;
    char *text = slurp(dir, "live.jsonl", &len);
    int want[] = {0, 5, 10, 12}, n = 0;
    double wall = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), n++) {
        cr_assert_lt(n, 4, "too many lines");
        cJSON *j = cJSON_Parse(line);
        cr_assert(j, "not JSON: %s", line);
        cr_assert_eq(cJSON_GetObjectItem(j, "step")->valueint, want[n], "%s", line);
        double w = cJSON_GetObjectItem(j, "wall_s")->valuedouble;
        cr_assert_geq(w, wall, "%s", line);
        wall = w;
        cJSON *tl = cJSON_GetObjectItem(j, "train_loss");
        cr_assert(n == 0 ? cJSON_IsNull(tl) : cJSON_IsNumber(tl), "%s", line);
        cr_assert_gt(cJSON_GetObjectItem(j, "val_loss")->valuedouble, 0);
        cr_assert_gt(cJSON_GetObjectItem(j, "loss_first")->valuedouble, 0);
        cr_assert_gt(cJSON_GetObjectItem(j, "loss_second")->valuedouble, 0);
        cJSON *heads = cJSON_GetObjectItem(j, "heads");
        cr_assert_eq(cJSON_GetArraySize(heads), tc.n_layer * tc.n_head, "%s", line);
        cJSON *h;
        cJSON_ArrayForEach(h, heads) {
            const char *keys[] = {"prev", "induction", "duplicate"};
            cr_assert(cJSON_IsString(cJSON_GetObjectItem(h, "head")));
            for (int k = 0; k < 3; k++) {
                double x = cJSON_GetObjectItem(h, keys[k])->valuedouble;
                cr_assert(x >= 0 && x <= 1, "%s = %f", keys[k], x);
            }
        }
        cJSON_Delete(j);
    }
    cr_assert_eq(n, 4);
    free(text);
    tiny(&tc, dir, 12);
    tc.live_log = path;
    tc.live_every = 0;
    cr_assert_eq(train_run(&tc, err), AVZ_ERR_INPUT);
    cr_assert(strstr(err, "--live-every"), "%s", err);
}

Test(train, recipes_apply_on_top_and_unknown_names_list_the_known) {
    TrainConfig tc;
    train_config_default(&tc);
    tc.out_dir = "/tmp/x";
    tc.pe = PE_ROPE;
    tc.threads = 2;
    tc.steps = 7;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(train_recipe(&tc, "induction-2min", err), AVZ_OK, "%s", err);
    cr_assert_str_eq(tc.out_dir, "/tmp/x");
    cr_assert_eq(tc.pe, PE_LEARNED, "the recipe chooses its encoding (--pe, given, wins later)");
    cr_assert_eq(tc.n_embd, 128);
    cr_assert_eq(tc.n_positions, 32);
    cr_assert_eq(tc.threads, 2);
    cr_assert_neq(tc.steps, 7);
    cr_assert_str_eq(tc.recipe, "induction-2min");
    cr_assert_eq(corpus_mix_check(&tc.mix, err), AVZ_OK, "%s", err);
    tc.pe = PE_ALIBI;
    cr_assert_eq(train_recipe(&tc, "shipped", err), AVZ_OK, "%s", err);
    cr_assert_eq(tc.pe, PE_ALIBI, "the shipped recipe keeps the encoding given");
    TrainConfig def;
    train_config_default(&def);
    cr_assert_eq(tc.steps, def.steps);
    cr_assert_eq(tc.n_embd, def.n_embd);
    cr_assert_eq(train_recipe(&tc, "fast-please", err), AVZ_ERR_INPUT);
    cr_assert(strstr(err, "fast-please") && strstr(err, "induction-2min"), "%s", err);
}

/* The standard protocol past the training context: blocks that do not fit twice in
 * n_positions run on a computed encoding (and n_positions is put back), a learned
 * table is refused with its size. */
Test(lengths, detect_runs_past_the_context_except_for_a_learned_table) {
    char err[AVZ_ERR_LEN];
    PosEncoding pes[2] = {PE_ROPE, PE_LEARNED};
    for (int e = 0; e < 2; e++) {
        Model m;
        helper_model(&m, pes[e], 2, 2, 16, 16, 21);
        int n_pool, *pool = detect_pool_word_vocab(&m.vocab, &n_pool);
        DetectOpts o;
        lengths_detect_opts_2x(&o, &m.cfg);
        cr_assert_eq(o.n_lengths, 5);
        cr_assert_eq(o.lengths[0], 8);
        cr_assert_eq(o.lengths[4], 15, "the longest block fills 2 x 16 tokens");
        o.seqs_per_length = 2;
        Backend *be = backend_cpu_create();
        DetectReport r;
        AvzCode rc = lengths_detect(&be, &m, pool, n_pool, m.vocab.bos_id, &o, &r, err);
        cr_assert_eq(m.cfg.n_positions, 16, "n_positions was not put back");
        if (pes[e] == PE_LEARNED) {
            cr_assert_eq(rc, AVZ_ERR_INPUT);
            cr_assert(strstr(err, "16 rows"), "%s", err);
        } else {
            cr_assert_eq(rc, AVZ_OK, "%s", err);
            cr_assert_eq(r.n_lengths, 5);
            for (int k = 0; k < r.n_lengths; k++)
                cr_assert(isfinite(r.loss_first[k]) && isfinite(r.loss_second[k]));
            detect_report_free(&r);
        }
        backend_close(be);
        free(pool);
        model_free(&m);
    }
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

/* ---- the session API the Train view drives ---- */

/* The session's steps are train_run's: the same seed gives the same weights. */
Test(train, a_session_steps_like_train_run) {
    char dir[256], err[AVZ_ERR_LEN];
    helper_tmpdir(dir, sizeof dir);
    TrainConfig tc;
    tiny(&tc, dir, 12);
    tc.eval_every = 100;
    cr_assert_eq(train_run(&tc, err), AVZ_OK, "%s", err);
    Model ref;
    cr_assert_eq(model_load(&ref, dir, err), AVZ_OK, "%s", err);
    tiny(&tc, NULL, 12);
    TrainSession *s;
    cr_assert_eq(train_session_open(&s, &tc, err), AVZ_OK, "%s", err);
    cr_assert(isnan(train_session_loss(s)));
    for (int i = 0; i < 12; i++) cr_assert_eq(train_session_step(s, NULL, err), AVZ_OK, "%s", err);
    cr_assert_eq(train_session_steps(s), 12);
    Model *m = train_session_model(s);
    cr_assert_eq(memcmp(m->params_memory, ref.params_memory, 4 * ref.num_parameters), 0,
                 "the session's weights differ from train_run's");
    TrainScores sc;
    cr_assert_eq(train_session_scores(s, &sc, err), AVZ_OK, "%s", err);
    cr_assert_eq(sc.step, 12);
    cr_assert_eq(sc.L * sc.NH, 2);
    for (int h = 0; h < 2; h++) cr_assert(sc.prev[h] >= 0 && sc.prev[h] <= 1 && sc.induct[h] >= 0);
    cr_assert(isfinite(sc.val_loss) && isfinite(sc.loss_first) && isfinite(sc.train_loss));
    train_scores_free(&sc);
    /* saving: a whole folder that loads; an existing folder is refused, never overwritten */
    char out[300];
    snprintf(out, sizeof out, "%s/saved", dir);
    cr_assert_eq(train_session_save(s, out, err), AVZ_OK, "%s", err);
    Model back;
    cr_assert_eq(model_load(&back, out, err), AVZ_OK, "%s", err);
    cr_assert_eq(memcmp(back.params_memory, m->params_memory, 4 * m->num_parameters), 0);
    model_free(&back);
    cr_assert_eq(train_session_save(s, out, err), AVZ_ERR_INPUT);
    cr_assert(strstr(err, "already exists") && strstr(err, out), "%s", err);
    train_session_close(s);
    model_free(&ref);
    helper_rmtree(dir);
}

/* A run that diverges (here: a weight made NaN after a few good steps, as an exploding
 * update would) stops at the next step with the step named, and the weights go back to
 * the last good point, so Save keeps a usable model. */
Test(train, a_diverging_session_stops_and_keeps_the_last_good_weights) {
    char err[AVZ_ERR_LEN];
    TrainConfig tc;
    tiny(&tc, NULL, 40);
    TrainSession *s;
    cr_assert_eq(train_session_open(&s, &tc, err), AVZ_OK, "%s", err);
    for (int k = 0; k < 5; k++) cr_assert_eq(train_session_step(s, NULL, err), AVZ_OK, "%s", err);
    train_session_keep(s);
    Model *m = train_session_model(s);
    size_t n = m->num_parameters;
    float *good = malloc(4 * n);
    memcpy(good, m->params_memory, 4 * n);
    cr_assert_eq(train_session_step(s, NULL, err), AVZ_OK, "%s", err);
    m->params_memory[n / 2] = NAN;
    model_params_changed(m);
    float loss = 0;
    AvzCode rc = train_session_step(s, &loss, err);
    int same = memcmp(m->params_memory, good, 4 * n) == 0;
    free(good);
    cr_assert_eq(rc, AVZ_ERR_INPUT, "a NaN weight did not stop the run (loss %g)", loss);
    cr_assert(strstr(err, "diverged") && strstr(err, "step 7") && strstr(err, "step 5"), "%s", err);
    cr_assert(same, "the weights are not those of the last good point");
    train_session_close(s);
}

/* A learned-position model with a short context (16) still gets its card: probe passages
 * longer than its table are left out instead of failing the run at its last step. */
Test(train, a_short_context_learned_model_finishes_with_its_card) {
    char dir[256], err[AVZ_ERR_LEN];
    helper_tmpdir(dir, sizeof dir);
    TrainConfig tc;
    tiny(&tc, dir, 10);
    tc.pe = PE_LEARNED;
    cr_assert_eq(train_run(&tc, err), AVZ_OK, "%s", err);
    size_t len;
    char *card = slurp(dir, "README.md", &len);
    cr_assert(strstr(card, "Corpus probes"), "%s", card);
    free(card);
    helper_rmtree(dir);
}

/* Randomized positions (train.h's random_positions): T distinct positions from [0, n),
 * in increasing order, each position as likely as any other. */
Test(train, random_positions_are_distinct_increasing_and_uniform) {
    enum { TT = 8, N = 16, DRAWS = 20000 };
    AvzRng r;
    avz_rng_init(&r, 3);
    int pos[TT], count[N] = {0};
    for (int d = 0; d < DRAWS; d++) {
        posenc_random_positions(pos, TT, N, &r);
        for (int t = 0; t < TT; t++) {
            cr_assert(pos[t] >= 0 && pos[t] < N, "position %d out of [0, %d)", pos[t], N);
            if (t) cr_assert_gt(pos[t], pos[t - 1], "draw %d not increasing at row %d", d, t);
            count[pos[t]]++;
        }
    }
    for (int i = 0; i < N; i++)   /* expected DRAWS * TT / N = 10000 each; sd about 70 */
        cr_expect(fabs(count[i] - 10000.0) < 400, "position %d drawn %d times", i, count[i]);
    posenc_random_positions(pos, TT, TT, &r);   /* as many positions as rows: all of them */
    for (int t = 0; t < TT; t++) cr_expect_eq(pos[t], t);
}

/* Only RoPE reads positions through a rotation of q and k, and the range must hold the
 * context; a short run with it trains (the loss goes down) and its card says how. */
Test(train, random_positions_train_rope_and_refuse_the_rest) {
    char dir[256], err[AVZ_ERR_LEN];
    TrainConfig tc;
    tiny(&tc, NULL, 40);
    tc.random_positions = 64;
    TrainSession *s;
    cr_assert_eq(train_session_open(&s, &tc, err), AVZ_ERR_INPUT, "alibi was accepted");
    cr_assert(strstr(err, "--random-positions 64") && strstr(err, "rope"), "%s", err);
    tc.pe = PE_ROPE;
    tc.random_positions = 8;
    cr_assert_eq(train_session_open(&s, &tc, err), AVZ_ERR_INPUT, "8 < context 16 accepted");
    cr_assert(strstr(err, "16"), "%s", err);
    helper_tmpdir(dir, sizeof dir);
    tiny(&tc, dir, 60);
    tc.pe = PE_ROPE;
    tc.random_positions = 64;
    cr_assert_eq(train_run(&tc, err), AVZ_OK, "%s", err);
    size_t len;
    char *card = slurp(dir, "README.md", &len);
    cr_expect(strstr(card, "--random-positions 64"), "the card does not say how:\n%s", card);
    free(card);
    char *log = slurp(dir, "train_log.csv", &len);
    float first = -1, last = -1;
    for (char *line = strchr(log, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        float loss;
        if (sscanf(line + 1, "%*d,%*d,%f", &loss) == 1) { if (first < 0) first = loss; last = loss; }
    }
    free(log);
    cr_expect(first > 0 && last < first - 0.2f, "loss %.3f then %.3f", first, last);
}
