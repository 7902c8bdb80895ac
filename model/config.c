/* config.c: reads and writes a model's config.json (the hyper-parameters).
 *
 * Two kinds of file (config.h):
 *   - attnviz's own: Hugging Face's GPT-2 fields (n_layer, n_head, n_embd, n_positions,
 *     vocab_size, layer_norm_epsilon) plus two of attnviz's: position_encoding and
 *     tokenizer. Keys it does not use ("model_type", "architectures", ...) are ignored.
 *     A config with a position_encoding field is one of these, read exactly as always.
 *   - a Hugging Face checkpoint's (no position_encoding): model_type picks the family's
 *     row of the architecture table (arch.h), which names the keys to read and the
 *     values the family cannot have (rope_scaling, ...).
 * Every field is checked for presence, type and range before the model code sees it,
 * and every message names the file and the field, because a hand-edited config is the
 * most common way to break a model folder. model/FORMAT.md documents each field. */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include "arch.h"
#include "attention.h"
#include "tokenizer.h"

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
                        "learned, rope, alibi; GPT-2 uses \"learned\"), or a Hugging Face "
                        "'model_type' (%s)", path, arch_model_types());
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

/* attnviz's own config.json: exactly the fields above. */
static AvzCode config_from_ours(ModelConfig *cfg, const cJSON *root, const char *path,
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
    cfg->arch = ARCH_GPT2;
    cfg->bos_id = cfg->eos_id = -1;
    return check_shapes(cfg, path, err);
}

/* ---- Hugging Face config.json (the families of arch.h) ---------------------------- */

/* The largest MLP width accepted (Llama 3 70B: 28672). */
#define CFG_MAX_INNER (1 << 16)

/* Like get_pos_int, but absent or null gives def. */
static AvzCode get_opt_int(const cJSON *root, const char *key, int def, int hi, int *out,
                           const char *path, char *err) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!item || cJSON_IsNull(item)) {
        *out = def;
        return AVZ_OK;
    }
    return get_pos_int(root, key, hi, out, path, err);
}

/* A boolean field: absent or null gives def. */
static AvzCode get_bool(const cJSON *root, const char *key, int def, int *out, const char *path,
                        char *err) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!item || cJSON_IsNull(item)) {
        *out = def;
        return AVZ_OK;
    }
    if (!cJSON_IsBool(item)) {
        char got[64];
        describe(item, got, sizeof got);
        return avz_fail(err, AVZ_ERR_INPUT, "%s: field '%s' must be true or false (got %s)",
                        path, key, got);
    }
    *out = cJSON_IsTrue(item);
    return AVZ_OK;
}

/* A token id (bos_token_id, eos_token_id): an integer, a list of them (Llama 3's eos
 * ids: the first is kept), null or absent (-1). Out of range ids are not errors here:
 * they are checked against the vocabulary where they are used. */
static AvzCode get_token_id(const cJSON *root, const char *key, int *out, const char *path,
                            char *err) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    *out = -1;
    if (cJSON_IsArray(item)) item = item->child;
    if (!item || cJSON_IsNull(item)) return AVZ_OK;
    double v = item->valuedouble;
    if (!cJSON_IsNumber(item) || v != floor(v) || v < 0 || v > CFG_MAX_VOCAB) {
        char got[64];
        describe(item, got, sizeof got);
        return avz_fail(err, AVZ_ERR_INPUT, "%s: field '%s' must be a token id (got %s)", path,
                        key, got);
    }
    *out = (int)v;
    return AVZ_OK;
}

/* The values the family's forward pass does not implement (ArchLimit). */
static AvzCode check_limits(const ArchInfo *a, const cJSON *root, const char *path, char *err) {
    for (int i = 0; i < ARCH_MAX_LIMITS && a->limits[i].key; i++) {
        const ArchLimit *lim = &a->limits[i];
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, lim->key);
        if (!item || cJSON_IsNull(item)) continue;
        int ok = 0;
        switch (lim->rule) {
        case MUST_NULL: ok = 0; break;
        case MUST_FALSE: ok = cJSON_IsFalse(item); break;
        case MUST_TRUE: ok = cJSON_IsTrue(item); break;
        case MUST_NULL_OR_WIDE: ok = cJSON_IsNumber(item) && item->valuedouble >= AVZ_MAX_T; break;
        }
        if (ok) continue;
        char got[64];
        describe(item, got, sizeof got);
        return avz_fail(err, AVZ_ERR_INPUT, "%s: field '%s' is %s: unsupported (%s); attnviz "
                        "runs %s models without it", path, lim->key, got, lim->why,
                        a->model_type);
    }
    return AVZ_OK;
}

/* The activation (GPT-2's activation_function, Llama's hidden_act) must be one the
 * family's MLP computes: GELU's tanh form, or SiLU. */
