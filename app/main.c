/* main.c: the `attnviz` command. Dispatches to a subcommand through the command
 * table (cli/commands.h); with no subcommand, or with gui's options and no command
 * (`attnviz --model DIR --text "..."`), it opens the desktop app (`attnviz gui`);
 * `attnviz --help` prints the help. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "assets.h"
#include "cli/commands.h"
#include "common.h"

/* OpenMP's threads (libgomp) spin at every barrier before they sleep; on a machine
 * busy with other work each spin costs a scheduler slice (T = 256 measured 140 ms
 * instead of 2.3 ms on two threads). libgomp reads OMP_WAIT_POLICY only when it
 * loads, so we set it and start ourselves again, once; on failure carry on. */
static void prefer_passive_openmp(char **argv) {
    if (getenv("OMP_WAIT_POLICY")) return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) == 0) execv("/proc/self/exe", argv);
}

int main(int argc, char **argv) {
    prefer_passive_openmp(argv);
    assets_init(argv[0]);
    if (argc < 2) {
        char *gui_argv[] = {argv[0], "gui", NULL};
        return cmd_gui(2, gui_argv);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        commands_print_help(stdout);
        return 0;
    }
    if (commands_is_gui_option(argv[1])) {   /* attnviz --model DIR ... = attnviz gui --model DIR ... */
        char **gui_argv = avz_xmalloc(sizeof(char *) * (size_t)(argc + 2));
        gui_argv[0] = argv[0];
        gui_argv[1] = "gui";
        memcpy(gui_argv + 2, argv + 1, sizeof(char *) * (size_t)argc);   /* with the NULL */
        int rc = cmd_gui(argc + 1, gui_argv);
        free(gui_argv);
        return rc;
    }
    const CommandEntry *c = commands_find(argv[1]);
    if (c) return c->fn(argc, argv);
    fprintf(stderr, "attnviz: unknown command '%s'\n\n", argv[1]);
    commands_print_help(stderr);
    return 2;
}
