/* bench_main.c: build/gpu_bench, the GPU benchmark as a program of its own, so that
 * tests/gpu/check.sh can run it whatever the CLI's bench command is wired to. Only built
 * when nvcc is found (the Makefile's CUDA section). */
#include "gpu_backend.h"

int main(int argc, char **argv) { return gpu_bench_main(argc, argv); }
