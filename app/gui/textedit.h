/* textedit.h: the editable text of the app's text field, as plain data (no SDL).
 *
 * A UTF-8 string with a cursor and a selection anchor, both byte offsets on
 * character boundaries; the selection is the range between them. The GUI maps
 * keys and clicks onto these operations; the tests call them directly. */
#ifndef AVZ_TEXTEDIT_H
#define AVZ_TEXTEDIT_H

#include <stddef.h>

#define TEXTEDIT_MAX 8192   /* bytes of text, not counting the terminator */

typedef struct {
    char s[TEXTEDIT_MAX + 1]; /* the text, NUL-terminated */
    int len;                  /* strlen(s) */
    int cursor;               /* byte offset of the caret, 0..len */
    int anchor;               /* the other end of the selection (== cursor: none) */
} TextEdit;

typedef enum {
    TE_LEFT, TE_RIGHT,              /* one character */
    TE_WORD_LEFT, TE_WORD_RIGHT,    /* to the start of the previous / next word */
    TE_HOME, TE_END                 /* to the start / end of the text */
} TextMove;

/* Replaces the whole text by s (cut at TEXTEDIT_MAX bytes, on a character
 * boundary); the caret goes to the end, nothing selected. */
void textedit_set(TextEdit *t, const char *s);

/* Inserts s (UTF-8; control characters other than tab become spaces) at the
 * caret, replacing the selection. Returns 0, or -1 when it would not fit (then
 * nothing changes). */
int textedit_insert(TextEdit *t, const char *s);

/* Backspace (dir < 0) or Delete (dir > 0): removes the selection, or one
 * character before / after the caret. Returns 1 if the text changed. */
int textedit_delete(TextEdit *t, int dir);

/* Moves the caret; with select the anchor stays (the selection grows), without
 * it the selection is dropped (a left/right move with a selection goes to its
 * edge, as text fields do). */
void textedit_move(TextEdit *t, TextMove m, int select);

/* Puts the caret at byte offset pos (clamped, snapped to a character start);
 * select as for textedit_move. */
void textedit_set_cursor(TextEdit *t, int pos, int select);

void textedit_select_all(TextEdit *t);

/* The selection as [*a, *b) byte offsets, a <= b (a == b: none). */
void textedit_selection(const TextEdit *t, int *a, int *b);

/* A new NUL-terminated copy of the selection (caller frees), or NULL when
 * nothing is selected. */
char *textedit_copy(const TextEdit *t);

#endif
