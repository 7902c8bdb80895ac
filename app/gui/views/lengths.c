/* lengths.c: the Lengths view: each shipped model's mean loss at every position of
 * held-out text, up to four times the training context (measured on a thread when
 * the view opens, model/lengths.c), beside the selected head's map of the current
 * text, which X doubles past the context. */
#include <math.h>
#include <string.h>

#include "assets.h"
#include "lengths.h"
#include "util.h"
#include "gui/views/views.h"


/* ---- Lengths view: the measurement thread ---- */

static void lengths_main(Job *job, void *user) {
    LengthsJob *j = user;
    AvzCode rc = AVZ_OK;
    for (int i = 0; i < j->n && !rc; i++) {
        Engine e;
        if (job_cancelled(job)) break;
        rc = engine_open(&e, j->dir[i], j->device, NULL, j->err);
        if (rc) break;
        j->ctx[i] = e.model.cfg.n_positions;
        rc = lengths_measure(&e.be, &e.model, GUI_LEN_MAX_T, GUI_LEN_SEQS, LENGTHS_SEED,
                             j->loss[i], j->err);
        engine_close(&e);
        job_progress(job, i + 1, j->n);
    }
    j->rc = rc;
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
        j->loss[j->n] = view_buffer(j->loss[j->n], GUI_LEN_MAX_T);
        j->n++;
    }
    snprintf(j->device, sizeof j->device, "%s", a->device);
    j->rc = AVZ_OK;
    if (j->n == 0 || job_start(&j->job, lengths_main, j, j->n) != 0) {
        t->len_state = 3;
        snprintf(j->err, sizeof j->err, j->n ? "cannot start a thread" : "no shipped models found");
        return;
    }
    t->len_state = 1;
    app_status(a, "measuring the loss at each position for %d models...", j->n);
}

void app_lengths_poll(App *a) {
    Teach *t = &a->teach;
    LengthsJob *j = &t->len;
    JobState st = job_state(&j->job, NULL, NULL);
    if (st == JOB_IDLE) return;
    if (st == JOB_RUNNING) { a->redraw = 1; return; }
    job_join(&j->job);
    t->len_state = j->rc ? 3 : 2;
    if (j->rc) app_error(a, "lengths: %s", j->err);
    else app_status(a, "lengths measured for %d models", j->n);
    t->ver++;
    a->redraw = 1;
}

/* ---- Lengths view ---- */

#define LEN_BUCKET 8

static void lengths_chart(App *a, Rect r) {
    Teach *t = &a->teach;
    LengthsJob *j = &t->len;
    if (t->len_state == 0) app_start_lengths(a);
    if (t->len_state == 1) {
        int done = 0;
        job_state(&j->job, &done, NULL);
        char s[160];
        snprintf(s, sizeof s, "measuring the loss at each position: %d of %d models...", done, j->n);
        render_text(a->r, s, r.x, r.y + 30, FONT_UI, TH_MUTED);
        return;
    }
    if (t->len_state == 3) {
        ui_text_wrap(a, j->err, r.x, r.y + 30, r.w, FONT_UI, TH_ERROR);
        return;
    }
    /* positions averaged in buckets of 8: a few passages per model are noisy per position */
    static float xs[GUI_LEN_MAX_T / LEN_BUCKET], ys[GUI_CMP_MAX][GUI_LEN_MAX_T / LEN_BUCKET];
    ChartSeries s[GUI_CMP_MAX];
    int nb = GUI_LEN_MAX_T / LEN_BUCKET;
    for (int i = 0; i < j->n; i++) {
        for (int b = 0; b < nb; b++) {
            double sum = 0;
            int cnt = 0;
            for (int p = b * LEN_BUCKET; p < (b + 1) * LEN_BUCKET; p++)
                if (isfinite(j->loss[i][p])) sum += j->loss[i][p], cnt++;
            xs[b] = b * LEN_BUCKET + LEN_BUCKET / 2.0f;
            ys[i][b] = cnt == LEN_BUCKET ? (float)(sum / cnt) : NAN;
        }
        s[i] = (ChartSeries){j->name[i], xs, ys[i], nb};
    }
    UiChart c = {"mean loss at each position of held-out text (lower is better)",
                 "position in the text", "loss", (float)j->ctx[0], "training context",
                 "lengths_chart"};
    ui_line_chart(a, r, s, j->n, &c);
}

/* The selected head's map of the current text, the training context marked. */
static void lengths_map(App *a, Rect r) {
    int T = app_T(a), ctx = a->base.model.cfg.n_positions;
    char s[200];
    snprintf(s, sizeof s, "%s, layer %d head %d: %d tokens%s", a->model_name, a->layer, a->head, T,
             T > ctx ? " (past the training context)" : "");
    render_text(a->r, s, r.x, r.y, FONT_UI, T > ctx ? TH_ACCENT : TH_INK);
    if (ui_button(a, (Rect){r.x, r.y + 26, 200, 32}, "double the text (X)", 0))
        app_extend_text(a, 2 * T);
    Rect m;
    float cell = ui_head_figure(a, (Rect){r.x, r.y + 66, r.w, r.h - 66}, 17, "lengths_head", 1, &m);
    if (T > ctx) { /* the training context: a dashed line after position ctx - 1 */
        float x = m.x + ctx * cell, y = m.y + ctx * cell;
        for (float k = 0; k < m.h; k += 8) {
            render_rect(a->r, (Rect){x - 1, m.y + k, 2, minf(4, m.h - k)}, TH_ERROR);
            render_rect(a->r, (Rect){m.x + k, y - 1, minf(4, m.w - k), 2}, TH_ERROR);
        }
    }
}

void view_lengths(App *a, Rect area) {
    float w = area.w * 0.55f;
    lengths_chart(a, (Rect){area.x, area.y, w - 20, minf(area.h, w * 0.7f)});
    lengths_map(a, (Rect){area.x + w, area.y, area.w - w, area.h});
}
