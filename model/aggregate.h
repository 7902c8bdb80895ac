/* aggregate.h: maps made from other maps, for the app's Aggregates and Ablation
 * views. Pure maths on (T, T) attention matrices (row = query, column = key):
 * no SDL, no model, testable on its own.
 *
 *   mean over heads   the average of a layer's NH maps
 *   attention rollout Abnar & Zuidema (2020): attention flows through the residual
 *                     stream too, so each layer is A_hat = 0.5 A + 0.5 I (rows
 *                     renormalised) and the flow from the input to layer l is the
 *                     product A_hat_l ... A_hat_0
 *   difference        after - before, with its largest magnitude (for a symmetric
 *                     diverging scale)
 */
#ifndef AVZ_AGGREGATE_H
#define AVZ_AGGREGATE_H

/* out (T, T) = the mean of the n maps (n, T, T) laid out one after another.
 * n >= 1. out may not alias maps. */
void aggregate_mean(const float *maps, int n, int T, float *out);

/* Attention rollout over n_layers layers: layer_means (n_layers, T, T) holds each
 * layer's head-mean map, layer 0 first. out (T, T) = A_hat_{n-1} ... A_hat_0 with
 * A_hat = 0.5 A + 0.5 I, each row renormalised to sum 1 (a row summing to 0 stays
 * the identity row). Rows of the result sum to 1 and the result is lower
 * triangular when the inputs are. scratch holds 2 * T * T floats (caller-owned).
 * n_layers >= 1. */
void aggregate_rollout(const float *layer_means, int n_layers, int T, float *out,
                       float *scratch);

/* out (n) = after - before; returns max |out| over the finite entries (0 when
 * none). out may alias either input. */
float aggregate_diff(const float *before, const float *after, int n, float *out);

#endif
