/* script_run.c: runs `--script` commands (parsed by gui/script.c) through the
 * same functions as the mouse and the keyboard: `key` presses a key through
 * app_key, `click` and `pin` click where the last frame drew, `hover` moves the
 * mouse over a cell of the map the last frame drew (in the Lines view: ROW is a
 * token, COL 0 its query side, 1 its key side). One command per frame, so
 * every change is drawn before the next command; the script also waits while
 * the worker thread runs (head roles, a sweep). A command that cannot run stops
 * the app with exit status 2 and a message naming the line. */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "figure/colormap.h"
#include "gui/views/views.h"

typedef struct { const char *name; int key; } KeyName;

static const KeyName KEYS[] = {
    {"tab", KEY_TAB}, {"left", KEY_LEFT}, {"right", KEY_RIGHT}, {"up", KEY_UP},
    {"down", KEY_DOWN}, {"home", KEY_HOME}, {"end", KEY_END}, {"pageup", KEY_PAGEUP},
    {"pagedown", KEY_PAGEDOWN}, {"backspace", KEY_BACKSPACE}, {"delete", KEY_DELETE},
    {"enter", KEY_RETURN}, {"return", KEY_RETURN}, {"escape", KEY_ESCAPE}, {"esc", KEY_ESCAPE},
    {"f1", KEY_F1}, {"f11", KEY_F11}, {"plus", KEY_PLUS}, {"minus", KEY_MINUS},
    {"question", KEY_QUESTION}, {"?", KEY_QUESTION}, {"space", ' '}, {"slash", '/'},
};

/* "ctrl+shift+tab" -> key and modifiers; -1 for an unknown name. */
static int parse_key(const char *s, int *key, int *mods) {
    *mods = 0;
    for (;;) {
        if (strncmp(s, "ctrl+", 5) == 0) *mods |= MOD_CTRL, s += 5;
        else if (strncmp(s, "shift+", 6) == 0) *mods |= MOD_SHIFT, s += 6;
        else if (strncmp(s, "alt+", 4) == 0) *mods |= MOD_ALT, s += 4;
        else break;
    }
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
        if (strcmp(s, KEYS[i].name) == 0) return *key = KEYS[i].key, 0;
    if (strlen(s) == 1 && s[0] > 32 && s[0] < 127) {
        *key = s[0] >= 'A' && s[0] <= 'Z' ? s[0] - 'A' + 'a' : s[0];
        return 0;
    }
    return -1;
}

/* The region of the selected head in the current view, else its first map. */
static const MapRegion *main_region(const App *a) {
    for (int i = 0; i < a->n_regions; i++)
        if (a->regions[i].layer == a->layer && a->regions[i].head == a->head) return &a->regions[i];
    return ui_region(a, NULL);
}

static void click_at(App *a, float x, float y) {
    a->ui.mx = a->ui.press_x = x;
    a->ui.my = a->ui.press_y = y;
    a->ui.pressed = a->ui.released = 1;
    a->ui.down = 0;
}

static AvzCode cmd_hover(App *a, int row, int col, char *err) {
    const MapRegion *g = main_region(a);
    if (!g) return avz_fail(err, AVZ_ERR_INPUT, "hover: this view shows no map");
    if (row < g->row0 || row >= g->row0 + g->rows || col < g->col0 || col >= g->col0 + g->cols)
        return avz_fail(err, AVZ_ERR_INPUT, "hover: cell (%d, %d) is not on the map shown "
                        "(rows %d-%d, columns %d-%d)", row, col, g->row0, g->row0 + g->rows - 1,
                        g->col0, g->col0 + g->cols - 1);
    a->ui.mx = g->r.x + (col - g->col0 + 0.5f) * g->r.w / g->cols;
    a->ui.my = g->r.y + (row - g->row0 + 0.5f) * g->r.h / g->rows;
    return AVZ_OK;
}

