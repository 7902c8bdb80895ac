/* trainer.c: the Train view's run on its own thread (see trainer.h). The thread owns
 * the training session and its model; the UI only sets requests and reads published
 * points, so a frame never waits for a training step. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "gui/app.h"
#include "detect.h"

/* The recipe menu. "Induction in 2 minutes" is train.c's induction-2min recipe;
 * "Tiny" trains in seconds (a loss that falls, no promise of heads); "Shipped" is
 * what `make models` trains. */
static const TrainPreset PRESETS[] = {
    {"Induction in 2 minutes", "induction-2min", "induction-2min", 0, 0, 0, 0, 0, 0},
    {"Shipped model recipe", "shipped", "shipped", 0, 0, 0, 0, 0, 0},
    {"Tiny (seconds)", "tiny", NULL, 2, 2, 32, 32, 200, 8},
};

const TrainPreset *train_presets(int *n) {
    *n = (int)(sizeof PRESETS / sizeof PRESETS[0]);
    return PRESETS;
}

int train_preset_find(const char *name) {
    int n;
    const TrainPreset *p = train_presets(&n);
    for (int i = 0; i < n; i++)
        if (strcmp(p[i].name, name) == 0) return i;
    return -1;
}

/* The recipe of the chosen preset with the view's encoding, steps, shape and mix on top
 * (a width that the heads do not divide is rounded up; blocks fit twice in the context). */
void train_view_config(const TrainView *t, TrainConfig *tc) {
    int n;
    const TrainPreset *p = &train_presets(&n)[t->preset];
    train_config_default(tc);
    if (p->recipe) {
        char err[AVZ_ERR_LEN];
        train_recipe(tc, p->recipe, err);   /* a name from our own table: cannot fail */
    } else {
        tc->n_layer = p->n_layer, tc->n_head = p->n_head, tc->n_embd = p->n_embd;
        tc->n_positions = p->n_positions, tc->steps = p->steps, tc->batch = p->batch;
        tc->warmup = p->steps / 10 > 1 ? p->steps / 10 : 1;
    }
    tc->pe = t->pe;
    if (t->steps > 0) tc->steps = t->steps;
    if (t->layers > 0) tc->n_layer = t->layers;
    if (t->heads > 0) tc->n_head = t->heads;
    if (t->width > 0) tc->n_embd = t->width;
    if (t->context > 0) tc->n_positions = t->context;
    if (t->blocks >= 0) tc->mix.w_blocks = t->blocks;
    if (tc->n_embd % tc->n_head) tc->n_embd = tc->n_head * (tc->n_embd / tc->n_head + 1);
    if (tc->mix.block_max > (tc->n_positions - 2) / 2) tc->mix.block_max = (tc->n_positions - 2) / 2;
    if (tc->warmup >= tc->steps) tc->warmup = tc->steps / 10 > 1 ? tc->steps / 10 : 1;
    tc->quiet = 1;
    tc->threads = 0;
    tc->eval_every = tc->steps;   /* the session never evaluates by itself */
}

/* ---- the thread ---- */

static void nap(void) {
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
}

/* The probe text: <bos>, then TRAIN_PROBE_N words drawn uniformly from the whole
 * vocabulary (as the standard protocol draws them), then the same words again, so a
 * previous-token head draws the diagonal below the main one and an induction head a
 * stripe TRAIN_PROBE_N - 1 cells left of it in the second half. */
static void make_probe(TrainView *t, const Model *m) {
    int n_pool, *pool = detect_pool_word_vocab(&m->vocab, &n_pool);
    AvzRng rng;
    avz_rng_init(&rng, 20221208);
    t->probe[0] = m->vocab.bos_id;
    for (int i = 0; i < TRAIN_PROBE_N; i++) {
        int id = pool[avz_rng_u64(&rng) % (uint64_t)n_pool];
        t->probe[1 + i] = t->probe[1 + TRAIN_PROBE_N + i] = id;
    }
    free(pool);
    for (int i = 0; i < TRAIN_PROBE_T; i++)
        snprintf(t->probe_words[i], sizeof t->probe_words[i], "%s", m->vocab.words[t->probe[i]]);
}

