/* test_head_roles.c: head roles by the standard protocol as the app and `attnviz roles`
 * get them (app/head_roles.c): measured once, then read from the cache under
 * $XDG_CACHE_HOME/attnviz/ (never the model's folder), keyed by the weights; labels
 * that say weak where a role is weak. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli_run.h"
#include "head_roles.h"
#include "helpers.h"

static char cache[256];

static void setup(void) {
    helper_tmpdir(cache, sizeof cache);
    setenv("XDG_CACHE_HOME", cache, 1);
}
static void teardown(void) { helper_rmtree(cache); }

TestSuite(head_roles, .init = setup, .fini = teardown);

static void same_report(const DetectReport *a, const DetectReport *b) {
    cr_assert_eq(a->L, b->L);
    cr_assert_eq(a->NH, b->NH);
    cr_assert_eq(a->n_lengths, b->n_lengths);
    size_t nh = (size_t)a->L * a->NH;
    for (size_t i = 0; i < DET_COUNT * nh; i++)
        cr_assert_float_eq(a->score[i], b->score[i], 1e-6, "score %zu: %g vs %g", i, a->score[i],
                           b->score[i]);
    for (size_t i = 0; i < DET_COUNT * nh * a->n_lengths; i++)
        cr_assert_float_eq(a->by_length[i], b->by_length[i], 1e-6);
    for (int k = 0; k < a->n_lengths; k++) {
        cr_assert_eq(a->lengths[k], b->lengths[k]);
        cr_assert_float_eq(a->loss_first[k], b->loss_first[k], 1e-5);
        cr_assert_float_eq(a->loss_second[k], b->loss_second[k], 1e-5);
    }
}

Test(head_roles, measured_once_then_read_from_the_cache_keyed_by_the_weights, .timeout = 300) {
    Engine e;
    char err[AVZ_ERR_LEN], note[AVZ_ERR_LEN], path[4400];
    cr_assert_eq(engine_open(&e, "assets/models/rope", "cpu", NULL, err), AVZ_OK, "%s", err);
    Model *mp = &e.model;
    DetectReport a, b;
    int cached = -1;
    cr_assert_eq(head_roles_measure(&e, NULL, NULL, &a, &cached, note, err), AVZ_OK, "%s", err);
    cr_expect_eq(cached, 0);
    DetectOpts o;
    head_roles_opts(mp, &o);
    head_roles_cache_path(mp, &o, path, sizeof path);
    cr_expect(strncmp(path, cache, strlen(cache)) == 0, "cache %s is not under %s", path, cache);
    cr_expect(helper_file_exists(path), "no cache file %s (%s)", path, note);
    cr_expect_eq(helper_dir_entries("assets/models/rope"), 5, "something was written into the "
                 "model's folder");
    cr_assert_eq(head_roles_measure(&e, NULL, NULL, &b, &cached, note, err), AVZ_OK, "%s", err);
    cr_expect_eq(cached, 1);
    same_report(&a, &b);
    detect_report_free(&b);
    /* other weights: another key, measured again */
    uint64_t h0 = head_roles_weights_hash(mp);
    mp->params.wte[7] += 0.5f;
    model_params_changed(mp);
    cr_expect_neq(head_roles_weights_hash(mp), h0);
    cr_assert_eq(head_roles_measure(&e, NULL, NULL, &b, &cached, note, err), AVZ_OK, "%s", err);
    cr_expect_eq(cached, 0);
    detect_report_free(&b);
    /* a corrupt cache file is measured again, not trusted */
    mp->params.wte[7] -= 0.5f;
    model_params_changed(mp);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("{\"n_layer\": 2, \"score\": [1, 2", f);
    fclose(f);
    cr_assert_eq(head_roles_measure(&e, NULL, NULL, &b, &cached, note, err), AVZ_OK, "%s", err);
    cr_expect_eq(cached, 0);
    same_report(&a, &b);
    detect_report_free(&b);
    detect_report_free(&a);
    engine_close(&e);
}

