/* test_model.c: the whole model: flash vs naive passes, captures, length limits,
 * head ablation (checked against an independent computation), save / load. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ablate.h"
#include "gemm.h"
#include "helpers.h"
#include "model.h"

static const PosEncoding ALL_PE[] = {PE_NONE, PE_SINUSOIDAL, PE_LEARNED, PE_ROPE, PE_ALIBI};

Test(model, flash_and_naive_passes_agree_for_every_encoding) {
    for (int e = 0; e < 5; e++) {
        Model m;
        helper_model(&m, ALL_PE[e], 2, 4, 32, 80, 5 + e);
        int T = 65, V = m.cfg.vocab_size, ids[65];
        helper_tokens(ids, T, V, 9);
        char err[AVZ_ERR_LEN];
        ForwardOpts o = {.attn = ATTN_NAIVE};
        cr_assert_eq(model_forward(&m, ids, NULL, 1, T, &o, err), AVZ_OK, "%s", err);
        float *ln = malloc(sizeof(float) * T * V), *Pn = malloc(sizeof(float) * 2 * 4 * T * T);
        memcpy(ln, m.acts.logits, sizeof(float) * T * V);
        model_capture_all(&m, 0, Pn);
        o.attn = ATTN_FLASH;
        cr_assert_eq(model_forward(&m, ids, NULL, 1, T, &o, err), AVZ_OK, "%s", err);
        float *Pf = malloc(sizeof(float) * 2 * 4 * T * T);
        model_capture_all(&m, 0, Pf);
        double el = helper_rel_err(m.acts.logits, ln, (size_t)T * V);
        double ep = helper_rel_err(Pf, Pn, (size_t)2 * 4 * T * T);
        cr_expect(el < 1e-5, "%s: logits rel err %.3e", pe_name(ALL_PE[e]), el);
        cr_expect(ep < 1e-5, "%s: captured maps rel err %.3e", pe_name(ALL_PE[e]), ep);
        free(ln); free(Pn); free(Pf);
        model_free(&m);
    }
}

Test(model, captured_maps_are_causal_distributions_with_structure) {
    Model m;
    helper_model(&m, PE_ROPE, 2, 4, 32, 64, 3);
    int T = 20, ids[20];
    helper_tokens(ids, T, m.cfg.vocab_size, 4);
    char err[AVZ_ERR_LEN];
    cr_assert_eq(model_forward(&m, ids, NULL, 1, T, NULL, err), AVZ_OK, "%s", err);
    float P[400];
    model_capture(&m, 1, 2, 0, P);
    double maxdev = 0;
    for (int i = 0; i < T; i++) {
        double s = 0;
        for (int j = 0; j < T; j++) {
            if (j > i) cr_assert_eq(P[i * T + j], 0.0f);
            s += P[i * T + j];
            if (j <= i) maxdev = fmax(maxdev, fabs(P[i * T + j] - 1.0 / (i + 1)));
        }
        cr_assert(fabs(s - 1) < 1e-5, "row %d sums to %f", i, s);
    }
    cr_assert(maxdev > 0.05, "the map is uniform: the test model has no structure");
    model_free(&m);
}

Test(model, learned_refuses_long_text_others_allow_it) {
    Model m;
    char err[AVZ_ERR_LEN];
    int ids[100];
    helper_model(&m, PE_LEARNED, 1, 2, 16, 64, 1);
    helper_tokens(ids, 100, m.cfg.vocab_size, 2);
    cr_assert_eq(model_forward(&m, ids, NULL, 1, 65, NULL, err), AVZ_ERR_INPUT);
    cr_assert(strstr(err, "65 tokens") && strstr(err, "at most 64"), "message: %s", err);
    cr_assert_eq(model_forward(&m, ids, NULL, 1, 64, NULL, err), AVZ_OK, "%s", err);
    model_free(&m);
    PosEncoding others[] = {PE_NONE, PE_SINUSOIDAL, PE_ROPE, PE_ALIBI};
    for (int e = 0; e < 4; e++) {
        helper_model(&m, others[e], 1, 2, 16, 64, 1);
        cr_assert_eq(model_forward(&m, ids, NULL, 1, 100, NULL, err), AVZ_OK, "%s: %s",
                     pe_name(others[e]), err);
        model_free(&m);
    }
}

Test(model, bad_token_ids_are_refused) {
    Model m;
    char err[AVZ_ERR_LEN];
    helper_model(&m, PE_ROPE, 1, 2, 16, 64, 1);
    int ids[3] = {0, 5, 9999};
    cr_assert_eq(model_forward(&m, ids, NULL, 1, 3, NULL, err), AVZ_ERR_INPUT);
    cr_assert(strstr(err, "9999"), "%s", err);
    model_free(&m);
}

/* ---- ablation ------------------------------------------------------------------ */

