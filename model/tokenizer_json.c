/* tokenizer_json.c: tokenizer.json (and GPT-2's vocab.json + merges.txt) into a
 * TokJson description (see tokenizer_json.h). Parsing only: bpe.c checks that the
 * merges and added tokens agree with the vocab while it builds its tables.
 *
 * A tokenizer.json has the four stages of a Hugging Face tokenizer as objects with a
 * "type": "normalizer", "pre_tokenizer", "model", "post_processor" and "decoder"
 * (null when a stage does nothing), plus "added_tokens". Each parser below reads one
 * of them and names the field it stands on in every message. */
#define _POSIX_C_SOURCE 200809L
#include "tokenizer_json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- files ------------------------------------------------------------------------------ */

char *tokjson_read_file(const char *path, size_t *len, char *err) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
        avz_fail(err, AVZ_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (S_ISDIR(sb.st_mode)) {
        avz_fail(err, AVZ_ERR_INPUT, "%s: is a folder, not a file", path);
        return NULL;
    }
    if (!S_ISREG(sb.st_mode)) {
        avz_fail(err, AVZ_ERR_INPUT, "%s: not a regular file (a FIFO, socket or device)", path);
        return NULL;
    }
    if (sb.st_size > (off_t)1 << 30) {
        avz_fail(err, AVZ_ERR_INPUT, "%s: too large (%lld bytes, at most 1 GiB)", path,
                 (long long)sb.st_size);
        return NULL;
    }
    /* O_NONBLOCK: should the path be swapped for a FIFO after stat, open still returns */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        avz_fail(err, AVZ_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        avz_fail(err, AVZ_ERR_INPUT, "%s: not a regular file", path);
        return NULL;
    }
    size_t n = (size_t)sb.st_size, got = 0;
    char *buf = avz_xmalloc(n + 1);
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        free(buf);
        avz_fail(err, AVZ_ERR_INPUT, "%s: short read (%zu of %zu bytes)", path, got, n);
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

/* ---- small helpers --------------------------------------------------------------------- */

typedef struct {
    const char *file;
    char *err;
} Ctx;

/* "file: field: message" */
static AvzCode bad(const Ctx *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static AvzCode bad(const Ctx *c, const char *field, const char *fmt, ...) {
    char msg[AVZ_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return avz_fail(c->err, AVZ_ERR_INPUT, "%s: %s: %s", c->file, field, msg);
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s);
    char *d = avz_xmalloc(n + 1);
    memcpy(d, s, n + 1);
    return d;
}

static int is_null(const cJSON *j) { return !j || cJSON_IsNull(j); }

/* A boolean field: def when missing or null. */
static AvzCode get_bool(const Ctx *c, const cJSON *obj, const char *key, const char *path, int def,
                        int *out) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = def;
    if (is_null(j)) return AVZ_OK;
    if (!cJSON_IsBool(j)) return bad(c, path, "expected true or false");
    *out = cJSON_IsTrue(j);
    return AVZ_OK;
}

/* A string field (borrowed from the JSON); *out = NULL when missing or null. */
static AvzCode get_str(const Ctx *c, const cJSON *obj, const char *key, const char *path,
                       int required, const char **out) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (is_null(j)) return required ? bad(c, path, "missing (expected a string)") : AVZ_OK;
    if (!cJSON_IsString(j)) return bad(c, path, "expected a string");
    *out = j->valuestring;
    return AVZ_OK;
}

/* Text that ends up inside the text being tokenized (an added token, what a normalizer
 * inserts) must be valid UTF-8: the regexes run on it without checking again. */
static AvzCode check_utf8(const Ctx *c, const char *s, const char *path) {
    uint32_t cp;
    for (int i = 0, n = (int)strlen(s), k; i < n; i += k)
        if (!(k = pretok_utf8_decode(s + i, n - i, &cp))) return bad(c, path, "not valid UTF-8");
    return AVZ_OK;
}

/* A token id: an integer in 0..TOKJSON_MAX_ID. */
static AvzCode get_id(const Ctx *c, const cJSON *j, const char *path, int *out) {
    if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble))
        return bad(c, path, "expected an integer id");
    if (j->valuedouble < 0 || j->valuedouble > TOKJSON_MAX_ID)
        return bad(c, path, "id %.0f is out of range (0..%d)", j->valuedouble, TOKJSON_MAX_ID);
    *out = (int)j->valuedouble;
    return AVZ_OK;
}

