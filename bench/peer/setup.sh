#!/usr/bin/env bash
# Builds hfbench's peer contender, hugot with its ONNX Runtime backend, into
# bench/tmp/peer (ignored by git; `make bench-peer`, which `make bench` runs):
#
#   lib/libtokenizers.a     daulet/tokenizers (hugot's Rust tokenizer), cargo build
#                           from crates.io, at the version hugot's go.mod requires
#   lib/libonnxruntime.so   ONNX Runtime from the PyPI wheel `onnxruntime`
#   hugotcell               bench/peer/hugot built with -tags ORT
#
# Each step is skipped when its output is there and its inputs are unchanged
# (a stamp file beside it). The ONNX export of the model is hfbench's job
# (bench.EnsureONNX), after it has built the model.
#
# Environment: GO, PY (the venv's python), CARGO (default: cargo on PATH).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
GO=${GO:-go}
PY=${PY:-$root/.venv/bin/python}
CARGO=${CARGO:-cargo}
peer=$root/bench/tmp/peer
mod=$root/bench/peer/hugot
# ONNX Runtime 1.23.2: the C API version onnxruntime_go v1.25.0 (hugot
# v0.6.1's) is written against.
ORT_VERSION=1.23.2

mkdir -p "$peer/lib"
log() { echo "bench-peer: $*" >&2; }
stamp_ok() { [ -f "$1" ] && [ -f "$1.stamp" ] && [ "$(cat "$1.stamp")" = "$2" ]; }

for tool in "$CARGO" "$GO"; do
  command -v "$tool" >/dev/null || { log "$tool not found: the peer's set-up needs Go and Rust's cargo (rustup or the distribution's cargo)"; exit 1; }
done
[ -x "$PY" ] || { log "$PY not found: run make venv first"; exit 1; }

# 1. libtokenizers.a. Its Cargo.toml takes tiktoken-rs from a git branch,
# which cannot be fetched where only the package registries are reachable;
# crates.io's tiktoken-rs 0.9 builds in its place (hugot loads
# tokenizer.json through the tokenizers crate and never calls the
# library's tiktoken constructor).
tok_version=$(cd "$mod" && "$GO" list -m -f '{{.Version}}' github.com/daulet/tokenizers)
tok_src=$(cd "$mod" && "$GO" mod download -json "github.com/daulet/tokenizers@$tok_version" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
tok_key="daulet/tokenizers $tok_version tiktoken-rs=0.9 $("$CARGO" --version)"
if ! stamp_ok "$peer/lib/libtokenizers.a" "$tok_key"; then
  log "building libtokenizers.a ($tok_version) with cargo (several minutes on 2 cores)"
  rm -rf "$peer/src/tokenizers"
  mkdir -p "$peer/src"
  cp -r "$tok_src" "$peer/src/tokenizers"
  chmod -R u+w "$peer/src/tokenizers"
  sed -i 's|^tiktoken-rs = .*|tiktoken-rs = "0.9"|' "$peer/src/tokenizers/Cargo.toml"
  grep -q '^tiktoken-rs = "0.9"$' "$peer/src/tokenizers/Cargo.toml" || { log "could not patch tiktoken-rs in $peer/src/tokenizers/Cargo.toml"; exit 1; }
  (cd "$peer/src/tokenizers" && CARGO_TARGET_DIR="$peer/cargo-target" "$CARGO" build --release --lib --quiet)
  cp "$peer/cargo-target/release/libtokenizers.a" "$peer/lib/libtokenizers.a"
  echo "$tok_key" >"$peer/lib/libtokenizers.a.stamp"
  # The copied source holds Go files and a go.mod: gone, so that gofmt and
  # go vet over the checkout (make vet) never see them.
  rm -rf "$peer/src"
fi

# 2. ONNX Runtime's shared library, from the wheel (no Python install).
if ! stamp_ok "$peer/lib/libonnxruntime.so" "onnxruntime $ORT_VERSION"; then
  log "fetching onnxruntime==$ORT_VERSION (PyPI wheel) for its libonnxruntime.so"
  rm -rf "$peer/wheels"
  "$PY" -m pip download --disable-pip-version-check -q --no-deps "onnxruntime==$ORT_VERSION" -d "$peer/wheels"
  "$PY" - "$peer/wheels" "$peer/lib" "$ORT_VERSION" <<'PYEOF'
import glob, os, sys, zipfile
wheels, lib, version = sys.argv[1:]
(whl,) = glob.glob(os.path.join(wheels, f"onnxruntime-{version}-*.whl"))
name = f"onnxruntime/capi/libonnxruntime.so.{version}"
with zipfile.ZipFile(whl) as z, z.open(name) as src, open(os.path.join(lib, "libonnxruntime.so.tmp"), "wb") as dst:
    dst.write(src.read())
os.replace(os.path.join(lib, "libonnxruntime.so.tmp"), os.path.join(lib, "libonnxruntime.so"))
PYEOF
  echo "onnxruntime $ORT_VERSION" >"$peer/lib/libonnxruntime.so.stamp"
  rm -rf "$peer/wheels"
fi

# 3. The contender's command (Go's build cache makes a rebuild quick).
log "building hugotcell (go build -tags ORT)"
(cd "$mod" && CGO_LDFLAGS="-L$peer/lib" "$GO" build -tags ORT -o "$peer/hugotcell.tmp" . && mv "$peer/hugotcell.tmp" "$peer/hugotcell")
echo "onnxruntime $ORT_VERSION" >"$peer/ort-version"
log "ready: $peer/hugotcell, $peer/lib/libonnxruntime.so"
