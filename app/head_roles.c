/* head_roles.c: head roles by the standard protocol, measured once and cached (see
 * head_roles.h). */
#define _DEFAULT_SOURCE
#include "head_roles.h"

#include "bpe.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#define BIG_MODEL 20000000   /* parameters: fewer sequences per length above this */
#define CACHE_VERSION 1

void head_roles_opts(const Model *m, DetectOpts *o) {
    detect_opts_default(o, &m->cfg);
    if (m->cfg.n_positions > 256) {   /* long contexts: 64 and 128 stand for "long" */
        int k = 0;
        for (int i = 0; i < o->n_lengths; i++)
            if (o->lengths[i] <= 30) o->lengths[k++] = o->lengths[i];
        o->lengths[k++] = 64;
        o->lengths[k++] = 128;
        o->n_lengths = k;
    }
    if (m->num_parameters > BIG_MODEL) o->seqs_per_length = 8;
    o->max_batch = m->num_parameters > BIG_MODEL ? 2 : 0;
}

int *head_roles_pool(const Engine *e, int *n, int *bos) {
    const Model *m = &e->model;
    if (e->tok.kind == TOKENIZER_WORD) {
        *bos = m->vocab.bos_id;
        return detect_pool_word_vocab(&m->vocab, n);
    }
    int V = e->tok.n_vocab < m->cfg.vocab_size ? e->tok.n_vocab : m->cfg.vocab_size;
    int *pool = avz_xmalloc(sizeof(int) * (size_t)(V > 0 ? V : 1)), k = 0;
    for (int id = 0; id < V; id++)
        if (tokenizer_piece(&e->tok, NULL, id) && !tokenizer_is_special(&e->tok, NULL, id))
            pool[k++] = id;
    *n = k;
    *bos = e->tok.bos_id >= 0 ? e->tok.bos_id : bpe_bos_id(e->tok.bpe);
    return pool;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

uint64_t head_roles_weights_hash(const Model *m) {
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv(h, &m->cfg, sizeof m->cfg);
    return fnv(h, m->params_memory, m->num_parameters * sizeof(float));
}

static uint64_t opts_hash(const DetectOpts *o) {
    uint64_t h = 0xcbf29ce484222325ull;
    int v = CACHE_VERSION;
    h = fnv(h, &v, sizeof v);
    h = fnv(h, o->lengths, sizeof(int) * (size_t)o->n_lengths);
    h = fnv(h, &o->seqs_per_length, sizeof o->seqs_per_length);
    return fnv(h, &o->seed, sizeof o->seed);
}

static void cache_dir(char *buf, size_t n) {
    const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (x && x[0]) snprintf(buf, n, "%s/attnviz", x);
    else snprintf(buf, n, "%s/.cache/attnviz", home && home[0] ? home : "/tmp");
}

void head_roles_cache_path(const Model *m, const DetectOpts *o, char *buf, size_t n) {
    char dir[4096];
    cache_dir(dir, sizeof dir);
    snprintf(buf, n, "%s/roles-%016llx-%08llx.json", dir,
             (unsigned long long)head_roles_weights_hash(m),
             (unsigned long long)(opts_hash(o) & 0xffffffffull));
}

/* mkdir -p of the cache folder; 0 or -1. */
static int make_dirs(const char *dir) {
    char p[4096];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) return -1;
            *s = '/';
        }
    return mkdir(p, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* ---- the cache file: the report as JSON ---- */

static void report_alloc(DetectReport *r) {
    size_t nh = (size_t)r->L * r->NH;
    r->score = avz_xcalloc(DET_COUNT * nh, sizeof(float));
    r->by_length = avz_xcalloc(DET_COUNT * (size_t)r->n_lengths * nh, sizeof(float));
    r->uniform_by_length = avz_xcalloc(DET_COUNT * (size_t)r->n_lengths, sizeof(float));
    r->loss_first = avz_xcalloc((size_t)r->n_lengths, sizeof(float));
    r->loss_second = avz_xcalloc((size_t)r->n_lengths, sizeof(float));
}

static cJSON *floats(const float *v, size_t n) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

/* Reads n floats from array j; 0 when it is exactly that. */
static int read_floats(const cJSON *j, float *out, size_t n) {
    if (!cJSON_IsArray(j) || (size_t)cJSON_GetArraySize(j) != n) return -1;
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, j) {
        if (!cJSON_IsNumber(it)) return -1;
        out[i++] = (float)it->valuedouble;
    }
    return 0;
}

