/* probe_report.h: probe-based reports shared by `heads --roles` and `ablate --probe`; every
 * pass runs on the session's backend *bep. */
#ifndef AVZ_PROBE_REPORT_H
#define AVZ_PROBE_REPORT_H

#include "backend.h"
#include "model.h"

/* Prints every head's role scores and the behaviour accuracies; returns an exit code. */
int roles_report(Backend **bep, Model *m, int n_probes, int json);

/* Prints the behaviour accuracies without and with the ablation mask. */
int roles_ablation(Backend **bep, Model *m, const unsigned char *mask, AblateMode mode, int n_probes, int json);

/* Ablates each head alone and prints every behaviour's accuracy (the sweep by
 * behaviour: which heads a behaviour depends on). */
int roles_behaviour_sweep(Backend **bep, Model *m, AblateMode mode, int n_probes, int json);

#endif
