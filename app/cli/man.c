/* man.c: `attnviz help`: the overall help, one command's help (help COMMAND), or the
 * manual page attnviz(1) in roff (help --man; `make man` writes build/attnviz.1).
 *
 * The page's COMMANDS section comes from the same option tables as each command's
 * --help: every command of the table (commands.c) is called in describe mode
 * (cli_describe), hands over its CliCommand and returns before doing any work, and
 * the page is written from the copies. An option added to a table is in both. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"

/* ---- one command's table, copied out of describe mode ------------------------------ */

typedef struct {
    char *name, *metavar, *help;
} ManOpt;

typedef struct {
    int described;
    char *usage, *summary, *epilog;   /* epilog: cli_print_epilog's text, or NULL */
    ManOpt *opts;
    int n_opts;
} ManCommand;

static char *dup_or_null(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    return memcpy(avz_xmalloc(n), s, n);
}

/* The describe-mode sink: copies the table (it lives on the command's stack). */
static void keep_table(const CliCommand *cmd, void *ctx) {
    ManCommand *m = ctx;
    m->described = 1;
    m->usage = dup_or_null(cmd->usage);
    m->summary = dup_or_null(cmd->summary);
    m->n_opts = cmd->n_opts;
    m->opts = avz_xcalloc((size_t)(cmd->n_opts + 1), sizeof *m->opts);
    for (int i = 0; i < cmd->n_opts; i++)
        m->opts[i] = (ManOpt){dup_or_null(cmd->opts[i].name), dup_or_null(cmd->opts[i].metavar),
                              dup_or_null(cmd->opts[i].help)};
}

/* ... and the help the command prints after its options, if any. */
static void keep_epilog(void (*print)(FILE *f), void *ctx) {
    ManCommand *m = ctx;
    size_t len;
    free(m->epilog);
    FILE *f = open_memstream(&m->epilog, &len);
    AVZ_ASSERT(f);
    print(f);
    fclose(f);
}

static void man_command_free(ManCommand *m) {
    for (int i = 0; i < m->n_opts; i++) {
        free(m->opts[i].name);
        free(m->opts[i].metavar);
        free(m->opts[i].help);
    }
    free(m->opts);
    free(m->usage);
    free(m->summary);
    free(m->epilog);
}

/* Calls the command in describe mode: its table into *m. */
static void describe(const CommandEntry *c, ManCommand *m) {
    char *argv[] = {"attnviz", (char *)c->name, "--help", NULL};
    memset(m, 0, sizeof *m);
    CliSink sink = {keep_table, keep_epilog, m};
    cli_describe(&sink);
    c->fn(3, argv);
    cli_describe(NULL);
}

/* ---- roff ------------------------------------------------------------------------ */

/* s as roff text: backslashes as \e, hyphens as \- (so that options copy as typed), a
 * '.' or '\'' at the start of a line guarded by \&; newlines kept. */
static void roff_text(FILE *f, const char *s) {
    int line_start = 1;
    for (; *s; s++) {
        if (line_start && (*s == '.' || *s == '\'')) fputs("\\&", f);
        if (*s == '\\') fputs("\\e", f);
        else if (*s == '-') fputs("\\-", f);
        else fputc(*s, f);
        line_start = *s == '\n';
    }
}

/* s as one quoted macro argument: as roff_text, and '"' as \(dq. */
static void roff_arg(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputs("\\(dq", f);
        else if (*s == '\\') fputs("\\e", f);
        else if (*s == '-') fputs("\\-", f);
        else if (*s == '\n') fputc(' ', f);
        else fputc(*s, f);
    }
    fputc('"', f);
}

static void roff_option(FILE *f, const char *name, const char *metavar, const char *help) {
    fputs(".TP\n", f);
    if (metavar) {
        fputs(".BI ", f);
        roff_arg(f, name);
        fputc(' ', f);
        char spaced[256];
        snprintf(spaced, sizeof spaced, " %s", metavar);
        roff_arg(f, spaced);
    } else {
        fputs(".B ", f);
        roff_arg(f, name);
    }
    fputc('\n', f);
    roff_text(f, help);
    fputc('\n', f);
}

static void roff_command(FILE *f, const CommandEntry *c, const ManCommand *m) {
    fprintf(f, ".SS %s\n", c->name);
    roff_text(f, c->summary);
    fputs(".\n.PP\n.B attnviz ", f);
    roff_text(f, c->name);
    fputc('\n', f);
    roff_text(f, m->usage);
    fputs("\n.PP\n", f);
    roff_text(f, m->summary);
    fputc('\n', f);
    for (int i = 0; i < m->n_opts; i++)
        roff_option(f, m->opts[i].name, m->opts[i].metavar, m->opts[i].help);
    roff_option(f, "--help", NULL, "show this help");
    if (m->epilog) {
        const char *e = m->epilog;
        while (*e == '\n') e++;
        fputs(".PP\n.nf\n", f);
        roff_text(f, e);
        fputs(".fi\n", f);
    }
}

