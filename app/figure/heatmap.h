/* heatmap.h: turns a (rows, cols) matrix of values into RGBA pixels.
 *
 * A pure function with no SDL or GL in it: the screen renderer uploads its
 * output as a texture and the PNG export scales it into the figure, so both
 * show the same colours, and it can be tested without a display.
 */
#ifndef AVZ_HEATMAP_H
#define AVZ_HEATMAP_H

#include "figure/colormap.h"

typedef struct {
    float vmin, vmax;  /* the values drawn at the two ends of the colormap */
    float gamma;       /* 1 = linear; < 1 brightens small values (see below) */
    Colormap cmap;
    int mask_upper;    /* 1: cells with col > row (the causal mask) are grey */
} HeatmapScale;

/* Neutral colours for cells that carry no value. */
#define HEATMAP_MASK_GREY 230        /* (230, 230, 230): "not allowed", not "zero" */
#define HEATMAP_BAD_R 255            /* (255, 0, 255) magenta: NaN or Inf */
#define HEATMAP_BAD_G 0
#define HEATMAP_BAD_B 255

/* The colormap position of v under s:
 *   t = clamp((v - vmin) / (vmax - vmin), 0, 1),  then  t = t^gamma.
 * gamma < 1 lifts small values (0.5 shows 0.04 at 0.2), gamma = 1 is linear;
 * gamma <= 0 is treated as 1. When vmax <= vmin, t is 1 for v > vmin, else 0.
 * v must be finite. */
float heatmap_position(const HeatmapScale *s, float v);

/* Writes rows*cols RGBA8 pixels (row-major, alpha 255) for values (rows, cols),
 * row = query, col = key. A masked cell (mask_upper and col > row) is
 * HEATMAP_MASK_GREY whatever its value; an unmasked NaN or Inf cell is magenta;
 * every other cell is colormap_lookup(s->cmap, heatmap_position(s, v)).
 * The caller owns both buffers; rgba holds rows*cols*4 bytes. */
void heatmap_to_rgba(const float *values, int rows, int cols, const HeatmapScale *s,
                     unsigned char *rgba);

/* Sets s->vmin and s->vmax from the n values (NaN and Inf ignored), leaving
 * gamma, cmap and mask_upper as they are: vmin = 0 when no value is negative
 * (probabilities start at 0), else the minimum; vmax = the largest finite
 * value, or vmin + 1 when that is not above vmin (all zero, or no finite value). */
void heatmap_scale_auto(HeatmapScale *s, const float *values, int n);

#endif
