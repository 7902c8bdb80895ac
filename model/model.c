/* model.c: the Model's memory (one arena for weights, one for activations), random
 * initialisation, the weight cache, and saving a model folder in the GPT-2 layout.
 * Loading (every family of arch.h) is in load.c, the forward pass in forward.c. */
#define _POSIX_C_SOURCE 200809L
#include "model.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "arch.h"
#include "posenc.h"
#include "safetensors.h"

size_t model_param_sizes(const ModelConfig *cfg, size_t sizes[N_PARAM_TENSORS]) {
    ModelConfig c = *cfg;
    config_resolve(&c);
    size_t V = c.vocab_size, C = c.n_embd, L = c.n_layer;
    size_t P = c.pe == PE_LEARNED ? (size_t)c.n_positions : 0;
    size_t QKV = config_qkv_dim(&c), A = config_attn_dim(&c), F = c.n_inner;
    size_t U = config_up_dim(&c);
    int ln = c.norm == NORM_LAYER;   /* RMSNorm has a gain only */
    int bqkv = (c.bias & BIAS_QKV) != 0, bo = (c.bias & BIAS_O) != 0, bm = (c.bias & BIAS_MLP) != 0;
    size_t s[N_PARAM_TENSORS] = {
        V * C,                        /* wte */
        P * C,                        /* wpe */
        L * C, ln * L * C,            /* ln1w, ln1b */
        L * C * QKV, bqkv * L * QKV,  /* qkvw, qkvb */
        L * A * C, bo * L * C,        /* attprojw, attprojb */
        L * C, ln * L * C,            /* ln2w, ln2b */
        L * C * U, bm * L * U,        /* fcw, fcb */
        L * F * C, bm * L * C,        /* fcprojw, fcprojb */
        C, ln * C,                    /* lnfw, lnfb */
        c.untied ? V * C : 0,         /* lm_head */
    };
    size_t total = 0;
    for (int i = 0; i < N_PARAM_TENSORS; i++) {
        sizes[i] = s[i];
        total += s[i];
    }
    return total;
}

void model_point_params(ParamTensors *p, float *arena, const size_t sizes[N_PARAM_TENSORS]) {
    float **ptrs[N_PARAM_TENSORS] = {
        &p->wte, &p->wpe, &p->ln1w, &p->ln1b, &p->qkvw, &p->qkvb, &p->attprojw,
        &p->attprojb, &p->ln2w, &p->ln2b, &p->fcw, &p->fcb, &p->fcprojw, &p->fcprojb,
        &p->lnfw, &p->lnfb, &p->lm_head,
    };
    for (int i = 0; i < N_PARAM_TENSORS; i++) {
        *ptrs[i] = arena;
        arena += sizes[i];
    }
}

/* Tables that follow from the config alone: ALiBi slopes, sinusoidal vectors. */
static void model_derive_tables(Model *m) {
    int NH = m->cfg.n_head;
    m->alibi_slopes = avz_xcalloc(NH, sizeof(float));
    if (m->cfg.pe == PE_ALIBI) posenc_alibi_slopes(m->alibi_slopes, NH);
    if (m->cfg.pe == PE_SINUSOIDAL) {
        int T = config_max_len(&m->cfg);
        m->sin_table = avz_xmalloc(sizeof(float) * (size_t)T * m->cfg.n_embd);
        posenc_sinusoidal(m->sin_table, T, m->cfg.n_embd);
    }
}

AvzCode model_create(Model *m, const ModelConfig *cfg, Vocab *vocab, char *err) {
    memset(m, 0, sizeof *m);
    /* a model without the word tokenizer (a BPE checkpoint) has no Vocab: n = 0 */
    int word = strcmp(cfg->tokenizer, "word") == 0;
    if (word ? vocab->n != cfg->vocab_size : vocab->n != 0)
        return avz_fail(err, AVZ_ERR_INPUT,
                        "vocab.json has %d tokens but config.json says vocab_size %d",
                        vocab->n, cfg->vocab_size);
    m->cfg = *cfg;
    config_resolve(&m->cfg);
    m->vocab = *vocab;
    memset(vocab, 0, sizeof *vocab);
    m->num_parameters = model_param_sizes(cfg, m->param_sizes);
    m->params_memory = avz_xcalloc(m->num_parameters, sizeof(float));
    model_point_params(&m->params, m->params_memory, m->param_sizes);
    model_derive_tables(m);
    m->mean_loss = -1.0f;
    m->params_version = 1;   /* zeroed weights are a version too */
    model_weight_cache_enable(m, 1);   /* every writer of weights calls model_params_changed */
    return AVZ_OK;
}