Test(head_roles, labels_say_weak_and_mixed) {
    DetectReport r = {0};
    r.L = 1, r.NH = 3, r.n_lengths = 1;
    float score[DET_COUNT * 3] = {0};
    r.score = score;
    for (int k = 0; k < DET_COUNT; k++) r.uniform[k] = 0.1f;
    score[DET_INDUCT * 3 + 0] = 0.91f;   /* head 0: a strong induction head */
    score[DET_PREV * 3 + 1] = 0.35f;     /* head 1: a weak previous-token head */
    score[DET_PREV * 3 + 2] = 0.15f;     /* head 2: nothing much */
    char buf[64];
    head_roles_label(&r, 0, buf, sizeof buf);
    cr_expect_str_eq(buf, "induction 0.91");
    head_roles_label(&r, 1, buf, sizeof buf);
    cr_expect_str_eq(buf, "weak previous-token 0.35");
    head_roles_label(&r, 2, buf, sizeof buf);
    cr_expect_str_eq(buf, "mixed");
}

Test(head_roles, the_pool_leaves_out_the_specials) {
    Engine e;
    char err[AVZ_ERR_LEN];
    cr_assert_eq(engine_open(&e, "assets/models/rope", "cpu", NULL, err), AVZ_OK, "%s", err);
    int n, bos;
    int *pool = head_roles_pool(&e, &n, &bos);
    cr_expect_eq(bos, e.model.vocab.bos_id);
    cr_expect_gt(n, e.model.vocab.n - 5);
    for (int i = 0; i < n; i++) {
        const char *w = e.model.vocab.words[pool[i]];
        cr_expect(w[0] != '<', "special %s in the pool", w);
    }
    free(pool);
    engine_close(&e);
}

/* `attnviz roles` prints the numbers the app shows: measured in the child process and
 * cached, they equal an in-process measurement of the same folder; the second run
 * reads them from the cache; --probes adds the corpus probes as a second column. */
Test(head_roles, the_roles_command_prints_the_same_numbers, .timeout = 300) {
    char dir[128], err[AVZ_ERR_LEN], note[AVZ_ERR_LEN];
    cli_make_model(dir, sizeof dir, "rope", 24);
    cr_assert_eq(cli_run("roles --model %s --device cpu --json", dir), 0, "%s", cli_err);
    cJSON *j = cJSON_Parse(cli_out);
    cr_assert(j, "not JSON: %s", cli_out);
    cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "protocol"), "from_cache")));
    Engine e;
    cr_assert_eq(engine_open(&e, dir, "cpu", NULL, err), AVZ_OK, "%s", err);
    DetectOpts o;
    head_roles_opts(&e.model, &o);
    int n, bos, *pool = head_roles_pool(&e, &n, &bos);
    DetectReport r;
    cr_assert_eq(detect_run(&e.be, &e.model, pool, n, bos, &o, NULL, &r, note, err), AVZ_OK, "%s",
                 err);
    int nh = r.L * r.NH;
    cJSON *roles = cJSON_GetObjectItem(j, "roles"), *labels = cJSON_GetObjectItem(j, "labels");
    cr_assert_eq(cJSON_GetArraySize(labels), nh);
    for (int k = 0; k < DET_COUNT; k++) {
        cJSON *sc = cJSON_GetObjectItem(cJSON_GetObjectItem(roles, detect_role_name(k)), "scores");
        cr_assert_eq(cJSON_GetArraySize(sc), nh, "%s", detect_role_name(k));
        for (int hd = 0; hd < nh; hd++)
            cr_expect_float_eq(cJSON_GetArrayItem(sc, hd)->valuedouble, r.score[k * nh + hd], 1e-5,
                               "%s head %d", detect_role_name(k), hd);
    }
    char label[64];
    head_roles_label(&r, 5, label, sizeof label);
    cr_expect_str_eq(cJSON_GetArrayItem(labels, 5)->valuestring, label);
    cJSON_Delete(j);
    cr_assert_eq(cli_run("roles --model %s --device cpu --json --probes", dir), 0, "%s", cli_err);
    j = cJSON_Parse(cli_out);
    cr_assert(j);
    cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "protocol"), "from_cache")));
    cr_expect(cJSON_GetObjectItem(j, "corpus_probes"), "no corpus_probes with --probes");
    cJSON_Delete(j);
    cr_assert_eq(cli_run("roles --model %s --device cpu", dir), 0, "%s", cli_err);
    cr_expect(strstr(cli_out, "best induction") && strstr(cli_out, "seed 20220308"), "%s", cli_out);
    cr_assert_eq(cli_run("roles --model %s/nope", dir), 2);
    cr_expect(strstr(cli_err, "nope"), "%s", cli_err);
    detect_report_free(&r);
    free(pool);
    engine_close(&e);
}
