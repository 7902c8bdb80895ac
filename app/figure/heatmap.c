/* heatmap.c: values -> colours for the attention heatmaps (screen and PNG). */
#include "figure/heatmap.h"

#include <math.h>
#include <stddef.h>

float heatmap_position(const HeatmapScale *s, float v) {
    float t;
    if (s->vmax > s->vmin) t = (v - s->vmin) / (s->vmax - s->vmin);
    else t = v > s->vmin ? 1.0f : 0.0f;
    if (t < 0.0f) t = 0.0f;
    if (t > 1.0f) t = 1.0f;
    if (s->gamma > 0.0f && s->gamma != 1.0f) t = powf(t, s->gamma);
    return t;
}

static void put_rgb(unsigned char *px, unsigned char r, unsigned char g, unsigned char b) {
    px[0] = r;
    px[1] = g;
    px[2] = b;
    px[3] = 255;
}

void heatmap_to_rgba(const float *values, int rows, int cols, const HeatmapScale *s,
                     unsigned char *rgba) {
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) {
            float v = values[(size_t)i * cols + j];
            unsigned char *px = rgba + 4 * ((size_t)i * cols + j);
            if (s->mask_upper && j > i) {
                put_rgb(px, HEATMAP_MASK_GREY, HEATMAP_MASK_GREY, HEATMAP_MASK_GREY);
            } else if (!isfinite(v)) {
                put_rgb(px, HEATMAP_BAD_R, HEATMAP_BAD_G, HEATMAP_BAD_B);
            } else {
                colormap_lookup(s->cmap, heatmap_position(s, v), px);
                px[3] = 255;
            }
        }
    }
}

void heatmap_scale_auto(HeatmapScale *s, const float *values, int n) {
    float lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        if (!isfinite(values[i])) continue;
        if (values[i] < lo) lo = values[i];
        if (values[i] > hi) hi = values[i];
    }
    s->vmin = (lo >= 0.0f || !isfinite(lo)) ? 0.0f : lo;
    s->vmax = (isfinite(hi) && hi > s->vmin) ? hi : s->vmin + 1.0f;
}
