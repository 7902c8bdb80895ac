/* ablate.c: head ablation experiments (see ablate.h). */
#include "ablate.h"

#include <math.h>
#include <string.h>

void ablate_topk(const float *p, int V, int k, int *ids, float *vals) {
    /* insertion into a short sorted list: k is small */
    int n = 0;
    for (int v = 0; v < V; v++) {
        if (n == k && p[v] <= vals[k - 1]) continue;
        int pos = n < k ? n++ : k - 1;
        while (pos > 0 && vals[pos - 1] < p[v]) {
            vals[pos] = vals[pos - 1];
            ids[pos] = ids[pos - 1];
            pos--;
        }
        vals[pos] = p[v];
        ids[pos] = v;
    }
}

float ablate_kl(const float *p, const float *q, int V) {
    double kl = 0.0;
    for (int v = 0; v < V; v++) {
        if (p[v] <= 0.0f) continue;
        double qv = q[v] > 1e-30f ? q[v] : 1e-30;
        kl += p[v] * (log(p[v]) - log(qv));
    }
    return (float)(kl > 0.0 ? kl : 0.0);
}

/* Targets for scoring a text on itself: position t predicts token t+1. */
static int *shifted_targets(const int *ids, int T) {
    int *tg = avz_xmalloc(sizeof(int) * T);
    for (int t = 0; t < T; t++) tg[t] = t + 1 < T ? ids[t + 1] : -1;
    return tg;
}

AvzCode ablate_run(Backend **be, Model *m, const int *ids, int T, const unsigned char *mask,
                   AblateMode mode, int topk, AblationResult *r, char *note, char *err) {
    memset(r, 0, sizeof *r);
    if (topk < 1 || topk > ABLATE_MAX_TOPK)
        return avz_fail(err, AVZ_ERR_INPUT, "--top must be between 1 and %d", ABLATE_MAX_TOPK);
    int V = m->cfg.vocab_size;
    int *tg = shifted_targets(ids, T);
    ForwardOpts o = {0};
    AvzCode rc = backend_forward(be, m, ids, tg, 1, T, &o, note, err);
    if (rc) { free(tg); return rc; }
    float *base = avz_xmalloc(sizeof(float) * (size_t)T * V);
    memcpy(base, model_probs(m), sizeof(float) * (size_t)T * V);
    r->loss_base = m->mean_loss;
    o.ablate = mask;
    o.ablate_mode = mode;
    rc = backend_forward(be, m, ids, tg, 1, T, &o, note, err);
    free(tg);
    if (rc) { free(base); return rc; }
    const float *abl = model_probs(m);
    r->loss_ablated = m->mean_loss;
    r->T = T;
    r->topk = topk;
    r->kl = avz_xmalloc(sizeof(float) * T);
    double s = 0.0;
    for (int t = 0; t < T; t++) {
        r->kl[t] = ablate_kl(base + (size_t)t * V, abl + (size_t)t * V, V);
        s += r->kl[t];
    }
    r->kl_mean = (float)(s / T);
    ablate_topk(base + (size_t)(T - 1) * V, V, topk, r->top_base, r->ptop_base);
    ablate_topk(abl + (size_t)(T - 1) * V, V, topk, r->top_ablated, r->ptop_ablated);
    free(base);
    return AVZ_OK;
}

void ablation_result_free(AblationResult *r) {
    free(r->kl);
    r->kl = NULL;
}

AvzCode ablate_sweep(Backend **be, Model *m, const int *ids, int T, AblateMode mode,
                     float *importance, float *loss_base, AvzProgressFn progress, void *user,
                     char *note, char *err) {
    int L = m->cfg.n_layer, NH = m->cfg.n_head, n = L * NH;
    if (T < 2)
        return avz_fail(err, AVZ_ERR_INPUT, "the sweep needs a text of at least one word");
    int *tg = shifted_targets(ids, T);
    ForwardOpts o = {0};
    AvzCode rc = backend_forward(be, m, ids, tg, 1, T, &o, note, err);
    float base = m->mean_loss;
    if (loss_base) *loss_base = base;
    unsigned char *mask = avz_xcalloc(n, 1);
    for (int i = 0; i < n; i++) importance[i] = NAN;
    /* Switching off a head of layer l changes nothing below l: each pass starts at l
     * from the baseline's residual stream after layer l - 1, kept here because the
     * ablated passes overwrite the model's copy from layer l up. A 12-layer model then
     * does on average about half the work per head. Only on the CPU, whose activations
     * live in m->acts; another backend runs every layer. */
    size_t slice = (size_t)T * m->cfg.n_embd;
    int resume = !rc && strcmp((*be)->name, "cpu") == 0;
    float *base_res = resume ? avz_xmalloc(sizeof(float) * (size_t)L * slice) : NULL;
    if (base_res) memcpy(base_res, m->acts.residual3, sizeof(float) * (size_t)L * slice);
    o.ablate = mask;
    o.ablate_mode = mode;
    for (int i = 0; !rc && i < n; i++) {
        if (progress && progress(user, i, n)) {
            rc = avz_fail(err, AVZ_ERR_INPUT, "sweep cancelled after %d of %d heads", i, n);
            break;
        }
        int l = i / NH;
        o.first_layer = base_res ? l : 0;
        if (base_res && l > 0)
            memcpy(m->acts.residual3 + (size_t)(l - 1) * slice,
                   base_res + (size_t)(l - 1) * slice, sizeof(float) * slice);
        mask[i] = 1;
        rc = backend_forward(be, m, ids, tg, 1, T, &o, note, err);
        mask[i] = 0;
        if (!rc) importance[i] = m->mean_loss - base;
    }
    if (!rc && progress) progress(user, n, n);
    free(base_res);
    free(mask);
    free(tg);
    return rc;
}
