/* grid.c: the Model view, the L x H grid of every head's map for the current text,
 * each labelled with its measured role (or "mixed"); switched-off heads are marked.
 * Clicking a head opens it in the Head view. */
#include <math.h>
#include <string.h>

#include "util.h"
#include "gui/views/views.h"


/* ---- Model view ---- */

/* One thumbnail of the grid with its title and role. */
static void model_cell(App *a, Rect cell, float s, int l, int h) {
    int NH = app_NH(a), T = app_T(a), i = l * NH + h, off = a->ablate[i];
    int sel = l == a->layer && h == a->head;
    Rect th = {cell.x + (cell.w - s) / 2, cell.y + 26, s, s};
    char title[32];
    snprintf(title, sizeof title, "L%d H%d", l, h);
    render_text(a->r, title, th.x, cell.y + 2, FONT_UI, sel ? TH_ACCENT : TH_INK);
    const float *P = app_map(a, l, h);
    HeatmapScale hs;
    app_map_scale(a, P, T, &hs);
    render_map_upload(a->r, &a->tex_thumbs[i], P, T, T, gui_version(a, 0, i));
    render_map_draw(a->r, &a->tex_thumbs[i], th, 0, 0, T, T, &hs);
    ui_add_region(a, title, th, 0, 0, T, T, l, h);
    Rgba fr = off ? TH_OFF : sel ? TH_ACCENT : ui_hover(a, th) ? TH_MUTED : TH_BORDER;
    render_frame(a->r, (Rect){th.x - 3, th.y - 3, th.w + 6, th.h + 6}, sel || off ? 3.0f : 1.0f, fr);
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

void view_model(App *a, Rect area) {
    int L = app_L(a), NH = app_NH(a);
    char head[512];
    snprintf(head, sizeof head, "Every head of the %s model, %d layer%s x %d heads. Labels: each "
             "head's strongest role on random repeated blocks (%s). Click a head to open it.",
             a->model_name, L, L == 1 ? "" : "s", NH,
             a->roles_ready ? a->role_protocol : "the standard protocol");
    ui_text_fit(a, head, area.x, area.y, FONT_UI, area.w, TH_MUTED);
    float top = area.y + 30, lab = 74;
    float cw = (area.w - lab) / NH, ch = (area.h - 30) / L;
    float s = floorf(minf(cw - 24, ch - 56));
    if (s < 16) s = 16;
    for (int l = 0; l < L; l++) {
        char name[32];
        snprintf(name, sizeof name, "layer %d", l);
        render_text(a->r, name, area.x, top + l * ch + 26 + s / 2 - 9, FONT_UI, TH_MUTED);
        for (int h = 0; h < NH; h++)
            model_cell(a, (Rect){area.x + lab + h * cw, top + l * ch, cw, ch}, s, l, h);
    }
}
