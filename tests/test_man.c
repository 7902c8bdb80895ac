/* test_man.c: the manual page (`attnviz help --man`, app/cli/man.c) against --help:
 * the same commands, and for each command the same options, parsed from both. Both
 * come from one option table per command, so this cannot fail unless the page stops
 * being generated from the tables: the test proves it. Also the page's roff
 * structure, and that groff renders it without a warning. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cli_run.h"

#define MAX_NAMES 64

typedef struct {
    char names[MAX_NAMES][48];
    int n;
} NameSet;

static void set_add(NameSet *s, const char *name, size_t len) {
    cr_assert(s->n < MAX_NAMES && len < sizeof s->names[0]);
    memcpy(s->names[s->n], name, len);
    s->names[s->n++][len] = '\0';
}

static int set_has(const NameSet *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name)) return 1;
    return 0;
}

/* Every name of a must be in b and back: the message lists the first difference. */
static void assert_same(const NameSet *a, const NameSet *b, const char *what, const char *cmd) {
    for (int i = 0; i < a->n; i++)
        cr_assert(set_has(b, a->names[i]), "%s %s: '%s' is in --help but not in the man page",
                  cmd, what, a->names[i]);
    for (int i = 0; i < b->n; i++)
        cr_assert(set_has(a, b->names[i]), "%s %s: '%s' is in the man page but not in --help",
                  cmd, what, b->names[i]);
}

/* The commands of `attnviz --help`: the "  name  summary" lines after "commands:". */
static void help_commands(const char *help, NameSet *out) {
    const char *p = strstr(help, "commands:\n");
    cr_assert(p, "%s", help);
    for (p = strchr(p, '\n') + 1; p[0] == ' ' && p[1] == ' '; p = strchr(p, '\n') + 1) {
        const char *name = p + 2;
        set_add(out, name, strcspn(name, " \n"));
    }
}

/* The options of `attnviz CMD --help`: the lines "  --name ...". */
static void help_options(const char *help, NameSet *out) {
    for (const char *p = help; (p = strstr(p, "\n  --")); p++) {
        const char *name = p + 3;
        set_add(out, name, strcspn(name, " \n"));
    }
}

/* The page's roff with \- turned back into -. */
static void unescape(char *s) {
    char *o = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] == '-') continue;
        *o++ = *p;
    }
    *o = '\0';
}

/* The options of subsection ".SS cmd": the first argument of each .B / .BI after a .TP. */
static void man_options(const char *man, const char *cmd, NameSet *out) {
    char head[64];
    snprintf(head, sizeof head, "\n.SS %s\n", cmd);
    const char *p = strstr(man, head), *end;
    cr_assert(p, "the man page has no subsection for %s", cmd);
    p += strlen(head);
    end = strstr(p, "\n.SS ");
    if (!end) end = strstr(p, "\n.SH ");
    for (; (p = strstr(p, "\n.TP\n")) && p < end; p++) {
        const char *m = p + 5;
        if (strncmp(m, ".BI ", 4) && strncmp(m, ".B ", 3)) continue;
        m = strchr(m, ' ') + 1;
        if (*m == '"') m++;
        set_add(out, m, strcspn(m, "\" \n"));
    }
}

