/* train.c: `attnviz train`, trains a model folder with the CPU trainer (model/train.c):
 * progress bar, validation loss, train_log.csv, atomic checkpoints, --resume, named
 * recipes (--recipe) and a live log of every head's role scores (--live-log). */
#include "cli/cli.h"
#include "cli/commands.h"
#include "corpus.h"
#include "train.h"


int cmd_train(int argc, char **argv) {
    TrainConfig tc;
    train_config_default(&tc);
    const char *pe = NULL, *recipe = NULL;
    int seed = (int)tc.seed;
    CorpusMix *x = &tc.mix;
    CliOpt opts[] = {
        {"--pe", OPT_STR, &pe, "PE", "none|sinusoidal|learned|rope|alibi (default rope)", 0},
        {"--out", OPT_STR, &tc.out_dir, "DIR", "model folder to write (required)", 0},
        {"--recipe", OPT_STR, &recipe, "NAME", "start from a named preset: shipped (the "
         "defaults, what `make models` trains) or induction-2min (the same with learned positions, "
         "context 32, lr 5e-3 and 2600 steps: an induction head forms within about 2.5 minutes "
         "on two cores); the other "
         "options override it", 0},
        {"--layers", OPT_INT, &tc.n_layer, "N", "transformer blocks (default 2)", 0},
        {"--heads", OPT_INT, &tc.n_head, "N", "heads per block (default 4)", 0},
        {"--embd", OPT_INT, &tc.n_embd, "N", "width C (default 128)", 0},
        {"--context", OPT_INT, &tc.n_positions, "T", "training context (default 64)", 0},
        {"--steps", OPT_INT, &tc.steps, "N", "optimiser steps (default 6000)", 0},
        {"--batch", OPT_INT, &tc.batch, "B", "sequences per step (default 32)", 0},
        {"--lr", OPT_FLOAT, &tc.lr, "X", "peak learning rate (default 3e-3)", 0},
        {"--warmup", OPT_INT, &tc.warmup, "N", "warmup steps (default 100)", 0},
        {"--eval-every", OPT_INT, &tc.eval_every, "N", "steps between evaluations (default 250)", 0},
        {"--weight-decay", OPT_FLOAT, &tc.weight_decay, "X", "AdamW decay on matrices (default 0.1)", 0},
        {"--coref", OPT_FLOAT, &x->w_coref, "W", "corpus mix: weight of coreference passages (default 0.15; the other kinds: agree 0.12, facts 0.08, lists 0.05, induct 0.05, blocks 0.5, echo 0.05)", 0},
        {"--agree", OPT_FLOAT, &x->w_agree, "W", "corpus mix: weight of agreement passages", 0},
        {"--facts", OPT_FLOAT, &x->w_facts, "W", "corpus mix: weight of fact passages", 0},
        {"--lists", OPT_FLOAT, &x->w_induct_list, "W", "corpus mix: weight of repeated lists", 0},
        {"--induct", OPT_FLOAT, &x->w_induct_random, "W", "corpus mix: weight of repeated spans "
         "of random content words", 0},
        {"--blocks", OPT_FLOAT, &x->w_blocks, "W", "corpus mix: weight of random blocks from "
         "the whole vocabulary, repeated (the standard protocol's shape)", 0},
        {"--block-max", OPT_INT, &x->block_max, "N", "corpus mix: longest random block "
         "(2..32, default 32)", 0},
        {"--echo", OPT_FLOAT, &x->w_echo, "W", "corpus mix: weight of ordinary text that "
         "repeats a stretch of itself", 0},
        {"--twoback", OPT_FLOAT, &x->w_twoback, "W", "corpus mix: weight of random words in "
         "which the next word is, half the time, the word two back (what only a sharp "
         "previous-token head predicts; default 0)", 0},
        {"--random-positions", OPT_INT, &tc.random_positions, "N", "RoPE only: train on "
         "positions drawn at random from 0..N-1 (in order) instead of 0..T-1, so that the "
         "model meets distances up to N - 1 (Ruoss et al. 2023); default 0: off", 0},
        {"--seed", OPT_INT, &seed, "S", "random seed (default 1)", 0},
        {"--threads", OPT_INT, &tc.threads, "N", "threads (default: all cores)", 0},
        {"--live-log", OPT_STR, &tc.live_log, "FILE", "append a JSON line every --live-every "
         "steps: step, wall seconds, losses, every head's previous-token / induction / "
         "duplicate-token score by the standard protocol (8 seqs x 3 lengths), and the loss "
         "on the second vs the first copy", 0},
        {"--live-every", OPT_INT, &tc.live_every, "K", "steps between live-log lines (default 25)", 0},
        {"--resume", OPT_FLAG, &tc.resume, NULL, "continue the run saved in --out", 0},
        {"--quiet", OPT_FLAG, &tc.quiet, NULL, "no progress bar", 0}};
    CliCommand cmd = {"train", "--out DIR [--pe PE] [--recipe NAME] [--steps N] [--batch B] "
                      "[--lr X] [--live-log FILE] [--resume]",
                      "Trains a model on the synthetic corpus; writes the model folder, "
                      "train_log.csv, a checkpoint at every evaluation and, at the end, the "
                      "model card (README.md) with the heads' roles by the standard protocol.",
                      opts, sizeof opts / sizeof opts[0]};
    AvzErr err;
    int rc = cli_begin(&cmd, argc, argv);
    if (rc >= 0) return rc;
    if (recipe) {   /* the preset first, then the options given on top of it */
        if ((rc = train_recipe(&tc, recipe, err))) return cmd_error(2, err);
        seed = (int)tc.seed;
        if ((rc = cli_parse(&cmd, argc, argv, 2, err)) != 0) return cmd_error(2, err);
    }
    rc = 0;
    if (!tc.out_dir) return cmd_error(2, "attnviz train: --out is required");
    if (pe) {
        int p = pe_from_name(pe);
        if (p < 0) {
            snprintf(err, sizeof err, "attnviz train: --pe: unknown position encoding '%s' "
                     "(use none, sinusoidal, learned, rope or alibi)", pe);
            return cmd_error(2, err);
        }
        tc.pe = (PosEncoding)p;
    }
    tc.seed = (uint64_t)seed;
    if ((rc = train_run(&tc, err))) return cmd_error(rc, err);
    fprintf(stderr, "\ndone: %s\n", tc.out_dir);
    return 0;
}
