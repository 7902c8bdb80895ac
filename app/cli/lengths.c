/* lengths.c: `attnviz lengths`, length generalisation of the five position
 * encodings: mean loss by position bucket up to several times the training context,
 * as a table and a line chart PNG. */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "assets.h"
#include "figure/chart.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "device.h"
#include "lengths.h"

static const char *PE_DIRS[PE_COUNT] = {"none", "sinusoidal", "learned", "rope", "alibi"};

typedef struct {
    char name[32];
    float *loss;          /* (max_T) */
    int n_positions;
} LengthRun;

static int is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Mean of loss[b0..b1) over the positions measured (NaN: past a learned table). */
static double bucket_mean(const float *loss, int b0, int b1) {
    double s = 0;
    int c = 0;
    for (int t = b0; t < b1; t++)
        if (!isnan(loss[t])) { s += loss[t]; c++; }
    return c ? s / c : NAN;
}

static void print_table(const LengthRun *runs, int n, int max_T, int bucket) {
    printf("mean loss by position (held-out passages); training context of each model in "
           "brackets\n%-10s", "positions");
    for (int r = 0; r < n; r++) {
        char h[80];
        snprintf(h, sizeof h, "%.31s [%d]", runs[r].name, runs[r].n_positions);
        printf(" %16s", h);
    }
    printf("\n");
    for (int b0 = 0; b0 < max_T; b0 += bucket) {
        int b1 = b0 + bucket < max_T ? b0 + bucket : max_T;
        printf("%4d-%-5d", b0, b1 - 1);
        for (int r = 0; r < n; r++) {
            double v = bucket_mean(runs[r].loss, b0, b1);
            if (!isnan(v)) printf(" %16.3f", v);
            else printf(" %16s", "(past table)");
        }
        printf("\n");
    }
}

/* {"max", "seqs", "bucket", "chart", "models": [{"name", "n_positions", "loss":
 * [per position], "buckets": [{"start", "end", "loss"}]}]}; losses in nats, null past
 * a learned table. */
static void print_json(const LengthRun *runs, int n, int max_T, int seqs, int bucket,
                       const char *chart) {
    cJSON *j = cJSON_CreateObject(), *models = cJSON_CreateArray();
    cJSON_AddNumberToObject(j, "max", max_T);
    cJSON_AddNumberToObject(j, "seqs", seqs);
    cJSON_AddNumberToObject(j, "bucket", bucket);
    if (chart) cJSON_AddStringToObject(j, "chart", chart);
    else cJSON_AddNullToObject(j, "chart");
    for (int r = 0; r < n; r++) {
        cJSON *m = cJSON_CreateObject(), *loss = cJSON_CreateArray(), *bk = cJSON_CreateArray();
        cJSON_AddStringToObject(m, "name", runs[r].name);
        cJSON_AddNumberToObject(m, "n_positions", runs[r].n_positions);
        for (int t = 0; t < max_T; t++)
            cJSON_AddItemToArray(loss, isnan(runs[r].loss[t]) ? cJSON_CreateNull()
                                                               : cJSON_CreateNumber(runs[r].loss[t]));
        for (int b0 = 0; b0 < max_T; b0 += bucket) {
            int b1 = b0 + bucket < max_T ? b0 + bucket : max_T;
            double v = bucket_mean(runs[r].loss, b0, b1);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "start", b0);
            cJSON_AddNumberToObject(o, "end", b1 - 1);
            cJSON_AddItemToObject(o, "loss", isnan(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v));
            cJSON_AddItemToArray(bk, o);
        }
        cJSON_AddItemToObject(m, "loss", loss);
        cJSON_AddItemToObject(m, "buckets", bk);
        cJSON_AddItemToArray(models, m);
    }
    cJSON_AddItemToObject(j, "models", models);
    char *txt = cJSON_Print(j);
    printf("%s\n", txt);
    free(txt);
    cJSON_Delete(j);
}

