/* commands.h: the attnviz subcommands, one file each in app/cli/ named for its
 * command (export.c is `attnviz export`; bench/ holds `attnviz bench` with its GPU
 * half), dispatched by app/main.c. app/cli/ owns the command line: options (cli.h),
 * what the model-running commands share (run.h), and the probe reports (roles.h).
 * Each command takes (argc, argv) with argv[1] the subcommand's name and returns the
 * process exit code: 0 success, 2 bad usage or bad input, 1 internal failure. Errors
 * go to stderr. */
#ifndef AVZ_COMMANDS_H
#define AVZ_COMMANDS_H

int cmd_export(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_ablate(int argc, char **argv);
int cmd_heads(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_corpus(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_lengths(int argc, char **argv);
int cmd_permute(int argc, char **argv);  /* the permutation demo */
int cmd_gui(int argc, char **argv);      /* the desktop app (app/gui/) */
int cmd_lesson(int argc, char **argv);   /* the app on a guided tour */

#endif
