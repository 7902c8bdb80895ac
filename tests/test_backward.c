/* test_backward.c: the backward pass against finite differences.
 *
 * The gradient of a scalar loss f with respect to a parameter w can be estimated
 * without any calculus: (f(w + eps) - f(w - eps)) / (2 eps). We do that for random
 * entries of every parameter tensor of a tiny model, for each of the five position
 * encodings, and along one random direction per tensor (which checks every entry
 * at once), and compare with model_backward. Also: attention's backward on its own,
 * flash vs naive forward, that the gradient is added, repeatable and
 * independent of the thread count, and RoPE at the random positions of
 * train.h's random_positions (forward and backward rotate by the same table). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "attention.h"
#include "backward.h"
#include "helpers.h"
#include "model.h"

static const PosEncoding ALL_PE[] = {PE_NONE, PE_SINUSOIDAL, PE_LEARNED, PE_ROPE, PE_ALIBI};
static const char *PARAM_NAMES[N_PARAM_TENSORS] = {
    "wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
    "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"};

enum { B = 2, T = 7 };   /* T = 7: not a multiple of anything */

/* A batch: random tokens; targets are the next token, the last one random, and two
 * positions not counted (target -1) so that masked rows are exercised too. */
static void make_batch(int *tokens, int *targets, int V, uint64_t seed) {
    for (int b = 0; b < B; b++) helper_tokens(tokens + b * T, T, V, seed + b);
    for (int i = 0; i < B * T; i++) targets[i] = (i % T < T - 1) ? tokens[i + 1] : 2 + i % 5;
    targets[3] = -1;
    targets[T + 5] = -1;
}

/* Runs the forward pass and returns its mean loss, recomputed in double from the
 * float logits: m->mean_loss is rounded to float, and that rounding (about 1e-7 of
 * the loss) would be the largest noise left in a finite difference. */
static double loss_of(Model *m, const int *tokens, const int *targets, AttnKind kind) {
    char err[AVZ_ERR_LEN];
    ForwardOpts o = {.attn = kind};
    cr_assert_eq(model_forward(m, tokens, targets, B, T, &o, err), AVZ_OK, "%s", err);
    int V = m->cfg.vocab_size, count = 0;
    double total = 0;
    for (int i = 0; i < B * T; i++) {
        if (targets[i] < 0) continue;
        const float *l = m->acts.logits + (size_t)i * V;
        double mx = l[0], s = 0;
        for (int v = 1; v < V; v++) mx = fmax(mx, l[v]);
        for (int v = 0; v < V; v++) s += exp(l[v] - mx);
        total += log(s) + mx - l[targets[i]];
        count++;
    }
    return total / count;
}

/* Central difference of the loss along direction dir (n floats at w), with step
 * eps, refined by Richardson extrapolation: (4 D(eps/2) - D(eps)) / 3 cancels the
 * eps^2 error term, so a step large enough to keep float rounding small can be used. */
static double numeric_grad(Model *m, const int *tokens, const int *targets, float *w,
                           const float *dir, size_t n, float eps) {
    double d[2];
    float *saved = malloc(sizeof(float) * n);
    memcpy(saved, w, sizeof(float) * n);
    for (int r = 0; r < 2; r++) {
        float h = r ? eps * 0.5f : eps;
        for (size_t i = 0; i < n; i++) w[i] = saved[i] + h * dir[i];
        model_params_changed(m);   /* the weight cache packs the nudged weights */
        double fp = loss_of(m, tokens, targets, ATTN_FLASH);
        for (size_t i = 0; i < n; i++) w[i] = saved[i] - h * dir[i];
        model_params_changed(m);
        double fm = loss_of(m, tokens, targets, ATTN_FLASH);
        d[r] = (fp - fm) / (2.0 * h);
    }
    memcpy(w, saved, sizeof(float) * n);
    model_params_changed(m);
    free(saved);
    return (4.0 * d[1] - d[0]) / 3.0;
}

static double rel(double a, double n) {
    return fabs(a - n) / fmax(fmax(fabs(a), fabs(n)), 1e-3);
}

#define FD_EPS 2e-2f
#define FD_TOL 2e-2
#define FD_ENTRIES 6

/* Checks FD_ENTRIES random entries and one random direction of every non-empty
 * parameter tensor of a model with encoding pe. */
