/* config.c: reads and writes a model's config.json (the hyper-parameters).
 *
 * The file follows Hugging Face's GPT-2 config.json (n_layer, n_head, n_embd,
 * n_positions, vocab_size, layer_norm_epsilon) plus two fields of attnviz's own:
 * position_encoding and tokenizer. Keys attnviz does not use ("model_type",
 * "architectures", ...) are ignored, so a GPT-2 config only needs
 * "position_encoding": "learned" added. Every field is checked for presence, type
 * and range before the model code sees it, and every message names the file and
 * the field, because a hand-edited config is the most common way to break a
 * model folder. model/FORMAT.md documents each field. */
#include "config.h"

#include "attention.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const PE_NAMES[PE_COUNT] = {"none", "sinusoidal", "learned", "rope", "alibi"};

/* Upper bounds: generous for any model a CPU can run, small enough that the
 * parameter count of a config cannot overflow a size_t. */
#define CFG_MAX_LAYER 64
#define CFG_MAX_HEAD 64
#define CFG_MAX_EMBD 8192
#define CFG_MAX_POSITIONS (1 << 20)
#define CFG_MAX_VOCAB (1 << 20)

const char *pe_name(PosEncoding pe) {
    if ((int)pe < 0 || pe >= PE_COUNT) return "?";
    return PE_NAMES[pe];
}

int pe_from_name(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < PE_COUNT; i++)
        if (strcmp(name, PE_NAMES[i]) == 0) return i;
    return -1;
}

int config_max_len(const ModelConfig *cfg) {
    /* A learned table has exactly n_positions rows: there is no vector for the
     * position after the last. The computed encodings can go further, up to
     * the global cap. */
    if (cfg->pe == PE_LEARNED)
        return cfg->n_positions < AVZ_MAX_T ? cfg->n_positions : AVZ_MAX_T;
    return AVZ_MAX_T;
}

/* The line (1-based) of position pos in text, for "invalid JSON near line N". */
static int line_of(const char *text, const char *pos) {
    int line = 1;
    for (const char *c = text; c < pos && *c; c++)
        if (*c == '\n') line++;
    return line;
}

/* Describes a JSON value's kind for "(got ...)" messages. */
static void describe(const cJSON *item, char *buf, size_t len) {
    if (cJSON_IsNumber(item)) snprintf(buf, len, "%.15g", item->valuedouble);
    else if (cJSON_IsString(item)) snprintf(buf, len, "the string \"%.40s\"", item->valuestring);
    else if (cJSON_IsBool(item)) snprintf(buf, len, "%s", cJSON_IsTrue(item) ? "true" : "false");
    else if (cJSON_IsNull(item)) snprintf(buf, len, "null");
    else if (cJSON_IsArray(item)) snprintf(buf, len, "an array");
    else snprintf(buf, len, "an object");
}

/* Reads the required integer field key into *out, checking 1 <= value <= hi.
 * A number with a fractional part (4.5) is not an integer. */
static AvzCode get_pos_int(const cJSON *root, const char *key, int hi, int *out,
                           const char *path, char *err) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!item)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: missing field '%s' (a positive integer)", path, key);
    double v = item->valuedouble;
    if (!cJSON_IsNumber(item) || v != floor(v) || v < 1) {
        char got[64];
        describe(item, got, sizeof got);
        return avz_fail(err, AVZ_ERR_INPUT, "%s: field '%s' must be a positive integer (got %s)",
                        path, key, got);
    }
    if (v > hi)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: field '%s' must be at most %d (got %.15g)",
                        path, key, hi, v);
    *out = (int)v;
    return AVZ_OK;
}

/* Reads the optional number field key (default def), which must be > 0 and
 * stay > 0 and finite once stored as a float. */
