/* colormap.c: builds the 256-entry colour tables from anchor colours.
 *
 * The anchors are colours read off the published perceptual colormaps at
 * evenly spaced positions (multiples of 1/9, 1/5 and 1/4): viridis and magma
 * from matplotlib (van der Walt & Smith, 2015), cividis from Nunez, Anderton &
 * Renslow (2018), and the diverging map from ColorBrewer's RdBu (Brewer),
 * reversed so that negative is blue, with pure white in the middle. Between
 * anchors the table is a straight line in RGB. Every anchor set is sorted by
 * position and starts at 0 and ends at 1.
 */
#include "figure/colormap.h"

#include <math.h>
#include <string.h>

#include "common.h"

typedef struct {
    float t;                /* position in [0, 1] */
    unsigned char rgb[3];
} CmapAnchor;

#define N9(i) ((float)(i) / 9.0f)

static const CmapAnchor VIRIDIS[] = {
    {0.0f, {68, 1, 84}},     {N9(1), {72, 40, 120}},   {0.2f, {65, 68, 135}},
    {N9(2), {62, 74, 137}},  {0.25f, {59, 82, 139}},   {N9(3), {49, 104, 142}},
    {0.4f, {42, 120, 142}},  {N9(4), {38, 130, 142}},  {0.5f, {33, 144, 140}},
    {N9(5), {31, 158, 137}}, {0.6f, {34, 168, 132}},   {N9(6), {53, 183, 121}},
    {0.75f, {93, 200, 99}},  {N9(7), {109, 205, 89}},  {0.8f, {122, 209, 81}},
    {N9(8), {180, 222, 44}}, {1.0f, {253, 231, 37}},
};

static const CmapAnchor CIVIDIS[] = {
    {0.0f, {0, 32, 77}},       {N9(1), {0, 51, 111}},     {0.2f, {49, 68, 107}},
    {N9(2), {57, 72, 107}},    {0.25f, {65, 77, 107}},    {N9(3), {87, 92, 109}},
    {0.4f, {102, 105, 112}},   {N9(4), {112, 113, 115}},  {0.5f, {124, 123, 120}},
    {N9(5), {138, 135, 121}},  {0.6f, {149, 143, 120}},   {N9(6), {166, 157, 117}},
    {0.75f, {188, 175, 111}},  {N9(7), {196, 181, 108}},  {0.8f, {203, 186, 105}},
    {N9(8), {228, 207, 91}},   {1.0f, {255, 234, 70}},
};

static const CmapAnchor MAGMA[] = {
    {0.0f, {0, 0, 4}},         {N9(1), {24, 15, 62}},     {0.2f, {59, 15, 112}},
    {N9(2), {69, 16, 119}},    {0.25f, {81, 18, 124}},    {N9(3), {114, 31, 129}},
    {0.4f, {140, 41, 129}},    {N9(4), {159, 47, 127}},   {0.5f, {182, 54, 121}},
    {N9(5), {205, 64, 113}},   {0.6f, {222, 73, 104}},    {N9(6), {241, 96, 93}},
    {0.75f, {251, 136, 97}},   {N9(7), {253, 149, 103}},  {0.8f, {254, 159, 109}},
    {N9(8), {254, 201, 141}},  {1.0f, {252, 253, 191}},
};

/* Blue half on entries 0..127, red half on 128..255: both middle entries are
 * pure white, so that a lookup of exactly 0.5 (entry 128) is white. */
#define LO(i) ((float)(i) / 5.0f * (127.0f / 255.0f))
#define HI(i) (128.0f / 255.0f + (float)(i) / 5.0f * (127.0f / 255.0f))
static const CmapAnchor DIVERGING[] = {
    {LO(0), {5, 48, 97}},      {LO(1), {33, 102, 172}},   {LO(2), {67, 147, 195}},
    {LO(3), {146, 197, 222}},  {LO(4), {209, 229, 240}},  {LO(5), {255, 255, 255}},
    {HI(0), {255, 255, 255}},  {HI(1), {253, 219, 199}},  {HI(2), {244, 165, 130}},
    {HI(3), {214, 96, 77}},    {HI(4), {178, 24, 43}},    {HI(5), {103, 0, 31}},
};

static const struct {
    const char *name;
    const CmapAnchor *anchors;
    int n;
} CMAPS[CMAP_COUNT] = {
    [CMAP_VIRIDIS] = {"viridis", VIRIDIS, (int)(sizeof VIRIDIS / sizeof *VIRIDIS)},
    [CMAP_CIVIDIS] = {"cividis", CIVIDIS, (int)(sizeof CIVIDIS / sizeof *CIVIDIS)},
    [CMAP_MAGMA] = {"magma", MAGMA, (int)(sizeof MAGMA / sizeof *MAGMA)},
    [CMAP_DIVERGING] = {"diverging", DIVERGING, (int)(sizeof DIVERGING / sizeof *DIVERGING)},
};

static unsigned char tables[CMAP_COUNT][256 * 3]; /* (CMAP_COUNT, 256, 3) */
static int tables_built;

/* The colour at t of the piecewise-linear curve through the anchors, rounded. */
static void interpolate(const CmapAnchor *a, int n, float t, unsigned char rgb[3]) {
    int k = 0;
    while (k < n - 2 && t > a[k + 1].t) k++;
    float span = a[k + 1].t - a[k].t;
    float w = span > 0.0f ? (t - a[k].t) / span : 0.0f;
    if (w < 0.0f) w = 0.0f;
    if (w > 1.0f) w = 1.0f;
    for (int ch = 0; ch < 3; ch++) {
        float v = (float)a[k].rgb[ch] + w * ((float)a[k + 1].rgb[ch] - (float)a[k].rgb[ch]);
        rgb[ch] = (unsigned char)lrintf(v);
    }
}

/* Fills every table once. The result is the same on every call, so a repeated
 * build is harmless. */
static void build_tables(void) {
    if (tables_built) return;
    for (int c = 0; c < CMAP_COUNT; c++)
        for (int i = 0; i < 256; i++)
            interpolate(CMAPS[c].anchors, CMAPS[c].n, (float)i / 255.0f, &tables[c][3 * i]);
    tables_built = 1;
}

const unsigned char *colormap_table(Colormap c) {
    AVZ_ASSERT(c >= 0 && c < CMAP_COUNT);
    build_tables();
    return tables[c];
}

void colormap_lookup(Colormap c, float t, unsigned char rgb[3]) {
    const unsigned char *tab = colormap_table(c);
    if (isnan(t)) {
        rgb[0] = rgb[1] = rgb[2] = 128;
        return;
    }
    if (t < 0.0f) t = 0.0f;
    if (t > 1.0f) t = 1.0f;
    int i = (int)lrintf(t * 255.0f);
    memcpy(rgb, tab + 3 * i, 3);
}

const char *colormap_name(Colormap c) {
    if (c < 0 || c >= CMAP_COUNT) return "?";
    return CMAPS[c].name;
}

int colormap_from_name(const char *name) {
    if (!name) return -1;
    for (int c = 0; c < CMAP_COUNT; c++)
        if (strcmp(name, CMAPS[c].name) == 0) return c;
    return -1;
}
