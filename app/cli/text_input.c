/* text_input.c: reading and checking the text a command runs on, and the batch of
 * `export --texts` (see text_input.h). */
#define _DEFAULT_SOURCE
#include "cli/text_input.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- UTF-8 ------------------------------------------------------------------------ */

/* The length of the well-formed UTF-8 sequence at p (avz_utf8_sequence), or 0 with
 * *shown = the bytes a message shows: the lead byte and the continuation bytes up to
 * and including the first wrong one (all there were when the end came first, *cut = 1). */
static size_t utf8_sequence(const unsigned char *p, size_t n, size_t *shown, int *cut) {
    size_t at, ok = avz_utf8_sequence(p, n, &at, cut);
    *shown = ok ? 0 : *cut ? at : at + 1;
    return ok;
}

int text_find_fault(const char *s, size_t n, TextFault *f) {
    const unsigned char *p = (const unsigned char *)s;
    size_t line_start = 0;
    int line = 1;
    for (size_t i = 0; i < n;) {
        size_t shown = 0;
        int cut = 0;
        size_t ok = p[i] ? utf8_sequence(p + i, n - i, &shown, &cut) : 0;
        if (ok) {
            if (p[i] == '\n') line++, line_start = i + 1;
            i += ok;
            continue;
        }
        f->line = line;
        f->byte = (int)(i - line_start) + 1;
        if (!p[i]) {
            snprintf(f->what, sizeof f->what, "a NUL byte (not a text file?)");
            return 1;
        }
        int k = snprintf(f->what, sizeof f->what, "invalid UTF-8 (");
        for (size_t j = 0; j < shown; j++)
            k += snprintf(f->what + k, sizeof f->what - k, "%s0x%02X", j ? " " : "", p[i + j]);
        snprintf(f->what + k, sizeof f->what - k, cut ? ", cut short)" : ")");
        return 1;
    }
    return 0;
}

/* ---- reading ---------------------------------------------------------------------- */

AvzCode text_read(const char *path, char **out, size_t *len, char *err) {
    int from_stdin = strcmp(path, "-") == 0;
    const char *name = from_stdin ? "stdin" : path;
    *out = NULL;
    FILE *f = from_stdin ? stdin : fopen(path, "rb");
    if (!f) return avz_fail(err, AVZ_ERR_INPUT, "%s: cannot open: %s", name, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        if (!from_stdin) fclose(f);
        return avz_fail(err, AVZ_ERR_INPUT, "%s: is a folder, not a text file", name);
    }
    if (from_stdin && isatty(fileno(f)))
        fprintf(stderr, "attnviz: reading the text from the terminal (end it with Ctrl+D)\n");
    size_t cap = 4096, n = 0;
    char *buf = avz_xmalloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap > TEXT_INPUT_MAX) break;
            cap = cap * 2 > TEXT_INPUT_MAX ? TEXT_INPUT_MAX + 1 : cap * 2;
            char *grown = realloc(buf, cap + 1);
            if (!grown) { free(buf); buf = NULL; break; }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int failed = ferror(f), saved = errno;
    if (!from_stdin) fclose(f);
    if (!buf) return avz_fail(err, AVZ_ERR_INTERNAL, "%s: out of memory reading it", name);
    AvzCode rc = AVZ_OK;
    if (failed) rc = avz_fail(err, AVZ_ERR_INPUT, "%s: read error: %s", name, strerror(saved));
    else if (n > TEXT_INPUT_MAX)
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: more than %zu MiB; a text is read whole and must "
                      "be smaller", name, TEXT_INPUT_MAX >> 20);
    if (rc) { free(buf); return rc; }
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return AVZ_OK;
}

static int is_blank_char(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_blank_char(s[i])) return 0;
    return 1;
}

/* Drops a UTF-8 byte-order mark in front: returns how many bytes it took. */
static size_t bom_len(const char *s, size_t n) {
    return n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

AvzCode text_input_get(const char *cmd, const char *text, const char *file, char **out,
                       char *err) {
    *out = NULL;
    if (text && file)
        return avz_fail(err, AVZ_ERR_INPUT, "attnviz %s: give the text with --text or "
                        "--text-file, not both", cmd);
    if (!text && !file) return AVZ_OK;
    int literal = text && strcmp(text, "-") != 0;
    const char *name = literal ? "--text" : strcmp(text ? text : file, "-") == 0 ? "stdin" : file;
    char *buf;
    size_t n;
    if (literal) {
        n = strlen(text);
        buf = avz_xmalloc(n + 1);
        memcpy(buf, text, n + 1);
    } else {
        AvzCode rc = text_read(text ? text : file, &buf, &n, err);
        if (rc) return rc;
        size_t b = bom_len(buf, n);
        memmove(buf, buf + b, n - b + 1);
        n -= b;
        while (n && buf[n - 1] == '\n') n -= n >= 2 && buf[n - 2] == '\r' ? 2 : 1;
        buf[n] = '\0';
    }
    TextFault f;
    AvzCode rc = AVZ_OK;
    if (text_find_fault(buf, n, &f))
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: line %d, byte %d: %s", name, f.line, f.byte,
                      f.what);
    else if (is_blank(buf, n))
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: the text is empty", name);
    if (rc) { free(buf); return rc; }
    *out = buf;
    return AVZ_OK;
}

/* ---- the batch -------------------------------------------------------------------- */

