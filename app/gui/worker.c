/* worker.c: the app's worker job (job.h), off the UI thread on its own copy of the
 * model: the heads' roles when a model is loaded, and the importance sweep (every
 * head switched off alone) when asked. Results are collected by app_worker_poll once
 * per frame and dropped when the model or the text changed meanwhile. */
#include <math.h>
#include <string.h>

#include "gui/app.h"
#include "head_roles.h"


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
        /* the standard protocol (head_roles.h), from the cache when measured before */
        char note[AVZ_ERR_LEN];
        rc = head_roles_measure(&w->eng, sweep_progress, w, &w->roles, &w->roles_cached, note,
                                w->err);
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

/* Each head's label ("induction 0.91", "weak previous-token 0.35", "mixed") and
 * scores, by the standard protocol (head_roles.h). */
static void label_roles(App *a, const DetectReport *rep, int cached) {
    int n = rep->L * rep->NH;
    if (n != app_L(a) * app_NH(a)) return;
    memcpy(a->role_score, rep->score, sizeof(float) * DET_COUNT * n);
    memcpy(a->role_uniform, rep->uniform, sizeof a->role_uniform);
    for (int i = 0; i < n; i++) head_roles_label(rep, i, a->role_label[i], sizeof a->role_label[i]);
    detect_protocol_label(rep, a->role_protocol, sizeof a->role_protocol);
    a->roles_ready = 1;
    a->roles_cached = cached;   /* (the Head view says where the numbers came from) */
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
        if (w->kind == JOB_ROLES && !w->rc) label_roles(a, &w->roles, w->roles_cached);
        else if (w->kind == JOB_ROLES) {
            a->roles_failed = 1;
            app_error(a, "head roles: %s", w->err);
        }
        else collect_sweep(a, w);
    }
    detect_report_free(&w->roles);
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

void app_worker_free(App *a) {
    Worker *w = &a->worker;
    if (w->job.started) {
        job_stop(&w->job);
        detect_report_free(&w->roles);
        free(w->importance);
    }
    engine_close(&w->eng);
    free(w->ids);
}