/* One bucketed series per model for the chart (x = bucket centre). */
static AvzCode write_chart(const char *out, const LengthRun *runs, int n, int max_T,
                           int bucket, int train_ctx, char *err) {
    int nb = (max_T + bucket - 1) / bucket;
    float *xs = avz_xmalloc(sizeof(float) * nb), *ys = avz_xmalloc(sizeof(float) * nb * n);
    ChartSeries series[PE_COUNT];
    for (int b = 0; b < nb; b++) xs[b] = b * bucket + 0.5f * (bucket - 1);
    for (int r = 0; r < n; r++) {
        for (int b = 0; b < nb; b++) {
            double s = 0;
            int c = 0;
            for (int t = b * bucket; t < (b + 1) * bucket && t < max_T; t++)
                if (!isnan(runs[r].loss[t])) { s += runs[r].loss[t]; c++; }
            ys[r * nb + b] = c ? (float)(s / c) : NAN;
        }
        series[r] = (ChartSeries){runs[r].name, xs, ys + r * nb, nb};
    }
    ChartStyle st;
    chart_style_default(&st);
    char font[4096];
    assets_find("assets/fonts/DejaVuSans.ttf", font, sizeof font);
    st.font_path = font;
    st.title = "Loss by position: length generalisation of the position encodings";
    st.x_label = "token position";
    st.y_label = "mean next-token loss (nats)";
    st.x_marker = (float)train_ctx;
    st.marker_label = "training context";
    AvzCode rc = chart_line_png(out, series, n, &st, err);
    free(xs);
    free(ys);
    return rc;
}

int cmd_lengths(int argc, char **argv) {
    const char *models = NULL, *out = NULL, *device = "auto";
    int max_T = 256, seqs = 64, bucket = 16, json = 0;
    CliOpt opts[] = {
        {"--models", OPT_STR, &models, "DIR", "folder holding none/ sinusoidal/ learned/ rope/ alibi/ (default assets/models)", 0},
        {"--max", OPT_INT, &max_T, "T", "longest position to measure (default 256)", 0},
        {"--seqs", OPT_INT, &seqs, "N", "held-out sequences (default 64)", 0},
        {"--bucket", OPT_INT, &bucket, "N", "positions per table row (default 16)", 0},
        {"--out", OPT_STR, &out, "FILE.png", "also write a line chart", 0},
        {"--device", OPT_STR, &device, "auto|cpu|cuda", "where the passes run (default auto)", 0},
        {"--json", OPT_FLAG, &json, NULL, "machine-readable output: every position's loss "
         "and the buckets", 0}};
    CliCommand cmd = {"lengths", "[--models DIR] [--max T] [--out FILE.png] [--json]",
                      "Mean loss by token position for each shipped model, up to past the "
                      "training context.", opts, sizeof opts / sizeof opts[0]};
    AvzErr err;
    int rc = cli_begin(&cmd, argc, argv);
    if (rc >= 0) return rc;
    rc = 0;
    if (max_T < 2 || max_T > AVZ_MAX_T || seqs < 1 || bucket < 1)
        return cmd_error(2, "attnviz lengths: --max must be 2..2048, --seqs and --bucket positive");
    char base[4096];
    if (models) snprintf(base, sizeof base, "%s", models);
    else assets_find("assets/models", base, sizeof base);
    LengthRun runs[PE_COUNT];
    int n = 0, ctx = 0;
    for (int p = 0; p < PE_COUNT && !rc; p++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/%s", base, PE_DIRS[p]);
        if (!is_dir(dir)) continue;
        Engine e;
        char note[AVZ_ERR_LEN];
        if ((rc = engine_open(&e, dir, device, note, err))) break;
        if (note[0]) fprintf(stderr, "note: %s\n", note);
        runs[n].loss = avz_xmalloc(sizeof(float) * max_T);
        snprintf(runs[n].name, sizeof runs[n].name, "%s", PE_DIRS[p]);
        runs[n].n_positions = ctx = e.model.cfg.n_positions;
        fprintf(stderr, "measuring %s ...\n", dir);
        rc = lengths_measure(&e.be, &e.model, max_T, seqs, LENGTHS_SEED, runs[n].loss, err);
        engine_close(&e);
        n++;
    }
    if (!rc && n == 0)
        rc = avz_fail(err, AVZ_ERR_INPUT, "%s: no model folders (none/, sinusoidal/, learned/, "
                      "rope/, alibi/) found", base);
    if (!rc && out) rc = write_chart(out, runs, n, max_T, bucket, ctx, err);
    if (!rc && json) {
        print_json(runs, n, max_T, seqs, bucket, out);
    } else if (!rc) {
        print_table(runs, n, max_T, bucket);
        if (out) printf("wrote %s\n", out);
    }
    for (int r = 0; r < n; r++) free(runs[r].loss);
    return rc ? cmd_error(rc, err) : 0;
}
