/* predict.c: `attnviz predict`, the next-token top-k after a text. */
#include <cjson/cJSON.h>
#include <string.h>

#include "ablate.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/probe_report.h"
#include "cli/run.h"
#include "session.h"


/* ---- predict ----------------------------------------------------------------- */

int cmd_predict(int argc, char **argv) {
    RunArgs a = {0};
    int top = 5;
    CliOpt opts[] = {RUN_OPTS(a), {"--top", OPT_INT, &top, "K", "how many tokens (default 5)", 0}};
    CliCommand cmd = {"predict", "(--text TEXT | --text-file FILE) [--model DIR] [--top K] [--json]",
                      "Next-token prediction after the last token of the text.", opts,
                      sizeof opts / sizeof opts[0]};
    Session s;
    int rc = run_open(&cmd, argc, argv, &a, &s);
    if (rc >= 0) return rc;
    AvzErr err;
    if (top < 1 || top > ABLATE_MAX_TOPK) {
        session_close(&s);
        snprintf(err, sizeof err, "attnviz predict: --top must be between 1 and %d",
                 ABLATE_MAX_TOPK);
        return cmd_error(2, err);
    }
    if ((rc = session_forward(&s, err))) { session_close(&s); return cmd_error(rc, err); }
    int V = s.eng.model.cfg.vocab_size, T = s.tok.n, ids[ABLATE_MAX_TOPK];
    float p[ABLATE_MAX_TOPK];
    ablate_topk(model_probs(&s.eng.model) + (size_t)(T - 1) * V, V, top, ids, p);
    if (a.json) {
        cJSON *j = run_json_header(&s);
        cJSON_AddItemToObject(j, "next", run_json_topk(&s.eng, ids, p, top));
        run_json_print(j);
    } else {
        char desc[256];
        session_describe(&s, desc, sizeof desc);
        printf("model: %s (%s) on %s\n", s.model_dir, desc, s.eng.be->device);
        printf("next token after \"%s\":\n", s.tok.text[T - 1]);
        for (int i = 0; i < top; i++) {
            char label[128];
            engine_label(&s.eng, ids[i], label, sizeof label);
            printf("  %2d. %-16s %.4f\n", i + 1, label, p[i]);
        }
    }
    session_close(&s);
    return 0;
}
