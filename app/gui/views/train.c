/* train.c: the Train view: train a small model from scratch and watch its heads
 * form (trainer.c runs it on a thread). The curves grow as it trains: the loss, the
 * loss on the first and the second copy of a random repeated block (once an
 * induction head forms, the second copy becomes predictable and its loss falls far
 * below the first), and every head's previous-token, induction and duplicate-token
 * score by the standard protocol. Beside them, every head's map of a fixed probe
 * text (<bos>, 12 random words, the same 12 again) as it was at the step shown;
 * the slider under it replays the run, so the moment the induction stripe appears
 * can be shown again after the run. */
#include <math.h>
#include <string.h>

#include "util.h"
#include "gui/views/views.h"

static const PosEncoding PES[] = {PE_NONE, PE_SINUSOIDAL, PE_LEARNED, PE_ROPE, PE_ALIBI};
#define N_PES 5

/* ---- the controls ---- */

static void pick_preset(App *a, int k) {
    TrainView *t = &a->train;
    TrainPhase p = app_train_phase(a, NULL, NULL);
    if (p == TRAIN_RUNNING || p == TRAIN_PAUSED) { t->confirm = 1 + k; return; }
    t->preset = k;
    int n;
    const TrainPreset *ps = train_presets(&n);
    TrainConfig tc;
    train_config_default(&tc);
    char err[AVZ_ERR_LEN];
    if (ps[k].recipe && train_recipe(&tc, ps[k].recipe, err) == AVZ_OK) t->pe = tc.pe;
    t->steps = 0;   /* the preset's own shape and mix */
    t->layers = t->heads = t->width = t->context = 0;
    t->blocks = -1;
}

static int chosen_steps(App *a) {
    TrainView *t = &a->train;
    if (t->steps > 0) return t->steps;
    int n;
    const TrainPreset *ps = train_presets(&n);
    if (!ps[t->preset].recipe) return ps[t->preset].steps;
    TrainConfig tc;
    train_config_default(&tc);
    char err[AVZ_ERR_LEN];
    train_recipe(&tc, ps[t->preset].recipe, err);
    return tc.steps;
}

/* The recipe row: presets, encodings, steps. Changing them only takes effect at the
 * next Start; while a run goes, a preset asks first. */
static float recipe_row(App *a, Rect area) {
    TrainView *t = &a->train;
    int n;
    const TrainPreset *ps = train_presets(&n);
    float x = area.x, y = area.y;
    render_text(a->r, "Recipe", x, y + 7, FONT_UI, TH_MUTED);
    x += 64;
    for (int k = 0; k < n; k++) {
        float w = render_text_width(a->r, ps[k].label, -1, FONT_UI) + 24;
        if (ui_button(a, (Rect){x, y, w, 32}, ps[k].label, t->preset == k)) pick_preset(a, k);
        x += w + 6;
    }
    x += 14;
    for (int k = 0; k < N_PES; k++) {
        const char *nm = pe_name(PES[k]);
        float w = render_text_width(a->r, nm, -1, FONT_UI) + 20;
        if (ui_button(a, (Rect){x, y, w, 32}, nm, t->pe == PES[k])) t->pe = PES[k];
        x += w + 4;
    }
    x += 14;
    char s[48];
    int steps = chosen_steps(a);
    snprintf(s, sizeof s, "%d steps", steps);
    if (ui_button(a, (Rect){x, y, 32, 32}, "-", 0) && steps > 50) t->steps = steps / 2;
    render_text(a->r, s, x + 40, y + 7, FONT_UI, TH_INK);
    if (ui_button(a, (Rect){x + 130, y, 32, 32}, "+", 0) && steps < 100000) t->steps = steps * 2;
    return 40;
}

/* A "- value +" stepper at x; returns its width. *v changes by step (or halves and
 * doubles when mul) within lo..hi. */
static float stepper(App *a, float x, float y, const char *label, float *v, float step, int mul,
                     float lo, float hi, const char *fmt) {
    float w = render_text(a->r, label, x, y + 7, FONT_UI, TH_MUTED) + 6;
    if (ui_button(a, (Rect){x + w, y, 28, 32}, "-", 0))
        *v = fmaxf(lo, mul ? *v / step : *v - step);
    char s[32];
    snprintf(s, sizeof s, fmt, *v);
    render_text(a->r, s, x + w + 34, y + 7, FONT_UI, TH_INK);
    if (ui_button(a, (Rect){x + w + 84, y, 28, 32}, "+", 0))
        *v = fminf(hi, mul ? *v * step : *v + step);
    return w + 124;
}

