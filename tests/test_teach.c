/* test_teach.c: the teaching views' numbers (model/teach.c): the permutation demo on
 * every shipped model, the flash trace against attn_naive at every step that can be
 * checked, the position vectors, angles and biases against their definitions. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "attention.h"
#include "helpers.h"
#include "posenc.h"
#include "teach.h"

#define TWO_PI 6.283185307179586

static const char *SHIPPED[] = {"none", "sinusoidal", "learned", "rope", "alibi"};

static void load_shipped(Model *m, const char *name) {
    char dir[256], err[AVZ_ERR_LEN];
    snprintf(dir, sizeof dir, "assets/models/%s", name);
    cr_assert_eq(model_load(m, dir, err), AVZ_OK, "%s", err);
}

/* The text of the example sentence on line `which` (0 = first) of assets/texts/examples.txt
 * ("label | text" lines, # comments), into buf. */
static void example_text(int which, char *buf, size_t len) {
    char err[AVZ_ERR_LEN];
    size_t n;
    char *all = avz_read_file("assets/texts/examples.txt", &n, err);
    cr_assert_not_null(all, "%s", err);
    int seen = 0;
    for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
        char *bar = strstr(line, " | ");
        if (line[0] == '#' || !bar || seen++ < which) continue;
        snprintf(buf, len, "%s", bar + 3);
        free(all);
        return;
    }
    cr_assert_fail("examples.txt has no sentence %d", which);
}

static void tokenize_example(const Model *m, int which, Tokens *t) {
    char text[1024], err[AVZ_ERR_LEN];
    example_text(which, text, sizeof text);
    cr_assert_eq(tokenize(&m->vocab, text, AVZ_MAX_T, t, err), AVZ_OK, "%s", err);
    cr_assert(t->n >= 10, "example is only %d tokens", t->n);
    cr_assert_eq(t->n_unknown, 0, "example has unknown words");
}

static void random_floats(float *x, size_t n, uint64_t seed) {
    AvzRng r;
    avz_rng_init(&r, seed);
    for (size_t i = 0; i < n; i++) x[i] = avz_rng_normal(&r);
}

/* ---- permutation ------------------------------------------------------------------ */

Test(teach, permutation_shows_position_is_what_breaks_the_symmetry) {
    for (int e = 0; e < 5; e++) {
        Model m;
        load_shipped(&m, SHIPPED[e]);
        Tokens t;
        tokenize_example(&m, 1, &t);
        TeachPermutation tp;
        char err[AVZ_ERR_LEN];
        cr_assert_eq(teach_permutation_init(&tp, &m, t.ids, t.n, 7, err), AVZ_OK, "%s", err);
        cr_log_info("permutation %-10s T=%d  diff without position %.3e  with %.3e",
                    SHIPPED[e], t.n, tp.diff_nopos, tp.diff_pos);
        fprintf(stderr, "permutation %-10s T=%d  diff without position %.3e  with %.3e\n",
                SHIPPED[e], t.n, tp.diff_nopos, tp.diff_pos);
        cr_expect(tp.diff_nopos < 1e-5, "%s: without position diff %.3e", SHIPPED[e],
                  tp.diff_nopos);
        if (m.cfg.pe == PE_NONE)
            cr_expect(tp.diff_pos < 1e-5, "none: diff %.3e", tp.diff_pos);
        else
            cr_expect(tp.diff_pos > 0.05, "%s: with position diff only %.3e", SHIPPED[e],
                      tp.diff_pos);
        /* the model is left holding the original sentence with its encoding */
        cr_expect_eq(m.T, t.n);
        cr_expect_eq(m.no_position, 0);
        teach_permutation_free(&tp);
        tokens_free(&t);
        model_free(&m);
    }
}