static AvzCode cmd_pin(App *a, int row, char *err) {
    if (row >= app_T(a))
        return avz_fail(err, AVZ_ERR_INPUT, "pin: row %d does not exist (the text has %d tokens)",
                        row, app_T(a));
    const MapRegion *g = ui_region(a, "head");
    if (a->view == VIEW_HEAD && g && row >= g->row0 && row < g->row0 + g->rows)
        click_at(a, g->r.x - 10, g->r.y + (row - g->row0 + 0.5f) * g->r.h / g->rows); /* its label */
    else
        a->pin_row = a->pin_row == row ? -1 : row;
    return AVZ_OK;
}

/* paste FILE: the file's bytes go on the clipboard, then Ctrl+V in the text field,
 * the path a user's paste takes (the app checks the length, shows errors). */
static AvzCode cmd_paste(App *a, const char *path, char *err) {
    if (!a->text_focus)
        return avz_fail(err, AVZ_ERR_INPUT, "paste: the text field does not have the focus "
                        "(click it, or key enter)");
    size_t len;
    char *src = avz_read_file(path, &len, err);
    if (!src) return AVZ_ERR_INPUT;
    if (strlen(src) != len) {
        free(src);
        return avz_fail(err, AVZ_ERR_INPUT, "paste: %s holds NUL bytes (a clipboard carries "
                        "text)", path);
    }
    render_clipboard_set(a->r, src);
    free(src);
    char *back = render_clipboard_get(a->r);
    size_t got = back ? strlen(back) : 0;
    free(back);
    if (got != len)
        return avz_fail(err, AVZ_ERR_INPUT, "paste: the clipboard holds %zu of the %zu bytes of %s",
                        got, len, path);
    app_key(a, 'v', MOD_CTRL);
    return AVZ_OK;
}

static AvzCode check_head(const App *a, int l, int h, const char *what, char *err) {
    if (l < app_L(a) && h < app_NH(a)) return AVZ_OK;
    return avz_fail(err, AVZ_ERR_INPUT, "%s: head (%d, %d) does not exist (layers 0-%d, heads "
                    "0-%d)", what, l, h, app_L(a) - 1, app_NH(a) - 1);
}

static AvzCode cmd_names(App *a, const ScriptCmd *c, char *err) {
    if (c->op == SCRIPT_VIEW) {
        int v = view_from_name(c->str);
        if (v < 0) return avz_fail(err, AVZ_ERR_INPUT, "unknown view '%s' (model, head, lines, "
                                   "ablation, aggregate, position, compare, permute, lengths, "
                                   "flash, train)", c->str);
        app_set_view(a, (ViewId)v);
    } else if (c->op == SCRIPT_COLORMAP) {
        int m = colormap_from_name(c->str);
        if (m < 0 || m == CMAP_DIVERGING)
            return avz_fail(err, AVZ_ERR_INPUT, "unknown colormap '%s' (viridis, cividis, magma)",
                            c->str);
        a->cmap = (Colormap)m;
    } else if (c->op == SCRIPT_RANGE) {
        if (strcmp(c->str, "per") && strcmp(c->str, "shared"))
            return avz_fail(err, AVZ_ERR_INPUT, "range: use per or shared, not '%s'", c->str);
        a->shared_range = strcmp(c->str, "shared") == 0;
    } else {
        int key, mods;
        if (parse_key(c->str, &key, &mods))
            return avz_fail(err, AVZ_ERR_INPUT, "key: unknown key '%s' (a letter, tab, left, "
                            "right, up, down, enter, escape, f11, question, ctrl+s, ...)", c->str);
        app_key(a, key, mods);
    }
    return AVZ_OK;
}

