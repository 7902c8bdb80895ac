/* checkpoint.c: a model folder's weight files as one set of named tensors (see
 * checkpoint.h): one model.safetensors, or the shards of model.safetensors.index.json. */
#define _POSIX_C_SOURCE 200809L
#include "checkpoint.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define CKPT_MAX_SHARDS 4096

/* ---- the index ------------------------------------------------------------------------ */

void ckpt_index_free(CkptIndex *ix) {
    free(ix->names);
    free(ix->file);
    free(ix->files);
    memset(ix, 0, sizeof *ix);
}

/* A shard name must be a plain file name of this folder: a hostile index must not make
 * us open /etc/passwd or ../../secret. */
static int plain_shard_name(const char *s) {
    size_t n = strlen(s);
    const char *ext = ".safetensors";
    size_t e = strlen(ext);
    return n > e && n < 256 && s[0] != '.' && !strchr(s, '/') && !strchr(s, '\\') &&
           strcmp(s + n - e, ext) == 0;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp((const char *)a, (const char *)b);
}

/* The position of shard name in ix->files, added when new; -1 past the shard limit. */
static int shard_slot(CkptIndex *ix, const char *name) {
    for (int i = 0; i < ix->n_files; i++)
        if (strcmp(ix->files[i], name) == 0) return i;
    if (ix->n_files >= CKPT_MAX_SHARDS) return -1;
    snprintf(ix->files[ix->n_files], sizeof ix->files[0], "%s", name);
    return ix->n_files++;
}

static AvzCode index_entries(CkptIndex *ix, const cJSON *map, const char *path, char *err) {
    int n = cJSON_GetArraySize(map);
    ix->names = avz_xcalloc((size_t)(n ? n : 1), sizeof *ix->names);
    ix->file = avz_xcalloc((size_t)(n ? n : 1), sizeof *ix->file);
    ix->files = avz_xcalloc((size_t)(n < CKPT_MAX_SHARDS ? (n ? n : 1) : CKPT_MAX_SHARDS),
                            sizeof *ix->files);
    const cJSON *item;
    cJSON_ArrayForEach(item, map) {
        if (strlen(item->string) >= ST_MAX_NAME)
            return avz_fail(err, AVZ_ERR_INPUT, "%s: weight_map: tensor name '%.40s...' is "
                            "longer than %d bytes", path, item->string, ST_MAX_NAME - 1);
        if (!cJSON_IsString(item) || !plain_shard_name(item->valuestring))
            return avz_fail(err, AVZ_ERR_INPUT, "%s: weight_map: tensor '%s' must name a "
                            ".safetensors file of this folder (a plain file name, got %s%.60s%s)",
                            path, item->string, cJSON_IsString(item) ? "\"" : "",
                            cJSON_IsString(item) ? item->valuestring : "a non-string",
                            cJSON_IsString(item) ? "\"" : "");
        int f = shard_slot(ix, item->valuestring);
        if (f < 0)
            return avz_fail(err, AVZ_ERR_INPUT, "%s: weight_map names more than %d shards",
                            path, CKPT_MAX_SHARDS);
        snprintf(ix->names[ix->n], sizeof ix->names[0], "%s", item->string);
        ix->file[ix->n++] = f;
    }
    if (ix->n == 0)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: weight_map lists no tensors", path);
    /* a name listed twice (JSON allows repeated keys; cJSON keeps both) */
    char (*sorted)[ST_MAX_NAME] = avz_xmalloc(sizeof *sorted * (size_t)ix->n);
    memcpy(sorted, ix->names, sizeof *sorted * (size_t)ix->n);
    qsort(sorted, (size_t)ix->n, sizeof *sorted, cmp_names);
    AvzCode rc = AVZ_OK;
    for (int i = 1; i < ix->n && !rc; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0)
            rc = avz_fail(err, AVZ_ERR_INPUT, "%s: weight_map lists tensor '%s' twice", path,
                          sorted[i]);
    free(sorted);
    return rc;
}

AvzCode ckpt_index_parse(CkptIndex *ix, const char *json, const char *path, char *err) {
    memset(ix, 0, sizeof *ix);
    cJSON *root = cJSON_Parse(json);
    AvzCode rc = AVZ_OK;
    const cJSON *map = root ? cJSON_GetObjectItemCaseSensitive(root, "weight_map") : NULL;
    const cJSON *meta = root ? cJSON_GetObjectItemCaseSensitive(root, "metadata") : NULL;
    if (!root)
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: invalid JSON", path);
    else if (!cJSON_IsObject(root))
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: expected a JSON object {\"weight_map\": ...}", path);
    else if (!map)
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: missing field 'weight_map'", path);
    else if (!cJSON_IsObject(map))
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: field 'weight_map' must be an object "
                      "{tensor: shard file}", path);
    else if (meta && !cJSON_IsObject(meta) && !cJSON_IsNull(meta))
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: field 'metadata' must be an object", path);
    else
        rc = index_entries(ix, map, path, err);
    cJSON_Delete(root);
    if (rc) ckpt_index_free(ix);
    return rc;
}

/* ---- the files -------------------------------------------------------------------------- */

static int cmp_tensor(const void *a, const void *b) {
    const CkptTensor *x = a, *y = b;
    return strcmp(x->info->name, y->info->name);
}