Test(teach, shuffle_is_a_permutation_and_never_the_identity) {
    int ids[40], perm[40], shuf[40];
    for (int i = 0; i < 40; i++) ids[i] = 100 + i;
    for (int T = 1; T <= 40; T += 13)
        for (uint64_t seed = 0; seed < 50; seed++) {
            int T2 = seed % 2 ? 2 : T;   /* T = 2 is identity half the time before the fix-up */
            teach_shuffle(ids, T2, seed, perm, shuf);
            int seen[40] = {0}, moved = 0;
            for (int i = 0; i < T2; i++) {
                cr_assert(perm[i] >= 0 && perm[i] < T2 && !seen[perm[i]]++, "not a permutation");
                cr_assert_eq(shuf[i], ids[perm[i]]);
                moved += perm[i] != i;
            }
            cr_assert(T2 < 2 || moved > 0, "identity for T=%d seed=%d", T2, (int)seed);
        }
}

Test(teach, diff_is_zero_for_permuted_matrices_and_not_otherwise) {
    int NH = 2, T = 9, perm[9], shuffled[9], ids[9];
    for (int i = 0; i < T; i++) ids[i] = i;
    teach_shuffle(ids, T, 3, perm, shuffled);
    float So[2 * 81], Ss[2 * 81];
    random_floats(So, 2 * 81, 4);
    for (int h = 0; h < NH; h++)
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++)
                Ss[(h * T + i) * T + j] = So[(h * T + perm[i]) * T + perm[j]];
    cr_expect_eq(teach_permutation_diff(So, Ss, perm, NH, T), 0.0f);
    Ss[1 * 81 + 5] += 0.25f;
    cr_expect(fabsf(teach_permutation_diff(So, Ss, perm, NH, T) - 0.25f) < 1e-6);
}

Test(teach, layer0_scores_refuse_a_too_long_text) {
    Model m;
    load_shipped(&m, "learned");
    int T = m.cfg.n_positions + 1, *ids = calloc(T, sizeof(int));
    float *S = malloc(sizeof(float) * m.cfg.n_head * T * T);
    char err[AVZ_ERR_LEN];
    cr_expect_eq(teach_layer0_scores(&m, ids, T, 0, S, err), AVZ_ERR_INPUT);
    cr_expect(strstr(err, "at most"), "message: %s", err);
    free(ids);
    free(S);
    model_free(&m);
}

/* ---- flash trace ------------------------------------------------------------------- */

/* Checks the finished trace against scores computed here from the definition. */
static void check_final_state(const FlashTrace *ft) {
    int T = ft->T, hs = ft->hs;
    AttnShape sh = {T, hs, ft->scale, ft->slope, ft->causal, hs};
    float *P = malloc(sizeof(float) * T * T), *ref = malloc(sizeof(float) * T * hs);
    float *lse = malloc(sizeof(float) * T);
    attn_naive(&sh, ft->q, ft->k, ft->v, P, ref, lse);
    double err = 0;
    for (int i = 0; i < T * hs; i++) err = fmax(err, fabs(ft->out[i] - ref[i]));
    cr_expect(err < 1e-5, "T=%d causal=%d tiles %dx%d: max err %.3e", T, ft->causal, ft->bq,
              ft->bk, err);
    cr_expect(ft->max_err < 1e-5, "stored max_err %.3e", ft->max_err);
    for (int i = 0; i < T; i++) {
        int jmax = ft->causal ? i : T - 1;
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j <= jmax; j++) {
            double s = 0;
            for (int d = 0; d < hs; d++) s += (double)ft->q[i * hs + d] * ft->k[j * hs + d];
            P[j] = (float)(s * ft->scale + attn_alibi_bias(ft->slope, i, j));
            mx = fmax(mx, P[j]);
        }
        for (int j = 0; j <= jmax; j++) sum += exp(P[j] - mx);
        cr_expect(fabs(ft->m[i] - mx) < 1e-5, "row %d: m %f, max %f", i, ft->m[i], mx);
        cr_expect(fabs(ft->l[i] - sum) < 1e-5 * sum, "row %d: l %f, sum %f", i, ft->l[i], sum);
        cr_expect(ft->row_done[i]);
        cr_expect(fabs(ft->lse[i] - lse[i]) < 1e-5, "row %d lse", i);
    }
    free(P);
    free(ref);
    free(lse);
}

