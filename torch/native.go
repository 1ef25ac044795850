package torch

/*
#include <stdlib.h>
#include "hfpipe_torch.h"
*/
import "C"

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"unsafe"
)

// NativeArchitectures lists the architectures [LoadNative] can build: the
// C++ model code the shim was compiled with (torch/csrc/native).
func NativeArchitectures() []string {
	var out *C.char
	if err := check("native architectures", C.hp_native_architectures(&out)); err != nil {
		return nil
	}
	defer C.hp_free_error(out)
	s := C.GoString(out)
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// LoadNative builds a module that runs a native architecture (C++ over
// ATen, the same operations as the reference modeling code) from config
// entries and named weights, on device, computing in dtype. Floating-point
// weights are converted to dtype and moved to device where they differ;
// otherwise the module uses them where they lie (a [Mapping]'s tensors stay
// in the file's pages). The module holds its own references: the caller
// may close the weight tensors afterwards.
//
// Options: [WithFastKernels] runs the linear layers with fast mode's
// kernels (CPU, float32 only), which changes the numbers slightly.
//
// The module's Forward takes int64 input_ids and attention_mask (and, for
// architectures that read them, token_type_ids) and returns the head's
// output tensor, or a Tuple of them. A pass whose ctx ends stops before its
// next layer.
func LoadNative(arch string, config map[string]string, weights map[string]*Tensor, device Device, dtype DType, opts ...NativeOption) (*Module, error) {
	if err := CheckDevice(device); err != nil {
		return nil, err
	}
	device = canonicalDevice(device)
	var o nativeOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.fast != FastOff {
		if !slices.Contains(FastKernelSets(), o.fast) {
			return nil, fmt.Errorf("torch: load native %s: fast kernels %q are not one of %v", arch, o.fast, FastKernelSets())
		}
		if device.IsCUDA() || dtype != Float32 {
			return nil, fmt.Errorf("torch: load native %s: fast mode runs on the CPU in float32, not %s on %s (on CUDA or for a smaller dtype, load in exact mode with that dtype)", arch, dtype, device)
		}
		if _, taken := config[fastKey]; taken {
			return nil, fmt.Errorf("torch: load native %s: config key %s is reserved for fast mode", arch, fastKey)
		}
		config = maps.Clone(config)
		config[fastKey] = string(o.fast)
	}
	keys := make([]string, 0, len(config))
	for k := range config {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	names := make([]string, 0, len(weights))
	for n := range weights {
		names = append(names, n)
	}
	slices.Sort(names)

	// C arrays: strings and handles live in C memory for the call.
	cstrs := make([]*C.char, 0, 2*len(keys)+len(names))
	defer func() {
		for _, p := range cstrs {
			C.free(unsafe.Pointer(p))
		}
	}()
	cs := func(s string) *C.char {
		p := C.CString(s)
		cstrs = append(cstrs, p)
		return p
	}
	ptrSize := C.size_t(unsafe.Sizeof(uintptr(0)))
	alloc := func(n int) unsafe.Pointer { return C.malloc(C.size_t(n+1) * ptrSize) }
	ckeys, cvals, cnames, ctens := alloc(len(keys)), alloc(len(keys)), alloc(len(names)), alloc(len(names))
	defer C.free(ckeys)
	defer C.free(cvals)
	defer C.free(cnames)
	defer C.free(ctens)
	ks, vs := unsafe.Slice((**C.char)(ckeys), len(keys)), unsafe.Slice((**C.char)(cvals), len(keys))
	for i, k := range keys {
		ks[i], vs[i] = cs(k), cs(config[k])
	}
	ns, ts := unsafe.Slice((**C.char)(cnames), len(names)), unsafe.Slice((*C.hp_tensor)(ctens), len(names))
	for i, n := range names {
		t := weights[n]
		if t == nil {
			return nil, fmt.Errorf("torch: load native %s: weight %s is nil", arch, n)
		}
		t.mu.RLock()
		defer t.mu.RUnlock()
		if t.h == nil {
			return nil, fmt.Errorf("torch: load native %s: weight %s: %w", arch, n, ErrClosed)
		}
		ns[i], ts[i] = cs(n), t.h
	}
	ca, cd := cs(arch), cs(device.String())
	var h C.hp_module
	err := check("load native "+arch, C.hp_native_load(ca, (**C.char)(ckeys), (**C.char)(cvals), C.int(len(keys)),
		(**C.char)(cnames), (*C.hp_tensor)(ctens), C.int(len(names)), cd, C.int(dtype), &h))
	if err != nil {
		return nil, err
	}
	var nb C.size_t
	if err := check("module nbytes", C.hp_module_nbytes(h, &nb)); err != nil {
		C.hp_module_free(h)
		return nil, err
	}
	m := &Module{h: h, path: "native " + arch, device: device, nbytes: int64(nb) + moduleOverhead, native: true, fast: o.fast}
	nativeAlloc(m.nbytes)
	m.cleanup = runtime.AddCleanup(m, freeModule, moduleRef{h, m.nbytes})
	return m, nil
}

// Native reports whether the module runs a native architecture (LoadNative)
// rather than a TorchScript file.
func (m *Module) Native() bool { return m.native }

// Fast reports the fast-mode kernels the module runs ([FastOff]: exact
// mode, or a TorchScript module).
func (m *Module) Fast() FastKernels { return m.fast }

// FastKernels names a set of fast-mode kernels for a native model's linear
// layers. Fast mode trades exactness for speed on the CPU: its outputs are
// close to exact mode's (the same labels on nearly every input) but not
// bitwise equal to eager transformers. Layers with fewer than 32 outputs
// (classifier heads) stay exact.
type FastKernels string

const (
	// FastOff is exact mode: the same ATen operations as transformers.
	FastOff FastKernels = ""
	// FastBFloat16 multiplies in bfloat16 over oneDNN-packed bfloat16
	// weights (converted once at load), accumulating in float32; inputs are
	// rounded to bfloat16 and outputs returned as float32, and every other
	// operation (embeddings, layer norm, softmax, attention, activations,
	// residual sums) stays float32. Fast on CPUs with AVX512-BF16 or AMX.
	FastBFloat16 FastKernels = "bf16"
	// FastInt8 is int8 dynamic quantisation (fbgemm): weights quantised
	// per output channel at load, activations per tensor at each call.
	FastInt8 FastKernels = "int8"
	// FastFloat32Packed multiplies in float32 over oneDNN-packed weights:
	// full precision, another summation order than at::linear.
	FastFloat32Packed FastKernels = "f32-packed"
	// FastBFloat16FFN is FastBFloat16 for the feed-forward blocks' two
	// layers (two thirds of an encoder layer's multiply-adds) and
	// FastFloat32Packed for every other layer (attention projections,
	// pooler, head transforms): about half FastBFloat16's score error, for
	// 15-25% more time (the default set: hf.WithFast's).
	FastBFloat16FFN FastKernels = "bf16-ffn"
)

// FastKernelSets lists the fast-mode kernel sets, the default
// (FastBFloat16FFN) first.
func FastKernelSets() []FastKernels {
	return []FastKernels{FastBFloat16FFN, FastBFloat16, FastInt8, FastFloat32Packed}
}

// NativeOption configures [LoadNative].
type NativeOption func(*nativeOptions)

type nativeOptions struct{ fast FastKernels }

// WithFastKernels makes [LoadNative] run the linear layers with the given
// fast-mode kernels ([FastOff]: exact mode, the default).
func WithFastKernels(k FastKernels) NativeOption { return func(o *nativeOptions) { o.fast = k } }

// fastKey carries the kernel set to the shim in the config entries.
const fastKey = "_fast"
