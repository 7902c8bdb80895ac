/* lesson.h: guided tours for the classroom (`attnviz lesson`), no SDL here.
 *
 * A lesson is a text file in the app's script language (script.h) cut into
 * steps. Each step starts with `step "TITLE"`, sets up what the students should
 * see (model, text, view, head, ablations...) and has one `caption "TEXT"` that
 * says what to look at and what it means. The teacher moves with the arrow keys
 * or a clicker (Page Up / Page Down); entering a step runs its commands, so a
 * step should set everything it relies on (its model, text and view) and the
 * tour works the same forwards, backwards or from any step.
 *
 *   step "One head, one job"
 *   model rope
 *   text "w1 w2 w3 . w1 w2 w3"
 *   view head
 *   select 1 3
 *   caption "Each row is a token looking back. This head looks at ..."
 *
 * Only commands that set state belong in a lesson; the ones that drive the
 * mouse, wait, take screenshots or quit are refused with the line named. */
#ifndef AVZ_LESSON_H
#define AVZ_LESSON_H

#include "gui/script.h"

#define LESSON_MAX_STEPS 200

typedef struct {
    Script script;              /* every command of the file */
    int n_steps;
    int *start;                 /* (n_steps + 1): index of each step's `step` command; the last = script.n */
    int *caption;               /* (n_steps): index of each step's caption command */
    char name[256];             /* the file name used in messages */
} Lesson;

/* Parses a lesson's source; errors say "NAME:LINE: what is wrong" (a syntax
 * error, a command before the first step, a command lessons cannot use, a step
 * without a caption or with two, no step at all). On error l is empty. */
AvzCode lesson_parse(const char *src, const char *name, Lesson *l, char *err);

/* Reads and parses a file. */
AvzCode lesson_load(const char *path, Lesson *l, char *err);

/* "intro" -> the path of assets/lessons/intro.txt when it exists; anything with
 * a '/' or ending in .txt is a path and is copied as it is. */
void lesson_resolve(const char *name_or_path, char *out, size_t len);

/* The title and caption of step k (0-based), static strings of l. */
const char *lesson_title(const Lesson *l, int k);
const char *lesson_caption(const Lesson *l, int k);

/* 1 if command op may appear in a lesson. */
int lesson_allows(ScriptOp op);

void lesson_free(Lesson *l);

#endif