/* The teaching views' commands and lessons. */
static AvzCode teach_cmd(App *a, const ScriptCmd *c, char *err) {
    switch (c->op) {
    case SCRIPT_STEP:
        return avz_fail(err, AVZ_ERR_INPUT, "step belongs in lesson files (start one with "
                        "lesson FILE)");
    case SCRIPT_CAPTION:
        snprintf(a->teach.caption, sizeof a->teach.caption, "%s", c->str);
        return AVZ_OK;
    case SCRIPT_SHUFFLE: a->teach.seed = (unsigned long)c->iv[0]; return AVZ_OK;
    case SCRIPT_FLASH_STEP:
        if (!app_flash(a)) return avz_fail(err, AVZ_ERR_INPUT, "flash_step: no text to run");
        app_flash_goto(a, c->iv[0]);
        return AVZ_OK;
    case SCRIPT_EXTEND:
        if (c->iv[0] < 1 || c->iv[0] > GUI_MAX_T)
            return avz_fail(err, AVZ_ERR_INPUT, "extend: %d tokens is outside 1-%d", c->iv[0],
                            GUI_MAX_T);
        app_extend_text(a, c->iv[0]);
        return AVZ_OK;
    case SCRIPT_LESSON: return app_lesson_open(a, c->str, err);
    case SCRIPT_NEXT_MODEL: app_next_model(a); return AVZ_OK;
    default: return avz_fail(err, AVZ_ERR_INTERNAL, "command not handled");
    }
}

/* The Train view's commands. */
static AvzCode train_cmd(App *a, const ScriptCmd *c, char *err) {
    TrainView *t = &a->train;
    TrainPhase p = app_train_phase(a, NULL, NULL);
    int going = p == TRAIN_RUNNING || p == TRAIN_PAUSED;
    switch (c->op) {
    case SCRIPT_TRAIN_START: {
        int k = train_preset_find(c->str);
        if (k < 0) return avz_fail(err, AVZ_ERR_INPUT, "train_start: unknown preset '%s' "
                                   "(induction-2min, shipped, tiny)", c->str);
        int pe = t->pe;
        t->preset = k;
        t->steps = c->iv[0];
        t->pe = (PosEncoding)pe;
        app_train_start(a);
        return AVZ_OK;
    }
    case SCRIPT_TRAIN_PAUSE: case SCRIPT_TRAIN_RESUME: case SCRIPT_TRAIN_STOP:
        if (!going) return avz_fail(err, AVZ_ERR_INPUT, "%s: no run is going (train_start "
                                    "first)", c->op == SCRIPT_TRAIN_STOP ? "train_stop" :
                                    c->op == SCRIPT_TRAIN_PAUSE ? "train_pause" : "train_resume");
        if (c->op == SCRIPT_TRAIN_STOP) app_train_stop(a);
        else app_train_pause(a, c->op == SCRIPT_TRAIN_PAUSE);
        /* the script goes on once the thread has done it (it finishes its step first) */
        a->script_train_phase = c->op == SCRIPT_TRAIN_STOP ? TRAIN_ENDED
                                : c->op == SCRIPT_TRAIN_PAUSE ? TRAIN_PAUSED : TRAIN_RUNNING;
        return AVZ_OK;
    case SCRIPT_TRAIN_WAIT:
        if (p == TRAIN_NONE) return avz_fail(err, AVZ_ERR_INPUT, "train_wait: no run (train_start first)");
        a->script_train_steps = c->iv[0];
        return AVZ_OK;
    case SCRIPT_TRAIN_SCRUB: {
        int n;
        app_train_phase(a, NULL, &n);
        if (c->iv[0] >= n) return avz_fail(err, AVZ_ERR_INPUT, "train_scrub: measurement %d of "
                                           "%d does not exist", c->iv[0], n);
        t->scrub = c->iv[0] < 0 ? -1 : c->iv[0];
        return AVZ_OK;
    }
    case SCRIPT_TRAIN_SAVE:
        if (p == TRAIN_NONE) return avz_fail(err, AVZ_ERR_INPUT, "train_save: nothing to save "
                                             "(train_start first)");
        app_train_save(a, c->str);
        a->script_train_saving = 1;
        return AVZ_OK;
    default: return avz_fail(err, AVZ_ERR_INTERNAL, "command not handled");
    }
}

