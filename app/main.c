/* main.c: the `attnviz` command. Dispatches to a subcommand (commands.h); with no
 * subcommand it opens the desktop app (`attnviz gui`); `attnviz --help` prints
 * the help. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "assets.h"
#include "cli/commands.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} Subcommand;

static const Subcommand SUBCOMMANDS[] = {
    {"gui", cmd_gui, "the desktop app (the default when no command is given)"},
    {"lesson", cmd_lesson, "the desktop app on a guided tour for the classroom"},
    {"export", cmd_export, "write attention maps as labelled PNG heatmaps or .npy arrays"},
    {"predict", cmd_predict, "next-token top-k after a text"},
    {"ablate", cmd_ablate, "switch heads off; loss, KL and top-k before and after"},
    {"heads", cmd_heads, "importance sweep: each head ablated alone"},
    {"init", cmd_init, "write a randomly initialised model folder"},
    {"corpus", cmd_corpus, "write passages of the synthetic training corpus"},
    {"train", cmd_train, "train a model on the synthetic corpus"},
    {"lengths", cmd_lengths, "loss by position past the training context, per encoding"},
    {"permute", cmd_permute, "does attention know word order? scores of a shuffled text"},
    {"bench", cmd_bench, "timings: forward, sweep, flash attention vs the machine's matmul ceiling, memory"},
};
#define N_SUBCOMMANDS ((int)(sizeof SUBCOMMANDS / sizeof SUBCOMMANDS[0]))

static void print_help(FILE *f) {
    fprintf(f, "attnviz: see inside a small transformer: every head's attention, position "
               "encodings, ablation.\n\nusage: attnviz [<command> [options]]   "
               "(no command: the app; attnviz <command> --help for its options)\n\ncommands:\n");
    for (int i = 0; i < N_SUBCOMMANDS; i++)
        fprintf(f, "  %-8s %s\n", SUBCOMMANDS[i].name, SUBCOMMANDS[i].summary);
    fprintf(f, "\nexit status: 0 success, 2 bad usage or bad input, 1 internal failure\n");
}

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
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_help(stdout);
        return 0;
    }
    for (int i = 0; i < N_SUBCOMMANDS; i++)
        if (strcmp(argv[1], SUBCOMMANDS[i].name) == 0) return SUBCOMMANDS[i].fn(argc, argv);
    fprintf(stderr, "attnviz: unknown command '%s'\n\n", argv[1]);
    print_help(stderr);
    return 2;
}
