/* head.c: the Head view, one head's map with the tokens on both axes: hover for a
 * crosshair and the value ("she -> curie: 0.83"), click a token to pin its row,
 * wheel to zoom and drag to pan; beside it the pinned row as bars and the head's
 * role scores against uniform attention's. */
#include <math.h>
#include <string.h>

#include "util.h"
#include "gui/views/views.h"


/* ---- Head view ---- */

/* The visible window of the head map from zoom and pan. */
static void head_window(App *a, int *n, int *r0, int *c0) {
    int T = app_T(a);
    if (a->zoom < 1.0f) a->zoom = 1.0f;
    *n = clampi((int)lroundf(T / a->zoom), T < 4 ? T : 4, T);
    a->pan_r = (float)clampi((int)lroundf(a->pan_r), 0, T - *n);
    a->pan_c = (float)clampi((int)lroundf(a->pan_c), 0, T - *n);
    *r0 = (int)a->pan_r;
    *c0 = (int)a->pan_c;
}

/* Wheel zoom about the hovered cell, drag pan, click to pin a row. */
static void head_mouse(App *a, Rect m, float cell, int n, int r0, int c0) {
    int T = app_T(a);
    if (ui_hover(a, m) && a->ui.wheel != 0.0f) {
        float fr = (a->ui.my - m.y) / cell + r0, fc = (a->ui.mx - m.x) / cell + c0;
        a->zoom = fmaxf(1.0f, fminf(a->zoom * powf(1.25f, a->ui.wheel), T / 4.0f > 1 ? T / 4.0f : 1));
        float n2 = T / a->zoom;
        a->pan_r = fr - (fr - r0) * n2 / n;
        a->pan_c = fc - (fc - c0) * n2 / n;
        a->ui.wheel = 0;
        a->redraw = 1;
    }
    if (ui_clicked(a, m)) {
        a->ui.dragging = DRAG_HEAD_MAP;
        a->ui.drag_x = a->ui.press_x;
        a->ui.drag_y = a->ui.press_y;
        a->ui.moved = 0;
    }
    if (a->ui.dragging == DRAG_HEAD_MAP && a->ui.down) {
        float dx = a->ui.mx - a->ui.drag_x, dy = a->ui.my - a->ui.drag_y;
        if (fabsf(a->ui.mx - a->ui.press_x) + fabsf(a->ui.my - a->ui.press_y) > 4) a->ui.moved = 1;
        if (a->ui.moved && (fabsf(dx) >= cell || fabsf(dy) >= cell)) {
            a->pan_c -= truncf(dx / cell);
            a->pan_r -= truncf(dy / cell);
            a->ui.drag_x += truncf(dx / cell) * cell;
            a->ui.drag_y += truncf(dy / cell) * cell;
        }
    }
    if (a->ui.dragging == DRAG_HEAD_MAP && a->ui.released && !a->ui.moved) {
        int row = r0 + (int)((a->ui.press_y - m.y) / cell);
        a->pin_row = a->pin_row == row ? -1 : clampi(row, 0, T - 1);
    }
    Rect band = {m.x - 130, m.y, 128, m.h}; /* the query labels */
    if (ui_clicked(a, band)) {
        int row = r0 + (int)((a->ui.press_y - m.y) / cell);
        if (row >= r0 && row < r0 + n) a->pin_row = a->pin_row == row ? -1 : row;
    }
}