/* The page's fixed sections, in roff already (hyphens of options escaped). */
static const char *MAN_HEAD =
    ".TH ATTNVIZ 1 \"\" \"attnviz\" \"User Commands\"\n"
    ".SH NAME\n"
    "attnviz \\- see inside a small transformer: attention maps, position encodings, ablation\n"
    ".SH SYNOPSIS\n"
    ".B attnviz\n"
    "[\\fIcommand\\fR [\\fIoptions\\fR]]\n"
    ".br\n"
    ".B attnviz\n"
    "[\\fB\\-\\-model\\fR \\fIDIR\\fR] [\\fIgui options\\fR]\n"
    ".br\n"
    ".B attnviz\n"
    ".I command\n"
    ".B \\-\\-help\n"
    ".br\n"
    ".B attnviz help \\-\\-man\n"
    ".SH DESCRIPTION\n"
    "attnviz is an educational attention visualizer. Type a sentence and look inside a small\n"
    "transformer: every head's attention map, what each position encoding (none, sinusoidal,\n"
    "learned, RoPE, ALiBi) does, what happens when a head is switched off. Every map comes\n"
    "from a real forward pass of a real model. Without a command attnviz opens the desktop\n"
    "app, and so it does when the first argument is an option of \\fBgui\\fR:\n"
    "\\fBattnviz \\-\\-model\\fR \\fIDIR\\fR is \\fBattnviz gui \\-\\-model\\fR \\fIDIR\\fR.\n"
    "The commands below write the same maps as PNG heatmaps or NumPy arrays and print\n"
    "measurements as tables or JSON.\n"
    ".PP\n"
    "Commands that run a model take \\fB\\-\\-model\\fR \\fIDIR\\fR (default: the shipped\n"
    "rope model), \\fB\\-\\-device\\fR auto|cpu|cuda and \\fB\\-\\-attention\\fR flash|naive.\n"
    "An attention map is a (T, T) matrix of probabilities in [0, 1]: row = query (the\n"
    "position attending), column = key (the position attended to); losses are in nats.\n"
    "Output files are written atomically (a temporary file, then a rename).\n"
    ".SH \"THE TEXT\"\n"
    "Every command that runs a text takes it as \\fB\\-\\-text\\fR \\fITEXT\\fR,\n"
    "\\fB\\-\\-text \\-\\fR (read from the standard input) or \\fB\\-\\-text\\-file\\fR\n"
    "\\fIFILE\\fR (\\fB\\-\\fR for the standard input); giving both options is an error.\n"
    "The text must be UTF\\-8 without NUL bytes: an error names the line and the byte\n"
    "(1\\-based within the line), e.g. \"notes.txt: line 3, byte 17: invalid UTF\\-8\n"
    "(0xC3 0x28)\". From a file or the standard input a byte\\-order mark and the trailing\n"
    "newlines are dropped. An empty text is an error, and so is a text longer than the\n"
    "model takes (the message gives both lengths).\n"
    ".PP\n"
    "\\fBexport \\-\\-texts\\fR \\fIFILE\\fR runs a batch: one text per line (blank lines\n"
    "skipped), or with \\fB\\-\\-blocks\\fR one text per run of non\\-blank lines; lines whose\n"
    "first non\\-blank character is # are comments; with \\fB\\-\\-labels\\fR each text is\n"
    "\"label | text\". \\fB\\-\\-out\\fR is a folder (\\fIDIR/\\fR: DIR/001.png, ...) or a\n"
    "pattern with the placeholders {n} (the text's number, from 1, zero\\-padded to at\n"
    "least 3 digits), {layer}, {head} (a number, or \"all\") and {model} (the model\n"
    "folder's name). index.csv (or index.json) beside the outputs lists every text with\n"
    "its line, label, token count, file, status and message.\n"
    ".SH COMMANDS\n";

