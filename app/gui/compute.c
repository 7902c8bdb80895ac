/* gui_compute.c: what the app computes, and when (see gui.h).
 *
 * Recompute only what changed:
 *   text or model changed  -> tokenize, one forward pass (base engine), and the
 *                             ablated pass if heads are off; every cached map is
 *                             dropped (a->gen and a->text_gen move on)
 *   head selection changed -> nothing runs: app_map captures just that head from
 *                             the saved q, k and log-sum-exp, once
 *   ablation changed       -> only the ablated pass (abl engine) runs again
 *   roles, sweep           -> the worker thread, on its own copy of the model
 * Two engines (model + device) hold the base and the ablated pass so that both
 * sets of maps can be captured at any time. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "aggregate.h"
#include "assets.h"
#include "gui/gui.h"
#include "session.h"

int app_T(const App *a) { return a->has_tokens ? a->tok.n : 0; }
int app_L(const App *a) { return a->base.loaded ? a->base.model.cfg.n_layer : 0; }
int app_NH(const App *a) { return a->base.loaded ? a->base.model.cfg.n_head : 0; }
const char *app_pe_name(const App *a) { return pe_name(a->base.model.cfg.pe); }
int app_n_ablated(const App *a) {
    int n = 0;
    for (int i = 0; i < app_L(a) * app_NH(a); i++) n += a->ablate[i];
    return n;
}

/* ---- caches ---- */

static void free_maps(float **maps, int n) {
    if (!maps) return;
    for (int i = 0; i < n; i++) {
        free(maps[i]);
        maps[i] = NULL;
    }
}

/* Drops every map computed from the ablated pass. */
static void drop_ablated(App *a) {
    free_maps(a->abl_maps, app_L(a) * app_NH(a));
    a->diff_key = 0;
    a->gen++;
}

/* Drops every map computed from the base pass (and the ablated ones). */
static void drop_all(App *a) {
    free_maps(a->maps, app_L(a) * app_NH(a));
    a->agg_key = 0;
    drop_ablated(a);
    a->text_gen++;
}

static float *capture(Engine *e, int T, int layer, int head) {
    float *m = avz_xmalloc(sizeof(float) * (size_t)T * T);
    e->be->capture(e->be, &e->model, layer, head, 0, m);
    return m;
}

const float *app_map(App *a, int layer, int head) {
    int i = layer * app_NH(a) + head;
    if (!a->maps[i]) a->maps[i] = capture(&a->base, app_T(a), layer, head);
    return a->maps[i];
}

const float *app_abl_map(App *a, int layer, int head) {
    if (!a->ares_valid) return app_map(a, layer, head);
    int i = layer * app_NH(a) + head;
    if (!a->abl_maps[i]) a->abl_maps[i] = capture(&a->abl, app_T(a), layer, head);
    return a->abl_maps[i];
}

const float *app_diff(App *a) {
    int T = app_T(a);
    unsigned long key = (a->gen << 16) | (unsigned long)(a->layer * app_NH(a) + a->head + 1);
    if (a->diff_key == key) return a->diff;
    free(a->diff);
    a->diff = avz_xmalloc(sizeof(float) * (size_t)T * T);
    a->diff_max = aggregate_diff(app_map(a, a->layer, a->head), app_abl_map(a, a->layer, a->head),
                                 T * T, a->diff);
    a->diff_key = key;
    return a->diff;
}

