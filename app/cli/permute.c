/* permute.c: `attnviz permute`, the permutation demo of the app's Permutation
 * view on the command line: does attention alone know the order of the words?
 *
 * Layer 0's scores q.k / sqrt(d) (before the mask and the softmax) of a text and of
 * the same words shuffled are compared: without any position information they are
 * the same matrix with rows and columns permuted (difference 0); with the model's
 * encoding they are not. model/teach.c computes it. */
#include <cjson/cJSON.h>
#include <string.h>

#include "assets.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/run.h"
#include "cli/text_input.h"
#include "session.h"
#include "teach.h"

/* The last two components of a path: "models/rope". */
static const char *model_short(const char *dir) {
    const char *p = dir + strlen(dir);
    for (int slashes = 0; p > dir; p--)
        if (p[-1] == '/' && ++slashes == 2) break;
    return p;
}

/* One model: its row of the table, or its object appended to json (not NULL). */
static int permute_one(const char *dir, const char *text, int seed, cJSON *json) {
    Session s;
    AvzErr err;
    AvzCode rc = session_open(&s, dir, "cpu", NULL, text, err);
    if (rc) return cmd_error(rc, err);
    TeachPermutation p;
    if (s.tok.n < 2) {
        session_close(&s);
        return cmd_error(2, "attnviz permute: --text needs at least one word");
    }
    rc = teach_permutation_init(&p, &s.eng.model, s.tok.ids, s.tok.n, (uint64_t)seed, err);
    if (rc) {
        session_close(&s);
        return cmd_error(rc, err);
    }
    const char *pe = pe_name(s.eng.model.cfg.pe);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", s.model_dir);
        cJSON_AddStringToObject(o, "position_encoding", pe);
        cJSON_AddNumberToObject(o, "tokens", p.T);
        cJSON_AddNumberToObject(o, "diff_without_position", p.diff_nopos);
        cJSON_AddNumberToObject(o, "diff_with_position", p.diff_pos);
        cJSON_AddItemToArray(json, o);
    } else {
        printf("%-34.34s %-11s %21.6g %18.6g\n", model_short(s.model_dir), pe, p.diff_nopos, p.diff_pos);
    }
    teach_permutation_free(&p);
    session_close(&s);
    return 0;
}

int cmd_permute(int argc, char **argv) {
    const char *model = NULL, *text = NULL, *text_file = NULL;
    int seed = 1, all = 0, json = 0;
    CliOpt opts[] = {
        {"--model", OPT_STR, &model, "DIR", "model folder (default: the shipped rope model)", 0},
        TEXT_OPTS(text, text_file),
        {"--seed", OPT_INT, &seed, "S", "the shuffle (default 1)", 0},
        {"--all", OPT_FLAG, &all, NULL, "the five shipped models, one row each", 0},
        {"--json", OPT_FLAG, &json, NULL, "machine-readable output", 0}};
    CliCommand cmd = {"permute", "(--text TEXT | --text-file FILE) [--model DIR | --all] [--seed S] "
                      "[--json]",
                      "Shuffles the words and compares layer 0's attention scores (q.k / sqrt(d), "
                      "before the mask)\nof the text and the shuffled text, rows and columns "
                      "permuted along: max |difference|\nover every head, without any position "
                      "information and with the model's encoding.", opts,
                      sizeof opts / sizeof opts[0]};
    int rc = cli_begin(&cmd, argc, argv);
    if (rc >= 0) return rc;
    AvzErr err;
    if (seed < 0) return cmd_error(2, "attnviz permute: --seed must be >= 0");
    char *owned;
    if ((rc = text_input_get("permute", text, text_file, &owned, err))) return cmd_error(rc, err);
    if (!owned) return cmd_error(2, "attnviz permute: --text or --text-file is required");
    const char *names[] = {"none", "sinusoidal", "learned", "rope", "alibi"};
    int n = all ? 5 : 1;
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    if (!json) printf("%-34s %-11s %21s %18s\n", "model", "encoding", "without position", "with it");
    for (int i = 0; i < n && !rc; i++) {
        char rel[256], dir[4096];
        snprintf(rel, sizeof rel, "assets/models/%s", names[i]);
        assets_find(rel, dir, sizeof dir); /* the shipped models, from any folder */
        rc = permute_one(all ? dir : model, owned, seed, arr);
    }
    free(owned);
    if (arr && !rc) run_json_print(arr);
    else cJSON_Delete(arr);
    return rc;
}