AvzCode script_run_cmd(App *a, const ScriptCmd *c, char *err) {
    if (c->op >= SCRIPT_TRAIN_START && c->op <= SCRIPT_TRAIN_SAVE) return train_cmd(a, c, err);
    switch (c->op) {
    case SCRIPT_TEXT: app_set_text(a, c->str); return AVZ_OK;
    case SCRIPT_MODEL: return app_load_model(a, c->str, err);
    case SCRIPT_DROP: app_drop(a, c->str); return AVZ_OK;
    case SCRIPT_VIEW: case SCRIPT_COLORMAP: case SCRIPT_RANGE: case SCRIPT_KEY:
        return cmd_names(a, c, err);
    case SCRIPT_SELECT:
        if (check_head(a, c->iv[0], c->iv[1], "select", err)) return AVZ_ERR_INPUT;
        app_select(a, c->iv[0], c->iv[1]);
        return AVZ_OK;
    case SCRIPT_ABLATE:
        if (check_head(a, c->iv[0], c->iv[1], "ablate", err)) return AVZ_ERR_INPUT;
        app_toggle_ablation(a, c->iv[0], c->iv[1]);
        return AVZ_OK;
    case SCRIPT_HOVER: return cmd_hover(a, c->iv[0], c->iv[1], err);
    case SCRIPT_PIN: return cmd_pin(a, c->iv[0], err);
    case SCRIPT_SCALE:
        if (c->fv < 0.5f || c->fv > 4.0f)
            return avz_fail(err, AVZ_ERR_INPUT, "scale: %.2f is outside 0.5-4", c->fv);
        app_set_ui_scale(a, c->fv);
        return AVZ_OK;
    case SCRIPT_SWEEP: app_start_sweep(a); return AVZ_OK;
    case SCRIPT_SWEEP_START:
        app_start_sweep(a);
        a->script_async = a->sweep_wanted;
        return AVZ_OK;
    case SCRIPT_PASTE: return cmd_paste(a, c->str, err);
    case SCRIPT_WAIT: a->script_wait = c->iv[0]; return AVZ_OK;
    case SCRIPT_SCREENSHOT: snprintf(a->shot_path, sizeof a->shot_path, "%s", c->str); return AVZ_OK;
    case SCRIPT_EXPORT: return app_export_head(a, c->str, err);
    case SCRIPT_RESIZE:
        if (c->iv[0] < 1 || c->iv[1] < 1 || c->iv[0] > 8192 || c->iv[1] > 8192)
            return avz_fail(err, AVZ_ERR_INPUT, "resize: %dx%d is outside 1x1-8192x8192",
                            c->iv[0], c->iv[1]);
        render_resize(a->r, c->iv[0], c->iv[1]);
        return AVZ_OK;
    case SCRIPT_CLICK: click_at(a, (float)c->iv[0], (float)c->iv[1]); return AVZ_OK;
    case SCRIPT_TYPE:
        if (!a->text_focus)
            return avz_fail(err, AVZ_ERR_INPUT, "type: the text field does not have the focus "
                            "(click it, or key enter)");
        app_text_input(a, c->str);
        return AVZ_OK;
    case SCRIPT_WHEEL: a->ui.wheel += (float)c->iv[0]; return AVZ_OK;
    case SCRIPT_DRAG:
        a->ui.press_x = a->ui.mx, a->ui.press_y = a->ui.my;
        a->ui.pressed = a->ui.down = 1;
        a->drag_to_x = a->ui.mx + c->iv[0], a->drag_to_y = a->ui.my + c->iv[1];
        a->script_drag = 1;
        return AVZ_OK;
    case SCRIPT_ASSERT_STATUS:
        if (strstr(a->status, c->str)) return AVZ_OK;
        return avz_fail(err, AVZ_ERR_INPUT, "assert_status: the status bar says \"%s\", not "
                        "\"%s\"", a->status, c->str);
    case SCRIPT_PRINT_LAYOUT: app_print_layout(a); return AVZ_OK;
    case SCRIPT_QUIT: a->running = 0; return AVZ_OK;
    default: return teach_cmd(a, c, err);
    }
}

