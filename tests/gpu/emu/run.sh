#!/usr/bin/env bash
# tests/gpu/emu/run.sh [attention|model|llama|all] [--quick]
# Builds and runs the emulation checks (see emu.h): the attention kernels of gpu/ and the
# CUDA backend's whole forward pass, run on a CPU-side SIMT emulator and compared with the
# CPU reference. Needs g++ with C++20 and the CUDA toolkit (headers, cudart_static,
# cuBLAS to link), no GPU. A development check, not part of make test: it takes minutes
# on two cores.
set -euo pipefail
cd "$(dirname "$0")/../../.."
WHAT=${1:-all}
[ $# -gt 0 ] && shift
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
# EMU_BUILD: where the emulators go; EMU_LIB_BUILD: the CPU-only build whose model/ objects
# they link (model/ only: the emulation needs nothing from app/)
B=${EMU_BUILD:-build/emu}
LB=${EMU_LIB_BUILD:-build/nocuda}
mkdir -p $B
CXX="g++ -std=c++20 -O2 -g -Wall -Wno-unknown-pragmas -I$CUDA_HOME/include -Imodel -Igpu"
CUDA_LIBS="-L$CUDA_HOME/lib64 -lcublas -lcudart_static -ldl -lrt -Wl,-rpath,$CUDA_HOME/lib64"
OBJS=$(find model -name '*.c' | sort | sed "s|^\(.*\)\.c\$|$LB/obj/\1.o|")
make --no-print-directory -s NO_CUDA=1 BUILD=$LB $OBJS
rm -f $B/libmodel.a && ar rcs $B/libmodel.a $OBJS
LIB="$B/libmodel.a -fopenmp -lcjson -lpcre2-8 -lm -pthread"
if [ "$WHAT" = attention ] || [ "$WHAT" = all ]; then
    $CXX tests/gpu/emu/emu_attention.cc $LIB $CUDA_LIBS -o $B/emu_attention
    $B/emu_attention "$@"
fi
if [ "$WHAT" = model ] || [ "$WHAT" = llama ] || [ "$WHAT" = all ]; then
    $CXX tests/gpu/emu/emu_model.cc $LIB $CUDA_LIBS -o $B/emu_model
fi
if [ "$WHAT" = model ] || [ "$WHAT" = all ]; then
    $B/emu_model "$@"
    $B/emu_model --shipped   # assets/models/*, fp32 and 16-bit attention
fi
if [ "$WHAT" = llama ] || [ "$WHAT" = model ] || [ "$WHAT" = all ]; then
    $B/emu_model --llama     # RMSNorm, SwiGLU, grouped-query attention, biases, untied head
fi
