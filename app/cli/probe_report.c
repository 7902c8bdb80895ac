/* probe_report.c: head roles measured on held-out probe passages, for `attnviz heads
 * --roles` and `attnviz ablate --probe` (model/probes.h explains the scores). */
#include <cjson/cJSON.h>
#include <math.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "probes.h"
#include "cli/probe_report.h"

static void print_roles(const ProbeReport *r) {
    int n = r->L * r->NH;
    printf("head role scores (fraction of attention on the expected cells; held-out probes)\n");
    printf("%-6s", "head");
    for (int k = 0; k < ROLE_COUNT; k++) printf(" %15s", probes_role_name(k));
    printf("\n%-6s", "unif.");
    for (int k = 0; k < ROLE_COUNT; k++) printf(" %15.3f", r->uniform[k]);
    printf("\n");
    for (int hd = 0; hd < n; hd++) {
        printf("%2d.%-3d", hd / r->NH, hd % r->NH);
        for (int k = 0; k < ROLE_COUNT; k++) printf(" %15.3f", r->score[k * n + hd]);
        printf("\n");
    }
    printf("best heads:");
    for (int k = 0; k < ROLE_COUNT; k++) {
        int h;
        float s = probes_best(r, k, &h);
        printf(" %s %d.%d (%.2f)%s", probes_role_name(k), h / r->NH, h % r->NH, s,
               k + 1 < ROLE_COUNT ? "," : "\n");
    }
    printf("behaviour accuracy:");
    for (int b = 0; b < BEH_COUNT; b++)
        printf(" %s %.1f%% (n=%d)%s", probes_behaviour_name(b), 100 * r->acc[b], r->n_probes[b],
               b + 1 < BEH_COUNT ? "," : "\n");
}

static cJSON *json_roles(const ProbeReport *r) {
    int n = r->L * r->NH;
    cJSON *j = cJSON_CreateObject(), *roles = cJSON_CreateObject(), *acc = cJSON_CreateObject();
    for (int k = 0; k < ROLE_COUNT; k++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "scores", cJSON_CreateFloatArray(r->score + k * n, n));
        cJSON_AddNumberToObject(o, "uniform", r->uniform[k]);
        cJSON_AddItemToObject(roles, probes_role_name(k), o);
    }
    for (int b = 0; b < BEH_COUNT; b++)
        cJSON_AddNumberToObject(acc, probes_behaviour_name(b), isnan(r->acc[b]) ? -1 : r->acc[b]);
    cJSON_AddNumberToObject(j, "n_layer", r->L);
    cJSON_AddNumberToObject(j, "n_head", r->NH);
    cJSON_AddItemToObject(j, "roles", roles);
    cJSON_AddItemToObject(j, "accuracy", acc);
    return j;
}

int roles_report(Backend **bep, Model *m, int n_probes, int json) {
    ProbeReport r;
    AvzErr err;
    AvzCode rc = probes_run(bep, m, PROBES_SEED, n_probes, NULL, &r, err);
    if (rc) return cmd_error(rc, err);
    if (json) {
        cJSON *j = json_roles(&r);
        char *txt = cJSON_Print(j);
        printf("%s\n", txt);
        free(txt);
        cJSON_Delete(j);
    } else {
        print_roles(&r);
    }
    probe_report_free(&r);
    return 0;
}

int roles_ablation(Backend **bep, Model *m, const unsigned char *mask, AblateMode mode, int n_probes, int json) {
    ProbeReport base, abl;
    AvzErr err;
    ForwardOpts o = {.ablate = mask, .ablate_mode = mode};
    AvzCode rc = probes_run(bep, m, PROBES_SEED, n_probes, NULL, &base, err);
    if (rc) return cmd_error(rc, err);
    rc = probes_run(bep, m, PROBES_SEED, n_probes, &o, &abl, err);
    if (rc) { probe_report_free(&base); return cmd_error(rc, err); }
    cJSON *j = json ? cJSON_CreateObject() : NULL;
    if (!json) printf("%-10s %9s %9s %8s\n", "behaviour", "before", "after", "change");
    for (int b = 0; b < BEH_COUNT; b++) {
        const char *name = probes_behaviour_name(b);
        if (json) {
            cJSON *o2 = cJSON_CreateObject();
            cJSON_AddNumberToObject(o2, "before", base.acc[b]);
            cJSON_AddNumberToObject(o2, "after", abl.acc[b]);
            cJSON_AddItemToObject(j, name, o2);
        } else {
            printf("%-10s %8.1f%% %8.1f%% %+7.1f\n", name, 100 * base.acc[b], 100 * abl.acc[b],
                   100 * (abl.acc[b] - base.acc[b]));
        }
    }
    if (json) {
        char *txt = cJSON_Print(j);
        printf("%s\n", txt);
        free(txt);
        cJSON_Delete(j);
    }
    probe_report_free(&base);
    probe_report_free(&abl);
    return 0;
}

int roles_behaviour_sweep(Backend **bep, Model *m, AblateMode mode, int n_probes, int json) {
    int n = m->cfg.n_layer * m->cfg.n_head;
    ProbeReport base;
    AvzErr err;
    AvzCode rc = probes_run(bep, m, PROBES_SEED, n_probes, NULL, &base, err);
    if (rc) return cmd_error(rc, err);
    unsigned char *mask = avz_xcalloc(n, 1);
    float *acc = avz_xmalloc(sizeof(float) * n * BEH_COUNT);   /* (heads, behaviours) */
    ForwardOpts o = {.ablate = mask, .ablate_mode = mode};
    for (int hd = 0; !rc && hd < n; hd++) {
        ProbeReport r;
        mask[hd] = 1;
        rc = probes_run(bep, m, PROBES_SEED, n_probes, &o, &r, err);
        mask[hd] = 0;
        if (rc) break;
        for (int b = 0; b < BEH_COUNT; b++) acc[hd * BEH_COUNT + b] = r.acc[b];
        probe_report_free(&r);
    }
    if (!rc && json) {
        cJSON *j = cJSON_CreateObject(), *heads = cJSON_CreateArray();
        cJSON_AddItemToObject(j, "baseline", cJSON_CreateFloatArray(base.acc, BEH_COUNT));
        for (int hd = 0; hd < n; hd++)
            cJSON_AddItemToArray(heads, cJSON_CreateFloatArray(acc + hd * BEH_COUNT, BEH_COUNT));
        cJSON_AddItemToObject(j, "ablated", heads);
        char *txt = cJSON_Print(j);
        printf("%s\n", txt);
        free(txt);
        cJSON_Delete(j);
    } else if (!rc) {
        printf("behaviour accuracy with each head ablated alone (change in points)\n%-9s", "head");
        for (int b = 0; b < BEH_COUNT; b++) printf(" %16s", probes_behaviour_name(b));
        printf("\n%-9s", "none");
        for (int b = 0; b < BEH_COUNT; b++) printf(" %15.1f%%", 100 * base.acc[b]);
        printf("\n");
        for (int hd = 0; hd < n; hd++) {
            printf("%2d.%-6d", hd / m->cfg.n_head, hd % m->cfg.n_head);
            for (int b = 0; b < BEH_COUNT; b++)
                printf(" %8.1f%% (%+5.1f)", 100 * acc[hd * BEH_COUNT + b],
                       100 * (acc[hd * BEH_COUNT + b] - base.acc[b]));
            printf("\n");
        }
    }
    free(mask);
    free(acc);
    probe_report_free(&base);
    return rc ? cmd_error(rc, err) : 0;
}