static AvzCode check_activation(const ArchInfo *a, const cJSON *root, const char *path,
                                char *err) {
    const char *s;
    AvzCode rc = get_string(root, a->keys.act, &s, path, err);
    if (rc || !s) return rc;
    for (int i = 0; i < ARCH_MAX_ACTS && a->acts[i]; i++)
        if (strcmp(s, a->acts[i]) == 0) return AVZ_OK;
    char list[96] = "";
    for (int i = 0; i < ARCH_MAX_ACTS && a->acts[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 a->acts[i]);
    return avz_fail(err, AVZ_ERR_INPUT, "%s: field '%s' is \"%.40s\": unsupported activation "
                    "(%s models here use %s)", path, a->keys.act, s, a->model_type, list);
}

/* The cross-field checks of a Hugging Face config, each naming its fields. */
static AvzCode check_shapes_hf(const ModelConfig *c, const ArchInfo *a, int head_dim_given,
                               const char *path, char *err) {
    const ArchKeys *k = &a->keys;
    if (!head_dim_given && c->n_embd % c->n_head != 0)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: field '%s' (%d) must be divisible by '%s' (%d) "
                        "when there is no 'head_dim'", path, k->n_embd, c->n_embd, k->n_head,
                        c->n_head);
    if (c->n_head % c->n_kv_head != 0)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: field '%s' (%d) must divide '%s' (%d): every "
                        "key/value head serves the same number of query heads", path,
                        k->n_kv_head ? k->n_kv_head : "n_kv_head", c->n_kv_head, k->n_head,
                        c->n_head);
    if (c->head_dim > AVZ_MAX_HS)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: field '%s' = %d: heads larger than %d "
                        "dimensions are not supported", path,
                        head_dim_given ? k->head_dim : k->n_embd, c->head_dim, AVZ_MAX_HS);
    if (c->pe == PE_ROPE && c->head_dim % 2 != 0)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: head size %d ('%s') must be even for RoPE, "
                        "which rotates pairs of dimensions", path, c->head_dim,
                        head_dim_given ? k->head_dim : k->n_embd);
    return AVZ_OK;
}

/* The context length: keys.n_ctx, or keys.n_ctx_alt when that is absent. */
static AvzCode get_context(const ArchInfo *a, const cJSON *root, int *out, const char *path,
                           char *err) {
    const char *key = a->keys.n_ctx;
    if (a->keys.n_ctx_alt && !cJSON_GetObjectItemCaseSensitive(root, key) &&
        cJSON_GetObjectItemCaseSensitive(root, a->keys.n_ctx_alt))
        key = a->keys.n_ctx_alt;
    return get_pos_int(root, key, CFG_MAX_POSITIONS, out, path, err);
}

/* A Hugging Face config.json of family a, read through its row of the table. */
static AvzCode config_from_hf(ModelConfig *c, const cJSON *root, const ArchInfo *a,
                              const char *path, char *err) {
    const ArchKeys *k = &a->keys;
    AvzCode rc;
    c->arch = a->id;
    c->hf = 1;
    c->pe = a->pe;
    c->norm = a->norm;
    c->mlp = a->mlp;
    snprintf(c->tokenizer, sizeof c->tokenizer, "none");   /* model_load looks at the files */
    if ((rc = get_pos_int(root, k->n_layer, CFG_MAX_LAYER, &c->n_layer, path, err))) return rc;
    if ((rc = get_pos_int(root, k->n_head, CFG_MAX_HEAD, &c->n_head, path, err))) return rc;
    if ((rc = get_pos_int(root, k->n_embd, CFG_MAX_EMBD, &c->n_embd, path, err))) return rc;
    c->n_kv_head = c->n_head;
    if (k->n_kv_head &&
        (rc = get_opt_int(root, k->n_kv_head, c->n_head, CFG_MAX_HEAD, &c->n_kv_head, path, err)))
        return rc;
    if (a->inner_required) rc = get_pos_int(root, k->n_inner, CFG_MAX_INNER, &c->n_inner, path, err);
    else rc = get_opt_int(root, k->n_inner, 4 * c->n_embd, CFG_MAX_INNER, &c->n_inner, path, err);
    if (rc) return rc;
    if ((rc = get_context(a, root, &c->n_positions, path, err))) return rc;
    if ((rc = get_pos_int(root, "vocab_size", CFG_MAX_VOCAB, &c->vocab_size, path, err))) return rc;
    if ((rc = get_pos_float(root, k->eps, a->eps_default, &c->layer_norm_epsilon, path, err)))
        return rc;
    c->rope_theta = 10000.0f;
    if (a->pe == PE_ROPE &&
        (rc = get_pos_float(root, "rope_theta", 10000.0f, &c->rope_theta, path, err)))
        return rc;
    const cJSON *hd = k->head_dim ? cJSON_GetObjectItemCaseSensitive(root, k->head_dim) : NULL;
    int head_dim_given = hd && !cJSON_IsNull(hd);
    if (head_dim_given) {
        if ((rc = get_pos_int(root, k->head_dim, CFG_MAX_EMBD, &c->head_dim, path, err))) return rc;
    } else {
        c->head_dim = c->n_embd / c->n_head;
    }
    c->bias = a->bias;
    for (int i = 0; i < ARCH_MAX_BIAS_KEYS && a->bias_keys[i].key; i++) {
        int on = 0;
        if ((rc = get_bool(root, a->bias_keys[i].key, 0, &on, path, err))) return rc;
        if (on) c->bias |= a->bias_keys[i].bias;
    }
    int tied = 1;
    if ((rc = get_bool(root, "tie_word_embeddings", a->tied_default, &tied, path, err))) return rc;
    c->untied = !tied;   /* what the config asks; model_load settles it with the tensors */
    if ((rc = get_token_id(root, "bos_token_id", &c->bos_id, path, err))) return rc;
    if ((rc = get_token_id(root, "eos_token_id", &c->eos_id, path, err))) return rc;
    if ((rc = check_activation(a, root, path, err))) return rc;
    if ((rc = check_limits(a, root, path, err))) return rc;
    return check_shapes_hf(c, a, head_dim_given, path, err);
}

