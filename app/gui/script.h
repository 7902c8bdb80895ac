/* script.h: the app's small command language (no SDL here).
 *
 * `attnviz gui --script FILE` runs a file of these commands through the same code
 * paths as mouse and keyboard input; the scripted GUI tests use it, and lessons
 * (a sequence of steps with captions) reuse it. One command per line; blank lines
 * and lines starting with '#' are ignored:
 *
 *   text "marie curie met alan turing ."   set the text (quoted; \" \\ \n escapes)
 *   model DIR|name      load a model folder, or a shipped model by name (rope, ...)
 *   view NAME           model, head, lines, ablation, aggregate, ...
 *   select L H          select layer L, head H
 *   ablate L H          toggle the ablation of head (L, H)
 *   hover ROW COL       move the mouse over a cell of the view's main map
 *   pin ROW             click a row's token label (pin its row; again to unpin)
 *   colormap NAME       viridis, cividis or magma
 *   range per|shared    one value scale per map or one shared by all maps
 *   scale X             interface scale (1 = normal, 2 = presentation)
 *   sweep               run the ablation sweep and wait for it
 *   sweep_start         start the sweep and go on without waiting (key escape cancels it)
 *   wait [N]            draw N frames (default 1)
 *   screenshot FILE     save the window's pixels as a PNG
 *   export FILE         labelled heatmap PNG of the selected head
 *   resize W H          resize the window (logical pixels)
 *   key NAME            press a key: tab, left, a, ctrl+s, f11, ctrl+plus, question, ...
 *   click X Y           click at (X, Y) in logical pixels
 *   type "TEXT"         type into the text field (as keystrokes; Enter focuses it)
 *   paste FILE          put the file's bytes on the clipboard and press Ctrl+V in the
 *                       text field (as a user pasting; Enter focuses it)
 *   wheel N             turn the mouse wheel N steps where the mouse is (+ zooms in)
 *   drag DX DY          drag the mouse by (DX, DY) logical pixels from where it is
 *   assert_status "s"   stop with an error unless the status bar contains s
 *   print_layout        print the view's map rectangles as one JSON line on stdout
 *   quit                close the app (exit 0)
 *
 * Teaching views and lessons (issue 6):
 *   step "TITLE"        a lesson file: the next commands form one step of the tour
 *   caption "TEXT"      the text shown under the view (a lesson step's explanation)
 *   shuffle SEED        permutation view: shuffle the tokens with this seed
 *   flash_step N        flash view: show the algorithm after tile N (-1: before the first)
 *   extend N            repeat the text until it is N tokens long (past the training context)
 *   lesson FILE|NAME    start a lesson (a file, or NAME in assets/lessons/NAME.txt)
 *   next_model          switch to the next shipped model, keeping the text (key n)
 *
 * The Train view (issue 16):
 *   train_start NAME N  start a run of a preset (induction-2min, shipped, tiny) for N
 *                       steps (0: the preset's own); a run going is replaced
 *   train_pause, train_resume, train_stop   (each waits until the run has done it)
 *   train_wait N        wait until the run has taken N steps (or ended)
 *   train_scrub K       show the run as it was at measurement K (-1: the latest)
 *   train_save DIR      save the model as a folder and wait for it
 *
 * The parser checks the syntax (command names, argument count and types); the
 * app checks the meaning (a view name, a head that exists) when it runs a line.
 * Every message names the file and the line. */
#ifndef AVZ_SCRIPT_H
#define AVZ_SCRIPT_H

#include <stdio.h>

#include "common.h"

typedef enum {
    SCRIPT_TEXT = 0, SCRIPT_MODEL, SCRIPT_VIEW, SCRIPT_SELECT, SCRIPT_ABLATE, SCRIPT_HOVER,
    SCRIPT_PIN, SCRIPT_COLORMAP, SCRIPT_RANGE, SCRIPT_SCALE, SCRIPT_SWEEP, SCRIPT_WAIT,
    SCRIPT_SCREENSHOT, SCRIPT_EXPORT, SCRIPT_RESIZE, SCRIPT_KEY, SCRIPT_CLICK, SCRIPT_TYPE,
    SCRIPT_WHEEL, SCRIPT_DRAG, SCRIPT_ASSERT_STATUS, SCRIPT_PRINT_LAYOUT, SCRIPT_QUIT,
    SCRIPT_PASTE, SCRIPT_SWEEP_START, SCRIPT_STEP, SCRIPT_CAPTION, SCRIPT_SHUFFLE,
    SCRIPT_FLASH_STEP, SCRIPT_EXTEND, SCRIPT_LESSON, SCRIPT_NEXT_MODEL, SCRIPT_DROP,
    SCRIPT_TRAIN_START, SCRIPT_TRAIN_PAUSE, SCRIPT_TRAIN_RESUME, SCRIPT_TRAIN_STOP,
    SCRIPT_TRAIN_WAIT, SCRIPT_TRAIN_SCRUB, SCRIPT_TRAIN_SAVE,
    SCRIPT_OP_COUNT
} ScriptOp;

#define SCRIPT_MAX_INTS 2
#define SCRIPT_MAX_LINE 4096

/* One parsed line. */
typedef struct {
    ScriptOp op;
    int line;                   /* 1-based line number in the source */
    int iv[SCRIPT_MAX_INTS];    /* integer arguments, in order */
    float fv;                   /* the number argument (scale) */
    char *str;                  /* the string or word argument (owned), or NULL */
} ScriptCmd;

typedef struct {
    ScriptCmd *cmds;            /* (n) owned */
    int n, cap;
    char name[256];             /* the file name used in messages */
} Script;

/* The command's name as written in scripts ("text", "select", ...), a static
 * string; "?" for an out-of-range op. */
const char *script_op_name(ScriptOp op);

/* Parses one line (no newline; may be blank or a comment) into *out. Returns 1
 * when a command was parsed, 0 for a blank or comment line, -1 on a syntax error
 * with err = "NAME:LINE: what is wrong" (NAME from name, may be NULL = "script").
 * On 1 the caller owns out->str (free with script_cmd_free). */
int script_parse_line(const char *line, int lineno, const char *name, ScriptCmd *out,
                      char *err);
void script_cmd_free(ScriptCmd *c);

/* Parses a whole source text (any bytes; lines split on \n, \r\n tolerated).
 * Returns AVZ_OK with every command in s, or AVZ_ERR_INPUT with the first error
 * ("NAME:LINE: ...") in err and s empty. name appears in messages. */
AvzCode script_parse(const char *src, const char *name, Script *s, char *err);

/* Reads and parses a file; errors name the path (and line). */
AvzCode script_load(const char *path, Script *s, char *err);

void script_free(Script *s);

/* Prints the list of commands with their arguments, one per line, to f. */
void script_print_help(FILE *f);

#endif
