package torch_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/torch"
)

// encTensor is a tensor as third_party/tools/torch_fixtures.py writes it:
// exact little-endian bytes, so comparisons can be bitwise.
type encTensor struct {
	DType string  `json:"dtype"`
	Shape []int64 `json:"shape"`
	Data  string  `json:"data"`
}

type encValue struct {
	Kind   string     `json:"kind"`
	Tensor *encTensor `json:"tensor"`
	Keys   []string   `json:"keys"`
	Items  []encValue `json:"items"`
}

type fixtureSet struct {
	Inputs  []encTensor `json:"inputs"`
	Modules map[string]struct {
		Path   string   `json:"path"`
		Output encValue `json:"output"`
	} `json:"modules"`
}

var fixtureCache sync.Map // device -> *fixtureSet

// fixtures runs the Python fixture builder once per test process and device,
// so every run compares against outputs Python computed in that run.
func fixtures(t *testing.T, device string) *fixtureSet {
	t.Helper()
	if f, ok := fixtureCache.Load(device); ok {
		return f.(*fixtureSet)
	}
	dir := filepath.Join(testenv.GenDir(t), "torch-fixtures-"+device)
	testenv.RunPython(t, "torch_fixtures.py", dir, "--device", device)
	raw, err := os.ReadFile(filepath.Join(dir, "fixtures.json"))
	require.NoError(t, err)
	var f fixtureSet
	require.NoError(t, json.Unmarshal(raw, &f))
	fixtureCache.Store(device, &f)
	return &f
}

func (e encTensor) bytes(t *testing.T) []byte {
	b, err := base64.StdEncoding.DecodeString(e.Data)
	require.NoError(t, err)
	return b
}

// tensorBytes returns the raw little-endian bytes of a tensor of any dtype
// the fixtures use.
func tensorBytes(t *testing.T, x *torch.Tensor) []byte {
	t.Helper()
	switch x.DType() {
	case torch.Float32:
		v, err := torch.ToSlice[float32](x)
		require.NoError(t, err)
		return leBytes(v)
	case torch.Float64:
		v, err := torch.ToSlice[float64](x)
		require.NoError(t, err)
		return leBytes(v)
	case torch.Int64:
		v, err := torch.ToSlice[int64](x)
		require.NoError(t, err)
		return leBytes(v)
	}
	t.Fatalf("unexpected dtype %s", x.DType())
	return nil
}

func inputTensors(t *testing.T, f *fixtureSet) []*torch.Tensor {
	t.Helper()
	var out []*torch.Tensor
	for _, in := range f.Inputs {
		b := in.bytes(t)
		var x *torch.Tensor
		var err error
		switch in.DType {
		case "float32":
			x, err = torch.FromSlice(fromLE[float32](b), in.Shape...)
		case "int64":
			x, err = torch.FromSlice(fromLE[int64](b), in.Shape...)
		default:
			t.Fatalf("fixture input dtype %s", in.DType)
		}
		require.NoError(t, err)
		out = append(out, x)
	}
	return out
}

// tensorModule loads the fixtures' "tensor" module on the CPU (closed when
// the test ends) with its inputs and the output bytes Python computed.
func tensorModule(t *testing.T) (*torch.Module, []*torch.Tensor, []byte) {
	t.Helper()
	f := fixtures(t, "cpu")
	m, err := torch.Load(f.Modules["tensor"].Path, torch.CPU)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m, inputTensors(t, f), f.Modules["tensor"].Output.Tensor.bytes(t)
}
