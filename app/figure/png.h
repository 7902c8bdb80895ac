/* png.h: writing RGBA pixels as a PNG file, atomically (a temp file, then a rename),
 * through stb_image_write. Shared by the heatmap export, the charts and the app's
 * screenshots. */
#ifndef AVZ_PNG_H
#define AVZ_PNG_H

#include "common.h"

/* Encodes rgba (h rows of w pixels, stride bytes apart) into the open atomic file
 * and renames it into place; on any failure the temp file is removed and the error
 * names the path. The file is always closed. */
AvzCode png_commit_rgba(AvzAtomicFile *af, const unsigned char *rgba, int w, int h, int stride,
                        char *err);

/* Opens path atomically and writes rgba into it (see png_commit_rgba). A missing
 * folder is an AVZ_ERR_INPUT naming it. */
AvzCode png_write_rgba(const char *path, const unsigned char *rgba, int w, int h, int stride,
                       char *err);

#endif
