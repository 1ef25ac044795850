#!/usr/bin/env bash
# Prints the libtorch root that the shim builds against, in this order:
#   1. $LIBTORCH (a libtorch you bring: the folder holding lib/, include/, share/cmake/Torch)
#   2. the torch wheel in the project venv (.venv, made by `make venv`)
# and fails with instructions when neither exists.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${LIBTORCH:-}" ]; then
  if [ ! -f "$LIBTORCH/share/cmake/Torch/TorchConfig.cmake" ]; then
    echo "libtorch: LIBTORCH=$LIBTORCH has no share/cmake/Torch/TorchConfig.cmake; point it at an unpacked libtorch (or a torch wheel's torch/ folder), or unset it to use the venv's" >&2
    exit 1
  fi
  echo "$LIBTORCH"
  exit 0
fi
py="$root/.venv/bin/python"
if [ -x "$py" ]; then
  dir=$("$py" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null || true)
  if [ -n "$dir" ] && [ -f "$dir/share/cmake/Torch/TorchConfig.cmake" ]; then
    echo "$dir"
    exit 0
  fi
fi
echo "libtorch: not found. Run 'make venv' (installs the pinned torch wheel from third_party/requirements.txt into .venv), or set LIBTORCH to a libtorch folder with lib/, include/ and share/cmake/Torch." >&2
exit 1
