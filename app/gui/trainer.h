/* trainer.h: the Train view's run (trainer.c): a model trained from scratch on a
 * thread of its own while the window keeps drawing (model/train.h's session, one
 * step at a time). Every few steps the thread measures the live scores (losses,
 * every head's previous-token / induction / duplicate-token score by the standard
 * protocol) and snapshots every head's map of a fixed probe text, so the view can
 * plot the curves as they grow and replay the maps as they were at any step.
 *
 * Threads: the UI sets requests (pause, stop, save) under job.mu; the thread
 * publishes points by writing pts[k] and snap[k] first and then, under job.mu,
 * n_points = k + 1: a published point is never written again, so the UI reads
 * points below n_points without the lock. */
#ifndef AVZ_GUI_TRAINER_H
#define AVZ_GUI_TRAINER_H

#include "gui/job.h"
#include "render/render.h"
#include "train.h"

#define TRAIN_MAX_POINTS 256     /* measurements kept: every `every` steps */
#define TRAIN_PROBE_N 12         /* the probe text: <bos>, 12 random words, the same 12 again */
#define TRAIN_PROBE_T (2 * TRAIN_PROBE_N + 1)
#define TRAIN_MAX_HEADS 64       /* L * NH of the models the view trains */

typedef enum { TRAIN_NONE = 0, TRAIN_RUNNING, TRAIN_PAUSED, TRAIN_ENDED, TRAIN_FAILED } TrainPhase;

/* A preset of the view's recipe menu. */
typedef struct {
    const char *label;           /* "Induction in 2 minutes" */
    const char *name;            /* its script name: "induction-2min" */
    const char *recipe;          /* train_recipe name, or NULL for the settings below */
    int n_layer, n_head, n_embd, n_positions, steps, batch;
} TrainPreset;
const TrainPreset *train_presets(int *n);
/* The preset called name (script name), or -1. */
int train_preset_find(const char *name);

typedef struct {
    Job job;                      /* the training thread */
    TrainConfig tc;               /* this run's recipe (tc.out_dir unused) */
    int preset;                   /* the recipe menu's choice */
    PosEncoding pe;               /* the position encoding chosen */
    int steps;                    /* the steps chosen */
    int layers, heads, width, context; /* the shape chosen; 0 = the preset's */
    float blocks;                 /* the corpus' weight of random repeated blocks; < 0 = the preset's */
    int every;                    /* steps between measurements */
    /* under job.mu */
    TrainPhase phase;
    int want_pause, want_stop;
    char save_dir[4400];          /* a save request, "" none */
    int save_done;                /* 1: a save finished, result below */
    AvzCode save_rc;
    char save_msg[4400];          /* the folder saved, or why not */
    int steps_done;
    float loss;                   /* moving average */
    double wall_s;                /* seconds of training (pauses excluded) */
    int n_points;                 /* published points */
    char msg[AVZ_ERR_LEN];        /* why the run failed */
    int msg_new;                  /* msg not yet shown */
    /* written by the thread before it publishes them */
    TrainScores pts[TRAIN_MAX_POINTS];
    float *snap[TRAIN_MAX_POINTS]; /* (L, NH, T, T) each: every head's map of the probe */
    int L, NH;
    int probe[TRAIN_PROBE_T];
    char probe_words[TRAIN_PROBE_T][32];
    /* the view's own state (UI thread) */
    int scrub;                    /* the point shown; -1 = the latest */
    int confirm;                  /* a preset picked while running: 1 + its index */
    int sel;                      /* the head shown large, l * NH + h */
    char saved_dir[4400];         /* the last folder saved, for "Open" */
    RenderMap tex[TRAIN_MAX_HEADS + 1];
} TrainView;

/* The recipe the next Start trains: the preset, then the view's choices on top. */
void train_view_config(const TrainView *t, TrainConfig *tc);

struct App;
void app_train_init(struct App *a);
/* Starts a run of the chosen preset, encoding and steps (a run going is stopped). */
void app_train_start(struct App *a);
void app_train_pause(struct App *a, int pause);
/* Ends the run; the weights stay for Save until the next Start. */
void app_train_stop(struct App *a);
/* Asks the thread to save the model into dir ("" = a fresh folder in the export
 * folder); the result comes to the status bar. */
void app_train_save(struct App *a, const char *dir);
/* Once per frame: collects a finished save, keeps the window drawing while a run goes. */
void app_train_poll(struct App *a);
/* 1 while a save request is pending or its result not yet reported (app_train_poll). */
int app_train_saving(struct App *a);
/* The phase and steps done, read under the lock. */
TrainPhase app_train_phase(struct App *a, int *steps_done, int *n_points);
void app_train_free(struct App *a);
/* The phase change: the first step where the best induction score is half of the way
 * from its first value to its highest, or -1 while it has risen by less than 0.2; the
 * rise (highest - first) into *rise. */
int train_jump_step(const TrainView *t, int n_points, float *rise);

#endif
