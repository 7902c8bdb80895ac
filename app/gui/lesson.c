/* lesson.c: a lesson file = script commands grouped into steps (see lesson.h). */
#include "gui/lesson.h"

#include <stdlib.h>
#include <string.h>

#include "assets.h"

int lesson_allows(ScriptOp op) {
    switch (op) {
    case SCRIPT_STEP: case SCRIPT_CAPTION: case SCRIPT_TEXT: case SCRIPT_MODEL: case SCRIPT_VIEW:
    case SCRIPT_SELECT: case SCRIPT_ABLATE: case SCRIPT_PIN: case SCRIPT_COLORMAP:
    case SCRIPT_RANGE: case SCRIPT_SWEEP_START: case SCRIPT_SHUFFLE: case SCRIPT_FLASH_STEP:
    case SCRIPT_EXTEND: case SCRIPT_NEXT_MODEL: case SCRIPT_KEY:
        return 1;
    default:
        return 0;
    }
}

static AvzCode lesson_fail(Lesson *l, char *err, int line, const char *fmt, const char *arg) {
    char what[AVZ_ERR_LEN];
    snprintf(what, sizeof what, fmt, arg);
    avz_fail(err, AVZ_ERR_INPUT, "%s:%d: %s", l->name, line, what);
    lesson_free(l);
    return AVZ_ERR_INPUT;
}

/* Cuts the parsed commands into steps and checks the lesson's own rules. */
static AvzCode lesson_split(Lesson *l, char *err) {
    const Script *s = &l->script;
    int n = 0;
    for (int i = 0; i < s->n; i++) n += s->cmds[i].op == SCRIPT_STEP;
    if (n > LESSON_MAX_STEPS)
        return lesson_fail(l, err, s->cmds[s->n - 1].line, "more than %s steps", "200");
    l->start = avz_xmalloc(sizeof(int) * (size_t)(n + 1));
    l->caption = avz_xmalloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    for (int i = 0; i < s->n; i++) {
        const ScriptCmd *c = &s->cmds[i];
        if (!lesson_allows(c->op))
            return lesson_fail(l, err, c->line, "'%s' cannot be used in a lesson (a step sets the "
                               "model, text, view, head, ablations and a caption)",
                               script_op_name(c->op));
        if (c->op == SCRIPT_STEP) {
            if (l->n_steps > 0 && l->caption[l->n_steps - 1] < 0)
                return lesson_fail(l, err, s->cmds[l->start[l->n_steps - 1]].line,
                                   "step \"%.200s\" has no caption", s->cmds[l->start[l->n_steps - 1]].str);
            l->start[l->n_steps] = i;
            l->caption[l->n_steps++] = -1;
        } else if (l->n_steps == 0) {
            return lesson_fail(l, err, c->line, "'%s' comes before the first step (a lesson "
                               "starts with step \"TITLE\")", script_op_name(c->op));
        } else if (c->op == SCRIPT_CAPTION) {
            if (l->caption[l->n_steps - 1] >= 0)
                return lesson_fail(l, err, c->line, "a second caption in step \"%.200s\" (one "
                                   "per step)", s->cmds[l->start[l->n_steps - 1]].str);
            l->caption[l->n_steps - 1] = i;
        }
    }
    if (l->n_steps == 0)
        return lesson_fail(l, err, s->n ? s->cmds[s->n - 1].line : 1,
                           "no step in this lesson (start one with step \"TITLE\")%s", "");
    if (l->caption[l->n_steps - 1] < 0)
        return lesson_fail(l, err, s->cmds[l->start[l->n_steps - 1]].line,
                           "step \"%.200s\" has no caption", s->cmds[l->start[l->n_steps - 1]].str);
    l->start[l->n_steps] = s->n;
    return AVZ_OK;
}

AvzCode lesson_parse(const char *src, const char *name, Lesson *l, char *err) {
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", name ? name : "lesson");
    if (script_parse(src, l->name, &l->script, err)) return AVZ_ERR_INPUT;
    return lesson_split(l, err);
}

AvzCode lesson_load(const char *path, Lesson *l, char *err) {
    size_t len;
    memset(l, 0, sizeof *l);
    char *src = avz_read_file(path, &len, err);
    if (!src) return AVZ_ERR_INPUT;
    if (strlen(src) != len) {
        free(src);
        return avz_fail(err, AVZ_ERR_INPUT, "%s: not a text file (it holds NUL bytes)", path);
    }
    AvzCode rc = lesson_parse(src, path, l, err);
    free(src);
    return rc;
}

void lesson_resolve(const char *s, char *out, size_t len) {
    size_t n = strlen(s);
    if (strchr(s, '/') || (n > 4 && strcmp(s + n - 4, ".txt") == 0)) {
        snprintf(out, len, "%s", s);
        return;
    }
    char rel[512];
    snprintf(rel, sizeof rel, "assets/lessons/%.400s.txt", s);
    assets_find(rel, out, len);
}

const char *lesson_title(const Lesson *l, int k) {
    return k >= 0 && k < l->n_steps ? l->script.cmds[l->start[k]].str : "";
}

const char *lesson_caption(const Lesson *l, int k) {
    return k >= 0 && k < l->n_steps ? l->script.cmds[l->caption[k]].str : "";
}

void lesson_free(Lesson *l) {
    script_free(&l->script);
    free(l->start);
    free(l->caption);
    memset(l, 0, sizeof *l);
}