/* The shape and mix row: layers, heads, width, context, the weight of random repeated
 * blocks in the corpus (each starts at the preset's value). */
static float shape_row(App *a, Rect area) {
    TrainView *t = &a->train;
    TrainConfig tc;
    train_view_config(t, &tc);
    float L = (float)tc.n_layer, H = (float)tc.n_head, C = (float)tc.n_embd,
          T = (float)tc.n_positions, B = tc.mix.w_blocks;
    float x = area.x, y = area.y;
    x += stepper(a, x, y, "layers", &L, 1, 0, 1, 6, "%.0f");
    x += stepper(a, x, y, "heads", &H, 1, 0, 1, 8, "%.0f");
    x += stepper(a, x, y, "width", &C, 2, 1, 16, 512, "%.0f");
    x += stepper(a, x, y, "context", &T, 2, 1, 16, 256, "%.0f");
    x += stepper(a, x, y, "random blocks", &B, 0.1f, 0, 0, 1, "%.1f");
    if ((int)L != tc.n_layer) t->layers = (int)L;
    if ((int)H != tc.n_head) t->heads = (int)H;
    if ((int)C != tc.n_embd) t->width = (int)C;
    if ((int)T != tc.n_positions) t->context = (int)T;
    if (fabsf(B - tc.mix.w_blocks) > 1e-4f) t->blocks = B;
    render_text(a->r, "(takes effect at the next Start)", x + 6, y + 7, FONT_SMALL, TH_MUTED);
    return 40;
}

/* Start / Pause / Stop / Save / Open and the run's state. */
static float run_row(App *a, Rect area) {
    TrainView *t = &a->train;
    int done, np;
    TrainPhase p = app_train_phase(a, &done, &np);
    float x = area.x, y = area.y;
    int going = p == TRAIN_RUNNING || p == TRAIN_PAUSED;
    if (ui_button(a, (Rect){x, y, 90, 32}, going ? "Restart" : "Start", 0)) {
        if (going) t->confirm = 1 + t->preset;
        else app_train_start(a);
    }
    x += 96;
    if (ui_button(a, (Rect){x, y, 90, 32}, p == TRAIN_PAUSED ? "Resume" : "Pause",
                  p == TRAIN_PAUSED) && going)
        app_train_pause(a, p != TRAIN_PAUSED);
    x += 96;
    if (ui_button(a, (Rect){x, y, 70, 32}, "Stop", 0) && going) app_train_stop(a);
    x += 76;
    if (ui_button(a, (Rect){x, y, 70, 32}, app_train_saving(a) ? "Saving" : "Save", 0))
        app_train_save(a, NULL);
    x += 76;
    if (ui_button(a, (Rect){x, y, 70, 32}, "Open", 0)) {
        char err[AVZ_ERR_LEN];
        if (!t->saved_dir[0]) app_error(a, "train: save the model first, then Open shows it");
        else if (app_load_model(a, t->saved_dir, err)) app_error(a, "%s", err);
        else app_set_view(a, VIEW_HEAD);
    }
    x += 86;
    char s[320];
    static const char *names[] = {"not started", "training", "paused", "ended", "failed"};
    pthread_mutex_lock(&t->job.mu);
    float loss = t->loss;
    double wall = t->wall_s;
    pthread_mutex_unlock(&t->job.mu);
    if (p == TRAIN_NONE)
        snprintf(s, sizeof s, "Press Start: the model trains here, on the CPU, while you watch");
    else
        snprintf(s, sizeof s, "%s: step %d of %d, %d:%02d of training, loss %.3f (%s, %d x %d "
                 "heads, width %d, context %d, batch %d)", names[p], done, t->tc.steps,
                 (int)wall / 60, (int)wall % 60, loss, pe_name(t->tc.pe), t->tc.n_layer,
                 t->tc.n_head, t->tc.n_embd, t->tc.n_positions, t->tc.batch);
    ui_text_fit(a, s, x, y + 7, FONT_UI, area.x + area.w - x, p == TRAIN_FAILED ? TH_ERROR : TH_INK);
    return 40;
}