/* Tiles with at least one visible (query, key) pair: j <= i somewhere in the tile. */
static int causal_tiles(int T, int bq, int bk) {
    int n = 0;
    for (int q0 = 0; q0 < T; q0 += bq)
        for (int k0 = 0; k0 < T; k0 += bk) {
            int last_q = q0 + bq - 1 < T - 1 ? q0 + bq - 1 : T - 1;
            n += k0 <= last_q;
        }
    return n;
}

static void make_trace(FlashTrace *ft, int T, int hs, float slope, int causal, int bq, int bk,
                       uint64_t seed) {
    float *q = malloc(sizeof(float) * T * hs), *k = malloc(sizeof(float) * T * hs);
    float *v = malloc(sizeof(float) * T * hs);
    random_floats(q, T * hs, seed);
    random_floats(k, T * hs, seed + 1);
    random_floats(v, T * hs, seed + 2);
    char err[AVZ_ERR_LEN];
    cr_assert_eq(flash_trace_init(ft, q, k, v, T, hs, 1.0f / sqrtf((float)hs), slope, causal,
                                  bq, bk, err), AVZ_OK, "%s", err);
    free(q);
    free(k);
    free(v);
}

Test(teach, flash_trace_ends_where_naive_attention_does) {
    int Ts[] = {1, 7, 64, 100};
    int tiles[][2] = {{5, 7}, {16, 24}, {3, 64}};
    for (int a = 0; a < 4; a++)
        for (int c = 0; c < 2; c++)
            for (int b = 0; b < 3; b++) {
                FlashTrace ft;
                float slope = b == 1 ? 0.3f : 0.0f;   /* an ALiBi bias in one tiling */
                make_trace(&ft, Ts[a], 16, slope, c, tiles[b][0], tiles[b][1], 10 + a);
                cr_expect_eq(ft.cur, -1);
                int want = c ? causal_tiles(Ts[a], tiles[b][0], tiles[b][1]) : ft.nqb * ft.nkb;
                cr_expect_eq(ft.n_steps, want, "T=%d causal=%d: %d steps, want %d", Ts[a], c,
                             ft.n_steps, want);
                flash_trace_goto(&ft, ft.n_steps - 1);
                check_final_state(&ft);
                flash_trace_free(&ft);
            }
}

/* While a block is in progress, each of its rows' m is the max of the scores seen so far. */
Test(teach, flash_trace_running_max_covers_the_keys_seen_so_far) {
    FlashTrace ft;
    make_trace(&ft, 37, 8, 0.0f, 1, 8, 5, 21);
    for (int s = 0; s < ft.n_steps; s++) {
        flash_trace_goto(&ft, s);
        int q0 = ft.step_qb[s] * ft.bq, k1 = (ft.step_kb[s] + 1) * ft.bk;
        for (int i = q0; i < q0 + ft.bq && i < ft.T; i++) {
            float mx = -INFINITY;
            for (int j = 0; j < k1 && j <= i; j++) {
                float sc = 0;
                for (int d = 0; d < ft.hs; d++) sc += ft.q[i * ft.hs + d] * ft.k[j * ft.hs + d];
                mx = fmaxf(mx, sc * ft.scale);
            }
            cr_assert(fabsf(ft.m[i] - mx) < 1e-5, "step %d row %d: m %f, want %f", s, i,
                      ft.m[i], mx);
        }
    }
    flash_trace_free(&ft);
}

static void expect_same_state(const FlashTrace *a, const FlashTrace *b, int s) {
    int T = a->T, hs = a->hs;
    cr_assert_eq(a->cur, b->cur, "step %d: cur %d vs %d", s, a->cur, b->cur);
    cr_assert(!memcmp(a->m, b->m, sizeof(float) * T), "step %d: m differs", s);
    cr_assert(!memcmp(a->l, b->l, sizeof(float) * T), "step %d: l differs", s);
    cr_assert(!memcmp(a->corr, b->corr, sizeof(float) * T), "step %d: corr differs", s);
    cr_assert(!memcmp(a->lse, b->lse, sizeof(float) * T), "step %d: lse differs", s);
    cr_assert(!memcmp(a->row_done, b->row_done, T), "step %d: row_done differs", s);
    cr_assert(!memcmp(a->O, b->O, sizeof(float) * T * hs), "step %d: O differs", s);
    cr_assert(!memcmp(a->out, b->out, sizeof(float) * T * hs), "step %d: out differs", s);
    cr_assert(!memcmp(a->S, b->S, sizeof(float) * a->bq * a->bk), "step %d: tile differs", s);
}

