/* load.c: model_load, a model folder into the model's arena, for every family of the
 * architecture table (arch.h).
 *
 * The steps: config.json (config.c) says the family and the shapes; the weight files
 * (checkpoint.c: one model.safetensors or the shards of an index) are mapped; the
 * family's row of the table names each tensor; each is checked against the shape the
 * config implies and converted ONCE into its place in attnviz's layout (model.h):
 *
 *   - a linear weight stored [out, in] (nn.Linear: Llama's q_proj, ...) is transposed into
 *     [in, out] (GPT-2's Conv1D layout, which GPT-2's own files already have);
 *   - separate q, k, v projections become the columns [q | k | v] of one matrix, and
 *     SwiGLU's gate and up the columns [gate | up] of another, so that the forward pass
 *     makes one matrix product of each;
 *   - F16 and BF16 become float32.
 * A tensor's file pages are handed back as soon as it is converted, so that the peak
 * memory stays near the float32 weights. Then: no tensor may be left over (buffers such
 * as GPT-2's attn.bias excepted), and every weight must be finite. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "arch.h"
#include "checkpoint.h"
#include "model.h"

typedef struct {
    Checkpoint *ck;
    const ArchInfo *a;
    const ModelConfig *c;
    const char *prefix;       /* "transformer." when GPT-2's names carry it, else NULL */
    unsigned dtypes;          /* bit d: some weight was stored in StDtype d */
    char *err;
} Loader;

/* "[2, 3]" */
static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    int k = snprintf(buf, n, "[");
    for (int d = 0; d < ndim && k < (int)n - 24; d++)
        k += snprintf(buf + k, n - k, d ? ", %lld" : "%lld", (long long)shape[d]);
    snprintf(buf + k, n - k, "]");
}

/* Finds role (layer l) and checks its dtype and shape (ndim 1 or 2: d0, d1). */
static AvzCode find_checked(Loader *ld, TensorRole role, int l, int ndim, int64_t d0, int64_t d1,
                            CkptTensor **out) {
    char name[160];
    AVZ_ASSERT(arch_tensor_name(ld->a, role, l, ld->prefix, name, sizeof name));
    CkptTensor *t = ckpt_find(ld->ck, name);
    const char *file = ld->ck->n_files == 1 ? ld->ck->files[0].path : ld->ck->index_path;
    if (!t)
        return avz_fail(ld->err, AVZ_ERR_INPUT, "%s: missing tensor '%s'", file, name);
    const StTensorInfo *info = t->info;
    if (info->dtype == ST_OTHER)
        return avz_fail(ld->err, AVZ_ERR_INPUT, "%s: tensor '%s' has dtype %s; attnviz reads "
                        "weights in F32, F16 and BF16", ckpt_file_of(ld->ck, t), name,
                        info->dtype_name);
    int64_t want[2] = {d0, d1};
    int ok = info->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++) ok = info->shape[d] == want[d];
    if (!ok) {
        char got[96], exp[64];
        shape_str(got, sizeof got, info->ndim, info->shape);
        shape_str(exp, sizeof exp, ndim, want);
        return avz_fail(ld->err, AVZ_ERR_INPUT, "%s: tensor '%s' has shape %s but config.json "
                        "implies %s", ckpt_file_of(ld->ck, t), name, got, exp);
    }
    t->used = 1;
    ld->dtypes |= 1u << info->dtype;
    *out = t;
    return AVZ_OK;
}

/* A vector (n) into dst. */
static AvzCode load_vector(Loader *ld, TensorRole role, int l, float *dst, int n) {
    CkptTensor *t;
    AvzCode rc = find_checked(ld, role, l, 1, n, 0, &t);
    if (rc) return rc;
    const SafeTensors *st = &ld->ck->files[t->file];
    safetensors_read_f32(st, t->info, dst);
    safetensors_release(st, t->info);
    return AVZ_OK;
}

/* A table stored as it is used, (rows, cols) row-major: embeddings, wpe, lm_head. */
static AvzCode load_table(Loader *ld, TensorRole role, float *dst, int rows, int cols) {
    CkptTensor *t;
    AvzCode rc = find_checked(ld, role, 0, 2, rows, cols, &t);
    if (rc) return rc;
    const SafeTensors *st = &ld->ck->files[t->file];
    safetensors_read_f32(st, t->info, dst);
    safetensors_release(st, t->info);
    return AVZ_OK;
}

