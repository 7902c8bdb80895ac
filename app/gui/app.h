/* app.h: the desktop app's state and actions (`attnviz gui`): one App struct holds
 * everything, in the immediate-mode style of microui / Dear ImGui. Every frame the
 * views (views/) draw themselves from this state through the renderer (render/)
 * and react to the mouse as they draw; keys, script commands and lessons change the
 * same state through the same app_* functions. Nothing in gui/ calls SDL or GL;
 * textures are uploaded only when their content version changes.
 *
 * The folder:
 *   app.c          the app's life: start-up, the event loop, keys, export, status bar
 *   compute.c      what runs when: text -> forward pass on the chosen backend, captured
 *                  maps (cached, recomputed only when something changed), ablation
 *   worker.c       the worker job: head roles and the importance sweep, off the UI thread
 *   catalog.c      the menus' contents: the shipped models and the example texts
 *   job.c          one background thread with progress and cancel
 *   ui.c, ui.h     theme and widgets; figures.c the maps, bars and charts drawn with them
 *   frame.c        the window around the views: top bar, text field, status bar, menus
 *   views/         one file per view (views/views.h has the table)
 *   script.c       the --script language (parser); script_run.c runs its commands
 *   lesson.c       lesson files (parser); lessons.c steps through them in the app
 *   textedit.c     the text field's editing
 *   text_actions.c repeat the text / next model (teaching views' keys)
 *   trainer.c      the Train view's run: a model trained on a thread, its curves and maps */
#ifndef AVZ_GUI_APP_H
#define AVZ_GUI_APP_H

#include "ablate.h"
#include "figure/chart.h"
#include "device.h"
#include "figure/heatmap.h"
#include "gui/job.h"
#include "gui/lesson.h"
#include "detect.h"
#include "probes.h"
#include "render/render.h"
#include "gui/script.h"
#include "teach.h"
#include "gui/textedit.h"
#include "gui/trainer.h"

#define GUI_MAX_T 1024          /* the longest text the app shows, in tokens */
#define GUI_MAX_REGIONS 96
#define GUI_MAX_EXAMPLES 32
#define GUI_MAX_MODELS 32
#define GUI_MAX_LINE_HEADS 16

typedef enum {
    VIEW_MODEL = 0, VIEW_HEAD, VIEW_LINES, VIEW_ABLATION, VIEW_AGGREGATE, VIEW_POSITION,
    VIEW_COMPARE, VIEW_PERMUTE, VIEW_LENGTHS, VIEW_FLASH, VIEW_TRAIN, VIEW_COUNT
} ViewId;

typedef enum { MENU_NONE = 0, MENU_EXAMPLES, MENU_MODELS, MENU_COLORMAP, MENU_LESSONS } MenuId;

typedef struct {
    char name[256];             /* "rope" */
    char dir[4400];             /* its folder */
} ModelEntry;

/* A map the last frame drew: for the mouse, `hover` and `print_layout`. */
typedef struct {
    char name[32];              /* "head", "before", "L0H1", ... */
    Rect r;                     /* the visible cells, logical pixels */
    int row0, col0;             /* first visible cell */
    int rows, cols;             /* visible cells */
    int layer, head;            /* the head shown, or -1 */
} MapRegion;

/* The mouse as the frame sees it. */
typedef struct {
    float mx, my;               /* position, logical pixels */
    int down;                   /* left button held */
    int pressed, released;      /* went down / up since the last frame */
    int double_click;
    float press_x, press_y;     /* where it went down */
    float wheel;                /* wheel steps since the last frame */
    int ctrl;                   /* Ctrl was held for that wheel */
    int layer;                  /* the layer being drawn (0 views, 1 menus and help) */
    int input_layer;            /* the layer that receives the mouse */
    int dragging;               /* a drag that started on a map (DRAG_*) */
    float drag_x, drag_y;       /* last drag position */
    int moved;                  /* the drag moved more than a few pixels */
} Ui;

enum { DRAG_NONE = 0, DRAG_HEAD_MAP, DRAG_TEXT };

