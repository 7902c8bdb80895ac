/* lengths.h: length generalisation. A model is trained at a fixed context
 * (n_positions); what happens to its loss at positions it never saw? Learned
 * tables simply stop; sinusoidal vectors exist but were never trained on; RoPE and
 * ALiBi are relative and may carry on. Measured here as the mean next-token loss at
 * each position of held-out passages, up to several times the training context. */
#ifndef AVZ_LENGTHS_H
#define AVZ_LENGTHS_H

#include "backend.h"
#include "model.h"

/* Mean loss at each position 0..max_T-1 over n_seq held-out sequences of max_T
 * tokens (generated from seed) into loss (max_T); NAN past what the model accepts
 * (a learned model stops at n_positions). The passes run on *bep (backend_forward). */
AvzCode lengths_measure(Backend **bep, Model *m, int max_T, int n_seq, uint64_t seed, float *loss, char *err);

/* The seed of the held-out sequences. */
#define LENGTHS_SEED 0x1E6715ull

#endif