static void check_model_gradients(PosEncoding pe, int NH, uint64_t seed, const int *pos) {
#ifdef _OPENMP
    /* hundreds of passes of a tiny model: threads would only add waiting (and the
     * thread count cannot change the result, see the last test) */
    omp_set_num_threads(1);
#endif
    Model m;
    helper_model(&m, pe, 2, NH, 16, 16, seed);
    m.rope_pos = pos;   /* NULL: positions 0..T-1 */
    int tokens[B * T], targets[B * T];
    make_batch(tokens, targets, m.cfg.vocab_size, seed + 100);
    float *grads = calloc(m.num_parameters, sizeof(float));
    loss_of(&m, tokens, targets, ATTN_FLASH);
    model_backward(&m, tokens, targets, grads);

    AvzRng r;
    avz_rng_init(&r, seed + 7);
    float *w = m.params_memory, *g = grads;
    for (int ti = 0; ti < N_PARAM_TENSORS; ti++) {
        size_t n = m.param_sizes[ti];
        if (ti == 1) cr_assert_eq(n > 0, pe == PE_LEARNED, "wpe exists for learned only");
        if (n == 0) continue;
        /* wpe: only positions < T get a gradient; the rest must be exactly 0 */
        size_t pick = ti == 1 ? (size_t)T * m.cfg.n_embd : n;
        double worst = 0;
        size_t worst_i = 0;
        double worst_a = 0, worst_n = 0;
        for (int e = 0; e < FD_ENTRIES; e++) {
            size_t i = avz_rng_u64(&r) % pick;
            float one = 1.0f;
            double num = numeric_grad(&m, tokens, targets, w + i, &one, 1, FD_EPS);
            double err = rel(g[i], num);
            if (err > worst) { worst = err; worst_i = i; worst_a = g[i]; worst_n = num; }
        }
        cr_expect(worst <= FD_TOL, "%s NH=%d %s: rel err %.3e at entry %zu "
                  "(backward %.6e, finite difference %.6e)", pe_name(pe), NH,
                  PARAM_NAMES[ti], worst, worst_i, worst_a, worst_n);
        /* one random unit direction u: d loss / d eps along u equals grad . u */
        float *u = malloc(sizeof(float) * n);
        double norm = 0, gu = 0;
        for (size_t i = 0; i < n; i++) {
            u[i] = avz_rng_normal(&r);
            norm += (double)u[i] * u[i];
        }
        for (size_t i = 0; i < n; i++) gu += (double)g[i] * (u[i] /= (float)sqrt(norm));
        double num = numeric_grad(&m, tokens, targets, w, u, n, FD_EPS);
        cr_expect(rel(gu, num) <= FD_TOL, "%s NH=%d %s: along a random direction "
                  "backward %.6e, finite difference %.6e (rel err %.3e)", pe_name(pe), NH,
                  PARAM_NAMES[ti], gu, num, rel(gu, num));
        free(u);
        if (ti == 1) {
            for (size_t i = pick; i < n; i++)
                cr_expect_eq(g[i], 0.0f, "wpe beyond T has gradient %g at %zu", g[i], i);
        }
        w += n;
        g += n;
    }
    free(grads);
    model_free(&m);
}

Test(backward, every_parameter_matches_finite_differences_none) {
    check_model_gradients(PE_NONE, 2, 11, NULL);
}
Test(backward, every_parameter_matches_finite_differences_sinusoidal) {
    check_model_gradients(PE_SINUSOIDAL, 4, 12, NULL);
}
Test(backward, every_parameter_matches_finite_differences_learned) {
    check_model_gradients(PE_LEARNED, 2, 13, NULL);
}
Test(backward, every_parameter_matches_finite_differences_rope) {
    check_model_gradients(PE_ROPE, 2, 14, NULL);
    check_model_gradients(PE_ROPE, 4, 15, NULL);
}

/* Rows at positions with gaps, as a step of training with randomized positions sees. */
static const int GAPPED[T] = {0, 3, 4, 9, 15, 16, 30};

Test(backward, rope_at_random_positions_matches_finite_differences) {
    check_model_gradients(PE_ROPE, 2, 17, GAPPED);
}

/* RoPE depends on distances only: moving every row by the same offset leaves the logits
 * as they were (up to rounding), while the gaps of GAPPED change them. */
