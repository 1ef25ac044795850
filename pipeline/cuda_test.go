package pipeline

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/torch"
)

// requireCUDA skips a CUDA test without a GPU (testenv.RequireCUDA).
func requireCUDA(t *testing.T) { testenv.RequireCUDA(t, torch.CUDAIsAvailable()) }

// TestCUDAWithoutGPUFailsCleanly: where there is no GPU, asking for CUDA
// fails with torch.ErrNoCUDA and says to use the CPU.
func TestCUDAWithoutGPUFailsCleanly(t *testing.T) {
	if torch.CUDAIsAvailable() {
		t.Skip("a CUDA device is visible: this checks the error without one")
	}
	_, err := NewTextClassification(context.Background(), WithModel(parityModel(t)), WithDevice(torch.CUDA(0)))
	require.ErrorIs(t, err, torch.ErrNoCUDA)
	assert.Contains(t, err.Error(), "use device cpu")
	_, err = NewFeatureExtraction(context.Background(), WithModel(parityModel(t)), WithDevice(torch.CUDA(0)))
	require.ErrorIs(t, err, torch.ErrNoCUDA)
}

// cudaModel is the 2-layer parity model with exports traced on CUDA in
// float32 and float16 (the export tool runs on the GPU machine).
func cudaModel(t *testing.T) string {
	return testenv.Model(t, testenv.ModelSpec{Name: "distilbert-sst2-2layers-cuda", MakeArgs: []string{"--layers", "2"},
		Exports: [][]string{
			{"--head", "sequence-classification"},
			{"--head", "sequence-classification", "--device", "cuda"},
			{"--head", "sequence-classification", "--device", "cuda", "--dtype", "float16"},
		}})
}

// TestCUDALogitsMatchPython: Go on CUDA against Python running the same
// CUDA export on the same batches.
func TestCUDALogitsMatchPython(t *testing.T) {
	requireCUDA(t)
	ctx := context.Background()
	dir := cudaModel(t)
	texts, _ := parityCorpus(200, 40, 10, 0)
	clf, err := NewTextClassification(ctx, WithModel(dir), WithDevice(torch.CUDA(0)))
	require.NoError(t, err)
	defer clf.Close()
	encs, err := Preprocess(ctx, clf.Tokenizer, texts, nil, clf.maxLength())
	require.NoError(t, err)
	var inputs []batchInput
	got := map[string][]float32{}
	for i, rows := range batchOrder(make([]int, len(encs)), 16, false) {
		b, err := padRows(clf.Tokenizer, encs, rows)
		require.NoError(t, err)
		logits, err := clf.Forward(ctx, b)
		require.NoError(t, err)
		name := fmt.Sprintf("cuda/%d", i)
		got[name] = logits
		inputs = append(inputs, toBatchInput(name, b))
	}
	ref := modelReference(t, dir, "sequence-classification", parityThreads, inputs, "--device", "cuda", "--no-eager")
	maxDiff, bitwise := 0.0, 0
	for _, in := range inputs {
		want := ref[in.Name].TorchScript.floats(t)
		require.Len(t, want, len(got[in.Name]))
		same := true
		for j := range want {
			maxDiff = math.Max(maxDiff, math.Abs(float64(want[j]-got[in.Name][j])))
			same = same && want[j] == got[in.Name][j]
		}
		if same {
			bitwise++
		}
	}
	fmt.Printf("cuda-parity: max_abs_diff=%.3g bitwise=%d/%d batches\n", maxDiff, bitwise, len(inputs))
	assert.LessOrEqual(t, maxDiff, 1e-4, "CUDA logits against Python on the same export")
}

// TestCUDAFloat16Labels: float16 on CUDA gives the float32 labels.
func TestCUDAFloat16Labels(t *testing.T) {
	requireCUDA(t)
	ctx := context.Background()
	dir := cudaModel(t)
	texts, pairs := parityCorpus(400, 60, 20, 40)
	run := func(dt torch.DType) [][]Result {
		p, err := NewTextClassification(ctx, WithModel(dir), WithDevice(torch.CUDA(0)), WithDType(dt), WithBatchSize(32))
		require.NoError(t, err)
		defer p.Close()
		a, err := p.Run(ctx, texts...)
		require.NoError(t, err)
		b, err := p.RunPairs(ctx, pairs)
		require.NoError(t, err)
		return append(a, b...)
	}
	f32, f16 := run(torch.Float32), run(torch.Float16)
	same := 0
	for i := range f32 {
		if f32[i][0].Label == f16[i][0].Label {
			same++
		}
	}
	rate := float64(same) / float64(len(f32))
	fmt.Printf("cuda-fp16: labels %d/%d equal to float32 (%.2f%%)\n", same, len(f32), 100*rate)
	assert.GreaterOrEqual(t, rate, 0.995)
}

// TestCUDAThroughput is the GPU part of the benchmarks (make gpu-check):
// sequences/s of the Go pipeline against transformers.pipeline on the same
// GPU, model, texts and batch sizes, in float32 and float16, printed as
// ratio lines with the best batch size. It asserts nothing about speed: the
// figures are its output.
func TestCUDAThroughput(t *testing.T) {
	requireCUDA(t)
	ctx := context.Background()
	dir := testenv.Model(t, testenv.ModelSpec{Name: "distilbert-sst2-cuda", Exports: [][]string{
		{"--head", "sequence-classification", "--device", "cuda"},
		{"--head", "sequence-classification", "--device", "cuda", "--dtype", "float16"},
	}})
	texts, _ := parityCorpus(900, 100, 24, 0)
	batchSizes := []int{1, 8, 32, 128}
	for _, dt := range []torch.DType{torch.Float32, torch.Float16} {
		tmp := t.TempDir()
		in, out := tmp+"/texts.json", tmp+"/out.json"
		writeJSON(t, in, texts)
		bsList := fmt.Sprint(batchSizes[0])
		for _, bs := range batchSizes[1:] {
			bsList += "," + fmt.Sprint(bs)
		}
		testenv.RunPython(t, "bench_gpu.py", "--model", dir, "--texts", in, "--batch-sizes", bsList, "--dtype", dt.String(), "--out", out)
		var py struct {
			SeqPerS map[string]float64 `json:"seq_per_s"`
		}
		readJSON(t, out, &py)
		bestBS, best := 0, 0.0
		for _, bs := range batchSizes {
			p, err := NewTextClassification(ctx, WithModel(dir), WithDevice(torch.CUDA(0)), WithDType(dt), WithBatchSize(bs))
			require.NoError(t, err)
			_, err = p.Run(ctx, texts[:2*bs]...) // warm-up
			require.NoError(t, err)
			rate := 0.0
			for rep := 0; rep < 3; rep++ {
				start := time.Now()
				_, err := p.Run(ctx, texts...)
				require.NoError(t, err)
				rate = math.Max(rate, float64(len(texts))/time.Since(start).Seconds())
			}
			p.Close()
			pyRate := py.SeqPerS[fmt.Sprint(bs)]
			fmt.Printf("ratio gpu %s bs=%d: go/python=%.2f (go %.0f seq/s, python %.0f seq/s)\n", dt, bs, rate/pyRate, rate, pyRate)
			if rate > best {
				bestBS, best = bs, rate
			}
		}
		fmt.Printf("gpu %s: best batch size %d (%.0f seq/s)\n", dt, bestBS, best)
	}
}
