/* teach.h: the numbers behind the app's teaching views, computed from the real model.
 *
 * Three lessons, each a set of pure functions (no GUI code) that a view draws:
 *
 *   1. Where position enters. The additive encodings (sinusoidal, learned) add a
 *      vector p_t to the token embedding; RoPE rotates q and k by an angle that grows
 *      with the position; ALiBi subtracts slope_h * distance from each score. The
 *      functions below return those vectors, angles and biases, and how similar two
 *      positions look to attention.
 *   2. Why position is needed at all. Without it, layer 0's attention scores of a
 *      shuffled sentence are the original scores with rows and columns shuffled the
 *      same way: attention cannot tell the orders apart. The permutation demo measures
 *      that, with and without the model's encoding.
 *   3. How flash attention gets the same answer without the (T, T) matrix. The tiled
 *      online softmax of attn_flash (attention.c) is replayed one tile at a time,
 *      keeping every running max, running sum and partial output for a view to draw.
 *
 * Every function reads the real model (its tables, its weights, its last forward
 * pass) or runs the real kernels; nothing here is a made-up illustration. */
#ifndef AVZ_TEACH_H
#define AVZ_TEACH_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "model.h"

/* ---- 1. Position view ------------------------------------------------------------- */

/* The vector position t adds to the token embedding, for t = 0..T-1, into out (T, C):
 * the sinusoidal table (m->sin_table, what posenc_sinusoidal computes) or the learned
 * wpe rows. Note that for sinusoidal the model also scales the token embedding by
 * sqrt(C) (model_embed_scale); the vector added is the table row itself.
 * Returns AVZ_ERR_INPUT, err naming the encoding and why, for none / rope / alibi
 * (they add no vector) or when T < 1 or T exceeds the table (learned: n_positions). */
AvzCode teach_position_vectors(const Model *m, int T, float *out, char *err);

/* RoPE: the angle, in radians wrapped to [0, 2 pi), by which position p rotates
 * frequency pair i of a head, for p = 0..T-1 and i = 0..hs/2-1, into out (T, hs/2).
 * angle = p * rope_theta^(-2i/hs) (posenc_rope_angle with the model's base and head
 * size): pair 0 turns one radian per token, the last pair barely turns at all, so the
 * fast pairs tell near positions apart and the slow ones far positions. */
void teach_rope_angles(const Model *m, int T, float *out);

/* ALiBi: the bias added to the score of query i and key j in head `head`, into out
 * (T, T), row = query: -slope_h * (i - j) for j <= i, and 0 above the diagonal (those
 * keys are masked anyway). slope_h is m->alibi_slopes[head] (all 0 unless the model is
 * alibi): each head forgets the past at its own rate. */
void teach_alibi_bias(const Model *m, int head, int T, float *out);

/* How alike two positions look, (T, T): dot[i][j] = p_i . p_j and cos[i][j] = the
 * cosine between them. Either output may be NULL.
 *   sinusoidal, learned: p_t = the position vectors above. (For sinusoidal the dot
 *     is a sum of cos((i - j) w_k): it depends on i - j only, by construction; a
 *     learned table has to discover any such structure in training.)
 *   rope: p_t = R_t u, the rotation of position t applied to a fixed unit vector u
 *     (every component 1/sqrt(hs)). (R_i u) . (R_j u) = u . R_(j-i) u depends on
 *     i - j only: that is what makes RoPE a relative encoding. The norm is kept, so
 *     cos = dot.
 * Returns AVZ_ERR_INPUT for none and alibi (no vector per position: an alibi view
 * shows teach_alibi_bias instead) and as teach_position_vectors does for T. */
AvzCode teach_position_similarity(const Model *m, int T, float *dot, float *cos, char *err);

/* RoPE: how the score of a fixed q and k (hs floats each, before the rotation)
 * changes as the key moves d = 0..D-1 tokens before the query, into out (D):
 *   out[d] = (R_p q) . (R_(p-d) k) = q . R_(-d) k     (the same for every p),
 * unscaled (attention multiplies by 1/sqrt(hs)). out[0] = q . k. With q = k = all ones
 * this is RoFormer's long-term decay curve: far keys score less. Uses the model's
 * rope_theta and head size (any model; the curve is what RoPE would do). */