/* The worker thread: one job at a time, on its own copy of the model. */
typedef enum { JOB_NONE = 0, JOB_ROLES, JOB_SWEEP } JobKind;
typedef struct {
    Job job;                    /* the thread, its progress and cancel flag */
    /* the job (set before the thread starts; owned) */
    JobKind kind;
    char model_dir[4096];
    char device[16];
    int *ids, T;
    AblateMode mode;
    unsigned long model_gen;    /* the model the job belongs to */
    unsigned long text_gen;     /* the text it belongs to */
    /* results (read after the job finished) */
    AvzCode rc;
    char err[AVZ_ERR_LEN];
    float *importance;          /* (L * NH) sweep */
    float loss_base;
    DetectReport roles;         /* head roles by the standard protocol (head_roles.h) */
    int roles_cached;           /* they came from the cache */
    Engine eng;                 /* the worker's own model (only it touches this) */
    char eng_dir[4096];
    char device_name[160];
} Worker;

#define GUI_CMP_MAX 8           /* models side by side in the Compare view */
#define GUI_LEN_MAX_T 256       /* the Lengths view measures positions 0..255 */
#define GUI_LEN_SEQS 8          /* over this many held-out passages (buckets of 8 positions) */
#define GUI_MAX_LESSONS 32

/* The length measurements of the shipped models, on their own thread (each
 * model is loaded there; seconds of work). */
typedef struct {
    Job job;                                /* the thread, progress = models done */
    int n;                                  /* models */
    char name[GUI_CMP_MAX][64];
    char dir[GUI_CMP_MAX][4400];
    int ctx[GUI_CMP_MAX];                   /* training context (n_positions) */
    char device[16];                        /* the app's --device */
    float *loss[GUI_CMP_MAX];               /* (GUI_LEN_MAX_T) mean loss per position */
    AvzCode rc;
    char err[AVZ_ERR_LEN];
} LengthsJob;

/* What the teaching views show, each cached under the key it was computed for. */
typedef struct {
    unsigned long ver;          /* bumped whenever something here is recomputed */
    /* Position view */
    float *pos_vec;             /* (pos_T, C) position vectors, or NULL */
    float *pos_dot, *pos_cos;   /* (pos_T, pos_T) similarity, or NULL */
    float *rope_ang;            /* (pos_T, hs/2) */
    float *alibi;               /* (pos_T, pos_T) bias of the selected head */
    float *curve_ones, *curve_real; /* (GUI_LEN_MAX_T) RoPE score vs distance */
    int pos_T;
    unsigned long pos_key;
    char pos_note[256];
    /* Compare view */
    Engine cmp[GUI_CMP_MAX];
    char cmp_name[GUI_CMP_MAX][64];
    int n_cmp, cmp_loaded;
    float *cmp_map[GUI_CMP_MAX];  /* (T, T) of (layer, head) for the current text */
    char cmp_err[GUI_CMP_MAX][256];
    unsigned long cmp_key;
    /* Permutation view */
    unsigned long seed;
    TeachPermutation perm;
    int perm_valid;
    unsigned long perm_key;
    /* Flash view */
    FlashTrace ft;
    int ft_valid, ft_step;
    unsigned long ft_key;
    double t_naive, t_flash, t_fast; /* measured seconds for this head (teach_time_attention) */
    /* Lengths view */
    LengthsJob len;
    int len_state;                /* 0 not started, 1 running, 2 ready, 3 failed */
    /* lessons */
    Lesson lesson;
    int lesson_on, lesson_step;
    char lesson_files[GUI_MAX_LESSONS][256];
    int n_lesson_files;
    char caption[2048];           /* shown under the view ("" = none) */
    RenderMap tex[24];
} Teach;

