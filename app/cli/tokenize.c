/* tokenize.c: `attnviz tokenize`, how the model's tokenizer splits a text: each
 * token's index, id, text, byte span in the input and whether it was unknown. Uses
 * only the session's Tokens, so it shows whatever tokenizer the model folder brings
 * (word-level, GPT-2 byte-level BPE or a tokenizer.json, model/tokenizer.h). */
#include <cjson/cJSON.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/run.h"
#include "session.h"

/* s quoted, with ", \ and control characters escaped (\n, \t, \r, \xNN), into buf. */
static void quote_piece(const char *s, char *buf, size_t len) {
    size_t k = 0;
    buf[k++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p && k + 6 < len; p++) {
        if (*p == '"' || *p == '\\') k += snprintf(buf + k, len - k, "\\%c", *p);
        else if (*p == '\n') k += snprintf(buf + k, len - k, "\\n");
        else if (*p == '\t') k += snprintf(buf + k, len - k, "\\t");
        else if (*p == '\r') k += snprintf(buf + k, len - k, "\\r");
        else if (*p < 0x20 || *p == 0x7f) k += snprintf(buf + k, len - k, "\\x%02X", *p);
        else buf[k++] = (char)*p;
    }
    buf[k++] = '"';
    buf[k] = '\0';
}

static void print_table(const Session *s) {
    char desc[256];
    session_describe(s, desc, sizeof desc);
    printf("model: %s (%s)\n", s->model_dir, desc);
    printf("%d tokens, %d unknown; this model takes at most %d\n", s->tok.n, s->tok.n_unknown,
           config_max_len(&s->eng.model.cfg));
    printf("tokenizer: %s\n", tokenizer_kind_name(&s->eng.tok));
    printf("%5s %7s %11s %9s %8s  %-20s %s\n", "i", "id", "byte_start", "byte_len", "unknown",
           "text", "piece");
    for (int i = 0; i < s->tok.n; i++) {
        char q[512], pq[512];
        const char *piece = tokenizer_piece(&s->eng.tok, &s->eng.model.vocab, s->tok.ids[i]);
        quote_piece(s->tok.text[i], q, sizeof q);
        quote_piece(piece ? piece : "", pq, sizeof pq);
        printf("%5d %7d %11d %9d %8s  %-20s %s\n", i, s->tok.ids[i], s->tok.byte_start[i],
               s->tok.byte_len[i], s->tok.unknown[i] ? "yes" : "", q, pq);
    }
}

int cmd_tokenize(int argc, char **argv) {
    RunArgs a = {0};
    CliOpt opts[] = {
        {"--model", OPT_STR, &a.model, "DIR", "model folder (default: the shipped rope model)", 0},
        TEXT_OPTS(a.text, a.text_file),
        {"--json", OPT_FLAG, &a.json, NULL, "machine-readable output", 0}};
    CliCommand cmd = {"tokenize", "(--text TEXT | --text-file FILE) [--model DIR] [--json]",
                      "Shows how the model's tokenizer splits the text: each token's index, id, "
                      "text (control characters\nescaped), byte start and length in the input, "
                      "and whether it was unknown. Runs no forward pass.",
                      opts, sizeof opts / sizeof opts[0]};
    a.device = "cpu";   /* no pass runs: never start a GPU for this */
    Session s;
    int rc = run_open(&cmd, argc, argv, &a, &s);
    if (rc >= 0) return rc;
    if (a.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "model", s.model_dir);
        cJSON_AddStringToObject(j, "tokenizer", tokenizer_kind_name(&s.eng.tok));
        cJSON_AddNumberToObject(j, "n_tokens", s.tok.n);
        cJSON_AddNumberToObject(j, "n_unknown", s.tok.n_unknown);
        cJSON_AddNumberToObject(j, "max_tokens", config_max_len(&s.eng.model.cfg));
        cJSON_AddItemToObject(j, "tokens", run_json_tokens(&s));
        run_json_print(j);
    } else {
        print_table(&s);
    }
    session_close(&s);
    return 0;
}
