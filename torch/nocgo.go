//go:build !cgo

package torch

// Without cgo there is no libtorch. Instead of a list of undefined names the
// build stops here, saying what to do.
var _ int = "github.com/hfpipe/hfpipe/torch needs cgo and libtorch: build with CGO_ENABLED=1 and a C++ compiler, libtorch set up as the README section \"Use it from your module\" says (pure-Go packages: hf/tokenizer, hf/hub)"
