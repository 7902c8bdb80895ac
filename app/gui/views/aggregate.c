/* aggregate.c: the Aggregates view: the mean of a layer's heads and attention
 * rollout through the layers up to it (Abnar and Zuidema 2020; model/aggregate.c). */
#include <math.h>
#include <string.h>

#include "util.h"
#include "gui/views/views.h"


/* ---- Aggregates view ---- */

void view_aggregate(App *a, Rect area) {
    int T = app_T(a);
    const float *mean, *roll;
    app_aggregates(a, &mean, &roll);
    char t[2][200];
    snprintf(t[0], sizeof t[0], "Mean of the %d heads of layer %d", app_NH(a), a->layer);
    snprintf(t[1], sizeof t[1], "Attention rollout through layers 0-%d", a->layer);
    const char *notes[2] = {
        "what the layer as a whole attends to (up / down arrows: layer)",
        "Abnar & Zuidema 2020: each layer 0.5 A + 0.5 I (the residual path), multiplied"};
    const float *vals[2] = {mean, roll};
    const char *names[2] = {"mean", "rollout"};
    RenderMap *tex[2] = {&a->tex_mean, &a->tex_roll};
    float w = (area.w - 60) / 2;
    for (int k = 0; k < 2; k++) {
        float x = area.x + k * (w + 60);
        ui_text_fit(a, t[k], x, area.y, FONT_TITLE, w, TH_INK);
        ui_text_fit(a, notes[k], x, area.y + 28, FONT_SMALL, w, TH_MUTED);
        HeatmapScale hs;
        app_map_scale(a, vals[k], T, &hs);
        if (k == 1) heatmap_scale_auto(&hs, vals[k], T * T); /* rollout: its own range */
        MapFigure f = {vals[k], tex[k], gui_version(a, 6 + k, a->layer),
                       &hs, names[k], a->layer, -1, 1, 1, 0, 0, T, NULL};
        Rect m;
        ui_map_figure(a, (Rect){x, area.y + 56, w - 60, area.h - 70}, &f, &m);
        ui_colorbar(a, (Rect){m.x + m.w + 10, m.y, 14, m.h}, &hs);
    }
    if (a->readout[0])
        render_text(a->r, a->readout, area.x, area.y + area.h - 18, FONT_UI, TH_INK);
}
