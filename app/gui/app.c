/* app.c: the desktop app's life: start-up, the event loop, keys, export, the status
 * bar (see app.h). `attnviz gui` (cli/gui.c) parses the options and calls app_main.
 *
 * The loop is event driven: it sleeps in render_wait until something happens
 * (the CPU rests when the app is idle), wakes every 50 ms while the worker
 * thread runs (to draw its progress), and runs flat out only for a script or
 * when a frame asked for another one. */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "assets.h"
#include "figure/colormap.h"
#include "figure/export.h"
#include "gui/views/views.h"
#include "session.h"

#define DEFAULT_TEXT "marie curie met alan turing at the station . she gave him her camera ."

/* ---- status bar ---- */

static void set_status(App *a, int error, const char *fmt, va_list ap) {
    vsnprintf(a->status, sizeof a->status, fmt, ap);
    a->status_error = error;
    a->redraw = 1;
}

void app_status(App *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_status(a, 0, fmt, ap);
    va_end(ap);
}

void app_error(App *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_status(a, 1, fmt, ap);
    va_end(ap);
}

/* ---- small actions ---- */

void app_set_view(App *a, ViewId v) {
    a->view = v;
    a->menu = MENU_NONE;
    a->redraw = 1;
}

void app_set_ui_scale(App *a, float s) {
    render_set_ui_scale(a->r, s);
    app_status(a, "interface scale %.0f%% (Ctrl + / Ctrl - / Ctrl 0)", 100 * render_ui_scale(a->r));
}

void app_request_export(App *a) { a->pending_export = 1; }

AvzCode app_export_head(App *a, const char *path, char *err) {
    if (!a->has_tokens) return avz_fail(err, AVZ_ERR_INPUT, "nothing to export: no text has run");
    ExportStyle st;
    export_style_default(&st);
    st.cmap = a->cmap;
    st.gamma = a->gamma;
    char font[4096], title[256];
    assets_find(EXPORT_DEFAULT_FONT, font, sizeof font);
    st.font_path = font;
    snprintf(title, sizeof title, "layer %d head %d, %s", a->layer, a->head,
             pe_name(a->base.model.cfg.pe));
    return export_heatmap_png(path, app_map(a, a->layer, a->head), a->tok.n,
                              (const char *const *)a->tok.text, title, &st, err);
}

static int exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* Ctrl+S, at the end of a frame: the view's pixels and the selected head's
 * labelled heatmap, under the first free number (files are never overwritten). */
static void do_export(App *a) {
    char view[4200], head[4200], err[AVZ_ERR_LEN];
    int n;
    for (n = 1; n < 10000; n++) {
        snprintf(view, sizeof view, "%s/attnviz-view-%03d.png", a->export_dir, n);
        snprintf(head, sizeof head, "%s/attnviz-head-%03d.png", a->export_dir, n);
        if (!exists(view) && !exists(head)) break;
    }
    if (render_screenshot(a->r, view, err)) { app_error(a, "export: %s", err); return; }
    if (app_export_head(a, head, err)) { app_error(a, "export: %s", err); return; }
    app_status(a, "saved %s (this view) and %s (layer %d head %d, labelled)", view, head, a->layer,
               a->head);
}

void app_toggle_shared_scale(App *a) {
    a->shared_range = !a->shared_range;
    app_status(a, "value scale: %s", a->shared_range ? "shared by all maps" : "per map");
}

/* ---- keys ---- */

/* Keys while the text field has the focus. */
static void text_key(App *a, int key, int mods) {
    int sel = mods & MOD_SHIFT, word = mods & MOD_CTRL, changed = 0;
    TextEdit *t = &a->edit;
    if (mods & MOD_CTRL && (key == 'c' || key == 'x')) {
        char *s = textedit_copy(t);
        if (s) render_clipboard_set(a->r, s);
        free(s);
        if (key == 'x') changed = textedit_delete(t, 1);
    } else if (mods & MOD_CTRL && key == 'v') {
        char *s = render_clipboard_get(a->r);
        if (s && textedit_insert(t, s) != 0)
            app_error(a, "the pasted text is too long (%zu bytes; the text holds at most %d); the "
                      "maps still show the previous text", strlen(s), TEXTEDIT_MAX);
        else changed = s != NULL;
        free(s);
    } else if (mods & MOD_CTRL && key == 'a') {
        textedit_select_all(t);
    } else if (key == KEY_LEFT || key == KEY_RIGHT) {
        textedit_move(t, key == KEY_LEFT ? (word ? TE_WORD_LEFT : TE_LEFT)
                                          : (word ? TE_WORD_RIGHT : TE_RIGHT), sel);
    } else if (key == KEY_HOME || key == KEY_END) {
        textedit_move(t, key == KEY_HOME ? TE_HOME : TE_END, sel);
    } else if (key == KEY_BACKSPACE || key == KEY_DELETE) {
        changed = textedit_delete(t, key == KEY_BACKSPACE ? -1 : 1);
    } else if (key == KEY_RETURN || key == KEY_ESCAPE || key == KEY_TAB) {
        a->text_focus = 0;
    }
    if (changed) app_text_changed(a);
}

