package torch

/*
#include <stdlib.h>
#include "hfpipe_torch.h"
*/
import "C"

import (
	"fmt"
	"sort"
	"unsafe"
)

// AlignParameters places the module's CPU parameters and buffers where
// another process had the same weights: each tensor named in offsets is
// copied into fresh memory so that its data starts at that byte offset
// modulo modulus (a power of two up to 4096), unless it already does. It
// returns how many tensors moved.
//
// Why: libtorch's kernels round single-row matrix products differently on
// differently aligned memory. transformers runs the tensors of a
// memory-mapped model.safetensors in place, at the file's offsets (often
// only 8-byte aligned), while torch.jit.load puts them on fresh, 64-byte
// aligned memory; with the eager model's placement (recorded by the export
// tool), a TorchScript export runs the very kernels eager transformers runs.
//
// Names are those of the module's named_parameters/named_buffers
// ("model.distilbert.embeddings.word_embeddings.weight"). An unknown name or
// an offset that is not a multiple of the tensor's element size is an error
// and moves nothing. Tensors on a CUDA device are left alone. Call it before
// the first Forward; it waits for running passes.
func (m *Module) AlignParameters(offsets map[string]int, modulus int) (int, error) {
	if len(offsets) == 0 {
		return 0, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return 0, ErrClosed
	}
	names := make([]string, 0, len(offsets))
	for n := range offsets {
		names = append(names, n)
	}
	sort.Strings(names) // deterministic order, so allocations repeat from run to run
	cnames := C.malloc(C.size_t(len(names)) * C.size_t(unsafe.Sizeof((*C.char)(nil))))
	defer C.free(cnames)
	coffs := C.malloc(C.size_t(len(names)) * C.size_t(unsafe.Sizeof(C.int(0))))
	defer C.free(coffs)
	ns := unsafe.Slice((**C.char)(cnames), len(names))
	offs := unsafe.Slice((*C.int)(coffs), len(names))
	for i, n := range names {
		ns[i] = C.CString(n)
		offs[i] = C.int(offsets[n])
	}
	defer func() {
		for _, p := range ns {
			C.free(unsafe.Pointer(p))
		}
	}()
	var moved C.int
	if err := check("align parameters of "+m.path, C.hp_module_align_parameters(m.h, (**C.char)(cnames), (*C.int)(coffs), C.int(len(names)), C.int(modulus), &moved)); err != nil {
		return 0, fmt.Errorf("%w: the weight placement does not fit this module; re-export the model", err)
	}
	return int(moved), nil
}
