/* png.c: atomic PNG writing (see png.h). stb_image_write's implementation is
 * compiled once, in stb_impl.c. */
#include "figure/png.h"

#include <stb/stb_image_write.h>

typedef struct { FILE *f; int bad; } PngSink;

/* stb calls this with pieces of the encoded file; a short write marks the sink bad. */
static void png_sink(void *ctx, void *data, int size) {
    PngSink *k = ctx;
    if (fwrite(data, 1, (size_t)size, k->f) != (size_t)size) k->bad = 1;
}

AvzCode png_commit_rgba(AvzAtomicFile *af, const unsigned char *rgba, int w, int h, int stride,
                        char *err) {
    PngSink k = {af->f, 0};
    /* stbi_write_png_to_func returns 0 on failure */
    if (!stbi_write_png_to_func(png_sink, &k, w, h, 4, rgba, stride) || k.bad) {
        avz_atomic_abort(af);
        return avz_fail(err, AVZ_ERR_INTERNAL, "%s: PNG encoding or writing failed", af->path);
    }
    return avz_atomic_commit(af, err);
}

AvzCode png_write_rgba(const char *path, const unsigned char *rgba, int w, int h, int stride,
                       char *err) {
    AvzAtomicFile af;
    AvzCode rc = avz_atomic_open(&af, path, err);
    return rc ? rc : png_commit_rgba(&af, rgba, w, h, stride, err);
}
