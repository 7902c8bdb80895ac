/* colormap.h: the colour scales of attnviz, defined once.
 *
 * Each colormap is a 256-entry RGB8 table built at first use by linear
 * interpolation between a few anchor colours. The same table feeds the PNG
 * export (through heatmap_to_rgba) and the GL shader (uploaded as a 256x1
 * lookup texture), so the screen and the files show identical colours.
 */
#ifndef AVZ_COLORMAP_H
#define AVZ_COLORMAP_H

typedef enum {
    CMAP_VIRIDIS = 0, /* perceptually uniform, dark purple -> yellow (default) */
    CMAP_CIVIDIS,     /* like viridis, readable with colour-vision deficiency */
    CMAP_MAGMA,       /* black -> purple -> orange -> pale yellow */
    CMAP_DIVERGING,   /* blue -> white -> red for signed differences; 0.5 = white */
    CMAP_COUNT
} Colormap;

/* The (256, 3) RGB8 table of c, row i = colour of t = i / 255. The memory is
 * static and owned by this module; it stays valid for the life of the program.
 * An out-of-range c is a programmer error (asserts). */
const unsigned char *colormap_table(Colormap c);

/* The colour of t in [0, 1] (clamped) from c's table: entry round(t * 255).
 * NaN gives a neutral grey (128, 128, 128). */
void colormap_lookup(Colormap c, float t, unsigned char rgb[3]);

/* The lower-case name of c ("viridis", "cividis", "magma", "diverging"), a
 * static string; "?" for an out-of-range value. */
const char *colormap_name(Colormap c);

/* The Colormap named by name (case-sensitive, the names above), or -1 when the
 * name is unknown or NULL. */
int colormap_from_name(const char *name);

#endif