/* The "type" of a stage object. */
static AvzCode get_type(const Ctx *c, const cJSON *obj, const char *path, const char **out) {
    char f[300];
    if (!cJSON_IsObject(obj)) return bad(c, path, "expected an object or null");
    snprintf(f, sizeof f, "%s.type", path);
    return get_str(c, obj, "type", f, 1, out);
}

/* A {"String": s} or {"Regex": r} pattern: *literal (owned) or *re. */
static AvzCode get_pattern(const Ctx *c, const cJSON *obj, const char *path, char **literal,
                           PretokRegex **re) {
    char f[300], e[AVZ_ERR_LEN];
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, "pattern");
    const char *s;
    *literal = NULL, *re = NULL;
    snprintf(f, sizeof f, "%s.pattern", path);
    if (!cJSON_IsObject(p)) return bad(c, f, "expected {\"String\": ...} or {\"Regex\": ...}");
    if (cJSON_GetObjectItemCaseSensitive(p, "String")) {
        snprintf(f, sizeof f, "%s.pattern.String", path);
        if (get_str(c, p, "String", f, 1, &s)) return AVZ_ERR_INPUT;
        if (!*s) return bad(c, f, "empty pattern");
        if (check_utf8(c, s, f)) return AVZ_ERR_INPUT;
        *literal = xstrdup(s);
        return AVZ_OK;
    }
    snprintf(f, sizeof f, "%s.pattern.Regex", path);
    if (!cJSON_GetObjectItemCaseSensitive(p, "Regex"))
        return bad(c, f, "missing (expected \"String\" or \"Regex\")");
    if (get_str(c, p, "Regex", f, 1, &s)) return AVZ_ERR_INPUT;
    if (pretok_regex_compile(re, s, e)) return bad(c, f, "%s", e);
    return AVZ_OK;
}

/* ---- normalizer ---------------------------------------------------------------------------- */

static AvzCode parse_normalizer(const Ctx *c, const cJSON *j, const char *path,
                                PretokNormalizer *nz) {
    const char *type, *s;
    char f[300];
    if (is_null(j)) return AVZ_OK;
    if (get_type(c, j, path, &type)) return AVZ_ERR_INPUT;
    if (!strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "normalizers");
        snprintf(f, sizeof f, "%s.normalizers", path);
        if (!cJSON_IsArray(list)) return bad(c, f, "expected an array");
        int i = 0;
        for (const cJSON *it = list->child; it; it = it->next, i++) {
            snprintf(f, sizeof f, "%s.normalizers[%d]", path, i);
            if (parse_normalizer(c, it, f, nz)) return AVZ_ERR_INPUT;
        }
        return AVZ_OK;
    }
    PretokNormStep st = {0};
    if (!strcmp(type, "Prepend")) {
        snprintf(f, sizeof f, "%s.prepend", path);
        if (get_str(c, j, "prepend", f, 1, &s) || check_utf8(c, s, f)) return AVZ_ERR_INPUT;
        st.kind = PRETOK_NORM_PREPEND;
        st.text = xstrdup(s);
    } else if (!strcmp(type, "Replace")) {
        snprintf(f, sizeof f, "%s.content", path);
        if (get_str(c, j, "content", f, 1, &s) || check_utf8(c, s, f)) return AVZ_ERR_INPUT;
        if (get_pattern(c, j, path, &st.literal, &st.re)) return AVZ_ERR_INPUT;
        st.kind = PRETOK_NORM_REPLACE;
        st.text = xstrdup(s);
    } else {
        snprintf(f, sizeof f, "%s.type", path);
        return bad(c, f, "'%s' is not supported (supported: Sequence, Prepend, Replace)", type);
    }
    nz->steps = realloc(nz->steps, sizeof *nz->steps * (size_t)(nz->n + 1));
    AVZ_ASSERT(nz->steps);
    nz->steps[nz->n++] = st;
    return AVZ_OK;
}

/* ---- pre-tokenizer ------------------------------------------------------------------------- */

static AvzCode parse_split(const Ctx *c, const cJSON *j, const char *path, PretokStep *st) {
    static const char *names[] = {"Isolated", "Removed", "MergedWithPrevious", "MergedWithNext",
                                  "Contiguous"};
    const char *b;
    char f[300];
    snprintf(f, sizeof f, "%s.behavior", path);
    if (get_str(c, j, "behavior", f, 1, &b)) return AVZ_ERR_INPUT;
    int k = 0;
    while (k < 5 && strcmp(b, names[k])) k++;
    if (k == 5)
        return bad(c, f,
                   "'%s' is not a split behavior (Isolated, Removed, "
                   "MergedWithPrevious, MergedWithNext, Contiguous)",
                   b);
    st->behavior = (PretokBehavior)k;
    snprintf(f, sizeof f, "%s.invert", path);
    if (get_bool(c, j, "invert", f, 0, &st->invert)) return AVZ_ERR_INPUT;
    return get_pattern(c, j, path, &st->literal, &st->re);
}

