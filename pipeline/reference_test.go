package pipeline

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/torch"
)

// refTensor is a tensor as the Python reference tools write it: raw
// little-endian bytes, so Go compares exactly.
type refTensor struct {
	DType   string  `json:"dtype"`
	Shape   []int64 `json:"shape"`
	DataB64 string  `json:"data_b64"`
	SHA256  string  `json:"sha256"`
}

func (r refTensor) floats(t *testing.T) []float32 {
	t.Helper()
	require.Equal(t, "float32", r.DType)
	b, err := base64.StdEncoding.DecodeString(r.DataB64)
	require.NoError(t, err)
	out := make([]float32, len(b)/4)
	if len(out) > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), len(b)), b)
	}
	return out
}

type refBatch struct {
	Name         string    `json:"name"`
	TorchScript  refTensor `json:"torchscript"`
	Eager        refTensor `json:"eager"`
	MaxAbsDiff   float64   `json:"max_abs_diff"`
	MaxULPs      float64   `json:"max_ulps"`
	BitwiseEqual bool      `json:"bitwise_equal"`
}

// refEnvironment is the CPU environment the Python reference ran in
// (hfpipe_tools/cpuenv.py): what oneDNN itself reported, among others.
type refEnvironment struct {
	CPU            string `json:"cpu"`
	ATenCapability string `json:"aten_cpu_capability"`
	OneDNNISA      string `json:"onednn_isa"`
	Threads        int    `json:"threads"`
}

var printEnvOnce sync.Once

// checkEnvironment fails the test when Go and the Python reference ran
// different CPU kernels or thread counts (a bitwise comparison between them
// would then mean nothing), and prints the environment once for the parity
// report.
func checkEnvironment(t *testing.T, py refEnvironment) {
	t.Helper()
	env := torch.CPUEnv()
	printEnvOnce.Do(func() { fmt.Printf("cpu-environment: %s\n", env) })
	assert.Equal(t, py.ATenCapability, env.ATenCapability, "ATen CPU capability: Go vs the Python reference")
	assert.Equal(t, py.OneDNNISA, env.OneDNNISA, "oneDNN ISA: Go's derivation vs oneDNN's report in Python")
	assert.Equal(t, py.Threads, env.Threads, "threads: Go vs the Python reference")
}

type refEntry struct {
	Label    string  `json:"label"`
	Score    float64 `json:"score"`
	ScoreHex string  `json:"score_f32_hex"`
}

type batchInput struct {
	Name          string    `json:"name"`
	InputIDs      [][]int64 `json:"input_ids"`
	AttentionMask [][]int64 `json:"attention_mask"`
}

func toBatchInput(name string, b *tokenizer.Batch) batchInput {
	in := batchInput{Name: name}
	for r := 0; r < b.Size; r++ {
		in.InputIDs = append(in.InputIDs, b.InputIDs[r*b.SeqLen:(r+1)*b.SeqLen])
		in.AttentionMask = append(in.AttentionMask, b.AttentionMask[r*b.SeqLen:(r+1)*b.SeqLen])
	}
	return in
}

// modelReference runs export.py reference (TorchScript file and eager
// transformers model, same batches) and returns its batches by name.
func modelReference(t *testing.T, dir, head string, threads int, batches []batchInput, extra ...string) map[string]refBatch {
	t.Helper()
	tmp := t.TempDir()
	in, out := filepath.Join(tmp, "in.json"), filepath.Join(tmp, "out.json")
	writeJSON(t, in, map[string]any{"batches": batches})
	testenv.RunPython(t, "export.py", append([]string{"reference", "--model", dir, "--head", head, "--inputs", in, "--out", out,
		"--threads", strconv.Itoa(threads), "--no-pipeline"}, extra...)...)
	var res struct {
		Environment refEnvironment `json:"environment"`
		Batches     []refBatch     `json:"batches"`
	}
	readJSON(t, out, &res)
	checkEnvironment(t, res.Environment)
	m := map[string]refBatch{}
	for _, b := range res.Batches {
		m[b.Name] = b
	}
	require.Len(t, m, len(batches))
	return m
}

type pipelineRef struct {
	Texts    [][]refEntry `json:"texts"`
	Pairs    [][]refEntry `json:"pairs"`
	Features []refTensor  `json:"features"`
}

// pipelineReference runs transformers.pipeline through pipeline_reference.py.
func pipelineReference(t *testing.T, dir, task string, texts []string, pairs []tokenizer.Pair, args ...string) pipelineRef {
	t.Helper()
	tmp := t.TempDir()
	in, out := filepath.Join(tmp, "in.json"), filepath.Join(tmp, "out.json")
	ps := make([][2]string, len(pairs))
	for i, p := range pairs {
		ps[i] = [2]string{p.A, p.B}
	}
	writeJSON(t, in, map[string]any{"texts": texts, "pairs": ps})
	testenv.RunPython(t, "pipeline_reference.py", append([]string{"--model", dir, "--task", task, "--inputs", in, "--out", out}, args...)...)
	var res pipelineRef
	readJSON(t, out, &res)
	return res
}

func writeJSON(t *testing.T, path string, v any) {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

func readJSON(t *testing.T, path string, v any) {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}

func f32hex(x float64) string { return fmt.Sprintf("%08x", math.Float32bits(float32(x))) }

func sha256Floats(v []float32) string {
	var b []byte
	if len(v) > 0 {
		b = unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*4)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