static void ref_layernorm(float *out, const float *x, const float *w, const float *b, int C) {
    double m = 0, v = 0;
    for (int i = 0; i < C; i++) m += x[i];
    m /= C;
    for (int i = 0; i < C; i++) v += (x[i] - m) * (x[i] - m);
    v /= C;
    for (int i = 0; i < C; i++) out[i] = (float)((x[i] - m) / sqrt(v + 1e-5)) * w[i] + b[i];
}

/* y (OC) = x (C) @ w (C, OC) + b */
static void ref_linear(float *y, const float *x, const float *w, const float *b, int C, int OC) {
    for (int o = 0; o < OC; o++) {
        double s = b[o];
        for (int i = 0; i < C; i++) s += (double)x[i] * w[(size_t)i * OC + o];
        y[o] = (float)s;
    }
}

/* The model with every attention head removed, written independently: each block
 * adds only c_proj's bias, then the MLP. Logits of position t (V). */
static void ref_forward_no_attention(const Model *m, int token, int t, float *logits) {
    int C = m->cfg.n_embd, V = m->cfg.vocab_size;
    const ParamTensors *p = &m->params;
    float x[64], h[64], f[256], g[256], y[64];
    for (int i = 0; i < C; i++)
        x[i] = p->wte[token * C + i] + (m->cfg.pe == PE_LEARNED ? p->wpe[t * C + i] : 0);
    for (int l = 0; l < m->cfg.n_layer; l++) {
        for (int i = 0; i < C; i++) x[i] += p->attprojb[l * C + i];
        ref_layernorm(h, x, p->ln2w + l * C, p->ln2b + l * C, C);
        ref_linear(f, h, p->fcw + (size_t)l * C * 4 * C, p->fcb + l * 4 * C, C, 4 * C);
        for (int i = 0; i < 4 * C; i++)
            g[i] = 0.5f * f[i] * (1 + tanhf(0.7978845608f * (f[i] + 0.044715f * f[i] * f[i] * f[i])));
        ref_linear(y, g, p->fcprojw + (size_t)l * 4 * C * C, p->fcprojb + l * C, 4 * C, C);
        for (int i = 0; i < C; i++) x[i] += y[i];
    }
    ref_layernorm(h, x, p->lnfw, p->lnfb, C);
    for (int v = 0; v < V; v++) {
        double s = 0;
        for (int i = 0; i < C; i++) s += (double)h[i] * p->wte[v * C + i];
        logits[v] = (float)s;
    }
}

Test(ablation, all_heads_off_equals_model_without_attention) {
    PosEncoding pes[] = {PE_LEARNED, PE_ROPE};
    for (int e = 0; e < 2; e++) {
        Model m;
        helper_model(&m, pes[e], 2, 4, 32, 64, 21);
        int T = 12, V = m.cfg.vocab_size, ids[12];
        helper_tokens(ids, T, V, 22);
        unsigned char mask[8];
        memset(mask, 1, sizeof mask);
        ForwardOpts o = {.ablate = mask, .ablate_mode = ABLATE_ZERO};
        char err[AVZ_ERR_LEN];
        cr_assert_eq(model_forward(&m, ids, NULL, 1, T, &o, err), AVZ_OK, "%s", err);
        float *ref = malloc(sizeof(float) * V);
        for (int t = 0; t < T; t++) {
            ref_forward_no_attention(&m, ids[t], t, ref);
            double er = helper_rel_err(m.acts.logits + (size_t)t * V, ref, V);
            cr_assert(er < 1e-4, "%s position %d: rel err %.3e", pe_name(pes[e]), t, er);
        }
        free(ref);
        model_free(&m);
    }
}