static AvzCode parse_metaspace(const Ctx *c, const cJSON *j, const char *path, PretokStep *st) {
    const char *rep, *scheme;
    char f[300];
    uint32_t cp;
    snprintf(f, sizeof f, "%s.replacement", path);
    if (get_str(c, j, "replacement", f, 0, &rep)) return AVZ_ERR_INPUT;
    if (!rep) rep = "\xE2\x96\x81"; /* ▁ */
    int k = pretok_utf8_decode(rep, (int)strlen(rep), &cp);
    if (k == 0 || rep[k] != '\0') return bad(c, f, "expected one character");
    memcpy(st->replacement, rep, (size_t)k + 1);
    snprintf(f, sizeof f, "%s.prepend_scheme", path);
    if (get_str(c, j, "prepend_scheme", f, 0, &scheme)) return AVZ_ERR_INPUT;
    if (scheme) {
        if (!strcmp(scheme, "always"))
            st->prepend = PRETOK_PREPEND_ALWAYS;
        else if (!strcmp(scheme, "first"))
            st->prepend = PRETOK_PREPEND_FIRST;
        else if (!strcmp(scheme, "never"))
            st->prepend = PRETOK_PREPEND_NEVER;
        else
            return bad(c, f, "'%s' is not one of always, first, never", scheme);
    } else { /* older files: add_prefix_space */
        int aps;
        snprintf(f, sizeof f, "%s.add_prefix_space", path);
        if (get_bool(c, j, "add_prefix_space", f, 1, &aps)) return AVZ_ERR_INPUT;
        st->prepend = aps ? PRETOK_PREPEND_ALWAYS : PRETOK_PREPEND_NEVER;
    }
    snprintf(f, sizeof f, "%s.split", path);
    return get_bool(c, j, "split", f, 1, &st->split);
}

static AvzCode parse_pre(const Ctx *c, const cJSON *j, const char *path, PretokPipeline *pp) {
    const char *type;
    char f[300];
    if (is_null(j)) return AVZ_OK;
    if (get_type(c, j, path, &type)) return AVZ_ERR_INPUT;
    if (!strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "pretokenizers");
        snprintf(f, sizeof f, "%s.pretokenizers", path);
        if (!cJSON_IsArray(list)) return bad(c, f, "expected an array");
        int i = 0;
        for (const cJSON *it = list->child; it; it = it->next, i++) {
            snprintf(f, sizeof f, "%s.pretokenizers[%d]", path, i);
            if (parse_pre(c, it, f, pp)) return AVZ_ERR_INPUT;
        }
        return AVZ_OK;
    }
    PretokStep st = {0};
    AvzCode rc = AVZ_OK;
    if (!strcmp(type, "ByteLevel")) {
        st.kind = PRETOK_BYTELEVEL;
        snprintf(f, sizeof f, "%s.add_prefix_space", path);
        rc = get_bool(c, j, "add_prefix_space", f, 1, &st.add_prefix_space);
        snprintf(f, sizeof f, "%s.use_regex", path);
        if (!rc) rc = get_bool(c, j, "use_regex", f, 1, &st.use_regex);
    } else if (!strcmp(type, "Split")) {
        st.kind = PRETOK_SPLIT;
        rc = parse_split(c, j, path, &st);
    } else if (!strcmp(type, "Metaspace")) {
        st.kind = PRETOK_METASPACE;
        rc = parse_metaspace(c, j, path, &st);
    } else {
        snprintf(f, sizeof f, "%s.type", path);
        return bad(c, f,
                   "'%s' is not supported (supported: Sequence, ByteLevel, Split, "
                   "Metaspace)",
                   type);
    }
    pp->steps = realloc(pp->steps, sizeof *pp->steps * (size_t)(pp->n + 1));
    AVZ_ASSERT(pp->steps);
    pp->steps[pp->n++] = st; /* kept even on failure, so that it is freed */
    return rc;
}

/* ---- post-processor --------------------------------------------------------------------- */

