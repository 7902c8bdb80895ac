/* assets.h: finding attnviz's assets (fonts, models, shaders, lessons) from any
 * working directory: next to the binary (a build tree: build/attnviz -> ./assets),
 * under its install prefix (bin/attnviz -> share/attnviz/assets), or in
 * $ATTNVIZ_HOME. */
#ifndef AVZ_ASSETS_H
#define AVZ_ASSETS_H

#include <stddef.h>

/* Remembers argv[0] (call once from main). */
void assets_init(const char *argv0);

/* Writes the full path of rel (e.g. "assets/fonts/DejaVuSans.ttf", "shaders/x.glsl")
 * into out and returns 1 if it exists somewhere we look; else writes rel as it is
 * and returns 0. */
int assets_find(const char *rel, char *out, size_t len);

#endif
