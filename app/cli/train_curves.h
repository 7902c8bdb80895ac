/* train_curves.h: a training run's live log (attnviz train --live-log) as PNG charts,
 * for `attnviz export --train-curves` (see train_curves.c). */
#ifndef AVZ_CLI_TRAIN_CURVES_H
#define AVZ_CLI_TRAIN_CURVES_H

#include <stddef.h>

#include "common.h"

/* Reads the JSON lines of log and writes out's siblings OUT-loss.png and OUT-roles.png
 * (out "curves.png" -> "curves-loss.png", "curves-roles.png"), width px wide (0: 1000),
 * atomically; their paths, newline-separated, into paths (may be NULL). A line that
 * is not a live-log line is named by its number; fewer than two lines is an error. */
AvzCode train_curves_export(const char *log, const char *out, int width, char *paths,
                            size_t paths_len, char *err);

/* The step at which induction (n values at step) rose the most from the line before,
 * the rise into *rise (may be NULL); NAN when it never rose. */
float train_curves_jump_step(const float *step, const float *induction, int n, float *rise);

#endif
