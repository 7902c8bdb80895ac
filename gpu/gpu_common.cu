/* gpu_common.cu: error messages with hints, device discovery, and two small utility
 * kernels (16-bit conversion, random fill) that the backend, the tests and the bench
 * share. */
#include <stdarg.h>
#include <string.h>

#include "gpu_common.cuh"

/* What a user can do about an error, in one line. */
static const char *hint_for(cudaError_t e) {
    switch (e) {
    case cudaErrorMemoryAllocation:
        return "the GPU is out of memory: try a shorter text, fewer models open, or "
               "--device cpu";
    case cudaErrorInsufficientDriver:
        return "no NVIDIA driver was found, or it is older than this build's CUDA 13 "
               "runtime: install or update the driver, or use --device cpu";
    case cudaErrorNoDevice:
        return "no GPU is visible: check nvidia-smi and CUDA_VISIBLE_DEVICES";
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorInvalidDeviceFunction:
    case cudaErrorUnsupportedPtxVersion:
        return "this build has kernels for sm_80 and sm_90 (and PTX for newer GPUs): "
               "rebuild with nvcc for this GPU's architecture";
    case cudaErrorInvalidConfiguration:
    case cudaErrorInvalidValue:
        return "a kernel was given an impossible shape: a bug in attnviz, please report "
               "the model and the text";
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorMisalignedAddress:
        return "a kernel crashed (it may be an earlier one: CUDA reports crashes late); "
               "rerun with CUDA_LAUNCH_BLOCKING=1 or under compute-sanitizer";
    default:
        return "rerun with CUDA_LAUNCH_BLOCKING=1 to find the failing call";
    }
}

/* "gpu/x.cu" out of a full path, so that messages stay short */
static const char *short_file(const char *file) {
    const char *p = strstr(file, "gpu/");
    return p ? p : file;
}

static AvzCode fail_fmt(char *err, const char *fmt, ...) {
    char buf[AVZ_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (err) snprintf(err, AVZ_ERR_LEN, "%s", buf);
    else fprintf(stderr, "%s\n", buf);
    return AVZ_ERR_INTERNAL;
}

AvzCode gpu_fail(char *err, const char *file, int line, const char *call, cudaError_t e) {
    return fail_fmt(err, "%s:%d: %.100s failed: %s (%s). Hint: %s", short_file(file), line,
                    call, cudaGetErrorString(e), cudaGetErrorName(e), hint_for(e));
}

AvzCode gpu_fail_blas(char *err, const char *file, int line, const char *call,
                      cublasStatus_t s) {
    const char *hint = s == CUBLAS_STATUS_ALLOC_FAILED
                           ? "the GPU is out of memory: try a shorter text or --device cpu"
                           : "rerun with CUDA_LAUNCH_BLOCKING=1 to find the failing call";
    return fail_fmt(err, "%s:%d: %.100s failed: %s (cuBLAS status %d). Hint: %s",
                    short_file(file), line, call, cublasGetStatusString(s), (int)s, hint);
}

extern "C" int gpu_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();   /* clear it: this question must leave no error behind */
        return 0;
    }
    return n;
}

static const char *const ATTN_NAMES[GPU_ATTN_COUNT] = {"fp32", "bf16", "fp16", "naive"};

extern "C" const char *gpu_attn_name(GpuAttnKind k) {
    return (unsigned)k < GPU_ATTN_COUNT ? ATTN_NAMES[k] : "?";
}

extern "C" int gpu_attn_from_name(const char *name) {
    for (int i = 0; i < GPU_ATTN_COUNT; i++)
        if (name && strcmp(name, ATTN_NAMES[i]) == 0) return i;
    return -1;
}

/* ---- 16-bit conversion ------------------------------------------------------------- */

template <typename H> __device__ H to16(float x);
template <> __device__ __nv_bfloat16 to16<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
template <> __device__ __half to16<__half>(float x) { return __float2half_rn(x); }
__device__ float from16(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ float from16(__half x) { return __half2float(x); }

template <typename H>
__global__ void convert_to_16_kernel(H *dst, float *src, size_t n, int round_src) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        H h = to16<H>(src[i]);
        dst[i] = h;
        if (round_src) src[i] = from16(h);
    }
}

/* ---- random numbers on the device -------------------------------------------------- */

/* splitmix64: a good 64-bit hash of a counter */
__device__ static uint64_t mix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

__global__ void fill_normal_kernel(float *x, size_t n, uint64_t seed, float scale) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        uint64_t r = mix64(seed * 0x100000001B3ull + i);
        /* Box-Muller on two 24-bit uniforms in (0, 1] */
        float u1 = ((r >> 40) + 1) * (1.0f / 16777216.0f);
        float u2 = ((r >> 16) & 0xFFFFFF) * (1.0f / 16777216.0f);
        x[i] = scale * sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2);
    }
}

/* ---- launchers ---------------------------------------------------------------------- */
#ifndef AVZ_GPU_EMULATE   /* tests/gpu/emu/ runs the kernels above on the CPU */

AvzCode convert_to_16_launch(void *dst, float *src, size_t n, int bf16, int round_src,
                             cudaStream_t st, char *err) {
    if (n == 0) return AVZ_OK;
    unsigned blocks = cdiv(n, 256) < 65535u ? cdiv(n, 256) : 65535u;
    if (bf16)
        convert_to_16_kernel<<<blocks, 256, 0, st>>>((__nv_bfloat16 *)dst, src, n, round_src);
    else
        convert_to_16_kernel<<<blocks, 256, 0, st>>>((__half *)dst, src, n, round_src);
    LAUNCH_CHECK("convert_to_16_kernel");
    return AVZ_OK;
}

AvzCode fill_normal_launch(float *x, size_t n, uint64_t seed, float scale, cudaStream_t st,
                           char *err) {
    if (n == 0) return AVZ_OK;
    unsigned blocks = cdiv(n, 256) < 65535u ? cdiv(n, 256) : 65535u;
    fill_normal_kernel<<<blocks, 256, 0, st>>>(x, n, seed, scale);
    LAUNCH_CHECK("fill_normal_kernel");
    return AVZ_OK;
}
#endif /* AVZ_GPU_EMULATE */