static void cache_write(const char *path, const DetectReport *r, char *note) {
    char dir[4096];
    cache_dir(dir, sizeof dir);
    size_t nh = (size_t)r->L * r->NH;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "version", CACHE_VERSION);
    cJSON_AddStringToObject(j, "protocol", "standard: random repeated blocks (model/detect.h)");
    cJSON_AddNumberToObject(j, "n_layer", r->L);
    cJSON_AddNumberToObject(j, "n_head", r->NH);
    cJSON_AddItemToObject(j, "lengths", cJSON_CreateIntArray(r->lengths, r->n_lengths));
    cJSON_AddNumberToObject(j, "seqs_per_length", r->seqs_per_length);
    cJSON_AddNumberToObject(j, "n_pool", r->n_pool);
    cJSON_AddNumberToObject(j, "bos", r->bos);
    cJSON_AddNumberToObject(j, "seed", (double)r->seed);
    cJSON_AddItemToObject(j, "score", floats(r->score, DET_COUNT * nh));
    cJSON_AddItemToObject(j, "by_length", floats(r->by_length, DET_COUNT * r->n_lengths * nh));
    cJSON_AddItemToObject(j, "uniform", floats(r->uniform, DET_COUNT));
    cJSON_AddItemToObject(j, "uniform_by_length",
                          floats(r->uniform_by_length, DET_COUNT * (size_t)r->n_lengths));
    cJSON_AddItemToObject(j, "loss_first", floats(r->loss_first, r->n_lengths));
    cJSON_AddItemToObject(j, "loss_second", floats(r->loss_second, r->n_lengths));
    cJSON_AddNumberToObject(j, "loss_chance", r->loss_chance);
    char *txt = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    AvzErr err;
    if (make_dirs(dir) != 0 || avz_write_file_atomic(path, txt, strlen(txt), err) != AVZ_OK)
        snprintf(note, AVZ_ERR_LEN, "head roles: cannot write the cache %.400s (measured "
                 "again next time)", path);
    free(txt);
}

/* The cached report at path for a model of L x NH under o; 0 on success. */
static int cache_read(const char *path, const Model *m, const DetectOpts *o, DetectReport *r) {
    size_t len;
    char *txt = avz_read_file(path, &len, NULL);
    if (!txt) return -1;
    cJSON *j = cJSON_Parse(txt);
    free(txt);
    if (!j) return -1;
    memset(r, 0, sizeof *r);
    r->L = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "n_layer"));
    r->NH = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "n_head"));
    r->n_lengths = cJSON_GetArraySize(cJSON_GetObjectItem(j, "lengths"));
    int ok = r->L == m->cfg.n_layer && r->NH == m->cfg.n_head && r->n_lengths == o->n_lengths;
    if (ok) {
        report_alloc(r);
        size_t nh = (size_t)r->L * r->NH;
        float lens[DETECT_MAX_LENGTHS];
        ok = read_floats(cJSON_GetObjectItem(j, "lengths"), lens, r->n_lengths) == 0 &&
             read_floats(cJSON_GetObjectItem(j, "score"), r->score, DET_COUNT * nh) == 0 &&
             read_floats(cJSON_GetObjectItem(j, "by_length"), r->by_length,
                         DET_COUNT * r->n_lengths * nh) == 0 &&
             read_floats(cJSON_GetObjectItem(j, "uniform"), r->uniform, DET_COUNT) == 0 &&
             read_floats(cJSON_GetObjectItem(j, "uniform_by_length"), r->uniform_by_length,
                         DET_COUNT * (size_t)r->n_lengths) == 0 &&
             read_floats(cJSON_GetObjectItem(j, "loss_first"), r->loss_first, r->n_lengths) == 0 &&
             read_floats(cJSON_GetObjectItem(j, "loss_second"), r->loss_second, r->n_lengths) == 0;
        for (int k = 0; ok && k < r->n_lengths; k++) {
            r->lengths[k] = (int)lens[k];
            ok = r->lengths[k] == o->lengths[k];
        }
        r->seqs_per_length = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "seqs_per_length"));
        r->n_pool = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "n_pool"));
        r->bos = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "bos"));
        r->seed = (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "seed"));
        r->loss_chance = (float)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "loss_chance"));
        ok = ok && r->seqs_per_length == o->seqs_per_length && r->seed == o->seed;
    }
    cJSON_Delete(j);
    if (!ok) detect_report_free(r);
    return ok ? 0 : -1;
}

AvzCode head_roles_measure(Engine *e, AvzProgressFn progress, void *user, DetectReport *r,
                           int *cached, char *note, char *err) {
    Model *m = &e->model;
    if (note) note[0] = '\0';
    char nbuf[AVZ_ERR_LEN] = "";
    if (!note) note = nbuf;
    DetectOpts o;
    head_roles_opts(m, &o);
    o.progress = progress;
    o.user = user;
    char path[4400];
    head_roles_cache_path(m, &o, path, sizeof path);
    if (cached) *cached = 0;
    if (cache_read(path, m, &o, r) == 0) {
        if (cached) *cached = 1;
        return AVZ_OK;
    }
    int n, bos;
    int *pool = head_roles_pool(e, &n, &bos);
    AvzCode rc = detect_run(&e->be, m, pool, n, bos, &o, NULL, r, note, err);
    free(pool);
    if (!rc) cache_write(path, r, note);
    return rc;
}

void head_roles_label(const DetectReport *r, int head, char *buf, size_t n) {
    int nh = r->L * r->NH, best = -1;
    float bs = 0.0f;
    for (int k = 0; k < DET_COUNT; k++) {
        float s = r->score[(size_t)k * nh + head];
        if (s > bs && s > 2.0f * r->uniform[k]) best = k, bs = s;
    }
    if (best < 0 || bs < 0.2f) snprintf(buf, n, "mixed");
    else snprintf(buf, n, "%s%s %.2f", bs < 0.5f ? "weak " : "",
                  detect_role_name((DetectRole)best), bs);
}
