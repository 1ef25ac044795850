#!/usr/bin/env bash
# make consumer-check: hfpipe as a dependency, the way a new user meets it.
#   1. a read-only copy of this checkout served as github.com/hfpipe/hfpipe by a
#      file proxy (modproxy.py), a fresh module cache, no network, no sum DB;
#   2. a new module outside the checkout running the README section "Use it from
#      your module" verbatim (its main.go and commands blocks, extracted here);
#   3. its output again from the bundle, run from another folder under env -i,
#      byte-equal; the bundle carries no CUDA part of libtorch (libtorch_cuda,
#      cuDNN, cuBLAS, …; the wheel's libtorch_cpu itself needs libcudart and
#      libcupti) and stays under 600 MB;
#   4. the other libtorch source (LIBTORCH_USE_PYTORCH=1) gives the same build;
#   5. without the libtorch flags the build fails saying what to set;
#   6. CGO_ENABLED=0: a tokenizer + hub program builds and runs, a pipeline
#      program fails naming the fix.
# Needs: LIBTORCH (a libtorch 2.10 folder, here the venv's torch), PYTHON (the
# python whose torch that is, for step 4), MODEL (a model folder).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${LIBTORCH:?set LIBTORCH}" "${MODEL:?set MODEL to a model folder}" "${PYTHON:?set PYTHON}"
work=${CONSUMER_DIR:-${TMPDIR:-/tmp}/hfpipe-consumer-$(id -u)}
start=$(date +%s)
step() { echo "== $* ($(( $(date +%s) - start ))s)"; }
fail() { echo "consumer-check: FAIL: $*"; exit 1; }

# The module cache's files are read-only: make them writable to remove them.
if [ -d "$work" ]; then chmod -R u+w "$work"; rm -rf "$work"; fi
mkdir -p "$work/proxy" "$work/course" "$work/elsewhere"

step "module proxy (read-only copy of $root)"
read -r version nfiles head < <(python3 "$root/third_party/consumer/modproxy.py" "$root" "$work/proxy")
chmod -R a-w "$work/proxy"
echo "github.com/hfpipe/hfpipe@$version: $nfiles files (HEAD $head and the working tree)"
# hfpipe's own dependencies come from this machine's module cache, as a proxy.
# `go mod download` fills it first: `go mod tidy` in the new module also wants
# the modules that only hfpipe's tests import (sugarme/tokenizer's), which a
# fresh machine's builds never fetched (CI failed so on a clean machine).
(cd "$root" && go mod download) || fail "go mod download in $root (the Go module proxy must be reachable once)"
deps="$(go env GOMODCACHE)/cache/download"
export GOMODCACHE="$work/modcache" GOPROXY="file://$work/proxy,file://$deps" GOSUMDB=off GOFLAGS= GOTOOLCHAIN=local GOWORK=off
unset CGO_CFLAGS CGO_CPPFLAGS CGO_CXXFLAGS CGO_LDFLAGS LIBTORCH_USE_PYTORCH
export LIBTORCH

extract() { # the fenced block after <!-- consumer-check: $1 --> in README.md
  awk -v m="<!-- consumer-check: $1 -->" '$0 == m {f = 1; next} f == 1 && /^```/ {f = 2; next} f == 2 && /^```$/ {exit} f == 2 {print}' "$root/README.md"
}
extract main.go >"$work/course/main.go"
extract commands >"$work/commands.sh"
[ -s "$work/course/main.go" ] && [ -s "$work/commands.sh" ] || fail "README.md lacks the consumer-check blocks"

step "README commands, verbatim, in $work/course (LIBTORCH=$LIBTORCH)"
(cd "$work/course" && MODEL="$MODEL" bash -euo pipefail -x "$work/commands.sh") || fail "the README commands failed"

