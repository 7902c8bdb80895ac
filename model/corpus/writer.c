/* writer.c: the Writer every passage generator appends its words through (it counts
 * them, so a generator knows each word's token index), and distinct random picks. */
#include "corpus/grammar.h"

void corpus_writer_init(Writer *w, char *buf, size_t cap) {
    *w = (Writer){buf, cap, 0, 0, 0};
    if (cap) buf[0] = '\0';
}

void corpus_put(Writer *w, const char *words) {
    const char *s = words;
    while (*s) {
        while (*s == ' ') s++;
        size_t n = strcspn(s, " ");
        if (n == 0) break;
        size_t need = n + (w->len ? 1 : 0) + 1;
        if (w->full || w->len + need > w->cap) { w->full = 1; return; }
        if (w->len) w->buf[w->len++] = ' ';
        memcpy(w->buf + w->len, s, n);
        w->len += n;
        w->buf[w->len] = '\0';
        w->n_words++;
        s += n;
    }
}

void corpus_put_copy(Writer *w, int from, int n) {
    AVZ_ASSERT(from >= 0 && n >= 0 && from + n <= w->n_words);
    if (w->full) return;
    /* find the byte offsets of words [from, from + n) in the buffer, then append a copy
     * (the source is copied first: appending may not move it, but it overlaps the end) */
    const char *s = w->buf;
    for (int i = 0; i < from; i++) s = strchr(s, ' ') + 1;
    const char *e = s;
    for (int i = 0; i < n; i++) e += strcspn(e, " ") + (i + 1 < n);
    size_t len = (size_t)(e - s);
    char copy[CORPUS_PASSAGE_CAP];
    if (len >= sizeof copy) { w->full = 1; return; }
    memcpy(copy, s, len);
    copy[len] = '\0';
    corpus_put(w, copy);
}

void corpus_pick_distinct(AvzRng *r, int pool, int n, int *out) {
    for (int i = 0; i < n; i++) {
        int dup;
        do {
            out[i] = pick(r, pool);
            dup = 0;
            for (int k = 0; k < i; k++) dup |= out[k] == out[i];
        } while (dup);
    }
}
