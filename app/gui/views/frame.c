/* gui_views.c: the window's frame (top bar, text field, status bar, menus, help)
 * and the Model and Head views (see gui.h). Every function draws from the App's
 * state and reacts to the mouse while it draws. */
#include <math.h>
#include <string.h>

#include "gui/gui.h"

#define TOP_H 52.0f
#define FIELD_H 40.0f
#define STATUS_H 30.0f
#define PAD 16.0f

static const ViewDef VIEWS[VIEW_COUNT] = {
    {"model", "Model", view_model},
    {"head", "Head", view_head},
    {"lines", "Lines", view_lines},
    {"ablation", "Ablation", view_ablation},
    {"aggregate", "Aggregates", view_aggregate},
    {"position", "Position", view_position},
    {"compare", "Compare", view_compare},
    {"permute", "Permutation", view_permute},
    {"lengths", "Lengths", view_lengths},
    {"flash", "Flash", view_flash},
};

const ViewDef *view_table(int *n) {
    *n = VIEW_COUNT;
    return VIEWS;
}

int view_from_name(const char *name) {
    for (int i = 0; i < VIEW_COUNT; i++)
        if (strcmp(VIEWS[i].name, name) == 0) return i;
    return -1;
}

static float minf(float a, float b) { return a < b ? a : b; }
static float maxf(float a, float b) { return a > b ? a : b; }
static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ---- top bar ---- */

static float button_w(App *a, const char *s) {
    return render_text_width(a->r, s, -1, FONT_UI) + 28.0f;
}

/* The controls at the right of the top bar, right-aligned at x1 on row y. */
static void top_controls(App *a, float x1, float y) {
    char model[128], cmap[64];
    snprintf(model, sizeof model, "model: %s \xE2\x96\xBE", a->model_name);
    snprintf(cmap, sizeof cmap, "%s \xE2\x96\xBE", colormap_name(a->cmap));
    const char *labels[6] = {model, "examples \xE2\x96\xBE", "lessons \xE2\x96\xBE", cmap,
                             a->shared_range ? "scale: shared" : "scale: per map", "?"};
    float x = x1;
    Rect rc[6];
    for (int i = 5; i >= 0; i--) {
        float w = i == 5 ? 36.0f : button_w(a, labels[i]);
        x -= w;
        rc[i] = (Rect){x, y, w, 34};
        x -= 8;
    }
    MenuId menus[4] = {MENU_MODELS, MENU_EXAMPLES, MENU_LESSONS, MENU_COLORMAP};
    for (int i = 0; i < 4; i++) {
        a->menu_button[menus[i]] = rc[i];
        if (ui_button(a, rc[i], labels[i], a->menu == menus[i])) {
            a->menu = menus[i];
            a->menu_anchor = rc[i];
            if (menus[i] == MENU_MODELS) app_list_models(a);
            if (menus[i] == MENU_LESSONS) app_list_lessons(a);
        }
    }
    if (ui_button(a, rc[4], labels[4], 0)) app_key(a, 's', 0);
    if (ui_button(a, rc[5], "?", a->help_open)) a->help_open = 1;
}

static float controls_width(App *a) {
    char model[128];
    snprintf(model, sizeof model, "model: %s \xE2\x96\xBE", a->model_name);
    return button_w(a, model) + button_w(a, "examples \xE2\x96\xBE") +
           button_w(a, "lessons \xE2\x96\xBE") + button_w(a, "magma \xE2\x96\xBE") +
           button_w(a, "scale: per map") + 36 + 5 * 8;
}

/* Title and view tabs; the controls share the row when the window is wide
 * enough, else they get a row of their own. Returns the bar's height. */
static float draw_top_bar(App *a, float W) {
    float x = PAD, y = 9;
    float title_w = render_text(a->r, "attnviz", x, y + 5, FONT_TITLE, TH_ACCENT);
    x += title_w + 22;
    for (int v = 0; v < VIEW_COUNT; v++) {
        float w = button_w(a, VIEWS[v].title);
        if (ui_button(a, (Rect){x, y, w, 34}, VIEWS[v].title, (int)a->view == v))
            app_set_view(a, (ViewId)v);
        x += w + 6;
    }
    float h = TOP_H;
    if (x + 24 + controls_width(a) > W - PAD) {
        top_controls(a, W - PAD, y + TOP_H - 6);
        h += TOP_H - 6;
    } else {
        top_controls(a, W - PAD, y);
    }
    render_rect(a->r, (Rect){0, h - 1, W, 1}, TH_BORDER);
    return h;
}

