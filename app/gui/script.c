/* script.c: parser of the app's command language (see script.h).
 *
 * Every command is one row of SPECS: its name, its op and its argument kinds,
 * so a new command (a lesson caption, a view of issue 6) is one more row and a
 * case in the app's executor. Argument kinds:
 *   s  a string: "quoted" (with \" \\ \n escapes) or one bare word
 *   w  one bare word (a name, a path without spaces)
 *   i  a non-negative integer
 *   n  an integer (may be negative)
 *   f  a positive number
 *   ?  the rest of the arguments are optional (their ints default to 1)
 */
#include "gui/script.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

typedef struct {
    const char *name;
    ScriptOp op;
    const char *args;
    const char *help;
} ScriptSpec;

static const ScriptSpec SPECS[SCRIPT_OP_COUNT] = {
    {"text", SCRIPT_TEXT, "s", "\"TEXT\"      set the text"},
    {"model", SCRIPT_MODEL, "s", "DIR|NAME    load a model folder or a shipped model"},
    {"view", SCRIPT_VIEW, "w", "NAME        switch view"},
    {"select", SCRIPT_SELECT, "ii", "L H         select layer L, head H"},
    {"ablate", SCRIPT_ABLATE, "ii", "L H         toggle the ablation of head (L, H)"},
    {"hover", SCRIPT_HOVER, "ii", "ROW COL     hover a cell of the view's main map"},
    {"pin", SCRIPT_PIN, "i", "ROW         pin (or unpin) a query row"},
    {"colormap", SCRIPT_COLORMAP, "w", "NAME        viridis, cividis or magma"},
    {"range", SCRIPT_RANGE, "w", "per|shared  one value scale per map, or shared"},
    {"scale", SCRIPT_SCALE, "f", "X           interface scale (1 normal, 2 projector)"},
    {"sweep", SCRIPT_SWEEP, "", "            run the ablation sweep and wait for it"},
    {"wait", SCRIPT_WAIT, "?i", "[N]         draw N frames (default 1)"},
    {"screenshot", SCRIPT_SCREENSHOT, "s", "FILE        save the window as a PNG"},
    {"export", SCRIPT_EXPORT, "s", "FILE        labelled heatmap PNG of the selected head"},
    {"resize", SCRIPT_RESIZE, "ii", "W H         resize the window"},
    {"key", SCRIPT_KEY, "w", "NAME        press a key (tab, left, a, ctrl+s, question ...)"},
    {"click", SCRIPT_CLICK, "ii", "X Y         click at (X, Y), logical pixels"},
    {"type", SCRIPT_TYPE, "s", "\"TEXT\"      type into the text field (key enter focuses it)"},
    {"wheel", SCRIPT_WHEEL, "n", "N           turn the wheel N steps at the mouse (+: zoom in)"},
    {"drag", SCRIPT_DRAG, "nn", "DX DY       drag the mouse by (DX, DY) from where it is"},
    {"assert_status", SCRIPT_ASSERT_STATUS, "s", "\"TEXT\"      fail unless the status bar "
     "contains TEXT"},
    {"print_layout", SCRIPT_PRINT_LAYOUT, "", "            print the view's map rectangles "
     "(JSON)"},
    {"quit", SCRIPT_QUIT, "", "            close the app"},
    {"paste", SCRIPT_PASTE, "s", "FILE        clipboard = the file's bytes, then Ctrl+V in the "
     "text field"},
    {"sweep_start", SCRIPT_SWEEP_START, "", "            start the sweep without waiting for it "
     "(key escape cancels)"},
    {"step", SCRIPT_STEP, "s", "\"TITLE\"     lesson files: start a step of the tour"},
    {"caption", SCRIPT_CAPTION, "s", "\"TEXT\"      show a caption under the view"},
    {"shuffle", SCRIPT_SHUFFLE, "i", "SEED        permutation view: shuffle the tokens"},
    {"flash_step", SCRIPT_FLASH_STEP, "n", "N           flash view: the state after tile N "
     "(-1 before the first)"},
    {"extend", SCRIPT_EXTEND, "i", "N           repeat the text until it has N tokens"},
    {"lesson", SCRIPT_LESSON, "s", "FILE|NAME   start a lesson (assets/lessons/NAME.txt)"},
    {"next_model", SCRIPT_NEXT_MODEL, "", "            the next shipped model, same text "
     "(key n)"},
    {"drop", SCRIPT_DROP, "s", "PATH        as if PATH were dropped on the window (a model "
     "folder, or a file in one)"},
    {"train_start", SCRIPT_TRAIN_START, "wi", "NAME N      train view: start a run of a preset "
     "for N steps (0: its own)"},
    {"train_pause", SCRIPT_TRAIN_PAUSE, "", "            train view: pause the run"},
    {"train_resume", SCRIPT_TRAIN_RESUME, "", "            train view: resume the run"},
    {"train_stop", SCRIPT_TRAIN_STOP, "", "            train view: end the run (Save keeps it)"},
    {"train_wait", SCRIPT_TRAIN_WAIT, "i", "N           wait until the run took N steps or ended"},
    {"train_scrub", SCRIPT_TRAIN_SCRUB, "n", "K           show measurement K of the run (-1: latest)"},
    {"train_save", SCRIPT_TRAIN_SAVE, "s", "DIR         save the trained model and wait for it"},
};

