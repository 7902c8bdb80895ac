/* gpu_backend.h: the CUDA backend of attnviz, as seen from C.
 *
 * gpu/ owns the CUDA backend and nothing else; it builds on model/ (the config, the
 * weights, the CPU reference it is checked against) and never on app/. Only
 * app/device.c (the registry), the GPU tests and the bench include this. Everything
 * behind it is in the .cu files of gpu/: the same transformer as model/forward.c, with the weights
 * uploaded once, the activations on the device, the linear layers in cuBLAS and our own
 * attention kernels:
 *   - fp32 flash attention (gpu/attention.cu): tiled, online softmax, saves each row's
 *     log-sum-exp; the default, it matches the CPU within 1e-4.
 *   - bf16 / fp16 flash attention on tensor cores (gpu/attention_mma.cu): mma.sync
 *     m16n8k16 with fp32 accumulation, for speed.
 *   - naive attention (gpu/attention.cu): the whole (T, T) matrix, as attn_naive does.
 *   - capture (gpu/attention.cu): P recomputed from q, k and the log-sum-exp.
 * This header compiles as C and C++; it needs nothing from CUDA. */
#ifndef AVZ_GPU_BACKEND_H
#define AVZ_GPU_BACKEND_H

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opens the CUDA backend on device 0 (the first one CUDA_VISIBLE_DEVICES lets us see).
 * Checks that a driver and a device are there, that the device can run our kernels
 * (compute capability 8.0 or newer) and that a first allocation and launch work.
 * Returns NULL when CUDA cannot be used and writes the reason into why (AVZ_ERR_LEN):
 * "no CUDA device", "no usable NVIDIA driver: ...", the CUDA error of the step that
 * failed. The caller closes the backend with backend_close.
 *
 * After be->forward on this backend, the model's host activations hold the logits,
 * q, k and the log-sum-exps of every layer (enough for model_capture on the CPU too),
 * the losses and mean_loss when targets were given, and m->att for a naive pass; the
 * other activations stay on the device. be->capture recomputes a map on the device.
 * A CUDA failure inside forward returns AVZ_ERR_INTERNAL with a message naming the
 * file, the line, the CUDA error and a hint; backend_forward then reruns on the CPU. */
Backend *gpu_backend_create(char *why);

/* How many CUDA devices the driver reports: 0 when there is no driver, no device or
 * any error. Creates no context; cheap. */
int gpu_device_count(void);

/* The attention kernels. */
typedef enum {
    GPU_ATTN_FP32 = 0,  /* fp32 flash (default): SIMT, matches the CPU */
    GPU_ATTN_BF16,      /* bf16 operands on tensor cores, fp32 accumulation */
    GPU_ATTN_FP16,      /* fp16 operands on tensor cores, fp32 accumulation */
    GPU_ATTN_NAIVE,     /* fp32, builds the whole (T, T) matrix: the baseline */
    GPU_ATTN_COUNT
} GpuAttnKind;

/* "fp32", "bf16", "fp16", "naive"; gpu_attn_from_name returns -1 for anything else. */
const char *gpu_attn_name(GpuAttnKind k);
int gpu_attn_from_name(const char *name);

/* Which kernel a CUDA backend's flash passes use (ForwardOpts.attn == ATTN_FLASH).
 * The default is fp32, or what the environment variable AVZ_CUDA_ATTN names
 * (fp32, bf16 or fp16). Does nothing when be is not a CUDA backend. */
void gpu_backend_set_attn(Backend *be, GpuAttnKind k);

/* Replays the forward pass as a CUDA graph (1, the default; AVZ_CUDA_GRAPH=0 turns it
 * off) or launches every kernel one by one (0). Does nothing on other backends. */
void gpu_backend_set_graphs(Backend *be, int on);

/* ---- the attention kernels on host arrays, for the tests and the bench ----------- */

/* nh independent heads of length T and size hs. */
typedef struct {
    int nh;              /* heads */
    int T;               /* sequence length, any T >= 1 */
    int hs;              /* head size: 16, 32, 64 or 128 */
    int causal;          /* 1: query i sees keys j <= i */
    float scale;         /* usually 1/sqrt(hs) */
    const float *slopes; /* (nh) ALiBi slope per head (host), or NULL for none */
} GpuAttnProblem;

/* Copies q, k, v (nh, T, hs) to the device, runs one kernel and copies back out
 * (nh, T, hs) and lse (nh, T). The bf16 / fp16 kernels round q, k, v on the device
 * first. Returns AVZ_ERR_INPUT for an unsupported shape, AVZ_ERR_INTERNAL (file, line,
 * CUDA error, hint in err) when CUDA fails. */
AvzCode gpu_attention_host(GpuAttnKind kind, const GpuAttnProblem *p, const float *q,
                           const float *k, const float *v, float *out, float *lse,
                           char *err);

/* The capture kernel: P (nh, T, T) from q, k (nh, T, hs) and lse (nh, T), all host:
 * P_ij = exp(q_i . k_j * scale + bias_ij - lse_i), 0 where masked. */
AvzCode gpu_capture_host(const GpuAttnProblem *p, const float *q, const float *k,
                         const float *lse, float *P, char *err);

/* `attnviz bench --device cuda`: attention TFLOP/s for T = 512 ... 16384 and d_head 64
 * and 128 (our bf16, fp16 and fp32 flash kernels beside our naive one), then the
 * shipped models' whole forward pass with capture. Takes the argv of the bench
 * command (argv[0] = "bench"); skips --device and its value; --help lists the rest.
 * Returns the exit code (0 ok, 1 CUDA failure, 2 bad option). */
int gpu_bench_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif
