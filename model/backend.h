/* backend.h: where the forward pass runs (a small table in the style of ggml).
 *
 * A Backend is a few function pointers. The CPU backend is always built and is the
 * reference; the CUDA backend (gpu/) is built when nvcc is found. device_open
 * (app/device.h) picks one at run time, and whenever CUDA is asked for but cannot be
 * used it falls back to the CPU and says why in a note that the CLI prints and the app
 * shows in its status bar. After a forward pass, whatever the backend, the model's
 * host activations hold the logits, and capture() returns any attention map. */
#ifndef AVZ_BACKEND_H
#define AVZ_BACKEND_H

#include "model.h"

typedef struct Backend Backend;
struct Backend {
    const char *name;           /* "cpu" or "cuda" */
    char device[160];           /* what computes, in words: "CPU, 2 threads" / "NVIDIA H100 ..." */
    /* Runs the model on tokens (B, T); fills m->acts.logits (host) and whatever
     * capture needs. Same contract as model_forward. */
    AvzCode (*forward)(Backend *be, Model *m, const int *tokens, const int *targets, int B,
                       int T, const ForwardOpts *o, char *err);
    /* Attention probabilities (T, T) of (layer, head), batch row b, last pass. */
    void (*capture)(Backend *be, const Model *m, int layer, int head, int b, float *out);
    void (*destroy)(Backend *be);
    void *ctx;
};

/* Closes any backend (NULL is fine). */
void backend_close(Backend *be);

/* Runs be->forward; if a CUDA backend fails with an internal error (out of memory,
 * a failed launch), switches *bep to the CPU backend, reruns there and writes the
 * reason into note. Input errors are returned as they are. */
AvzCode backend_forward(Backend **bep, Model *m, const int *tokens, const int *targets, int B,
                        int T, const ForwardOpts *o, char *note, char *err);

/* The CPU backend (model_forward + model_capture). */
Backend *backend_cpu_create(void);

#endif