static void push_id(int **v, int *n, int id) {
    *v = realloc(*v, sizeof **v * (size_t)(*n + 1));
    AVZ_ASSERT(*v);
    (*v)[(*n)++] = id;
}

/* TemplateProcessing's "single" template: special tokens before $A go in front, the
 * ones after it go after. */
static AvzCode parse_template(const Ctx *c, const cJSON *j, const char *path, TokJson *tj) {
    char f[300];
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(j, "single");
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(j, "special_tokens");
    snprintf(f, sizeof f, "%s.single", path);
    if (!cJSON_IsArray(single)) return bad(c, f, "expected an array");
    int i = 0, seen_a = 0;
    int *pre = NULL, np = 0, *suf = NULL, ns = 0;
    AvzCode rc = AVZ_OK;
    for (const cJSON *it = single->child; it && !rc; it = it->next, i++) {
        snprintf(f, sizeof f, "%s.single[%d]", path, i);
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(it, "SpecialToken");
        if (cJSON_GetObjectItemCaseSensitive(it, "Sequence")) {
            seen_a = 1;
            continue;
        }
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(sp, "id");
        if (!cJSON_IsString(name)) {
            rc = bad(c, f,
                     "expected {\"SpecialToken\": {\"id\": ...}} "
                     "or {\"Sequence\": ...}");
            break;
        }
        const cJSON *tok = cJSON_GetObjectItemCaseSensitive(specials, name->valuestring);
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(tok, "ids");
        if (!cJSON_IsArray(ids)) {
            rc = bad(c, f, "'%s' has no ids in %s.special_tokens", name->valuestring, path);
            break;
        }
        int k = 0;
        for (const cJSON *idj = ids->child; idj && !rc; idj = idj->next, k++) {
            int id = -1;
            snprintf(f, sizeof f, "%s.special_tokens['%s'].ids[%d]", path, name->valuestring, k);
            rc = get_id(c, idj, f, &id);
            if (!rc && seen_a)
                push_id(&suf, &ns, id);
            else if (!rc)
                push_id(&pre, &np, id);
        }
    }
    /* a processor after another wraps what the first produced */
    for (int k = 0; k < tj->n_prefix; k++) push_id(&pre, &np, tj->prefix[k]);
    for (int k = 0; k < tj->n_suffix; k++) push_id(&suf, &ns, tj->suffix[k]);
    free(tj->prefix);
    free(tj->suffix);
    tj->prefix = pre, tj->n_prefix = np, tj->suffix = suf, tj->n_suffix = ns;
    return rc;
}

/* RobertaProcessing / BertProcessing: "cls": ["<s>", 0] in front, "sep" after. */
static AvzCode parse_cls_sep(const Ctx *c, const cJSON *j, const char *path, TokJson *tj) {
    static const char *keys[2] = {"cls", "sep"};
    int id[2];
    char f[300];
    for (int k = 0; k < 2; k++) {
        const cJSON *pair = cJSON_GetObjectItemCaseSensitive(j, keys[k]);
        snprintf(f, sizeof f, "%s.%s", path, keys[k]);
        if (cJSON_GetArraySize(pair) != 2) return bad(c, f, "expected [\"token\", id]");
        if (get_id(c, cJSON_GetArrayItem(pair, 1), f, &id[k])) return AVZ_ERR_INPUT;
    }
    int *pre = NULL, np = 0, *suf = NULL, ns = 0;
    push_id(&pre, &np, id[0]);
    for (int k = 0; k < tj->n_prefix; k++) push_id(&pre, &np, tj->prefix[k]);
    for (int k = 0; k < tj->n_suffix; k++) push_id(&suf, &ns, tj->suffix[k]);
    push_id(&suf, &ns, id[1]);
    free(tj->prefix);
    free(tj->suffix);
    tj->prefix = pre, tj->n_prefix = np, tj->suffix = suf, tj->n_suffix = ns;
    return AVZ_OK;
}

