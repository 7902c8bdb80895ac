/* commands.h: the attnviz subcommands. Each takes (argc, argv) with argv[1] the
 * subcommand's name and returns the process exit code: 0 success, 2 bad usage or
 * bad input, 1 internal failure. Errors go to stderr. */
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
int cmd_permute(int argc, char **argv);  /* app/cmd_teach.c: the permutation demo */
int cmd_gui(int argc, char **argv);      /* app/gui.c: the desktop app */
int cmd_lesson(int argc, char **argv);   /* app/gui.c: the app on a guided tour */

#endif