/* The pinned row's strongest keys as bars. */
static void pinned_bars(App *a, float x, float y, float w, const float *P) {
    int T = app_T(a), i = a->pin_row, idx[6];
    float val[6];
    int n = 0;
    for (int j = 0; j <= i; j++) { /* the 6 largest weights of row i */
        float v = P[(size_t)i * T + j];
        int k = n < 6 ? n++ : 5;
        if (k == 5 && n == 6 && v <= val[5]) continue;
        while (k > 0 && val[k - 1] < v) { val[k] = val[k - 1]; idx[k] = idx[k - 1]; k--; }
        val[k] = v;
        idx[k] = j;
    }
    char t[300];
    snprintf(t, sizeof t, "pinned: what \"%s\" (row %d) looks at", ui_token(a, i), i);
    ui_text_fit(a, t, x, y, FONT_UI, w, TH_ACCENT);
    for (int k = 0; k < n; k++) {
        float yy = y + 28 + k * 24;
        ui_text_fit(a, ui_token(a, idx[k]), x, yy, FONT_UI, 90, TH_INK);
        render_rect(a->r, (Rect){x + 96, yy + 3, (w - 150) * val[k], 14}, TH_ACCENT);
        snprintf(t, sizeof t, "%.2f", val[k]);
        render_text(a->r, t, x + w - 44, yy, FONT_UI, TH_MUTED);
    }
}

/* The selected head's role scores by the standard protocol (random repeated blocks,
 * head_roles.h) beside uniform attention's; returns the y below the table. */
static float role_table(App *a, float x, float y, float w) {
    int n = app_L(a) * app_NH(a), i = a->layer * app_NH(a) + a->head;
    render_text(a->r, "role scores on random repeated blocks", x, y, FONT_SMALL, TH_MUTED);
    if (!a->roles_ready) {
        render_text(a->r, a->roles_failed ? "not measured (see the status bar)" : "measuring...",
                    x, y + 22, FONT_SMALL, TH_MUTED);
        return y + 44;
    }
    for (int r = 0; r < DET_COUNT; r++) {
        float yy = y + 22 + r * 21, sc = a->role_score[r * n + i], u = a->role_uniform[r];
        int strong = sc >= 0.5f && sc > 2 * u;
        char t[32];
        ui_text_fit(a, detect_role_name((DetectRole)r), x, yy, FONT_SMALL, w - 90, strong ? TH_INK : TH_MUTED);
        snprintf(t, sizeof t, "%.2f", sc);
        render_text(a->r, t, x + w - 84, yy, FONT_SMALL, strong ? TH_ACCENT : TH_INK);
        snprintf(t, sizeof t, "(%.2f)", u);
        render_text(a->r, t, x + w - 44, yy, FONT_SMALL, TH_MUTED);
    }
    render_text(a->r, "(uniform attention's score)", x, y + 24 + DET_COUNT * 21, FONT_SMALL, TH_MUTED);
    char t2[240];
    snprintf(t2, sizeof t2, "%s%s", a->role_protocol, a->roles_cached ? " (from the cache)" : "");
    float yy = y + 46 + DET_COUNT * 21;
    return yy + ui_text_wrap(a, t2, x, yy, w, FONT_SMALL, TH_MUTED);
}

/* The side panel: title, role, readout, colour bar and role scores, the pinned
 * row, hints. Heights shrink on small windows (a projector at a large scale). */
