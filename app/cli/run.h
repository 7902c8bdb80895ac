/* run.h: what the commands that run a model on a text share (predict, ablate, heads):
 * the common options, opening the session, and the JSON they print. */
#ifndef AVZ_CLI_RUN_H
#define AVZ_CLI_RUN_H

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "session.h"

/* Common options of the commands that run a model on a text. */
typedef struct {
    const char *model, *text, *device, *attention;
    int json;
} RunArgs;

#define RUN_OPTS(a)                                                                       \
    {"--model", OPT_STR, &(a).model, "DIR", "model folder (default: the shipped rope model)", 0}, \
    {"--text", OPT_STR, &(a).text, "TEXT", "the text to run (required)", 0},               \
    {"--device", OPT_STR, &(a).device, "auto|cpu|cuda", "where to compute (default auto)", 0}, \
    {"--attention", OPT_STR, &(a).attention, "flash|naive", "attention algorithm (default flash)", 0}, \
    {"--json", OPT_FLAG, &(a).json, NULL, "machine-readable output", 0}

/* Parses, checks --text, opens the session. Returns -1 to continue, else an exit code. */
int run_open(CliCommand *cmd, int argc, char **argv, RunArgs *a, Session *s);

/* {"model", "position_encoding", "device", "tokens": [{"text", "id", "unknown"}]}: the
 * head of every JSON result. The caller owns it. */
cJSON *run_json_header(const Session *s);
/* [{"token", "id", "p"}] of k entries. */
cJSON *run_json_topk(const Vocab *v, const int *ids, const float *p, int k);
/* Prints j to stdout and frees it. */
void run_json_print(cJSON *j);

/* "zero" or "mean" (NULL: zero) into *m; AVZ_ERR_INPUT naming --mode otherwise. */
AvzCode run_parse_mode(const char *s, AblateMode *m, char *err);

#endif