/* ---- the text field ---- */

/* Byte offset in the text nearest to x (field coordinates, scrolled). */
static int text_hit(App *a, float x) {
    const char *s = a->edit.s;
    float w = 0;
    int i = 0;
    while (s[i]) {
        int n = 1;
        while (((unsigned char)s[i + n] & 0xC0) == 0x80) n++;
        float cw = render_text_width(a->r, s + i, n, FONT_UI + 2);
        if (x < w + cw / 2) return i;
        w += cw;
        i += n;
    }
    return i;
}

/* Draws bytes [from, to) of the text, placed as in the whole line starting at x. */
static void text_run(App *a, int from, int to, float x, float y, Rgba c, int underline) {
    if (to <= from) return;
    char buf[TEXTEDIT_MAX + 1];
    const char *s = a->edit.s;
    float x0 = x + render_text_width(a->r, s, from, FONT_UI + 2);
    memcpy(buf, s + from, (size_t)(to - from));
    buf[to - from] = '\0';
    float w = render_text(a->r, buf, x0, y, FONT_UI + 2, c);
    if (underline)
        render_rect(a->r, (Rect){x0, y + render_line_height(a->r, FONT_UI + 2) - 1, w, 2}, c);
}

/* The text in runs: words unknown to the model red and underlined. */
static void text_runs(App *a, float x, float y) {
    int ok = a->has_tokens && !a->text_error[0], pos = 0; /* tokens describe this text */
    for (int t = 1; ok && t < a->tok.n; t++) {
        int st = a->tok.byte_start[t], en = st + a->tok.byte_len[t];
        if (!a->tok.unknown[t] || st < pos || en > a->edit.len) continue;
        text_run(a, pos, st, x, y, TH_INK, 0);
        text_run(a, st, en, x, y, TH_ERROR, 1);
        pos = en;
    }
    text_run(a, pos, a->edit.len, x, y, TH_INK, 0);
}

static void text_mouse(App *a, Rect box, float x0) {
    if (ui_clicked(a, box)) {
        a->text_focus = 1;
        if (a->ui.double_click) textedit_select_all(&a->edit);
        else textedit_set_cursor(&a->edit, text_hit(a, a->ui.press_x - x0), 0);
        a->ui.dragging = DRAG_TEXT;
    } else if (a->ui.pressed && a->ui.layer == a->ui.input_layer) {
        a->text_focus = 0;
    }
    if (a->ui.dragging == DRAG_TEXT && a->ui.down && !a->ui.double_click)
        textedit_set_cursor(&a->edit, text_hit(a, a->ui.mx - x0), 1);
}

static float draw_text_field(App *a, float y, float W) {
    Rect box = {PAD, y + 8, W - 2 * PAD, FIELD_H};
    render_rect(a->r, box, TH_PANEL);
    Rgba edge = a->text_error[0] ? TH_ERROR : a->text_focus ? TH_ACCENT : TH_BORDER;
    render_frame(a->r, box, a->text_focus || a->text_error[0] ? 2.0f : 1.0f, edge);
    float lh = render_line_height(a->r, FONT_UI + 2), ty = box.y + (box.h - lh) / 2;
    float caret = render_text_width(a->r, a->edit.s, a->edit.cursor, FONT_UI + 2);
    float inner = box.w - 24;
    if (caret - a->text_scroll > inner) a->text_scroll = caret - inner;
    if (caret < a->text_scroll) a->text_scroll = caret;
    float total = render_text_width(a->r, a->edit.s, -1, FONT_UI + 2);
    if (a->text_scroll > total - inner) a->text_scroll = fmaxf(0.0f, total - inner);
    float x0 = box.x + 12 - a->text_scroll;
    text_mouse(a, box, x0);
    render_clip(a->r, &(Rect){box.x + 2, box.y + 2, box.w - 4, box.h - 4});
    int sa, sb;
    textedit_selection(&a->edit, &sa, &sb);
    if (sa != sb) {
        float xa = render_text_width(a->r, a->edit.s, sa, FONT_UI + 2);
        float xb = render_text_width(a->r, a->edit.s, sb, FONT_UI + 2);
        render_rect(a->r, (Rect){x0 + xa, ty, xb - xa, lh}, TH_ACCENT_SOFT);
    }
    if (a->edit.len) text_runs(a, x0, ty);
    else render_text(a->r, "Type a sentence here (click to edit), or pick one from examples",
                     x0, ty, FONT_UI + 2, TH_MUTED);
    if (a->text_focus) render_rect(a->r, (Rect){x0 + caret, ty, 2, lh}, TH_ACCENT);
    render_clip(a->r, NULL);
    const char *hint = a->text_focus ? "Enter: done" : "click or Enter to edit";
    float hw = render_text_width(a->r, hint, -1, FONT_SMALL), tw = total;
    if (x0 + tw + 24 < box.x + box.w - hw - 12) /* only where the text leaves room */
        render_text(a->r, hint, box.x + box.w - hw - 12, box.y + (box.h - lh) / 2 + 2, FONT_SMALL,
                    TH_MUTED);
    return box.y + box.h;
}

