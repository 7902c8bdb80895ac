/* train.c: `attnviz train`, trains a model folder with the CPU trainer (model/train.c):
 * progress bar, validation loss, train_log.csv, atomic checkpoints, --resume. */
#include "cli/cli.h"
#include "cli/commands.h"
#include "corpus.h"
#include "train.h"


int cmd_train(int argc, char **argv) {
    TrainConfig tc;
    train_config_default(&tc);
    const char *pe = NULL;
    int seed = (int)tc.seed;
    CliOpt opts[] = {
        {"--pe", OPT_STR, &pe, "PE", "none|sinusoidal|learned|rope|alibi (default rope)", 0},
        {"--out", OPT_STR, &tc.out_dir, "DIR", "model folder to write (required)", 0},
        {"--layers", OPT_INT, &tc.n_layer, "N", "transformer blocks (default 2)", 0},
        {"--heads", OPT_INT, &tc.n_head, "N", "heads per block (default 4)", 0},
        {"--embd", OPT_INT, &tc.n_embd, "N", "width C (default 64)", 0},
        {"--context", OPT_INT, &tc.n_positions, "T", "training context (default 64)", 0},
        {"--steps", OPT_INT, &tc.steps, "N", "optimiser steps (default 4000)", 0},
        {"--batch", OPT_INT, &tc.batch, "B", "sequences per step (default 16)", 0},
        {"--lr", OPT_FLOAT, &tc.lr, "X", "peak learning rate (default 3e-3)", 0},
        {"--warmup", OPT_INT, &tc.warmup, "N", "warmup steps (default 200)", 0},
        {"--eval-every", OPT_INT, &tc.eval_every, "N", "steps between evaluations (default 250)", 0},
        {"--weight-decay", OPT_FLOAT, &tc.weight_decay, "X", "AdamW decay on matrices (default 0.1)", 0},
        {"--induct", OPT_FLOAT, &tc.mix.w_induct_random, "W", "weight of random repeated spans in the corpus mix", 0},
        {"--seed", OPT_INT, &seed, "S", "random seed (default 1)", 0},
        {"--threads", OPT_INT, &tc.threads, "N", "threads (default: all cores)", 0},
        {"--resume", OPT_FLAG, &tc.resume, NULL, "continue the run saved in --out", 0},
        {"--quiet", OPT_FLAG, &tc.quiet, NULL, "no progress bar", 0}};
    CliCommand cmd = {"train", "--out DIR [--pe PE] [--steps N] [--batch B] [--lr X] [--resume]",
                      "Trains a model on the synthetic corpus; writes the model folder, "
                      "train_log.csv and a checkpoint at every evaluation.", opts,
                      sizeof opts / sizeof opts[0]};
    AvzErr err;
    int rc = cli_begin(&cmd, argc, argv);
    if (rc >= 0) return rc;
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