static AvzCode get_pos_float(const cJSON *root, const char *key, float def, float *out,
                             const char *path, char *err) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!item) {
        *out = def;
        return AVZ_OK;
    }
    float f = cJSON_IsNumber(item) ? (float)item->valuedouble : 0.0f;
    if (!cJSON_IsNumber(item) || !(f > 0.0f) || isinf(f)) {
        char got[64];
        describe(item, got, sizeof got);
        return avz_fail(err, AVZ_ERR_INPUT,
                        "%s: field '%s' must be a number > 0 that fits a float (got %s)",
                        path, key, got);
    }
    *out = f;
    return AVZ_OK;
}

/* Reads the string field key; NULL in *out when it is absent. */
static AvzCode get_string(const cJSON *root, const char *key, const char **out,
                          const char *path, char *err) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    *out = NULL;
    if (!item) return AVZ_OK;
    if (!cJSON_IsString(item)) {
        char got[64];
        describe(item, got, sizeof got);
        return avz_fail(err, AVZ_ERR_INPUT, "%s: field '%s' must be a string (got %s)", path,
                        key, got);
    }
    *out = item->valuestring;
    return AVZ_OK;
}

/* position_encoding (required) and tokenizer (default "word"). */
static AvzCode get_names(const cJSON *root, ModelConfig *cfg, const char *path, char *err) {
    const char *s;
    AvzCode rc = get_string(root, "position_encoding", &s, path, err);
    if (rc) return rc;
    if (!s)
        return avz_fail(err, AVZ_ERR_INPUT,
                        "%s: missing field 'position_encoding' (one of none, sinusoidal, "
                        "learned, rope, alibi; GPT-2 uses \"learned\")", path);
    int pe = pe_from_name(s);
    if (pe < 0)
        return avz_fail(err, AVZ_ERR_INPUT,
                        "%s: field 'position_encoding' must be one of none, sinusoidal, "
                        "learned, rope, alibi (got \"%.40s\")", path, s);
    cfg->pe = (PosEncoding)pe;

    if ((rc = get_string(root, "tokenizer", &s, path, err))) return rc;
    if (s && strcmp(s, "word") != 0)
        return avz_fail(err, AVZ_ERR_INPUT,
                        "%s: field 'tokenizer' must be \"word\", the only tokenizer attnviz "
                        "has (got \"%.40s\")", path, s);
    snprintf(cfg->tokenizer, sizeof cfg->tokenizer, "word");
    return AVZ_OK;
}

/* Checks that relate two fields: heads must split the width evenly, and the
 * encodings that pair up dimensions (sin/cos, rotation planes) need even sizes. */
static AvzCode check_shapes(const ModelConfig *cfg, const char *path, char *err) {
    if (cfg->n_embd % cfg->n_head != 0)
        return avz_fail(err, AVZ_ERR_INPUT,
                        "%s: field 'n_embd' (%d) must be divisible by 'n_head' (%d), so that "
                        "every head gets the same size", path, cfg->n_embd, cfg->n_head);
    int hs = cfg->n_embd / cfg->n_head;
    if (hs > AVZ_MAX_HS)
        return avz_fail(err, AVZ_ERR_INPUT,
                        "%s: field 'n_embd' / 'n_head' = %d: heads larger than %d dimensions are "
                        "not supported (use more heads)", path, hs, AVZ_MAX_HS);
    if (cfg->pe == PE_ROPE && hs % 2 != 0)
        return avz_fail(err, AVZ_ERR_INPUT,
                        "%s: field 'n_embd' / 'n_head' = %d must be even for rope, which "
                        "rotates pairs of dimensions", path, hs);
    if (cfg->pe == PE_SINUSOIDAL && cfg->n_embd % 2 != 0)
        return avz_fail(err, AVZ_ERR_INPUT,
                        "%s: field 'n_embd' (%d) must be even for sinusoidal, which pairs a "
                        "sin and a cos per frequency", path, cfg->n_embd);
    return AVZ_OK;
}

