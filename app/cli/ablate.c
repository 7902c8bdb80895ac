/* ablate.c: `attnviz ablate`, switch chosen heads off and print what changes: the
 * loss on the text, each position's KL divergence, the top-k before and after (and,
 * with --probe, the probes' behaviour accuracies). */
#include <cjson/cJSON.h>
#include <string.h>

#include "ablate.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/probe_report.h"
#include "cli/run.h"
#include "session.h"


/* ---- ablate -------------------------------------------------------------------- */

/* Parses "1.2,0.3" (layer.head pairs) into mask (L * NH). */
static AvzCode parse_heads(const char *spec, const ModelConfig *c, unsigned char *mask,
                           char *err) {
    const char *p = spec;
    int count = 0;
    while (*p) {
        int l, h, n = 0;
        if (sscanf(p, "%d.%d%n", &l, &h, &n) != 2 || n == 0)
            return avz_fail(err, AVZ_ERR_INPUT, "--heads: expected LAYER.HEAD pairs like "
                            "'1.2,0.3' (got '%s')", spec);
        if (l < 0 || l >= c->n_layer || h < 0 || h >= c->n_head)
            return avz_fail(err, AVZ_ERR_INPUT, "--heads: head %d.%d does not exist (the "
                            "model has layers 0..%d and heads 0..%d)", l, h, c->n_layer - 1,
                            c->n_head - 1);
        mask[l * c->n_head + h] = 1;
        count++;
        p += n;
        if (*p == ',') p++;
        else if (*p) return avz_fail(err, AVZ_ERR_INPUT, "--heads: unexpected '%s'", p);
    }
    if (!count) return avz_fail(err, AVZ_ERR_INPUT, "--heads: no head given");
    return AVZ_OK;
}

static void print_ablation(const Session *s, const AblationResult *r, const char *heads) {
    printf("ablated heads: %s\n", heads);
    printf("loss on the text: %.4f -> %.4f (%+.4f)\n", r->loss_base, r->loss_ablated,
           r->loss_ablated - r->loss_base);
    printf("mean KL(baseline || ablated): %.5f nats\n", r->kl_mean);
    printf("next token after \"%s\":\n  %-28s %s\n", s->tok.text[r->T - 1], "before", "after");
    for (int i = 0; i < r->topk; i++) {
        char before[128], after[128];
        engine_label(&s->eng, r->top_base[i], before, sizeof before);
        engine_label(&s->eng, r->top_ablated[i], after, sizeof after);
        printf("  %-16s %.4f     %-16s %.4f\n", before, r->ptop_base[i], after,
               r->ptop_ablated[i]);
    }
    printf("KL per position:\n");
    for (int t = 0; t < r->T; t++) printf("  %3d %-14s %.5f\n", t, s->tok.text[t], r->kl[t]);
}

static void json_ablation(const Session *s, const AblationResult *r, const char *heads) {
    cJSON *j = run_json_header(s);
    cJSON_AddStringToObject(j, "heads", heads);
    cJSON_AddNumberToObject(j, "loss_base", r->loss_base);
    cJSON_AddNumberToObject(j, "loss_ablated", r->loss_ablated);
    cJSON_AddNumberToObject(j, "kl_mean", r->kl_mean);
    cJSON_AddItemToObject(j, "kl", cJSON_CreateFloatArray(r->kl, r->T));
    cJSON_AddItemToObject(j, "top_base", run_json_topk(&s->eng, r->top_base, r->ptop_base,
                                                   r->topk));
    cJSON_AddItemToObject(j, "top_ablated",
                          run_json_topk(&s->eng, r->top_ablated, r->ptop_ablated, r->topk));
    run_json_print(j);
}

int cmd_ablate(int argc, char **argv) {
    RunArgs a = {0};
    const char *heads = NULL, *mode = NULL;
    int top = 5, probe = 0, n_probes = 100;
    CliOpt opts[] = {RUN_OPTS(a),
                     {"--heads", OPT_STR, &heads, "L.H,...", "heads to switch off (required)", 0},
                     {"--probe", OPT_FLAG, &probe, NULL, "report behaviour accuracies on held-out probes instead of a text", 0},
                     {"--probes", OPT_INT, &n_probes, "N", "probe passages per kind (default 100)", 0},
                     {"--mode", OPT_STR, &mode, "zero|mean", "how to remove a head (default zero)", 0},
                     {"--top", OPT_INT, &top, "K", "top-k tokens before/after (default 5)", 0}};
    CliCommand cmd = {"ablate", "(--text TEXT | --text-file FILE) --heads L.H[,L.H...] [--mode zero|mean] "
                      "[--json]",
                      "Switches heads off and shows what changes: loss, KL per position, top-k.",
                      opts, sizeof opts / sizeof opts[0]};
    Session s;
    int rc = run_open(&cmd, argc, argv, &a, &s);
    if (rc >= 0) return rc;
    rc = 0;
    AvzErr err;
    AblateMode am = ABLATE_ZERO;
    unsigned char *mask = avz_xcalloc(s.eng.model.cfg.n_layer * s.eng.model.cfg.n_head, 1);
    AblationResult r = {0};
    if (!heads) rc = avz_fail(err, AVZ_ERR_INPUT, "attnviz ablate: --heads is required");
    if (!rc) rc = parse_heads(heads, &s.eng.model.cfg, mask, err);
    if (!rc) rc = run_parse_mode(mode, &am, err);
    if (!rc && probe) {
        rc = roles_ablation(&s.eng.be, &s.eng.model, mask, am, n_probes, a.json);
        free(mask);
        session_close(&s);
        return rc;
    }
    if (!rc) rc = ablate_run(&s.eng.be, &s.eng.model, s.tok.ids, s.tok.n, mask, am, top, &r, s.note, err);
    if (!rc) {
        if (a.json) json_ablation(&s, &r, heads);
        else print_ablation(&s, &r, heads);
    }
    ablation_result_free(&r);
    free(mask);
    session_close(&s);
    return rc ? cmd_error(rc, err) : 0;
}
