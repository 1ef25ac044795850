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
	"sync"
	"unsafe"
)

// Tensor is a libtorch tensor owned by Go. Shape, dtype and device are read
// once when the Tensor is made, so they cost no cgo call. A Tensor is safe
// for concurrent reads; Close waits for them.
type Tensor struct {
	mu      sync.RWMutex
	h       C.hp_tensor
	shape   []int64
	dtype   DType
	device  Device
	nbytes  int64
	counted int64 // of nbytes, what nativeAlloc counted (0 for mapped memory)
	cleanup runtime.Cleanup
}

// newTensor takes ownership of h, a tensor holding memory of its own.
func newTensor(h C.hp_tensor) (*Tensor, error) { return wrapTensor(h, true) }

// newMappedTensor takes ownership of h, a tensor over a file mapping: its
// pages belong to the file, so they do not count as libtorch memory that
// unreachable tensors hold (which decides when the binding forces a GC).
func newMappedTensor(h C.hp_tensor) (*Tensor, error) { return wrapTensor(h, false) }

func wrapTensor(h C.hp_tensor, owns bool) (*Tensor, error) {
	var ndim C.int
	if err := check("tensor ndim", C.hp_tensor_ndim(h, &ndim)); err != nil {
		C.hp_tensor_free(h)
		return nil, err
	}
	t := &Tensor{h: h, shape: make([]int64, int(ndim))}
	var dt, dtyp, didx C.int
	var nb C.size_t
	var err error
	if ndim > 0 {
		err = check("tensor shape", C.hp_tensor_shape(h, (*C.int64_t)(unsafe.Pointer(&t.shape[0]))))
	}
	if err == nil {
		err = check("tensor dtype", C.hp_tensor_dtype(h, &dt))
	}
	if err == nil {
		err = check("tensor device", C.hp_tensor_device(h, &dtyp, &didx))
	}
	if err == nil {
		err = check("tensor nbytes", C.hp_tensor_nbytes(h, &nb))
	}
	if err != nil {
		C.hp_tensor_free(h)
		return nil, err
	}
	t.dtype, t.device, t.nbytes = DType(dt), deviceFromC(dtyp, didx), int64(nb)
	if owns {
		t.counted = t.nbytes
	}
	nativeAlloc(t.counted)
	t.cleanup = runtime.AddCleanup(t, freeTensor, tensorRef{h, t.counted})
	return t, nil
}

type tensorRef struct {
	h      C.hp_tensor
	nbytes int64
}

func freeTensor(r tensorRef) {
	C.hp_tensor_free(r.h)
	nativeFree(r.nbytes)
}

// FromSlice makes a CPU tensor holding a copy of data with the given shape
// (a 1-D tensor of len(data) when no shape is given). The product of the
// dimensions must equal len(data); zero-sized dimensions are allowed.
func FromSlice[T Element](data []T, shape ...int64) (*Tensor, error) {
	if len(shape) == 0 {
		shape = []int64{int64(len(data))}
	}
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("torch: from slice: negative dimension in shape %v", shape)
		}
		n *= d
	}
	if n != int64(len(data)) {
		return nil, fmt.Errorf("torch: from slice: shape %v holds %d elements but the slice has %d", shape, n, len(data))
	}
	dt := DTypeOf[T]()
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	var sp *C.int64_t
	if len(shape) > 0 {
		sp = (*C.int64_t)(unsafe.Pointer(&shape[0]))
	}
	var h C.hp_tensor
	nbytes := C.size_t(len(data) * dt.Size())
	if err := check("from slice", C.hp_tensor_from_data(p, nbytes, C.int(dt), sp, C.int(len(shape)), &h)); err != nil {
		return nil, err
	}
	return newTensor(h)
}

// ToSlice copies the elements of t, in row-major order, into a new slice.
// T must match the tensor's dtype; convert with ToDType first otherwise.
// A CUDA tensor is copied to the host.
func ToSlice[T Element](t *Tensor) ([]T, error) {
	out := make([]T, int(t.Numel()))
	if err := CopyTo(t, out); err != nil {
		return nil, err
	}
	return out, nil
}

// CopyTo copies the elements of t, in row-major order, into dst, which must
// have exactly Numel elements; it lets callers reuse buffers.
func CopyTo[T Element](t *Tensor, dst []T) error {
	if want := DTypeOf[T](); t.dtype != want {
		return fmt.Errorf("torch: copy out: tensor is %s, not %s: convert it with ToDType(%s) first", t.dtype, want, want)
	}
	if int64(len(dst)) != t.Numel() {
		return fmt.Errorf("torch: copy out: tensor of shape %v has %d elements, destination has %d", t.shape, t.Numel(), len(dst))
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.h == nil {
		return ErrClosed
	}
	var p unsafe.Pointer
	if len(dst) > 0 {
		p = unsafe.Pointer(&dst[0])
	}
	return check("copy out", C.hp_tensor_copy_to(t.h, p, C.size_t(len(dst)*t.dtype.Size())))
}

// Shape returns the size of each dimension (a copy).
func (t *Tensor) Shape() []int64 { return slices.Clone(t.shape) }

// Dim returns the number of dimensions.
func (t *Tensor) Dim() int { return len(t.shape) }

// Numel returns the number of elements.
func (t *Tensor) Numel() int64 {
	n := int64(1)
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// DType returns the element type.
func (t *Tensor) DType() DType { return t.dtype }

// Device returns the device the tensor lives on.
func (t *Tensor) Device() Device { return t.device }

// String describes the tensor, e.g. "Tensor[2 16](int64, cpu)".
func (t *Tensor) String() string {
	return fmt.Sprintf("Tensor%v(%s, %s)", t.shape, t.dtype, t.device)
}

// To returns a copy of t on device d (t itself is left alone). Asking for a
// CUDA device where none exists returns an error wrapping ErrNoCUDA.
func (t *Tensor) To(d Device) (*Tensor, error) { return t.convert("to device", d, -1) }

// ToDType returns a copy of t converted to dtype dt.
func (t *Tensor) ToDType(dt DType) (*Tensor, error) { return t.convert("to dtype", t.device, int(dt)) }

func (t *Tensor) convert(op string, d Device, dt int) (*Tensor, error) {
	if err := CheckDevice(d); err != nil {
		return nil, err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.h == nil {
		return nil, ErrClosed
	}
	cs := C.CString(d.String())
	defer C.free(unsafe.Pointer(cs))
	var h C.hp_tensor
	if err := check(op, C.hp_tensor_to(t.h, cs, C.int(dt), &h)); err != nil {
		return nil, err
	}
	return newTensor(h)
}

// Contiguous returns a tensor with the same values laid out row-major.
func (t *Tensor) Contiguous() (*Tensor, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.h == nil {
		return nil, ErrClosed
	}
	var h C.hp_tensor
	if err := check("contiguous", C.hp_tensor_contiguous(t.h, &h)); err != nil {
		return nil, err
	}
	return newTensor(h)
}

// Close frees the libtorch tensor. It is safe to call more than once and on
// a nil Tensor.
func (t *Tensor) Close() error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.h == nil {
		return nil
	}
	t.cleanup.Stop()
	freeTensor(tensorRef{t.h, t.counted})
	t.h = nil
	return nil
}