static void fill_normal(float *x, size_t n, float std, AvzRng *r) {
    for (size_t i = 0; i < n; i++) x[i] = std * avz_rng_normal(r);
}

static void fill_const(float *x, size_t n, float c) {
    for (size_t i = 0; i < n; i++) x[i] = c;
}

void model_init_random(Model *m, uint64_t seed) {
    AvzRng r;
    avz_rng_init(&r, seed);
    ParamTensors *p = &m->params;
    size_t *sz = m->param_sizes;
    /* GPT-2: weights N(0, 0.02); the two projections that write into the residual
     * stream are scaled by 1/sqrt(2L) so that the stream's variance does not grow
     * with depth. LayerNorm gains start at 1, every bias at 0. */
    float proj_std = 0.02f / sqrtf(2.0f * m->cfg.n_layer);
    memset(m->params_memory, 0, sizeof(float) * m->num_parameters);
    fill_normal(p->wte, sz[0], 0.02f, &r);
    fill_normal(p->wpe, sz[1], 0.01f, &r);
    fill_const(p->ln1w, sz[2], 1.0f);
    fill_normal(p->qkvw, sz[4], 0.02f, &r);
    fill_normal(p->attprojw, sz[6], proj_std, &r);
    fill_const(p->ln2w, sz[8], 1.0f);
    fill_normal(p->fcw, sz[10], 0.02f, &r);
    fill_normal(p->fcprojw, sz[12], proj_std, &r);
    fill_const(p->lnfw, sz[14], 1.0f);
    fill_normal(p->lm_head, sz[16], 0.02f, &r);   /* after the others: their draws unchanged */
    model_params_changed(m);
}

/* ---- the weight cache (model.h) ------------------------------------------- */

void model_params_changed(Model *m) { m->params_version++; }

static void weight_cache_free(ModelWeightCache *wc) {
    for (int l = 0; l < wc->L; l++) {
        gemm_packed_free(&wc->qkv[l]);
        gemm_packed_free(&wc->attproj[l]);
        gemm_packed_free(&wc->fc[l]);
        gemm_packed_free(&wc->fcproj[l]);
    }
    gemm_packed_free(&wc->lm_head);
    free(wc->qkv);
    free(wc->attproj);
    free(wc->fc);
    free(wc->fcproj);
    memset(wc, 0, sizeof *wc);
}

void model_weight_cache_enable(Model *m, int on) {
    if (!on) weight_cache_free(&m->wcache);
    m->wcache.enabled = on != 0;
}

/* Packs every weight matrix of m, each as the forward pass multiplies by it. */
static void weight_cache_pack(Model *m) {
    ModelWeightCache *wc = &m->wcache;
    const ParamTensors *p = &m->params;
    const ModelConfig *c = &m->cfg;
    int L = c->n_layer, C = c->n_embd, V = c->vocab_size, F = c->n_inner;
    int QKV = config_qkv_dim(c), A = config_attn_dim(c), U = config_up_dim(c);
    if (wc->L != L) {
        free(wc->qkv);
        free(wc->attproj);
        free(wc->fc);
        free(wc->fcproj);
        wc->qkv = avz_xcalloc(L, sizeof(GemmPackedB));
        wc->attproj = avz_xcalloc(L, sizeof(GemmPackedB));
        wc->fc = avz_xcalloc(L, sizeof(GemmPackedB));
        wc->fcproj = avz_xcalloc(L, sizeof(GemmPackedB));
        wc->L = L;
    }
    for (int l = 0; l < L; l++) {
        gemm_pack_b(&wc->qkv[l], QKV, C, p->qkvw + (size_t)l * C * QKV, QKV, 0);
        gemm_pack_b(&wc->attproj[l], C, A, p->attprojw + (size_t)l * A * C, C, 0);
        gemm_pack_b(&wc->fc[l], U, C, p->fcw + (size_t)l * C * U, U, 0);
        gemm_pack_b(&wc->fcproj[l], C, F, p->fcprojw + (size_t)l * F * C, C, 0);
    }
    /* read transposed: x @ wte^T (or lm_head^T) */
    gemm_pack_b(&wc->lm_head, V, C, c->untied ? p->lm_head : p->wte, C, 1);
    wc->version = m->params_version;
}

