/* train_curves.c: `attnviz export --train-curves LIVE.jsonl --out FILE.png`, the
 * curves of a training run from the live log that `attnviz train --live-log` writes
 * (model/train.h: one JSON line every K steps), as two line charts for slides:
 *   FILE-loss.png   training and validation loss, and the loss on the first and the
 *                   second copy of random repeated blocks (the in-context-learning
 *                   score: an induction circuit drives the second copy's loss down);
 *   FILE-roles.png  the best head's previous-token, induction and duplicate-token
 *                   score by the standard protocol (model/detect.h) at every line.
 * Both mark the step where the best induction score rose the most between two lines:
 * the phase change of Olsson et al. (2022), when it happens. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assets.h"
#include "cli/train_curves.h"
#include "figure/chart.h"

enum { C_TRAIN, C_VAL, C_FIRST, C_SECOND, C_PREV, C_IND, C_DUP, C_COUNT };

typedef struct {
    int n, cap;
    float *step;
    float *v[C_COUNT];
} Curves;

static void curves_push(Curves *c, float step, const float *v) {
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->step = realloc(c->step, sizeof(float) * (size_t)c->cap);
        for (int k = 0; k < C_COUNT; k++) c->v[k] = realloc(c->v[k], sizeof(float) * (size_t)c->cap);
        AVZ_ASSERT(c->step);
    }
    c->step[c->n] = step;
    for (int k = 0; k < C_COUNT; k++) c->v[k][c->n] = v[k];
    c->n++;
}

static void curves_free(Curves *c) {
    free(c->step);
    for (int k = 0; k < C_COUNT; k++) free(c->v[k]);
}

/* A number field, NAN when absent or null (train_loss before the first step). */
static float num(const cJSON *o, const char *key) {
    const cJSON *x = cJSON_GetObjectItem(o, key);
    return cJSON_IsNumber(x) ? (float)x->valuedouble : NAN;
}

/* The best score of role key over the line's heads. */
static float best_head(const cJSON *heads, const char *key) {
    float b = NAN;
    const cJSON *h;
    cJSON_ArrayForEach(h, heads) {
        float s = num(h, key);
        if (!isnan(s) && (isnan(b) || s > b)) b = s;
    }
    return b;
}

/* Parses one line (number lineno of path) into c. */
static AvzCode parse_line(Curves *c, const char *line, const char *path, int lineno, char *err) {
    cJSON *j = cJSON_Parse(line);
    if (!j) return avz_fail(err, AVZ_ERR_INPUT, "%s: line %d is not JSON", path, lineno);
    const cJSON *step = cJSON_GetObjectItem(j, "step"), *heads = cJSON_GetObjectItem(j, "heads");
    if (!cJSON_IsNumber(step) || !cJSON_IsArray(heads)) {
        cJSON_Delete(j);
        return avz_fail(err, AVZ_ERR_INPUT, "%s: line %d: no 'step' number or 'heads' array "
                        "(is this a live log of attnviz train --live-log?)", path, lineno);
    }
    float v[C_COUNT] = {num(j, "train_loss"), num(j, "val_loss"), num(j, "loss_first"),
                        num(j, "loss_second"), best_head(heads, "prev"),
                        best_head(heads, "induction"), best_head(heads, "duplicate")};
    curves_push(c, (float)step->valuedouble, v);
    cJSON_Delete(j);
    return AVZ_OK;
}

static AvzCode read_log(Curves *c, const char *path, char *err) {
    size_t n;
    char *text = avz_read_file(path, &n, err);
    if (!text) return AVZ_ERR_INPUT;
    AvzCode rc = AVZ_OK;
    int lineno = 0;
    for (char *p = text; !rc && *p;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        lineno++;
        if (strspn(p, " \t\r") != strlen(p)) rc = parse_line(c, p, path, lineno, err);
        p = nl ? nl + 1 : p + strlen(p);
    }
    free(text);
    if (!rc && c->n < 2)
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: %d line%s: a curve needs at least two", path,
                      c->n, c->n == 1 ? "" : "s");
    return rc;
}

float train_curves_jump_step(const float *step, const float *induction, int n, float *rise) {
    int best = -1;
    float d = 0;
    for (int i = 1; i < n; i++) {
        float x = induction[i] - induction[i - 1];
        if (!isnan(x) && x > d) d = x, best = i;
    }
    if (rise) *rise = d;
    return best > 0 ? step[best] : NAN;
}

/* path with "-NAME.png" in place of its ".png" (or after it). */
static void sibling(const char *path, const char *name, char *out, size_t n) {
    size_t len = strlen(path);
    if (len >= 4 && strcmp(path + len - 4, ".png") == 0) len -= 4;
    snprintf(out, n, "%.*s-%s.png", (int)len, path, name);
}

AvzCode train_curves_export(const char *log, const char *out, int width, char *paths,
                            size_t paths_len, char *err) {
    Curves c = {0};
    AvzCode rc = read_log(&c, log, err);
    if (rc) { curves_free(&c); return rc; }
    float rise, jump = train_curves_jump_step(c.step, c.v[C_IND], c.n, &rise);
    int marked = !isnan(jump) && rise >= 0.1f;   /* a real jump, not noise */
    char mark[96];
    snprintf(mark, sizeof mark, "induction jumps (+%.2f)", rise);
    ChartStyle st;
    chart_style_default(&st);
    char font[4096];   /* from any folder: the installed or the repository's fonts */
    assets_find(CHART_DEFAULT_FONT, font, sizeof font);
    st.font_path = font;
    if (width > 0) st.width = width, st.height = width * 3 / 5;
    st.x_label = "training step";
    st.x_marker = marked ? jump : NAN;
    st.marker_label = marked ? mark : NULL;
    char loss_png[4200], roles_png[4200];
    sibling(out, "loss", loss_png, sizeof loss_png);
    sibling(out, "roles", roles_png, sizeof roles_png);
    ChartSeries loss[4] = {
        {"training loss (moving average)", c.step, c.v[C_TRAIN], c.n},
        {"validation loss", c.step, c.v[C_VAL], c.n},
        {"random blocks: first copy", c.step, c.v[C_FIRST], c.n},
        {"random blocks: second copy", c.step, c.v[C_SECOND], c.n}};
    st.title = "Loss while training (second copy far below the first: in-context learning)";
    st.y_label = "loss (nats per token)";
    rc = chart_line_png(loss_png, loss, 4, &st, err);
    ChartSeries roles[3] = {
        {"best previous-token head", c.step, c.v[C_PREV], c.n},
        {"best induction head", c.step, c.v[C_IND], c.n},
        {"best duplicate-token head", c.step, c.v[C_DUP], c.n}};
    st.title = "Head roles while training (standard protocol: random repeated blocks)";
    st.y_label = "score (mean attention on the target)";
    if (!rc) rc = chart_line_png(roles_png, roles, 3, &st, err);
    if (!rc && paths) snprintf(paths, paths_len, "%s\n%s", loss_png, roles_png);
    curves_free(&c);
    return rc;
}