static AvzCode parse_post(const Ctx *c, const cJSON *j, const char *path, TokJson *tj) {
    const char *type;
    char f[300];
    if (is_null(j)) return AVZ_OK;
    if (get_type(c, j, path, &type)) return AVZ_ERR_INPUT;
    if (!strcmp(type, "ByteLevel")) return AVZ_OK; /* offsets only */
    if (!strcmp(type, "TemplateProcessing")) return parse_template(c, j, path, tj);
    if (!strcmp(type, "RobertaProcessing") || !strcmp(type, "BertProcessing"))
        return parse_cls_sep(c, j, path, tj);
    if (!strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "processors");
        snprintf(f, sizeof f, "%s.processors", path);
        if (!cJSON_IsArray(list)) return bad(c, f, "expected an array");
        int i = 0;
        for (const cJSON *it = list->child; it; it = it->next, i++) {
            snprintf(f, sizeof f, "%s.processors[%d]", path, i);
            if (parse_post(c, it, f, tj)) return AVZ_ERR_INPUT;
        }
        return AVZ_OK;
    }
    snprintf(f, sizeof f, "%s.type", path);
    return bad(c, f,
               "'%s' is not supported (supported: TemplateProcessing, ByteLevel, "
               "RobertaProcessing, BertProcessing, Sequence)",
               type);
}

/* ---- decoder (labels only: never an error) ---------------------------------------------- */

static TokJsonLabel label_of(const cJSON *j) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
    if (!cJSON_IsString(t)) return TOKJSON_LABEL_RAW;
    if (!strcmp(t->valuestring, "ByteLevel")) return TOKJSON_LABEL_BYTELEVEL;
    if (!strcmp(t->valuestring, "Metaspace")) return TOKJSON_LABEL_METASPACE;
    if (!strcmp(t->valuestring, "Replace")) { /* Llama 2: Replace "▁" -> " " */
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "pattern");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(p, "String");
        if (cJSON_IsString(s) && !strcmp(s->valuestring, "\xE2\x96\x81"))
            return TOKJSON_LABEL_METASPACE;
    }
    if (!strcmp(t->valuestring, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "decoders");
        for (const cJSON *it = cJSON_IsArray(list) ? list->child : NULL; it; it = it->next) {
            TokJsonLabel l = label_of(it);
            if (l != TOKJSON_LABEL_RAW) return l;
        }
    }
    return TOKJSON_LABEL_RAW;
}

/* ---- model ------------------------------------------------------------------------------- */

/* The vocab object {"piece": id, ...}; field is "model.vocab" in a tokenizer.json, ""
 * for a vocab.json. */
static AvzCode parse_vocab(const Ctx *c, const cJSON *v, const char *field, TokJson *tj) {
    if (!cJSON_IsObject(v)) return bad(c, field, "expected an object {\"piece\": id}");
    int n = cJSON_GetArraySize(v), i = 0;
    tj->pieces = avz_xcalloc((size_t)n, sizeof *tj->pieces);
    tj->ids = avz_xcalloc((size_t)n, sizeof *tj->ids);
    for (const cJSON *it = v->child; it; it = it->next, i++) {
        char f[300];
        snprintf(f, sizeof f, "%s['%.200s']", field, it->string);
        if (get_id(c, it, f, &tj->ids[i])) return AVZ_ERR_INPUT;
        tj->pieces[i] = xstrdup(it->string);
        tj->n_pieces = i + 1;
    }
    return AVZ_OK;
}

/* One merge: "a b" (split at the first space) or ["a", "b"]. */
static AvzCode parse_merge(const Ctx *c, const cJSON *m, int i, TokJson *tj) {
    char f[64];
    snprintf(f, sizeof f, "model.merges[%d]", i);
    if (cJSON_IsString(m)) {
        const char *s = m->valuestring, *sp = strchr(s, ' ');
        if (!sp || sp == s || !sp[1]) return bad(c, f, "expected \"a b\"");
        tj->merge_a[i] = avz_xmalloc((size_t)(sp - s) + 1);
        memcpy(tj->merge_a[i], s, (size_t)(sp - s));
        tj->merge_a[i][sp - s] = '\0';
        tj->merge_b[i] = xstrdup(sp + 1);
    } else if (cJSON_IsArray(m)) {
        const cJSON *a = cJSON_GetArrayItem(m, 0), *b = cJSON_GetArrayItem(m, 1);
        if (cJSON_GetArraySize(m) != 2 || !cJSON_IsString(a) || !cJSON_IsString(b) ||
            !*a->valuestring || !*b->valuestring)
            return bad(c, f, "expected [\"a\", \"b\"]");
        tj->merge_a[i] = xstrdup(a->valuestring);
        tj->merge_b[i] = xstrdup(b->valuestring);
    } else {
        return bad(c, f, "expected \"a b\" or [\"a\", \"b\"]");
    }
    tj->n_merges = i + 1;
    return AVZ_OK;
}

