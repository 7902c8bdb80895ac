/* textedit.c: caret, selection and editing of the app's text (see textedit.h). */
#include "gui/textedit.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

/* The start of the character before / after byte offset i. */
static int prev_char(const TextEdit *t, int i) {
    if (i <= 0) return 0;
    i--;
    while (i > 0 && is_cont((unsigned char)t->s[i])) i--;
    return i;
}

static int next_char(const TextEdit *t, int i) {
    if (i >= t->len) return t->len;
    i++;
    while (i < t->len && is_cont((unsigned char)t->s[i])) i++;
    return i;
}

static int is_word(char c) { return isalnum((unsigned char)c) || ((unsigned char)c & 0x80); }

static int word_left(const TextEdit *t, int i) {
    while (i > 0 && !is_word(t->s[i - 1])) i--;
    while (i > 0 && is_word(t->s[i - 1])) i--;
    return i; /* on a character start: non-ASCII bytes all count as word bytes */
}

static int word_right(const TextEdit *t, int i) {
    while (i < t->len && !is_word(t->s[i])) i++;
    while (i < t->len && is_word(t->s[i])) i++;
    return i < t->len ? i : t->len;
}

/* The longest prefix of s[0..n) that ends on a character boundary. */
static size_t utf8_cut(const char *s, size_t n) {
    size_t k = n;
    while (k > 0 && is_cont((unsigned char)s[k])) k--;
    return s[n] == '\0' || !is_cont((unsigned char)s[n]) ? n : k;
}

void textedit_set(TextEdit *t, const char *s) {
    size_t n = strlen(s);
    if (n > TEXTEDIT_MAX) n = utf8_cut(s, TEXTEDIT_MAX);
    memcpy(t->s, s, n);
    t->s[n] = '\0';
    t->len = (int)n;
    t->cursor = t->anchor = t->len;
}

void textedit_selection(const TextEdit *t, int *a, int *b) {
    *a = t->cursor < t->anchor ? t->cursor : t->anchor;
    *b = t->cursor < t->anchor ? t->anchor : t->cursor;
}

/* Removes bytes [a, b) and puts the caret at a. */
static void cut_range(TextEdit *t, int a, int b) {
    memmove(t->s + a, t->s + b, (size_t)(t->len - b) + 1);
    t->len -= b - a;
    t->cursor = t->anchor = a;
}

int textedit_insert(TextEdit *t, const char *s) {
    int a, b;
    textedit_selection(t, &a, &b);
    size_t n = strlen(s);
    if ((size_t)t->len - (size_t)(b - a) + n > TEXTEDIT_MAX) return -1;
    cut_range(t, a, b);
    memmove(t->s + a + n, t->s + a, (size_t)(t->len - a) + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        t->s[a + i] = (c < 0x20 && c != '\t') || c == 0x7f ? ' ' : (char)c;
    }
    t->len += (int)n;
    t->cursor = t->anchor = a + (int)n;
    return 0;
}

int textedit_delete(TextEdit *t, int dir) {
    int a, b;
    textedit_selection(t, &a, &b);
    if (a == b) {
        if (dir < 0) a = prev_char(t, t->cursor);
        else b = next_char(t, t->cursor);
    }
    if (a == b) return 0;
    cut_range(t, a, b);
    return 1;
}

void textedit_set_cursor(TextEdit *t, int pos, int select) {
    if (pos < 0) pos = 0;
    if (pos > t->len) pos = t->len;
    while (pos > 0 && pos < t->len && is_cont((unsigned char)t->s[pos])) pos--;
    t->cursor = pos;
    if (!select) t->anchor = pos;
}

void textedit_move(TextEdit *t, TextMove m, int select) {
    int a, b, pos = t->cursor;
    textedit_selection(t, &a, &b);
    if (!select && a != b && (m == TE_LEFT || m == TE_RIGHT)) {
        textedit_set_cursor(t, m == TE_LEFT ? a : b, 0);
        return;
    }
    switch (m) {
    case TE_LEFT: pos = prev_char(t, pos); break;
    case TE_RIGHT: pos = next_char(t, pos); break;
    case TE_WORD_LEFT: pos = word_left(t, pos); break;
    case TE_WORD_RIGHT: pos = word_right(t, pos); break;
    case TE_HOME: pos = 0; break;
    case TE_END: pos = t->len; break;
    }
    textedit_set_cursor(t, pos, select);
}

void textedit_select_all(TextEdit *t) {
    t->anchor = 0;
    t->cursor = t->len;
}

char *textedit_copy(const TextEdit *t) {
    int a, b;
    textedit_selection(t, &a, &b);
    if (a == b) return NULL;
    char *out = malloc((size_t)(b - a) + 1);
    if (!out) return NULL;
    memcpy(out, t->s + a, (size_t)(b - a));
    out[b - a] = '\0';
    return out;
}
