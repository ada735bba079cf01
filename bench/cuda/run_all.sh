#!/usr/bin/env bash
# bench/cuda/run_all.sh: everything the CUDA backend needs a GPU for, in one command, on
# the GPU machine: build with -DMOE_CUDA=ON, run the CUDA tests (kernels vs ref::, the
# device routing plans, flash attention, the tiny MoE LM CPU-vs-GPU and determinism),
# measure the ceilings (device-to-device copy GB/s, bf16/fp32 GEMM TFLOP/s) and the MoE
# layer fwd+bwd at the Mixtral-like shape, and PyTorch's loop over experts at the same
# shape when torch with CUDA is importable. Writes everything to $RESULTS (default
# bench/cuda/results-<date>.txt, or $OUT/cuda_results.txt when $OUT is set).
#
#   bench/cuda/run_all.sh              # full run
#   MOE_BENCH_SHAPE="4096 1024 3584 8 2" bench/cuda/run_all.sh   # a smaller layer
set -uo pipefail
cd "$(dirname "$0")/../.."
if [[ -n "${OUT:-}" ]]; then
  RESULTS=${RESULTS:-$OUT/cuda_results.txt}
else
  RESULTS=${RESULTS:-bench/cuda/results-$(date +%Y%m%d-%H%M%S).txt}
fi
SHAPE=${MOE_BENCH_SHAPE:-"16384 4096 14336 8 2"}
JOBS=${JOBS:-$(nproc)}
: > "$RESULTS"
log() { echo "$@" | tee -a "$RESULTS"; }

log "== moe.cpp CUDA run, $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$RESULTS"

log "== build (-DMOE_CUDA=ON, sm_90)"
start=$(date +%s)
cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DMOE_CUDA=ON -DMOE_BENCH=OFF >/dev/null || exit 1
ninja -C build-cuda -j "$JOBS" 2>&1 | tail -3 | tee -a "$RESULTS"
[[ ${PIPESTATUS[0]} -eq 0 ]] || { log "build failed"; exit 1; }
log "build: $(( $(date +%s) - start )) s"

log "== CUDA tests"
status=0
for t in build-cuda/test_cuda_* build-cuda/test_device; do
  "$t" --gtest_brief=1 2>&1 | tee -a "$RESULTS" || status=1
done
log "== the CPU suite in the CUDA build (ctest)"
(cd build-cuda && ctest -j "$JOBS" 2>&1 | tail -5) | tee -a "$RESULTS"

log "== ceilings and the MoE layer ($SHAPE: tokens d d_ff experts top_k)"
# shellcheck disable=SC2086
build-cuda/cuda_bench $SHAPE 2>&1 | tee -a "$RESULTS" || status=1

log "== PyTorch loop over experts (same shape)"
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  # shellcheck disable=SC2086
  python3 bench/cuda/torch_moe_layer.py $SHAPE 2>&1 | tee -a "$RESULTS" || status=1
else
  log "torch with CUDA is not importable here: the PyTorch comparison was skipped"
fi
log "== results in $RESULTS (exit status $status)"
exit $status
