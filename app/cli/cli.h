/* cli.h: a small declarative option parser for the attnviz subcommands.
 *
 * Each subcommand lists its options in a table; cli_parse fills the targets,
 * rejects unknown options and malformed values with a message naming the option,
 * and prints the help generated from the same table. */
#ifndef AVZ_CLI_H
#define AVZ_CLI_H

#include "common.h"

typedef enum { OPT_STR, OPT_INT, OPT_FLOAT, OPT_FLAG } CliOptType;

typedef struct {
    const char *name;     /* "--model" */
    CliOptType type;
    void *target;         /* const char ** / int * / float * / int * (flag) */
    const char *metavar;  /* "DIR" (NULL for flags) */
    const char *help;
    int seen;             /* set by cli_parse */
} CliOpt;

typedef struct {
    const char *name;     /* "export" */
    const char *usage;    /* one line of usage after "attnviz <name>" */
    const char *summary;  /* what it does */
    CliOpt *opts;
    int n_opts;
} CliCommand;

/* Parses argv[first..argc). Returns AVZ_OK, AVZ_ERR_INPUT with a message naming
 * the option, or -1 when --help was given (help already printed to stdout). */
int cli_parse(CliCommand *cmd, int argc, char **argv, int first, char *err);

/* What every command does first: parses argv[2..argc) for cmd. Returns -1 when the
 * command should go on, else the exit code to return at once: 0 after --help (the
 * help printed), 2 after a bad option (the message printed by cmd_error). */
int cli_begin(CliCommand *cmd, int argc, char **argv);

/* Prints "attnviz: <err>" to stderr and returns code (for one-line error exits). */
int cmd_error(int code, const char *err);

/* Prints the command's help (usage, summary, options) to f. */
void cli_print_help(const CliCommand *cmd, FILE *f);

/* Was the option given? */
int cli_seen(const CliCommand *cmd, const char *name);

#endif
