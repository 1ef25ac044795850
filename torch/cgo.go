package torch

// The shim is built by `make shim` (cmake) into ../build. The rpath lets Go
// binaries find it without LD_LIBRARY_PATH; the shim carries its own rpath to
// libtorch. Builds that keep the shim elsewhere set CGO_LDFLAGS.

/*
#cgo CFLAGS: -I${SRCDIR}/csrc
#cgo LDFLAGS: -L${SRCDIR}/../build -lhfpipe_torch -Wl,-rpath,${SRCDIR}/../build
#include <stdlib.h>
#include "hfpipe_torch.h"
*/
import "C"
