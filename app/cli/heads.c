/* heads.c: `attnviz heads`, every head switched off alone (the importance sweep), or
 * with --roles / --behaviour the probes' role scores and behaviour sweep. */
#include <cjson/cJSON.h>
#include <string.h>

#include "ablate.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/probe_report.h"
#include "cli/run.h"
#include "session.h"


/* ---- heads: the importance sweep ------------------------------------------------ */

static void print_sweep(const Session *s, const float *imp, float base) {
    const ModelConfig *c = &s->eng.model.cfg;
    printf("loss on the text: %.4f; loss increase when each head is ablated alone:\n", base);
    printf("        ");
    for (int h = 0; h < c->n_head; h++) printf("  head %-3d", h);
    printf("\n");
    for (int l = 0; l < c->n_layer; l++) {
        printf("layer %-2d", l);
        for (int h = 0; h < c->n_head; h++) printf(" %+9.4f", imp[l * c->n_head + h]);
        printf("\n");
    }
}

int cmd_heads(int argc, char **argv) {
    RunArgs a = {0};
    const char *mode = NULL;
    int roles = 0, behaviour = 0, n_probes = 100;
    CliOpt opts[] = {RUN_OPTS(a),
                     {"--mode", OPT_STR, &mode, "zero|mean", "how to remove a head (default zero)", 0},
                     {"--roles", OPT_FLAG, &roles, NULL, "measure every head's role on held-out probes", 0},
                     {"--behaviour", OPT_FLAG, &behaviour, NULL, "ablate each head alone; accuracy of each behaviour on held-out probes", 0},
                     {"--probes", OPT_INT, &n_probes, "N", "probe passages per kind (default 100)", 0}};
    CliCommand cmd = {"heads", "(--text TEXT | --text-file FILE | --roles) [--model DIR] [--mode zero|mean] "
                      "[--json]",
                      "Importance sweep: ablates every head alone and reports the loss increase "
                      "on the text.\nWith --roles: every head's role scores (previous-token, "
                      "induction, coreference, ...) on held-out probes.", opts,
                      sizeof opts / sizeof opts[0]};
    Session s;
    int rc = run_open(&cmd, argc, argv, &a, &s);
    if (rc >= 0) return rc;
    if (roles || behaviour) {
        AblateMode am = ABLATE_ZERO;
        AvzErr err;
        if (n_probes < 1) rc = cmd_error(2, "attnviz heads: --probes must be positive");
        else if ((rc = run_parse_mode(mode, &am, err))) rc = cmd_error(rc, err);
        else if (roles) rc = roles_report(&s.eng.be, &s.eng.model, n_probes, a.json);
        else rc = roles_behaviour_sweep(&s.eng.be, &s.eng.model, am, n_probes, a.json);
        session_close(&s);
        return rc;
    }
    AvzErr err;
    AblateMode am = ABLATE_ZERO;
    int n = s.eng.model.cfg.n_layer * s.eng.model.cfg.n_head;
    float *imp = avz_xcalloc(n, sizeof(float)), base = 0;
    rc = run_parse_mode(mode, &am, err);
    if (!rc) rc = ablate_sweep(&s.eng.be, &s.eng.model, s.tok.ids, s.tok.n, am, imp, &base, NULL, NULL,
                               s.note, err);
    if (!rc && a.json) {
        cJSON *j = run_json_header(&s);
        cJSON_AddNumberToObject(j, "loss_base", base);
        cJSON *rows = cJSON_CreateArray();
        for (int l = 0; l < s.eng.model.cfg.n_layer; l++)
            cJSON_AddItemToArray(rows, cJSON_CreateFloatArray(imp + l * s.eng.model.cfg.n_head,
                                                              s.eng.model.cfg.n_head));
        cJSON_AddItemToObject(j, "importance", rows);
        run_json_print(j);
    } else if (!rc) {
        print_sweep(&s, imp, base);
    }
    free(imp);
    session_close(&s);
    return rc ? cmd_error(rc, err) : 0;
}