/* One point: the live scores and every head's map of the probe text. */
static AvzCode measure(TrainView *t, TrainSession *s, char *err) {
    int k = t->n_points;   /* only this thread writes n_points */
    if (k >= TRAIN_MAX_POINTS) return AVZ_OK;
    TrainScores sc;
    AvzCode rc = train_session_scores(s, &sc, err);
    if (rc) return rc;
    Model *m = train_session_model(s);
    int L = m->cfg.n_layer, NH = m->cfg.n_head, T = TRAIN_PROBE_T;
    if ((rc = model_forward(m, t->probe, NULL, 1, T, NULL, err))) {
        train_scores_free(&sc);
        return rc;
    }
    float *maps = avz_xmalloc(sizeof(float) * (size_t)L * NH * T * T);
    model_capture_all(m, 0, maps);
    t->pts[k] = sc;
    t->snap[k] = maps;
    pthread_mutex_lock(&t->job.mu);
    t->n_points = k + 1;
    pthread_mutex_unlock(&t->job.mu);
    return AVZ_OK;
}

static void set_phase(TrainView *t, TrainPhase p, const char *msg) {
    pthread_mutex_lock(&t->job.mu);
    t->phase = p;
    if (msg) snprintf(t->msg, sizeof t->msg, "%s", msg), t->msg_new = 1;
    pthread_mutex_unlock(&t->job.mu);
}

/* The run's points so far as a live log (the format of `attnviz train --live-log`) in
 * dir/train_live.jsonl, written to a temp file and renamed, so that `attnviz export
 * --train-curves` draws the saved model's curves as PNG charts. */
static AvzCode save_live_log(TrainView *t, const char *dir, char *err) {
    char path[4500], tmp[4600];
    snprintf(path, sizeof path, "%s/train_live.jsonl", dir);
    snprintf(tmp, sizeof tmp, "%s.partial", path);
    remove(tmp);
    AvzCode rc = AVZ_OK;
    for (int k = 0; !rc && k < t->n_points; k++) rc = train_scores_append(tmp, &t->pts[k], err);
    if (!rc && rename(tmp, path) != 0)
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: cannot rename into place", path);
    if (rc) remove(tmp);
    return rc;
}

/* A pending save request, done between steps. */
static void serve_save(TrainView *t, TrainSession *s) {
    char dir[4400];
    pthread_mutex_lock(&t->job.mu);
    snprintf(dir, sizeof dir, "%s", t->save_dir);
    pthread_mutex_unlock(&t->job.mu);
    if (!dir[0]) return;
    char err[AVZ_ERR_LEN] = "";
    AvzCode rc = train_session_save(s, dir, err);
    if (!rc) rc = save_live_log(t, dir, err);
    pthread_mutex_lock(&t->job.mu);
    t->save_dir[0] = '\0';
    t->save_done = 1;
    t->save_rc = rc;
    snprintf(t->save_msg, sizeof t->save_msg, "%s", rc ? err : dir);
    pthread_mutex_unlock(&t->job.mu);
}

