/* compute.c: what the app computes, and when (see app.h).
 *
 * Recompute only what changed:
 *   text or model changed  -> tokenize, one forward pass (base engine), and the
 *                             ablated pass if heads are off; every cached map is
 *                             dropped (a->gen and a->text_gen move on)
 *   head selection changed -> nothing runs: app_map captures just that head from
 *                             the saved q, k and log-sum-exp, once
 *   ablation changed       -> only the ablated pass (abl engine) runs again
 *   roles, sweep           -> the worker job (worker.c), on its own copy of the model
 * Two engines (model + device) hold the base and the ablated pass so that both
 * sets of maps can be captured at any time. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "aggregate.h"
#include "assets.h"
#include "gui/views/views.h"
#include "session.h"

int app_T(const App *a) { return a->has_tokens ? a->tok.n : 0; }
int app_L(const App *a) { return a->base.loaded ? a->base.model.cfg.n_layer : 0; }
int app_NH(const App *a) { return a->base.loaded ? a->base.model.cfg.n_head : 0; }
int app_kv_head(const App *a, int h) {
    int NH = app_NH(a), NKV = a->base.loaded ? a->base.model.cfg.n_kv_head : 0;
    return NKV > 0 && NKV < NH ? h / (NH / NKV) : -1;
}
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

void app_map_scale(App *a, const float *values, int T, HeatmapScale *hs) {
    hs->cmap = a->cmap;
    hs->gamma = a->gamma;
    hs->mask_upper = 1;
    heatmap_scale_auto(hs, values, T * T);
    if (a->shared_range) {
        hs->vmin = 0.0f;
        hs->vmax = app_shared_vmax(a);
    }
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
    /* the ablated pass needs a model of its own (its activations must not overwrite the
     * base pass'), opened only when a head is first switched off: until then the app
     * holds the weights once, not twice (GPT-2 small: 0.5 GB less) */
    if (!a->abl.loaded && engine_open(&a->abl, a->model_dir, a->device, NULL, err)) {
        app_error(a, "ablation: %s", err);
        return;
    }
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
    if (engine_encode(&a->base, a->edit.s, max_t, &tok, err)) {
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
    a->role_score = avz_xcalloc((size_t)DET_COUNT * n, sizeof(float));
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

/* The load's progress hook: after the first 0.1 s (small models load faster than a
 * frame) a loading frame every 30 ms at most. */
typedef struct { App *a; const char *dir; double t0, last; } LoadBar;

static void load_progress(void *user, int done, int total) {
    LoadBar *lb = user;
    double now = avz_now();
    if (now - lb->t0 < 0.1 || (now - lb->last < 0.03 && done < total)) return;
    lb->last = now;
    lb->a->load_frames++;
    app_draw_loading(lb->a, lb->dir, done, total);
}

AvzCode app_load_model(App *a, const char *dir_or_name, char *err) {
    char dir[4096], note[AVZ_ERR_LEN] = "";
    resolve_model(dir_or_name, dir, sizeof dir);
    Engine base;
    LoadBar lb = {a, dir, avz_now(), 0};
    if (a->r) model_load_set_progress(load_progress, &lb);
    AvzCode rc = engine_open(&base, dir, a->device, note, err);
    model_load_set_progress(NULL, NULL);
    a->load_seconds = avz_now() - lb.t0;
    if (rc) return rc;
    app_cancel_sweep(a);
    free_model_state(a);
    engine_close(&a->base);
    engine_close(&a->abl);   /* opened again when a head is first switched off */
    a->base = base;
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

void app_compute_free(App *a) {
    app_worker_free(a);
    free_model_state(a);
    engine_close(&a->base);
    engine_close(&a->abl);
    if (a->has_tokens) tokens_free(&a->tok);
    free(a->diff);
    free(a->agg_mean);
    free(a->agg_roll);
}