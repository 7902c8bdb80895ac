/* text_input.h: the text a command runs on, read and checked in one place for every
 * command that takes --text (export, predict, ablate, heads, permute, tokenize, gui).
 *
 * A text comes from --text TEXT, --text - (stdin) or --text-file FILE (- for stdin).
 * It must be valid UTF-8 without NUL bytes (an error names the line and the byte) and
 * not empty. From a file or stdin a leading byte-order mark and the trailing newlines
 * are dropped, as the shell's "$(cat FILE)" drops them.
 *
 * The batch of `export --texts FILE` is read here too: one text per line, or (blocks)
 * one per run of non-blank lines; lines whose first non-blank character is # are
 * comments; with labels each text is "label | text" (assets/texts/examples.txt). */
#ifndef AVZ_CLI_TEXT_INPUT_H
#define AVZ_CLI_TEXT_INPUT_H

#include "common.h"

#define TEXT_INPUT_MAX ((size_t)16 << 20)   /* bytes read at most: far past any context */

/* The first fault of s[0..n) as a text: an invalid UTF-8 sequence or a NUL byte.
 * line and byte are 1-based (byte counts bytes within the line); what reads
 * "invalid UTF-8 (0xC3 0x28)" or "a NUL byte". */
typedef struct {
    int line, byte;
    char what[64];
} TextFault;

/* Returns 1 and fills *f when s[0..n) has a fault, 0 when it is clean UTF-8. */
int text_find_fault(const char *s, size_t n, TextFault *f);

/* Reads path ("-": stdin) whole into *out, malloc'd and NUL-terminated, *len bytes
 * (len may be NULL). Works on pipes and FIFOs. AVZ_ERR_INPUT naming the path when it
 * cannot be read, is a folder, or holds more than TEXT_INPUT_MAX bytes. Caller frees. */
AvzCode text_read(const char *path, char **out, size_t *len, char *err);

/* The text of command cmd ("export") from its --text (text, "-": stdin) and
 * --text-file (file, "-": stdin) options, either NULL when not given. Neither given:
 * *out = NULL and AVZ_OK (the caller says whether it is required). Otherwise *out is
 * the checked text (malloc'd, caller frees), or AVZ_ERR_INPUT with err naming the
 * source: both options given, unreadable, "notes.txt: line 3, byte 17: invalid UTF-8
 * (0xC3 0x28)", or "notes.txt: the text is empty". */
AvzCode text_input_get(const char *cmd, const char *text, const char *file, char **out,
                       char *err);

/* One text of a batch. */
typedef struct {
    char *text;         /* the text (owned; lines of a block joined by \n) */
    char *label;        /* "label | text": the label, else "" (owned) */
    int line;           /* its first line in the file, 1-based */
    char fault[128];    /* "" or why the text cannot run: "byte 5: invalid UTF-8 (0xFF)",
                         * "line 9, byte 2: ..." (a later line of a block), "empty text" */
} TextItem;

typedef struct {
    TextItem *items;    /* (n), owned */
    int n;
    char source[256];   /* the path, or "stdin", for messages */
} TextList;

/* Reads the batch in path ("-": stdin): blocks = 0 one text per line (blank lines
 * skipped), blocks = 1 one text per run of non-blank lines; labels = 1 splits each text
 * at its first '|' into label and text. A bad text (invalid UTF-8, empty) is kept with
 * its fault set so that the others still run. AVZ_ERR_INPUT when the file cannot be
 * read or holds no text at all. On success the caller frees with text_list_free. */
AvzCode text_list_read(const char *path, int blocks, int labels, TextList *out, char *err);
void text_list_free(TextList *l);

#endif