static void trainer_main(Job *job, void *user) {
    TrainView *t = user;
    char err[AVZ_ERR_LEN] = "";
    TrainSession *s;
    if (train_session_open(&s, &t->tc, err)) { set_phase(t, TRAIN_FAILED, err); return; }
    Model *m = train_session_model(s);
    t->L = m->cfg.n_layer, t->NH = m->cfg.n_head;
    make_probe(t, m);
    if (measure(t, s, err)) set_phase(t, TRAIN_FAILED, err);
    double wall = 0;
    while (!job_cancelled(job)) {
        serve_save(t, s);
        pthread_mutex_lock(&t->job.mu);
        int pause = t->want_pause, stop = t->want_stop;
        TrainPhase ph = t->phase;
        pthread_mutex_unlock(&t->job.mu);
        int done = train_session_steps(s);
        if (ph == TRAIN_FAILED || ph == TRAIN_ENDED || stop || done >= t->tc.steps) {
            if (ph != TRAIN_FAILED) set_phase(t, TRAIN_ENDED, NULL);
            nap();   /* the weights stay for Save until the view starts another run */
            continue;
        }
        if (pause) { set_phase(t, TRAIN_PAUSED, NULL); nap(); continue; }
        if (ph != TRAIN_RUNNING) set_phase(t, TRAIN_RUNNING, NULL);
        double t0 = avz_now();
        float loss;
        AvzCode rc = train_session_step(s, &loss, err);
        wall += avz_now() - t0;
        done = train_session_steps(s);
        if (!rc && (done % t->every == 0 || done == t->tc.steps)) {
            rc = measure(t, s, err);
            if (!rc) train_session_keep(s);
        }
        pthread_mutex_lock(&t->job.mu);
        t->steps_done = done;
        t->loss = train_session_loss(s);
        t->wall_s = wall;
        pthread_mutex_unlock(&t->job.mu);
        job_progress(job, done, t->tc.steps);
        if (rc) set_phase(t, TRAIN_FAILED, err);
    }
    serve_save(t, s);
    train_session_close(s);
}

/* ---- the UI side ---- */

void app_train_init(App *a) {
    TrainView *t = &a->train;
    job_init(&t->job);
    t->preset = 0;
    t->pe = PE_LEARNED;   /* the first preset's */
    t->steps = 0;
    t->blocks = -1;
    t->scrub = -1;
    a->script_train_steps = -1;
}

static void drop_points(TrainView *t) {
    for (int k = 0; k < t->n_points; k++) {
        train_scores_free(&t->pts[k]);
        free(t->snap[k]);
        t->snap[k] = NULL;
    }
    t->n_points = 0;
}

static void end_thread(TrainView *t) {
    job_stop(&t->job);
    drop_points(t);
    t->phase = TRAIN_NONE;
}

void app_train_start(App *a) {
    TrainView *t = &a->train;
    end_thread(t);
    train_view_config(t, &t->tc);
    t->every = t->tc.steps / 100 > 10 ? t->tc.steps / 100 : 10;
    if (t->every > t->tc.steps) t->every = t->tc.steps;
    t->want_pause = t->want_stop = 0;
    t->save_dir[0] = '\0';
    t->save_done = 0;
    t->steps_done = 0;
    t->loss = NAN;
    t->wall_s = 0;
    t->msg[0] = '\0';
    t->msg_new = 0;
    t->scrub = -1;
    t->sel = 0;
    t->phase = TRAIN_RUNNING;
    if (job_start(&t->job, trainer_main, t, t->tc.steps) != 0) {
        t->phase = TRAIN_NONE;
        app_error(a, "train: cannot start a thread");
        return;
    }
    app_status(a, "training %s: %d layers x %d heads, width %d, context %d, %d steps of %d "
               "sequences", pe_name(t->tc.pe), t->tc.n_layer, t->tc.n_head, t->tc.n_embd,
               t->tc.n_positions, t->tc.steps, t->tc.batch);
}

void app_train_pause(App *a, int pause) {
    TrainView *t = &a->train;
    pthread_mutex_lock(&t->job.mu);
    t->want_pause = pause;
    pthread_mutex_unlock(&t->job.mu);
    app_status(a, pause ? "training paused" : "training resumed");
}

void app_train_stop(App *a) {
    TrainView *t = &a->train;
    pthread_mutex_lock(&t->job.mu);
    t->want_stop = 1;
    pthread_mutex_unlock(&t->job.mu);
    app_status(a, "training stopped at step %d (Save keeps the weights)", t->steps_done);
}

TrainPhase app_train_phase(App *a, int *steps_done, int *n_points) {
    TrainView *t = &a->train;
    pthread_mutex_lock(&t->job.mu);
    TrainPhase p = t->phase;
    if (steps_done) *steps_done = t->steps_done;
    if (n_points) *n_points = t->n_points;
    pthread_mutex_unlock(&t->job.mu);
    return p;
}

