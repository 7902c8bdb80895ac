/* train.h: training a model from scratch on the synthetic corpus (model/corpus.h).
 *
 * The loop is the textbook one: sample a batch of passages, run the forward pass
 * with targets (the same tokens shifted by one), backpropagate, clip the gradient
 * norm, take an AdamW step with a warmup-then-cosine learning rate. Every
 * eval_every steps it measures the validation loss on held-out passages, the best
 * heads' roles by the standard protocol (model/detect.h: random repeated blocks, a
 * cheap setting) and on the corpus probes (model/probes.h), appends them to
 * train_log.csv, and writes a checkpoint atomically so that --resume can continue an
 * interrupted run. With a live log it also writes, every live_every steps, one JSON
 * line with every head's scores, for watching an induction head form. At the end it
 * writes the model card (README.md) with the full standard protocol as its headline. */
#ifndef AVZ_TRAIN_H
#define AVZ_TRAIN_H

#include "config.h"
#include "corpus.h"
#include "model.h"

typedef struct {
    /* the model */
    PosEncoding pe;
    int n_layer, n_head, n_embd, n_positions;
    /* the optimisation */
    int steps, batch, warmup, eval_every;
    float lr, min_lr_frac, weight_decay, clip, beta1, beta2;
    uint64_t seed;
    int threads;          /* OpenMP threads (0: all cores) */
    int random_positions; /* > 0 (RoPE only): each step's T positions are drawn at random
                             from [0, random_positions), in order, instead of 0..T-1
                             (Ruoss et al. 2023, "Randomized positional encodings boost
                             length generalization"): the model sees distances up to
                             random_positions - 1 while training on T tokens. Evaluation
                             and every use of the model read ordinary positions. */
    CorpusMix mix;
    int val_batches;      /* held-out batches for the validation loss */
    int probe_count;      /* probe passages per kind at each evaluation */
    /* where */
    const char *out_dir;
    int resume;
    int stop_at;          /* > 0: stop after this step, as an interruption would (tests) */
    int quiet;            /* no progress bar */
    const char *live_log; /* JSON-lines file appended every live_every steps, or NULL */
    int live_every;       /* steps between live lines (> 0 when live_log is set) */
    const char *recipe;   /* the preset it came from ("" or NULL: none), for the card */
} TrainConfig;

/* Defaults: the shipped recipe (2 layers x 4 heads, C = 128, context 64, rope, batch
 * 32, 6,000 steps, half random repeated blocks, ...; see train.c). */
void train_config_default(TrainConfig *tc);

/* Applies a named preset on top of tc (keeping out_dir, threads, the live log, seed
 * and quiet; pe unless the preset sets one): "shipped" (the defaults, what `make
 * models` trains) or "induction-2min" (learned positions, context 32, lr 5e-3, 2,600
 * steps: an induction head forms in about 2.5 minutes on two cores, see train.c).
 * Unknown names: AVZ_ERR_INPUT naming the known ones. */
AvzCode train_recipe(TrainConfig *tc, const char *name, char *err);

/* The names train_recipe knows, comma-separated, for help texts. */
const char *train_recipe_names(void);

/* Trains (or resumes) into tc->out_dir: model folder files, train_log.csv,
 * train_state.bin. Returns AVZ_OK or an error naming what failed. */
AvzCode train_run(const TrainConfig *tc, char *err);

/* The learning rate at step s (0-based): linear warmup, then cosine decay to
 * lr * min_lr_frac at the last step. */
float train_lr_at(const TrainConfig *tc, int s);

/* One row of T1 token ids: <bos> passage <bos> passage ... cut at T1 tokens, words
 * looked up in m's vocabulary (<unk> if missing). Advances rng. */
void train_sample_row(const Model *m, AvzRng *rng, const CorpusMix *mix, int *row, int T1);

/* ---- a run one step at a time, for the app's Train view ----------------------------------
 * train_run is these calls in a loop with a progress bar, logs and checkpoints. The
 * session owns its model; one thread drives it. */
typedef struct TrainSession TrainSession;

/* What one live-log line measures after `step` steps: losses, and every head's scores
 * by the standard protocol in a cheap setting (8 sequences at 3 block lengths). */
typedef struct {
    int step;
    double wall_s;               /* seconds since the session opened */
    long tokens;                 /* tokens trained on */
    float lr;                    /* the learning rate of the last step */
    float train_loss;            /* moving average of the loss; NAN before the first step */
    float val_loss;              /* on 2 held-out batches */
    float loss_first, loss_second; /* on the first / second copy of the random blocks */
    int L, NH;
    float *prev, *induct, *dup;  /* (L * NH) each, the heads' scores; train_scores_free */
} TrainScores;
void train_scores_free(TrainScores *sc);
/* Appends sc as one JSON line (the live log's format) to path. */
AvzCode train_scores_append(const char *path, const TrainScores *sc, char *err);

/* Checks tc and builds the model (or resumes tc->out_dir when tc->resume). */
AvzCode train_session_open(TrainSession **s, const TrainConfig *tc, char *err);
/* One optimiser step; its loss into *loss (may be NULL). A loss that is not finite
 * stops the run: AVZ_ERR_INPUT naming the step, the weights put back to the last good
 * point (train_session_keep; the session's start if never called). */
AvzCode train_session_step(TrainSession *s, float *loss, char *err);
/* Marks the current weights as the last good point. */
void train_session_keep(TrainSession *s);
int train_session_steps(const TrainSession *s);   /* steps taken */
float train_session_loss(const TrainSession *s);  /* moving average, NAN before a step */
const TrainConfig *train_session_config(const TrainSession *s);
Model *train_session_model(TrainSession *s);
/* The live scores of the model now (a fraction of a second for the small models). */
AvzCode train_session_scores(TrainSession *s, TrainScores *out, char *err);
/* Writes the model as an ordinary model folder with its card (README.md) into dir,
 * atomically: a new folder renamed into place; an existing dir is refused. */
AvzCode train_session_save(TrainSession *s, const char *dir, char *err);
void train_session_close(TrainSession *s);

#endif