void teach_rope_score_vs_distance(const Model *m, const float *q, const float *k, int D,
                                  float *out);

/* q of position qpos and k of position kpos in (layer, head), before RoPE's rotation
 * (the c_attn output split into the head), from the last forward pass, batch row 0;
 * hs floats each. With them the view can draw teach_rope_score_vs_distance for a real
 * pair: its value at d = qpos - kpos, times 1/sqrt(hs), is the pair's actual score. */
void teach_head_qk(const Model *m, int layer, int head, int qpos, int kpos, float *q,
                   float *k);

/* ---- 2. Permutation demo ---------------------------------------------------------- */

/* Layer 0's attention scores before the causal mask and the softmax, for every head,
 * into S (NH, T, T), row = query:
 *   S[h][i][j] = q_i . k_j / sqrt(hs)   (+ ALiBi's -slope_h * |i - j| for alibi)
 * computed for all i, j (ALiBi's bias is position information too, so it is included
 * unless no_position). Runs model_forward on ids (T), B = 1, with opts.no_position =
 * no_position: the model's last pass is replaced by this one. Returns its error
 * (AVZ_ERR_INPUT for a text too long or a bad id).
 * It runs on the CPU reference on purpose, whatever device the app uses: the scores
 * before the mask are an intermediate that only the CPU pass keeps on the host (a
 * backend hands back logits and captured probabilities, never q and k); every other
 * teaching and probing pass goes through the chosen backend. */
AvzCode teach_layer0_scores(Model *m, const int *ids, int T, int no_position, float *S,
                            char *err);

/* A random permutation perm (T) from seed (Fisher-Yates on an AvzRng) and the
 * shuffled sentence shuffled[i] = ids[perm[i]]: the token now at position i came from
 * position perm[i]. Never the identity when T >= 2 (it would show nothing). */
void teach_shuffle(const int *ids, int T, uint64_t seed, int *perm, int *shuffled);

/* max over h, i, j of |S_shuf[h][i][j] - S_orig[h][perm[i]][perm[j]]|, S (NH, T, T):
 * 0 when the shuffled scores are the original matrix with rows and columns moved
 * along with their tokens (attention sees a bag of tokens), clearly above 0 when a
 * position encoding makes the same pair of tokens score differently elsewhere. */
float teach_permutation_diff(const float *S_orig, const float *S_shuf, const int *perm,
                             int NH, int T);

/* The whole demo. Every array is owned; free with teach_permutation_free. */
typedef struct {
    int T, NH;
    int *ids;              /* (T) the original sentence */
    int *perm;             /* (T) shuffled[i] = ids[perm[i]] */
    int *shuffled;         /* (T) the shuffled sentence */
    float *orig_pos;       /* (NH, T, T) layer 0 scores of ids, with the model's encoding */
    float *shuf_pos;       /* (NH, T, T) the same for the shuffled sentence */
    float *orig_nopos;     /* (NH, T, T) ids without position information */
    float *shuf_nopos;     /* (NH, T, T) shuffled, without position information */
    float diff_pos;        /* teach_permutation_diff with position: > 0 */
    float diff_nopos;      /* without: 0 (up to rounding) */
} TeachPermutation;

/* Shuffles ids (T) with seed and runs the four passes; the last one is the original
 * sentence with position, so the model is left holding its usual pass of ids. On
 * failure tp holds nothing to free. */
AvzCode teach_permutation_init(TeachPermutation *tp, Model *m, const int *ids, int T,
                               uint64_t seed, char *err);
void teach_permutation_free(TeachPermutation *tp);

/* ---- 3. Flash attention, step by step, for one head --------------------------------- */

/* attn_flash's algorithm (attention.c) with tile sizes of the caller's choice, run
 * one (query block, key block) tile at a time. The steps are in the algorithm's order:
 * for each query block, its key blocks left to right; under the causal mask a tile
 * whose keys all lie after its last query is skipped. After the last key block of a
 * query block its rows are finished: O / l becomes the output, m + log l the lse. */