void app_aggregates(App *a, const float **mean, const float **roll) {
    int T = app_T(a), NH = app_NH(a), L = a->layer + 1;
    size_t nn = (size_t)T * T;
    unsigned long key = (a->text_gen << 16) | (unsigned long)(a->layer + 1);
    if (a->agg_key != key) {
        float *heads = avz_xmalloc(sizeof(float) * nn * NH);
        float *means = avz_xmalloc(sizeof(float) * nn * L);
        float *scratch = avz_xmalloc(sizeof(float) * nn * 2);
        for (int l = 0; l < L; l++) {
            for (int h = 0; h < NH; h++) memcpy(heads + h * nn, app_map(a, l, h), sizeof(float) * nn);
            aggregate_mean(heads, NH, T, means + l * nn);
        }
        free(a->agg_mean);
        free(a->agg_roll);
        a->agg_mean = avz_xmalloc(sizeof(float) * nn);
        a->agg_roll = avz_xmalloc(sizeof(float) * nn);
        memcpy(a->agg_mean, means + (size_t)(L - 1) * nn, sizeof(float) * nn);
        aggregate_rollout(means, L, T, a->agg_roll, scratch);
        free(heads);
        free(means);
        free(scratch);
        a->agg_key = key;
    }
    *mean = a->agg_mean;
    *roll = a->agg_roll;
}

float app_shared_vmax(App *a) {
    if (a->shared_key == a->text_gen) return a->shared_vmax;
    int T = app_T(a);
    float m = 0.0f;
    for (int l = 0; l < app_L(a); l++)
        for (int h = 0; h < app_NH(a); h++) {
            const float *p = app_map(a, l, h);
            for (int i = 0; i < T * T; i++) m = p[i] > m ? p[i] : m;
        }
    a->shared_vmax = m > 0.0f ? m : 1.0f;
    a->shared_key = a->text_gen;
    return a->shared_vmax;
}

/* ---- passes ---- */

static int *shifted_targets(const Tokens *t) {
    int *tg = avz_xmalloc(sizeof(int) * t->n);
    for (int i = 0; i < t->n; i++) tg[i] = i + 1 < t->n ? t->ids[i + 1] : -1;
    return tg;
}

/* The ablated pass (abl engine) when heads are off; drops its maps. */
static void run_ablation(App *a) {
    drop_ablated(a);
    ablation_result_free(&a->ares);
    a->ares_valid = 0;
    if (!a->has_tokens || app_n_ablated(a) == 0) return;
    char note[AVZ_ERR_LEN] = "", err[AVZ_ERR_LEN];
    AvzCode rc = ablate_run(&a->abl.be, &a->abl.model, a->tok.ids, a->tok.n, a->ablate,
                            a->ablate_mode, 5, &a->ares, note, err);
    if (rc) { app_error(a, "ablation: %s", err); return; }
    if (note[0]) app_status(a, "%s", note);
    a->ares_valid = 1;
}

/* The base pass of tok (which the app then owns); returns 0 or -1 (status set). */
static int run_base(App *a, Tokens *tok) {
    char note[AVZ_ERR_LEN] = "", err[AVZ_ERR_LEN];
    int *tg = shifted_targets(tok);
    ForwardOpts o = {0};
    AvzCode rc = backend_forward(&a->base.be, &a->base.model, tok->ids, tg, 1, tok->n, &o, note,
                                 err);
    free(tg);
    if (rc) {
        tokens_free(tok);
        snprintf(a->text_error, sizeof a->text_error, "%s", err);
        app_error(a, "%s", err);
        return -1;
    }
    if (note[0]) app_status(a, "%s", note);
    drop_all(a);
    if (a->has_tokens) tokens_free(&a->tok);
    a->tok = *tok;
    a->has_tokens = 1;
    int V = a->base.model.cfg.vocab_size;
    ablate_topk(model_probs(&a->base.model) + (size_t)(tok->n - 1) * V, V, 5, a->top_ids, a->top_p);
    a->loss_base = a->base.model.mean_loss;
    return 0;
}

static void describe_text(App *a) {
    if (a->tok.n_unknown) {
        char list[400];
        tokens_unknown_list(&a->tok, list, sizeof list);
        app_error(a, "%d token%s; unknown to this model (shown as <unk>, red in the text): %s",
                  a->tok.n, a->tok.n == 1 ? "" : "s", list);
    } else {
        app_status(a, "%d tokens, computed on %s", a->tok.n, a->base.be->device);
    }
}