Test(teach, flash_trace_goto_backwards_equals_going_there_directly) {
    for (int c = 0; c < 2; c++) {
        FlashTrace walk, direct;
        make_trace(&walk, 45, 8, 0.1f, c, 6, 10, 31);
        make_trace(&direct, 45, 8, 0.1f, c, 6, 10, 31);
        for (int s = 0; s <= walk.n_steps; s++) {
            flash_trace_goto(&walk, s);          /* clamps s = n_steps to the last step */
            flash_trace_goto(&walk, s - 1);
            flash_trace_goto(&direct, -1);
            flash_trace_goto(&direct, s - 1);
            expect_same_state(&walk, &direct, s - 1);
        }
        /* big jumps both ways */
        int targets[] = {walk.n_steps - 1, 2, walk.n_steps / 2, -1, 5, 0};
        for (int t = 0; t < 6; t++) {
            flash_trace_goto(&walk, targets[t]);
            flash_trace_goto(&direct, -1);
            flash_trace_goto(&direct, targets[t]);
            expect_same_state(&walk, &direct, targets[t]);
        }
        flash_trace_free(&walk);
        flash_trace_free(&direct);
    }
}

Test(teach, flash_trace_of_a_real_head_matches_the_models_pass) {
    Model m;
    load_shipped(&m, "alibi");
    Tokens t;
    tokenize_example(&m, 0, &t);
    char err[AVZ_ERR_LEN];
    cr_assert_eq(model_forward(&m, t.ids, NULL, 1, t.n, NULL, err), AVZ_OK, "%s", err);
    FlashTrace ft;
    cr_assert_eq(flash_trace_init_model(&ft, &m, 1, 2, 4, 6, err), AVZ_OK, "%s", err);
    cr_expect(ft.slope > 0);
    cr_expect(ft.max_err < 1e-5, "max err %.3e", ft.max_err);
    flash_trace_goto(&ft, ft.n_steps - 1);
    const float *lse = m.acts.lse + (size_t)1 * m.cfg.n_head * t.n + 2 * t.n;
    for (int i = 0; i < t.n; i++)
        cr_expect(fabsf(ft.lse[i] - lse[i]) < 1e-4, "row %d: lse %f vs the model's %f", i,
                  ft.lse[i], lse[i]);
    flash_trace_free(&ft);
    /* a layer past the model's last */
    cr_expect_eq(flash_trace_init_model(&ft, &m, m.cfg.n_layer, 0, 4, 6, err), AVZ_ERR_INPUT);
    cr_expect_eq(flash_trace_init(&ft, m.acts.q, m.acts.k, m.acts.v, 4, 16, 1, 0, 1, 0, 4, err),
                 AVZ_ERR_INPUT);
    tokens_free(&t);
    model_free(&m);
}

/* ---- position view ----------------------------------------------------------------- */

Test(teach, sinusoidal_and_learned_vectors_are_the_models_tables) {
    Model m;
    char err[AVZ_ERR_LEN];
    load_shipped(&m, "sinusoidal");
    int C = m.cfg.n_embd, T = 100;   /* past n_positions: the sinusoidal table goes on */
    float *got = malloc(sizeof(float) * T * C), *want = malloc(sizeof(float) * T * C);
    cr_assert_eq(teach_position_vectors(&m, T, got, err), AVZ_OK, "%s", err);
    posenc_sinusoidal(want, T, C);
    cr_expect(!memcmp(got, want, sizeof(float) * T * C), "sinusoidal vectors differ");
    cr_expect_eq(teach_position_vectors(&m, AVZ_MAX_T + 1, got, err), AVZ_ERR_INPUT);
    model_free(&m);

    load_shipped(&m, "learned");
    T = m.cfg.n_positions;
    cr_assert_eq(teach_position_vectors(&m, T, got, err), AVZ_OK, "%s", err);
    cr_expect(!memcmp(got, m.params.wpe, sizeof(float) * T * C), "learned vectors differ");
    cr_expect_eq(teach_position_vectors(&m, T + 1, got, err), AVZ_ERR_INPUT);
    cr_expect(strstr(err, "learned"), "message: %s", err);
    model_free(&m);
    free(got);
    free(want);
}

