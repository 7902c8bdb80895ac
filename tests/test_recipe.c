/* test_recipe.c: the "Induction in 2 minutes" recipe, run for its full budget (2,600
 * steps; about 2.7 minutes on this 2-core machine), forms an induction head: by the
 * standard protocol (model/detect.h, the full setting of `attnviz roles`) the best
 * induction score is below 0.2 before training and at least 0.5 after, and the
 * previous-token head the circuit needs reaches 0.6 (issue 16's goals). Under ASan the
 * same run would take a quarter of an hour, so that pass says SKIPPED. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend.h"
#include "detect.h"
#include "train.h"

static void standard(Model *m, float *prev, float *induct) {
    char err[AVZ_ERR_LEN];
    int n_pool, *pool = detect_pool_word_vocab(&m->vocab, &n_pool);
    DetectOpts o;
    detect_opts_default(&o, &m->cfg);
    Backend *cpu = backend_cpu_create();
    DetectReport r;
    AvzCode rc = detect_run(&cpu, m, pool, n_pool, m->vocab.bos_id, &o, NULL, &r, NULL, err);
    backend_close(cpu);
    free(pool);
    cr_assert_eq(rc, AVZ_OK, "%s", err);
    *prev = detect_best(&r, DET_PREV, NULL);
    *induct = detect_best(&r, DET_INDUCT, NULL);
    detect_report_free(&r);
}

Test(recipe, induction_in_two_minutes_forms_the_circuit, .timeout = 1200) {
    if (getenv("AVZ_ASAN")) cr_skip_test("the full 2,600-step run is tested in the plain pass");
    char err[AVZ_ERR_LEN];
    TrainConfig tc;
    train_config_default(&tc);
    cr_assert_eq(train_recipe(&tc, "induction-2min", err), AVZ_OK, "%s", err);
    tc.threads = 2;
    tc.quiet = 1;
    TrainSession *s;
    cr_assert_eq(train_session_open(&s, &tc, err), AVZ_OK, "%s", err);
    Model *m = train_session_model(s);
    float p0, i0, p1, i1;
    standard(m, &p0, &i0);
    double t0 = avz_now();
    for (int k = 0; k < tc.steps; k++)
        cr_assert_eq(train_session_step(s, NULL, err), AVZ_OK, "step %d: %s", k + 1, err);
    double secs = avz_now() - t0;
    standard(m, &p1, &i1);
    printf("recipe induction-2min: %d steps in %.0f s (2 threads); standard protocol before: "
           "previous-token %.3f, induction %.3f; after: %.3f, %.3f\n", tc.steps, secs, p0, i0,
           p1, i1);
    cr_assert(i0 < 0.2f, "before training the best induction score is already %.3f", i0);
    cr_assert(i1 >= 0.5f, "after %d steps the best induction score is %.3f (goal 0.5)", tc.steps, i1);
    cr_assert(p1 >= 0.6f, "after %d steps the best previous-token score is %.3f (goal 0.6)",
              tc.steps, p1);
    train_session_close(s);
}