void app_text_changed(App *a) {
    if (!a->base.loaded) return;
    Tokens tok;
    char err[AVZ_ERR_LEN];
    int max_t = config_max_len(&a->base.model.cfg);
    if (max_t > GUI_MAX_T) max_t = GUI_MAX_T;
    if (tokenize(&a->base.model.vocab, a->edit.s, max_t, &tok, err)) {
        snprintf(a->text_error, sizeof a->text_error, "%.400s%s", err,
                 max_t == GUI_MAX_T ? " (the app shows at most 1024 tokens)" : "");
        app_error(a, "%s; the maps still show the previous text", a->text_error);
        return;
    }
    a->text_error[0] = '\0';
    app_cancel_sweep(a);
    if (run_base(a, &tok)) return;
    run_ablation(a);
    a->sweep_valid = 0;
    if (a->pin_row >= a->tok.n) a->pin_row = -1;
    a->zoom = 1.0f;
    a->pan_r = a->pan_c = 0.0f;
    describe_text(a);
}

void app_set_text(App *a, const char *text) {
    textedit_set(&a->edit, text);
    app_text_changed(a);
}

void app_select(App *a, int layer, int head) {
    int L = app_L(a), NH = app_NH(a);
    if (L == 0) return;
    a->layer = (layer % L + L) % L;
    a->head = (head % NH + NH) % NH;
    a->lines_heads |= 1u << (a->head < GUI_MAX_LINE_HEADS ? a->head : 0);
}

void app_toggle_ablation(App *a, int layer, int head) {
    if (layer < 0 || layer >= app_L(a) || head < 0 || head >= app_NH(a)) return;
    a->ablate[layer * app_NH(a) + head] ^= 1;
    run_ablation(a);
    app_status(a, "layer %d head %d switched %s; %d head%s off", layer, head,
               a->ablate[layer * app_NH(a) + head] ? "off" : "on", app_n_ablated(a),
               app_n_ablated(a) == 1 ? "" : "s");
}

void app_clear_ablation(App *a) {
    memset(a->ablate, 0, (size_t)app_L(a) * app_NH(a));
    run_ablation(a);
}

void app_set_ablate_mode(App *a, AblateMode m) {
    a->ablate_mode = m;
    run_ablation(a);
    a->sweep_valid = 0;
}

/* ---- model loading ---- */

/* The folder of a model: dir_or_name itself when it exists, else a shipped model
 * by name ("rope" -> assets/models/rope) or an asset path, found with assets_find. */
static void resolve_model(const char *s, char *out, size_t len) {
    struct stat sb;
    if (stat(s, &sb) == 0) { snprintf(out, len, "%s", s); return; }
    char rel[600];
    snprintf(rel, sizeof rel, "assets/models/%s", s);
    if (!strchr(s, '/') && assets_find(rel, out, len)) return;
    if (s[0] != '/' && assets_find(s, out, len)) return;
    snprintf(out, len, "%s", s);
}

/* Per-model arrays, sized L * NH. */
static void alloc_model_state(App *a) {
    int n = app_L(a) * app_NH(a);
    a->ablate = avz_xcalloc(n, 1);
    a->maps = avz_xcalloc(n, sizeof(float *));
    a->abl_maps = avz_xcalloc(n, sizeof(float *));
    a->role_label = avz_xcalloc(n, sizeof *a->role_label);
    a->role_score = avz_xcalloc((size_t)ROLE_COUNT * n, sizeof(float));
    a->sweep = avz_xcalloc(n, sizeof(float));
    a->tex_thumbs = avz_xcalloc(n, sizeof(RenderMap));
    a->n_thumbs = n;
}