static void open_menu(App *a, MenuId m) {
    a->menu = a->menu == m ? MENU_NONE : m;
    a->menu_anchor = a->menu_button[m];
    if (m == MENU_MODELS) app_list_models(a);
    if (m == MENU_LESSONS) app_list_lessons(a);
}

/* Keys of the teaching views; 1 when the key was theirs. */
static int teach_key(App *a, int key) {
    if (key == 'n') { app_next_model(a); return 1; }
    if (a->view == VIEW_PERMUTE && key == 'u') {
        a->teach.seed++;
        app_status(a, "shuffled again (seed %lu)", a->teach.seed);
        return 1;
    }
    if (a->view == VIEW_LENGTHS && key == 'x') { app_extend_text(a, 2 * app_T(a)); return 1; }
    if (a->view == VIEW_FLASH && (key == ']' || key == '.' || key == ' ')) {
        app_flash_goto(a, a->teach.ft_step + 1);
        return 1;
    }
    if (a->view == VIEW_FLASH && (key == '[' || key == ',')) {
        app_flash_goto(a, a->teach.ft_step - 1);
        return 1;
    }
    return 0;
}

/* Lesson keys: Page Down / Right next step, Page Up / Left previous (a clicker
 * sends Page Up / Down), Esc leaves the lesson. 1 when the key was used. */
static int lesson_key(App *a, int key) {
    Teach *t = &a->teach;
    if (!t->lesson_on) return 0;
    int k = t->lesson_step;
    if (key == KEY_PAGEDOWN || key == KEY_RIGHT) {
        if (k + 1 < t->lesson.n_steps) app_lesson_goto(a, k + 1);
        else app_status(a, "the end of the lesson (Page Up goes back, Esc leaves)");
        return 1;
    }
    if (key == KEY_PAGEUP || key == KEY_LEFT) {
        if (k > 0) app_lesson_goto(a, k - 1);
        return 1;
    }
    if (key == KEY_ESCAPE) {
        app_lesson_close(a);
        app_status(a, "left the lesson");
        return 1;
    }
    return 0;
}

/* Keys that change the view or the selection (text field not focused). */
static void view_key(App *a, int key, int mods) {
    int shift = mods & MOD_SHIFT;
    if (lesson_key(a, key) || teach_key(a, key)) return;
    switch (key) {
    case KEY_TAB: app_set_view(a, (ViewId)((a->view + (shift ? VIEW_COUNT - 1 : 1)) % VIEW_COUNT)); break;
    case KEY_LEFT: app_select(a, a->layer, a->head - 1); break;
    case KEY_RIGHT: app_select(a, a->layer, a->head + 1); break;
    case KEY_UP: app_select(a, a->layer - 1, a->head); break;
    case KEY_DOWN: app_select(a, a->layer + 1, a->head); break;
    case 'a': app_toggle_ablation(a, a->layer, a->head); break;
    case 'm': app_set_ablate_mode(a, a->ablate_mode == ABLATE_ZERO ? ABLATE_MEAN : ABLATE_ZERO);
        app_status(a, "ablation mode: %s", a->ablate_mode == ABLATE_ZERO ? "zero" : "mean"); break;
    case 'w': app_start_sweep(a); break;
    case 'd': app_repeat_demo(a); break;
    case 'c': a->cmap = (Colormap)((a->cmap + 1) % CMAP_DIVERGING);
        app_status(a, "colormap: %s", colormap_name(a->cmap)); break;
    case 's': app_toggle_shared_scale(a); break;
    case 'g': a->gamma = a->gamma == 1.0f ? 0.5f : 1.0f;
        app_status(a, "gamma %.1f%s", a->gamma, a->gamma < 1 ? " (weak attention brightened)" : ""); break;
    case 'e': open_menu(a, MENU_EXAMPLES); break;
    case 'o': open_menu(a, MENU_MODELS); break;
    case 'r': a->zoom = 1.0f; a->pan_r = a->pan_c = 0; break;
    case '/': case KEY_RETURN: a->text_focus = 1; break;
    case KEY_ESCAPE:
        if (app_worker_busy(a, NULL, NULL, NULL) || a->sweep_wanted) app_cancel_sweep(a);
        else a->pin_row = -1;
        break;
    default:
        if (key >= '1' && key <= '9' && key - '1' < VIEW_COUNT) app_set_view(a, (ViewId)(key - '1'));
        if (key == '0' && VIEW_COUNT >= 10) app_set_view(a, (ViewId)9);
    }
}

