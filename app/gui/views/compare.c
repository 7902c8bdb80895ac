/* compare.c: the Compare view: one text, one (layer, head), every shipped model side
 * by side (each loaded once into its own engine, on the app's device). */
#include <math.h>
#include <string.h>

#include "util.h"
#include "gui/views/views.h"


/* ---- Compare view: one text, the same head, every shipped model ---- */

static void compare_load(App *a) {
    Teach *t = &a->teach;
    if (t->cmp_loaded) return;
    app_list_models(a);
    t->n_cmp = 0;
    for (int i = 0; i < a->n_models && t->n_cmp < GUI_CMP_MAX; i++) {
        Engine *e = &t->cmp[t->n_cmp];
        char err[AVZ_ERR_LEN], note[AVZ_ERR_LEN];
        if (engine_open(e, a->models[i].dir, a->device, note, err)) continue;
        snprintf(t->cmp_name[t->n_cmp++], sizeof t->cmp_name[0], "%s", a->models[i].name);
    }
    t->cmp_loaded = 1;
}

/* Runs the current text through comparison model i and captures (layer, head). */
static void compare_one(App *a, int i) {
    Teach *t = &a->teach;
    Engine *e = &t->cmp[i];
    Tokens tok;
    char err[AVZ_ERR_LEN];
    free(t->cmp_map[i]);
    t->cmp_map[i] = NULL;
    t->cmp_err[i][0] = '\0';
    const ModelConfig *c = &e->model.cfg;
    if (a->layer >= c->n_layer || a->head >= c->n_head) {
        snprintf(t->cmp_err[i], sizeof t->cmp_err[i], "has no layer %d head %d", a->layer, a->head);
        return;
    }
    if (engine_encode(e, a->edit.s, GUI_MAX_T, &tok, err)) {
        snprintf(t->cmp_err[i], sizeof t->cmp_err[i], "%.250s", err);
        return;
    }
    ForwardOpts o = {0};
    if (tok.n != app_T(a)) {
        snprintf(t->cmp_err[i], sizeof t->cmp_err[i], "reads the text as %d tokens, not %d", tok.n,
                 app_T(a));
    } else if (backend_forward(&e->be, &e->model, tok.ids, NULL, 1, tok.n, &o, NULL, err)) {
        snprintf(t->cmp_err[i], sizeof t->cmp_err[i], "%.250s", err);
    } else {
        t->cmp_map[i] = avz_xmalloc(sizeof(float) * (size_t)tok.n * tok.n);
        e->be->capture(e->be, &e->model, a->layer, a->head, 0, t->cmp_map[i]);
    }
    tokens_free(&tok);
}

void app_compare_data(App *a) {
    Teach *t = &a->teach;
    unsigned long key = view_cache_key(a->text_gen, (unsigned long)(a->layer * 64 + a->head), 7);
    if (t->cmp_key == key || !a->has_tokens) return;
    compare_load(a);
    for (int i = 0; i < t->n_cmp; i++) compare_one(a, i);
    t->cmp_key = key;
    t->ver++;
}

/* ---- Compare view ---- */

void view_compare(App *a, Rect area) {
    app_compare_data(a);
    Teach *t = &a->teach;
    char head[160];
    snprintf(head, sizeof head, "Layer %d head %d of every shipped model, same text (N: next model; "
             "click a map to switch)", a->layer, a->head);
    render_text(a->r, head, area.x, area.y, FONT_TITLE, TH_INK);
    int n = t->n_cmp;
    if (n == 0) {
        render_text(a->r, "no shipped models found in assets/models/", area.x, area.y + 40, FONT_UI,
                    TH_MUTED);
        return;
    }
    /* the number of columns that gives the largest maps in this area */
    int cols = 1;
    float best = 0;
    for (int c = 1; c <= n; c++) {
        int rw = (n + c - 1) / c;
        float side = minf((area.w - (c - 1) * 16) / c - 90, (area.h - 36 - (rw - 1) * 12) / rw - 110);
        if (side > best) best = side, cols = c;
    }
    int rows = (n + cols - 1) / cols;
    float gw = (area.w - (cols - 1) * 16) / cols, gh = (area.h - 36 - (rows - 1) * 12) / rows;
    for (int i = 0; i < n; i++) {
        Rect c = {area.x + (i % cols) * (gw + 16), area.y + 36 + (i / cols) * (gh + 12), gw, gh};
        int active = strcmp(t->cmp_name[i], a->model_name) == 0;
        if (active) render_rect(a->r, (Rect){c.x - 4, c.y - 2, c.w + 8, c.h + 4}, TH_ACCENT_SOFT);
        char title[96];
        snprintf(title, sizeof title, "%s%s", t->cmp_name[i], active ? " (active)" : "");
        render_text(a->r, title, c.x, c.y, FONT_UI, active ? TH_ACCENT : TH_INK);
        Rect body = {c.x, c.y + 24, c.w, c.h - 24};
        if (!t->cmp_map[i]) {
            ui_text_wrap(a, t->cmp_err[i], body.x, body.y, body.w, FONT_SMALL, TH_ERROR);
            continue;
        }
        int T = app_T(a);
        HeatmapScale hs;
        app_map_scale(a, t->cmp_map[i], T, &hs);
        char name[32];
        snprintf(name, sizeof name, "cmp_%.27s", t->cmp_name[i]);
        MapFigure f = {t->cmp_map[i], &t->tex[3 + i], teach_version(a, 3 + i), &hs, name,
                       a->layer, a->head, i % cols == 0, 1, 0, 0, T, NULL};
        ui_map_figure(a, body, &f, NULL);
        if (!active && ui_clicked(a, body)) {
            char err[AVZ_ERR_LEN], dir[4400] = "";
            for (int k = 0; k < a->n_models; k++)
                if (strcmp(a->models[k].name, t->cmp_name[i]) == 0)
                    snprintf(dir, sizeof dir, "%s", a->models[k].dir);
            if (app_load_model(a, dir[0] ? dir : t->cmp_name[i], err)) app_error(a, "%s", err);
            else app_status(a, "model: %s (same text)", a->model_name);
            return;
        }
    }
}
