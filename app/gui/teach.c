/* gui_teach.c: what the teaching views show, computed from the models (model/teach.h
 * does the arithmetic), each result cached under the state it was computed for; the
 * length measurements on their own thread; lessons (app/lesson.h) stepped through
 * the same command executor as scripts. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "assets.h"
#include "gui/gui.h"
#include "lengths.h"

/* A cache key from a few numbers (0 is never a valid key). */
static unsigned long mix_key(unsigned long a, unsigned long b, unsigned long c) {
    unsigned long k = a * 1000003ul ^ (b + 0x9E3779B9ul) * 7919ul ^ (c + 17ul) * 104729ul;
    return k ? k : 1;
}

static float *fresh(float *old, size_t n) {
    free(old);
    return avz_xmalloc(sizeof(float) * (n ? n : 1));
}

/* ---- Position view ---- */

static void position_free(Teach *t) {
    free(t->pos_vec), free(t->pos_dot), free(t->pos_cos), free(t->rope_ang), free(t->alibi);
    free(t->curve_ones), free(t->curve_real);
    t->pos_vec = t->pos_dot = t->pos_cos = t->rope_ang = t->alibi = NULL;
    t->curve_ones = t->curve_real = NULL;
}

/* RoPE's score against distance for q = k = all ones (RoFormer's decay curve) and
 * for the selected head's real q (last token) and k (first token) of the text. */
static void rope_curves(App *a, Teach *t, int hs) {
    const Model *m = &a->base.model;
    float *q = avz_xmalloc(sizeof(float) * hs), *k = avz_xmalloc(sizeof(float) * hs);
    for (int i = 0; i < hs; i++) q[i] = k[i] = 1.0f;
    t->curve_ones = fresh(t->curve_ones, GUI_LEN_MAX_T);
    teach_rope_score_vs_distance(m, q, k, GUI_LEN_MAX_T, t->curve_ones);
    if (a->has_tokens) {
        teach_head_qk(m, a->layer, a->head, a->tok.n - 1, 0, q, k);
        t->curve_real = fresh(t->curve_real, GUI_LEN_MAX_T);
        teach_rope_score_vs_distance(m, q, k, GUI_LEN_MAX_T, t->curve_real);
    }
    free(q);
    free(k);
}

void app_position_data(App *a) {
    Teach *t = &a->teach;
    unsigned long key = mix_key(a->model_gen, (unsigned long)(a->layer * 64 + a->head), a->text_gen);
    if (t->pos_key == key || !a->base.loaded) return;
    const Model *m = &a->base.model;
    int C = m->cfg.n_embd, hs = C / m->cfg.n_head, T = m->cfg.n_positions;
    if (T > GUI_LEN_MAX_T) T = GUI_LEN_MAX_T;
    char err[AVZ_ERR_LEN] = "";
    position_free(t);
    t->pos_T = T;
    t->pos_note[0] = '\0';
    switch (m->cfg.pe) {
    case PE_SINUSOIDAL: case PE_LEARNED:
        t->pos_vec = fresh(NULL, (size_t)T * C);
        t->pos_dot = fresh(NULL, (size_t)T * T);
        t->pos_cos = fresh(NULL, (size_t)T * T);
        if (teach_position_vectors(m, T, t->pos_vec, err) ||
            teach_position_similarity(m, T, t->pos_dot, t->pos_cos, err)) {
            snprintf(t->pos_note, sizeof t->pos_note, "%.250s", err);
            position_free(t);
        }
        break;
    case PE_ROPE:
        t->rope_ang = fresh(NULL, (size_t)T * (hs / 2));
        teach_rope_angles(m, T, t->rope_ang);
        t->pos_cos = fresh(NULL, (size_t)T * T);
        if (teach_position_similarity(m, T, NULL, t->pos_cos, err))
            snprintf(t->pos_note, sizeof t->pos_note, "%.250s", err);
        rope_curves(a, t, hs);
        break;
    case PE_ALIBI:
        t->alibi = fresh(NULL, (size_t)T * T);
        teach_alibi_bias(m, a->head, T, t->alibi);
        break;
    default:
        snprintf(t->pos_note, sizeof t->pos_note, "this model has no position encoding: nothing "
                 "tells attention where a token is (see the Permutation view)");
    }
    t->pos_key = key;
    t->ver++;
}

/* ---- Compare view: one text, the same head, every shipped model ---- */

