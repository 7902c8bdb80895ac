/* export.c: `attnviz export`, attention maps from a real forward pass written as
 * labelled PNG heatmaps (one head, one layer's row of heads, or the whole L x H
 * grid) or as NumPy .npy arrays. */
#include <string.h>

#include "assets.h"
#include "cli/cli.h"
#include "figure/colormap.h"
#include "cli/commands.h"
#include "figure/export.h"
#include "figure/npy.h"
#include "session.h"

typedef struct {
    const char *model, *text, *device, *attention, *out, *format, *cmap;
    int layer, head, all, size;
    float gamma;
} ExportArgs;

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
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

static AvzCode write_npy(const ExportArgs *a, const float *maps, int nr, int nc, int T,
                         int single, char *err) {
    int64_t shape[4] = {nr, nc, T, T};
    if (single) return npy_write(a->out, maps, 2, shape + 2, err);
    if (nr == 1) return npy_write(a->out, maps, 3, shape + 1, err);   /* (NH, T, T) */
    return npy_write(a->out, maps, 4, shape, err);                    /* (L, NH, T, T) */
}

static AvzCode write_png(Session *s, const ExportArgs *a, const float *maps, int nr, int nc,
                         int single, char *err) {
    ExportStyle st;
    export_style_default(&st);
    int cm = colormap_from_name(a->cmap ? a->cmap : "viridis");
    if (cm < 0 || cm == CMAP_DIVERGING)
        return avz_fail(err, AVZ_ERR_INPUT, "--colormap: unknown colormap '%s' (use viridis, "
                        "cividis or magma)", a->cmap);
    st.cmap = (Colormap)cm;
    if (a->size) st.size_px = a->size;
    st.gamma = a->gamma;
    char font[4096];
    assets_find(EXPORT_DEFAULT_FONT, font, sizeof font);
    st.font_path = font;
    const char *pe = pe_name(s->eng.model.cfg.pe);
    const char *const *labels = (const char *const *)s->tok.text;
    char title[256];
    int T = s->tok.n;
    if (single) {
        snprintf(title, sizeof title, "layer %d head %d, %s", a->layer, a->head, pe);
        return export_heatmap_png(a->out, maps, T, labels, title, &st, err);
    }
    int l0 = a->all ? 0 : a->layer;
    char **cell = avz_xmalloc(sizeof(char *) * nr * nc);
    for (int i = 0; i < nr * nc; i++) {
        cell[i] = avz_xmalloc(64);
        snprintf(cell[i], 64, "L%d H%d", l0 + i / nc, i % nc);
    }
    if (a->all) snprintf(title, sizeof title, "all heads, %s", pe);
    else snprintf(title, sizeof title, "layer %d, %s", a->layer, pe);
    AvzCode rc = export_grid_png(a->out, maps, nr, nc, T, labels, (const char *const *)cell,
                                 title, &st, err);
    for (int i = 0; i < nr * nc; i++) free(cell[i]);
    free(cell);
    return rc;
}

int cmd_export(int argc, char **argv) {
    ExportArgs a = {0};
    a.gamma = 1.0f;
    CliOpt opts[] = {
        {"--model", OPT_STR, &a.model, "DIR", "model folder (default: the shipped rope model)", 0},
        {"--text", OPT_STR, &a.text, "TEXT", "the text to run (required)", 0},
        {"--layer", OPT_INT, &a.layer, "L", "layer (with --head: one map; alone: the layer's heads)", 0},
        {"--head", OPT_INT, &a.head, "H", "head", 0},
        {"--all", OPT_FLAG, &a.all, NULL, "every head of every layer, as an L x H grid", 0},
        {"--out", OPT_STR, &a.out, "FILE", "output file (required; written atomically)", 0},
        {"--format", OPT_STR, &a.format, "png|npy", "default: from the file name, else png", 0},
        {"--colormap", OPT_STR, &a.cmap, "NAME", "viridis (default), cividis or magma", 0},
        {"--size", OPT_INT, &a.size, "PX", "map edge in pixels (grid: image width); default 800", 0},
        {"--gamma", OPT_FLOAT, &a.gamma, "G", "colour gamma, < 1 brightens weak attention (default 1)", 0},
        {"--device", OPT_STR, &a.device, "auto|cpu|cuda", "where to compute (default auto)", 0},
        {"--attention", OPT_STR, &a.attention, "flash|naive", "attention algorithm (default flash)", 0}};
    CliCommand cmd = {"export", "--text TEXT (--layer L --head H | --layer L | --all) --out FILE "
                      "[--format png|npy] [--colormap NAME] [--size PX]",
                      "Writes attention maps (row = query, column = key) as a labelled PNG "
                      "heatmap or a NumPy .npy array:\n(T, T) for one head, (H, T, T) for a "
                      "layer, (L, H, T, T) for --all.", opts, sizeof opts / sizeof opts[0]};
    AvzErr err;
    int rc = cli_begin(&cmd, argc, argv);
    if (rc >= 0) return rc;
    rc = 0;
    if (!a.text || !a.out) return cmd_error(2, "attnviz export: --text and --out are required");
    int npy = a.format ? strcmp(a.format, "npy") == 0 : ends_with(a.out, ".npy");
    if (a.format && !npy && strcmp(a.format, "png") != 0)
        return cmd_error(2, "attnviz export: --format must be png or npy");
    if (a.size && (a.size < 64 || a.size > 16384))
        return cmd_error(2, "attnviz export: --size must be between 64 and 16384 pixels");
    if (!(a.gamma > 0.05f && a.gamma <= 20.0f))
        return cmd_error(2, "attnviz export: --gamma must be between 0.05 and 20");
    Session s;
    if ((rc = session_open(&s, a.model, a.device, a.attention, a.text, err)))
        return cmd_error(rc, err);
    session_print_notes(&s);
    rc = check_selection(&a, &cmd, &s.eng.model.cfg, err);
    if (!rc) rc = session_forward(&s, err);
    if (!rc) {
        int nr, nc, single = cli_seen(&cmd, "--head");
        float *maps = capture_selection(&s, &a, single, &nr, &nc);
        rc = npy ? write_npy(&a, maps, nr, nc, s.tok.n, single, err)
                 : write_png(&s, &a, maps, nr, nc, single, err);
        free(maps);
        if (!rc) printf("wrote %s (%d map%s, %d tokens, computed on %s)\n", a.out, nr * nc,
                        nr * nc == 1 ? "" : "s", s.tok.n, s.eng.be->device);
    }
    session_close(&s);
    return rc ? cmd_error(rc, err) : 0;
}