static void free_model_state(App *a) {
    int n = app_L(a) * app_NH(a);
    free_maps(a->maps, n);
    free_maps(a->abl_maps, n);
    free(a->maps);
    free(a->abl_maps);
    free(a->ablate);
    free(a->role_label);
    free(a->role_score);
    free(a->sweep);
    for (int i = 0; i < a->n_thumbs; i++) render_map_release(a->r, &a->tex_thumbs[i]);
    free(a->tex_thumbs);
    a->maps = a->abl_maps = NULL;
    a->ablate = NULL;
    a->role_label = NULL;
    a->role_score = NULL;
    a->sweep = NULL;
    a->tex_thumbs = NULL;
    a->n_thumbs = 0;
    ablation_result_free(&a->ares);
    a->ares_valid = 0;
}

static void model_name_of(const char *dir, char *out, size_t len) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/') buf[--n] = '\0';
    const char *slash = strrchr(buf, '/'), *name = slash ? slash + 1 : buf;
    size_t k = strlen(name) < len ? strlen(name) : len - 1;
    memcpy(out, name, k);
    out[k] = '\0';
}

AvzCode app_load_model(App *a, const char *dir_or_name, char *err) {
    char dir[4096], note[AVZ_ERR_LEN] = "";
    resolve_model(dir_or_name, dir, sizeof dir);
    Engine base, abl;
    AvzCode rc = engine_open(&base, dir, a->device, note, err);
    if (rc) return rc;
    if ((rc = engine_open(&abl, dir, a->device, NULL, err))) {
        engine_close(&base);
        return rc;
    }
    app_cancel_sweep(a);
    free_model_state(a);
    engine_close(&a->base);
    engine_close(&a->abl);
    a->base = base;
    a->abl = abl;
    snprintf(a->model_dir, sizeof a->model_dir, "%s", dir);
    model_name_of(dir, a->model_name, sizeof a->model_name);
    alloc_model_state(a);
    a->model_gen++;
    a->roles_ready = a->roles_failed = 0;
    a->sweep_valid = a->sweep_wanted = 0;
    if (a->has_tokens) tokens_free(&a->tok);
    a->has_tokens = 0;
    app_select(a, a->layer, a->head);
    a->lines_heads = 1u << a->head;
    app_text_changed(a);
    if (note[0]) app_status(a, "%s", note);
    return AVZ_OK;
}

/* ---- the worker thread ---- */

static int sweep_progress(void *user, int done, int total) {
    Worker *w = user;
    return job_progress(&w->job, done, total);
}

static void worker_main(Job *job, void *user) {
    (void)job;
    Worker *w = user;
    AvzCode rc = AVZ_OK;
    if (!w->eng.loaded || strcmp(w->eng_dir, w->model_dir) != 0) {
        engine_close(&w->eng);
        rc = engine_open(&w->eng, w->model_dir, w->device, NULL, w->err);
        snprintf(w->eng_dir, sizeof w->eng_dir, "%s", rc ? "" : w->model_dir);
    }
    if (!rc && w->kind == JOB_ROLES) {
        rc = probes_run(&w->eng.be, &w->eng.model, PROBES_SEED, 30, NULL, &w->roles, w->err);
    } else if (!rc && w->kind == JOB_SWEEP) {
        int n = w->eng.model.cfg.n_layer * w->eng.model.cfg.n_head;
        w->importance = avz_xmalloc(sizeof(float) * n);
        char note[AVZ_ERR_LEN];
        rc = ablate_sweep(&w->eng.be, &w->eng.model, w->ids, w->T, w->mode, w->importance,
                          &w->loss_base, sweep_progress, w, note, w->err);
    }
    if (w->eng.loaded) snprintf(w->device_name, sizeof w->device_name, "%s", w->eng.be->device);
    w->rc = rc;
}