static void compare_load(App *a) {
    Teach *t = &a->teach;
    if (t->cmp_loaded) return;
    app_list_models(a);
    t->n_cmp = 0;
    for (int i = 0; i < a->n_models && t->n_cmp < GUI_CMP_MAX; i++) {
        Engine *e = &t->cmp[t->n_cmp];
        char err[AVZ_ERR_LEN], note[AVZ_ERR_LEN];
        memset(e, 0, sizeof *e);
        if (model_load(&e->model, a->models[i].dir, err)) continue;
        e->be = device_open("cpu", note, err);
        if (!e->be) { model_free(&e->model); continue; }
        e->loaded = 1;
        snprintf(t->cmp_name[t->n_cmp++], sizeof t->cmp_name[0], "%s", a->models[i].name);
    }
    t->cmp_loaded = 1;
}

/* Runs the current text through comparison model i and captures (layer, head). */
static void compare_one(App *a, int i) {
    Teach *t = &a->teach;
    Engine *e = &t->cmp[i];
    Tokens tok;
    char err[AVZ_ERR_LEN];
    free(t->cmp_map[i]);
    t->cmp_map[i] = NULL;
    t->cmp_err[i][0] = '\0';
    const ModelConfig *c = &e->model.cfg;
    if (a->layer >= c->n_layer || a->head >= c->n_head) {
        snprintf(t->cmp_err[i], sizeof t->cmp_err[i], "has no layer %d head %d", a->layer, a->head);
        return;
    }
    if (tokenize(&e->model.vocab, a->edit.s, GUI_MAX_T, &tok, err)) {
        snprintf(t->cmp_err[i], sizeof t->cmp_err[i], "%.250s", err);
        return;
    }
    ForwardOpts o = {0};
    if (tok.n != app_T(a)) {
        snprintf(t->cmp_err[i], sizeof t->cmp_err[i], "reads the text as %d tokens, not %d", tok.n,
                 app_T(a));
    } else if (e->be->forward(e->be, &e->model, tok.ids, NULL, 1, tok.n, &o, err)) {
        snprintf(t->cmp_err[i], sizeof t->cmp_err[i], "%.250s", err);
    } else {
        t->cmp_map[i] = avz_xmalloc(sizeof(float) * (size_t)tok.n * tok.n);
        e->be->capture(e->be, &e->model, a->layer, a->head, 0, t->cmp_map[i]);
    }
    tokens_free(&tok);
}

void app_compare_data(App *a) {
    Teach *t = &a->teach;
    unsigned long key = mix_key(a->text_gen, (unsigned long)(a->layer * 64 + a->head), 7);
    if (t->cmp_key == key || !a->has_tokens) return;
    compare_load(a);
    for (int i = 0; i < t->n_cmp; i++) compare_one(a, i);
    t->cmp_key = key;
    t->ver++;
}

/* ---- Permutation view ---- */

int app_permutation(App *a) {
    Teach *t = &a->teach;
    if (!a->has_tokens || a->tok.n < 2) return 0;
    unsigned long key = mix_key(a->text_gen, t->seed, a->model_gen);
    if (t->perm_key == key) return t->perm_valid;
    teach_permutation_free(&t->perm);
    t->perm_valid = 0;
    /* The demo runs four passes; a copy of the model runs them, so that the maps of
     * the text (captured lazily from the base model's last pass) stay as they are. */
    Model m;
    char err[AVZ_ERR_LEN];
    AvzCode rc = model_load(&m, a->model_dir, err);
    if (!rc) {
        rc = teach_permutation_init(&t->perm, &m, a->tok.ids, a->tok.n, t->seed, err);
        model_free(&m);
    }
    if (rc) app_error(a, "permutation demo: %s", err);
    t->perm_valid = rc == AVZ_OK;
    t->perm_key = key;
    t->ver++;
    return t->perm_valid;
}

/* ---- Flash view ---- */

int app_flash(App *a) {
    Teach *t = &a->teach;
    if (!a->has_tokens) return 0;
    unsigned long key = mix_key(a->text_gen, (unsigned long)(a->layer * 64 + a->head), a->model_gen);
    if (t->ft_key == key) return t->ft_valid;
    if (t->ft_valid) flash_trace_free(&t->ft);
    t->ft_valid = 0;
    char err[AVZ_ERR_LEN];
    /* Small tiles so that a short text still has several steps to walk through. */
    int T = a->tok.n, b = T <= 16 ? 4 : T <= 64 ? 8 : T <= 256 ? 32 : 64;
    if (flash_trace_init_model(&t->ft, &a->base.model, a->layer, a->head, b, b, err)) {
        app_error(a, "flash view: %s", err);
    } else {
        t->ft_valid = 1;
        t->ft_step = t->ft.n_steps - 1;
        flash_trace_goto(&t->ft, t->ft_step);
        teach_time_attention(t->ft.q, t->ft.k, t->ft.v, T, t->ft.hs, 1, &t->t_naive, &t->t_flash,
                             &t->t_fast);
    }
    t->ft_key = key;
    t->ver++;
    return t->ft_valid;
}

