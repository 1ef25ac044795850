// Package torch is hfpipe's cgo binding over libtorch: tensors that move
// between Go slices and libtorch, and TorchScript modules loaded on CPU or
// CUDA and run under inference mode.
//
// The binding goes through a flat C shim (csrc/hfpipe_torch.h), whose C++
// package csrc compiles with cgo against the libtorch that CGO_CXXFLAGS and
// CGO_LDFLAGS name (README, "Use it from your module"). Every shim call
// returns its error in the same call, so a libtorch failure is a Go error and
// never aborts the process.
//
// Ownership: every *Tensor and *Module owns one libtorch object. Call Close as
// soon as you are done; a finaliser frees what is forgotten, and the package
// nudges the garbage collector when the native memory held by unreachable
// objects grows, so code that relies on finalisers stays bounded too.
//
// Process-wide settings are the program's to make; loading a module makes
// none. SetNumThreads sets libtorch's intra-op thread count, and
// SetMemoryReuse(true) makes forward passes faster by keeping freed tensor
// memory for the next pass (malloc's thresholds and a caching CPU
// allocator), at the cost of resident memory.
package torch
