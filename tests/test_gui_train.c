/* test_gui_train.c: the Train view under Xvfb. A script starts a short run, pauses it
 * (the steps stop moving), scrubs back to an early measurement, resumes it to the end,
 * saves the model and opens the saved folder in the Head view; the folder is then
 * loaded here and checked. Without xvfb-run or OpenGL 3.3 the test says SKIPPED. */
#define _DEFAULT_SOURCE
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gui_helpers.h"
#include "helpers.h"
#include "model.h"

static const char *SCRIPT =
    "view train\nwait 1\nprint_layout\n"
    "train_start tiny 300\ntrain_wait 60\ntrain_pause\nwait 5\nprint_layout\n"
    "wait 20\nprint_layout\nassert_status \"paused\"\n"
    "train_scrub 2\nwait 1\nprint_layout\nscreenshot train_mid.png\n"
    "train_resume\ntrain_wait 300\nwait 5\nprint_layout\nscreenshot train_end.png\n"
    "train_save saved\nassert_status \"saved the model\"\nwait 1\nprint_layout\n"
    "model saved\nview head\nwait 1\nprint_layout\nquit\n";

static char out[1 << 20];

/* The n-th JSON line of out (0-based), parsed; the caller deletes it. */
static cJSON *layout_line(int n) {
    char *p = out;
    for (int i = 0; i < n && p; i++) p = strchr(p, '\n'), p = p ? p + 1 : NULL;
    cr_assert(p && *p, "layout line %d missing in:\n%s", n, out);
    char *e = strchr(p, '\n');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char *s = strndup(p, len);
    cJSON *j = cJSON_Parse(s);
    cr_assert(j, "not JSON: %s", s);
    free(s);
    return j;
}

static const cJSON *train_of(const cJSON *j) {
    const cJSON *t = cJSON_GetObjectItem(j, "train");
    cr_assert(t, "no train object in the Train view's layout");
    return t;
}

static int num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItem(o, k);
    cr_assert(cJSON_IsNumber(v), "no number %s", k);
    return v->valueint;
}

static const char *str(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItem(o, k);
    cr_assert(cJSON_IsString(v), "no string %s", k);
    return v->valuestring;
}

static int has_region(const cJSON *j, const char *name) {
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(j, "regions"))
        if (strcmp(str(r, "name"), name) == 0) return 1;
    return 0;
}