/* The text of an item being built (an AvzBuf): its lines joined by \n. */
static void joined_add(AvzBuf *j, const char *s, size_t n) {
    if (j->len) avz_buf_put(j, "\n", 1);
    avz_buf_put(j, s, n);
}

static char *dup_range(const char *s, size_t n) {
    char *d = avz_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Trims blanks at both ends of s[0..*n): returns the new start. */
static const char *trim(const char *s, size_t *n) {
    while (*n && is_blank_char(*s)) s++, (*n)--;
    while (*n && is_blank_char(s[*n - 1])) (*n)--;
    return s;
}

/* s[0..n) with every invalid UTF-8 sequence and NUL byte replaced by U+FFFD, so that
 * a bad text can still be shown in the index (which must stay valid UTF-8). The
 * maximal-subpart rule: a wrong continuation byte starts the next sequence. */
static char *sanitized(const char *s, size_t n, size_t *out_len) {
    const unsigned char *p = (const unsigned char *)s;
    char *out = avz_xmalloc(3 * n + 1), *o = out;
    for (size_t i = 0; i < n;) {
        size_t shown = 0;
        int cut = 0;
        size_t ok = p[i] ? utf8_sequence(p + i, n - i, &shown, &cut) : 0;
        if (ok) {
            memcpy(o, p + i, ok);
            o += ok, i += ok;
            continue;
        }
        memcpy(o, "\xEF\xBF\xBD", 3);
        o += 3;
        i += !p[i] ? 1 : cut ? shown : shown > 1 ? shown - 1 : 1;
    }
    *o = '\0';
    *out_len = (size_t)(o - out);
    return out;
}

/* The item of the text in j (first line `line`; fault already set or ""). */
static void item_finish(TextItem *it, AvzBuf *j, int labels) {
    if (it->fault[0]) {   /* it will not run: keep a showable copy */
        size_t n;
        char *clean = sanitized(j->p, j->len, &n);
        free(j->p);
        *j = (AvzBuf){clean, n, n + 1};
    }
    const char *s = j->p;
    size_t n = j->len;
    const char *bar = labels ? memchr(s, '|', n) : NULL;
    if (bar) {
        size_t ln = (size_t)(bar - s), tn = n - ln - 1;
        const char *l = trim(s, &ln), *t = trim(bar + 1, &tn);
        it->label = dup_range(l, ln);
        it->text = dup_range(t, tn);
    } else {
        it->label = dup_range("", 0);
        it->text = dup_range(s, n);
    }
    if (!it->fault[0] && is_blank(it->text, strlen(it->text)))
        snprintf(it->fault, sizeof it->fault, "empty text");
    free(j->p);
    *j = (AvzBuf){0};
}

/* Adds line (s, n; number line) to the item being built, starting one if none. */
static void item_add_line(TextList *l, int *cap, int *open, AvzBuf *j, const char *s, size_t n,
                          int line) {
    if (!*open) {
        if (l->n == *cap) {
            *cap = *cap ? 2 * *cap : 16;
            TextItem *grown = realloc(l->items, sizeof *grown * (size_t)*cap);
            AVZ_ASSERT(grown);
            l->items = grown;
        }
        l->items[l->n++] = (TextItem){.line = line};
        *open = 1;
    }
    TextItem *it = &l->items[l->n - 1];
    TextFault f;
    if (!it->fault[0] && text_find_fault(s, n, &f)) {
        if (line == it->line) snprintf(it->fault, sizeof it->fault, "byte %d: %s", f.byte, f.what);
        else snprintf(it->fault, sizeof it->fault, "line %d, byte %d: %s", line, f.byte, f.what);
    }
    joined_add(j, s, n);
}

AvzCode text_list_read(const char *path, int blocks, int labels, TextList *out, char *err) {
    memset(out, 0, sizeof *out);
    snprintf(out->source, sizeof out->source, "%s", strcmp(path, "-") == 0 ? "stdin" : path);
    char *buf;
    size_t n;
    AvzCode rc = text_read(path, &buf, &n, err);
    if (rc) return rc;
    int cap = 0, open = 0, line = 0;
    AvzBuf j = {0};
    for (size_t pos = bom_len(buf, n); pos < n;) {
        const char *s = buf + pos, *nl = memchr(s, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - s) : n - pos;
        pos += len + 1;
        line++;
        if (len && s[len - 1] == '\r') len--;
        size_t tl = len;
        const char *t = trim(s, &tl);
        int blank = tl == 0, comment = !blank && t[0] == '#';
        if (blank && open) {   /* the end of a block */
            item_finish(&out->items[out->n - 1], &j, labels);
            open = 0;
        }
        if (blank || comment) continue;
        item_add_line(out, &cap, &open, &j, s, len, line);
        if (!blocks) {
            item_finish(&out->items[out->n - 1], &j, labels);
            open = 0;
        }
    }
    if (open) item_finish(&out->items[out->n - 1], &j, labels);
    free(buf);
    if (out->n == 0) {
        text_list_free(out);
        return avz_fail(err, AVZ_ERR_INPUT, "%s: no texts in it (every line is blank or a # "
                        "comment)", strcmp(path, "-") == 0 ? "stdin" : path);
    }
    return AVZ_OK;
}

void text_list_free(TextList *l) {
    for (int i = 0; i < l->n; i++) {
        free(l->items[i].text);
        free(l->items[i].label);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}