step "the program against its bundle, run from another folder with env -i"
dev=$(cd "$work/course" && ./course "$MODEL")
bun=$(cd "$work/elsewhere" && env -i "$work/course/dist/course" "$MODEL")
echo "$dev"
[ "$(grep -c '"label"' <<<"$dev")" = 2 ] || fail "the course program printed no two results"
[ "$dev" = "$bun" ] || { echo "bundle:"; echo "$bun"; fail "the bundle's output differs"; }
runpath=$(readelf -d "$work/course/dist/course" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p; s/.*(RPATH).*\[\(.*\)\]/\1/p')
[ "$runpath" = '$ORIGIN/lib' ] || fail "the bundled program's run path is '$runpath', not \$ORIGIN/lib"
cuda=$(cd "$work/course/dist/lib" && ls | grep -E '^lib(torch_cuda|c10_cuda|cudnn|cublas|cufft|curand|cusolver|cusparse|nccl|nvshmem|nvrtc)' || true)
[ -z "$cuda" ] || fail "the CPU bundle carries CUDA libraries: $cuda"
bytes=$(du -sb "$work/course/dist" | cut -f1)
echo "bundle: $(( bytes / 1000000 )) MB: course + lib/: $(cd "$work/course/dist/lib" && ls | tr '\n' ' ')"
[ "$bytes" -lt 600000000 ] || fail "the CPU bundle is $bytes bytes, over 600 MB"

step "LIBTORCH_USE_PYTORCH=1 ($PYTHON)"
(
  cd "$work/course"
  unset LIBTORCH
  export LIBTORCH_USE_PYTORCH=1 PYTHON_SYS_EXECUTABLE="$PYTHON"
  eval "$(go run github.com/hfpipe/hfpipe/cmd/hfpipe-libtorch env)"
  go build -o course-pytorch .
  [ "$(./course-pytorch "$MODEL")" = "$dev" ] || fail "the LIBTORCH_USE_PYTORCH build prints otherwise"
) || exit 1

step "no libtorch flags: the build stops naming what to set"
if out=$(cd "$work/course" && env -u CGO_CXXFLAGS -u CGO_LDFLAGS go build -o nolibtorch.bin . 2>&1); then fail "built without libtorch flags"; fi
grep -q 'hfpipe: libtorch not found.*LIBTORCH_USE_PYTORCH=1' <<<"$out" || { echo "$out" | head -20; fail "the build without libtorch does not say what to set"; }
echo "$(grep -m1 -o 'hfpipe: libtorch not found.*python3 on PATH)' <<<"$out")"

step "CGO_ENABLED=0"
mkdir -p "$work/course/purego" "$work/course/needcgo"
cat >"$work/course/purego/main.go" <<'GO'
// Tokenizes with hfpipe's pure-Go packages only.
package main

import (
	"fmt"
	"log"
	"os"

	"github.com/hfpipe/hfpipe/hf/hub"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

func main() {
	tok, err := tokenizer.FromFolder(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(hub.RepoFolderName("distilbert-base-uncased"), tok.Encode("I hate this so much!").IDs)
}
GO
cat >"$work/course/needcgo/main.go" <<'GO'
package main

import "github.com/hfpipe/hfpipe/pipeline"

func main() { _ = pipeline.FunctionSoftmax }
GO
(cd "$work/course" && CGO_ENABLED=0 go build -o purego.bin ./purego && ./purego.bin "$MODEL") || fail "CGO_ENABLED=0 build of hf/tokenizer + hf/hub"
if out=$(cd "$work/course" && CGO_ENABLED=0 go build -o needcgo.bin ./needcgo 2>&1); then fail "CGO_ENABLED=0 built a pipeline program"; fi
grep -q 'needs cgo and libtorch: build with CGO_ENABLED=1' <<<"$out" || { echo "$out"; fail "the CGO_ENABLED=0 error does not name the fix"; }
echo "pipeline without cgo: $(grep -m1 -o 'github.com/hfpipe/hfpipe/torch needs cgo.*Use it from your module' <<<"$out")"

chmod -R u+w "$work" && rm -rf "$work"
echo "consumer-check: PASS in $(( $(date +%s) - start ))s (bundle $(( bytes / 1000000 )) MB)"
