package torch

// The C API of the shim (csrc/hfpipe_torch.h). Package csrc compiles the C++
// behind it (cgo_libtorch.go); with the build tag hfpipe_shim the package
// links a prebuilt build/libhfpipe_torch.so instead (cgo_shim.go, for the GPU
// check).

/*
#cgo CFLAGS: -I${SRCDIR}/csrc
#include <stdlib.h>
#include "hfpipe_torch.h"
*/
import "C"