/* A linear layer's weight with `in` inputs and `out` outputs into columns
 * [col0, col0 + out) of the [in, ldo] matrix dst. GPT-2 stores it [in, out] (Conv1D); the
 * others [out, in] (nn.Linear), transposed here. */
static AvzCode load_linear(Loader *ld, TensorRole role, int l, float *dst, int in, int ldo,
                           int col0, int out) {
    CkptTensor *t;
    int conv1d = ld->a->conv1d;
    AvzCode rc = find_checked(ld, role, l, 2, conv1d ? in : out, conv1d ? out : in, &t);
    if (rc) return rc;
    const SafeTensors *st = &ld->ck->files[t->file];
    safetensors_read_f32_2d(st, t->info, dst + col0, (size_t)ldo, !conv1d);
    safetensors_release(st, t->info);
    return AVZ_OK;
}

/* Layer l's tensors into their places (shapes: model.h). */
static AvzCode load_layer(Loader *ld, const ParamTensors *p, int l) {
    const ModelConfig *c = ld->c;
    int C = c->n_embd, hd = c->head_dim, NH = c->n_head, NKV = c->n_kv_head, F = c->n_inner;
    int QKV = config_qkv_dim(c), A = config_attn_dim(c), U = config_up_dim(c);
    int ln = c->norm == NORM_LAYER;
    float *qkvw = p->qkvw + (size_t)l * C * QKV, *qkvb = p->qkvb + (size_t)l * QKV;
    float *fcw = p->fcw + (size_t)l * C * U, *fcb = p->fcb + (size_t)l * U;
    AvzCode rc;
#define TRY(call) if ((rc = (call))) return rc
    TRY(load_vector(ld, TN_ATTN_NORM, l, p->ln1w + (size_t)l * C, C));
    if (ln) TRY(load_vector(ld, TN_ATTN_NORM_B, l, p->ln1b + (size_t)l * C, C));
    if (ld->a->names[TN_ATTN_QKV]) {   /* one matrix, [q | k | v] already */
        TRY(load_linear(ld, TN_ATTN_QKV, l, qkvw, C, QKV, 0, QKV));
        if (c->bias & BIAS_QKV) TRY(load_vector(ld, TN_ATTN_QKV_B, l, qkvb, QKV));
    } else {                           /* three, side by side */
        int q = NH * hd, kv = NKV * hd;
        TRY(load_linear(ld, TN_ATTN_Q, l, qkvw, C, QKV, 0, q));
        TRY(load_linear(ld, TN_ATTN_K, l, qkvw, C, QKV, q, kv));
        TRY(load_linear(ld, TN_ATTN_V, l, qkvw, C, QKV, q + kv, kv));
        if (c->bias & BIAS_QKV) {
            TRY(load_vector(ld, TN_ATTN_Q_B, l, qkvb, q));
            TRY(load_vector(ld, TN_ATTN_K_B, l, qkvb + q, kv));
            TRY(load_vector(ld, TN_ATTN_V_B, l, qkvb + q + kv, kv));
        }
    }
    TRY(load_linear(ld, TN_ATTN_OUT, l, p->attprojw + (size_t)l * A * C, A, C, 0, C));
    if (c->bias & BIAS_O) TRY(load_vector(ld, TN_ATTN_OUT_B, l, p->attprojb + (size_t)l * C, C));
    TRY(load_vector(ld, TN_FFN_NORM, l, p->ln2w + (size_t)l * C, C));
    if (ln) TRY(load_vector(ld, TN_FFN_NORM_B, l, p->ln2b + (size_t)l * C, C));
    if (c->mlp == MLP_SWIGLU) {        /* [gate | up] */
        TRY(load_linear(ld, TN_FFN_GATE, l, fcw, C, U, 0, F));
        TRY(load_linear(ld, TN_FFN_UP, l, fcw, C, U, F, F));
        if (c->bias & BIAS_MLP) {
            TRY(load_vector(ld, TN_FFN_GATE_B, l, fcb, F));
            TRY(load_vector(ld, TN_FFN_UP_B, l, fcb + F, F));
        }
    } else {
        TRY(load_linear(ld, TN_FFN_UP, l, fcw, C, U, 0, F));
        if (c->bias & BIAS_MLP) TRY(load_vector(ld, TN_FFN_UP_B, l, fcb, F));
    }
    TRY(load_linear(ld, TN_FFN_DOWN, l, p->fcprojw + (size_t)l * F * C, F, C, 0, C));
    if (c->bias & BIAS_MLP) TRY(load_vector(ld, TN_FFN_DOWN_B, l, p->fcprojb + (size_t)l * C, C));
#undef TRY
    return AVZ_OK;
}

