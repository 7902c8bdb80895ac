/* export.c: `attnviz export`, attention maps from a real forward pass written as
 * labelled PNG heatmaps (one head, one layer's row of heads, or the whole L x H
 * grid) or as NumPy .npy arrays. One text (--text, --text-file, stdin), or with
 * --texts a batch: the model loaded once, one file per text under numbered names and
 * an index of what became of each (cli/batch.h), a bad text named and skipped. */
#include <cjson/cJSON.h>
#include <string.h>

#include "assets.h"
#include "cli/batch.h"
#include "cli/train_curves.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/run.h"
#include "cli/text_input.h"
#include "figure/colormap.h"
#include "figure/export.h"
#include "figure/npy.h"
#include "session.h"

typedef struct {
    const char *model, *text, *text_file, *texts, *device, *attention, *out, *format, *cmap,
        *index, *train_curves;
    int layer, head, all, size, blocks, labels, json;
    float gamma;
} ExportArgs;

/* What every map of the run shares, settled before the model is loaded. */
typedef struct {
    int npy;                /* .npy arrays, else PNG */
    int single;             /* one head (--head given) */
    ExportStyle st;
    char font[4096];
} ExportPlan;

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The options that need no model: text sources, --out, format, style. */
static AvzCode check_options(const ExportArgs *a, const CliCommand *cmd, ExportPlan *p,
                             char *err) {
    int n_sources = !!a->text + !!a->text_file + !!a->texts;
    if (n_sources > 1)
        return avz_fail(err, AVZ_ERR_INPUT, "attnviz export: give one of --text, --text-file "
                        "and --texts, not %s", n_sources == 3 ? "all three" :
                        a->texts ? (a->text ? "--text and --texts" : "--text-file and --texts")
                                 : "both --text and --text-file");
    if (!n_sources || !a->out)
        return avz_fail(err, AVZ_ERR_INPUT, "attnviz export: --out and one of --text, "
                        "--text-file or --texts are required");
    if (!a->texts && (a->blocks || a->labels || a->index))
        return avz_fail(err, AVZ_ERR_INPUT, "attnviz export: --blocks, --labels and --index "
                        "go with --texts");
    if (a->index && strcmp(a->index, "csv") != 0 && strcmp(a->index, "json") != 0)
        return avz_fail(err, AVZ_ERR_INPUT, "attnviz export: --index must be csv or json");
    p->npy = a->format ? strcmp(a->format, "npy") == 0 : ends_with(a->out, ".npy");
    p->single = cli_seen(cmd, "--head");
    if (a->format && !p->npy && strcmp(a->format, "png") != 0)
        return avz_fail(err, AVZ_ERR_INPUT, "attnviz export: --format must be png or npy");
    if (a->size && (a->size < 64 || a->size > 16384))
        return avz_fail(err, AVZ_ERR_INPUT, "attnviz export: --size must be between 64 and "
                        "16384 pixels");
    if (!(a->gamma > 0.05f && a->gamma <= 20.0f))
        return avz_fail(err, AVZ_ERR_INPUT, "attnviz export: --gamma must be between 0.05 and 20");
    export_style_default(&p->st);
    int cm = colormap_from_name(a->cmap ? a->cmap : "viridis");
    if (cm < 0 || cm == CMAP_DIVERGING)
        return avz_fail(err, AVZ_ERR_INPUT, "--colormap: unknown colormap '%s' (use viridis, "
                        "cividis or magma)", a->cmap);
    p->st.cmap = (Colormap)cm;
    if (a->size) p->st.size_px = a->size;
    p->st.gamma = a->gamma;
    assets_find(EXPORT_DEFAULT_FONT, p->font, sizeof p->font);
    p->st.font_path = p->font;
    return AVZ_OK;
}