static AvzCode parse_model(const Ctx *c, const cJSON *m, TokJson *tj) {
    const char *type, *s;
    if (!cJSON_IsObject(m)) return bad(c, "model", "missing (expected an object)");
    if (get_str(c, m, "type", "model.type", 0, &type)) return AVZ_ERR_INPUT;
    if (!type && !cJSON_GetObjectItemCaseSensitive(m, "merges"))
        return bad(c, "model.type", "missing (only BPE is supported)");
    if (type && strcmp(type, "BPE"))
        return bad(c, "model.type", "'%s' is not supported (only BPE)", type);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(m, "dropout");
    if (!is_null(d) && !(cJSON_IsNumber(d) && d->valuedouble == 0))
        return bad(c, "model.dropout", "BPE dropout is random; only null is supported");
    if (get_str(c, m, "continuing_subword_prefix", "model.continuing_subword_prefix", 0, &s))
        return AVZ_ERR_INPUT;
    if (s && *s) return bad(c, "model.continuing_subword_prefix", "'%s' is not supported", s);
    if (get_str(c, m, "end_of_word_suffix", "model.end_of_word_suffix", 0, &s))
        return AVZ_ERR_INPUT;
    if (s && *s) return bad(c, "model.end_of_word_suffix", "'%s' is not supported", s);
    if (get_str(c, m, "unk_token", "model.unk_token", 0, &s)) return AVZ_ERR_INPUT;
    if (s) tj->unk_token = xstrdup(s);
    if (get_bool(c, m, "fuse_unk", "model.fuse_unk", 0, &tj->fuse_unk) ||
        get_bool(c, m, "byte_fallback", "model.byte_fallback", 0, &tj->byte_fallback) ||
        get_bool(c, m, "ignore_merges", "model.ignore_merges", 0, &tj->ignore_merges))
        return AVZ_ERR_INPUT;
    if (parse_vocab(c, cJSON_GetObjectItemCaseSensitive(m, "vocab"), "model.vocab", tj))
        return AVZ_ERR_INPUT;
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(m, "merges");
    if (is_null(merges)) return AVZ_OK;
    if (!cJSON_IsArray(merges)) return bad(c, "model.merges", "expected an array");
    int n = cJSON_GetArraySize(merges), i = 0;
    tj->merge_a = avz_xcalloc((size_t)n, sizeof(char *));
    tj->merge_b = avz_xcalloc((size_t)n, sizeof(char *));
    for (const cJSON *it = merges->child; it; it = it->next, i++)
        if (parse_merge(c, it, i, tj)) return AVZ_ERR_INPUT;
    return AVZ_OK;
}

static AvzCode parse_added(const Ctx *c, const cJSON *list, TokJson *tj) {
    if (is_null(list)) return AVZ_OK;
    if (!cJSON_IsArray(list)) return bad(c, "added_tokens", "expected an array");
    tj->added = avz_xcalloc((size_t)cJSON_GetArraySize(list), sizeof *tj->added);
    int i = 0;
    for (const cJSON *it = list->child; it; it = it->next, i++) {
        char f[64], g[96];
        const char *content;
        TokJsonAdded *a = &tj->added[i];
        snprintf(f, sizeof f, "added_tokens[%d]", i);
        if (!cJSON_IsObject(it)) return bad(c, f, "expected an object");
        snprintf(g, sizeof g, "%s.id", f);
        if (get_id(c, cJSON_GetObjectItemCaseSensitive(it, "id"), g, &a->id)) return AVZ_ERR_INPUT;
        snprintf(g, sizeof g, "%s.content", f);
        if (get_str(c, it, "content", g, 1, &content)) return AVZ_ERR_INPUT;
        if (!*content) return bad(c, g, "empty");
        if (check_utf8(c, content, g)) return AVZ_ERR_INPUT;
        static const char *keys[] = {"special", "single_word", "lstrip", "rstrip"};
        int *dst[] = {&a->special, &a->single_word, &a->lstrip, &a->rstrip};
        for (int k = 0; k < 4; k++) {
            snprintf(g, sizeof g, "%s.%s", f, keys[k]);
            if (get_bool(c, it, keys[k], g, 0, dst[k])) return AVZ_ERR_INPUT;
        }
        snprintf(g, sizeof g, "%s.normalized", f);
        if (get_bool(c, it, "normalized", g, !a->special, &a->normalized)) return AVZ_ERR_INPUT;
        a->content = xstrdup(content);
        tj->n_added = i + 1;
    }
    return AVZ_OK;
}

