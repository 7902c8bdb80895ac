/* run.h: what the commands that run a model on a text share (predict, ablate, heads,
 * tokenize; export and permute take the same text options): the common options,
 * opening the session, and the JSON they print. */
#ifndef AVZ_CLI_RUN_H
#define AVZ_CLI_RUN_H

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "session.h"

/* Common options of the commands that run a model on a text. */
typedef struct {
    const char *model, *text, *text_file, *device, *attention;
    int json;
} RunArgs;

/* The two ways to give the text (cli/text_input.h reads and checks it). */
#define TEXT_OPTS(text, text_file)                                                        \
    {"--text", OPT_STR, &(text), "TEXT", "the text to run ('-': read it from stdin)", 0},  \
    {"--text-file", OPT_STR, &(text_file), "FILE", "read the text from FILE ('-': stdin); " \
     "UTF-8, trailing newlines dropped", 0}

#define RUN_OPTS(a)                                                                       \
    {"--model", OPT_STR, &(a).model, "DIR", "model folder (default: the shipped rope model)", 0}, \
    TEXT_OPTS((a).text, (a).text_file),                                                   \
    {"--device", OPT_STR, &(a).device, "auto|cpu|cuda", "where to compute (default auto)", 0}, \
    {"--attention", OPT_STR, &(a).attention, "flash|naive", "attention algorithm (default flash)", 0}, \
    {"--json", OPT_FLAG, &(a).json, NULL, "machine-readable output", 0}

/* Parses, reads and checks the text (--text, --text-file or stdin; required unless
 * --roles, --probe or --behaviour was given), opens the session. Returns -1 to
 * continue, else an exit code (the message printed). */
int run_open(CliCommand *cmd, int argc, char **argv, RunArgs *a, Session *s);

/* [{"i", "id", "text", "piece", "byte_start", "byte_len", "unknown"}]: the session's
 * tokens; text is what a label shows, piece the vocabulary's own string ("Ġworld",
 * "▁world", "<0xE2>"; a word model's word) (byte_start -1 and byte_len 0 for <bos>). The caller owns it. */
cJSON *run_json_tokens(const Session *s);
/* {"model", "position_encoding", "device", "tokens": run_json_tokens}: the head of
 * every JSON result. The caller owns it. */
cJSON *run_json_header(const Session *s);
/* [{"token", "id", "p"}] of k entries. */
cJSON *run_json_topk(const Engine *eng, const int *ids, const float *p, int k);
/* Prints j to stdout and frees it. */
void run_json_print(cJSON *j);

/* "zero" or "mean" (NULL: zero) into *m; AVZ_ERR_INPUT naming --mode otherwise. */
AvzCode run_parse_mode(const char *s, AblateMode *m, char *err);

#endif
