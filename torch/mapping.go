package torch

/*
#include <stdlib.h>
#include "hfpipe_torch.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"
)

// Mapping is a file memory-mapped read-only by libtorch's side of the
// binding. Tensors made from it ([Mapping.Tensor]) use the file's bytes in
// place, without a copy, and keep the mapping alive: closing the Mapping
// only drops this handle, and the pages go when the last tensor does. This
// is how transformers runs a model.safetensors (its tensors sit at the
// file's offsets, which decides how single-row products round), and how
// native models get the same weight memory.
type Mapping struct {
	mu      sync.Mutex
	h       C.hp_mapping
	path    string
	size    int64
	cleanup runtime.Cleanup
}

// MapFile maps the file at path.
func MapFile(path string) (*Mapping, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("torch: map: %w", err)
	}
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	var h C.hp_mapping
	var size C.int64_t
	if err := check("map "+path, C.hp_mapping_open(cp, &h, &size)); err != nil {
		return nil, err
	}
	m := &Mapping{h: h, path: path, size: int64(size)}
	m.cleanup = runtime.AddCleanup(m, func(h C.hp_mapping) { C.hp_mapping_free(h) }, h)
	return m, nil
}

// Size is the file's size in bytes.
func (m *Mapping) Size() int64 { return m.size }

// Path is the mapped file.
func (m *Mapping) Path() string { return m.path }

// Tensor returns a CPU tensor of the given dtype and shape over the nbytes
// bytes at offset in the file. The bytes must lie inside the file and match
// the shape and dtype exactly. The tensor is read-only memory: operations
// that write to their input in place fault on it.
func (m *Mapping) Tensor(offset, nbytes int64, dtype DType, shape ...int64) (*Tensor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return nil, ErrClosed
	}
	var sp *C.int64_t
	if len(shape) > 0 {
		sp = (*C.int64_t)(unsafe.Pointer(&shape[0]))
	}
	var h C.hp_tensor
	op := fmt.Sprintf("tensor at %d+%d of %s", offset, nbytes, m.path)
	if err := check(op, C.hp_mapping_tensor(m.h, C.int64_t(offset), C.int64_t(nbytes), C.int(dtype), sp, C.int(len(shape)), &h)); err != nil {
		return nil, err
	}
	runtime.KeepAlive(shape)
	return newMappedTensor(h)
}

// Close drops the handle; tensors made from the mapping keep it mapped.
// Safe to call more than once.
func (m *Mapping) Close() error {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return nil
	}
	m.cleanup.Stop()
	C.hp_mapping_free(m.h)
	m.h = nil
	return nil
}