/* ---- the whole file ----------------------------------------------------------------------- */

static void init(TokJson *tj, const char *file, const char *vocab_field, const char *merges_field) {
    memset(tj, 0, sizeof *tj);
    snprintf(tj->file, sizeof tj->file, "%s", file);
    snprintf(tj->vocab_field, sizeof tj->vocab_field, "%s", vocab_field);
    snprintf(tj->merges_field, sizeof tj->merges_field, "%s", merges_field);
}

/* Parses JSON text, naming the byte where it stops being JSON. */
static cJSON *parse_json(const char *text, size_t len, const char *file, char *err) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        int line = 1;
        for (size_t i = 0; i < at && i < len; i++) line += text[i] == '\n';
        avz_fail(err, AVZ_ERR_INPUT, "%s: not valid JSON (line %d, byte %zu)", file, line, at);
    }
    return root;
}

AvzCode tokjson_parse(TokJson *tj, const char *json, size_t len, const char *name, char *err) {
    init(tj, name, "model.vocab", "model.merges");
    Ctx c = {tj->file, err};
    cJSON *root = parse_json(json, len, tj->file, err);
    if (!root) return AVZ_ERR_INPUT;
    AvzCode rc = AVZ_OK;
    if (!cJSON_IsObject(root))
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: expected a JSON object", name);
    if (!rc) rc = parse_model(&c, cJSON_GetObjectItemCaseSensitive(root, "model"), tj);
    if (!rc) rc = parse_added(&c, cJSON_GetObjectItemCaseSensitive(root, "added_tokens"), tj);
    if (!rc)
        rc = parse_normalizer(&c, cJSON_GetObjectItemCaseSensitive(root, "normalizer"),
                              "normalizer", &tj->norm);
    if (!rc)
        rc = parse_pre(&c, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), "pre_tokenizer",
                       &tj->pre);
    if (!rc)
        rc = parse_post(&c, cJSON_GetObjectItemCaseSensitive(root, "post_processor"),
                        "post_processor", tj);
    tj->label = label_of(cJSON_GetObjectItemCaseSensitive(root, "decoder"));
    for (int i = 0; i < tj->pre.n; i++)
        if (tj->pre.steps[i].kind == PRETOK_BYTELEVEL) tj->label = TOKJSON_LABEL_BYTELEVEL;
    cJSON_Delete(root);
    if (rc) tokjson_free(tj);
    return rc;
}

/* bos_token / eos_token of a tokenizer_config.json: a string or {"content": ...}. */
static char *config_token(const cJSON *root, const char *key) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, key);
    if (cJSON_IsObject(j)) j = cJSON_GetObjectItemCaseSensitive(j, "content");
    return cJSON_IsString(j) ? xstrdup(j->valuestring) : NULL;
}

AvzCode tokjson_load(TokJson *tj, const char *path, char *err) {
    size_t len;
    char *text = tokjson_read_file(path, &len, err);
    if (!text) return AVZ_ERR_INPUT;
    AvzCode rc = tokjson_parse(tj, text, len, path, err);
    free(text);
    if (rc) return rc;
    /* tokenizer_config.json beside it names bos and eos (tokenizer.json does not) */
    char cfg[4096];
    const char *slash = strrchr(path, '/');
    int dir = slash ? (int)(slash - path) + 1 : 0;
    snprintf(cfg, sizeof cfg, "%.*stokenizer_config.json", dir, path);
    struct stat sb;
    if (stat(cfg, &sb) != 0) return AVZ_OK;
    text = tokjson_read_file(cfg, &len, err);
    cJSON *root = text ? parse_json(text, len, cfg, err) : NULL;
    free(text);
    if (!root) {
        tokjson_free(tj);
        return AVZ_ERR_INPUT;
    }
    tj->bos_token = config_token(root, "bos_token");
    tj->eos_token = config_token(root, "eos_token");
    cJSON_Delete(root);
    return AVZ_OK;
}

/* ---- GPT-2's vocab.json + merges.txt -------------------------------------------------------- */

