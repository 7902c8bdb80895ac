/* backend.c: the backend registry. This is the only file that knows whether the
 * CUDA backend was compiled in (AVZ_CUDA); everything else speaks to a Backend. */
#include "backend.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef AVZ_CUDA
#include "../gpu/gpu_backend.h"
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

Backend *backend_open(const char *name, char *note, char *err) {
    if (note) note[0] = '\0';
    int want_cuda = strcmp(name, "cuda") == 0, is_auto = strcmp(name, "auto") == 0;
    if (!want_cuda && !is_auto && strcmp(name, "cpu") != 0) {
        avz_fail(err, AVZ_ERR_INPUT, "--device: unknown device '%s' (use auto, cpu or cuda)",
                 name);
        return NULL;
    }
    if (want_cuda || is_auto) {
#ifdef AVZ_CUDA
        char why[AVZ_ERR_LEN] = "";
        Backend *g = gpu_backend_create(why);
        if (g) return g;
        /* "auto" on a machine without a driver or a GPU is the normal CPU case: say
         * nothing. Asked for by name, or a GPU that is there but fails, is news. */
        if (note && (want_cuda || gpu_device_count() > 0))
            snprintf(note, AVZ_ERR_LEN, "CUDA unavailable (%s); using the CPU", why);
#else
        if (note && want_cuda)
            snprintf(note, AVZ_ERR_LEN, "CUDA unavailable (this build has no CUDA backend: "
                     "nvcc was not found or NO_CUDA=1); using the CPU");
#endif
    }
    return backend_cpu_create();
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