static void worker_start(App *a, JobKind kind) {
    Worker *w = &a->worker;
    w->kind = kind;
    snprintf(w->model_dir, sizeof w->model_dir, "%s", a->model_dir);
    snprintf(w->device, sizeof w->device, "%s", a->device);
    free(w->ids);
    w->T = a->tok.n;
    w->ids = avz_xmalloc(sizeof(int) * w->T);
    memcpy(w->ids, a->tok.ids, sizeof(int) * w->T);
    w->mode = a->ablate_mode;
    w->model_gen = a->model_gen;
    w->text_gen = a->text_gen;
    w->rc = AVZ_OK;
    w->err[0] = '\0';
    w->importance = NULL;
    memset(&w->roles, 0, sizeof w->roles);
    if (job_start(&w->job, worker_main, w, kind == JOB_SWEEP ? app_L(a) * app_NH(a) : 1)) {
        app_error(a, "cannot start a worker thread: head roles and the sweep are unavailable");
        a->roles_failed = 1;
    }
}

int app_worker_busy(App *a, JobKind *kind, int *done, int *total) {
    Worker *w = &a->worker;
    if (job_state(&w->job, done, total) == JOB_IDLE) return 0;
    if (kind) *kind = w->kind;
    return 1;
}

void app_start_sweep(App *a) {
    if (!a->has_tokens || a->tok.n < 2) {
        app_error(a, "the sweep needs a text of at least one word");
        return;
    }
    a->sweep_wanted = 1;
    a->sweep_valid = 0;
    app_status(a, "sweep: switching off each of the %d heads in turn...", app_L(a) * app_NH(a));
}

void app_cancel_sweep(App *a) {
    int pending = a->sweep_wanted, running = 0;
    a->sweep_wanted = 0;
    Worker *w = &a->worker;
    if (w->kind == JOB_SWEEP) running = job_cancel(&w->job);
    if (running) app_status(a, "sweep cancelled (stopping after the current head)");
    else if (pending) app_status(a, "sweep cancelled before it started");
}

/* "previous-token 0.82" for the best role clearly above uniform, else "mixed". */
static void label_roles(App *a, const ProbeReport *rep) {
    int n = rep->L * rep->NH;
    if (n != app_L(a) * app_NH(a)) return;
    memcpy(a->role_score, rep->score, sizeof(float) * ROLE_COUNT * n);
    memcpy(a->role_uniform, rep->uniform, sizeof a->role_uniform);
    for (int i = 0; i < n; i++) {
        int best = -1;
        float bs = 0.0f;
        for (int r = 0; r < ROLE_COUNT; r++) {
            float s = rep->score[r * n + i];
            if (s > 0.3f && s > 2.0f * rep->uniform[r] && s > bs) best = r, bs = s;
        }
        if (best < 0) snprintf(a->role_label[i], sizeof a->role_label[i], "mixed");
        else snprintf(a->role_label[i], sizeof a->role_label[i], "%s %.2f",
                      probes_role_name((HeadRole)best), bs);
    }
    a->roles_ready = 1;
}

static void collect_sweep(App *a, Worker *w) {
    if (w->job.cancel) { /* Esc, a new text or model: no results, even if it had finished */
        if (w->text_gen == a->text_gen)
            app_status(a, "sweep cancelled after %d of %d heads", w->job.done, w->job.total);
        return;
    }
    if (w->rc) {
        app_error(a, "sweep: %s", w->err);
        return;
    }
    if (w->text_gen != a->text_gen || w->mode != a->ablate_mode) return; /* stale */
    int n = app_L(a) * app_NH(a), best = 0;
    memcpy(a->sweep, w->importance, sizeof(float) * n);
    for (int i = 1; i < n; i++) best = a->sweep[i] > a->sweep[best] ? i : best;
    a->sweep_valid = 1;
    a->sweep_base = w->loss_base;
    a->gen++;
    app_status(a, "sweep done on %s: layer %d head %d matters most (loss %+.3f when off)",
               w->device_name, best / app_NH(a), best % app_NH(a), a->sweep[best]);
}

