/* grid.c: the Model view, the L x H grid of every head's map for the current text,
 * each labelled with its measured role (or "mixed"); switched-off heads are marked.
 * Clicking a head opens it in the Head view. In a grouped-query model (Llama family,
 * NKV < NH key/value heads) the query heads that read one key/value head share a band
 * and a "kv" tag: their maps differ only through their queries. */
#include <math.h>
#include <string.h>

#include "util.h"
#include "gui/views/views.h"


/* ---- Model view ---- */

/* The colour a role is drawn in, in the frames and the legend (roles as head_roles.h
 * labels them); muted for "mixed". */
static Rgba role_colour(const char *label) {
    static const struct { const char *role; Rgba c; } C[] = {
        {"previous-token", {0, 114, 178, 255}}, {"induction", {213, 94, 0, 255}},
        {"duplicate-token", {0, 158, 115, 255}}, {"first-token", {120, 120, 120, 255}},
        {"current-token", {204, 121, 167, 255}}};
    for (size_t k = 0; k < sizeof C / sizeof C[0]; k++)
        if (strstr(label, C[k].role)) return C[k].c;
    return TH_BORDER;
}

/* One thumbnail of the grid with its title and role. */
static void model_cell(App *a, Rect cell, float s, int l, int h) {
    int NH = app_NH(a), T = app_T(a), i = l * NH + h, off = a->ablate[i];
    int sel = l == a->layer && h == a->head;
    Rect th = {cell.x + (cell.w - s) / 2, cell.y + 26, s, s};
    char title[32], name[16];
    snprintf(name, sizeof name, "L%d H%d", l, h);
    int kv = app_kv_head(a, h);
    if (kv >= 0) snprintf(title, sizeof title, "L%d H%d kv%d", l, h, kv);
    else snprintf(title, sizeof title, "L%d H%d", l, h);
    render_text(a->r, title, th.x, cell.y + 2, FONT_UI, sel ? TH_ACCENT : TH_INK);
    const float *P = app_map(a, l, h);
    HeatmapScale hs;
    app_map_scale(a, P, T, &hs);
    render_map_upload(a->r, &a->tex_thumbs[i], P, T, T, gui_version(a, 0, i));
    render_map_draw(a->r, &a->tex_thumbs[i], th, 0, 0, T, T, &hs);
    ui_add_region(a, name, th, 0, 0, T, T, l, h);
    Rgba fr = off ? TH_OFF : sel ? TH_ACCENT : ui_hover(a, th) ? TH_MUTED
              : a->roles_ready ? role_colour(a->role_label[i]) : TH_BORDER;
    int strong = a->roles_ready && strncmp(a->role_label[i], "weak", 4) && strcmp(a->role_label[i], "mixed");
    render_frame(a->r, (Rect){th.x - 3, th.y - 3, th.w + 6, th.h + 6}, sel || off || strong ? 3.0f : 1.0f, fr);
    if (off) {
        render_rect(a->r, th, (Rgba){255, 255, 255, 150});
        render_rect(a->r, (Rect){th.x + 4, th.y + 4, 44, 22}, TH_OFF);
        render_text(a->r, "OFF", th.x + 10, th.y + 7, FONT_SMALL, TH_PANEL);
    }
    const char *role = a->roles_ready    ? a->role_label[i]
                       : a->roles_failed ? "role: not measured"
                                         : "role: measuring...";
    ui_text_fit(a, role, th.x, th.y + s + 6, FONT_SMALL + 0.5f, maxf(s, cell.w - 8),
                a->roles_ready && strcmp(role, "mixed") ? TH_INK : TH_MUTED);
    if (ui_clicked(a, th)) {
        app_select(a, l, h);
        app_set_view(a, VIEW_HEAD);
    }
}

/* Grouped-query attention: a faint band behind each group of NH / NKV query heads
 * that share a key/value head, alternating shades along the row. */