Test(ablation, earlier_layers_unchanged_later_layers_change) {
    Model m;
    helper_model(&m, PE_ALIBI, 3, 4, 32, 64, 31);
    int T = 16, ids[16];
    helper_tokens(ids, T, m.cfg.vocab_size, 32);
    char err[AVZ_ERR_LEN];
    size_t TT = (size_t)T * T, n = 3 * 4 * TT;
    float *base = malloc(4 * n), *abl = malloc(4 * n);
    cr_assert_eq(model_forward(&m, ids, NULL, 1, T, NULL, err), AVZ_OK);
    model_capture_all(&m, 0, base);
    unsigned char mask[12] = {0};
    mask[1 * 4 + 2] = 1;                                 /* head 1.2 off */
    ForwardOpts o = {.ablate = mask};
    cr_assert_eq(model_forward(&m, ids, NULL, 1, T, &o, err), AVZ_OK);
    model_capture_all(&m, 0, abl);
    /* layers 0 and 1 (attention maps of layer 1 are computed before its heads' outputs
     * are used) are bit-identical; layer 2 reads the changed residual stream */
    cr_assert(memcmp(base, abl, 4 * 2 * 4 * TT) == 0, "layers 0-1 changed");
    double d = 0;
    for (size_t i = 2 * 4 * TT; i < n; i++) d = fmax(d, fabs(base[i] - abl[i]));
    cr_assert(d > 1e-4, "layer 2 did not change (max diff %g)", d);
    free(base);
    free(abl);
    model_free(&m);
}

Test(ablation, mean_mode_replaces_output_by_its_average) {
    Model m;
    helper_model(&m, PE_SINUSOIDAL, 1, 4, 32, 64, 41);
    int T = 10, ids[10], C = 32, hs = 8;
    helper_tokens(ids, T, m.cfg.vocab_size, 42);
    unsigned char mask[4] = {0, 0, 1, 0};
    ForwardOpts o = {.ablate = mask, .ablate_mode = ABLATE_MEAN};
    char err[AVZ_ERR_LEN];
    cr_assert_eq(model_forward(&m, ids, NULL, 1, T, &o, err), AVZ_OK);
    for (int d = 0; d < hs; d++) {
        double mean = 0;
        for (int t = 0; t < T; t++) mean += m.acts.z[t * C + 2 * hs + d];
        mean /= T;
        for (int t = 0; t < T; t++) {
            cr_assert(fabs(m.acts.zin[t * C + 2 * hs + d] - mean) < 1e-5);
            cr_assert_eq(m.acts.zin[t * C + 1 * hs + d], m.acts.z[t * C + 1 * hs + d]);
        }
    }
    model_free(&m);
}

Test(ablation, run_and_sweep_agree_and_report_real_changes) {
    Model m;
    helper_model(&m, PE_ROPE, 2, 4, 32, 64, 51);
    int T = 24, ids[24], V = m.cfg.vocab_size;
    helper_tokens(ids, T, V, 52);
    Backend *be = backend_cpu_create();
    char err[AVZ_ERR_LEN], note[AVZ_ERR_LEN];
    float imp[8], base;
    cr_assert_eq(ablate_sweep(&be, &m, ids, T, ABLATE_ZERO, imp, &base, NULL, NULL, note, err),
                 AVZ_OK, "%s", err);
    unsigned char mask[8] = {0};
    mask[5] = 1;
    AblationResult r;
    cr_assert_eq(ablate_run(&be, &m, ids, T, mask, ABLATE_ZERO, 5, &r, note, err), AVZ_OK);
    cr_assert(fabsf(r.loss_base - base) < 1e-5f);
    cr_assert(fabsf((r.loss_ablated - r.loss_base) - imp[5]) < 1e-5f, "sweep %g vs run %g",
              imp[5], r.loss_ablated - r.loss_base);
    cr_assert(r.kl_mean > 0, "ablating a head changed nothing");
    cr_assert_eq(r.kl[0], r.kl[0]);
    for (int i = 1; i < 5; i++) cr_assert(r.ptop_base[i] <= r.ptop_base[i - 1]);
    ablation_result_free(&r);
    backend_close(be);
    model_free(&m);
}

