//go:build hfpipe_shim

package torch

// The prebuilt shim: `make shim` (CMakeLists.txt) builds
// build/libhfpipe_torch.so, which carries its own rpath to libtorch. Used by
// `make gpu-bin`, whose test binaries meet the GPU machine's own shim.

/*
#cgo LDFLAGS: -L${SRCDIR}/../build -lhfpipe_torch -Wl,-rpath,${SRCDIR}/../build
*/
import "C"