Test(teach, encodings_without_a_vector_say_why) {
    const char *names[] = {"none", "rope", "alibi"};
    float out[64 * 64];
    for (int e = 0; e < 3; e++) {
        Model m;
        char err[AVZ_ERR_LEN] = "";
        load_shipped(&m, names[e]);
        cr_expect_eq(teach_position_vectors(&m, 8, out, err), AVZ_ERR_INPUT);
        cr_expect(strstr(err, names[e]), "message does not name %s: %s", names[e], err);
        AvzCode want = m.cfg.pe == PE_ROPE ? AVZ_OK : AVZ_ERR_INPUT;
        cr_expect_eq(teach_position_similarity(&m, 8, out, NULL, err), want, "%s", names[e]);
        model_free(&m);
    }
}

/* Entry (i, j) of a (T, T) matrix equals entry (i + s, j + s) for several shifts. */
static void expect_shift_invariant(const float *M, int T, float tol, const char *what) {
    int pairs[][2] = {{0, 0}, {5, 2}, {2, 5}, {9, 1}, {20, 3}};
    for (int p = 0; p < 5; p++)
        for (int s = 1; s < 30; s += 7) {
            int i = pairs[p][0], j = pairs[p][1];
            float a = M[i * T + j], b = M[(i + s) * T + j + s];
            cr_expect(fabsf(a - b) < tol, "%s: (%d,%d)=%f but (%d,%d)=%f", what, i, j, a,
                      i + s, j + s, b);
        }
}

static void expect_unit_diagonal(const float *cosm, int T, const char *what) {
    for (int i = 0; i < T; i++)
        cr_expect(fabsf(cosm[i * T + i] - 1.0f) < 1e-5, "%s: cos(p%d, p%d) = %f", what, i, i,
                  cosm[i * T + i]);
}

Test(teach, position_similarity) {
    const char *names[] = {"sinusoidal", "learned", "rope"};
    int T = 60;
    float *dot = malloc(sizeof(float) * T * T), *cosm = malloc(sizeof(float) * T * T);
    for (int e = 0; e < 3; e++) {
        Model m;
        char err[AVZ_ERR_LEN];
        load_shipped(&m, names[e]);
        cr_assert_eq(teach_position_similarity(&m, T, dot, cosm, err), AVZ_OK, "%s", err);
        expect_unit_diagonal(cosm, T, names[e]);
        /* RoPE is relative by construction; so is the sinusoidal dot (a sum of
         * cos((i - j) w)); a learned table need not be */
        if (m.cfg.pe != PE_LEARNED) expect_shift_invariant(dot, T, 1e-3f, names[e]);
        if (m.cfg.pe == PE_ROPE) expect_shift_invariant(cosm, T, 1e-5f, "rope cos");
        model_free(&m);
    }
    free(dot);
    free(cosm);
}

Test(teach, alibi_bias_uses_the_models_slopes) {
    Model m;
    load_shipped(&m, "alibi");
    int T = 12, NH = m.cfg.n_head;
    float slopes[64], B[144];
    posenc_alibi_slopes(slopes, NH);
    for (int h = 0; h < NH; h++) {
        teach_alibi_bias(&m, h, T, B);
        cr_expect(slopes[h] > 0 && slopes[h] == m.alibi_slopes[h]);
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) {
                float want = j <= i ? -slopes[h] * (i - j) : 0.0f;
                cr_expect(fabsf(B[i * T + j] - want) < 1e-6, "head %d (%d,%d): %f vs %f", h, i,
                          j, B[i * T + j], want);
            }
    }
    model_free(&m);
}

