/* ablation.c: the Ablation view. Switch heads off (zero or mean) and compare a
 * later head's map before and after (with their difference), the next-token top-5,
 * the KL divergence of each position's prediction and the loss; the sweep switches
 * every head off in turn on the worker thread and shows the loss increase of each. */
#include <math.h>
#include <string.h>

#include "util.h"
#include "gui/views/views.h"


/* ---- Ablation view ---- */

/* The L x NH toggles; returns the bottom. */
static float ablation_grid(App *a, float x, float y, float w) {
    int L = app_L(a), NH = app_NH(a);
    render_text(a->r, "Switch heads off (click, or A)", x, y, FONT_TITLE, TH_INK);
    y += 34;
    float bw = minf(70, (w - (NH - 1) * 6) / NH);
    for (int l = 0; l < L; l++)
        for (int h = 0; h < NH; h++) {
            Rect b = {x + h * (bw + 6), y + l * 40, bw, 34};
            char t[32];
            snprintf(t, sizeof t, "L%d H%d", l, h);
            int off = a->ablate[l * NH + h], sel = l == a->layer && h == a->head;
            if (off) {
                render_rect(a->r, b, TH_OFF);
                ui_text_center(a, t, b, FONT_UI, TH_PANEL);
            } else if (ui_button(a, b, t, 0)) {
                app_toggle_ablation(a, l, h);
                continue;
            }
            if (sel) render_frame(a->r, (Rect){b.x - 3, b.y - 3, b.w + 6, b.h + 6}, 2, TH_ACCENT);
            if (off && ui_clicked(a, b)) app_toggle_ablation(a, l, h);
        }
    y += L * 40 + 6;
    char t[64];
    snprintf(t, sizeof t, "mode: %s", a->ablate_mode == ABLATE_ZERO ? "zero" : "mean");
    if (ui_button(a, (Rect){x, y, 130, 32}, t, 0))
        app_set_ablate_mode(a, a->ablate_mode == ABLATE_ZERO ? ABLATE_MEAN : ABLATE_ZERO);
    if (ui_button(a, (Rect){x + 140, y, 130, 32}, "all on", 0)) app_clear_ablation(a);
    return y + 44;
}

/* The sweep: button, progress, result as an L x NH heatmap with values. */
static void ablation_sweep(App *a, float x, float y, float w, float h) {
    int L = app_L(a), NH = app_NH(a), done = 0, total = 1;
    JobKind job = JOB_NONE;
    int busy = app_worker_busy(a, &job, &done, &total) && job == JOB_SWEEP;
    render_text(a->r, "Sweep: each head off alone", x, y, FONT_TITLE, TH_INK);
    y += 32;
    if (busy || a->sweep_wanted) {
        if (ui_button(a, (Rect){x, y, 110, 32}, "cancel", 0)) app_cancel_sweep(a);
        Rect bar = {x + 120, y + 8, w - 120, 16};
        render_rect(a->r, bar, TH_HOVER);
        render_rect(a->r, (Rect){bar.x, bar.y, bar.w * done / (total ? total : 1), bar.h}, TH_ACCENT);
        a->redraw = 1;
    } else if (ui_button(a, (Rect){x, y, 150, 32}, "run sweep (W)", 0)) {
        app_start_sweep(a);
    }
    y += 44;
    if (!a->sweep_valid) {
        render_text(a->r, "loss increase of each head, when it is off", x, y, FONT_SMALL, TH_MUTED);
        return;
    }
    float cell = minf(minf((w - 40) / NH, (h - 60) / L), 70);
    HeatmapScale hs = {0, 1, 1.0f, a->cmap, 0};
    heatmap_scale_auto(&hs, a->sweep, L * NH);
    Rect m = {x + 30, y, cell * NH, cell * L};
    render_map_upload(a->r, &a->tex_sweep, a->sweep, L, NH, gui_version(a, 5, 0));
    render_map_draw(a->r, &a->tex_sweep, m, 0, 0, L, NH, &hs);
    ui_add_region(a, "sweep", m, 0, 0, L, NH, -1, -1);
    for (int i = 0; i < L * NH; i++) {
        char t[32];
        snprintf(t, sizeof t, "%+.2f", a->sweep[i]);
        float pos = heatmap_position(&hs, a->sweep[i]);
        Rect c = {m.x + (i % NH) * cell, m.y + (i / NH) * cell, cell, cell};
        ui_text_center(a, t, c, FONT_SMALL, pos > 0.6f ? TH_INK : TH_PANEL);
    }
    for (int l = 0; l < L; l++) {
        char t[16];
        snprintf(t, sizeof t, "L%d", l);
        render_text(a->r, t, x, m.y + (l + 0.5f) * cell - 8, FONT_SMALL, TH_MUTED);
    }
    char t[96];
    snprintf(t, sizeof t, "loss increase (base loss %.2f)", a->sweep_base);
    render_text(a->r, t, x, m.y + m.h + 8, FONT_SMALL, TH_MUTED);
}