/* The sweep starts each pass at the ablated head's layer (first_layer, from the
 * baseline's residual stream): every head's importance equals a full pass with that
 * head off, on a 3-layer model where a head of layer 1 has layers on both sides. */
Test(ablation, sweep_from_the_ablated_layer_equals_full_passes) {
    Model m;
    helper_model(&m, PE_ALIBI, 3, 4, 32, 64, 57);
    int T = 20, ids[20], n = 12;
    helper_tokens(ids, T, m.cfg.vocab_size, 58);
    int tg[20];
    for (int t = 0; t < T; t++) tg[t] = t + 1 < T ? ids[t + 1] : -1;
    Backend *be = backend_cpu_create();
    char err[AVZ_ERR_LEN], note[AVZ_ERR_LEN];
    float imp[12], base;
    cr_assert_eq(ablate_sweep(&be, &m, ids, T, ABLATE_MEAN, imp, &base, NULL, NULL, note, err),
                 AVZ_OK, "%s", err);
    unsigned char mask[12] = {0};
    ForwardOpts o = {.ablate = mask, .ablate_mode = ABLATE_MEAN};
    for (int i = 0; i < n; i++) {
        mask[i] = 1;
        cr_assert_eq(model_forward(&m, ids, tg, 1, T, &o, err), AVZ_OK, "%s", err);
        mask[i] = 0;
        float full = m.mean_loss - base;
        cr_expect(fabsf(full - imp[i]) <= 1e-6f * fmaxf(1.0f, fabsf(full)),
                  "head %d: sweep %.9g, full pass %.9g", i, imp[i], full);
    }
    /* first_layer on a pass whose shape differs from the last is ignored, not misread */
    o.first_layer = 2;
    mask[9] = 1;
    cr_assert_eq(model_forward(&m, ids, tg, 1, T - 3, &o, err), AVZ_OK, "%s", err);
    float shorter = m.mean_loss;
    o.first_layer = 0;
    cr_assert_eq(model_forward(&m, ids, tg, 1, T - 3, &o, err), AVZ_OK, "%s", err);
    cr_expect_float_eq(shorter, m.mean_loss, 1e-7f);
    backend_close(be);
    model_free(&m);
}

static int cancel_after_3(void *user, int done, int total) {
    (void)user; (void)total;
    return done >= 3;
}

Test(ablation, sweep_can_be_cancelled) {
    Model m;
    helper_model(&m, PE_NONE, 2, 4, 32, 64, 61);
    int T = 8, ids[8];
    helper_tokens(ids, T, m.cfg.vocab_size, 62);
    Backend *be = backend_cpu_create();
    char err[AVZ_ERR_LEN], note[AVZ_ERR_LEN];
    float imp[8];
    cr_assert_eq(ablate_sweep(&be, &m, ids, T, ABLATE_ZERO, imp, NULL, cancel_after_3, NULL,
                              note, err), AVZ_ERR_INPUT);
    cr_assert(strstr(err, "cancelled"), "%s", err);
    cr_assert(isfinite(imp[2]) && isnan(imp[3]));
    backend_close(be);
    model_free(&m);
}

/* ---- save / load ---------------------------------------------------------------- */

Test(model, save_load_round_trip_gives_identical_logits) {
    for (int e = 0; e < 5; e++) {
        Model m, m2;
        helper_model(&m, ALL_PE[e], 2, 4, 32, 64, 71);
        char dir[64], err[AVZ_ERR_LEN];
        helper_tmpdir(dir, sizeof dir);
        cr_assert_eq(model_save(&m, dir, err), AVZ_OK, "%s", err);
        cr_assert_eq(model_load(&m2, dir, err), AVZ_OK, "%s", err);
        cr_assert_eq(m2.num_parameters, m.num_parameters);
        cr_assert(memcmp(m.params_memory, m2.params_memory, 4 * m.num_parameters) == 0);
        cr_assert_eq(m2.cfg.pe, ALL_PE[e]);
        cr_assert_eq(m2.vocab.n, m.vocab.n);
        model_free(&m);
        model_free(&m2);
    }
}

/* The load's progress hook (the app's loading bar): every part once, in order, the last
 * call done == total = n_layer + 2; only on the thread that set it; NULL stops it. */