static void head_side(App *a, Rect s, const HeatmapScale *hs, const float *P) {
    char t[300];
    int i = a->layer * app_NH(a) + a->head;
    render_clip(a->r, &s);
    snprintf(t, sizeof t, "Layer %d  \xC2\xB7  Head %d", a->layer, a->head);
    render_text(a->r, t, s.x, s.y, FONT_BIG, TH_INK);
    snprintf(t, sizeof t, "role: %s", a->roles_ready    ? a->role_label[i]
                                      : a->roles_failed ? "not measured"
                                                        : "measuring...");
    ui_text_fit(a, t, s.x, s.y + 34, FONT_UI, s.w - 130, a->roles_ready ? TH_INK : TH_MUTED);
    if (ui_button(a, (Rect){s.x + s.w - 124, s.y + 28, 120, 30}, "Repeat demo", 0))
        app_repeat_demo(a);
    if (a->ablate[i]) render_text(a->r, "switched off (ablated)", s.x, s.y + 56, FONT_UI, TH_OFF);
    Rect box = {s.x, s.y + 82, s.w, 48};
    ui_panel(a, box);
    if (a->readout[0]) {
        ui_text_fit(a, a->readout, box.x + 10, box.y + 4, FONT_TITLE, box.w - 20, TH_INK);
        ui_text_fit(a, a->readout_ids, box.x + 10, box.y + 29, FONT_SMALL, box.w - 20, TH_MUTED);
    } else render_text(a->r, "hover a cell to read its weight", box.x + 10, box.y + 15, FONT_UI, TH_MUTED);
    float y = box.y + box.h + 16, bh = fmaxf(60.0f, fminf(190.0f, s.h - 380.0f));
    render_text(a->r, a->shared_range ? "weight (scale shared by all maps)" : "weight (scale of this map)",
                s.x, y, FONT_SMALL, TH_MUTED);
    ui_colorbar(a, (Rect){s.x, y + 24, 22, bh}, hs);
    float below = role_table(a, s.x + 96, y + 22, s.w - 96);
    y = fmaxf(y + fmaxf(bh, 170.0f) + 40, below + 12); /* the protocol line may wrap */
    if (a->pin_row >= 0 && a->pin_row < app_T(a)) pinned_bars(a, s.x, y, s.w, P);
    else ui_text_fit(a, "click a token on the left (or a cell) to pin its row", s.x, y, FONT_SMALL,
                     s.w, TH_MUTED);
    if (y + 200 < s.y + s.h)
        ui_text_fit(a, "\xE2\x86\x90 \xE2\x86\x92 head  \xC2\xB7  \xE2\x86\x91 \xE2\x86\x93 layer  "
                    "\xC2\xB7  wheel: zoom  \xC2\xB7  drag: pan", s.x, s.y + s.h - 18, FONT_SMALL,
                    s.w, TH_MUTED);
    render_clip(a->r, NULL);
}

/* Axis captions: queries down the left, keys along the bottom. */
static void head_captions(App *a, Rect fig, Rect m) {
    const char *q = "query: the token that looks \xE2\x86\x93", *k = "key: the token looked at \xE2\x86\x92";
    float wq = render_text_width(a->r, q, -1, FONT_SMALL);
    render_text_up(a->r, q, fig.x - 22, m.y + m.h / 2 + wq / 2, FONT_SMALL, TH_MUTED);
    float wk = render_text_width(a->r, k, -1, FONT_SMALL);
    render_text(a->r, k, m.x + (m.w - wk) / 2, fig.y + fig.h + 4, FONT_SMALL, TH_MUTED);
}

void view_head(App *a, Rect area) {
    int T = app_T(a), n, r0, c0;
    const float *P = app_map(a, a->layer, a->head);
    HeatmapScale hs;
    app_map_scale(a, P, T, &hs);
    head_window(a, &n, &r0, &c0);
    float side = minf(360, area.w * 0.36f);
    Rect fig = {area.x + 22, area.y, area.w - side - 60, area.h - 22};
    MapFigure f = {P, &a->tex_head, gui_version(a, 1, a->layer * app_NH(a) + a->head), &hs, "head",
                   a->layer, a->head, 1, 1, r0, c0, n, NULL};
    Rect m;
    float cell = ui_map_figure(a, fig, &f, &m);
    head_mouse(a, m, cell, n, r0, c0);
    head_captions(a, fig, m);
    if (n < T) {
        char t[128];
        snprintf(t, sizeof t, "zoomed: rows %d-%d, columns %d-%d of %d (R resets)", r0, r0 + n - 1,
                 c0, c0 + n - 1, T);
        ui_text_fit(a, t, m.x + m.w + 56, area.y + area.h - 40, FONT_SMALL, side, TH_ACCENT);
    }
    float sx = minf(area.x + area.w - side, m.x + m.w + 56);
    head_side(a, (Rect){sx, area.y, side, area.h}, &hs, P);
}