/* The progress hook of this thread (model_load_set_progress). */
static _Thread_local ModelLoadProgress progress_fn;
static _Thread_local void *progress_user;

void model_load_set_progress(ModelLoadProgress fn, void *user) {
    progress_fn = fn;
    progress_user = user;
}

static void progress(int done, int total) {
    if (progress_fn) progress_fn(progress_user, done, total);
}

/* The tensors in file order of importance: embeddings, each layer, the head; the
 * progress hook hears after each of the n_layer + 2 parts. */
static AvzCode load_params(Loader *ld, const ParamTensors *p) {
    const ModelConfig *c = ld->c;
    int C = c->n_embd, V = c->vocab_size, parts = c->n_layer + 2;
    progress(0, parts);
    AvzCode rc = load_table(ld, TN_TOKEN_EMBD, p->wte, V, C);
    if (!rc && c->pe == PE_LEARNED) rc = load_table(ld, TN_POS_EMBD, p->wpe, c->n_positions, C);
    if (!rc) progress(1, parts);
    for (int l = 0; !rc && l < c->n_layer; l++) {
        rc = load_layer(ld, p, l);
        if (!rc) progress(2 + l, parts);
    }
    if (!rc) rc = load_vector(ld, TN_OUTPUT_NORM, 0, p->lnfw, C);
    if (!rc && c->norm == NORM_LAYER) rc = load_vector(ld, TN_OUTPUT_NORM_B, 0, p->lnfb, C);
    if (!rc && c->untied) rc = load_table(ld, TN_OUTPUT, p->lm_head, V, C);
    if (!rc) progress(parts, parts);
    return rc;
}

/* Tied or not. The config says (tie_word_embeddings, true by default for GPT-2, false
 * for Llama) and the files must agree: an lm_head.weight beside a tied embedding is
 * fine only when it is the same tensor (the same bytes), and is then not loaded. */
static AvzCode settle_head(Loader *ld, ModelConfig *c, const char *dir) {
    char emb[160];
    arch_tensor_name(ld->a, TN_TOKEN_EMBD, 0, ld->prefix, emb, sizeof emb);
    CkptTensor *head = ckpt_find(ld->ck, "lm_head.weight"), *e = ckpt_find(ld->ck, emb);
    int tie = !c->untied;
    if (!head) {
        if (!tie)
            return avz_fail(ld->err, AVZ_ERR_INPUT, "%s: missing tensor 'lm_head.weight' "
                            "(%s/config.json: tie_word_embeddings is false)",
                            ld->ck->n_files == 1 ? ld->ck->files[0].path : ld->ck->index_path, dir);
        return AVZ_OK;
    }
    if (!tie) return AVZ_OK;
    const StTensorInfo *h = head->info, *w = e ? e->info : NULL;
    int same = w && h->dtype == w->dtype && h->ndim == w->ndim && h->end - h->begin == w->end - w->begin &&
               memcmp(h->shape, w->shape, sizeof h->shape) == 0 &&
               memcmp(ld->ck->files[head->file].data + h->begin,
                      ld->ck->files[e->file].data + w->begin, h->end - h->begin) == 0;
    if (!same)
        return avz_fail(ld->err, AVZ_ERR_INPUT, "%s: tensor 'lm_head.weight' differs from '%s', "
                        "but %s/config.json ties them (tie_word_embeddings is %s): set it to "
                        "false to use lm_head.weight", ckpt_file_of(ld->ck, head), emb, dir,
                        c->hf && !ld->a->tied_default ? "true" : "true or absent");
    head->used = 1;   /* the same numbers as the embedding: tied, nothing more to load */
    safetensors_release(&ld->ck->files[head->file], h);
    return AVZ_OK;
}

/* Every weight must be a finite number: a NaN would silently turn every map grey. */
static AvzCode check_finite(const Model *m, const char *path, char *err) {
    for (size_t i = 0; i < m->num_parameters; i++) {
        if (!isfinite(m->params_memory[i]))
            return avz_fail(err, AVZ_ERR_INPUT,
                            "%s: weights contain NaN or Inf (parameter %zu of %zu); "
                            "the model cannot be shown", path, i, m->num_parameters);
    }
    return AVZ_OK;
}

static int skip_buffer(const void *arch, const char *name) {
    return arch_is_skipped(arch, name);
}