typedef struct { int calls, last_done, total, in_order; } LoadCount;

static void count_progress(void *user, int done, int total) {
    LoadCount *c = user;
    if (done != c->last_done + 1 && !(c->calls == 0 && done == 0)) c->in_order = 0;
    c->calls++;
    c->last_done = done;
    c->total = total;
}

Test(model, loading_reports_its_progress_part_by_part) {
    Model m, m2;
    helper_model(&m, PE_LEARNED, 3, 2, 16, 32, 5);
    char dir[64], err[AVZ_ERR_LEN];
    helper_tmpdir(dir, sizeof dir);
    cr_assert_eq(model_save(&m, dir, err), AVZ_OK, "%s", err);
    LoadCount c = {0, -1, 0, 1};
    model_load_set_progress(count_progress, &c);
    cr_assert_eq(model_load(&m2, dir, err), AVZ_OK, "%s", err);
    model_load_set_progress(NULL, NULL);
    cr_assert_eq(c.total, 3 + 2);
    cr_assert_eq(c.calls, 3 + 2 + 1, "%d calls", c.calls);   /* 0, 1, ..., total */
    cr_assert_eq(c.last_done, c.total);
    cr_assert(c.in_order);
    model_free(&m2);
    LoadCount none = {0, -1, 0, 1};
    model_load_set_progress(NULL, &none);
    cr_assert_eq(model_load(&m2, dir, err), AVZ_OK, "%s", err);
    cr_assert_eq(none.calls, 0);
    model_free(&m2);
    model_free(&m);
    helper_rmtree(dir);
}

/* ---- the weight cache and the kept probabilities -------------------------------------- */

/* logits of one pass (copied out) */
static float *pass_logits(Model *m, const int *ids, int T) {
    char err[AVZ_ERR_LEN];
    cr_assert_eq(model_forward(m, ids, NULL, 1, T, NULL, err), AVZ_OK, "%s", err);
    size_t n = (size_t)T * m->cfg.vocab_size;
    float *l = malloc(sizeof(float) * n);
    memcpy(l, m->acts.logits, sizeof(float) * n);
    return l;
}

Test(weight_cache, same_bits_as_unpacked_and_sees_every_change) {
    for (int e = 0; e < 5; e++) {
        Model a, b;   /* a: cache on (the default); b: the same model, cache off */
        helper_model(&a, ALL_PE[e], 2, 4, 32, 80, 31 + e);
        helper_model(&b, ALL_PE[e], 2, 4, 32, 80, 31 + e);
        cr_assert(a.wcache.enabled, "model_create should switch the weight cache on");
        model_weight_cache_enable(&b, 0);
        int T = 40, ids[40];
        helper_tokens(ids, T, a.cfg.vocab_size, 5);
        size_t n = (size_t)T * a.cfg.vocab_size;
        float *la = pass_logits(&a, ids, T), *lb = pass_logits(&b, ids, T);
        cr_assert(a.wcache.version == a.params_version, "the pass did not pack the weights");
        cr_expect(memcmp(la, lb, 4 * n) == 0, "%s: packed weights give other bits",
                  pe_name(ALL_PE[e]));
        /* one weight of every packed matrix changes: the next pass must see all of them */
        float *w[] = {a.params.wte + 5, a.params.qkvw + 77, a.params.attprojw + 33,
                      a.params.fcw + 999, a.params.fcprojw + 1234};
        for (int i = 0; i < 5; i++) {
            float *wb = b.params_memory + (w[i] - a.params_memory);
            *w[i] += 0.5f;
            *wb += 0.5f;
            model_params_changed(&a);
            float *la2 = pass_logits(&a, ids, T), *lb2 = pass_logits(&b, ids, T);
            cr_expect(memcmp(la2, lb2, 4 * n) == 0, "%s: change %d: stale packed weights",
                      pe_name(ALL_PE[e]), i);
            cr_expect(memcmp(la2, la, 4 * n) != 0, "%s: change %d changed nothing",
                      pe_name(ALL_PE[e]), i);
            free(la);
            la = la2;
            free(lb2);
        }
        free(la); free(lb);
        model_free(&a);
        model_free(&b);
    }
}

