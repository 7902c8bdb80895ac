/* run.c: what the commands that run a model on a text share (predict, ablate,
 * heads): their common options, opening the session, and the JSON they print. */
#include <cjson/cJSON.h>
#include <string.h>

#include "ablate.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/probe_report.h"
#include "cli/run.h"
#include "cli/text_input.h"
#include "session.h"

int run_open(CliCommand *cmd, int argc, char **argv, RunArgs *a, Session *s) {
    AvzErr err;
    int rc = cli_begin(cmd, argc, argv);
    if (rc >= 0) return rc;
    char *text;
    if ((rc = text_input_get(cmd->name, a->text, a->text_file, &text, err)))
        return cmd_error(rc, err);
    if (!text && !cli_seen(cmd, "--roles") && !cli_seen(cmd, "--probe") &&
        !cli_seen(cmd, "--behaviour")) {
        snprintf(err, sizeof err, "attnviz %s: --text or --text-file is required", cmd->name);
        return cmd_error(2, err);
    }
    rc = session_open(s, a->model, a->device, a->attention, text, err);
    free(text);   /* the session keeps the tokens, not the text */
    if (rc) return cmd_error(rc, err);
    session_print_notes(s);
    return -1;
}

cJSON *run_json_tokens(const Session *s) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < s->tok.n; i++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddNumberToObject(t, "i", i);
        cJSON_AddNumberToObject(t, "id", s->tok.ids[i]);
        cJSON_AddStringToObject(t, "text", s->tok.text[i]);
        const char *piece = tokenizer_piece(&s->eng.tok, &s->eng.model.vocab, s->tok.ids[i]);
        cJSON_AddStringToObject(t, "piece", piece ? piece : "");
        cJSON_AddNumberToObject(t, "byte_start", s->tok.byte_start[i]);
        cJSON_AddNumberToObject(t, "byte_len", s->tok.byte_len[i]);
        cJSON_AddBoolToObject(t, "unknown", s->tok.unknown[i]);
        cJSON_AddItemToArray(arr, t);
    }
    return arr;
}

cJSON *run_json_header(const Session *s) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", s->model_dir);
    cJSON_AddStringToObject(j, "position_encoding", pe_name(s->eng.model.cfg.pe));
    cJSON_AddStringToObject(j, "device", s->eng.be->device);
    cJSON_AddItemToObject(j, "tokens", run_json_tokens(s));
    return j;
}

void run_json_print(cJSON *j) {
    char *txt = cJSON_Print(j);
    printf("%s\n", txt);
    free(txt);
    cJSON_Delete(j);
}

cJSON *run_json_topk(const Engine *eng, const int *ids, const float *p, int k) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < k; i++) {
        cJSON *e = cJSON_CreateObject();
        char label[128];
        engine_label(eng, ids[i], label, sizeof label);
        cJSON_AddStringToObject(e, "token", label);
        cJSON_AddNumberToObject(e, "id", ids[i]);
        cJSON_AddNumberToObject(e, "p", p[i]);
        cJSON_AddItemToArray(arr, e);
    }
    return arr;
}

AvzCode run_parse_mode(const char *mode, AblateMode *out, char *err) {
    if (!mode || strcmp(mode, "zero") == 0) *out = ABLATE_ZERO;
    else if (strcmp(mode, "mean") == 0) *out = ABLATE_MEAN;
    else return avz_fail(err, AVZ_ERR_INPUT, "--mode: unknown mode '%s' (use zero or mean)",
                         mode);
    return AVZ_OK;
}
