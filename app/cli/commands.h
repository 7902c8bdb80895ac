/* commands.h: the attnviz subcommands, one file each in app/cli/ named for its
 * command (export.c is `attnviz export`; bench/ holds `attnviz bench` with its GPU
 * half), listed in one table (commands.c) that app/main.c dispatches through and the
 * manual page (man.c) walks. app/cli/ owns the command line: options (cli.h), the
 * input text (text_input.h), what the model-running commands share (run.h), and the
 * corpus-probe reports (probe_report.h).
 * Each command takes (argc, argv) with argv[1] the subcommand's name and returns the
 * process exit code: 0 success, 2 bad usage or bad input, 1 internal failure. Errors
 * go to stderr. Each parses its options (cli_begin) before anything else, so that
 * describe mode (cli.h) gets its option table without running it. */
#ifndef AVZ_COMMANDS_H
#define AVZ_COMMANDS_H

#include <stdio.h>

int cmd_export(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_ablate(int argc, char **argv);
int cmd_heads(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_model(int argc, char **argv);    /* model info DIR */
int cmd_roles(int argc, char **argv);    /* head roles by the standard protocol */
int cmd_init(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_corpus(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_lengths(int argc, char **argv);
int cmd_permute(int argc, char **argv);  /* the permutation demo */
int cmd_gui(int argc, char **argv);      /* the desktop app (app/gui/) */
int cmd_lesson(int argc, char **argv);   /* the app on a guided tour */
int cmd_help(int argc, char **argv);     /* the help, one command's, or the manual page */

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} CommandEntry;

/* Every command, in the order the help lists them; n in *n. */
const CommandEntry *commands_table(int *n);
/* The command called name, or NULL. */
const CommandEntry *commands_find(const char *name);
/* 1 if arg, the first argument, is an option of `attnviz gui` ("--model", "--model=DIR";
 * never --help), read from gui's own option table: app/main.c then runs it as `attnviz
 * gui ...`, so that `attnviz --model DIR` opens the app on DIR. */
int commands_is_gui_option(const char *arg);
/* The overall help: usage and the command list. */
void commands_print_help(FILE *f);

#endif