typedef struct App {
    Renderer *r;
    Ui ui;
    int running, exit_code;
    int redraw;                 /* draw another frame right away */

    /* model, device and text */
    char model_dir[4096], model_name[64], device[16];
    Engine base;                /* the unablated pass of the text */
    Engine abl;                 /* the ablated pass: opened when a head is first switched off */
    unsigned long model_gen;    /* bumped on every model load */
    double load_seconds;        /* how long the last load took */
    int load_frames;            /* progress frames drawn while loading, in all */
    TextEdit edit;
    int text_focus;
    Tokens tok;                 /* the tokens of the last text that ran */
    int has_tokens;
    char text_error[AVZ_ERR_LEN]; /* why the current text does not run, or "" */
    unsigned long gen;          /* bumped whenever a pass changes what is shown */
    unsigned long text_gen;     /* bumped whenever the base pass changes */

    /* selection */
    ViewId view;
    int layer, head;
    int pin_row;                /* pinned query row, -1 none */
    unsigned char *ablate;      /* (L * NH) 1 = switched off */
    AblateMode ablate_mode;

    /* captured maps of the current text (lazily, one head at a time) */
    float **maps;               /* (L * NH) each (T, T) or NULL: base pass */
    float **abl_maps;           /* (L * NH) ablated pass */
    AblationResult ares;
    int ares_valid;
    int top_ids[5];             /* next-token top-5 after the text, base pass */
    float top_p[5];
    float loss_base;            /* mean loss of the text on itself, base pass (T >= 2) */
    float *diff;                /* (T, T) after - before of the selected head */
    float diff_max;
    unsigned long diff_key;
    float *agg_mean, *agg_roll; /* (T, T) head mean of the layer, rollout to it */
    unsigned long agg_key;
    float shared_vmax;          /* the largest value over every head's map */
    unsigned long shared_key;

    /* head roles (the standard protocol, measured on the worker) and the sweep */
    int roles_ready, roles_failed;
    char (*role_label)[48];     /* (L * NH) "induction 0.91", "weak ... 0.31" or "mixed" */
    float *role_score;          /* (DET_COUNT, L * NH) mean scores over the block lengths */
    float role_uniform[DET_COUNT]; /* what uniform attention would score */
    int roles_cached;           /* they were read from the cache (head_roles.h) */
    char role_protocol[160];    /* what was measured: detect_protocol_label */
    int demo_count;             /* repeat demos so far: each draws a fresh block */
    float *sweep;               /* (L * NH) loss increase per head */
    int sweep_valid, sweep_wanted;
    float sweep_base;
    Worker worker;

    /* display */
    Colormap cmap;
    int shared_range;           /* 1: one value scale for every map on screen */
    float gamma;
    float zoom;                 /* head view: 1 = whole map */
    float pan_r, pan_c;         /* head view: first visible row / column (cells) */
    float grid_scroll;          /* model view: layers scrolled off the top */
    float grid_zoom;            /* model view: 1 = fit the window, up to 4 (wheel + Ctrl) */
    unsigned lines_heads;       /* lines view: bit h = head h of the layer shown */
    float lines_scroll;         /* lines view: rows scrolled off the top */
    int help_open;
    MenuId menu;
    Rect menu_anchor;
    Rect menu_button[5];        /* where each menu's button was drawn (by MenuId) */

    /* textures, uploaded when their content version changes */
    RenderMap tex_head, tex_before, tex_after, tex_diff, tex_sweep, tex_mean, tex_roll, tex_bar;
    RenderMap *tex_thumbs;      /* (L * NH) */
    int n_thumbs;

    /* menus' contents */
    char examples[GUI_MAX_EXAMPLES][2][512]; /* label, text */
    int n_examples;
    ModelEntry models[GUI_MAX_MODELS]; /* the shipped models, for the menu */
    int n_models;

    /* status bar */
    char status[1024];
    int status_error;

    char readout[256];          /* the hovered cell: "she -> curie: 0.83", or "" */
    char readout_ids[256];      /* its tokens' positions, ids and vocabulary pieces:
                                   "#1 id 15496 'Hello' -> #2 id 995 'Ġworld'", or "" */
    float text_scroll;          /* the text field's horizontal scroll */

    /* the map rectangles of the last frame */
    MapRegion regions[GUI_MAX_REGIONS];
    int n_regions;

    Teach teach;
    TrainView train;            /* the Train view's run (trainer.h) */

    /* scripted mode */
    Script script;
    int script_on, script_pc, script_wait;
    int script_drag;            /* a scripted drag in progress: 1 move, 2 release */
    int script_async;           /* sweep_start: the script goes on while the sweep runs */
    int script_train_steps;     /* train_wait N: the steps to wait for, -1 none */
    int script_train_saving;    /* train_save: waiting for the save */
    int script_train_phase;     /* train_pause / train_stop: the phase to wait for, 0 none */
    float drag_to_x, drag_to_y;
    char shot_path[4096];       /* screenshot to take at the end of this frame */
    char export_dir[4096];
    int pending_export;         /* Ctrl+S: save the view at the end of this frame */
} App;

/* The content version of a texture: slot (which picture) and idx (which head or
 * layer) under the current a->gen, so a texture is uploaded again only when
 * what it shows changed. */
static inline unsigned long gui_version(const struct App *a, int slot, int idx) {
    return ((a->gen * 64ul + (unsigned long)slot) << 20) | (unsigned long)(idx + 1);
}

/* The content version of teaching-view texture slot (a->teach.tex[slot]): new
 * whenever a teaching result is recomputed (a->teach.ver). */