static AvzCode config_from_json(ModelConfig *cfg, const cJSON *root, const char *path,
                                char *err) {
    AvzCode rc;
    if ((rc = get_pos_int(root, "n_layer", CFG_MAX_LAYER, &cfg->n_layer, path, err))) return rc;
    if ((rc = get_pos_int(root, "n_head", CFG_MAX_HEAD, &cfg->n_head, path, err))) return rc;
    if ((rc = get_pos_int(root, "n_embd", CFG_MAX_EMBD, &cfg->n_embd, path, err))) return rc;
    if ((rc = get_pos_int(root, "n_positions", CFG_MAX_POSITIONS, &cfg->n_positions, path, err)))
        return rc;
    if ((rc = get_pos_int(root, "vocab_size", CFG_MAX_VOCAB, &cfg->vocab_size, path, err)))
        return rc;
    if ((rc = get_pos_float(root, "layer_norm_epsilon", 1e-5f, &cfg->layer_norm_epsilon, path,
                            err)))
        return rc;
    if ((rc = get_pos_float(root, "rope_theta", 10000.0f, &cfg->rope_theta, path, err)))
        return rc;
    if ((rc = get_names(root, cfg, path, err))) return rc;
    return check_shapes(cfg, path, err);
}

AvzCode config_parse(ModelConfig *cfg, const char *json, const char *path, char *err) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &end, 1); /* 1: nothing may follow */
    if (!root)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: invalid JSON near line %d", path,
                        line_of(json, end ? end : json));
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return avz_fail(err, AVZ_ERR_INPUT, "%s: expected a JSON object {...} at the top", path);
    }
    ModelConfig tmp;
    memset(&tmp, 0, sizeof tmp);
    AvzCode rc = config_from_json(&tmp, root, path, err);
    cJSON_Delete(root);
    if (rc == AVZ_OK) *cfg = tmp; /* cfg is untouched on failure */
    return rc;
}

AvzCode config_load(ModelConfig *cfg, const char *dir, char *err) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/config.json", dir) >= (int)sizeof path)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: folder path too long", dir);
    char *text = avz_read_file(path, NULL, err);
    if (!text) return AVZ_ERR_INPUT;
    AvzCode rc = config_parse(cfg, text, path, err);
    free(text);
    return rc;
}

/* A float as the double with the shortest decimal form that reads back as the
 * same float, so that 1e-5f is saved as 1e-05 and not as 9.99999974737875e-06. */
static double shortest_double(float f) {
    char buf[32];
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
        if (strtof(buf, NULL) == f) break;
    }
    return strtod(buf, NULL);
}

AvzCode config_save(const ModelConfig *cfg, const char *dir, char *err) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/config.json", dir) >= (int)sizeof path)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: folder path too long", dir);
    cJSON *root = cJSON_CreateObject();
    /* model_type lets Hugging Face tools recognise the GPT-2 layout. Each Add
     * returns NULL when out of memory; ok collects those. */
    int ok = root != NULL;
    ok = ok && cJSON_AddStringToObject(root, "model_type", "gpt2");
    ok = ok && cJSON_AddNumberToObject(root, "n_layer", cfg->n_layer);
    ok = ok && cJSON_AddNumberToObject(root, "n_head", cfg->n_head);
    ok = ok && cJSON_AddNumberToObject(root, "n_embd", cfg->n_embd);
    ok = ok && cJSON_AddNumberToObject(root, "n_positions", cfg->n_positions);
    ok = ok && cJSON_AddNumberToObject(root, "vocab_size", cfg->vocab_size);
    ok = ok && cJSON_AddNumberToObject(root, "layer_norm_epsilon",
                                       shortest_double(cfg->layer_norm_epsilon));
    ok = ok && cJSON_AddStringToObject(root, "position_encoding", pe_name(cfg->pe));
    ok = ok && cJSON_AddNumberToObject(root, "rope_theta", shortest_double(cfg->rope_theta));
    ok = ok && cJSON_AddStringToObject(root, "tokenizer", "word");
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) return avz_fail(err, AVZ_ERR_INTERNAL, "%s: out of memory", path);
    /* end the file with a newline, as text files should */
    size_t n = strlen(text);
    char *out = avz_xmalloc(n + 1);
    memcpy(out, text, n);
    out[n] = '\n';
    cJSON_free(text);
    AvzCode rc = avz_write_file_atomic(path, out, n + 1, err);
    free(out);
    return rc;
}
