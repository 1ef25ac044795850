package weights

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/hfpipe/hfpipe/internal/testenv"
)

// The tests in this file compare what this package reports about real
// checkpoints, written by PyTorch, safetensors and transformers in
// testdata/reference.py, with what Python reports about them. They are
// skipped where there is no Python (see testenv.PythonPath).

type refTensor struct {
	DType string  `json:"dtype"`
	Shape []int64 `json:"shape"`
	Hex   string  `json:"hex"`
}

type refCase struct {
	Dir      string               `json:"dir"`
	Shards   []string             `json:"shards"`
	Tensors  map[string]refTensor `json:"tensors"`
	Tied     [][]string           `json:"tied"`
	Metadata map[string]string    `json:"metadata"`
}

var (
	refOnce     sync.Once
	refDir      string
	refManifest map[string]refCase
	refErr      error
)

// reference runs testdata/reference.py once per test binary, into a
// temporary folder TestMain removes.
func reference(t *testing.T) map[string]refCase {
	t.Helper()
	py, err := testenv.PythonPath()
	if err == nil {
		_, err = exec.LookPath(py) // $HFPIPE_PYTHON may name a missing file
	}
	if err != nil {
		t.Skipf("no Python to write reference checkpoints: %v", err)
	}
	refOnce.Do(func() {
		refDir, refErr = os.MkdirTemp("", "hfpipe-weights-")
		if refErr != nil {
			return
		}
		cmd := exec.Command(py, filepath.Join("testdata", "reference.py"), refDir)
		cmd.Env = append(os.Environ(), "HF_HUB_OFFLINE=1", "TRANSFORMERS_VERBOSITY=error")
		out, err := cmd.CombinedOutput()
		if err != nil {
			refErr = fmt.Errorf("testdata/reference.py: %v\n%s", err, out)
			return
		}
		b, err := os.ReadFile(filepath.Join(refDir, "manifest.json"))
		if err == nil {
			err = json.Unmarshal(b, &refManifest)
		}
		refErr = err
	})
	if refErr != nil {
		t.Fatal(refErr)
	}
	return refManifest
}

func TestMain(m *testing.M) {
	code := m.Run()
	if refDir != "" {
		os.RemoveAll(refDir)
	}
	os.Exit(code)
}

// compare checks the checkpoint's tensors against Python's: the same names,
// dtypes and shapes, and the bytes at (File, Offset, Size) are the tensor's.
func compare(t *testing.T, c *Checkpoint, ref refCase) {
	t.Helper()
	if len(c.Tensors) != len(ref.Tensors) {
		var names []string
		for _, tt := range c.Tensors {
			names = append(names, tt.Name)
		}
		t.Errorf("%d tensors, Python has %d: %v", len(c.Tensors), len(ref.Tensors), names)
	}
	files := map[string][]byte{}
	for name, want := range ref.Tensors {
		got, ok := c.Lookup(name)
		if !ok {
			t.Errorf("tensor %s missing", name)
			continue
		}
		if string(got.DType) != want.DType || !reflect.DeepEqual(got.Shape, want.Shape) {
			t.Errorf("%s: %s %v, Python says %s %v", name, got.DType, got.Shape, want.DType, want.Shape)
		}
		data, ok := files[got.File]
		if !ok {
			var err error
			if data, err = os.ReadFile(got.File); err != nil {
				t.Fatal(err)
			}
			files[got.File] = data
		}
		wantBytes, _ := hex.DecodeString(want.Hex)
		if got.Offset < 0 || got.Size < 0 || got.Offset+got.Size > int64(len(data)) {
			t.Errorf("%s: range [%d, +%d) outside %s (%d bytes)", name, got.Offset, got.Size, got.File, len(data))
			continue
		}
		if b := data[got.Offset : got.Offset+got.Size]; !bytes.Equal(b, wantBytes) {
			t.Errorf("%s: the %d bytes at %d differ from Python's %d", name, len(b), got.Offset, len(wantBytes))
		}
	}
	for _, group := range ref.Tied {
		first, _ := c.Lookup(group[0])
		for _, name := range group[1:] {
			if tt, _ := c.Lookup(name); tt.File != first.File || tt.Offset != first.Offset || tt.Size != first.Size {
				t.Errorf("tied tensors %s and %s are at different places: %+v %+v", group[0], name, first, tt)
			}
		}
	}
}

func TestPythonSafetensorsEveryDType(t *testing.T) {
	ref := reference(t)["dtypes"]
	c, err := Open(ref.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Format != "safetensors" || c.Index != "" || len(c.Files) != 1 || !reflect.DeepEqual(c.Metadata, ref.Metadata) {
		t.Errorf("checkpoint %+v", c)
	}
	compare(t, c, ref)
	seen := map[DType]bool{}
	for _, tt := range c.Tensors {
		seen[tt.DType] = true
	}
	t.Logf("dtypes written by safetensors.torch and read back: %d", len(seen))
}

func TestPythonShardedSafetensors(t *testing.T) {
	ref := reference(t)["sharded"]
	c, err := Open(ref.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Index != filepath.Join(ref.Dir, SafetensorsIndexName) || len(c.Files) != len(ref.Shards) || len(ref.Shards) < 2 {
		t.Errorf("index %s, files %v, Python's shards %v", c.Index, c.Files, ref.Shards)
	}
	for i, s := range ref.Shards {
		if i < len(c.Files) && c.Files[i] != filepath.Join(ref.Dir, s) {
			t.Errorf("file %d is %s, want shard %s", i, c.Files[i], s)
		}
	}
	if c.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", c.Metadata)
	}
	compare(t, c, ref)
}

func TestPythonPytorchBin(t *testing.T) {
	for _, name := range []string{"bin", "sharded_bin", "statedict"} {
		t.Run(name, func(t *testing.T) {
			ref := reference(t)[name]
			c, err := Open(ref.Dir)
			if err != nil {
				t.Fatal(err)
			}
			if c.Format != "pytorch" || c.Metadata != nil {
				t.Errorf("checkpoint %+v", c)
			}
			if len(ref.Tied) == 0 {
				t.Error("the reference has no tied weights to check")
			}
			compare(t, c, ref)
		})
	}
}

func TestPythonPytorchRefused(t *testing.T) {
	dir := reference(t)["bad"].Dir
	for file, frags := range map[string][]string{
		"noncontig.bin":  {`tensor "t" is not contiguous (size [4 3], stride [1 4])`, "convert it to safetensors"},
		"legacy.bin":     {"legacy (PyTorch < 1.6, non-zip) torch.save format", "weights_only=True"},
		"complex128.bin": {"torch.ComplexDoubleStorage"},
	} {
		path := filepath.Join(dir, file)
		_, err := ReadPytorchZip(path)
		wantError(t, err, ErrUnsupported, path, frags...)
	}
}