Test(gui_train, a_run_pauses_scrubs_saves_and_opens_in_the_head_view, .timeout = 600) {
    skip_without_xvfb();
    char dir[256];
    helper_tmpdir(dir, sizeof dir);
    write_file(dir, "s.avz", SCRIPT);
    char env[400], path[300];
    snprintf(env, sizeof env, "ATTNVIZ_EXPORT_DIR=%s", dir);
    int rc = run_app(dir, env, XVFB, "gui --script s.avz --device cpu");
    skip_without_gl(rc);
    cr_assert_eq(rc, 0, "the scripted app failed (%d): %s", rc, gui_err_buf);
    snprintf(path, sizeof path, "%s/out.txt", dir);
    slurp(path, out, sizeof out);

    cJSON *j = layout_line(0);           /* before Start: nothing trained, no curves */
    cr_assert_str_eq(str(j, "view"), "train");
    cr_assert_str_eq(str(train_of(j), "phase"), "none");
    cr_assert(!has_region(j, "train_loss"));
    cJSON_Delete(j);

    cJSON *a = layout_line(1), *b = layout_line(2);   /* paused: the steps stand still */
    cr_assert_str_eq(str(train_of(a), "phase"), "paused");
    int sa = num(train_of(a), "steps_done"), sb = num(train_of(b), "steps_done");
    cr_assert(sa >= 60 && sa < 300, "paused at step %d", sa);
    cr_assert_eq(sa, sb, "a paused run went on: %d then %d steps", sa, sb);
    cr_assert(has_region(a, "train_loss") && has_region(a, "train_induct") &&
              has_region(a, "train_head") && has_region(a, "0.0") && has_region(a, "train_scrub"));
    cJSON_Delete(a);
    cJSON_Delete(b);

    j = layout_line(3);                  /* scrubbed to the third measurement: step 20 */
    cr_assert_eq(num(train_of(j), "shown_step"), 20);
    cJSON_Delete(j);

    j = layout_line(4);                  /* resumed to the end */
    cr_assert_str_eq(str(train_of(j), "phase"), "ended");
    cr_assert_eq(num(train_of(j), "steps_done"), 300);
    cr_assert(num(train_of(j), "points") >= 30, "%d points", num(train_of(j), "points"));
    cJSON_Delete(j);

    j = layout_line(5);                  /* saved */
    cr_assert(strstr(str(train_of(j), "saved"), "saved"), "%s", str(train_of(j), "saved"));
    cJSON_Delete(j);

    j = layout_line(6);                  /* the saved folder, open in the Head view */
    cr_assert_str_eq(str(j, "view"), "head");
    cr_assert(has_region(j, "head"));
    cJSON_Delete(j);

    /* the folder is whole: it loads, its card tells the steps, no partial folder is left */
    Model m;
    char err[AVZ_ERR_LEN], card[300];
    snprintf(path, sizeof path, "%s/saved", dir);
    cr_assert_eq(model_load(&m, path, err), AVZ_OK, "%s", err);
    cr_assert_eq(m.cfg.n_layer, 2);
    cr_assert_eq(m.cfg.n_embd, 32);
    model_free(&m);
    snprintf(card, sizeof card, "%s/saved/README.md", dir);
    static char text[1 << 16];
    slurp(card, text, sizeof text);
    cr_assert(strstr(text, "300 steps"), "%s", text);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls -d %s/saved.partial-* 2>/dev/null | grep -q .", dir);
    cr_assert_neq(system(cmd), 0, "a partial folder was left behind");
    /* the run's curves beside the model, as a live log the CLI draws */
    snprintf(path, sizeof path, "%s/saved/train_live.jsonl", dir);
    static char log[1 << 20];
    slurp(path, log, sizeof log);
    int lines = 0;
    for (char *c = log; *c; c++) lines += *c == '\n';
    cr_assert(lines >= 30 && strstr(log, "\"induction\""), "%d lines in %s", lines, path);
    char args[600];
    snprintf(args, sizeof args, "export --train-curves %s/saved/train_live.jsonl --out %s/c.png",
             dir, dir);
    cr_assert_eq(run_app(dir, "", "", args), 0, "%s", gui_err_buf);
    cr_assert(file_exists(dir, "c-roles.png") && file_exists(dir, "c-loss.png"));
    struct stat sb2;
    snprintf(path, sizeof path, "%s/train_end.png", dir);
    cr_assert_eq(stat(path, &sb2), 0, "no screenshot");
    helper_rmtree(dir);
}

/* The Train view's script commands refuse what cannot be done, naming the line. */
Test(gui_train, bad_train_commands_name_the_line, .timeout = 120) {
    skip_without_xvfb();
    static const struct { const char *script, *want; } CASES[] = {
        {"view train\ntrain_pause\n", "s.avz:2: train_pause: no run is going"},
        {"view train\ntrain_save out\n", "s.avz:2: train_save: nothing to save"},
        {"train_start fast-please 10\n", "s.avz:1: train_start: unknown preset 'fast-please'"},
        {"train_start tiny 20\ntrain_scrub 999\n", "train_scrub: measurement 999 of"}};
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
        char dir[256];
        helper_tmpdir(dir, sizeof dir);
        write_file(dir, "s.avz", CASES[k].script);
        int rc = run_app(dir, "", XVFB, "gui --script s.avz --device cpu");
        skip_without_gl(rc);
        cr_assert_eq(rc, 2, "case %zu: exit %d", k, rc);
        cr_assert(strstr(gui_err_buf, CASES[k].want), "case %zu: %s", k, gui_err_buf);
        helper_rmtree(dir);
    }
}