/* 1 while the script waits for the worker (head roles, a sweep). A sweep
 * started by sweep_start runs on without holding the script, and a `model`
 * command does not wait for the head roles of the model it replaces (a user
 * clicking through the model menu does not either; stale results are dropped). */
int script_waits_training(App *a) {
    return a->script_on && (a->script_train_steps >= 0 || a->script_train_phase != TRAIN_NONE);
}

/* 1 while a train_wait or train_save holds the script. */
static int train_waits(App *a) {
    if (a->script_train_saving) {
        if (app_train_saving(a)) return 1;
        a->script_train_saving = 0;
    }
    if (a->script_train_phase != TRAIN_NONE) {
        TrainPhase p = app_train_phase(a, NULL, NULL);
        if ((int)p != a->script_train_phase && p != TRAIN_FAILED && p != TRAIN_ENDED) return 1;
        a->script_train_phase = TRAIN_NONE;
    }
    if (a->script_train_steps >= 0) {
        int done;
        TrainPhase p = app_train_phase(a, &done, NULL);
        if (p == TRAIN_RUNNING && done < a->script_train_steps) return 1;
        a->script_train_steps = -1;
    }
    return 0;
}

static int script_waits(App *a) {
    if (train_waits(a)) return 1;
    JobKind kind = JOB_NONE;
    int busy = app_worker_busy(a, &kind, NULL, NULL);
    if (!busy && !a->sweep_wanted) a->script_async = 0;
    if (a->script_async && (a->sweep_wanted || kind == JOB_SWEEP)) return 0;
    int next_model = a->script_pc < a->script.n &&
                     (a->script.cmds[a->script_pc].op == SCRIPT_MODEL ||
                      a->script.cmds[a->script_pc].op == SCRIPT_NEXT_MODEL);
    if (next_model && !a->sweep_wanted && (!busy || kind == JOB_ROLES) && !a->script_wait &&
        !a->script_drag)
        return 0;
    return busy || a->sweep_wanted || a->teach.len.job.started ||
           (a->has_tokens && !a->roles_ready && !a->roles_failed);
}

void script_step(App *a) {
    if (script_waits(a)) return;
    if (a->script_drag == 1) { /* the frame after the press: move */
        a->ui.mx = a->drag_to_x, a->ui.my = a->drag_to_y;
        a->script_drag = 2;
        return;
    }
    if (a->script_drag == 2) { /* then release */
        a->ui.down = 0, a->ui.released = 1;
        a->script_drag = 0;
        return;
    }
    if (a->script_wait > 0) { a->script_wait--; return; }
    if (a->script_pc >= a->script.n) {
        a->script_on = 0;
        return;
    }
    const ScriptCmd *c = &a->script.cmds[a->script_pc++];
    char err[AVZ_ERR_LEN] = "";
    if (script_run_cmd(a, c, err) == AVZ_OK) return;
    fprintf(stderr, "%s:%d: %s\n", a->script.name, c->line, err);
    app_error(a, "%s:%d: %s", a->script.name, c->line, err);
    a->exit_code = 2;
    a->running = 0;
}

/* ---- print_layout ---- */

