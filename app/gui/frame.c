/* frame.c: the window's frame around the views: the top bar (view tabs, menus,
 * buttons), the text field, the status bar, the menus, the help overlay and the
 * lesson caption. Every function draws from the App's state and reacts to the mouse
 * while it draws (immediate mode); the views themselves are in views/. */
#include <math.h>
#include <string.h>

#include "util.h"
#include "gui/views/views.h"


#define TOP_H 52.0f
#define FIELD_H 40.0f
#define STATUS_H 30.0f
#define PAD 16.0f


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
    if (ui_button(a, rc[4], labels[4], 0)) app_toggle_shared_scale(a);
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
    int n_views;
    const ViewDef *views = view_table(&n_views);
    for (int v = 0; v < n_views; v++) {
        float w = button_w(a, views[v].title);
        if (ui_button(a, (Rect){x, y, w, 34}, views[v].title, (int)a->view == v))
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
    {"D", "repeat demo: a random block of words, then the same block again"},
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
    a->readout_ids[0] = '\0';
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
        view_table(NULL)[a->view].draw(a, area);
    if (cap > 0) views_caption(a, H - STATUS_H - cap, W, 1);
    draw_status(a, W, H);
    a->ui.layer = 1;
    if (a->menu) draw_menu(a, W, H);
    if (a->help_open) draw_help(a, W, H);
}

/* ---- the caption panel (lessons, and the caption command) ---- */

static const char *lesson_base(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

float views_caption(App *a, float y, float W, int draw) {
    const Teach *t = &a->teach;
    if (!t->caption[0]) return 0;
    float pad = 16, w = W - 2 * pad - 24;
    char title[400] = "";
    if (t->lesson_on)
        snprintf(title, sizeof title, "%s, step %d of %d: %s   (Page Down / Right: next, Page Up / "
                 "Left: back, Esc: leave)", lesson_base(t->lesson.name), t->lesson_step + 1,
                 t->lesson.n_steps,
                 lesson_title(&t->lesson, t->lesson_step));
    float th = title[0] ? 24 : 0;
    float body = ui_text_wrap(a, t->caption, 0, 0, w, FONT_UI + 1, (Rgba){0, 0, 0, 0});
    float h = minf(th + body + 20, 260);
    if (!draw) return h + 8;
    Rect box = {pad, y, W - 2 * pad, h};
    render_rect(a->r, box, TH_ACCENT_SOFT);
    render_rect(a->r, (Rect){box.x, box.y, 4, box.h}, TH_ACCENT);
    render_clip(a->r, &box);
    if (title[0]) ui_text_fit(a, title, box.x + 14, box.y + 8, FONT_SMALL, w, TH_ACCENT);
    ui_text_wrap(a, t->caption, box.x + 14, box.y + 10 + th, w, FONT_UI + 1, TH_INK);
    render_clip(a->r, NULL);
    ui_add_region(a, "caption", box, 0, 0, 1, 1, -1, -1);
    return h + 8;
}

/* ---- the loading frame ---- */

/* A model loading on the UI thread (model_load's progress hook, between its parts):
 * one frame with the model's name and a bar of the parts read so far, so a large
 * checkpoint (GPT-2 small: 0.6-0.9 s) shows progress instead of a frozen window. */
void app_draw_loading(App *a, const char *what, int done, int total) {
    float W, H;
    render_size(a->r, &W, &H);
    render_begin(a->r, TH_BG);
    Rect b = {W / 2 - 260, H / 2 - 60, 520, 120};
    ui_panel(a, b);
    char s[400];
    snprintf(s, sizeof s, "loading %s", what);
    ui_text_fit(a, s, b.x + 20, b.y + 16, FONT_UI, b.w - 40, TH_INK);
    Rect bar = {b.x + 20, b.y + 56, b.w - 40, 18};
    render_frame(a->r, bar, 1, TH_BORDER);
    float f = total > 0 ? (float)done / total : 0;
    render_rect(a->r, (Rect){bar.x + 2, bar.y + 2, (bar.w - 4) * f, bar.h - 4}, TH_ACCENT);
    snprintf(s, sizeof s, "%d of %d parts (embeddings, each layer, the head)", done, total);
    render_text(a->r, s, b.x + 20, b.y + 84, FONT_SMALL, TH_MUTED);
    render_present(a->r);
}
