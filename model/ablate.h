/* ablate.h: switching attention heads off and measuring what changes.
 *
 * Ablating a head (Michel et al. 2019) removes its contribution to the residual
 * stream: its output z_h is zeroed ("zero") or replaced by its average over the
 * text ("mean") just before c_proj mixes the heads. Comparing the ablated pass with
 * the baseline shows how much the model relied on that head: the loss on the text
 * itself, each position's next-token distribution (KL divergence), the top tokens. */
#ifndef AVZ_ABLATE_H
#define AVZ_ABLATE_H

#include "backend.h"

#define ABLATE_MAX_TOPK 20

typedef struct {
    int T, topk;
    float loss_base, loss_ablated;  /* mean next-token loss on the text itself (T >= 2) */
    float *kl;                      /* (T) KL(baseline || ablated) of each position's next-token distribution */
    float kl_mean;
    int top_base[ABLATE_MAX_TOPK];  /* next-token top-k after the last token, baseline */
    float ptop_base[ABLATE_MAX_TOPK];
    int top_ablated[ABLATE_MAX_TOPK];
    float ptop_ablated[ABLATE_MAX_TOPK];
} AblationResult;

/* The k most probable ids of p (V) in decreasing order. */
void ablate_topk(const float *p, int V, int k, int *ids, float *vals);

/* KL(p || q) in nats over V entries (terms with p = 0 count 0). */
float ablate_kl(const float *p, const float *q, int V);

/* Runs the baseline and the ablated pass (mask: (L * NH), 1 = off) on ids (T) and
 * fills r (r->kl allocated, free with ablation_result_free). topk <= ABLATE_MAX_TOPK.
 * Leaves the model holding the ablated pass. */
AvzCode ablate_run(Backend **be, Model *m, const int *ids, int T, const unsigned char *mask,
                   AblateMode mode, int topk, AblationResult *r, char *note, char *err);
void ablation_result_free(AblationResult *r);

/* Progress callback for long jobs: done of total; return nonzero to cancel. */
typedef int (*AvzProgressFn)(void *user, int done, int total);

/* Importance sweep: ablates every head alone and writes the loss increase on the
 * text (ablated - baseline) into importance (L * NH). Also the baseline loss into
 * *loss_base (may be NULL). Returns AVZ_ERR_INPUT with "cancelled" when progress
 * asks to stop (importance then holds NaN for heads not reached). */
AvzCode ablate_sweep(Backend **be, Model *m, const int *ids, int T, AblateMode mode,
                     float *importance, float *loss_base, AvzProgressFn progress, void *user,
                     char *note, char *err);

#endif