/* Top-5 next tokens as bars, at (x, y), width w. */
static void top5(App *a, float x, float y, float w, const char *title, const int *ids,
                 const float *p) {
    render_text(a->r, title, x, y, FONT_UI, TH_INK);
    for (int k = 0; k < 5; k++) {
        float yy = y + 26 + k * 23;
        char lab[64];
        engine_label(&a->base, ids[k], lab, sizeof lab);
        ui_text_fit(a, lab, x, yy, FONT_UI, 90, TH_INK);
        render_rect(a->r, (Rect){x + 96, yy + 3, (w - 150) * p[k], 14}, TH_ACCENT);
        char t[16];
        snprintf(t, sizeof t, "%.2f", p[k]);
        render_text(a->r, t, x + w - 46, yy, FONT_UI, TH_MUTED);
    }
}

/* KL divergence per position as vertical bars with token labels. */
static void kl_bars(App *a, Rect r) {
    int T = app_T(a);
    render_text(a->r, "KL(before || after) per position", r.x, r.y, FONT_UI, TH_INK);
    float top = r.y + 44, h = r.h - 44 - 50, bw = r.w / T, m = 1e-6f;
    for (int t = 0; t < T; t++) m = maxf(m, a->ares.kl[t]);
    for (int t = 0; t < T; t++) {
        float bh = h * a->ares.kl[t] / m;
        render_rect(a->r, (Rect){r.x + t * bw + bw * 0.15f, top + h - bh, bw * 0.7f, bh}, TH_OFF);
        if (bw >= 11)
            render_text_up(a->r, ui_token(a, t), r.x + t * bw + bw / 2 - 7, top + h + 4 +
                           fminf(46, render_text_width(a->r, ui_token(a, t), -1, FONT_SMALL)),
                           FONT_SMALL, TH_MUTED);
    }
    render_rect(a->r, (Rect){r.x, top + h, r.w, 1}, TH_BORDER);
    char t[64];
    snprintf(t, sizeof t, "the tallest bar: %.3f nats", m);
    ui_text_fit(a, t, r.x, r.y + 22, FONT_SMALL, r.w, TH_MUTED);
}

