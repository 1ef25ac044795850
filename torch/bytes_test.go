package torch_test

import (
	"unsafe"

	"github.com/hfpipe/hfpipe/torch"
)

// leBytes views a slice's memory as bytes (the test machines are little-endian,
// as is every platform libtorch wheels exist for).
func leBytes[T torch.Element](v []T) []byte {
	if len(v) == 0 {
		return []byte{}
	}
	var z T
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*int(unsafe.Sizeof(z)))...)
}

func fromLE[T torch.Element](b []byte) []T {
	var z T
	n := len(b) / int(unsafe.Sizeof(z))
	out := make([]T, n)
	if n > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), len(b)), b)
	}
	return out
}
