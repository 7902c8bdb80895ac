/* probes.h: measuring what each head does, on probe passages the model never saw.
 *
 * A head's role score is the fraction of its attention that lands on the cells a
 * role predicts (TransformerLens' "mul" score: sum(A * D) / sum(A) over the rows
 * where the role says something), printed beside what uniform attention would get:
 *   previous-token  query i -> key i-1                     } on repeated random
 *   duplicate-token query i -> earlier keys of the same word } spans, as in TransformerLens
 *   induction       in a repeated span, query i -> the key after i's earlier copy
 *   coreference     a pronoun -> the tokens of its antecedent ("she" -> "marie curie")
 *   agreement       a verb -> the head noun of its subject ("are" -> "keys")
 *   first-token     query i -> key 0 (<bos>), the "attention sink"
 * Behaviour is measured too: does the model prefer the right pronoun, verb form,
 * repeated token or fact over its competitor? Ablating heads (opts) shows which
 * heads those behaviours depend on. */
#ifndef AVZ_PROBES_H
#define AVZ_PROBES_H

#include "backend.h"
#include "corpus.h"
#include "model.h"

typedef enum {
    ROLE_PREV = 0, ROLE_DUP, ROLE_INDUCT, ROLE_COREF, ROLE_AGREE, ROLE_SINK, ROLE_COUNT
} HeadRole;

typedef enum { BEH_PRONOUN = 0, BEH_AGREE, BEH_INDUCT, BEH_FACT, BEH_COUNT } Behaviour;

typedef struct {
    int L, NH;
    float *score;                /* (ROLE_COUNT, L * NH) role score of every head */
    float uniform[ROLE_COUNT];   /* the score uniform attention would get */
    float acc[BEH_COUNT];        /* behaviour accuracies in [0, 1] */
    int n_probes[BEH_COUNT];
} ProbeReport;

const char *probes_role_name(HeadRole r);      /* "previous-token", ... */
const char *probes_behaviour_name(Behaviour b);/* "pronoun", ... */

/* Runs n_per_kind probes of each kind (generated from seed; use a seed the
 * training never used) through m on the backend *bep (which may fall back to the
 * CPU, see backend_forward) with opts (ablation allowed; NULL for none) and
 * fills r (r->score allocated; free with probe_report_free). Words the vocabulary
 * lacks make a probe count as <unk>, which is fine for role scores. A probe longer
 * than a learned-position model's table (a short training context) is left out. */
AvzCode probes_run(Backend **bep, Model *m, uint64_t seed, int n_per_kind, const ForwardOpts *opts,
                   ProbeReport *r, char *err);
void probe_report_free(ProbeReport *r);

/* The head with the highest score for role; writes its index (l * NH + h). */
float probes_best(const ProbeReport *r, HeadRole role, int *head);

/* The seed of the held-out probe passages (never used by the trainer's data). */
#define PROBES_SEED 0x5EEDBEEFull

#endif