const char *script_op_name(ScriptOp op) {
    return (int)op >= 0 && op < SCRIPT_OP_COUNT ? SPECS[op].name : "?";
}

static int fail(char *err, const char *name, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, const char *name, int line, const char *fmt, ...) {
    if (!err) return -1;
    int k = snprintf(err, AVZ_ERR_LEN, "%s:%d: ", name ? name : "script", line);
    if (k < 0 || k >= AVZ_ERR_LEN) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + k, AVZ_ERR_LEN - k, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *skip_space(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\r') p++;
    return p;
}

/* Reads one token at p: a quoted string (escapes decoded) or a bare word, into a
 * new string *out. Returns the position after it, or NULL with why set. */
static const char *read_token(const char *p, char **out, const char **why) {
    size_t cap = strlen(p) + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) { *why = "out of memory"; return NULL; }
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            char c = *p;
            if (c == '\\') {
                p++;
                c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
                if (*p != '"' && *p != '\\' && *p != 'n' && *p != 't') {
                    free(buf);
                    *why = *p ? "unknown escape in a string (use \\\" \\\\ \\n \\t)"
                              : "unterminated string";
                    return NULL;
                }
            }
            buf[n++] = c;
        }
        if (*p != '"') { free(buf); *why = "unterminated string (a closing \" is missing)"; return NULL; }
        p++;
        if (*p && *p != ' ' && *p != '\t' && *p != '\r') {
            free(buf);
            *why = "a space is needed after a closing quote";
            return NULL;
        }
    } else {
        while (*p && *p != ' ' && *p != '\t' && *p != '\r') buf[n++] = *p++;
    }
    buf[n] = '\0';
    *out = buf;
    return p;
}

static int parse_int(const char *tok, int *v, int signed_ok) {
    char *end;
    errno = 0;
    long x = strtol(tok, &end, 10);
    if (!*tok || *end || errno || x < (signed_ok ? -1000000 : 0) || x > 1000000) return -1;
    *v = (int)x;
    return 0;
}

static int parse_float(const char *tok, float *v) {
    char *end;
    errno = 0;
    float x = strtof(tok, &end);
    if (!*tok || *end || errno || !isfinite(x) || x <= 0.0f || x > 1e6f) return -1;
    *v = x;
    return 0;
}

static const ScriptSpec *find_spec(const char *word) {
    for (int i = 0; i < SCRIPT_OP_COUNT; i++)
        if (strcmp(SPECS[i].name, word) == 0) return &SPECS[i];
    return NULL;
}

/* Stores token tok as argument kind k of c (n_int: ints stored so far). */
static int store_arg(ScriptCmd *c, char k, char *tok, int *n_int, const char *name, int line,
                     const ScriptSpec *sp, char *err) {
    if (k == 'i' || k == 'n') {
        int v;
        int bad = parse_int(tok, &v, k == 'n');
        if (bad) fail(err, name, line, "%s: '%s' is not a whole number%s", sp->name, tok,
                      k == 'i' ? " >= 0" : "");
        free(tok);
        if (bad) return -1;
        c->iv[(*n_int)++] = v;
    } else if (k == 'f') {
        int bad = parse_float(tok, &c->fv);
        if (bad) fail(err, name, line, "%s: '%s' is not a positive number", sp->name, tok);
        free(tok);
        if (bad) return -1;
    } else {
        c->str = tok;
    }
    return 0;
}