/* ---- status bar ---- */

static void draw_status(App *a, float W, float H) {
    Rect bar = {0, H - STATUS_H, W, STATUS_H};
    render_rect(a->r, bar, TH_PANEL);
    render_rect(a->r, (Rect){0, bar.y, W, 1}, TH_BORDER);
    char right[512];
    JobKind job;
    int done, total;
    const char *dev = a->base.loaded ? a->base.be->device : "no model";
    int busy = app_worker_busy(a, &job, &done, &total);
    if (busy && job == JOB_ROLES)
        snprintf(right, sizeof right, "measuring head roles... | %s | %s", a->model_name, dev);
    else if (busy && job == JOB_SWEEP)
        snprintf(right, sizeof right, "sweep: head %d of %d (Esc cancels) | %s | %s", done, total,
                 a->model_name, dev);
    else
        snprintf(right, sizeof right, "layer %d head %d | %s | %d tokens | %s", a->layer, a->head,
                 a->model_name, app_T(a), dev);
    float lh = render_line_height(a->r, FONT_SMALL + 0.5f), y = bar.y + (STATUS_H - lh) / 2;
    float rw = render_text_width(a->r, right, -1, FONT_SMALL + 0.5f);
    render_text(a->r, right, W - PAD - rw, y, FONT_SMALL + 0.5f, TH_MUTED);
    ui_text_fit(a, a->status, PAD, y, FONT_SMALL + 0.5f, W - 3 * PAD - rw,
                a->status_error ? TH_ERROR : TH_INK);
}

/* ---- menus and help (layer 1) ---- */

static void menu_pick(App *a, int i) {
    char err[AVZ_ERR_LEN];
    if (a->menu == MENU_EXAMPLES) {
        app_set_text(a, a->examples[i][1]);
        if (!a->status_error) app_status(a, "example: %s", a->examples[i][0]);
    } else if (a->menu == MENU_MODELS) {
        if (app_load_model(a, a->models[i].dir, err)) app_error(a, "%s", err);
        else app_status(a, "loaded model %s", a->model_name);
    } else if (a->menu == MENU_LESSONS) {
        a->menu = MENU_NONE;
        if (app_lesson_open(a, a->teach.lesson_files[i], err)) app_error(a, "lesson: %s", err);
        return;
    } else {
        a->cmap = (Colormap)i;
        a->gen++;
    }
    a->menu = MENU_NONE;
}

