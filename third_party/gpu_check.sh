#!/usr/bin/env bash
# make gpu-check: what the GPU machine runs, in one call.
# There: python3 with torch (and transformers, if the pipeline checks are to run), cmake, a C++
# compiler; no Go. Here, beforehand: `make gpu-bin` builds the Go test binaries into build/gpu,
# which travel with the working tree (device tool: carry ["build/gpu"]).
# Steps: build the shim against the machine's own torch, then run the carried binaries with
# CUDA required (a missing GPU fails instead of passing vacuously), then the GPU benchmarks.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
start=$(date +%s)
py=$(command -v "${HFPIPE_PYTHON:-python3}")
py="$(cd "$(dirname "$py")" && pwd)/$(basename "$py")" # absolute, but keep a venv's symlink
status=0
step() { echo; echo "== $* ($(( $(date +%s) - start ))s)"; }

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "devices", torch.cuda.device_count())'

step "build the shim against this machine's torch"
export LIBTORCH=$("$py" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
# build/gpu holds the carried binaries; the shim goes beside it.
cmake -S . -B build/shim -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$LIBTORCH/share/cmake" --log-level=WARNING >/dev/null && \
  cmake --build build/shim -j"$(nproc)" 2>&1 | tail -1 || { echo "gpu-check: shim build failed"; exit 1; }

export LD_LIBRARY_PATH="$root/build/shim:$LIBTORCH/lib:${LD_LIBRARY_PATH:-}"
export HFPIPE_ROOT="$root" HFPIPE_PYTHON="$py" HFPIPE_REQUIRE_CUDA=1
[ -f build/gpu/vocab.txt ] && export HFPIPE_VOCAB="$root/build/gpu/vocab.txt"

run() { # name binary args...
  local name=$1 bin=$2; shift 2
  if [ ! -x "$bin" ]; then echo "gpu-check: $bin missing: run 'make gpu-bin' here and carry build/gpu"; status=1; return; fi
  step "$name"
  if (cd "$(dirname "$bin")" && "$root/$bin" "$@"); then echo "gpu-check: $name ok"; else echo "gpu-check: $name FAILED"; status=1; fi
}

run "torch CUDA tests" build/gpu/torch.test -test.v -test.count=1 -test.run 'CUDA|Forward'
# Builds a 2-layer model with this machine's transformers, exports it on CUDA (float32, float16),
# then compares Go on CUDA with Python on the same export, and float16 labels with float32.
run "pipeline CUDA tests" build/gpu/pipeline.test -test.v -test.count=1 -test.run 'CUDA' -test.timeout 8m
# Native models on the GPU against this machine's transformers on the GPU (float32, float16, bfloat16).
run "native CUDA tests" build/gpu/hf.test -test.v -test.count=1 -test.run 'NativeCUDA' -test.timeout 8m
for extra in build/gpu/*.gpu.sh; do
  [ -f "$extra" ] && { step "$(basename "$extra")"; bash "$extra" || status=1; }
done

step "summary"
echo "gpu-check: $([ $status = 0 ] && echo PASS || echo FAIL) in $(( $(date +%s) - start ))s"
exit $status