static void kv_bands(App *a, float x0, float y, float cw, float ch, int NH, int NKV) {
    if (NKV <= 0 || NKV >= NH) return;
    int g = NH / NKV;
    for (int k = 0; k < NKV; k++) {
        Rgba c = k % 2 ? (Rgba){0, 0, 0, 0} : TH_HOVER;
        if (c.a) render_rect(a->r, (Rect){x0 + k * g * cw + 2, y, g * cw - 4, ch - 4}, c);
    }
}

/* The wheel scrolls the layers (many-layer models: GPT-2 has 12 x 12 heads,
 * SmolLM2-135M 30 x 9); with Ctrl held it zooms. Only the rows on screen are drawn, so
 * only their heads' maps are ever captured. */
static void grid_scroll_zoom(App *a, Rect area, int L, float rows_visible) {
    if (!ui_hover(a, area) || a->ui.wheel == 0.0f) return;
    if (a->ui.ctrl) a->grid_zoom = fmaxf(1.0f, fminf(4.0f, a->grid_zoom * powf(1.2f, a->ui.wheel)));
    else a->grid_scroll -= a->ui.wheel;
    a->ui.wheel = 0;
    a->grid_scroll = fmaxf(0.0f, fminf(a->grid_scroll, fmaxf(0.0f, L - rows_visible)));
}

void view_model(App *a, Rect area) {
    int L = app_L(a), NH = app_NH(a);
    char head[512];
    snprintf(head, sizeof head, "Every head of the %s model, %d layer%s x %d heads. Labels: each "
             "head's strongest role by the standard protocol (%s). Click a head to open it.",
             a->model_name, L, L == 1 ? "" : "s", NH,
             a->roles_ready ? a->role_protocol : "the standard protocol");
    int NKV = a->base.model.cfg.n_kv_head;
    if (NKV > 0 && NKV < NH) {
        size_t n = strlen(head);
        snprintf(head + n, sizeof head - n, " Grouped-query attention: %d key/value heads, each "
                 "read by %d query heads (one band, tag kvK).", NKV, NH / NKV);
    }
    ui_text_fit(a, head, area.x, area.y, FONT_UI, area.w, TH_MUTED);
    float top = area.y + 30, lab = 74, zoom = a->grid_zoom >= 1.0f ? a->grid_zoom : 1.0f;
    /* cells fit the window, but never smaller than a readable thumbnail: then the
     * layers scroll */
    float cw = (area.w - lab) / NH, ch = (area.h - 30) / L;
    float s = floorf(minf(cw - 24, ch - 56) * zoom);
    if (s < 40) s = 40;
    cw = fmaxf(cw, s + 24);
    ch = s + 56;
    float rows_visible = (area.h - 52) / ch;   /* 22 px left below for the scroll hint */
    grid_scroll_zoom(a, area, L, rows_visible);
    int l0 = (int)a->grid_scroll, l1 = (int)ceilf(a->grid_scroll + rows_visible);
    if (l1 > L) l1 = L;
    Rect clip = {area.x, top, area.w, area.h - 52};
    render_clip(a->r, &clip);
    for (int l = l0; l < l1; l++) {
        float y = top + (l - a->grid_scroll) * ch;
        char name[32];
        snprintf(name, sizeof name, "layer %d", l);
        render_text(a->r, name, area.x, y + 26 + s / 2 - 9, FONT_UI, TH_MUTED);
        kv_bands(a, area.x + lab, y, cw, ch, NH, NKV);
        for (int h = 0; h < NH; h++) {
            float x = area.x + lab + h * cw;
            if (x > area.x + area.w) break;   /* heads past the right edge: zoom out */
            model_cell(a, (Rect){x, y, cw, ch}, s, l, h);
        }
    }
    render_clip(a->r, NULL);
    if (l1 - l0 < L || area.x + lab + NH * cw > area.x + area.w + 1) {
        char t[96];
        snprintf(t, sizeof t, "layers %d-%d of %d (wheel: scroll, Ctrl+wheel: zoom)", l0, l1 - 1, L);
        ui_text_fit(a, t, area.x + lab, area.y + area.h - 18, FONT_SMALL, area.w - lab, TH_MUTED);
    }
}