static void collect(App *a) {
    Worker *w = &a->worker;
    job_join(&w->job);
    if (w->model_gen == a->model_gen) {
        if (w->kind == JOB_ROLES && !w->rc) label_roles(a, &w->roles);
        else if (w->kind == JOB_ROLES) {
            a->roles_failed = 1;
            app_error(a, "head roles: %s", w->err);
        }
        else collect_sweep(a, w);
    }
    probe_report_free(&w->roles);
    free(w->importance);
    w->importance = NULL;
    a->redraw = 1;
}

void app_worker_poll(App *a) {
    Worker *w = &a->worker;
    JobState st = job_state(&w->job, NULL, NULL);
    if (st == JOB_RUNNING) return;
    if (st == JOB_FINISHED) collect(a);
    if (!a->base.loaded || !a->has_tokens) return;
    if (!a->roles_ready && !a->roles_failed) {
        worker_start(a, JOB_ROLES);
    } else if (a->sweep_wanted) {
        a->sweep_wanted = 0;
        worker_start(a, JOB_SWEEP);
    }
}

void app_compute_free(App *a) {
    Worker *w = &a->worker;
    if (w->job.started) {
        job_stop(&w->job);
        probe_report_free(&w->roles);
        free(w->importance);
    }
    engine_close(&w->eng);
    free(w->ids);
    free_model_state(a);
    engine_close(&a->base);
    engine_close(&a->abl);
    if (a->has_tokens) tokens_free(&a->tok);
    free(a->diff);
    free(a->agg_mean);
    free(a->agg_roll);
}

/* ---- menus' contents ---- */

static const char *ORDER[] = {"none", "sinusoidal", "learned", "rope", "alibi"};

static int model_rank(const char *name) {
    for (int i = 0; i < 5; i++)
        if (strcmp(name, ORDER[i]) == 0) return i;
    return 5;
}

void app_list_models(App *a) {
    char root[4096], cfg[4700];
    a->n_models = 0;
    if (!assets_find("assets/models", root, sizeof root)) return;
    DIR *d = opendir(root);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) && a->n_models < GUI_MAX_MODELS) {
        if (e->d_name[0] == '.') continue;
        snprintf(cfg, sizeof cfg, "%s/%s/config.json", root, e->d_name);
        struct stat sb;
        if (stat(cfg, &sb) != 0) continue;
        snprintf(a->models[a->n_models].name, sizeof a->models[0].name, "%s", e->d_name);
        snprintf(a->models[a->n_models].dir, sizeof a->models[0].dir, "%s/%s", root, e->d_name);
        a->n_models++;
    }
    closedir(d);
    for (int i = 1; i < a->n_models; i++) /* insertion sort: shipped order, then by name */
        for (int j = i; j > 0; j--) {
            int r0 = model_rank(a->models[j - 1].name), r1 = model_rank(a->models[j].name);
            if (r0 < r1 || (r0 == r1 && strcmp(a->models[j - 1].name, a->models[j].name) <= 0)) break;
            ModelEntry tmp = a->models[j];
            a->models[j] = a->models[j - 1];
            a->models[j - 1] = tmp;
        }
}

void app_load_examples(App *a) {
    char path[4096];
    a->n_examples = 0;
    assets_find("assets/texts/examples.txt", path, sizeof path);
    size_t len;
    char *src = avz_read_file(path, &len, NULL);
    if (!src) return;
    for (char *line = strtok(src, "\n"); line && a->n_examples < GUI_MAX_EXAMPLES;
         line = strtok(NULL, "\n")) {
        char *bar = strchr(line, '|');
        if (line[0] == '#' || !bar) continue;
        char *end = bar;
        while (end > line && end[-1] == ' ') end--;
        const char *text = bar + 1;
        while (*text == ' ') text++;
        snprintf(a->examples[a->n_examples][0], 512, "%.*s", (int)(end - line), line);
        snprintf(a->examples[a->n_examples][1], 512, "%s", text);
        a->n_examples++;
    }
    free(src);
}