const ModelWeightCache *model_weight_cache(Model *m) {
    ModelWeightCache *wc = &m->wcache;
    if (!wc->enabled) return NULL;
    if (wc->version != m->params_version || wc->lm_head.k != gemm_kernels())
        weight_cache_pack(m);
    return wc;
}

/* ---- the GPT-2 tensor names --------------------------------------------- */

static void emit(ModelTensorFn fn, void *user, const char *name, float *data, int ndim,
                 int64_t d0, int64_t d1) {
    int64_t shape[2] = {d0, d1};
    fn(user, name, data, ndim, shape);
}

void model_for_each_tensor(const Model *m, ParamTensors *p, ModelTensorFn fn, void *user) {
    const ModelConfig *c = &m->cfg;
    int64_t C = c->n_embd, V = c->vocab_size;
    char name[128];
    emit(fn, user, "wte.weight", p->wte, 2, V, C);
    if (c->pe == PE_LEARNED) emit(fn, user, "wpe.weight", p->wpe, 2, c->n_positions, C);
    for (int l = 0; l < c->n_layer; l++) {
#define LAYER_TENSOR(suffix, base, per_layer, ndim, d0, d1)                    \
        snprintf(name, sizeof name, "h.%d.%s", l, suffix);                    \
        emit(fn, user, name, (base) + (size_t)l * (per_layer), ndim, d0, d1);
        LAYER_TENSOR("ln_1.weight", p->ln1w, C, 1, C, 0)
        LAYER_TENSOR("ln_1.bias", p->ln1b, C, 1, C, 0)
        LAYER_TENSOR("attn.c_attn.weight", p->qkvw, C * 3 * C, 2, C, 3 * C)
        LAYER_TENSOR("attn.c_attn.bias", p->qkvb, 3 * C, 1, 3 * C, 0)
        LAYER_TENSOR("attn.c_proj.weight", p->attprojw, C * C, 2, C, C)
        LAYER_TENSOR("attn.c_proj.bias", p->attprojb, C, 1, C, 0)
        LAYER_TENSOR("ln_2.weight", p->ln2w, C, 1, C, 0)
        LAYER_TENSOR("ln_2.bias", p->ln2b, C, 1, C, 0)
        LAYER_TENSOR("mlp.c_fc.weight", p->fcw, C * 4 * C, 2, C, 4 * C)
        LAYER_TENSOR("mlp.c_fc.bias", p->fcb, 4 * C, 1, 4 * C, 0)
        LAYER_TENSOR("mlp.c_proj.weight", p->fcprojw, 4 * C * C, 2, 4 * C, C)
        LAYER_TENSOR("mlp.c_proj.bias", p->fcprojb, C, 1, C, 0)
#undef LAYER_TENSOR
    }
    emit(fn, user, "ln_f.weight", p->lnfw, 1, C, 0);
    emit(fn, user, "ln_f.bias", p->lnfb, 1, C, 0);
}

/* ---- saving --------------------------------------------------------------- */

typedef struct {
    StWriteTensor *list;
    char (*names)[128];
    int n;
} SaveCtx;