static void draw_menu(App *a, float W, float H) {
    int n = a->menu == MENU_EXAMPLES ? a->n_examples : a->menu == MENU_MODELS ? a->n_models
            : a->menu == MENU_LESSONS ? a->teach.n_lesson_files : 3;
    float row = 34, w = a->menu == MENU_EXAMPLES ? minf(820, W - 2 * PAD) : 240;
    Rect box = {minf(a->menu_anchor.x, W - PAD - w), a->menu_anchor.y + a->menu_anchor.h + 4, w,
                row * (n ? n : 1) + 8};
    box.h = minf(box.h, H - box.y - PAD);
    render_rect(a->r, (Rect){box.x + 3, box.y + 4, box.w, box.h}, (Rgba){0, 0, 0, 40});
    ui_panel(a, box);
    if (n == 0)
        render_text(a->r, a->menu == MENU_MODELS    ? "no models in assets/models/"
                          : a->menu == MENU_LESSONS ? "no lessons in assets/lessons/"
                                                    : "no examples",
                    box.x + 12, box.y + 10, FONT_UI, TH_MUTED);
    for (int i = 0; i < n && 4 + (i + 1) * row <= box.h; i++) {
        Rect it = {box.x + 4, box.y + 4 + i * row, box.w - 8, row};
        const char *label = a->menu == MENU_EXAMPLES ? a->examples[i][0]
                            : a->menu == MENU_MODELS ? a->models[i].name
                            : a->menu == MENU_LESSONS ? a->teach.lesson_files[i]
                                                     : colormap_name((Colormap)i);
        int current = a->menu == MENU_COLORMAP ? (int)a->cmap == i
                      : a->menu == MENU_MODELS ? strcmp(a->models[i].name, a->model_name) == 0 : 0;
        if (ui_hover(a, it) || current) render_rect(a->r, it, current ? TH_ACCENT_SOFT : TH_HOVER);
        float lh = render_line_height(a->r, FONT_UI), ty = it.y + (row - lh) / 2;
        float lw = render_text(a->r, label, it.x + 10, ty, FONT_UI, TH_INK);
        if (a->menu == MENU_EXAMPLES)
            ui_text_fit(a, a->examples[i][1], it.x + maxf(250, lw + 24), ty, FONT_UI,
                        it.w - maxf(250, lw + 24) - 10, TH_MUTED);
        if (ui_clicked(a, it)) { menu_pick(a, i); return; }
    }
    if (a->ui.pressed && !ui_clicked(a, box)) a->menu = MENU_NONE;
}

static const char *HELP[][2] = {
    {"Tab / Shift+Tab", "next / previous view (1-9, 0 jump to a view)"},
    {"N", "next shipped model, same text (compare position encodings)"},
    {"U / X", "Permutation: shuffle again / Lengths: double the text"},
    {"[ / ] or , / .", "Flash: previous / next tile"},
    {"Lessons menu", "PgDn / PgUp (or Right / Left) step; Esc leaves the lesson"},
    {"Left / Right", "previous / next head"},
    {"Up / Down", "previous / next layer"},
    {"A", "switch the selected head off / on (ablation)"},
    {"M", "ablation mode: zero or mean"},
    {"W", "run the ablation sweep (Esc cancels it)"},
    {"Enter or click the text", "edit the text (Esc or Enter to stop editing)"},
    {"Ctrl+C / X / V, Ctrl+A", "copy, cut, paste, select all in the text"},
    {"E / O", "examples menu / model menu"},
    {"C", "next colormap (viridis, cividis, magma)"},
    {"S", "value scale per map or shared by all maps"},
    {"G", "gamma 1 or 0.5 (brightens weak attention)"},
    {"Ctrl+S", "save the view and the selected head as PNG"},
    {"Ctrl + / Ctrl - / Ctrl 0", "bigger / smaller / normal interface (projector)"},
    {"F11", "fullscreen"},
    {"Mouse", "hover a cell to read it; click a token or cell to pin its row"},
    {"Wheel, drag", "zoom and pan the head map (long texts)"},
    {"? or F1, Esc", "this help; close it"},
    {"Ctrl+Q", "quit"},
};

static void draw_help(App *a, float W, float H) {
    int n = sizeof HELP / sizeof HELP[0];
    float row = 27, w = minf(760, W - 2 * PAD), h = minf(H - 2 * PAD, 90 + n * row);
    Rect box = {(W - w) / 2, (H - h) / 2, w, h};
    render_rect(a->r, (Rect){0, 0, W, H}, (Rgba){20, 24, 32, 120});
    ui_panel(a, box);
    render_text(a->r, "Keys and mouse", box.x + 24, box.y + 18, FONT_BIG, TH_INK);
    for (int i = 0; i < n && 64 + (i + 1) * row < h; i++) {
        float y = box.y + 62 + i * row;
        render_text(a->r, HELP[i][0], box.x + 24, y, FONT_UI, TH_ACCENT);
        ui_text_fit(a, HELP[i][1], box.x + 270, y, FONT_UI, w - 290, TH_INK);
    }
    if (a->ui.pressed) a->help_open = 0;
}

