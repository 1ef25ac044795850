package weights

// DType is a safetensors element type name, as written in a safetensors
// header's "dtype" field: "F32", "BF16", "I64", "F8_E4M3", ... The set is the
// Dtype enum of the Rust safetensors crate (the reference reader); tensors
// read from pytorch_model.bin files are given the same names.
type DType string

// The dtypes the safetensors format defines. F4, F6_E2M3 and F6_E3M2 are
// sub-byte types (4 and 6 bits an element): a tensor of them must hold a
// whole number of bytes.
const (
	BOOL       DType = "BOOL"
	F4         DType = "F4"
	F6E2M3     DType = "F6_E2M3"
	F6E3M2     DType = "F6_E3M2"
	U8         DType = "U8"
	I8         DType = "I8"
	F8E5M2     DType = "F8_E5M2"
	F8E4M3     DType = "F8_E4M3"
	F8E8M0     DType = "F8_E8M0"
	F8E4M3FNUZ DType = "F8_E4M3FNUZ"
	F8E5M2FNUZ DType = "F8_E5M2FNUZ"
	I16        DType = "I16"
	U16        DType = "U16"
	F16        DType = "F16"
	BF16       DType = "BF16"
	I32        DType = "I32"
	U32        DType = "U32"
	F32        DType = "F32"
	C64        DType = "C64"
	F64        DType = "F64"
	I64        DType = "I64"
	U64        DType = "U64"
)

var dtypeBits = map[DType]int{
	BOOL: 8, F4: 4, F6E2M3: 6, F6E3M2: 6, U8: 8, I8: 8,
	F8E5M2: 8, F8E4M3: 8, F8E8M0: 8, F8E4M3FNUZ: 8, F8E5M2FNUZ: 8,
	I16: 16, U16: 16, F16: 16, BF16: 16,
	I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
}

// Bits returns the size of one element in bits (4 for F4, 16 for BF16, ...),
// or 0 when d is not a dtype the safetensors format defines.
func (d DType) Bits() int { return dtypeBits[d] }

// Known reports whether d is a dtype the safetensors format defines.
func (d DType) Known() bool { return dtypeBits[d] != 0 }

// storageDTypes maps the typed storage classes torch.save names in a
// persistent id (torch.FloatStorage, ...) to the element type of the
// storage. Storage classes for dtypes safetensors has no name for
// (ComplexDouble, the quantized ones) are left out and refused.
var storageDTypes = map[string]DType{
	"DoubleStorage":       F64,
	"FloatStorage":        F32,
	"HalfStorage":         F16,
	"BFloat16Storage":     BF16,
	"LongStorage":         I64,
	"IntStorage":          I32,
	"ShortStorage":        I16,
	"CharStorage":         I8,
	"ByteStorage":         U8,
	"BoolStorage":         BOOL,
	"ComplexFloatStorage": C64,
}

// torchDTypes maps the torch dtype globals a pickle may name (torch.float32,
// ...; _rebuild_tensor_v3 passes one for the dtypes that have no typed
// storage class) to safetensors names. torch dtypes that are missing
// (float4_e2m1fn_x2, complex32, complex128, the bits and quantized types)
// are refused.
var torchDTypes = map[string]DType{
	"float64": F64, "double": F64,
	"float32": F32, "float": F32,
	"float16": F16, "half": F16,
	"bfloat16":        BF16,
	"int64":           I64,
	"long":            I64,
	"int32":           I32,
	"int":             I32,
	"int16":           I16,
	"short":           I16,
	"int8":            I8,
	"uint8":           U8,
	"bool":            BOOL,
	"uint16":          U16,
	"uint32":          U32,
	"uint64":          U64,
	"complex64":       C64,
	"cfloat":          C64,
	"float8_e4m3fn":   F8E4M3,
	"float8_e5m2":     F8E5M2,
	"float8_e4m3fnuz": F8E4M3FNUZ,
	"float8_e5m2fnuz": F8E5M2FNUZ,
	"float8_e8m0fnu":  F8E8M0,
}
