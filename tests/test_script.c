/* test_script.c: the app's command language (app/gui/script.c), lessons built from it
 * (app/gui/lesson.c) and its text field editing (app/gui/textedit.c), all without a display. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <string.h>

#include "gui/lesson.h"
#include "gui/script.h"
#include "gui/textedit.h"

static Script parse_ok(const char *src) {
    Script s;
    char err[AVZ_ERR_LEN] = "";
    cr_assert_eq(script_parse(src, "t.avz", &s, err), AVZ_OK, "%s", err);
    return s;
}

static void parse_bad(const char *src, const char *want) {
    Script s;
    char err[AVZ_ERR_LEN] = "";
    cr_assert_eq(script_parse(src, "t.avz", &s, err), AVZ_ERR_INPUT, "accepted: %s", src);
    cr_assert(strstr(err, want), "error for [%s] was [%s], wanted [%s]", src, err, want);
    cr_assert_eq(s.n, 0);
    cr_assert_null(s.cmds);
}

Test(script, every_command_parses) {
    Script s = parse_ok("# a comment\n\n"
                        "text \"marie curie met alan turing . she said \\\"hi\\\"\"\n"
                        "model rope\nview head\nselect 1 2\nablate 0 3\nhover 5 2\npin 4\n"
                        "colormap magma\nrange shared\nscale 1.5\nsweep\nwait\nwait 10\n"
                        "screenshot /tmp/a.png\nexport \"/tmp/my file.png\"\nresize 1024 700\n"
                        "key ctrl+s\nclick 10 20\nassert_status \"layer 1\"\nprint_layout\n"
                        "type \"she\"\nwheel -3\ndrag 10 -20\n"
                        "   quit   \r\n");
    ScriptOp want[] = {SCRIPT_TEXT, SCRIPT_MODEL, SCRIPT_VIEW, SCRIPT_SELECT, SCRIPT_ABLATE,
                       SCRIPT_HOVER, SCRIPT_PIN, SCRIPT_COLORMAP, SCRIPT_RANGE, SCRIPT_SCALE,
                       SCRIPT_SWEEP, SCRIPT_WAIT, SCRIPT_WAIT, SCRIPT_SCREENSHOT, SCRIPT_EXPORT,
                       SCRIPT_RESIZE, SCRIPT_KEY, SCRIPT_CLICK, SCRIPT_ASSERT_STATUS,
                       SCRIPT_PRINT_LAYOUT, SCRIPT_TYPE, SCRIPT_WHEEL, SCRIPT_DRAG, SCRIPT_QUIT};
    int n = sizeof want / sizeof want[0];
    cr_assert_eq(s.n, n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(s.cmds[i].op, want[i], "command %d is %s", i,
                     script_op_name(s.cmds[i].op));
    cr_assert_str_eq(s.cmds[0].str, "marie curie met alan turing . she said \"hi\"");
    cr_assert_eq(s.cmds[0].line, 3);
    cr_assert(s.cmds[3].iv[0] == 1 && s.cmds[3].iv[1] == 2);
    cr_assert_float_eq(s.cmds[9].fv, 1.5f, 1e-6);
    cr_assert_eq(s.cmds[11].iv[0], 1, "wait defaults to 1 frame");
    cr_assert_eq(s.cmds[12].iv[0], 10);
    cr_assert_str_eq(s.cmds[14].str, "/tmp/my file.png");
    cr_assert_str_eq(s.cmds[16].str, "ctrl+s");
    cr_assert_str_eq(s.cmds[n - 4].str, "she");
    cr_assert_eq(s.cmds[n - 3].iv[0], -3, "wheel takes negative steps");
    cr_assert(s.cmds[n - 2].iv[0] == 10 && s.cmds[n - 2].iv[1] == -20);
    cr_assert_eq(s.cmds[n - 1].line, 26);
    script_free(&s);
}

Test(script, op_names_match_the_table) {
    for (int op = 0; op < SCRIPT_OP_COUNT; op++) {
        char line[64];
        snprintf(line, sizeof line, "%s", script_op_name((ScriptOp)op));
        ScriptCmd c;
        char err[AVZ_ERR_LEN] = "";
        int r = script_parse_line(line, 1, NULL, &c, err);
        /* commands without arguments parse alone; the others complain by name */
        if (r == 1) cr_assert_eq(c.op, (ScriptOp)op);
        else cr_assert(strstr(err, line), "%s: %s", line, err);
        if (r == 1) script_cmd_free(&c);
    }
    cr_assert_str_eq(script_op_name(SCRIPT_OP_COUNT), "?");
}