/* Next-token top-5, KL bars and the loss, below the maps. */
static void ablation_effects(App *a, Rect r) {
    char t[160];
    float col = r.w / 3;
    const char *last = ui_token(a, app_T(a) - 1);
    snprintf(t, sizeof t, "next token after \"%s\", before", last);
    top5(a, r.x, r.y, col - 24, t, a->top_ids, a->top_p);
    if (app_T(a) < 2) {
        render_text(a->r, "The loss and the KL need a text of at least one word.", r.x + col, r.y,
                    FONT_UI, TH_MUTED);
        return;
    }
    if (!a->ares_valid) {
        render_text(a->r, "Switch a head off to compare.", r.x + col, r.y, FONT_UI, TH_MUTED);
        snprintf(t, sizeof t, "loss on the text: %.3f", a->loss_base);
        render_text(a->r, t, r.x + col, r.y + 28, FONT_UI, TH_INK);
        return;
    }
    top5(a, r.x + col, r.y, col - 24, "after", a->ares.top_ablated, a->ares.ptop_ablated);
    kl_bars(a, (Rect){r.x + 2 * col, r.y, col, r.h - 24});
    float d = a->ares.loss_ablated - a->ares.loss_base;
    snprintf(t, sizeof t, "loss on the text: %.3f -> %.3f (%+.3f)", a->ares.loss_base,
             a->ares.loss_ablated, d);
    render_text(a->r, t, r.x, r.y + r.h - 20, FONT_UI, d > 0 ? TH_OFF : TH_INK);
}

/* Before, after and their difference for the selected head, in r; returns the
 * bottom of what it drew. */
static float ablation_maps(App *a, Rect r) {
    int T = app_T(a), NH = app_NH(a);
    char t[160];
    snprintf(t, sizeof t, "Layer %d head %d (arrows choose), before and after switching %d head%s "
             "off", a->layer, a->head, app_n_ablated(a), app_n_ablated(a) == 1 ? "" : "s");
    ui_text_fit(a, t, r.x, r.y, FONT_TITLE, r.w, TH_INK);
    const float *B = app_map(a, a->layer, a->head), *A = app_abl_map(a, a->layer, a->head);
    const float *D = app_diff(a);
    HeatmapScale hs, ha, hd = {-1, 1, 1.0f, CMAP_DIVERGING, 1};
    app_map_scale(a, B, T, &hs);
    app_map_scale(a, A, T, &ha);
    if (ha.vmax > hs.vmax) hs.vmax = ha.vmax;   /* before and after share one scale */
    if (a->diff_max > 0) hd.vmin = -a->diff_max, hd.vmax = a->diff_max;
    const char *names[3] = {"before", "after", "diff"};
    const char *titles[3] = {"before", "after", "after - before"};
    const float *vals[3] = {B, A, D};
    RenderMap *tex[3] = {&a->tex_before, &a->tex_after, &a->tex_diff};
    const HeatmapScale *scales[3] = {&hs, &hs, &hd};
    float gap = 72, band = 64, s = (r.w - 3 * gap - band) / 3, x = r.x, bottom = r.y;
    for (int k = 0; k < 3; k++) {
        MapFigure f = {vals[k], tex[k], gui_version(a, 2 + k, a->layer * NH + a->head), scales[k],
                       names[k], a->layer, a->head, k == 0, 1, 0, 0, T, NULL};
        Rect m;
        ui_map_figure(a, (Rect){x, r.y + 54, k == 0 ? s + band : s, r.h - 54}, &f, &m);
        render_text(a->r, titles[k], m.x, r.y + 30, FONT_UI, TH_MUTED);
        if (k >= 1) ui_colorbar(a, (Rect){m.x + m.w + 8, m.y, 12, m.h}, scales[k]);
        x = m.x + m.w + gap;
        bottom = m.y + m.h + band;
    }
    return bottom;
}

void view_ablation(App *a, Rect area) {
    float left = minf(320, area.w * 0.3f);
    float y = ablation_grid(a, area.x, area.y, left);
    ablation_sweep(a, area.x, y + 10, left, area.y + area.h - y - 10);
    Rect r = {area.x + left + 30, area.y, area.w - left - 30, area.h};
    render_rect(a->r, (Rect){r.x - 16, area.y, 1, area.h}, TH_BORDER);
    float bottom = 196;
    float y2 = ablation_maps(a, (Rect){r.x, r.y, r.w, r.h - bottom - 10});
    ablation_effects(a, (Rect){r.x, fminf(y2 + 12, r.y + r.h - bottom), r.w, bottom});
}