/* A preset picked while a run goes: stop it and start the new one, or keep going. */
static void confirm_box(App *a, Rect area) {
    TrainView *t = &a->train;
    if (!t->confirm) return;
    int n;
    const TrainPreset *ps = train_presets(&n);
    Rect b = {area.x + area.w / 2 - 260, area.y + 120, 520, 120};
    ui_panel(a, b);
    render_frame(a->r, b, 2, TH_ACCENT);
    char s[200];
    snprintf(s, sizeof s, "A run is going. Stop it and start \"%s\"? Its curves are lost unless "
             "you saved the model.", ps[t->confirm - 1].label);
    ui_text_wrap(a, s, b.x + 16, b.y + 12, b.w - 32, FONT_UI, TH_INK);
    if (ui_button(a, (Rect){b.x + 16, b.y + 74, 220, 32}, "Stop and start over", 0)) {
        t->preset = t->confirm - 1;
        t->confirm = 0;
        app_train_start(a);
    } else if (ui_button(a, (Rect){b.x + 250, b.y + 74, 160, 32}, "Keep training", 0)) {
        t->confirm = 0;
    }
}

/* ---- the curves ---- */

enum { CURVE_LOSS, CURVE_COPY, CURVE_PREV, CURVE_INDUCT, CURVE_DUP, N_CURVES };

static float xs[TRAIN_MAX_POINTS], ys[TRAIN_MAX_HEADS + 2][TRAIN_MAX_POINTS];
static char head_names[TRAIN_MAX_HEADS][24];

/* The chart of one curve kind over points 0..n-1, the step shown marked. */
static void curve_chart(App *a, Rect r, int kind, int n, int shown) {
    TrainView *t = &a->train;
    ChartSeries s[TRAIN_MAX_HEADS + 2];
    int ns = 0, nh = t->L * t->NH;
    for (int k = 0; k < n; k++) xs[k] = (float)t->pts[k].step;
    if (kind == CURVE_LOSS || kind == CURVE_COPY) {
        for (int k = 0; k < n; k++) {
            const TrainScores *p = &t->pts[k];
            ys[0][k] = kind == CURVE_LOSS ? p->train_loss : p->loss_first;
            ys[1][k] = kind == CURVE_LOSS ? p->val_loss : p->loss_second;
        }
        s[0] = (ChartSeries){kind == CURVE_LOSS ? "training (moving average)" : "first copy", xs, ys[0], n};
        s[1] = (ChartSeries){kind == CURVE_LOSS ? "validation" : "second copy", xs, ys[1], n};
        ns = 2;
    } else {
        for (int h = 0; h < nh && h < TRAIN_MAX_HEADS; h++, ns++) {
            for (int k = 0; k < n; k++) {
                const TrainScores *p = &t->pts[k];
                ys[h][k] = kind == CURVE_PREV ? p->prev[h] : kind == CURVE_INDUCT ? p->induct[h] : p->dup[h];
            }
            snprintf(head_names[h], sizeof head_names[h], "%d.%d", h / t->NH, h % t->NH);
            s[ns] = (ChartSeries){head_names[h], xs, ys[h], n};
        }
        /* two unnamed single points pin the score axis to 0..1 (no line is drawn) */
        static float zero = 0, one = 1;
        s[ns++] = (ChartSeries){NULL, xs, &zero, 1};
        s[ns++] = (ChartSeries){NULL, xs, &one, 1};
    }
    static const char *titles[] = {
        "loss (nats per token)", "loss on a random block, first vs second copy",
        "previous-token score of every head", "induction score of every head",
        "duplicate-token score of every head"};
    static const char *regions[] = {"train_loss", "train_copy", "train_prev", "train_induct",
                                    "train_dup"};
    float rise = 0;
    int jump = train_jump_step(t, n, &rise);
    char mark[48];
    float mx = NAN;
    if (shown >= 0) {
        mx = (float)t->pts[shown].step;
        snprintf(mark, sizeof mark, "step %d", t->pts[shown].step);
    } else if ((kind == CURVE_INDUCT || kind == CURVE_COPY) && jump >= 0 && rise >= 0.2f) {
        mx = (float)jump;
        snprintf(mark, sizeof mark, "induction jumps (step %d)", jump);
    }
    UiChart c = {titles[kind], "step", kind <= CURVE_COPY ? "loss" : "score", mx, mark,
                 regions[kind]};
    ui_line_chart(a, r, s, ns, &c);
}