void app_key(App *a, int key, int mods) {
    a->redraw = 1;
    if (mods & MOD_CTRL) {
        if (key == 's') { app_request_export(a); return; }
        if (key == 'q') { a->running = 0; return; }
        if (key == KEY_PLUS) { app_set_ui_scale(a, render_ui_scale(a->r) * 1.25f); return; }
        if (key == KEY_MINUS) { app_set_ui_scale(a, render_ui_scale(a->r) / 1.25f); return; }
        if (key == '0') { app_set_ui_scale(a, 1.0f); return; }
    }
    if (key == KEY_F11) { render_toggle_fullscreen(a->r); return; }
    if (key == KEY_F1 || (key == KEY_QUESTION && !a->text_focus)) {
        a->help_open = !a->help_open;
        return;
    }
    if (a->help_open || a->menu) {
        if (key == KEY_ESCAPE) a->help_open = 0, a->menu = MENU_NONE;
        return;
    }
    if (a->text_focus) text_key(a, key, mods);
    else view_key(a, key, mods);
}

/* ---- events and frames ---- */

void app_text_input(App *a, const char *s) {
    a->redraw = 1;
    if (!a->text_focus || a->help_open || a->menu) return;
    if (textedit_insert(&a->edit, s) != 0)
        app_error(a, "the text holds at most %d bytes", TEXTEDIT_MAX);
    else
        app_text_changed(a);
}

/* A folder (or a file inside one, such as its config.json) dropped on the window opens
 * as the model; anything else is named in the status bar. */
void app_drop(App *a, const char *path) {
    char dir[4096], err[AVZ_ERR_LEN];
    snprintf(dir, sizeof dir, "%s", path);
    struct stat sb;
    if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode)) {   /* a file: its folder */
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) *slash = '\0';
    }
    if (app_load_model(a, dir, err)) app_error(a, "dropped %s: %s", path, err);
    else app_status(a, "opened %s (dropped on the window)", dir);
}

static void handle_event(App *a, const Event *e) {
    Ui *u = &a->ui;
    a->redraw = 1;
    if (a->script_on && e->type != EV_QUIT) return; /* a script owns the input */
    switch (e->type) {
    case EV_QUIT: a->running = 0; break;
    case EV_KEY: app_key(a, e->key, e->mods); break;
    case EV_TEXT: app_text_input(a, e->text); break;
    case EV_MOUSE_MOVE: u->mx = e->x, u->my = e->y; break;
    case EV_MOUSE_DOWN:
        u->mx = e->x, u->my = e->y;
        if (e->button != 1) break;
        u->down = u->pressed = 1;
        u->press_x = e->x, u->press_y = e->y;
        u->double_click = e->clicks >= 2;
        break;
    case EV_MOUSE_UP:
        u->mx = e->x, u->my = e->y;
        if (e->button == 1) u->down = 0, u->released = 1;
        break;
    case EV_DROP: app_drop(a, e->path); break;
    case EV_WHEEL: u->wheel += e->wheel, u->mx = e->x, u->my = e->y, u->ctrl = e->mods & MOD_CTRL; break;
    default: break;
    }
}

static void frame(App *a) {
    int input = a->ui.pressed || a->ui.released || a->ui.wheel != 0.0f;
    views_frame(a);
    char err[AVZ_ERR_LEN];
    if (a->shot_path[0]) {
        if (render_screenshot(a->r, a->shot_path, err)) {
            app_error(a, "screenshot: %s", err);
            if (a->script_on) {
                fprintf(stderr, "attnviz gui: screenshot: %s\n", err);
                a->exit_code = 2;
                a->running = 0;
            }
        }
        a->shot_path[0] = '\0';
    }
    if (a->pending_export) do_export(a);
    a->pending_export = 0;
    render_present(a->r);
    a->ui.pressed = a->ui.released = a->ui.double_click = 0;
    a->ui.wheel = 0.0f;
    if (!a->ui.down) a->ui.dragging = DRAG_NONE;
    if (input) a->redraw = 1; /* a click may have changed what the frame had drawn */
}

static int busy(App *a) {
    return app_worker_busy(a, NULL, NULL, NULL) || a->sweep_wanted || a->teach.len.job.started ||
           (a->has_tokens && !a->roles_ready && !a->roles_failed) || app_train_saving(a);
}

/* A training run redraws five times a second (new points come every few steps), so the
 * window's drawing takes little from the training thread; input still draws at once. */
