/* cli.h: a small declarative option parser for the attnviz subcommands.
 *
 * Each subcommand lists its options in a table; cli_parse fills the targets,
 * rejects unknown options and malformed values with a message naming the option,
 * and prints the help generated from the same table. The manual page (cli/man.c)
 * is generated from the same tables, collected in describe mode (cli_describe). */
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

/* Describe mode, for the manual page (cli/man.c): while a sink is set, cli_parse (and
 * so cli_begin) hands the command's table to sink->table instead of parsing and
 * returns -1 as for --help, printing nothing. A command called in this mode therefore
 * returns at once with its table described, before doing any work: every command
 * parses its options first. The sink copies what it keeps (tables live on the
 * stack). cli_describe(NULL) ends the mode. */
typedef struct {
    void (*table)(const CliCommand *cmd, void *ctx);
    void (*epilog)(void (*print)(FILE *f), void *ctx);   /* see cli_print_epilog */
    void *ctx;
} CliSink;
void cli_describe(const CliSink *sink);

/* A command whose help goes on after the options (gui: the script commands) calls
 * this when cli_parse returned -1: print(stdout) after --help, or in describe mode
 * print handed to the sink for the manual page. */
void cli_print_epilog(void (*print)(FILE *f));

#endif