/* ---- the frame ---- */

void views_frame(App *a) {
    float W, H;
    render_size(a->r, &W, &H);
    a->n_regions = 0;
    a->readout[0] = '\0';
    a->ui.input_layer = a->menu || a->help_open ? 1 : 0;
    a->ui.layer = 0;
    render_begin(a->r, TH_BG);
    render_rect(a->r, (Rect){0, 0, W, TOP_H}, TH_PANEL);
    float top = draw_top_bar(a, W);
    float y = draw_text_field(a, top, W) + 14;
    float cap = views_caption(a, 0, W, 0);
    Rect area = {PAD, y, W - 2 * PAD, H - STATUS_H - 12 - y - cap};
    if (!a->base.loaded || !a->has_tokens)
        render_text(a->r, "No model loaded: pick one in the model menu.", area.x, area.y,
                    FONT_TITLE, TH_MUTED);
    else if (area.w > 40 && area.h > 40)
        VIEWS[a->view].draw(a, area);
    if (cap > 0) views_caption(a, H - STATUS_H - cap, W, 1);
    draw_status(a, W, H);
    a->ui.layer = 1;
    if (a->menu) draw_menu(a, W, H);
    if (a->help_open) draw_help(a, W, H);
}

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
    ui_map_scale(a, P, T, &hs);
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
    char head[256];
    snprintf(head, sizeof head, "Every head of the %s model, %d layer%s x %d heads. Labels: the "
             "role each head plays on held-out probe texts. Click a head to open it.",
             a->model_name, L, L == 1 ? "" : "s", NH);
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

/* The probes' role scores of the selected head beside uniform attention's. */
static void role_table(App *a, float x, float y, float w) {
    int n = app_L(a) * app_NH(a), i = a->layer * app_NH(a) + a->head;
    render_text(a->r, "role scores on probe texts", x, y, FONT_SMALL, TH_MUTED);
    if (!a->roles_ready) {
        render_text(a->r, a->roles_failed ? "not measured (see the status bar)" : "measuring...",
                    x, y + 22, FONT_SMALL, TH_MUTED);
        return;
    }
    for (int r = 0; r < ROLE_COUNT; r++) {
        float yy = y + 22 + r * 21, sc = a->role_score[r * n + i], u = a->role_uniform[r];
        int strong = sc > 0.3f && sc > 2 * u;
        char t[32];
        ui_text_fit(a, probes_role_name((HeadRole)r), x, yy, FONT_SMALL, w - 90, strong ? TH_INK : TH_MUTED);
        snprintf(t, sizeof t, "%.2f", sc);
        render_text(a->r, t, x + w - 84, yy, FONT_SMALL, strong ? TH_ACCENT : TH_INK);
        snprintf(t, sizeof t, "(%.2f)", u);
        render_text(a->r, t, x + w - 44, yy, FONT_SMALL, TH_MUTED);
    }
    render_text(a->r, "(uniform attention's score)", x, y + 24 + ROLE_COUNT * 21, FONT_SMALL, TH_MUTED);
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
    ui_text_fit(a, t, s.x, s.y + 34, FONT_UI, s.w, a->roles_ready ? TH_INK : TH_MUTED);
    if (a->ablate[i]) render_text(a->r, "switched off (ablated)", s.x, s.y + 56, FONT_UI, TH_OFF);
    Rect box = {s.x, s.y + 82, s.w, 48};
    ui_panel(a, box);
    if (a->readout[0]) ui_text_fit(a, a->readout, box.x + 10, box.y + 12, FONT_TITLE, box.w - 20, TH_INK);
    else render_text(a->r, "hover a cell to read its weight", box.x + 10, box.y + 15, FONT_UI, TH_MUTED);
    float y = box.y + box.h + 16, bh = fmaxf(60.0f, fminf(190.0f, s.h - 380.0f));
    render_text(a->r, a->shared_range ? "weight (scale shared by all maps)" : "weight (scale of this map)",
                s.x, y, FONT_SMALL, TH_MUTED);
    ui_colorbar(a, (Rect){s.x, y + 24, 22, bh}, hs);
    role_table(a, s.x + 96, y + 22, s.w - 96);
    y += fmaxf(bh, 170.0f) + 40;
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
    ui_map_scale(a, P, T, &hs);
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