/* A fresh folder name in the export folder: attnviz-train-alibi-step3000[-2]. */
static void fresh_dir(App *a, char *dir, size_t n) {
    TrainView *t = &a->train;
    struct stat sb;
    for (int k = 1; k < 1000; k++) {
        if (k == 1) snprintf(dir, n, "%s/attnviz-train-%s-step%d", a->export_dir,
                             pe_name(t->tc.pe), t->steps_done);
        else snprintf(dir, n, "%s/attnviz-train-%s-step%d-%d", a->export_dir,
                      pe_name(t->tc.pe), t->steps_done, k);
        if (stat(dir, &sb) != 0) return;
    }
}

void app_train_save(App *a, const char *dir) {
    TrainView *t = &a->train;
    TrainPhase p = app_train_phase(a, NULL, NULL);
    if (p == TRAIN_NONE || !t->job.started) {
        app_error(a, "train: nothing to save yet (press Start)");
        return;
    }
    char d[4400];
    if (dir && dir[0]) snprintf(d, sizeof d, "%s", dir);
    else fresh_dir(a, d, sizeof d);
    pthread_mutex_lock(&t->job.mu);
    snprintf(t->save_dir, sizeof t->save_dir, "%s", d);
    t->save_done = 0;
    pthread_mutex_unlock(&t->job.mu);
    app_status(a, "saving %s...", d);
}

int app_train_saving(App *a) {
    TrainView *t = &a->train;
    pthread_mutex_lock(&t->job.mu);
    int busy = t->save_dir[0] != '\0' || t->save_done;   /* done but not yet reported */
    pthread_mutex_unlock(&t->job.mu);
    return busy;
}

void app_train_poll(App *a) {
    TrainView *t = &a->train;
    if (!t->job.started) return;
    pthread_mutex_lock(&t->job.mu);
    int done = t->save_done;
    AvzCode rc = t->save_rc;
    char msg[4400];
    snprintf(msg, sizeof msg, "%s", t->save_msg);
    t->save_done = 0;
    char why[AVZ_ERR_LEN] = "";
    if (t->msg_new) snprintf(why, sizeof why, "%s", t->msg), t->msg_new = 0;
    pthread_mutex_unlock(&t->job.mu);
    if (done && rc) app_error(a, "train: %s", msg);
    if (done && !rc) {
        snprintf(t->saved_dir, sizeof t->saved_dir, "%s", msg);
        app_status(a, "saved the model to %s (Open shows it in every view)", msg);
    }
    if (why[0]) app_error(a, "train: %s", why);   /* said once; the phase stays failed */
}

void app_train_free(App *a) {
    end_thread(&a->train);
    job_destroy(&a->train.job);
    for (int i = 0; i < TRAIN_MAX_HEADS + 1; i++) render_map_release(a->r, &a->train.tex[i]);
}

static float best_induction(const TrainScores *p) {
    float v = 0;
    for (int h = 0; h < p->L * p->NH; h++) v = fmaxf(v, p->induct[h]);
    return v;
}

/* The phase change: the first step where the best induction score has come half of
 * the way from its first value to its highest so far (the middle of the jump, however
 * many measurements the jump spans); -1 until it has risen by 0.2 or more. */
int train_jump_step(const TrainView *t, int n, float *rise) {
    if (rise) *rise = 0;
    if (n < 2) return -1;
    float v0 = best_induction(&t->pts[0]), hi = v0;
    for (int k = 1; k < n; k++) hi = fmaxf(hi, best_induction(&t->pts[k]));
    if (rise) *rise = hi - v0;
    if (hi - v0 < 0.2f) return -1;
    for (int k = 1; k < n; k++)
        if (best_induction(&t->pts[k]) >= v0 + 0.5f * (hi - v0)) return t->pts[k].step;
    return -1;
}