Test(weight_cache, repacks_for_other_kernels_and_when_switched_off) {
    Model a, b;
    helper_model(&a, PE_ROPE, 2, 4, 32, 80, 8);
    helper_model(&b, PE_ROPE, 2, 4, 32, 80, 8);
    model_weight_cache_enable(&b, 0);
    int T = 33, ids[33];
    helper_tokens(ids, T, a.cfg.vocab_size, 6);
    size_t n = (size_t)T * a.cfg.vocab_size;
    free(pass_logits(&a, ids, T));
    const char *isas[] = {"avx2", "portable"};
    for (int i = 0; i < 2; i++) {
        if (!gemm_select(isas[i])) continue;
        float *la = pass_logits(&a, ids, T), *lb = pass_logits(&b, ids, T);
        cr_assert(a.wcache.lm_head.k == gemm_kernels(), "%s: not repacked", isas[i]);
        cr_expect(memcmp(la, lb, 4 * n) == 0, "%s: packed weights give other bits", isas[i]);
        free(la); free(lb);
    }
    model_weight_cache_enable(&a, 0);
    cr_assert(a.wcache.lm_head.data == NULL, "switched off but still holds memory");
    a.params.wte[3] += 1.0f;                 /* off: no model_params_changed needed */
    b.params.wte[3] += 1.0f;
    float *la = pass_logits(&a, ids, T), *lb = pass_logits(&b, ids, T);
    cr_expect(memcmp(la, lb, 4 * n) == 0, "cache off: the weights are read where they are");
    free(la); free(lb);
    model_free(&a);
    model_free(&b);
}

Test(weight_cache, every_model_has_it_loaded_or_made) {
    Model m;
    helper_model(&m, PE_ALIBI, 1, 2, 16, 16, 4);
    char dir[64], err[AVZ_ERR_LEN];
    helper_tmpdir(dir, sizeof dir);
    cr_assert_eq(model_save(&m, dir, err), AVZ_OK, "%s", err);
    Model l;
    cr_assert_eq(model_load(&l, dir, err), AVZ_OK, "%s", err);
    cr_assert(l.wcache.enabled, "a loaded model should pack its weights once");
    cr_assert(m.wcache.enabled, "so should a model made in memory");
    model_free(&l);
    model_free(&m);
}

/* Short texts keep every probability (attn_fast_keep); long ones run flash proper and
 * recompute at capture. Both must agree with the naive pass, on both sides of the
 * boundary (256 tokens). */
Test(model, kept_and_recomputed_maps_agree_with_naive_around_the_boundary) {
    int Ts[] = {1, 7, 255, 256, 257, 300};
    for (int ti = 0; ti < 6; ti++) {
        Model m;
        helper_model(&m, ti % 2 ? PE_ALIBI : PE_ROPE, 1, 2, 16, 16, 40 + ti);
        int T = Ts[ti], V = m.cfg.vocab_size, *ids = malloc(sizeof(int) * T);
        helper_tokens(ids, T, V, 3);
        char err[AVZ_ERR_LEN];
        ForwardOpts o = {.attn = ATTN_NAIVE};
        cr_assert_eq(model_forward(&m, ids, NULL, 1, T, &o, err), AVZ_OK, "%s", err);
        size_t nm = (size_t)2 * T * T;
        float *ln = malloc(sizeof(float) * T * V), *Pn = malloc(sizeof(float) * nm);
        float *Pf = malloc(sizeof(float) * nm);
        memcpy(ln, m.acts.logits, sizeof(float) * T * V);
        model_capture_all(&m, 0, Pn);
        o.attn = ATTN_FLASH;
        cr_assert_eq(model_forward(&m, ids, NULL, 1, T, &o, err), AVZ_OK, "%s", err);
        cr_expect_eq(m.kept, T <= 256, "T=%d: kept %d", T, m.kept);
        model_capture_all(&m, 0, Pf);
        double el = helper_rel_err(m.acts.logits, ln, (size_t)T * V);
        double ep = helper_rel_err(Pf, Pn, nm);
        cr_expect(el < 1e-5 && ep < 1e-5, "T=%d: logits rel err %.3e, maps %.3e", T, el, ep);
        free(ids); free(ln); free(Pn); free(Pf);
        model_free(&m);
    }
}