typedef struct {
    int T, hs, bq, bk, causal;
    float scale, slope;    /* score = q.k * scale + ALiBi bias -slope * |i - j| */
    int nqb, nkb;          /* query blocks ceil(T / bq), key blocks ceil(T / bk) */
    int n_steps;           /* tiles actually processed */
    int *step_qb, *step_kb;/* (n_steps) the tile of each step */
    int *step_of;          /* (nqb, nkb) the step of each tile, -1 = skipped (causal) */
    float *q, *k, *v;      /* (T, hs) each, copies */

    /* the state after step `cur` (-1: before the first tile) */
    int cur;
    float *m;              /* (T) running max of each row's scores so far (-inf: none yet) */
    float *l;              /* (T) running sum of exp(score - m) */
    float *corr;           /* (T) exp(m_old - m_new), the rescale the row's last tile applied
                            * to l and O (0 on its first tile, 1 if the max did not move) */
    float *O;              /* (T, hs) unnormalised partial output: sum of exp(score - m) v */
    float *S;              /* (bq, bk) the scores of the last step's tile (masked: -inf) */
    float *out;            /* (T, hs) O / l for finished rows, 0 for the others */
    float *lse;            /* (T) m + log(l) for finished rows, 0 for the others */
    unsigned char *row_done; /* (T) 1 once the row's query block has seen its last tile */

    float max_err;         /* max |flash output - attn_naive output| over the head */
} FlashTrace;

/* Copies q, k, v (T, hs), plans the steps, runs the whole trace once to measure
 * max_err against attn_naive, and leaves the state at cur = -1. AVZ_ERR_INPUT for
 * T < 1, hs < 1, bq < 1 or bk < 1. On failure ft holds nothing to free. */
AvzCode flash_trace_init(FlashTrace *ft, const float *q, const float *k, const float *v,
                         int T, int hs, float scale, float slope, int causal, int bq, int bk,
                         char *err);

/* The same for (layer, head) of the model's last forward pass, batch row 0: its q and
 * k after RoPE, its v, scale 1/sqrt(hs), the head's ALiBi slope, causal. */
AvzCode flash_trace_init_model(FlashTrace *ft, const Model *m, int layer, int head, int bq,
                               int bk, char *err);

/* Moves to the state after step s (-1 <= s < n_steps; clamped), exactly the
 * algorithm's state after that tile. Forward it runs only the tiles in between (one
 * step: one tile); backward it replays only the query block of step s (query blocks
 * never touch each other's rows), at most one block's worth of work. (T = 2048, hs =
 * 16: 1 ms back one step, 50 ms from the start to the end.) */
void flash_trace_goto(FlashTrace *ft, int s);

void flash_trace_free(FlashTrace *ft);

/* Memory for one head of length T, in bytes, beyond q, k, v and the output that both
 * need: naive keeps the (T, T) score / probability matrix in float32; flash keeps one
 * tile of scores (bq, bk), one block of partial outputs (bq, hs), m and l for the
 * block's rows, and the T log-sum-exps it saves so that maps can be recomputed. */
size_t teach_naive_bytes(int T);
size_t teach_flash_bytes(int T, int hs, int bq, int bk);

/* Measured CPU time in seconds (median of up to 5 runs, fewer when one run is slow)
 * on one (T, hs) head q, k, v, scale 1/sqrt(hs), no bias, of three kernels:
 *   naive_s  attn_naive, the readable reference that builds the (T, T) matrix
 *            (it allocates teach_naive_bytes(T));
 *   flash_s  attn_flash, the readable flash algorithm: the same loops, no T x T
 *            matrix, so naive_s / flash_s is the algorithm's gain alone;
 *   fast_s   attn_flash_fast, the tuned kernel the model runs (tiled matrix
 *            products, vectorised exp): the engineering's gain on top. May be NULL.
 * All three do the same T^2 hs work. */
void teach_time_attention(const float *q, const float *k, const float *v, int T, int hs,
                          int causal, double *naive_s, double *flash_s, double *fast_s);

#endif