/* Lists every tensor of every file, sorted by name (for ckpt_find). */
static void build_table(Checkpoint *ck) {
    int n = 0;
    for (int f = 0; f < ck->n_files; f++) n += ck->files[f].n_tensors;
    ck->tensors = avz_xcalloc((size_t)(n ? n : 1), sizeof *ck->tensors);
    for (int f = 0; f < ck->n_files; f++)
        for (int i = 0; i < ck->files[f].n_tensors; i++) {
            CkptTensor *t = &ck->tensors[ck->n_tensors++];
            t->info = &ck->files[f].tensors[i];
            t->file = f;
        }
    qsort(ck->tensors, (size_t)ck->n_tensors, sizeof *ck->tensors, cmp_tensor);
}

CkptTensor *ckpt_find(Checkpoint *ck, const char *name) {
    int lo = 0, hi = ck->n_tensors - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(ck->tensors[mid].info->name, name);
        if (c == 0) return &ck->tensors[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

const char *ckpt_file_of(const Checkpoint *ck, const CkptTensor *t) {
    return ck->files[t->file].path;
}

const CkptTensor *ckpt_first_unused(const Checkpoint *ck, int (*skip)(const void *, const char *),
                                    const void *user) {
    for (int i = 0; i < ck->n_tensors; i++)
        if (!ck->tensors[i].used && !(skip && skip(user, ck->tensors[i].info->name)))
            return &ck->tensors[i];
    return NULL;
}

void ckpt_free(Checkpoint *ck) {
    for (int f = 0; f < ck->n_files; f++) safetensors_free(&ck->files[f]);
    free(ck->files);
    free(ck->tensors);
    memset(ck, 0, sizeof *ck);
}

/* The shards agree with the index: each tensor listed is in the shard it names, and a
 * shard holds nothing the index does not list there. */
static AvzCode check_against_index(Checkpoint *ck, const CkptIndex *ix, char *err) {
    for (int i = 0; i < ix->n; i++) {
        const CkptTensor *t = ckpt_find(ck, ix->names[i]);
        if (!t)
            return avz_fail(err, AVZ_ERR_INPUT, "%s: tensor '%s' is listed in shard '%s', but "
                            "no shard has it (%s)", ck->index_path, ix->names[i],
                            ix->files[ix->file[i]], ck->files[ix->file[i]].path);
        if (t->file != ix->file[i])
            return avz_fail(err, AVZ_ERR_INPUT, "%s: tensor '%s' is listed in shard '%s' but is "
                            "in %s", ck->index_path, ix->names[i], ix->files[ix->file[i]],
                            ck->files[t->file].path);
    }
    if (ck->n_tensors != ix->n) {   /* something in a shard that the index does not list */
        for (int i = 0; i < ck->n_tensors; i++) {
            const char *name = ck->tensors[i].info->name;
            int listed = 0;
            for (int j = 0; j < ix->n && !listed; j++) listed = strcmp(ix->names[j], name) == 0;
            if (!listed)
                return avz_fail(err, AVZ_ERR_INPUT, "%s: has tensor '%s', which %s does not list",
                                ck->files[ck->tensors[i].file].path, name, ck->index_path);
        }
        return avz_fail(err, AVZ_ERR_INPUT, "%s: a tensor appears in two shards", ck->index_path);
    }
    return AVZ_OK;
}

static AvzCode open_sharded(Checkpoint *ck, char *err) {
    char *text = avz_read_file(ck->index_path, NULL, err);
    if (!text) return AVZ_ERR_INPUT;
    CkptIndex ix;
    AvzCode rc = ckpt_index_parse(&ix, text, ck->index_path, err);
    free(text);
    if (rc) return rc;
    ck->files = avz_xcalloc((size_t)ix.n_files, sizeof *ck->files);
    for (int f = 0; f < ix.n_files && !rc; f++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", ck->dir, ix.files[f]);
        rc = safetensors_open_any(&ck->files[f], path, err);
        if (rc == AVZ_OK) {
            ck->n_files++;
        } else if (avz_stat_regular(path, NULL, NULL) != AVZ_OK) {
            /* say which tensor needed it: the first one listed there */
            const char *first = "";
            for (int i = 0; i < ix.n && !first[0]; i++)
                if (ix.file[i] == f) first = ix.names[i];
            char why[AVZ_ERR_LEN];
            snprintf(why, sizeof why, "%s", err);
            avz_fail(err, AVZ_ERR_INPUT, "%s: shard '%s' (of tensor '%s' and others) cannot be "
                     "opened: %s", ck->index_path, ix.files[f], first, why);
        }
    }
    if (!rc) {
        build_table(ck);
        rc = check_against_index(ck, &ix, err);
    }
    ckpt_index_free(&ix);
    return rc;
}

AvzCode ckpt_open(Checkpoint *ck, const char *dir, char *err) {
    memset(ck, 0, sizeof *ck);
    snprintf(ck->dir, sizeof ck->dir, "%s", dir);
    char single[4200];
    snprintf(single, sizeof single, "%s/model.safetensors", dir);
    snprintf(ck->index_path, sizeof ck->index_path, "%s/model.safetensors.index.json", dir);
    struct stat sb;
    AvzCode rc;
    if (lstat(single, &sb) == 0 || stat(ck->index_path, &sb) != 0) {
        ck->index_path[0] = '\0';   /* one file (or neither: the message names model.safetensors) */
        ck->files = avz_xcalloc(1, sizeof *ck->files);
        rc = safetensors_open_any(&ck->files[0], single, err);
        if (!rc) {
            ck->n_files = 1;
            build_table(ck);
        }
    } else {
        rc = open_sharded(ck, err);
    }
    if (rc) ckpt_free(ck);
    return rc;
}
