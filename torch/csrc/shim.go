// Package csrc compiles hfpipe's C++ shim over libtorch (hfpipe_torch.h, the
// C API that package torch calls). It has no Go API: package torch imports
// it for its object code, so that editing Go code never recompiles the C++
// and the Go build cache keeps the compiled shim.
//
// cgo compiles the .cpp files of this folder: hfpipe_torch.cpp, cpu_cache.cpp,
// cuda_load.cpp and one native_*.cpp wrapper per native/*.cpp. libtorch's
// flags come from the environment (CGO_CXXFLAGS, CGO_LDFLAGS), as
// `go run github.com/hfpipe/hfpipe/cmd/hfpipe-libtorch env` prints them; they
// come first on the command line, so they win over the build/libtorch
// fallback below, which only a checkout has (`make libtorch` links it to
// $LIBTORCH or the venv's torch). libtorch_check.h stops a build without
// libtorch 2.10 headers with a message saying what to set.
//
// Only libtorch_cpu and c10 are linked: a CPU program needs no CUDA library.
// cuda_load.cpp loads libtorch_cuda at start when it lies beside
// libtorch_cpu.
package csrc

/*
#cgo CXXFLAGS: -std=c++17 -O3 -g0 -DNDEBUG -Wall -Wextra -Wno-unused-parameter
#cgo CXXFLAGS: -include ${SRCDIR}/libtorch_check.h
#cgo CXXFLAGS: -I${SRCDIR}/../../build/libtorch/include -I${SRCDIR}/../../build/libtorch/include/torch/csrc/api/include
#cgo LDFLAGS: -L${SRCDIR}/../../build/libtorch/lib -Wl,-rpath,${SRCDIR}/../../build/libtorch/lib
#cgo LDFLAGS: -ltorch_cpu -lc10 -ldl
*/
import "C"

import "embed"

// nativeSources makes the Go build cache see native/: cmd/go hashes only the
// files of a package's own folder, and the native_*.cpp wrappers merely
// #include native/*.cpp, so without this an edit there would reuse stale
// objects.
//
//go:embed native
var nativeSources embed.FS
