/* gui.c: `attnviz gui` and `attnviz lesson`, the desktop app's options; the app
 * itself is app/gui/ (app_main). */
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/text_input.h"
#include "gui/app.h"

/* After gui's options in its help and the manual page: the script language. */
static void gui_epilog(FILE *f) {
    fprintf(f, "\nscript commands (one per line, # comments):\n");
    script_print_help(f);
}

int cmd_gui(int argc, char **argv) {
    GuiArgs g = {0};
    g.width = 1280;
    g.height = 800;
    const char *text = NULL, *text_file = NULL;
    CliOpt opts[] = {
        {"--model", OPT_STR, &g.model, "DIR", "model folder or shipped model name (default rope)", 0},
        {"--text", OPT_STR, &text, "TEXT", "the text to start with (default: an example; '-': "
         "read it from stdin)", 0},
        {"--text-file", OPT_STR, &text_file, "FILE", "start with the text of FILE ('-': stdin); "
         "UTF-8, trailing newlines dropped", 0},
        {"--script", OPT_STR, &g.script, "FILE", "run a script of app commands (see below)", 0},
        {"--lesson", OPT_STR, &g.lesson, "NAME|FILE", "start a lesson (assets/lessons/NAME.txt)", 0},
        {"--device", OPT_STR, &g.device, "auto|cpu|cuda", "where to compute (default auto)", 0},
        {"--scale", OPT_FLOAT, &g.scale, "X", "interface scale, e.g. 1.5 for a projector", 0},
        {"--width", OPT_INT, &g.width, "W", "window width (default 1280)", 0},
        {"--height", OPT_INT, &g.height, "H", "window height (default 800)", 0}};
    CliCommand cmd = {"gui", "[--model DIR] [--text TEXT | --text-file FILE] [--script FILE] "
                      "[--device D]",
                      "Opens the desktop app: every head's attention map of a real forward pass, "
                      "lines, ablation,\naggregates. Press ? in the app for the keys. The command name may "
                      "be left out when the first\nargument is one of these options: attnviz "
                      "--model DIR is attnviz gui --model DIR.", opts,
                      sizeof opts / sizeof opts[0]};
    AvzErr err;
    int rc = cli_parse(&cmd, argc, argv, 2, err);
    if (rc < 0) {
        cli_print_epilog(gui_epilog);
        return 0;
    }
    if (rc) return cmd_error(2, err);
    if (g.width < 320 || g.width > 8192 || g.height < 240 || g.height > 8192)
        return cmd_error(2, "attnviz gui: --width and --height must be 320..8192 and 240..8192");
    char *owned;
    if ((rc = text_input_get("gui", text, text_file, &owned, err))) return cmd_error(rc, err);
    g.text = owned;
    rc = app_main(&g);
    free(owned);
    return rc;
}

/* `attnviz lesson [NAME|FILE] [gui options]`: the app with a lesson started. */
int cmd_lesson(int argc, char **argv) {
    CliCommand cmd = {"lesson", "[NAME|FILE] [gui options]",
                      "Opens the app on a guided tour: NAME is a lesson in assets/lessons/ "
                      "(default intro), FILE any\nlesson file (script commands in steps, see "
                      "app/gui/lesson.h). Page Down / Right: next step;\nPage Up / Left: "
                      "previous; Esc leaves the lesson. The gui options (attnviz gui --help) "
                      "apply too.", NULL, 0};
    if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0))
        return cli_begin(&cmd, 3, argv);   /* the help (or, in describe mode, the table) */
    int named = argc >= 3 && argv[2][0] != '-';
    char **gv = avz_xmalloc(sizeof(char *) * (size_t)(argc + 4));
    int n = 0;
    gv[n++] = argv[0];
    gv[n++] = "gui";
    gv[n++] = "--lesson";
    gv[n++] = named ? argv[2] : "intro";
    for (int i = named ? 3 : 2; i < argc; i++) gv[n++] = argv[i];
    gv[n] = NULL;
    int rc = cmd_gui(n, gv);
    free(gv);
    return rc;
}
