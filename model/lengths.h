/* lengths.h: length generalisation. A model is trained at a fixed context
 * (n_positions); what happens to its loss at positions it never saw? Learned
 * tables simply stop; sinusoidal vectors exist but were never trained on; RoPE and
 * ALiBi are relative and may carry on. Measured here as the mean next-token loss at
 * each position of held-out passages, up to several times the training context. */
#ifndef AVZ_LENGTHS_H
#define AVZ_LENGTHS_H

#include "backend.h"
#include "detect.h"
#include "model.h"

/* Mean loss at each position 0..max_T-1 over n_seq held-out sequences of max_T
 * tokens (generated from seed) into loss (max_T); NAN past what the model accepts
 * (a learned model stops at n_positions). The passes run on *bep (backend_forward). */
AvzCode lengths_measure(Backend **bep, Model *m, int max_T, int n_seq, uint64_t seed, float *loss, char *err);

/* The standard protocol of detect.h at block lengths past the training context.
 * detect_run takes only blocks that fit twice in cfg.n_positions, the context the
 * model trained at; this runs it with n_positions raised for the longest block of o
 * and then puts it back (the forward pass of a computed encoding, none, sinusoidal,
 * rope or alibi, never reads n_positions; a learned table has no rows past it, so a
 * learned model is refused with a message). Same contract as detect_run otherwise. */
AvzCode lengths_detect(Backend **bep, Model *m, const int *pool, int n_pool, int bos,
                       const DetectOpts *o, DetectReport *r, char *err);

/* detect_opts_default's settings with the block lengths of twice the context:
 * 4/8, 5/8, 6/8, 7/8 and all of the largest n with 2n + 1 <= 2 n_positions, rounded
 * up (for a 64-token model n = 32, 40, 48, 56, 63: 65 to 127 tokens). */
void lengths_detect_opts_2x(DetectOpts *o, const ModelConfig *cfg);

/* The seed of the held-out sequences. */
#define LENGTHS_SEED 0x1E6715ull

#endif