static inline unsigned long teach_version(const struct App *a, int slot) {
    return (a->teach.ver << 6) + (unsigned long)slot + 1;
}

/* ---- app.c ---- */
/* The options of `attnviz gui` (cli/gui.c parses them). */
typedef struct {
    const char *model, *text, *script, *device, *lesson;
    float scale;
    int width, height;
} GuiArgs;
/* Runs the app until it quits: opens the window, loads the model, runs the script or
 * the lesson if any; returns the exit code (2 for a bad script, model or lesson under
 * --script, 1 without a window). */
int app_main(const GuiArgs *g);
/* The event loop (app_main runs it). */
void app_loop(App *a);

void app_status(App *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void app_error(App *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Typed text as from the keyboard (goes into the text field when it has the focus). */
void app_text_input(App *a, const char *s);
/* A key press as from the keyboard (key codes of render.h). */
void app_key(App *a, int key, int mods);
void app_set_view(App *a, ViewId v);
void app_set_ui_scale(App *a, float s);
/* S or the "shared scale" button: one value scale for every map, or one per map. */
void app_toggle_shared_scale(App *a);
/* Ctrl+S: the view as PNG and the selected head's labelled heatmap. */
void app_request_export(App *a);
/* The labelled heatmap of the selected head (export_heatmap_png) into path. */
AvzCode app_export_head(App *a, const char *path, char *err);

/* ---- compute.c, worker.c, catalog.c ---- */
/* Loads a model folder, or a shipped model by name; on failure keeps the old one. A
 * load that takes more than 0.1 s draws a progress frame (app_draw_loading). */
AvzCode app_load_model(App *a, const char *dir_or_name, char *err);
/* A path dropped on the window: a model folder (or a file in one) opens; a failure is
 * shown in the status bar, the current model kept. */
void app_drop(App *a, const char *path);
/* The text changed (a->edit): tokenizes and reruns; errors go to the status bar. */
void app_text_changed(App *a);
void app_set_text(App *a, const char *text);
/* D or the Head view's button: a random block of words, then the same block again. */
void app_repeat_demo(App *a);
void app_select(App *a, int layer, int head);
void app_toggle_ablation(App *a, int layer, int head);
void app_clear_ablation(App *a);
void app_set_ablate_mode(App *a, AblateMode m);
int app_n_ablated(const App *a);
/* The loaded model's position encoding, "rope", ... */
const char *app_pe_name(const App *a);
/* Base-pass / ablated-pass map of (layer, head), (T, T), captured on first use. */
const float *app_map(App *a, int layer, int head);
const float *app_abl_map(App *a, int layer, int head);
/* The ablation view's difference map (after - before) of the selected head. */
const float *app_diff(App *a);
/* The Aggregates view's head mean of the selected layer and rollout through it. */
void app_aggregates(App *a, const float **mean, const float **roll);
/* The largest value over every head's map (for a shared value scale). */
float app_shared_vmax(App *a);
int app_T(const App *a);
int app_L(const App *a);
int app_NH(const App *a);
/* The key/value head query head h reads in a grouped-query model (NKV < NH: h / (NH /
 * NKV)), or -1 when every query head has its own. */
int app_kv_head(const App *a, int h);
void app_start_sweep(App *a);
void app_cancel_sweep(App *a);
int app_worker_busy(App *a, JobKind *kind, int *done, int *total);
/* Collects a finished worker job (call once per frame). */
void app_worker_poll(App *a);
/* Stops the worker job and frees its model (app_compute_free calls it). */
void app_worker_free(App *a);
void app_compute_free(App *a);
void app_list_models(App *a);
void app_load_examples(App *a);

/* ---- frame.c ---- */
/* One frame showing that `what` is loading: done of total parts (model_load's hook). */
void app_draw_loading(App *a, const char *what, int done, int total);

/* ---- script_run.c ---- */
/* Runs the next script command if the script is not waiting; 0 when it ran
 * one or waits, -1 when it stopped the app (a->exit_code set). */
void script_step(App *a);
/* 1 while the script waits for the training thread (the loop then sleeps between frames
 * instead of drawing as fast as it can). */
int script_waits_training(App *a);
/* One JSON line on stdout describing the current view's regions. */
void app_print_layout(App *a);

/* Runs one script command (script_run.c); lessons use it too. */
AvzCode script_run_cmd(App *a, const ScriptCmd *c, char *err);

#endif