Test(teach, rope_angles_and_score_curve) {
    Model m;
    load_shipped(&m, "rope");
    int hs = m.cfg.n_embd / m.cfg.n_head, half = hs / 2, T = 50;
    float *ang = malloc(sizeof(float) * T * half);
    teach_rope_angles(&m, T, ang);
    cr_expect(fabsf(ang[1 * half + 0] - 1.0f) < 1e-6, "pair 0 turns 1 radian a token");
    for (int p = 0; p < T; p++)
        for (int i = 0; i < half; i++) {
            float a = ang[p * half + i];
            double want = fmod(posenc_rope_angle(p, i, hs, m.cfg.rope_theta), TWO_PI);
            cr_expect(a >= 0 && a < TWO_PI && fabs(a - want) < 1e-5, "p %d pair %d", p, i);
        }
    /* a real pair from the model: the curve at d = i - j, scaled, is its layer 0 score */
    Tokens t;
    tokenize_example(&m, 2, &t);
    float *S = malloc(sizeof(float) * m.cfg.n_head * t.n * t.n);
    char err[AVZ_ERR_LEN];
    cr_assert_eq(teach_layer0_scores(&m, t.ids, t.n, 0, S, err), AVZ_OK, "%s", err);
    float q[256], k[256], curve[64];
    int pairs[][3] = {{0, 5, 5}, {1, 9, 2}, {3, t.n - 1, 0}};
    for (int p = 0; p < 3; p++) {
        int h = pairs[p][0], i = pairs[p][1], j = pairs[p][2];
        teach_head_qk(&m, 0, h, i, j, q, k);
        teach_rope_score_vs_distance(&m, q, k, i - j + 1, curve);
        float qk = 0;
        for (int c = 0; c < hs; c++) qk += q[c] * k[c];
        cr_expect(fabsf(curve[0] - qk) < 1e-5f * fmaxf(1, fabsf(qk)), "d = 0 is q.k");
        float got = curve[i - j] / sqrtf((float)hs), want = S[(h * t.n + i) * t.n + j];
        cr_expect(fabsf(got - want) < 1e-4f * fmaxf(1, fabsf(want)),
                  "head %d (%d,%d): curve %f, model score %f", h, i, j, got, want);
    }
    /* q = k = ones: RoFormer's decay, highest at d = 0 and far lower at a distance. With
     * only hs / 2 = 8 frequencies the curve wobbles, so compare its average far away */
    int D = 1024;
    float *decay = malloc(sizeof(float) * D);
    for (int c = 0; c < hs; c++) q[c] = 1.0f;
    teach_rope_score_vs_distance(&m, q, q, D, decay);
    cr_expect(fabsf(decay[0] - hs) < 1e-4);
    double far = 0;
    for (int d = 1; d < D; d++) cr_expect(decay[d] < decay[0]);
    for (int d = D / 2; d < D; d++) far += decay[d] / (D / 2);
    cr_expect(far < 0.25 * decay[0], "no decay: mean %f far away vs %f", far, decay[0]);
    free(decay);
    free(S);
    free(ang);
    tokens_free(&t);
    model_free(&m);
}

/* ---- memory and time --------------------------------------------------------------- */

Test(teach, flash_memory_is_a_sliver_of_naive) {
    size_t naive = teach_naive_bytes(16384);
    cr_expect_eq(naive, (size_t)1 << 30, "16384^2 floats is 1 GiB");
    size_t flash = teach_flash_bytes(16384, 16, AVZ_FLASH_BQ, AVZ_FLASH_BK);
    cr_expect(flash * 100 < naive, "flash %zu bytes vs naive %zu", flash, naive);
    cr_expect(teach_flash_bytes(1, 16, 32, 64) < teach_flash_bytes(1000, 16, 32, 64));
}

Test(teach, time_attention_measures_all_three) {
    int T = 256, hs = 16;
    float *q = malloc(sizeof(float) * T * hs * 3);
    random_floats(q, (size_t)T * hs * 3, 5);
    double tn = 0, tf = 0, tx = 0;
    teach_time_attention(q, q + T * hs, q + 2 * T * hs, T, hs, 1, &tn, &tf, &tx);
    cr_expect(tn > 0 && tf > 0 && tx > 0, "naive %g s, flash %g s, fast %g s", tn, tf, tx);
    free(q);
}