/* Parses the arguments after the command word according to sp->args. */
static int parse_args(const char *p, const ScriptSpec *sp, ScriptCmd *c, const char *name,
                      int line, char *err) {
    int n_int = 0, optional = 0;
    for (int i = 0; i < SCRIPT_MAX_INTS; i++) c->iv[i] = 1;
    for (const char *k = sp->args; *k; k++) {
        if (*k == '?') { optional = 1; continue; }
        p = skip_space(p);
        if (!*p) {
            if (optional) return 0;
            return fail(err, name, line, "%s needs %s: %s %s", sp->name,
                        strlen(sp->args) > 1 ? "more arguments" : "an argument", sp->name,
                        sp->help);
        }
        if (*k != 's' && *p == '"')
            return fail(err, name, line, "%s: unexpected quoted string", sp->name);
        char *tok;
        const char *why = NULL;
        p = read_token(p, &tok, &why);
        if (!p) return fail(err, name, line, "%s: %s", sp->name, why);
        if (store_arg(c, *k, tok, &n_int, name, line, sp, err)) return -1;
    }
    p = skip_space(p);
    if (*p) return fail(err, name, line, "%s: unexpected '%.40s' (usage: %s %s)", sp->name, p,
                        sp->name, sp->help);
    return 0;
}

int script_parse_line(const char *line, int lineno, const char *name, ScriptCmd *out,
                      char *err) {
    memset(out, 0, sizeof *out);
    const char *p = skip_space(line);
    if (!*p || *p == '#') return 0;
    if (strlen(line) >= SCRIPT_MAX_LINE)
        return fail(err, name, lineno, "line longer than %d characters", SCRIPT_MAX_LINE - 1);
    char word[64];
    size_t n = 0;
    while (*p && *p != ' ' && *p != '\t' && *p != '\r' && n + 1 < sizeof word) word[n++] = *p++;
    word[n] = '\0';
    const ScriptSpec *sp = find_spec(word);
    if (!sp) return fail(err, name, lineno, "unknown command '%s' (attnviz gui --help lists "
                         "the commands)", word);
    out->op = sp->op;
    out->line = lineno;
    if (parse_args(p, sp, out, name, lineno, err)) {
        script_cmd_free(out);
        return -1;
    }
    return 1;
}

void script_cmd_free(ScriptCmd *c) {
    free(c->str);
    c->str = NULL;
}

static void push(Script *s, const ScriptCmd *c) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        ScriptCmd *nc = realloc(s->cmds, sizeof *nc * s->cap);
        AVZ_ASSERT(nc);
        s->cmds = nc;
    }
    s->cmds[s->n++] = *c;
}

AvzCode script_parse(const char *src, const char *name, Script *s, char *err) {
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name ? name : "script");
    char *line = malloc(SCRIPT_MAX_LINE + 1);
    AVZ_ASSERT(line);
    int lineno = 0;
    for (const char *p = src;;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        lineno++;
        if (len > SCRIPT_MAX_LINE) len = SCRIPT_MAX_LINE; /* reported as too long below */
        memcpy(line, p, len);
        line[len] = '\0';
        ScriptCmd c;
        int r = script_parse_line(line, lineno, s->name, &c, err);
        if (r < 0) goto bad;
        if (r > 0) push(s, &c);
        if (!e) break;
        p = e + 1;
    }
    free(line);
    return AVZ_OK;
bad:
    free(line);
    script_free(s);
    return AVZ_ERR_INPUT;
}

AvzCode script_load(const char *path, Script *s, char *err) {
    size_t len;
    char *src = avz_read_file(path, &len, err);
    if (!src) { memset(s, 0, sizeof *s); return AVZ_ERR_INPUT; }
    if (strlen(src) != len) {
        free(src);
        memset(s, 0, sizeof *s);
        return avz_fail(err, AVZ_ERR_INPUT, "%s: not a text file (it holds NUL bytes)", path);
    }
    AvzCode rc = script_parse(src, path, s, err);
    free(src);
    return rc;
}

void script_free(Script *s) {
    for (int i = 0; i < s->n; i++) script_cmd_free(&s->cmds[i]);
    free(s->cmds);
    s->cmds = NULL;
    s->n = s->cap = 0;
}

void script_print_help(FILE *f) {
    for (int i = 0; i < SCRIPT_OP_COUNT; i++)
        fprintf(f, "  %-14s %s\n", SPECS[i].name, SPECS[i].help);
}
