/* backend.c: the CPU backend (the reference: model_forward + model_capture) and the
 * fall back from a failing backend to it. Which backends exist and which one opens is
 * decided above model/, in app/device.c (the only file that knows whether CUDA was
 * compiled in); model/ code only ever speaks to a Backend. */
#include "backend.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static AvzCode cpu_forward(Backend *be, Model *m, const int *tokens, const int *targets, int B,
                           int T, const ForwardOpts *o, char *err) {
    (void)be;
    return model_forward(m, tokens, targets, B, T, o, err);
}

static void cpu_capture(Backend *be, const Model *m, int layer, int head, int b, float *out) {
    (void)be;
    model_capture(m, layer, head, b, out);
}

static void cpu_destroy(Backend *be) { free(be); }

Backend *backend_cpu_create(void) {
    Backend *be = avz_xcalloc(1, sizeof *be);
    be->name = "cpu";
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    snprintf(be->device, sizeof be->device, "CPU, %d thread%s", threads, threads == 1 ? "" : "s");
    be->forward = cpu_forward;
    be->capture = cpu_capture;
    be->destroy = cpu_destroy;
    return be;
}

void backend_close(Backend *be) {
    if (be) be->destroy(be);
}

AvzCode backend_forward(Backend **bep, Model *m, const int *tokens, const int *targets, int B,
                        int T, const ForwardOpts *o, char *note, char *err) {
    Backend *be = *bep;
    AvzCode rc = be->forward(be, m, tokens, targets, B, T, o, err);
    if (rc != AVZ_ERR_INTERNAL || strcmp(be->name, "cpu") == 0) return rc;
    if (note) snprintf(note, AVZ_ERR_LEN, "CUDA failed (%s); switched to the CPU", err);
    backend_close(be);
    *bep = backend_cpu_create();
    return (*bep)->forward(*bep, m, tokens, targets, B, T, o, err);
}