/* The best heads now (or at the step shown) and the phase change, in words. */
static void summary(App *a, Rect r, int n, int shown) {
    TrainView *t = &a->train;
    const TrainScores *p = &t->pts[shown >= 0 ? shown : n - 1];
    int nh = p->L * p->NH, bp = 0, bi = 0;
    for (int h = 1; h < nh; h++) {
        if (p->prev[h] > p->prev[bp]) bp = h;
        if (p->induct[h] > p->induct[bi]) bi = h;
    }
    float rise;
    int jump = train_jump_step(t, n, &rise);
    char s[900];
    int len = snprintf(s, sizeof s, "At step %d: best previous-token head %d.%d scores %.2f, best "
                       "induction head %d.%d %.2f. Loss on the second copy %.2f vs %.2f on the "
                       "first. ", p->step, bp / p->NH, bp % p->NH, p->prev[bp], bi / p->NH,
                       bi % p->NH, p->induct[bi], p->loss_second, p->loss_first);
    if (jump >= 0 && rise >= 0.2f)
        snprintf(s + len, sizeof s - len, "The best induction score rose by %.2f, half of it "
                 "by step %d: the phase change.", rise, jump);
    else
        snprintf(s + len, sizeof s - len, "No induction jump yet.");
    float y = r.y + ui_text_wrap(a, s, r.x, r.y, r.w, FONT_UI, TH_INK) + 8;
    ui_text_wrap(a, "Scores by the standard protocol in a cheap setting: 8 sequences of <bos>, a "
                 "block of random words and the same block again, at 3 block lengths, every few "
                 "steps (model/detect.h).", r.x, y, r.w, FONT_SMALL, TH_MUTED);
}

/* ---- the maps of the probe text ---- */

static unsigned long snap_version(int k, int h) {
    return ((unsigned long)(k + 1) << 8) | (unsigned long)(h + 1);
}

static void probe_grid(App *a, Rect r, int k) {
    TrainView *t = &a->train;
    int T = TRAIN_PROBE_T, L = t->L, NH = t->NH;
    if (L * NH > TRAIN_MAX_HEADS) return;
    char s[160];
    snprintf(s, sizeof s, "every head's map of the probe text at step %d (click one)", t->pts[k].step);
    render_text(a->r, s, r.x, r.y, FONT_UI, TH_INK);
    float cw = (r.w - 50) / NH, ch = (r.h - 26) / L, sz = floorf(minf(cw - 8, ch - 22));
    if (sz < 16) return;
    for (int l = 0; l < L; l++)
        for (int h = 0; h < NH; h++) {
            int i = l * NH + h;
            Rect th = {r.x + 50 + h * cw, r.y + 26 + l * ch + 18, sz, sz};
            char nm[32];
            snprintf(nm, sizeof nm, "%d.%d", l, h);
            render_text(a->r, nm, th.x, th.y - 18, FONT_SMALL, i == t->sel ? TH_ACCENT : TH_MUTED);
            const float *P = t->snap[k] + (size_t)i * T * T;
            HeatmapScale hs = ui_plain_scale(a, P, (size_t)T * T, 1);
            render_map_upload(a->r, &t->tex[i], P, T, T, snap_version(k, i));
            render_map_draw(a->r, &t->tex[i], th, 0, 0, T, T, &hs);
            render_frame(a->r, (Rect){th.x - 2, th.y - 2, th.w + 4, th.h + 4}, i == t->sel ? 3 : 1,
                         i == t->sel ? TH_ACCENT : TH_BORDER);
            ui_add_region(a, nm, th, 0, 0, T, T, l, h);
            if (ui_clicked(a, th)) t->sel = i;
        }
    for (int l = 0; l < L; l++) {
        snprintf(s, sizeof s, "layer %d", l);
        render_text(a->r, s, r.x, r.y + 26 + l * ch + 18 + sz / 2 - 8, FONT_SMALL, TH_MUTED);
    }
}

/* The selected head's map of the probe text, large, with its words. */
static void probe_map(App *a, Rect r, int k) {
    TrainView *t = &a->train;
    int T = TRAIN_PROBE_T, i = t->sel;
    const float *P = t->snap[k] + (size_t)i * T * T;
    char s[160];
    snprintf(s, sizeof s, "head %d.%d at step %d: prev %.2f, induction %.2f", i / t->NH,
             i % t->NH, t->pts[k].step, t->pts[k].prev[i], t->pts[k].induct[i]);
    render_text(a->r, s, r.x, r.y, FONT_UI, TH_INK);
    float lab = 86, cell = floorf(minf((r.w - lab) / T, (r.h - 30 - lab) / T));
    if (cell < 4) return;
    Rect m = {r.x + lab, r.y + 28, cell * T, cell * T};
    HeatmapScale hs = ui_plain_scale(a, P, (size_t)T * T, 1);
    render_map_upload(a->r, &t->tex[TRAIN_MAX_HEADS], P, T, T, snap_version(k, 1000 + i));
    render_map_draw(a->r, &t->tex[TRAIN_MAX_HEADS], m, 0, 0, T, T, &hs);
    render_frame(a->r, (Rect){m.x - 1, m.y - 1, m.w + 2, m.h + 2}, 1, TH_BORDER);
    ui_add_region(a, "train_head", m, 0, 0, T, T, i / t->NH, i % t->NH);
    float fs = minf(FONT_SMALL, cell * 0.9f);
    for (int q = 0; q < T; q++) {
        ui_text_fit(a, t->probe_words[q], r.x, m.y + q * cell + (cell - fs) / 2 - 1, fs, lab - 6, TH_INK);
        render_text_up(a->r, t->probe_words[q], m.x + q * cell + (cell - fs) / 2, m.y + m.h + 4 +
                       minf(render_text_width(a->r, t->probe_words[q], -1, fs), lab - 6), fs, TH_INK);
    }
    if (ui_hover(a, m)) {
        int row = (int)((a->ui.my - m.y) / cell), col = (int)((a->ui.mx - m.x) / cell);
        if (row >= 0 && row < T && col >= 0 && col < T)
            snprintf(a->readout, sizeof a->readout, "#%d %s -> #%d %s: %.2f", row,
                     t->probe_words[row], col, t->probe_words[col], P[row * T + col]);
    }
}