Test(script, errors_name_the_line) {
    parse_bad("view head\nfrobnicate 3\n", "t.avz:2: unknown command 'frobnicate'");
    parse_bad("select 1\n", "t.avz:1: select needs more arguments");
    parse_bad("\n\nselect 1 x\n", "t.avz:3: select: 'x' is not a whole number");
    parse_bad("select 1 -2\n", "not a whole number >= 0");
    parse_bad("select 1 2 3\n", "t.avz:1: select: unexpected '3'");
    parse_bad("text \"unterminated\n", "t.avz:1: text: unterminated string");
    parse_bad("text \"bad \\q escape\"\n", "unknown escape");
    parse_bad("text \"a\"b\n", "space is needed");
    parse_bad("scale 0\n", "scale: '0' is not a positive number");
    parse_bad("scale nan\n", "not a positive number");
    parse_bad("quit now\n", "quit: unexpected 'now'");
    parse_bad("view \"head\"\n", "unexpected quoted string");
    parse_bad("wait 99999999999\n", "not a whole number");
    parse_bad("hover -1 2\n", "hover: '-1' is not a whole number >= 0");
    parse_bad("wheel 1.5\n", "wheel: '1.5' is not a whole number");
    parse_bad("text\n", "text needs an argument");
}

Test(script, odd_input_never_crashes) {
    const char *inputs[] = {"", "\n", "#", "\"", "text \"", "text \"\\", "\t\t\r\n", "k\xff\xfe",
                            "text \xc3\xa9t\xc3\xa9", "select 00 01"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        Script s;
        char err[AVZ_ERR_LEN] = "";
        AvzCode rc = script_parse(inputs[i], NULL, &s, err);
        cr_assert(rc == AVZ_OK || strstr(err, "script:"), "%s", err);
        script_free(&s);
    }
    char *big = malloc(SCRIPT_MAX_LINE + 100);
    memset(big, 'x', SCRIPT_MAX_LINE + 99);
    memcpy(big, "text ", 5);
    big[SCRIPT_MAX_LINE + 99] = '\0';
    parse_bad(big, "longer than");
    free(big);
}

Test(script, abuse_commands_parse) {
    Script s = parse_ok("paste big.txt\npaste \"/tmp/a b.txt\"\nsweep_start\nkey escape\n"
                        "resize 1 1\nresize 7680 4320\n");
    cr_assert_eq(s.n, 6);
    cr_assert(s.cmds[0].op == SCRIPT_PASTE && strcmp(s.cmds[0].str, "big.txt") == 0);
    cr_assert(s.cmds[1].op == SCRIPT_PASTE && strcmp(s.cmds[1].str, "/tmp/a b.txt") == 0);
    cr_assert_eq(s.cmds[2].op, SCRIPT_SWEEP_START);
    cr_assert_null(s.cmds[2].str);
    cr_assert(s.cmds[4].iv[0] == 1 && s.cmds[4].iv[1] == 1);
    cr_assert(s.cmds[5].iv[0] == 7680 && s.cmds[5].iv[1] == 4320);
    script_free(&s);
    parse_bad("paste\n", "t.avz:1: paste needs an argument");
    parse_bad("paste a b\n", "t.avz:1: paste: unexpected 'b'");
    parse_bad("sweep_start now\n", "t.avz:1: sweep_start: unexpected 'now'");
    parse_bad("resize 0 -1\n", "not a whole number >= 0");
}

Test(script, load_names_the_missing_file) {
    Script s;
    char err[AVZ_ERR_LEN] = "";
    cr_assert_eq(script_load("/nonexistent/x.avz", &s, err), AVZ_ERR_INPUT);
    cr_assert(strstr(err, "/nonexistent/x.avz"), "%s", err);
}

/* ---- text field editing ---- */

Test(textedit, insert_delete_and_selection) {
    TextEdit t;
    textedit_set(&t, "marie curie");
    cr_assert_eq(t.cursor, 11);
    cr_assert_eq(textedit_insert(&t, " met"), 0);
    cr_assert_str_eq(t.s, "marie curie met");
    textedit_move(&t, TE_WORD_LEFT, 0);
    cr_assert_eq(t.cursor, 12);
    textedit_move(&t, TE_WORD_LEFT, 1);
    cr_assert_eq(t.cursor, 6);
    char *sel = textedit_copy(&t);
    cr_assert_str_eq(sel, "curie ");
    free(sel);
    textedit_insert(&t, "c\x01");   /* control characters become spaces */
    cr_assert_str_eq(t.s, "marie c met");
    cr_assert_eq(textedit_delete(&t, -1), 1);
    cr_assert_eq(textedit_delete(&t, -1), 1);
    cr_assert_str_eq(t.s, "marie met");
    textedit_move(&t, TE_HOME, 0);
    cr_assert_eq(textedit_delete(&t, -1), 0);
    cr_assert_eq(textedit_delete(&t, 1), 1);
    cr_assert_str_eq(t.s, "arie met");
    textedit_select_all(&t);
    textedit_move(&t, TE_RIGHT, 0);
    cr_assert(t.cursor == t.len && t.anchor == t.len, "right collapses to the end");
    cr_assert_null(textedit_copy(&t));
    textedit_move(&t, TE_WORD_RIGHT, 0);
    cr_assert_eq(t.cursor, t.len);
}

