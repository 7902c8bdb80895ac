/* posenc.h: the five ways a transformer can learn where a token is.
 *
 * Attention by itself is permutation-invariant: softmax(q k^T) v gives every
 * token the same answer whatever order the keys come in. Position encodings break
 * that symmetry in three different places:
 *   - added to the input      (sinusoidal, learned): x_p = wte[token] + PE[p]
 *   - rotating q and k        (RoPE): q_m . k_n depends only on m - n
 *   - biasing the logits      (ALiBi): logit(i, j) -= m_h * (i - j)
 * and "none" leaves the model only the causal mask to infer order from. */
#ifndef AVZ_POSENC_H
#define AVZ_POSENC_H

#include "common.h"

/* Sinusoidal table (Vaswani et al. 2017), (T, C):
 *   PE(p, 2i) = sin(p / 10000^(2i/C)),  PE(p, 2i+1) = cos(p / 10000^(2i/C)). */
void posenc_sinusoidal(float *out, int T, int C);

/* ALiBi slopes (Press et al. 2022) for n heads. For a power of two n they are the
 * geometric sequence starting at 2^(-8/n) with that same ratio (8 heads: 1/2 ...
 * 1/256). Otherwise take the slopes of the closest smaller power of two p, then
 * every other slope of the 2p sequence for the remaining n - p heads. */
void posenc_alibi_slopes(float *slopes, int n);

/* RoPE angle of position p for frequency pair i of a head of size hs:
 *   theta_i = base^(-2i/hs), angle = p * theta_i. */
double posenc_rope_angle(int p, int i, int hs, float base);

/* Rotates x (T, hs) in place, GPT-NeoX / Llama pairing: dimension i is paired
 * with i + hs/2, and row t (position pos0 + t) is rotated by its angles:
 *   x'[i]        = x[i] cos a - x[i+hs/2] sin a
 *   x'[i+hs/2]   = x[i] sin a + x[i+hs/2] cos a
 * sign = -1 rotates backwards (the exact inverse, used by the backward pass). */
void posenc_rope_apply(float *x, int T, int hs, float base, int pos0, int sign);

/* The same rotation with the angles' cosines and sines computed once, for every head
 * and layer of a pass: cs is (T, hs), row t = the hs/2 cosines of position pos0 + t's
 * pairs, then their hs/2 sines.
 * posenc_rope_apply_table(x, ..., table of pos0) gives exactly (bit for bit) what
 * posenc_rope_apply(x, ..., pos0) gives. */
void posenc_rope_table(float *cs, int T, int hs, float base, int pos0);
/* The same table for rows at any positions: row t is position pos[t]. Training with
 * randomized positions (train.h's random_positions) rotates by these. */
void posenc_rope_table_at(float *cs, const int *pos, int T, int hs, float base);
/* T distinct positions drawn uniformly from [0, n), in increasing order (Knuth's
 * selection sampling: position i is taken with probability still-needed / still-left). */
void posenc_random_positions(int *pos, int T, int n, AvzRng *rng);
void posenc_rope_apply_table(float *x, int T, int hs, const float *cs, int sign);

#endif
