/* roles.c: `attnviz roles`, every head's role by the field's standard protocol
 * (model/detect.h: <bos>, a block of random tokens from the model's whole
 * vocabulary, the same block again; mean attention to the target position, as
 * TransformerLens' detectors score it), the same numbers the app's labels show
 * (app/head_roles.c, cached by the weights' hash). For our word-level models
 * --probes adds the corpus-shaped probes (model/probes.h) as a second, named
 * column: the template the training corpus teaches, so never the headline. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "head_roles.h"
#include "probes.h"
#include "session.h"

static const DetectRole SHOWN[] = {DET_PREV, DET_DUP, DET_INDUCT, DET_FIRST};
#define N_SHOWN 4

/* Progress on stderr, one line rewritten in place. */
static int progress(void *user, int done, int total) {
    (void)user;
    fprintf(stderr, "\rroles: %d/%d forward passes", done, total);
    if (done == total) fprintf(stderr, "\n");
    return 0;
}

static void print_best(const DetectReport *r, DetectRole role) {
    int h;
    float s = detect_best(r, role, &h);
    printf("best %-15s head %d.%d: %.3f (weakest block length %.3f; uniform %.3f)\n",
           detect_role_name(role), h / r->NH, h % r->NH, s, detect_min_over_lengths(r, role, h),
           r->uniform[role]);
}

static void print_table(const Session *s, const DetectReport *r, const ProbeReport *pr) {
    int nh = r->L * r->NH;
    char label[256];
    detect_protocol_label(r, label, sizeof label);
    char desc[256];
    session_describe(s, desc, sizeof desc);
    printf("model: %s (%s) on %s\nprotocol: %s\n", s->model_dir, desc, s->eng.be->device, label);
    printf("%-6s", "head");
    for (int k = 0; k < N_SHOWN; k++) printf(" %15s", detect_role_name(SHOWN[k]));
    printf("  %-24s", "label");
    if (pr) printf(" %14s %14s", "probes:prev", "probes:induct");
    printf("\n%-6s", "unif.");
    for (int k = 0; k < N_SHOWN; k++) printf(" %15.3f", r->uniform[SHOWN[k]]);
    printf("  %-24s", "");
    if (pr) printf(" %14.3f %14.3f", pr->uniform[ROLE_PREV], pr->uniform[ROLE_INDUCT]);
    printf("\n");
    for (int hd = 0; hd < nh; hd++) {
        printf("%2d.%-3d", hd / r->NH, hd % r->NH);
        for (int k = 0; k < N_SHOWN; k++) printf(" %15.3f", r->score[SHOWN[k] * nh + hd]);
        head_roles_label(r, hd, label, sizeof label);
        printf("  %-24s", label);
        if (pr) printf(" %14.3f %14.3f", pr->score[ROLE_PREV * nh + hd],
                       pr->score[ROLE_INDUCT * nh + hd]);
        printf("\n");
    }
    print_best(r, DET_PREV);
    print_best(r, DET_INDUCT);
    int hp, hi;
    detect_best(r, DET_PREV, &hp);
    detect_best(r, DET_INDUCT, &hi);
    printf("by block length n (T = 2n + %d): previous-token %d.%d, induction %d.%d, loss on "
           "copy 1 / copy 2 (chance %.2f nats)\n", r->bos >= 0, hp / r->NH, hp % r->NH,
           hi / r->NH, hi % r->NH, r->loss_chance);
    for (int k = 0; k < r->n_lengths; k++)
        printf("  n=%-4d prev %.3f  induction %.3f  loss %.2f / %.2f\n", r->lengths[k],
               detect_at(r, DET_PREV, k, hp), detect_at(r, DET_INDUCT, k, hi), r->loss_first[k],
               r->loss_second[k]);
    if (pr)
        printf("probes: the corpus-shaped passages of model/probes.h (100 per kind): the "
               "template the training corpus teaches, so they flatter a model next to the "
               "standard protocol.\n");
}