Test(textedit, utf8_is_never_split) {
    TextEdit t;
    textedit_set(&t, "\xc3\xa9t\xc3\xa9");   /* "été": 5 bytes, 3 characters */
    textedit_move(&t, TE_LEFT, 0);
    cr_assert_eq(t.cursor, 3);
    textedit_delete(&t, -1);
    cr_assert_str_eq(t.s, "\xc3\xa9\xc3\xa9");
    textedit_set_cursor(&t, 1, 0);           /* inside a character: snaps to its start */
    cr_assert_eq(t.cursor, 0);
    textedit_delete(&t, 1);
    cr_assert_str_eq(t.s, "\xc3\xa9");
}

Test(textedit, full_buffer_refuses_and_set_cuts) {
    static char big[TEXTEDIT_MAX + 10];
    memset(big, 'a', sizeof big - 1);
    big[TEXTEDIT_MAX - 1] = '\xc3';          /* a 2-byte character across the limit */
    big[TEXTEDIT_MAX] = '\xa9';
    big[sizeof big - 1] = '\0';
    TextEdit t;
    textedit_set(&t, big);
    cr_assert_eq(t.len, TEXTEDIT_MAX - 1);
    cr_assert_eq(textedit_insert(&t, "xy"), -1);
    cr_assert_eq(t.len, TEXTEDIT_MAX - 1);
    cr_assert_eq(textedit_insert(&t, "x"), 0);
    cr_assert_eq(t.len, TEXTEDIT_MAX);
}

/* ---- lessons ---- */

static void lesson_bad(const char *src, const char *want) {
    Lesson l;
    char err[AVZ_ERR_LEN] = "";
    cr_assert_eq(lesson_parse(src, "l.txt", &l, err), AVZ_ERR_INPUT, "accepted: %s", src);
    cr_assert(strstr(err, want), "error \"%s\" does not say \"%s\"", err, want);
    cr_assert_eq(l.n_steps, 0);
}

Test(lesson, steps_titles_and_captions) {
    Lesson l;
    char err[AVZ_ERR_LEN] = "";
    cr_assert_eq(lesson_parse("# intro\nstep \"One\"\nmodel rope\nview head\ncaption \"look\"\n\n"
                              "step \"Two\"\ncaption \"then this\"\nview flash\nflash_step 3\n",
                              "l.txt", &l, err), AVZ_OK, "%s", err);
    cr_assert_eq(l.n_steps, 2);
    cr_assert_str_eq(lesson_title(&l, 0), "One");
    cr_assert_str_eq(lesson_caption(&l, 1), "then this");
    cr_assert_eq(l.start[1] - l.start[0], 4, "step one holds step, model, view, caption");
    cr_assert_eq(l.start[2], l.script.n);
    cr_assert_str_eq(lesson_title(&l, 5), "");
    lesson_free(&l);
}

Test(lesson, malformed_lessons_name_the_line) {
    lesson_bad("view head\nstep \"a\"\ncaption \"x\"\n", "l.txt:1: 'view' comes before the first step");
    lesson_bad("step \"a\"\nview head\nstep \"b\"\ncaption \"x\"\n", "l.txt:1: step \"a\" has no caption");
    lesson_bad("step \"a\"\ncaption \"x\"\ncaption \"y\"\n", "l.txt:3: a second caption");
    lesson_bad("step \"a\"\ncaption \"x\"\nquit\n", "l.txt:3: 'quit' cannot be used in a lesson");
    lesson_bad("step \"a\"\ncaption \"x\"\nselect 1\n", "l.txt:3: select needs more arguments");
    lesson_bad("# nothing\n\n", "no step in this lesson");
    lesson_bad("step \"a\"\ncaption \"unterminated\n", "l.txt:2:");
}

/* The shipped lesson covers the whole card: roles, the coreference head,
 * ablation, position encodings, the permutation demo, lengths and flash. */
Test(lesson, the_shipped_lesson_covers_the_card) {
    Lesson l;
    char err[AVZ_ERR_LEN] = "";
    cr_assert_eq(lesson_load("assets/lessons/intro.txt", &l, err), AVZ_OK, "%s", err);
    cr_assert(l.n_steps >= 10, "%d steps", l.n_steps);
    const char *views[] = {"model", "head", "ablation", "position", "permute", "compare",
                           "lengths", "flash"};
    for (size_t v = 0; v < sizeof views / sizeof views[0]; v++) {
        int found = 0;
        for (int i = 0; i < l.script.n; i++)
            found |= l.script.cmds[i].op == SCRIPT_VIEW && strcmp(l.script.cmds[i].str, views[v]) == 0;
        cr_assert(found, "no step shows the %s view", views[v]);
    }
    for (int k = 0; k < l.n_steps; k++)
        cr_assert(strlen(lesson_caption(&l, k)) > 80, "step %d's caption is too short", k + 1);
    lesson_free(&l);
}