/* Which maps: one head (layer and head given), a layer (layer only), or all. */
static AvzCode check_selection(const ExportArgs *a, const CliCommand *cmd, const ModelConfig *c,
                               char *err) {
    int has_l = cli_seen(cmd, "--layer"), has_h = cli_seen(cmd, "--head");
    if (a->all && (has_l || has_h))
        return avz_fail(err, AVZ_ERR_INPUT, "attnviz export: give either --all or --layer "
                        "[--head], not both");
    if (!a->all && !has_l)
        return avz_fail(err, AVZ_ERR_INPUT, "attnviz export: choose the maps with --layer L "
                        "--head H, --layer L, or --all");
    if (has_l && (a->layer < 0 || a->layer >= c->n_layer))
        return avz_fail(err, AVZ_ERR_INPUT, "--layer %d does not exist (the model has layers "
                        "0..%d)", a->layer, c->n_layer - 1);
    if (has_h && (a->head < 0 || a->head >= c->n_head))
        return avz_fail(err, AVZ_ERR_INPUT, "--head %d does not exist (the model has heads "
                        "0..%d)", a->head, c->n_head - 1);
    return AVZ_OK;
}

/* Captures the selected maps into a new (n, T, T) array; n_rows x n_cols layout. */
static float *capture_selection(Session *s, const ExportArgs *a, int has_head, int *n_rows,
                                int *n_cols) {
    const ModelConfig *c = &s->eng.model.cfg;
    int T = s->tok.n, L = c->n_layer, NH = c->n_head;
    int l0 = a->all ? 0 : a->layer, nl = a->all ? L : 1;
    int h0 = has_head ? a->head : 0, nh = has_head ? 1 : NH;
    float *maps = avz_xmalloc(sizeof(float) * (size_t)nl * nh * T * T);
    for (int l = 0; l < nl; l++)
        for (int h = 0; h < nh; h++)
            s->eng.be->capture(s->eng.be, &s->eng.model, l0 + l, h0 + h, 0,
                           maps + ((size_t)l * nh + h) * T * T);
    *n_rows = nl;
    *n_cols = nh;
    return maps;
}

/* The array's shape: (T, T) for one head, (H, T, T) for a layer, (L, H, T, T) for all. */
static int maps_shape(int nr, int nc, int T, int single, int64_t *shape) {
    int64_t full[4] = {nr, nc, T, T};
    int ndim = single ? 2 : nr == 1 ? 3 : 4;
    memcpy(shape, full + 4 - ndim, sizeof(int64_t) * (size_t)ndim);
    return ndim;
}

static AvzCode write_png(Session *s, const ExportArgs *a, const ExportPlan *p, const char *path,
                         const char *label, const float *maps, int nr, int nc, char *err) {
    const char *pe = pe_name(s->eng.model.cfg.pe);
    const char *const *labels = (const char *const *)s->tok.text;
    char what[128], title[256];
    int T = s->tok.n;
    if (p->single) snprintf(what, sizeof what, "layer %d head %d, %s", a->layer, a->head, pe);
    else if (a->all) snprintf(what, sizeof what, "all heads, %s", pe);
    else snprintf(what, sizeof what, "layer %d, %s", a->layer, pe);
    if (label && label[0]) snprintf(title, sizeof title, "%.80s  (%s)", label, what);
    else snprintf(title, sizeof title, "%s", what);
    if (p->single) return export_heatmap_png(path, maps, T, labels, title, &p->st, err);
    int l0 = a->all ? 0 : a->layer;
    char **cell = avz_xmalloc(sizeof(char *) * nr * nc);
    for (int i = 0; i < nr * nc; i++) {
        cell[i] = avz_xmalloc(64);
        snprintf(cell[i], 64, "L%d H%d", l0 + i / nc, i % nc);
    }
    AvzCode rc = export_grid_png(path, maps, nr, nc, T, labels, (const char *const *)cell,
                                 title, &p->st, err);
    for (int i = 0; i < nr * nc; i++) free(cell[i]);
    free(cell);
    return rc;
}

/* Runs the session's tokens and writes the selected maps to path; *n_maps of them. */
static AvzCode export_text(Session *s, const ExportArgs *a, const ExportPlan *p,
                           const char *path, const char *label, int *n_maps, char *err) {
    AvzCode rc = session_forward(s, err);
    if (rc) return rc;
    int nr, nc;
    float *maps = capture_selection(s, a, p->single, &nr, &nc);
    if (p->npy) {
        int64_t shape[4];
        int ndim = maps_shape(nr, nc, s->tok.n, p->single, shape);
        rc = npy_write(path, maps, ndim, shape, err);
    } else {
        rc = write_png(s, a, p, path, label, maps, nr, nc, err);
    }
    free(maps);
    *n_maps = nr * nc;
    return rc;
}

