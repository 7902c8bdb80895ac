/* cli.c: the option parser behind every attnviz subcommand (see cli.h). */
#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static CliOpt *find_opt(CliCommand *cmd, const char *name) {
    for (int i = 0; i < cmd->n_opts; i++)
        if (strcmp(cmd->opts[i].name, name) == 0) return &cmd->opts[i];
    return NULL;
}

static AvzCode set_value(CliCommand *cmd, CliOpt *o, const char *v, char *err) {
    char *end = NULL;
    errno = 0;
    if (o->type == OPT_STR) {
        *(const char **)o->target = v;
    } else if (o->type == OPT_INT) {
        long x = strtol(v, &end, 10);
        if (errno || end == v || *end || x < -2147483647L || x > 2147483647L)
            return avz_fail(err, AVZ_ERR_INPUT, "attnviz %s: %s needs an integer (got '%s')",
                            cmd->name, o->name, v);
        *(int *)o->target = (int)x;
    } else if (o->type == OPT_FLOAT) {
        float x = strtof(v, &end);
        if (errno || end == v || *end || !isfinite(x))
            return avz_fail(err, AVZ_ERR_INPUT, "attnviz %s: %s needs a number (got '%s')",
                            cmd->name, o->name, v);
        *(float *)o->target = x;
    }
    return AVZ_OK;
}

/* Describe mode's sink (cli_describe): the one piece of state of the parser. */
static const CliSink *describe_sink;

void cli_describe(const CliSink *sink) { describe_sink = sink; }

void cli_print_epilog(void (*print)(FILE *f)) {
    if (!describe_sink) print(stdout);
    else if (describe_sink->epilog) describe_sink->epilog(print, describe_sink->ctx);
}

int cli_parse(CliCommand *cmd, int argc, char **argv, int first, char *err) {
    if (describe_sink) {
        describe_sink->table(cmd, describe_sink->ctx);
        return -1;
    }
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_print_help(cmd, stdout);
            return -1;
        }
        /* accept --opt=value as well as --opt value */
        char name[64];
        const char *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        if (n >= sizeof name) n = sizeof name - 1;
        memcpy(name, a, n);
        name[n] = '\0';
        CliOpt *o = find_opt(cmd, name);
        if (!o)
            return avz_fail(err, AVZ_ERR_INPUT, "attnviz %s: unknown %s '%s' (see attnviz %s "
                            "--help)", cmd->name, a[0] == '-' ? "option" : "argument", a,
                            cmd->name);
        o->seen = 1;
        if (o->type == OPT_FLAG) {
            if (eq) return avz_fail(err, AVZ_ERR_INPUT, "attnviz %s: %s takes no value",
                                    cmd->name, o->name);
            *(int *)o->target = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v)
            return avz_fail(err, AVZ_ERR_INPUT, "attnviz %s: %s needs a value (%s)", cmd->name,
                            o->name, o->metavar ? o->metavar : "value");
        AvzCode rc = set_value(cmd, o, v, err);
        if (rc) return rc;
    }
    return AVZ_OK;
}

void cli_print_help(const CliCommand *cmd, FILE *f) {
    fprintf(f, "usage: attnviz %s %s\n\n%s\n\noptions:\n", cmd->name, cmd->usage, cmd->summary);
    for (int i = 0; i < cmd->n_opts; i++) {
        const CliOpt *o = &cmd->opts[i];
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(f, "  %-22s %s\n", left, o->help);
    }
    fprintf(f, "  %-22s %s\n", "--help", "show this help");
}

int cli_seen(const CliCommand *cmd, const char *name) {
    for (int i = 0; i < cmd->n_opts; i++)
        if (strcmp(cmd->opts[i].name, name) == 0) return cmd->opts[i].seen;
    return 0;
}

int cli_begin(CliCommand *cmd, int argc, char **argv) {
    AvzErr err;
    int rc = cli_parse(cmd, argc, argv, 2, err);
    if (rc < 0) return 0;
    if (rc) return cmd_error(2, err);
    return -1;
}

int cmd_error(int code, const char *err) {
    fprintf(stderr, "attnviz: %s\n", err);
    return code;
}