void app_flash_goto(App *a, int step) {
    Teach *t = &a->teach;
    if (!app_flash(a)) return;
    if (step < -1) step = -1;
    if (step >= t->ft.n_steps) step = t->ft.n_steps - 1;
    t->ft_step = step;
    flash_trace_goto(&t->ft, step);
    t->ver++;
    a->redraw = 1;
}

/* ---- Lengths view: the measurement thread ---- */

static void *lengths_main(void *p) {
    LengthsJob *j = p;
    AvzCode rc = AVZ_OK;
    for (int i = 0; i < j->n && !rc; i++) {
        Engine e;
        pthread_mutex_lock(&j->mu);
        int cancel = j->cancel;
        pthread_mutex_unlock(&j->mu);
        if (cancel) break;
        rc = engine_open(&e, j->dir[i], j->device, NULL, j->err);
        if (rc) break;
        j->ctx[i] = e.model.cfg.n_positions;
        rc = lengths_measure(&e.be, &e.model, GUI_LEN_MAX_T, GUI_LEN_SEQS, LENGTHS_SEED,
                             j->loss[i], j->err);
        engine_close(&e);
        pthread_mutex_lock(&j->mu);
        j->done = i + 1;
        pthread_mutex_unlock(&j->mu);
    }
    pthread_mutex_lock(&j->mu);
    j->rc = rc;
    j->finished = 1;
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

void app_start_lengths(App *a) {
    Teach *t = &a->teach;
    LengthsJob *j = &t->len;
    if (t->len_state == 1 || t->len_state == 2) return;
    app_list_models(a);
    j->n = 0;
    for (int i = 0; i < a->n_models && j->n < GUI_CMP_MAX; i++) {
        snprintf(j->name[j->n], sizeof j->name[0], "%s", a->models[i].name);
        snprintf(j->dir[j->n], sizeof j->dir[0], "%s", a->models[i].dir);
        j->loss[j->n] = fresh(j->loss[j->n], GUI_LEN_MAX_T);
        j->n++;
    }
    j->done = j->finished = j->cancel = 0;
    snprintf(j->device, sizeof j->device, "%s", a->device);
    j->rc = AVZ_OK;
    if (j->n == 0 || pthread_create(&j->thread, NULL, lengths_main, j) != 0) {
        t->len_state = 3;
        snprintf(j->err, sizeof j->err, j->n ? "cannot start a thread" : "no shipped models found");
        return;
    }
    j->started = 1;
    t->len_state = 1;
    app_status(a, "measuring the loss at each position for %d models...", j->n);
}

void app_lengths_poll(App *a) {
    Teach *t = &a->teach;
    LengthsJob *j = &t->len;
    if (!j->started) return;
    pthread_mutex_lock(&j->mu);
    int fin = j->finished;
    pthread_mutex_unlock(&j->mu);
    if (!fin) { a->redraw = 1; return; }
    pthread_join(j->thread, NULL);
    j->started = 0;
    t->len_state = j->rc ? 3 : 2;
    if (j->rc) app_error(a, "lengths: %s", j->err);
    else app_status(a, "lengths measured for %d models", j->n);
    t->ver++;
    a->redraw = 1;
}

/* ---- text and model controls ---- */

void app_extend_text(App *a, int n) {
    if (!a->has_tokens || a->tok.n < 1) return;
    int limit = config_max_len(&a->base.model.cfg);
    if (limit > GUI_MAX_T) limit = GUI_MAX_T;
    if (n > limit) {
        app_error(a, "extend: %s takes at most %d tokens%s", a->model_name, limit,
                  a->base.model.cfg.pe == PE_LEARNED ? " (a learned table has no row past its "
                  "training context)" : "");
        return;
    }
    size_t len = strlen(a->edit.s);
    int reps = (n + a->tok.n - 1) / a->tok.n;
    if ((size_t)reps * (len + 1) >= TEXTEDIT_MAX) {
        app_error(a, "extend: the text would be too long");
        return;
    }
    char *s = avz_xmalloc((size_t)reps * (len + 1) + 1), *p = s;
    for (int r = 0; r < reps; r++) {
        memcpy(p, a->edit.s, len);
        p += len;
        *p++ = ' ';
    }
    p[-1] = '\0';
    app_set_text(a, s);
    free(s);
    if (a->has_tokens && a->tok.n > a->base.model.cfg.n_positions)
        app_status(a, "%d tokens: past the training context of %d (positions the model never "
                   "saw)", a->tok.n, a->base.model.cfg.n_positions);
}

void app_next_model(App *a) {
    app_list_models(a);
    if (a->n_models == 0) { app_error(a, "no shipped models found"); return; }
    int cur = -1;
    for (int i = 0; i < a->n_models; i++)
        if (strcmp(a->models[i].name, a->model_name) == 0) cur = i;
    char err[AVZ_ERR_LEN];
    const ModelEntry *e = &a->models[(cur + 1) % a->n_models];
    if (app_load_model(a, e->dir, err)) app_error(a, "%s", err);
    else if (!a->status_error) app_status(a, "model: %s (same text)", e->name);
}

/* ---- lessons ---- */

void app_list_lessons(App *a) {
    Teach *t = &a->teach;
    char dir[4096];
    t->n_lesson_files = 0;
    if (!assets_find("assets/lessons", dir, sizeof dir)) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) && t->n_lesson_files < GUI_MAX_LESSONS) {
        size_t n = strlen(e->d_name);
        if (n < 5 || n > 200 || strcmp(e->d_name + n - 4, ".txt") != 0) continue;
        snprintf(t->lesson_files[t->n_lesson_files++], sizeof t->lesson_files[0], "%.*s",
                 (int)(n - 4), e->d_name);
    }
    closedir(d);
    qsort(t->lesson_files, (size_t)t->n_lesson_files, sizeof t->lesson_files[0],
          (int (*)(const void *, const void *))strcmp);
}

