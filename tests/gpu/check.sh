#!/usr/bin/env bash
# tests/gpu/check.sh: the device check, one call, under 5 minutes on an H100 machine.
#   1. builds attnviz, the tests and the GPU bench (nvcc must be there);
#   2. runs the GPU tests (build/tests --filter 'gpu/*');
#   3. runs the GPU bench (attention TFLOP/s, the models' forward + capture) to JSON;
#   4. times PyTorch's SDPA (flash forced, cuDNN beside it) on the same shapes;
#   5. prints one short table.
# Full logs: $OUT (the device tool's folder) if set, else build/gpu-check/.
# Usage: tests/gpu/check.sh [--quick]     (--quick: T = 1024 and 4096 only)
set -uo pipefail
cd "$(dirname "$0")/../.."
LOG=${OUT:-build/gpu-check}
mkdir -p "$LOG"
QUICK=${1:-}
J=$(nproc)
t0=$(date +%s)

gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
echo "== attnviz GPU check on: ${gpu:-no nvidia-smi}"

if ! make -j"$J" build/attnviz build/tests build/gpu_bench >"$LOG/build.log" 2>&1; then
    tail -40 "$LOG/build.log"
    echo "== BUILD FAILED (log: $LOG/build.log)"
    exit 1
fi
make --no-print-directory cuda-info
echo "build: $(( $(date +%s) - t0 )) s"

# The GPU tests; --verbose lists every test, and each SKIP with its reason.
timeout 180 build/tests --filter 'gpu/*' --verbose --jobs "$J" >"$LOG/tests.log" 2>&1
trc=$?
nskip=$(grep '^\[SKIP\] gpu::' "$LOG/tests.log" | grep -v 'Test is disabled' | sort -u | wc -l)
echo "tests: $(grep -m1 'Synthesis' "$LOG/tests.log" || echo "no synthesis (exit $trc)") | Skipped: $nskip"
grep -E '^\[(FAIL|SKIP)\]|\[----\].*(error|Assertion|rel err)|CRASH|signal' "$LOG/tests.log" \
    | grep -v 'Test is disabled' | awk '!seen[$0]++' | head -20
grep -E 'worst rel err' "$LOG/tests.log" | sed 's/^.*\[----\] */  /' | head -8
echo "tests: $(( $(date +%s) - t0 )) s"

timeout 150 build/gpu_bench $QUICK --json "$LOG/bench.json" >"$LOG/bench.txt" 2>"$LOG/bench.err"
brc=$?
if [ $brc -ne 0 ]; then
    tail -20 "$LOG/bench.err"
    echo "== BENCH FAILED (exit $brc)"
fi
echo "bench: $(( $(date +%s) - t0 )) s"

if [ -s "$LOG/bench.json" ]; then
    PYTHONUNBUFFERED=1 timeout 100 python3 tests/bench/sdpa.py --ours "$LOG/bench.json" \
        --json "$LOG/sdpa.json" >"$LOG/sdpa.txt" 2>"$LOG/sdpa.err"
    prc=$?
    echo
    if [ $prc -eq 0 ] || [ -s "$LOG/sdpa.txt" ]; then cat "$LOG/sdpa.txt"; fi
    [ $prc -ne 0 ] && { tail -5 "$LOG/sdpa.err"; cat "$LOG/bench.txt"; }
fi
echo "total: $(( $(date +%s) - t0 )) s; logs in $LOG"
[ $trc -eq 0 ] && [ $brc -eq 0 ]