/* "F32", "BF16", "F16+F32" from the bits of Loader.dtypes. */
static void dtype_names(unsigned bits, char *buf, size_t n) {
    static const char *const names[] = {"F32", "F16", "BF16"};
    buf[0] = '\0';
    for (int d = 0; d < 3; d++)
        if (bits & (1u << d))
            snprintf(buf + strlen(buf), n - strlen(buf), "%s%s", buf[0] ? "+" : "", names[d]);
}

/* The weights of dir into m (created here from cfg and vocab, which are moved in). */
static AvzCode load_weights(Model *m, ModelConfig *cfg, Vocab *vocab, const char *dir, char *err) {
    Checkpoint ck;
    AvzCode rc = ckpt_open(&ck, dir, err);
    if (rc) { vocab_free(vocab); return rc; }
    Loader ld = {&ck, arch_info(cfg->arch), NULL, NULL, 0, err};
    char probe[160];
    if (ld.a->prefix) {   /* older GPT-2 conversions name everything transformer.* */
        snprintf(probe, sizeof probe, "%s%s", ld.a->prefix, ld.a->names[TN_TOKEN_EMBD]);
        if (ckpt_find(&ck, probe)) ld.prefix = ld.a->prefix;
    }
    rc = settle_head(&ld, cfg, dir);
    if (!rc) rc = model_create(m, cfg, vocab, err);
    if (rc) { vocab_free(vocab); ckpt_free(&ck); return rc; }
    ld.c = &m->cfg;
    rc = load_params(&ld, &m->params);
    const char *where = ck.n_files == 1 ? ck.files[0].path : ck.index_path;
    const CkptTensor *extra = rc ? NULL : ckpt_first_unused(&ck, skip_buffer, ld.a);
    if (extra)
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: unexpected tensor '%s' (not part of a %d-layer "
                      "%s model)", ckpt_file_of(&ck, extra), extra->info->name, cfg->n_layer,
                      cfg->hf ? ld.a->model_type : pe_name(cfg->pe));
    char path[4400];
    snprintf(path, sizeof path, "%s", where);
    ckpt_free(&ck);
    if (!rc) rc = check_finite(m, path, err);
    if (rc) { model_free(m); return rc; }
    dtype_names(ld.dtypes, m->disk_dtype, sizeof m->disk_dtype);
    return AVZ_OK;
}

/* A word vocab.json that failed to load, in a folder that also holds BPE files: most
 * likely a Hugging Face GPT-2 folder given a position_encoding field, which makes it
 * attnviz's own layout, whose tokenizer is always the word one (FORMAT.md, section 5).
 * Says so after the message, naming the field; returns rc. */
static AvzCode own_layout_hint(const char *dir, AvzCode rc, char *err) {
    TokenizerKind kind;
    AvzErr ignored;
    if (!err || tokenizer_find_bpe(dir, &kind, ignored) || kind == TOKENIZER_NONE) return rc;
    size_t n = strlen(err);
    snprintf(err + n, AVZ_ERR_LEN - n, " (config.json has 'position_encoding', so this is "
             "attnviz's own layout, whose tokenizer is the word vocab.json; %s is not read: "
             "a Hugging Face GPT-2 folder has no 'position_encoding')",
             kind == TOKENIZER_HF ? "tokenizer.json" : "merges.txt");
    return rc;
}

AvzCode model_load(Model *m, const char *dir, char *err) {
    memset(m, 0, sizeof *m);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return avz_fail(err, AVZ_ERR_INPUT, "%s: not a folder (a model is a folder with "
                        "config.json, model.safetensors and vocab.json)", dir);
    ModelConfig cfg;
    AvzCode rc = config_load(&cfg, dir, err);
    if (rc) return rc;
    Vocab vocab;
    memset(&vocab, 0, sizeof vocab);
    if (strcmp(cfg.tokenizer, "word") == 0) {   /* attnviz's own vocab.json; BPE: bpe.h */
        rc = vocab_load(&vocab, dir, err);
        if (!rc && vocab.n != cfg.vocab_size) {
            rc = avz_fail(err, AVZ_ERR_INPUT, "%s/vocab.json has %d tokens but config.json "
                          "field 'vocab_size' is %d", dir, vocab.n, cfg.vocab_size);
            vocab_free(&vocab);
        }
        if (rc) return own_layout_hint(dir, rc, err);
    }
    rc = load_weights(m, &cfg, &vocab, dir, err);
    if (rc) return rc;
    snprintf(m->dir, sizeof m->dir, "%s", dir);
    model_params_changed(m);
    return AVZ_OK;
}