static void save_one(void *user, const char *name, float *data, int ndim, const int64_t *shape) {
    SaveCtx *sc = user;
    StWriteTensor *t = &sc->list[sc->n];
    snprintf(sc->names[sc->n], 128, "%s", name);
    t->name = sc->names[sc->n];
    t->data = data;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
    sc->n++;
}

AvzCode model_save(const Model *m, const char *dir, char *err) {
    if (!config_is_core_gpt2(&m->cfg) || m->cfg.hf || strcmp(m->cfg.tokenizer, "word") != 0)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: attnviz saves only its own models (GPT-2's "
                        "layout with a tied head and the word tokenizer); this %s model is "
                        "read from its own folder as it is", dir, arch_info(m->cfg.arch)->model_type);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return avz_fail(err, AVZ_ERR_INPUT, "%s: cannot create folder: %s", dir, strerror(errno));
    AvzCode rc = config_save(&m->cfg, dir, err);
    if (!rc) rc = vocab_save(&m->vocab, dir, err);
    if (rc) return rc;
    int max_tensors = 4 + 12 * m->cfg.n_layer;
    SaveCtx sc = {avz_xcalloc(max_tensors, sizeof(StWriteTensor)),
                  avz_xcalloc(max_tensors, 128), 0};
    ParamTensors p = m->params;
    model_for_each_tensor(m, &p, save_one, &sc);
    char path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    rc = safetensors_write(path, sc.list, sc.n, err);
    free(sc.list);
    free(sc.names);
    return rc;
}

void model_free(Model *m) {
    vocab_free(&m->vocab);
    free(m->params_memory);
    free(m->alibi_slopes);
    free(m->sin_table);
    free(m->rope_table);
    free(m->rope_pos_table);
    weight_cache_free(&m->wcache);
    free(m->acts_memory);
    free(m->att);
    free(m->p_kept);
    free(m->losses);
    free(m->probs);
    free(m->grad_acts_memory);
    memset(m, 0, sizeof *m);
}

/* ---- activations ---------------------------------------------------------- */

void model_ensure_acts(Model *m, int B, int T) {
    if (m->acts_memory && B * T <= m->acts_B * m->acts_T && B <= m->acts_B && T <= m->acts_T)
        return;
    const ModelConfig *c = &m->cfg;
    size_t L = c->n_layer, C = c->n_embd, NH = c->n_head, V = c->vocab_size, F = c->n_inner;
    size_t QKV = config_qkv_dim(c), A = config_attn_dim(c), U = config_up_dim(c);
    size_t KV = (size_t)c->n_kv_head * c->head_dim;
    size_t BT = (size_t)B * T;
    size_t s[N_ACT_TENSORS] = {
        BT * C,                        /* encoded */
        L * BT * C, L * BT, L * BT,    /* ln1, ln1_mean, ln1_rstd */
        L * BT * QKV,                  /* qkv */
        L * BT * A, L * BT * KV, L * BT * KV, /* q, k, v */
        L * NH * BT,                   /* lse */
        L * BT * A, L * BT * A,        /* z, zin */
        L * BT * C, L * BT * C,        /* attproj, residual2 */
        L * BT * C, L * BT, L * BT,    /* ln2, ln2_mean, ln2_rstd */
        L * BT * U, L * BT * F,        /* fch, fch_gelu */
        L * BT * C, L * BT * C,        /* fcproj, residual3 */
        BT * C, BT, BT,                /* lnf, lnf_mean, lnf_rstd */
        BT * V,                        /* logits */
    };
    size_t total = 0;
    for (int i = 0; i < N_ACT_TENSORS; i++) total += (m->act_sizes[i] = s[i]);
    free(m->acts_memory);
    m->acts_memory = avz_xcalloc(total, sizeof(float));
    float **ptrs[N_ACT_TENSORS] = {
        &m->acts.encoded, &m->acts.ln1, &m->acts.ln1_mean, &m->acts.ln1_rstd, &m->acts.qkv,
        &m->acts.q, &m->acts.k, &m->acts.v, &m->acts.lse, &m->acts.z, &m->acts.zin,
        &m->acts.attproj, &m->acts.residual2, &m->acts.ln2, &m->acts.ln2_mean,
        &m->acts.ln2_rstd, &m->acts.fch, &m->acts.fch_gelu, &m->acts.fcproj,
        &m->acts.residual3, &m->acts.lnf, &m->acts.lnf_mean, &m->acts.lnf_rstd,
        &m->acts.logits,
    };
    float *p = m->acts_memory;
    for (int i = 0; i < N_ACT_TENSORS; i++) {
        *ptrs[i] = p;
        p += s[i];
    }
    free(m->losses);
    free(m->probs);
    m->losses = avz_xcalloc(BT, sizeof(float));
    m->probs = NULL;
    m->probs_cap = 0;
    m->acts_B = B;
    m->acts_T = T;
}