Test(backward, rope_positions_matter_only_through_their_distances) {
    Model m;
    helper_model(&m, PE_ROPE, 2, 2, 16, 16, 18);
    int tokens[B * T], targets[B * T], shifted[T];
    make_batch(tokens, targets, m.cfg.vocab_size, 118);
    for (int t = 0; t < T; t++) shifted[t] = 100 + t;
    size_t n = (size_t)B * T * m.cfg.vocab_size;
    float *plain = malloc(sizeof(float) * n);
    loss_of(&m, tokens, targets, ATTN_FLASH);
    memcpy(plain, m.acts.logits, sizeof(float) * n);
    double d_shift = 0, d_gap = 0;
    m.rope_pos = shifted;
    loss_of(&m, tokens, targets, ATTN_FLASH);
    for (size_t i = 0; i < n; i++) d_shift = fmax(d_shift, fabs(m.acts.logits[i] - plain[i]));
    m.rope_pos = GAPPED;
    loss_of(&m, tokens, targets, ATTN_FLASH);
    for (size_t i = 0; i < n; i++) d_gap = fmax(d_gap, fabs(m.acts.logits[i] - plain[i]));
    cr_expect(d_shift < 1e-4, "positions 100..106 vs 0..6: logits differ by %.3e", d_shift);
    cr_expect(d_gap > 1e-3, "gapped positions left the logits as they were (%.3e)", d_gap);
    free(plain);
    model_free(&m);
}

Test(backward, every_parameter_matches_finite_differences_alibi) {
    check_model_gradients(PE_ALIBI, 4, 16, NULL);
}

/* ---- attention alone ------------------------------------------------------ */

static void fill(float *x, size_t n, AvzRng *r, float scale) {
    for (size_t i = 0; i < n; i++) x[i] = scale * avz_rng_normal(r);
}

enum { TA = 65, HS = 8 };   /* 65: past one flash tile of queries (32) and of keys (64) */

/* loss = sum_t,d R[t][d] * out[t][d], so that dloss/dout = R. Attention is computed
 * here again in double, straight from the definition (not with attention.c), so
 * that the finite differences carry no float rounding noise. */
static double attn_loss_double(const AttnShape *s, const float *q, const float *k,
                               const float *v, const float *R) {
    double f = 0, S[TA];
    for (int i = 0; i < s->T; i++) {
        int jmax = s->causal ? i : s->T - 1;
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j <= jmax; j++) {
            double dot = 0;
            for (int d = 0; d < s->hs; d++) dot += (double)q[i * s->hs + d] * k[j * s->hs + d];
            S[j] = dot * s->scale - s->slope * abs(i - j);
            mx = fmax(mx, S[j]);
        }
        for (int j = 0; j <= jmax; j++) sum += exp(S[j] - mx);
        for (int j = 0; j <= jmax; j++) {
            double p = exp(S[j] - mx) / sum;
            for (int d = 0; d < s->hs; d++) f += R[i * s->hs + d] * p * v[j * s->hs + d];
        }
    }
    return f;
}

/* Random q, k, v; the forward by attn_flash (which saves lse), the backward from
 * that lse, against central differences of the double-precision loss. */
static void check_attention_backward(int causal) {
    AvzRng r;
    avz_rng_init(&r, 77 + causal);
    size_t n = (size_t)TA * HS;
    float *q = malloc(4 * n), *k = malloc(4 * n), *v = malloc(4 * n), *R = malloc(4 * n);
    float *out = malloc(4 * n), *lse = malloc(4 * TA);
    float *dq = malloc(4 * n), *dk = malloc(4 * n), *dv = malloc(4 * n);
    fill(q, n, &r, 1.5f);
    fill(k, n, &r, 1.0f);
    fill(v, n, &r, 1.0f);
    fill(R, n, &r, 1.0f);
    AttnShape s = {TA, HS, 1.0f / sqrtf((float)HS), 0.3f, causal, HS};
    attn_flash(&s, q, k, v, out, lse);
    backward_attention(&s, q, k, v, out, R, lse, dq, dk, dv);
    float *xs[3] = {q, k, v}, *gs[3] = {dq, dk, dv};
    const char *names[3] = {"dq", "dk", "dv"};
    const float h = 1.0f / 1024;   /* a power of two: keep +- h is exact in float */
    for (int x = 0; x < 3; x++) {
        double worst = 0;
        size_t worst_i = 0;
        for (int e = 0; e < 16; e++) {
            size_t i = avz_rng_u64(&r) % n;
            if (e < 3) i = n - 1 - (size_t)e;   /* always include the last rows */
            float keep = xs[x][i];
            xs[x][i] = keep + h;
            double fp = attn_loss_double(&s, q, k, v, R);
            xs[x][i] = keep - h;
            double fm = attn_loss_double(&s, q, k, v, R);
            xs[x][i] = keep;
            double err = rel(gs[x][i], (fp - fm) / (2.0 * h));
            if (err > worst) { worst = err; worst_i = i; }
        }
        cr_expect(worst <= 1e-3, "causal=%d %s: max rel err %.3e vs finite differences "
                  "(at row %zu, column %zu)", causal, names[x], worst, worst_i / HS,
                  worst_i % HS);
    }
    free(q); free(k); free(v); free(R); free(out); free(lse);
    free(dq); free(dk); free(dv);
}