/* ---- one text ------------------------------------------------------------------------ */

static int export_single(const ExportArgs *a, const CliCommand *cmd, const ExportPlan *p) {
    AvzErr err;
    char *text;
    AvzCode rc = text_input_get("export", a->text, a->text_file, &text, err);
    if (rc) return cmd_error(rc, err);
    Session s;
    rc = session_open(&s, a->model, a->device, a->attention, text, err);
    free(text);
    if (rc) return cmd_error(rc, err);
    session_print_notes(&s);
    int n_maps = 0;
    rc = check_selection(a, cmd, &s.eng.model.cfg, err);
    if (!rc) rc = export_text(&s, a, p, a->out, NULL, &n_maps, err);
    if (!rc && a->json) {
        cJSON *j = run_json_header(&s);
        cJSON_AddStringToObject(j, "file", a->out);
        cJSON_AddStringToObject(j, "format", p->npy ? "npy" : "png");
        int64_t shape[4];
        int ndim = maps_shape(a->all ? s.eng.model.cfg.n_layer : 1,
                              p->single ? 1 : s.eng.model.cfg.n_head, s.tok.n, p->single, shape);
        cJSON *sh = cJSON_AddArrayToObject(j, "shape");
        for (int d = 0; d < ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)shape[d]));
        run_json_print(j);
    } else if (!rc) {
        printf("wrote %s (%d map%s, %d tokens, computed on %s)\n", a->out, n_maps,
               n_maps == 1 ? "" : "s", s.tok.n, s.eng.be->device);
    }
    session_close(&s);
    return rc ? cmd_error(rc, err) : 0;
}

/* ---- a batch ------------------------------------------------------------------------- */

/* The last component of a folder path: "rope" of "assets/models/rope/". */
static void base_name(const char *dir, char *out, size_t len) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && dir[b - 1] != '/') b--;
    snprintf(out, len, "%.*s", (int)(n - b), dir + b);
}

/* Runs text i of the batch into row (its file, tokens, status and message). */
static void batch_one(Session *s, const ExportArgs *a, const ExportPlan *p,
                      const BatchNames *names, const BatchFields *f, const TextItem *it,
                      BatchRow *row) {
    AvzErr err = "";
    AvzCode rc = AVZ_ERR_INPUT;
    char path[4096];
    if (it->fault[0]) snprintf(err, sizeof err, "%s", it->fault);
    else rc = session_set_text(s, it->text, err);
    if (!it->fault[0] && !rc) {
        row->n_tokens = s->tok.n;
        if (s->tok.n_unknown) {
            char words[1024];
            tokens_unknown_list(&s->tok, words, sizeof words);
            fprintf(stderr, "note: text %d (line %d): %d unknown word%s shown as <unk>: %s\n",
                    row->n, row->line, s->tok.n_unknown, s->tok.n_unknown == 1 ? "" : "s",
                    words);
        }
        int n_maps;
        rc = batch_name(names, f, path, sizeof path, err);
        if (!rc) rc = export_text(s, a, p, path, it->label, &n_maps, err);
        if (!rc) snprintf(row->file, sizeof row->file, "%s", path);
    }
    row->status = rc == AVZ_OK ? BATCH_OK : rc == AVZ_ERR_INPUT ? BATCH_BAD_INPUT : BATCH_FAILED;
    if (rc) snprintf(row->message, sizeof row->message, "%s", err);
}

/* The JSON summary (stdout with --json) and index.json: what became of every text. */
static cJSON *batch_json(const Session *s, const ExportPlan *p, const char *index,
                         const BatchRow *rows, int n, int written) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", s->model_dir);
    cJSON_AddStringToObject(j, "position_encoding", pe_name(s->eng.model.cfg.pe));
    cJSON_AddStringToObject(j, "device", s->eng.be->device);
    cJSON_AddStringToObject(j, "format", p->npy ? "npy" : "png");
    cJSON_AddStringToObject(j, "index", index);
    cJSON_AddNumberToObject(j, "n_texts", n);
    cJSON_AddNumberToObject(j, "written", written);
    cJSON_AddNumberToObject(j, "failed", n - written);
    cJSON_AddItemToObject(j, "texts", batch_rows_json(rows, n));
    return j;
}