static cJSON *json_report(const Session *s, const DetectReport *r, const ProbeReport *pr,
                          int cached) {
    int nh = r->L * r->NH;
    cJSON *j = cJSON_CreateObject(), *p = cJSON_CreateObject(), *roles = cJSON_CreateObject();
    char label[256];
    detect_protocol_label(r, label, sizeof label);
    cJSON_AddStringToObject(j, "model", s->model_dir);
    cJSON_AddStringToObject(j, "device", s->eng.be->device);
    cJSON_AddNumberToObject(j, "n_layer", r->L);
    cJSON_AddNumberToObject(j, "n_head", r->NH);
    cJSON_AddStringToObject(p, "name", "random repeated blocks (Olsson et al. 2022; TransformerLens)");
    cJSON_AddStringToObject(p, "label", label);
    cJSON_AddItemToObject(p, "block_lengths", cJSON_CreateIntArray(r->lengths, r->n_lengths));
    cJSON_AddNumberToObject(p, "seqs_per_length", r->seqs_per_length);
    cJSON_AddNumberToObject(p, "seed", (double)r->seed);
    cJSON_AddNumberToObject(p, "pool", r->n_pool);
    cJSON_AddNumberToObject(p, "bos", r->bos);
    cJSON_AddBoolToObject(p, "from_cache", cached);
    cJSON_AddItemToObject(j, "protocol", p);
    for (int k = 0; k < DET_COUNT; k++) {
        cJSON *o = cJSON_CreateObject(), *by = cJSON_CreateArray();
        int best;
        detect_best(r, (DetectRole)k, &best);
        cJSON_AddItemToObject(o, "scores", cJSON_CreateFloatArray(r->score + k * nh, nh));
        for (int l = 0; l < r->n_lengths; l++)
            cJSON_AddItemToArray(by, cJSON_CreateFloatArray(r->by_length + ((size_t)k * r->n_lengths + l) * nh, nh));
        cJSON_AddItemToObject(o, "by_length", by);
        cJSON_AddNumberToObject(o, "uniform", r->uniform[k]);
        cJSON_AddNumberToObject(o, "best_head", best);
        cJSON_AddItemToObject(roles, detect_role_name((DetectRole)k), o);
    }
    cJSON_AddItemToObject(j, "roles", roles);
    cJSON *labels = cJSON_CreateArray();
    for (int hd = 0; hd < nh; hd++) {
        head_roles_label(r, hd, label, sizeof label);
        cJSON_AddItemToArray(labels, cJSON_CreateString(label));
    }
    cJSON_AddItemToObject(j, "labels", labels);
    cJSON_AddItemToObject(j, "loss_first", cJSON_CreateFloatArray(r->loss_first, r->n_lengths));
    cJSON_AddItemToObject(j, "loss_second", cJSON_CreateFloatArray(r->loss_second, r->n_lengths));
    cJSON_AddNumberToObject(j, "loss_chance", r->loss_chance);
    if (pr) {
        cJSON *q = cJSON_CreateObject();
        for (int k = 0; k < ROLE_COUNT; k++)
            cJSON_AddItemToObject(q, probes_role_name(k),
                                  cJSON_CreateFloatArray(pr->score + k * nh, nh));
        cJSON_AddItemToObject(j, "corpus_probes", q);
    }
    return j;
}

int cmd_roles(int argc, char **argv) {
    const char *model = NULL, *device = NULL;
    int json = 0, probes = 0, fresh = 0, quiet = 0;
    CliOpt opts[] = {
        {"--model", OPT_STR, &model, "DIR", "model folder (default: the shipped rope model)", 0},
        {"--device", OPT_STR, &device, "auto|cpu|cuda", "where to compute (default auto)", 0},
        {"--probes", OPT_FLAG, &probes, NULL, "also the corpus-shaped probes (word-level models "
         "trained on our corpus), as a second column", 0},
        {"--no-cache", OPT_FLAG, &fresh, NULL, "measure again even if the cache has the numbers", 0},
        {"--quiet", OPT_FLAG, &quiet, NULL, "no progress line", 0},
        {"--json", OPT_FLAG, &json, NULL, "machine-readable output", 0}};
    CliCommand cmd = {"roles", "[--model DIR] [--probes] [--no-cache] [--json]",
                      "Every head's previous-token, duplicate-token, induction and first-token "
                      "score by the standard protocol:\n<bos>, a block of n tokens drawn "
                      "uniformly from the model's whole vocabulary (specials left out), the "
                      "same\nblock again; a score is the head's mean attention on the "
                      "position its role predicts, averaged\nover the sequences and the "
                      "block lengths (model/detect.h). Cached under $XDG_CACHE_HOME/attnviz/ "
                      "by\nthe weights' hash: the app's labels show the same numbers.",
                      opts, sizeof opts / sizeof opts[0]};
    int rc = cli_begin(&cmd, argc, argv);
    if (rc >= 0) return rc;
    AvzErr err;
    char note[AVZ_ERR_LEN] = "";
    Session s;
    AvzCode c = session_open(&s, model, device, NULL, NULL, err);
    if (c) return cmd_error(c, err);
    session_print_notes(&s);
    Engine *e = &s.eng;
    if (fresh) {   /* a fresh measurement replaces the cached one */
        char path[4400];
        DetectOpts o;
        head_roles_opts(&e->model, &o);
        head_roles_cache_path(&e->model, &o, path, sizeof path);
        remove(path);
    }
    DetectReport r;
    int cached = 0;
    c = head_roles_measure(e, quiet || json ? NULL : progress, NULL, &r, &cached, note, err);
    if (c) { session_close(&s); return cmd_error(c, err); }
    if (note[0]) fprintf(stderr, "note: %s\n", note);
    ProbeReport pr, *ppr = NULL;
    if (probes) {
        if (e->tok.kind != TOKENIZER_WORD) {
            fprintf(stderr, "note: --probes: the corpus probes need a word-level model trained on "
                            "attnviz's corpus; left out\n");
        } else if ((c = probes_run(&e->be, &e->model, PROBES_SEED, 100, NULL, &pr, err))) {
            detect_report_free(&r);
            session_close(&s);
            return cmd_error(c, err);
        } else {
            ppr = &pr;
        }
    }
    if (json) {
        cJSON *j = json_report(&s, &r, ppr, cached);
        char *txt = cJSON_Print(j);
        printf("%s\n", txt);
        free(txt);
        cJSON_Delete(j);
    } else {
        print_table(&s, &r, ppr);
        if (cached) fprintf(stderr, "(from the cache; --no-cache measures again)\n");
    }
    if (ppr) probe_report_free(ppr);
    detect_report_free(&r);
    session_close(&s);
    return 0;
}
