/* batch.c: file names and the index of a batch export (see batch.h). */
#define _DEFAULT_SOURCE
#include "cli/batch.h"

#include <errno.h>
#include <sys/stat.h>

static const char *PLACEHOLDERS[] = {"n", "layer", "head", "model"};
#define N_PLACEHOLDERS ((int)(sizeof PLACEHOLDERS / sizeof PLACEHOLDERS[0]))

static int is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Index of the placeholder {key} (key of n bytes) or -1. */
static int placeholder(const char *key, size_t n) {
    for (int i = 0; i < N_PLACEHOLDERS; i++)
        if (strlen(PLACEHOLDERS[i]) == n && memcmp(PLACEHOLDERS[i], key, n) == 0) return i;
    return -1;
}

/* Checks every {...} of name; sets *has_n when {n} is among them. */
static AvzCode check_pattern(const char *name, const char *out, int *has_n, char *err) {
    *has_n = 0;
    for (const char *p = name; (p = strchr(p, '{')); p++) {
        const char *close = strchr(p, '}');
        if (!close)
            return avz_fail(err, AVZ_ERR_INPUT, "--out '%s': '{' without '}'", out);
        int k = placeholder(p + 1, (size_t)(close - p - 1));
        if (k < 0)
            return avz_fail(err, AVZ_ERR_INPUT, "--out '%s': unknown placeholder '%.*s' (use "
                            "{n}, {layer}, {head}, {model})", out, (int)(close - p + 1), p);
        *has_n |= k == 0;
    }
    return AVZ_OK;
}

AvzCode batch_names_init(BatchNames *b, const char *out, const char *ext, int count, char *err) {
    memset(b, 0, sizeof *b);
    size_t n = strlen(out);
    if (n == 0) return avz_fail(err, AVZ_ERR_INPUT, "--out is empty");
    if (n >= sizeof b->folder) return avz_fail(err, AVZ_ERR_INPUT, "--out: path too long");
    if (out[n - 1] == '/' || is_dir(out)) {   /* a folder: DIR/001.png, ... */
        snprintf(b->folder, sizeof b->folder, "%s", out);
        size_t k = strlen(b->folder);
        while (k > 1 && b->folder[k - 1] == '/') b->folder[--k] = '\0';
        snprintf(b->name, sizeof b->name, "{n}.%s", ext);
    } else {
        const char *slash = strrchr(out, '/');
        if (slash) snprintf(b->folder, sizeof b->folder, "%.*s", slash == out ? 1 : (int)(slash - out), out);
        else snprintf(b->folder, sizeof b->folder, ".");
        const char *name = slash ? slash + 1 : out;
        if (strlen(name) >= sizeof b->name) return avz_fail(err, AVZ_ERR_INPUT, "--out: file name too long");
        snprintf(b->name, sizeof b->name, "%s", name);
        if (strchr(b->folder, '{'))
            return avz_fail(err, AVZ_ERR_INPUT, "--out '%s': placeholders go in the file name, "
                            "not in the folder", out);
    }
    int has_n;
    AvzCode rc = check_pattern(b->name, out, &has_n, err);
    if (rc) return rc;
    if (!has_n)
        return avz_fail(err, AVZ_ERR_INPUT, "--out '%s': a batch writes one file per text: put "
                        "{n} in the name (e.g. 'slides/{n}.png') or give a folder ending in /", out);
    b->width = 3;
    for (int c = count; c >= 1000; c /= 10) b->width++;
    return AVZ_OK;
}

AvzCode batch_name(const BatchNames *b, const BatchFields *f, char *path, size_t len, char *err) {
    size_t k = 0;   /* "001.png" for the folder ".", not "./001.png" */
    if (strcmp(b->folder, ".") != 0)
        k = (size_t)snprintf(path, len, "%s/", strcmp(b->folder, "/") == 0 ? "" : b->folder);
    for (const char *p = b->name; *p && k < len;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        if (!close) {
            path[k++] = *p++;
            continue;
        }
        int key = placeholder(p + 1, (size_t)(close - p - 1)), num = key == 1 ? f->layer : f->head;
        if (key == 0) k += (size_t)snprintf(path + k, len - k, "%0*d", b->width, f->n);
        else if (key == 3) k += (size_t)snprintf(path + k, len - k, "%s", f->model);
        else if (num < 0) k += (size_t)snprintf(path + k, len - k, "all");
        else k += (size_t)snprintf(path + k, len - k, "%d", num);
        p = close + 1;
    }
    if (k >= len) return avz_fail(err, AVZ_ERR_INPUT, "--out: the path of text %d is too long", f->n);
    path[k] = '\0';
    return AVZ_OK;
}

AvzCode batch_make_folder(const BatchNames *b, char *err) {
    if (is_dir(b->folder)) return AVZ_OK;
    if (mkdir(b->folder, 0777) != 0 && errno != EEXIST)
        return avz_fail(err, AVZ_ERR_INPUT, "--out: cannot create the folder %s: %s", b->folder,
                        strerror(errno));
    return AVZ_OK;
}

const char *batch_status_name(BatchStatus s) {
    return s == BATCH_OK ? "ok" : s == BATCH_BAD_INPUT ? "bad_input" : "internal_error";
}

cJSON *batch_rows_json(const BatchRow *rows, int n) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        const BatchRow *r = &rows[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "n", r->n);
        cJSON_AddNumberToObject(o, "line", r->line);
        cJSON_AddStringToObject(o, "label", r->label);
        cJSON_AddStringToObject(o, "text", r->text);
        cJSON_AddNumberToObject(o, "n_tokens", r->n_tokens);
        if (r->file[0]) cJSON_AddStringToObject(o, "file", r->file);
        else cJSON_AddNullToObject(o, "file");
        cJSON_AddStringToObject(o, "status", batch_status_name(r->status));
        if (r->message[0]) cJSON_AddStringToObject(o, "message", r->message);
        else cJSON_AddNullToObject(o, "message");
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* One CSV field: quoted (quotes doubled) when it holds a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *s, int last) {
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"') fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputs(last ? "\n" : ",", f);
}

AvzCode batch_index_csv(const char *path, const BatchRow *rows, int n, char *err) {
    AvzAtomicFile af;
    AvzCode rc = avz_atomic_open(&af, path, err);
    if (rc) return rc;
    fputs("n,line,label,text,n_tokens,file,status,message\n", af.f);
    for (int i = 0; i < n; i++) {
        const BatchRow *r = &rows[i];
        fprintf(af.f, "%d,%d,", r->n, r->line);
        csv_field(af.f, r->label, 0);
        csv_field(af.f, r->text, 0);
        fprintf(af.f, "%d,", r->n_tokens);
        csv_field(af.f, r->file, 0);
        csv_field(af.f, batch_status_name(r->status), 0);
        csv_field(af.f, r->message, 1);
    }
    return avz_atomic_commit(&af, err);   /* a failed write is caught there */
}