/* Writes the index (csv or json) of rows to index; returns its code. */
static AvzCode write_index(const char *index, int json, const cJSON *doc, const BatchRow *rows,
                           int n, char *err) {
    if (!json) return batch_index_csv(index, rows, n, err);
    char *txt = cJSON_Print(doc);
    AvzCode rc = avz_write_file_atomic(index, txt, strlen(txt), err);
    free(txt);
    return rc;
}

/* The batch's loop: every text runs, whatever the others did. Returns the exit code. */
static int batch_run(Session *s, const ExportArgs *a, const ExportPlan *p,
                     const BatchNames *names, const TextList *list) {
    char model[256], index[4200];
    base_name(s->model_dir, model, sizeof model);
    BatchFields f = {0, a->all ? -1 : a->layer, p->single ? a->head : -1, model};
    BatchRow *rows = avz_xcalloc((size_t)list->n, sizeof *rows);
    int written = 0, bad = 0, failed = 0, json_index = a->index && strcmp(a->index, "json") == 0;
    for (int i = 0; i < list->n; i++) {
        const TextItem *it = &list->items[i];
        BatchRow *r = &rows[i];
        *r = (BatchRow){.n = i + 1, .line = it->line, .label = it->label, .text = it->text};
        f.n = i + 1;
        batch_one(s, a, p, names, &f, it, r);
        if (r->status == BATCH_OK) {
            written++;
            fprintf(stderr, "[%d/%d] wrote %s\n", i + 1, list->n, r->file);
        } else {
            bad += r->status == BATCH_BAD_INPUT;
            failed += r->status == BATCH_FAILED;
            fprintf(stderr, "attnviz export: text %d (line %d): %s\n", i + 1, it->line, r->message);
        }
    }
    snprintf(index, sizeof index, "%s/index.%s", names->folder, json_index ? "json" : "csv");
    cJSON *doc = batch_json(s, p, index, rows, list->n, written);
    AvzErr err;
    AvzCode irc = write_index(index, json_index, doc, rows, list->n, err);
    if (irc) cmd_error(irc, err);
    if (a->json) {
        run_json_print(doc);
    } else {
        cJSON_Delete(doc);
        printf("wrote %d of %d %s file%s to %s/", written, list->n, p->npy ? "npy" : "png",
               list->n == 1 ? "" : "s", strcmp(names->folder, "/") ? names->folder : "");
        if (!irc) printf(" (index: %s)", index);
        if (bad + failed) printf("; %d text%s failed, named above%s", bad + failed,
                                 bad + failed == 1 ? "" : "s", irc ? "" : " and in the index");
        printf("\n");
    }
    free(rows);
    int code = failed ? 1 : bad ? 2 : 0;
    return code ? code : (int)irc;
}

static int export_batch(const ExportArgs *a, const CliCommand *cmd, const ExportPlan *p) {
    AvzErr err;
    TextList list;
    AvzCode rc = text_list_read(a->texts, a->blocks, a->labels, &list, err);
    if (rc) return cmd_error(rc, err);
    BatchNames names;
    Session s;
    rc = batch_names_init(&names, a->out, p->npy ? "npy" : "png", list.n, err);
    if (!rc) rc = session_open(&s, a->model, a->device, a->attention, "", err);  /* once */
    if (rc) {
        text_list_free(&list);
        return cmd_error(rc, err);
    }
    if (s.note[0]) fprintf(stderr, "note: %s\n", s.note);
    rc = check_selection(a, cmd, &s.eng.model.cfg, err);
    if (!rc) rc = batch_make_folder(&names, err);
    int code = rc ? cmd_error(rc, err) : batch_run(&s, a, p, &names, &list);
    session_close(&s);
    text_list_free(&list);
    return code;
}

