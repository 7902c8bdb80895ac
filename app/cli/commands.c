/* commands.c: the table of attnviz's commands (see commands.h): app/main.c
 * dispatches through it, `attnviz --help` lists it, and the manual page (man.c)
 * describes each entry from its own option table. */
#include "cli/commands.h"

#include <string.h>

#include "cli/cli.h"

static const CommandEntry COMMANDS[] = {
    {"gui", cmd_gui, "the desktop app (the default when no command is given)"},
    {"lesson", cmd_lesson, "the desktop app on a guided tour for the classroom"},
    {"export", cmd_export, "write attention maps as labelled PNG heatmaps or .npy arrays; "
     "one per text with --texts"},
    {"predict", cmd_predict, "next-token top-k after a text"},
    {"ablate", cmd_ablate, "switch heads off; loss, KL and top-k before and after"},
    {"heads", cmd_heads, "importance sweep: each head ablated alone"},
    {"model", cmd_model, "model info DIR: the architecture of a model folder as read"},
    {"roles", cmd_roles, "every head's role by the standard protocol (random repeated blocks)"},
    {"tokenize", cmd_tokenize, "how the model's tokenizer splits a text: ids, pieces, byte spans"},
    {"init", cmd_init, "write a randomly initialised model folder"},
    {"corpus", cmd_corpus, "write passages of the synthetic training corpus"},
    {"train", cmd_train, "train a model on the synthetic corpus"},
    {"lengths", cmd_lengths, "loss by position past the training context, per encoding"},
    {"permute", cmd_permute, "does attention know word order? scores of a shuffled text"},
    {"bench", cmd_bench, "timings: forward, sweep, flash attention vs the machine's matmul ceiling, memory"},
    {"help", cmd_help, "this help; help COMMAND: a command's; help --man: the manual page (roff)"},
};

const CommandEntry *commands_table(int *n) {
    *n = (int)(sizeof COMMANDS / sizeof COMMANDS[0]);
    return COMMANDS;
}

const CommandEntry *commands_find(const char *name) {
    int n;
    const CommandEntry *t = commands_table(&n);
    for (int i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0) return &t[i];
    return NULL;
}

/* describe mode's sink for commands_is_gui_option: is ctx's name in gui's table? */
typedef struct {
    const char *name;
    int found;
} OptQuery;

static void find_in_table(const CliCommand *cmd, void *ctx) {
    OptQuery *q = ctx;
    for (int i = 0; i < cmd->n_opts; i++)
        if (strcmp(cmd->opts[i].name, q->name) == 0) q->found = 1;
}

int commands_is_gui_option(const char *arg) {
    if (strncmp(arg, "--", 2) != 0 || strcmp(arg, "--help") == 0) return 0;
    char name[64];
    size_t n = strcspn(arg, "=");   /* --model=DIR as well as --model DIR */
    if (n >= sizeof name) return 0;
    memcpy(name, arg, n);
    name[n] = '\0';
    OptQuery q = {name, 0};
    CliSink sink = {find_in_table, NULL, &q};
    char *argv[] = {"attnviz", "gui", "--help", NULL};
    cli_describe(&sink);
    cmd_gui(3, argv);   /* hands over its table and returns, doing nothing */
    cli_describe(NULL);
    return q.found;
}

void commands_print_help(FILE *f) {
    int n;
    const CommandEntry *t = commands_table(&n);
    fprintf(f, "attnviz: see inside a small transformer: every head's attention, position "
               "encodings, ablation.\n\nusage: attnviz [<command> [options]]   "
               "(no command: the app; attnviz <command> --help for its options)\n"
               "       attnviz [gui options]            (the app: attnviz --model DIR is "
               "attnviz gui --model DIR)\n\ncommands:\n");
    for (int i = 0; i < n; i++) fprintf(f, "  %-8s %s\n", t[i].name, t[i].summary);
    fprintf(f, "\nexit status: 0 success, 2 bad usage or bad input, 1 internal failure\n");
}