AvzCode app_lesson_open(App *a, const char *name_or_path, char *err) {
    char path[4096];
    Lesson l;
    lesson_resolve(name_or_path, path, sizeof path);
    if (lesson_load(path, &l, err)) return AVZ_ERR_INPUT;
    app_lesson_close(a);
    a->teach.lesson = l;
    a->teach.lesson_on = 1;
    app_lesson_goto(a, 0);
    return AVZ_OK;
}

/* Runs step k's commands. A command that fails (a model folder that moved, say)
 * is reported in the status bar with its line; the lesson goes on. */
void app_lesson_goto(App *a, int k) {
    Teach *t = &a->teach;
    Lesson *l = &t->lesson;
    if (!t->lesson_on) return;
    if (k < 0) k = 0;
    if (k >= l->n_steps) k = l->n_steps - 1;
    t->lesson_step = k;
    int failed = 0;
    app_clear_ablation(a);
    a->pin_row = -1;
    for (int i = l->start[k] + 1; i < l->start[k + 1]; i++) {
        const ScriptCmd *c = &l->script.cmds[i];
        char err[AVZ_ERR_LEN] = "";
        if (c->op == SCRIPT_CAPTION) continue;
        if (c->op == SCRIPT_PIN) { /* no click: the last frame drew another view */
            a->pin_row = c->iv[0] < app_T(a) ? c->iv[0] : -1;
            continue;
        }
        if (script_run_cmd(a, c, err)) {
            app_error(a, "%s:%d: %s", l->name, c->line, err);
            failed = 1;
        }
    }
    snprintf(t->caption, sizeof t->caption, "%s", lesson_caption(l, k));
    if (!failed && !a->status_error)
        app_status(a, "lesson step %d of %d: %s", k + 1, l->n_steps, lesson_title(l, k));
    a->redraw = 1;
}

void app_lesson_close(App *a) {
    Teach *t = &a->teach;
    if (!t->lesson_on) return;
    lesson_free(&t->lesson);
    t->lesson_on = 0;
    t->caption[0] = '\0';
}

void app_teach_free(App *a) {
    Teach *t = &a->teach;
    LengthsJob *j = &t->len;
    if (j->started) {
        pthread_mutex_lock(&j->mu);
        j->cancel = 1;
        pthread_mutex_unlock(&j->mu);
        pthread_join(j->thread, NULL);
        j->started = 0;
    }
    for (int i = 0; i < GUI_CMP_MAX; i++) free(j->loss[i]), j->loss[i] = NULL;
    position_free(t);
    for (int i = 0; i < t->n_cmp; i++) {
        free(t->cmp_map[i]);
        t->cmp_map[i] = NULL;
        if (t->cmp[i].loaded) backend_close(t->cmp[i].be), model_free(&t->cmp[i].model);
    }
    t->n_cmp = t->cmp_loaded = 0;
    teach_permutation_free(&t->perm);
    if (t->ft_valid) flash_trace_free(&t->ft);
    t->ft_valid = 0;
    app_lesson_close(a);
    for (int i = 0; i < 24; i++) render_map_release(a->r, &t->tex[i]);
}
