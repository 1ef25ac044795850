package torch

import "fmt"

// DType is a tensor element type. The values are c10::ScalarType codes.
type DType int

// Element types supported by the binding.
const (
	Uint8    DType = 0
	Int8     DType = 1
	Int16    DType = 2
	Int32    DType = 3
	Int64    DType = 4
	Float16  DType = 5
	Float32  DType = 6
	Float64  DType = 7
	Bool     DType = 11
	BFloat16 DType = 15

	// Types checkpoints may store (safetensors names every one of them);
	// hfpipe's models compute in none of them.
	Complex64    DType = 9
	Float8E5M2   DType = 23
	Float8E4M3FN DType = 24
	Uint16       DType = 27
	Uint32       DType = 28
	Uint64       DType = 29
	Float8E8M0   DType = 44
)

var dtypeInfo = map[DType]struct {
	name string
	size int
}{
	Uint8: {"uint8", 1}, Int8: {"int8", 1}, Int16: {"int16", 2}, Int32: {"int32", 4},
	Int64: {"int64", 8}, Float16: {"float16", 2}, Float32: {"float32", 4},
	Float64: {"float64", 8}, Bool: {"bool", 1}, BFloat16: {"bfloat16", 2},
	Complex64: {"complex64", 8}, Float8E5M2: {"float8_e5m2", 1}, Float8E4M3FN: {"float8_e4m3fn", 1},
	Uint16: {"uint16", 2}, Uint32: {"uint32", 4}, Uint64: {"uint64", 8}, Float8E8M0: {"float8_e8m0fnu", 1},
}

// IsFloatingPoint reports whether d is a real floating-point type (the
// types a model's weights are cast between).
func (d DType) IsFloatingPoint() bool {
	switch d {
	case Float16, Float32, Float64, BFloat16, Float8E5M2, Float8E4M3FN, Float8E8M0:
		return true
	}
	return false
}

// String returns the PyTorch name of the type, e.g. "float32".
func (d DType) String() string {
	if i, ok := dtypeInfo[d]; ok {
		return i.name
	}
	return fmt.Sprintf("dtype(%d)", int(d))
}

// Size returns the size of one element in bytes, or 0 for an unknown type.
func (d DType) Size() int { return dtypeInfo[d].size }

// ParseDType parses a PyTorch dtype name such as "float32", "float16",
// "fp16", "half", "bfloat16" or "int64".
func ParseDType(s string) (DType, error) {
	switch s {
	case "float32", "fp32", "float", "torch.float32":
		return Float32, nil
	case "float16", "fp16", "half", "torch.float16":
		return Float16, nil
	case "bfloat16", "bf16", "torch.bfloat16":
		return BFloat16, nil
	case "float64", "double", "torch.float64":
		return Float64, nil
	}
	for d, i := range dtypeInfo {
		if i.name == s {
			return d, nil
		}
	}
	return 0, fmt.Errorf("torch: unknown dtype %q (want float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8 or bool)", s)
}

// Element is a Go type that maps one to one onto a tensor element type.
type Element interface {
	float32 | float64 | int64 | int32 | int16 | int8 | uint8 | bool
}

// DTypeOf returns the tensor element type of the Go type T.
func DTypeOf[T Element]() DType {
	var z T
	switch any(z).(type) {
	case float32:
		return Float32
	case float64:
		return Float64
	case int64:
		return Int64
	case int32:
		return Int32
	case int16:
		return Int16
	case int8:
		return Int8
	case uint8:
		return Uint8
	case bool:
		return Bool
	}
	panic("unreachable: Element covers exactly the cases above")
}
