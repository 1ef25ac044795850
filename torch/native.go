package torch

/*
#include <stdlib.h>
#include "hfpipe_torch.h"
*/
import "C"

import (
	"fmt"
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
// The module's Forward takes int64 input_ids and attention_mask (and, for
// architectures that read them, token_type_ids) and returns the head's
// output tensor, or a Tuple of them. A pass whose ctx ends stops before its
// next layer.
func LoadNative(arch string, config map[string]string, weights map[string]*Tensor, device Device, dtype DType) (*Module, error) {
	if err := CheckDevice(device); err != nil {
		return nil, err
	}
	device = canonicalDevice(device)
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
	m := &Module{h: h, path: "native " + arch, device: device, nbytes: int64(nb) + moduleOverhead, native: true}
	nativeAlloc(m.nbytes)
	m.cleanup = runtime.AddCleanup(m, freeModule, moduleRef{h, m.nbytes})
	return m, nil
}

// Native reports whether the module runs a native architecture (LoadNative)
// rather than a TorchScript file.
func (m *Module) Native() bool { return m.native }