static const char *MAN_TAIL =
    ".SH \"EXIT STATUS\"\n"
    ".TP\n.B 0\nsuccess.\n"
    ".TP\n.B 1\nan internal failure (out of memory, a failed write, a bug).\n"
    ".TP\n.B 2\nbad usage or bad input: the message names the option, file, field or text.\n"
    "A batch export exits 2 when any text was bad (the others are still written), 1 when\n"
    "any text failed inside, 0 when every text was written.\n"
    ".SH FILES\n"
    "attnviz finds its assets next to the binary (a build tree), under its install prefix\n"
    "(\\fIPREFIX\\fR/share/attnviz), or in \\fB$ATTNVIZ_HOME\\fR.\n"
    ".TP\n.I share/attnviz/assets/models/{none,sinusoidal,learned,rope,alibi}\n"
    "the shipped models, one per position encoding; rope is the default.\n"
    ".TP\n.I share/attnviz/assets/texts/examples.txt\n"
    "example sentences, \"label | text\" per line (the app's Examples menu).\n"
    ".TP\n.I share/attnviz/assets/lessons/\n"
    "the guided tours of \\fBattnviz lesson\\fR.\n"
    ".TP\n.I DIR/config.json, DIR/model.safetensors, DIR/vocab.json\n"
    "a model folder (the Hugging Face GPT\\-2 layout).\n"
    ".SH EXAMPLES\n"
    "One heatmap of layer 1, head 2:\n"
    ".PP\n.nf\n"
    "attnviz export \\-\\-text \"marie curie met alan turing . she gave him her camera .\" \\e\n"
    "    \\-\\-layer 1 \\-\\-head 2 \\-\\-out head.png\n"
    ".fi\n.PP\n"
    "One heatmap per example sentence, numbered, with an index:\n"
    ".PP\n.nf\n"
    "attnviz export \\-\\-texts assets/texts/examples.txt \\-\\-labels \\-\\-layer 1 \\-\\-head 2 \\e\n"
    "    \\-\\-out 'slides/{n}\\-L{layer}H{head}.png'\n"
    ".fi\n.PP\n"
    "How a text is tokenized, as JSON:\n"
    ".PP\n.nf\n"
    "echo \"Marie Curie said\" | attnviz tokenize \\-\\-text \\- \\-\\-json\n"
    ".fi\n.PP\n"
    "The next-token top 5 of a paragraph kept in a file:\n"
    ".PP\n.nf\n"
    "attnviz predict \\-\\-text\\-file notes.txt \\-\\-top 5\n"
    ".fi\n"
    ".SH \"SEE ALSO\"\n"
    "README.md and model/FORMAT.md in the source tree.\n";

/* Writes the page to f; AVZ_ERR_INTERNAL naming a command that gave no table. */
static AvzCode man_write(FILE *f, char *err) {
    int n;
    const CommandEntry *t = commands_table(&n);
    ManCommand *m = avz_xcalloc((size_t)n, sizeof *m);
    AvzCode rc = AVZ_OK;
    for (int i = 0; i < n; i++) {
        describe(&t[i], &m[i]);
        if (!m[i].described && !rc)
            rc = avz_fail(err, AVZ_ERR_INTERNAL, "attnviz help --man: `%s` gave no option "
                          "table (it must parse with cli_begin first)", t[i].name);
    }
    if (!rc) {
        fputs(MAN_HEAD, f);
        for (int i = 0; i < n; i++) roff_command(f, &t[i], &m[i]);
        fputs(MAN_TAIL, f);
    }
    for (int i = 0; i < n; i++) man_command_free(&m[i]);
    free(m);
    return rc;
}

int cmd_help(int argc, char **argv) {
    int man = 0;
    CliOpt opts[] = {{"--man", OPT_FLAG, &man, NULL, "print the manual page attnviz(1) in roff, "
                      "made from the same option tables as each command's --help", 0}};
    CliCommand cmd = {"help", "[COMMAND] [--man]",
                      "Prints the list of commands, a command's options (help COMMAND, the same "
                      "as COMMAND --help),\nor the manual page (make man writes it to "
                      "build/attnviz.1; man -l build/attnviz.1 shows it).",
                      opts, sizeof opts / sizeof opts[0]};
    const char *topic = argc > 2 && argv[2][0] != '-' ? argv[2] : NULL;
    AvzErr err;
    int rc = cli_parse(&cmd, argc, argv, topic ? 3 : 2, err);
    if (rc < 0) return 0;
    if (rc) return cmd_error(2, err);
    if (man && topic) return cmd_error(2, "attnviz help: --man prints the whole page; give no "
                                       "command with it");
    if (man) return (rc = man_write(stdout, err)) ? cmd_error(rc, err) : 0;
    if (!topic) {
        commands_print_help(stdout);
        return 0;
    }
    const CommandEntry *c = commands_find(topic);
    if (!c) {
        snprintf(err, sizeof err, "attnviz help: unknown command '%s' (see attnviz --help)",
                 topic);
        return cmd_error(2, err);
    }
    char *hv[] = {argv[0], (char *)c->name, "--help", NULL};
    return c->fn(3, hv);
}