/* Which of the two kinds of config.json root is, and the parse of it. */
static AvzCode config_from_json(ModelConfig *cfg, const cJSON *root, const char *path,
                                char *err) {
    if (cJSON_GetObjectItemCaseSensitive(root, "position_encoding"))
        return config_from_ours(cfg, root, path, err);
    const char *mt;
    AvzCode rc = get_string(root, "model_type", &mt, path, err);
    if (rc) return rc;
    if (!mt)   /* neither: the message of attnviz's own format, as it always was */
        return config_from_ours(cfg, root, path, err);
    const ArchInfo *a = arch_by_model_type(mt);
    if (!a)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: field 'model_type' is \"%.40s\": unsupported "
                        "model family (attnviz reads %s; or add 'position_encoding' for "
                        "attnviz's own GPT-2 layout)", path, mt, arch_model_types());
    return config_from_hf(cfg, root, a, path, err);
}

/* ---- the architecture fields -------------------------------------------------------- */

void config_resolve(ModelConfig *c) {
    const ArchInfo *a = arch_info(c->arch);
    if (c->n_kv_head <= 0) c->n_kv_head = c->n_head;
    if (c->head_dim <= 0 && c->n_head > 0) c->head_dim = c->n_embd / c->n_head;
    if (c->n_inner <= 0) c->n_inner = 4 * c->n_embd;
    c->norm = a->norm;
    c->mlp = a->mlp;
    c->bias |= a->bias;
}

int config_qkv_dim(const ModelConfig *c) { return (c->n_head + 2 * c->n_kv_head) * c->head_dim; }
int config_attn_dim(const ModelConfig *c) { return c->n_head * c->head_dim; }
int config_up_dim(const ModelConfig *c) { return c->mlp == MLP_SWIGLU ? 2 * c->n_inner : c->n_inner; }

int config_is_core_gpt2(const ModelConfig *c) {
    return c->arch == ARCH_GPT2 && c->n_kv_head == c->n_head && c->head_dim * c->n_head == c->n_embd &&
           c->n_inner == 4 * c->n_embd && !c->untied && c->bias == BIAS_ALL;
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
    if (rc == AVZ_OK) {   /* cfg is untouched on failure */
        config_resolve(&tmp);
        *cfg = tmp;
    }
    return rc;
}

/* Which tokenizer the folder has (ModelConfig.tokenizer). attnviz's own config means
 * the word tokenizer, whatever other files lie beside it (model/FORMAT.md, section 5);
 * a Hugging Face one the BPE files tokenizer_find_bpe picks, the same function
 * tokenizer_open_bpe loads by, so that `model info` names the one that is used. Never
 * decided by reading a vocab.json, since GPT-2's and attnviz's are both JSON maps. */
static AvzCode find_tokenizer(ModelConfig *c, const char *dir, char *err) {
    if (!c->hf) return AVZ_OK;   /* "word", set by get_names */
    TokenizerKind kind;
    AvzCode rc = tokenizer_find_bpe(dir, &kind, err);
    const char *name = kind == TOKENIZER_HF ? "tokenizer.json" : kind == TOKENIZER_GPT2 ? "gpt2"
                                                                                        : "none";
    snprintf(c->tokenizer, sizeof c->tokenizer, "%s", name);
    return rc;
}

AvzCode config_load(ModelConfig *cfg, const char *dir, char *err) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/config.json", dir) >= (int)sizeof path)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: folder path too long", dir);
    char *text = avz_read_file(path, NULL, err);
    if (!text) return AVZ_ERR_INPUT;
    ModelConfig tmp;
    AvzCode rc = config_parse(&tmp, text, path, err);
    free(text);
    if (!rc) rc = find_tokenizer(&tmp, dir, err);
    if (!rc) *cfg = tmp;   /* cfg is untouched on failure */
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
