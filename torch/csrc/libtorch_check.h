// Included first by every csrc_*.cpp wrapper: stops the build with a message
// that says what to set when libtorch's headers are missing or of another
// version than the one hfpipe is written and tested against.
#ifndef HFPIPE_LIBTORCH_CHECK_H
#define HFPIPE_LIBTORCH_CHECK_H

#if __has_include(<torch/headeronly/version.h>)
#include <torch/headeronly/version.h>
#elif __has_include(<torch/version.h>)
#include <torch/version.h>
#else
#error "hfpipe: libtorch not found (no torch/version.h on the include path). Set LIBTORCH=/path/to/libtorch (an unpacked libtorch 2.10.x, or a torch 2.10.x wheel's torch/ folder) or LIBTORCH_USE_PYTORCH=1 (the torch of python3 on PATH), then run: eval \"$(go run github.com/hfpipe/hfpipe/cmd/hfpipe-libtorch env)\" -- see the README section 'Use it from your module'."
#endif

// Keep in step with cmd/hfpipe-libtorch (wantMajor, wantMinor).
#if TORCH_VERSION_MAJOR != 2 || TORCH_VERSION_MINOR != 10
#error "hfpipe: needs libtorch 2.10.x but the torch headers on CGO_CXXFLAGS are another version. Point LIBTORCH at libtorch 2.10.x (or LIBTORCH_USE_PYTORCH=1 with torch==2.10.*), then run: eval \"$(go run github.com/hfpipe/hfpipe/cmd/hfpipe-libtorch env)\"."
#endif

#endif