Test(backward, attention_alone_matches_finite_differences) {
    check_attention_backward(1);
    check_attention_backward(0);
}

/* ---- whole-model properties ---------------------------------------------- */

/* The backward recomputes P from the saved lse, so it must not matter which
 * attention the forward ran. */
Test(backward, flash_and_naive_forward_give_the_same_gradients) {
    for (int e = 0; e < 5; e++) {
        Model m;
        helper_model(&m, ALL_PE[e], 2, 4, 16, 16, 30 + e);
        int tokens[B * T], targets[B * T];
        make_batch(tokens, targets, m.cfg.vocab_size, 40 + e);
        float *gf = calloc(m.num_parameters, sizeof(float));
        float *gn = calloc(m.num_parameters, sizeof(float));
        loss_of(&m, tokens, targets, ATTN_FLASH);
        model_backward(&m, tokens, targets, gf);
        loss_of(&m, tokens, targets, ATTN_NAIVE);
        model_backward(&m, tokens, targets, gn);
        size_t off = 0;
        for (int ti = 0; ti < N_PARAM_TENSORS; ti++) {
            size_t n = m.param_sizes[ti];
            double err = n ? helper_rel_err(gn + off, gf + off, n) : 0;
            cr_expect(err <= 1e-5, "%s %s: naive vs flash gradient rel err %.3e",
                      pe_name(ALL_PE[e]), PARAM_NAMES[ti], err);
            off += n;
        }
        free(gf);
        free(gn);
        model_free(&m);
    }
}

/* model_backward adds to grads; it is bitwise repeatable, gives bitwise the same
 * result for any number of threads, and adds nothing when no target is counted. */
Test(backward, adds_is_repeatable_and_thread_count_independent) {
    Model m;
    helper_model(&m, PE_ROPE, 2, 4, 16, 16, 50);
    int tokens[B * T], targets[B * T];
    make_batch(tokens, targets, m.cfg.vocab_size, 51);
    size_t n = m.num_parameters;
    float *g1 = calloc(n, sizeof(float)), *g2 = calloc(n, sizeof(float));
    loss_of(&m, tokens, targets, ATTN_FLASH);
    model_backward(&m, tokens, targets, g1);
    model_backward(&m, tokens, targets, g2);
    cr_assert(memcmp(g1, g2, sizeof(float) * n) == 0, "two calls differ");
    model_backward(&m, tokens, targets, g2);
    double gmax = 0;
    for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(g1[i]));
    cr_assert(gmax > 0, "zero gradient");
    for (size_t i = 0; i < n; i++)
        cr_assert(fabs(g2[i] - 2.0 * g1[i]) <= 1e-6 * gmax, "second call did not add: "
                  "%g vs 2 * %g at %zu", g2[i], g1[i], i);
#ifdef _OPENMP
    int threads = omp_get_max_threads();
    for (int nt = 1; nt <= 3; nt += 2) {
        omp_set_num_threads(nt);
        memset(g2, 0, sizeof(float) * n);
        loss_of(&m, tokens, targets, ATTN_FLASH);
        model_backward(&m, tokens, targets, g2);
        cr_assert(memcmp(g1, g2, sizeof(float) * n) == 0, "the gradient with %d threads "
                  "differs from the one with %d", nt, threads);
    }
    omp_set_num_threads(threads);
#endif
    int none[B * T];
    for (int i = 0; i < B * T; i++) none[i] = -1;
    memset(g2, 0, sizeof(float) * n);
    char err[AVZ_ERR_LEN];
    cr_assert_eq(model_forward(&m, tokens, none, B, T, NULL, err), AVZ_OK, "%s", err);
    model_backward(&m, tokens, none, g2);
    for (size_t i = 0; i < n; i++) cr_assert_eq(g2[i], 0.0f, "no target, gradient at %zu", i);
    free(g1);
    free(g2);
    model_free(&m);
}