static cJSON *region_json(const App *a, const MapRegion *g, float s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", g->name);
    cJSON_AddNumberToObject(o, "x", g->r.x * s);
    cJSON_AddNumberToObject(o, "y", g->r.y * s);
    cJSON_AddNumberToObject(o, "w", g->r.w * s);
    cJSON_AddNumberToObject(o, "h", g->r.h * s);
    cJSON_AddNumberToObject(o, "row0", g->row0);
    cJSON_AddNumberToObject(o, "col0", g->col0);
    cJSON_AddNumberToObject(o, "rows", g->rows);
    cJSON_AddNumberToObject(o, "cols", g->cols);
    cJSON_AddNumberToObject(o, "layer", g->layer);
    cJSON_AddNumberToObject(o, "head", g->head);
    if (g->head >= 0 && app_kv_head(a, g->head) >= 0)   /* grouped-query: its key/value head */
        cJSON_AddNumberToObject(o, "kv_head", app_kv_head(a, g->head));
    return o;
}

void app_print_layout(App *a) {
    int nv, pw, ph;
    const ViewDef *views = view_table(&nv);
    float s = render_scale(a->r);
    render_pixel_size(a->r, &pw, &ph);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "view", views[a->view].name);
    cJSON_AddNumberToObject(o, "width", pw);
    cJSON_AddNumberToObject(o, "height", ph);
    cJSON_AddNumberToObject(o, "scale", s);
    cJSON_AddNumberToObject(o, "layer", a->layer);
    cJSON_AddNumberToObject(o, "head", a->head);
    cJSON_AddNumberToObject(o, "T", app_T(a));
    cJSON_AddNumberToObject(o, "pin_row", a->pin_row);
    cJSON_AddStringToObject(o, "colormap", colormap_name(a->cmap));
    cJSON_AddStringToObject(o, "readout", a->readout);
    cJSON_AddStringToObject(o, "readout_ids", a->readout_ids);
    cJSON_AddStringToObject(o, "status", a->status);
    cJSON_AddNumberToObject(o, "load_seconds", a->load_seconds);
    cJSON_AddNumberToObject(o, "load_frames", a->load_frames);
    if (a->view == VIEW_TRAIN) {   /* the run as the Train view shows it */
        static const char *ph[] = {"none", "running", "paused", "ended", "failed"};
        int done, np;
        TrainPhase p = app_train_phase(a, &done, &np);
        int k = a->train.scrub >= 0 && a->train.scrub < np ? a->train.scrub : np - 1;
        cJSON *t = cJSON_AddObjectToObject(o, "train");
        cJSON_AddStringToObject(t, "phase", ph[p]);
        cJSON_AddNumberToObject(t, "steps_done", done);
        cJSON_AddNumberToObject(t, "steps", a->train.tc.steps);
        pthread_mutex_lock(&a->train.job.mu);
        cJSON_AddNumberToObject(t, "wall_s", a->train.wall_s);
        pthread_mutex_unlock(&a->train.job.mu);
        if (k >= 0) {   /* the best heads at the point shown, by the cheap standard protocol */
            const TrainScores *sc = &a->train.pts[k];
            float bp = 0, bi = 0;
            for (int h = 0; h < sc->L * sc->NH; h++)
                bp = fmaxf(bp, sc->prev[h]), bi = fmaxf(bi, sc->induct[h]);
            cJSON_AddNumberToObject(t, "best_prev", bp);
            cJSON_AddNumberToObject(t, "best_induction", bi);
        }
        cJSON_AddNumberToObject(t, "points", np);
        cJSON_AddNumberToObject(t, "shown_step", k >= 0 ? a->train.pts[k].step : -1);
        cJSON_AddNumberToObject(t, "confirm", a->train.confirm);
        cJSON_AddStringToObject(t, "saved", a->train.saved_dir);
    }
    cJSON *rs = cJSON_AddArrayToObject(o, "regions");
    for (int i = 0; i < a->n_regions; i++) cJSON_AddItemToArray(rs, region_json(a, &a->regions[i], s));
    char *txt = cJSON_PrintUnformatted(o);
    printf("%s\n", txt);
    fflush(stdout);
    cJSON_free(txt);
    cJSON_Delete(o);
}
