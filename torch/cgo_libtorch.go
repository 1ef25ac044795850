//go:build cgo && !hfpipe_shim

package torch

// The shim's object code: package csrc compiles the C++ with cgo (the
// default; see its documentation for where libtorch comes from).
import _ "github.com/hfpipe/hfpipe/torch/csrc"