Test(cli_man, the_man_page_lists_every_option_of_every_help) {
    static char man[1 << 18], help[1 << 18];
    cr_assert_eq(cli_run("help --man"), 0, "%s", cli_err);
    snprintf(man, sizeof man, "%s", cli_out);
    unescape(man);
    cr_assert_eq(cli_run("--help"), 0);
    NameSet cmds = {0}, man_cmds = {0};
    help_commands(cli_out, &cmds);
    cr_assert(cmds.n >= 14 && set_has(&cmds, "tokenize") && set_has(&cmds, "train"), "%d", cmds.n);
    for (const char *p = man; (p = strstr(p, "\n.SS ")); p++) {
        const char *name = p + 5;
        set_add(&man_cmds, name, strcspn(name, "\n"));
    }
    assert_same(&cmds, &man_cmds, "commands", "attnviz");
    int total = 0;
    for (int i = 0; i < cmds.n; i++) {
        cr_assert_eq(cli_run("%s --help", cmds.names[i]), 0, "%s --help", cmds.names[i]);
        snprintf(help, sizeof help, "%s", cli_out);
        NameSet h = {0}, m = {0};
        help_options(help, &h);
        man_options(man, cmds.names[i], &m);
        cr_assert(h.n >= 1 && set_has(&h, "--help"), "%s --help lists no options", cmds.names[i]);
        assert_same(&h, &m, "options", cmds.names[i]);
        total += h.n;
        /* help COMMAND is COMMAND --help */
        cr_assert_eq(cli_run("help %s", cmds.names[i]), 0);
        cr_assert_str_eq(cli_out, help);
    }
    cr_assert(total > 100, "only %d options in all", total);
    /* gui's help goes on with the script commands, and so does its subsection */
    cr_assert_eq(cli_run("gui --help"), 0);
    cr_assert(strstr(cli_out, "script commands") && strstr(cli_out, "screenshot"), "%s", cli_out);
    cr_assert(strstr(man, "script commands") && strstr(man, "screenshot"));
}

Test(cli_man, the_page_is_well_formed_roff_and_renders) {
    cr_assert_eq(cli_run("help --man"), 0, "%s", cli_err);
    static char man[1 << 18];
    snprintf(man, sizeof man, "%s", cli_out);
    cr_assert(!strncmp(man, ".TH ATTNVIZ 1 ", 14), "%.40s", man);
    const char *sections[] = {"\n.SH NAME\n", "\n.SH SYNOPSIS\n", "\n.SH DESCRIPTION\n",
                              "\n.SH COMMANDS\n", "\n.SH \"EXIT STATUS\"\n", "\n.SH FILES\n",
                              "\n.SH EXAMPLES\n"};
    const char *last = man;
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        const char *s = strstr(man, sections[i]);
        cr_assert(s && s > last, "section %s missing or out of order", sections[i] + 1);
        last = s;
    }
    /* every line that starts with a control character is a macro we use: text that
     * begins with '.' or '\'' must have been escaped */
    const char *macros[] = {".TH ", ".SH ", ".SS ", ".PP", ".TP", ".B ", ".BI ", ".I ", ".br",
                            ".nf", ".fi", "\\&"};
    for (const char *line = man; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : "") {
        if (line[0] != '.' && line[0] != '\'') continue;
        int ok = 0;
        for (size_t k = 0; k < sizeof macros / sizeof macros[0]; k++)
            ok |= !strncmp(line, macros[k], strlen(macros[k]));
        cr_assert(ok, "unknown roff request: %.60s", line);
    }
    cr_assert(!strstr(man, "\n--"), "an unescaped option at a line start");
    /* groff (man's formatter), where installed: no warnings with every warning on */
    if (system("command -v groff >/dev/null 2>&1") != 0) {
        cr_log_warn("groff not installed: the page's rendering is not checked");
        return;
    }
    char page[64], cmd[256];
    snprintf(page, sizeof page, "/tmp/avz-man.%d.1", getpid());
    cli_write_file(page, man, strlen(man));
    snprintf(cmd, sizeof cmd, "groff -man -Tascii -ww -z %s 2>&1", page);
    FILE *p = popen(cmd, "r");
    char warn[1024] = "";
    size_t n = fread(warn, 1, sizeof warn - 1, p);
    warn[n] = '\0';
    int st = pclose(p);
    unlink(page);
    cr_assert(st == 0 && n == 0, "groff: %s", warn);
}

Test(cli_man, help_errors) {
    cr_assert_eq(cli_run("help frobnicate"), 2);
    cr_assert(strstr(cli_err, "unknown command 'frobnicate'"), "%s", cli_err);
    cr_assert_eq(cli_run("help export --man"), 2);
    cr_assert_eq(cli_run("help"), 0);
    cr_assert(strstr(cli_out, "commands:") && strstr(cli_out, "tokenize"), "%s", cli_out);
}