static int training(App *a) { return app_train_phase(a, NULL, NULL) == TRAIN_RUNNING; }

/* How long the loop may sleep waiting for input: not at all when a frame is due or a
 * script runs; 50 ms while a job works or a script waits on the training thread (its
 * phase changes post no event: sleeping until input would hang the script); 200 ms
 * while training; otherwise until the next event. */
static int loop_timeout(App *a) {
    if (a->redraw) return 0;
    if (a->script_on) return script_waits_training(a) ? 50 : 0;
    return busy(a) ? 50 : training(a) ? 200 : -1;
}

void app_loop(App *a) {
    a->redraw = 1;
    while (a->running) {
        int timeout = loop_timeout(a);
        render_wait(a->r, timeout);
        Event e;
        while (a->running && render_poll(a->r, &e)) handle_event(a, &e);
        app_worker_poll(a);
        app_lengths_poll(a);
        app_train_poll(a);
        if (!a->running) break;
        a->redraw = 0;
        if (a->script_on) script_step(a);
        if (a->running) frame(a);
    }
}

/* ---- start ---- */


static int open_app(App *a, const GuiArgs *g, char *err) {
    char font[4096];
    assets_find(EXPORT_DEFAULT_FONT, font, sizeof font);
    a->r = render_open("attnviz", g->width, g->height, font, err);
    if (!a->r) return -1;
    a->running = 1;
    a->cmap = CMAP_VIRIDIS;
    a->gamma = 1.0f;
    a->zoom = 1.0f;
    a->pin_row = -1;
    a->ui.mx = a->ui.my = -1e6f; /* no hover until the mouse (or a script) moves */
    snprintf(a->device, sizeof a->device, "%s", g->device ? g->device : "auto");
    const char *dir = getenv("ATTNVIZ_EXPORT_DIR");
    snprintf(a->export_dir, sizeof a->export_dir, "%s", dir && dir[0] ? dir : ".");
    if (g->scale > 0) render_set_ui_scale(a->r, g->scale);
    app_load_examples(a);
    app_list_models(a);
    textedit_set(&a->edit, g->text ? g->text : a->n_examples ? a->examples[0][1] : DEFAULT_TEXT);
    return 0;
}

/* Loads the model of --model (or the default); 0, or -1 with the error shown. */
static int first_model(App *a, const GuiArgs *g) {
    char err[AVZ_ERR_LEN];
    if (app_load_model(a, g->model ? g->model : AVZ_DEFAULT_MODEL, err) == AVZ_OK) return 0;
    fprintf(stderr, "attnviz gui: %s\n", err);
    app_error(a, "%s (pick a model in the model menu)", err);
    return -1;
}

static void close_app(App *a) {
    app_train_free(a);   /* stops a run; a save in progress finishes first */
    app_teach_free(a);
    app_compute_free(a);
    RenderMap *maps[] = {&a->tex_head, &a->tex_before, &a->tex_after, &a->tex_diff,
                         &a->tex_sweep, &a->tex_mean, &a->tex_roll, &a->tex_bar};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) render_map_release(a->r, maps[i]);
    render_close(a->r);
    script_free(&a->script);
}

static int no_window(const char *err) {
    fprintf(stderr,
            "attnviz gui: cannot open the app's window: %s.\n"
            "  Without a display, write the figures with `attnviz export` (attnviz export --help),\n"
            "  or run the app on a virtual display:  xvfb-run -a attnviz gui\n", err);
    return 1;
}

int app_main(const GuiArgs *gp) {
    const GuiArgs g = *gp;
    AvzErr err;
    App *a = avz_xcalloc(1, sizeof *a);
    job_init(&a->worker.job);
    job_init(&a->teach.len.job);
    app_train_init(a);
    a->teach.seed = 1;
    if (g.script && script_load(g.script, &a->script, err)) {
        free(a);
        fprintf(stderr, "attnviz: %s\n", err);
        return 2;
    }
    a->script_on = g.script != NULL;
    if (open_app(a, &g, err)) {
        script_free(&a->script);
        free(a);
        return no_window(err);
    }
    if (first_model(a, &g) && a->script_on) a->exit_code = 2, a->running = 0;
    if (g.lesson && app_lesson_open(a, g.lesson, err)) {
        fprintf(stderr, "attnviz gui: lesson: %s\n", err);
        app_error(a, "lesson: %s", err);
        if (a->script_on) a->exit_code = 2, a->running = 0;
    }
    app_loop(a);
    int code = a->exit_code;
    close_app(a);
    job_destroy(&a->worker.job);
    job_destroy(&a->teach.len.job);
    free(a);
    return code;
}