static AvzCode parse_merges_txt(TokJson *tj, char *text, const char *path, char *err) {
    int cap = 1024, line = 0;
    tj->merge_a = avz_xmalloc(sizeof(char *) * (size_t)cap);
    tj->merge_b = avz_xmalloc(sizeof(char *) * (size_t)cap);
    tj->merge_line = avz_xmalloc(sizeof(int) * (size_t)cap);
    for (char *p = text; *p;) {
        char *nl = strchr(p, '\n'), *next = nl ? nl + 1 : p + strlen(p);
        if (nl) *nl = '\0';
        line++;
        size_t n = strlen(p);
        if (n && p[n - 1] == '\r') p[--n] = '\0';
        if (!strncmp(p, "#version", 8)) {
            p = next;
            continue;
        }
        char *sp = strchr(p, ' ');
        if (!sp || sp == p || !sp[1] || strchr(sp + 1, ' '))
            return avz_fail(err, AVZ_ERR_INPUT,
                            "%s:%d: expected \"a b\" (two pieces and one "
                            "space)",
                            path, line);
        if (tj->n_merges == cap) {
            cap *= 2;
            tj->merge_a = realloc(tj->merge_a, sizeof(char *) * (size_t)cap);
            tj->merge_b = realloc(tj->merge_b, sizeof(char *) * (size_t)cap);
            tj->merge_line = realloc(tj->merge_line, sizeof(int) * (size_t)cap);
            AVZ_ASSERT(tj->merge_a && tj->merge_b && tj->merge_line);
        }
        *sp = '\0';
        tj->merge_a[tj->n_merges] = xstrdup(p);
        tj->merge_b[tj->n_merges] = xstrdup(sp + 1);
        tj->merge_line[tj->n_merges++] = line;
        p = next;
    }
    return AVZ_OK;
}

AvzCode tokjson_load_gpt2(TokJson *tj, const char *vocab_json, const char *merges_txt, char *err) {
    init(tj, vocab_json, "vocab.json", "merges.txt");
    tj->merges_from_txt = 1;
    snprintf(tj->merges_field, sizeof tj->merges_field, "%.63s", merges_txt);
    size_t len;
    char *text = tokjson_read_file(vocab_json, &len, err);
    if (!text) return AVZ_ERR_INPUT;
    cJSON *root = parse_json(text, len, vocab_json, err);
    free(text);
    if (!root) return AVZ_ERR_INPUT;
    Ctx c = {vocab_json, err};
    AvzCode rc = AVZ_OK;
    if (!cJSON_IsObject(root))
        rc = avz_fail(err, AVZ_ERR_INPUT,
                      "%s: expected an object "
                      "{\"piece\": id}",
                      vocab_json);
    if (!rc) rc = parse_vocab(&c, root, "", tj);
    cJSON_Delete(root);
    if (!rc && !(text = tokjson_read_file(merges_txt, &len, err))) rc = AVZ_ERR_INPUT;
    if (!rc) {
        rc = parse_merges_txt(tj, text, merges_txt, err);
        free(text);
    }
    if (rc) {
        tokjson_free(tj);
        return rc;
    }
    /* what GPT2TokenizerFast sets up: byte-level pre-tokenizer, <|endoftext|> special */
    tj->pre.steps = avz_xcalloc(1, sizeof *tj->pre.steps);
    tj->pre.n = 1;
    tj->pre.steps[0].kind = PRETOK_BYTELEVEL;
    tj->pre.steps[0].use_regex = 1;
    tj->label = TOKJSON_LABEL_BYTELEVEL;
    for (int i = 0; i < tj->n_pieces; i++) {
        if (strcmp(tj->pieces[i], "<|endoftext|>")) continue;
        tj->added = avz_xcalloc(1, sizeof *tj->added);
        tj->added[0] = (TokJsonAdded){xstrdup("<|endoftext|>"), tj->ids[i], 1, 0, 0, 0, 0};
        tj->n_added = 1;
        tj->bos_token = xstrdup("<|endoftext|>");
        tj->eos_token = xstrdup("<|endoftext|>");
    }
    return AVZ_OK;
}

void tokjson_free(TokJson *tj) {
    for (int i = 0; i < tj->n_pieces; i++) free(tj->pieces[i]);
    for (int i = 0; i < tj->n_merges; i++) {
        free(tj->merge_a[i]);
        free(tj->merge_b[i]);
    }
    for (int i = 0; i < tj->n_added; i++) free(tj->added[i].content);
    free(tj->pieces);
    free(tj->ids);
    free(tj->merge_a);
    free(tj->merge_b);
    free(tj->merge_line);
    free(tj->unk_token);
    free(tj->added);
    free(tj->prefix);
    free(tj->suffix);
    free(tj->bos_token);
    free(tj->eos_token);
    pretok_normalizer_free(&tj->norm);
    pretok_pipeline_free(&tj->pre);
    memset(tj, 0, sizeof *tj);
}