/* ---- model info ------------------------------------------------------------------ */

/* "q, k, v, o, MLP" for the BIAS_* bits; "none". */
static void bias_names(unsigned bias, char *buf, size_t n) {
    snprintf(buf, n, "%s%s%s", bias & BIAS_QKV ? "q, k, v" : "",
             bias & BIAS_O ? (bias & BIAS_QKV ? ", output" : "output") : "",
             bias & BIAS_MLP ? (bias & (BIAS_QKV | BIAS_O) ? ", MLP" : "MLP") : "");
    if (!buf[0]) snprintf(buf, n, "none");
}

int model_describe(const Model *m, char *buf, size_t n) {
    const ModelConfig *c = &m->cfg;
    const ArchInfo *a = arch_info(c->arch);
    int NH = c->n_head, NKV = c->n_kv_head;
    char heads[128], biases[48], ctx[96];
    if (NKV == NH) snprintf(heads, sizeof heads, "NH = %d (NKV = %d: one key/value head each)", NH, NKV);
    else if (NKV == 1) snprintf(heads, sizeof heads, "NH = %d query heads, NKV = 1 key/value head "
                                "(multi-query: all %d share it)", NH, NH);
    else snprintf(heads, sizeof heads, "NH = %d query heads, NKV = %d key/value heads (grouped-query: "
                  "%d query heads share each)", NH, NKV, NH / NKV);
    bias_names(c->bias, biases, sizeof biases);
    if (c->pe == PE_LEARNED) snprintf(ctx, sizeof ctx, "%d tokens (the learned table's rows)",
                                      c->n_positions);
    else snprintf(ctx, sizeof ctx, "%d tokens trained; texts up to %d", c->n_positions,
                  config_max_len(c));
    char pos[96];
    if (c->pe == PE_ROPE) snprintf(pos, sizeof pos, "rope (rotate-half: dimension i with i + hd/2; "
                                   "theta %g)", (double)c->rope_theta);
    else snprintf(pos, sizeof pos, "%s", pe_name(c->pe));
    double bytes = 4.0 * (double)m->num_parameters;
    return snprintf(buf, n,
        "family:     %s (%s)%s\n"
        "layers:     L = %d\n"
        "heads:      %s\n"
        "head size:  hd = %d\n"
        "width:      C = %d\n"
        "MLP:        %s, F = %d\n"
        "vocabulary: V = %d\n"
        "context:    %s\n"
        "norm:       %s, eps %g\n"
        "position:   %s\n"
        "LM head:    %s\n"
        "biases:     %s\n"
        "weights:    %s on disk, float32 in memory\n"
        "parameters: %zu (%.1f MB as float32)\n"
        "tokenizer:  %s\n",
        a->model_type, c->hf ? a->hf_class : "attnviz's own layout",
        c->hf ? ", read from a Hugging Face config.json" : "",
        c->n_layer, heads, c->head_dim, c->n_embd, arch_mlp_name(c->mlp), c->n_inner,
        c->vocab_size, ctx, arch_norm_name(c->norm), (double)c->layer_norm_epsilon, pos,
        c->untied ? "untied (lm_head.weight)" : "tied to the token embedding",
        biases, m->disk_dtype[0] ? m->disk_dtype : "(made in memory)", m->num_parameters,
        bytes / 1e6, c->tokenizer);
}