/* The slider over the points: drag to replay the run; "live" follows the last. */
static void scrubber(App *a, Rect r, int n) {
    TrainView *t = &a->train;
    Rect track = {r.x, r.y + 8, r.w - 90, 16};
    ui_panel(a, track);
    int shown = t->scrub >= 0 && t->scrub < n ? t->scrub : n - 1;
    float x = n > 1 ? track.x + track.w * shown / (float)(n - 1) : track.x;
    render_rect(a->r, (Rect){track.x, track.y + 6, x - track.x, 4}, TH_ACCENT_SOFT);
    render_rect(a->r, (Rect){x - 5, track.y - 4, 10, 24}, TH_ACCENT);
    ui_add_region(a, "train_scrub", track, 0, 0, 1, n, -1, -1);
    if (a->ui.down && n > 1 && ui_hover(a, (Rect){track.x - 8, track.y - 8, track.w + 16, 32})) {
        float f = (a->ui.mx - track.x) / track.w;
        t->scrub = (int)lroundf(fmaxf(0, fminf(1, f)) * (n - 1));
    }
    if (ui_button(a, (Rect){r.x + r.w - 80, r.y, 80, 32}, "live", t->scrub < 0)) t->scrub = -1;
}

void view_train(App *a, Rect area) {
    TrainView *t = &a->train;
    float y = area.y;
    y += recipe_row(a, (Rect){area.x, y, area.w, 32});
    y += shape_row(a, (Rect){area.x, y, area.w, 32});
    y += run_row(a, (Rect){area.x, y, area.w, 32});
    int np;
    app_train_phase(a, NULL, &np);
    if (np == 0) {
        ui_text_wrap(a, "Train a small transformer from scratch and watch its heads form. "
                     "\"Induction in 2 minutes\" trains a 2-layer model on text with repeated "
                     "random blocks: a previous-token head forms first, then, suddenly, an "
                     "induction head (the phase change of Olsson et al. 2022), and the loss on "
                     "the second copy of a block falls far below the first. Save writes an "
                     "ordinary model folder that every view and the command line open.",
                     area.x, y + 10, minf(area.w, 900), FONT_UI, TH_MUTED);
        confirm_box(a, area);
        return;
    }
    int shown = t->scrub >= 0 && t->scrub < np ? t->scrub : -1;
    int k = shown >= 0 ? shown : np - 1;
    float h = area.h - (y - area.y) - 44, lw = area.w * 0.58f;
    float cw = (lw - 16) / 2, ch = h / 3;
    for (int c = 0; c < N_CURVES; c++)
        curve_chart(a, (Rect){area.x + (c % 2) * (cw + 16), y + (c / 2) * ch, cw, ch - 8}, c, np,
                    shown);
    summary(a, (Rect){area.x + cw + 16 + 8, y + 2 * ch + 4, cw - 8, ch - 8}, np, shown);
    Rect right = {area.x + lw + 16, y, area.w - lw - 16, h};
    float gh = minf(right.h * 0.45f, 30 + t->L * (right.w - 50) / t->NH);
    probe_grid(a, (Rect){right.x, right.y, right.w, gh}, k);
    probe_map(a, (Rect){right.x, right.y + gh + 8, right.w, right.h - gh - 8}, k);
    scrubber(a, (Rect){area.x, area.y + area.h - 36, area.w, 32}, np);
    confirm_box(a, area);
}