/* --train-curves LOG --out FILE.png: two charts of a training run, no model. */
static int export_train_curves(const ExportArgs *a, char *err) {
    if (!a->out) return cmd_error(2, "attnviz export: --train-curves needs --out FILE.png");
    if (a->text || a->text_file || a->texts)
        return cmd_error(2, "attnviz export: --train-curves takes no text");
    char paths[8500];
    AvzCode rc = train_curves_export(a->train_curves, a->out, a->size, paths, sizeof paths, err);
    if (rc) return cmd_error(rc == AVZ_ERR_INPUT ? 2 : 1, err);
    char *nl = strchr(paths, '\n');
    *nl = '\0';
    if (a->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "log", a->train_curves);
        cJSON_AddStringToObject(j, "loss", paths);
        cJSON_AddStringToObject(j, "roles", nl + 1);
        run_json_print(j);
    } else {
        printf("wrote %s and %s\n", paths, nl + 1);
    }
    return 0;
}

int cmd_export(int argc, char **argv) {
    ExportArgs a = {0};
    a.gamma = 1.0f;
    CliOpt opts[] = {
        {"--model", OPT_STR, &a.model, "DIR", "model folder (default: the shipped rope model)", 0},
        TEXT_OPTS(a.text, a.text_file),
        {"--texts", OPT_STR, &a.texts, "FILE", "a batch: one text per line ('-': stdin; # "
         "comments); one output file per text", 0},
        {"--blocks", OPT_FLAG, &a.blocks, NULL, "with --texts: texts are blocks of lines "
         "separated by blank lines", 0},
        {"--labels", OPT_FLAG, &a.labels, NULL, "with --texts: each text is 'label | text' (as "
         "in assets/texts/examples.txt)", 0},
        {"--index", OPT_STR, &a.index, "csv|json", "with --texts: the index file beside the "
         "outputs (default csv)", 0},
        {"--layer", OPT_INT, &a.layer, "L", "layer (with --head: one map; alone: the layer's heads)", 0},
        {"--head", OPT_INT, &a.head, "H", "head", 0},
        {"--all", OPT_FLAG, &a.all, NULL, "every head of every layer, as an L x H grid", 0},
        {"--out", OPT_STR, &a.out, "FILE", "output file (required; written atomically); with "
         "--texts a folder DIR/ or a pattern with {n}, {layer}, {head}, {model}", 0},
        {"--format", OPT_STR, &a.format, "png|npy", "default: from the file name, else png", 0},
        {"--colormap", OPT_STR, &a.cmap, "NAME", "viridis (default), cividis or magma", 0},
        {"--size", OPT_INT, &a.size, "PX", "map edge in pixels (grid: image width); default 800", 0},
        {"--gamma", OPT_FLOAT, &a.gamma, "G", "colour gamma, < 1 brightens weak attention (default 1)", 0},
        {"--device", OPT_STR, &a.device, "auto|cpu|cuda", "where to compute (default auto)", 0},
        {"--attention", OPT_STR, &a.attention, "flash|naive", "attention algorithm (default flash)", 0},
        {"--train-curves", OPT_STR, &a.train_curves, "LOG", "instead of maps: the curves of "
         "a training run's live log (attnviz train --live-log) as OUT-loss.png and "
         "OUT-roles.png", 0},
        {"--json", OPT_FLAG, &a.json, NULL, "machine-readable summary of what was written", 0}};
    CliCommand cmd = {"export", "(--text TEXT | --text-file FILE | --texts FILE) (--layer L "
                      "--head H | --layer L | --all) --out FILE|DIR/|PATTERN [--format png|npy] "
                      "[--colormap NAME] [--size PX] [--json]",
                      "Writes attention maps (row = query, column = key) as a labelled PNG "
                      "heatmap or a NumPy .npy array:\n(T, T) for one head, (H, T, T) for a "
                      "layer, (L, H, T, T) for --all. With --texts, one file per text under "
                      "numbered\nnames (--out slides/ or 'slides/{n}-L{layer}H{head}.png') and "
                      "an index.csv beside them; a bad text\nis named and skipped, the exit "
                      "status is 2 if any was bad.", opts, sizeof opts / sizeof opts[0]};
    int rc = cli_begin(&cmd, argc, argv);
    if (rc >= 0) return rc;
    AvzErr err;
    if (a.train_curves) return export_train_curves(&a, err);
    ExportPlan plan;
    if ((rc = check_options(&a, &cmd, &plan, err))) return cmd_error(rc, err);
    return a.texts ? export_batch(&a, &cmd, &plan) : export_single(&a, &cmd, &plan);
}
