package hf_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/hub/hubtest"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/torch"
)

func smallModel(t *testing.T) string {
	return testenv.Model(t, testenv.SmallModel)
}

// copyModel copies the files of src matching keep into a new folder.
func copyModel(t *testing.T, src string, keep func(name string) bool) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() || !keep(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
	return dst
}

func batchOf(t *testing.T, tok *tokenizer.Tokenizer, texts ...string) *tokenizer.Batch {
	t.Helper()
	b, err := tok.EncodeBatch(context.Background(), texts, tokenizer.Options{Padding: tokenizer.PadLongest, Truncation: tokenizer.LongestFirst})
	require.NoError(t, err)
	return b
}

func TestModelsLoadAndRun(t *testing.T) {
	ctx := context.Background()
	dir := smallModel(t)
	tok, err := hf.AutoTokenizer.FromPretrained(ctx, dir)
	require.NoError(t, err)
	b := batchOf(t, tok, "I hate this so much!", "Fine.")

	clf, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, dir)
	require.NoError(t, err)
	defer clf.Close()
	assert.Equal(t, hf.HeadSequenceClassification, clf.Head())
	assert.Equal(t, torch.Float32, clf.DType())
	assert.Equal(t, 512, clf.MaxLength())
	out, err := clf.Forward(ctx, b)
	require.NoError(t, err)
	assert.Equal(t, []int64{2, 2}, out.Logits.Shape())
	require.NoError(t, out.Close())

	base, err := hf.AutoModel.FromPretrained(ctx, dir)
	require.NoError(t, err)
	defer base.Close()
	h, err := base.Forward(ctx, b)
	require.NoError(t, err)
	assert.Equal(t, []int64{2, int64(b.SeqLen), 768}, h.LastHiddenState.Shape())
	require.NoError(t, h.Close())

	// Batches the model cannot take.
	_, err = clf.Forward(ctx, &tokenizer.Batch{})
	require.ErrorContains(t, err, "empty batch")
	ragged, err := tok.EncodeBatch(ctx, []string{"a", "a b c"}, tokenizer.Options{})
	require.NoError(t, err)
	_, err = clf.Forward(ctx, ragged)
	require.ErrorContains(t, err, "different lengths")
	long, err := tok.EncodeBatch(ctx, []string{strings.Repeat("word ", 600)}, tokenizer.Options{Padding: tokenizer.PadLongest})
	require.NoError(t, err)
	_, err = clf.Forward(ctx, long)
	require.ErrorContains(t, err, "exceed the model's 512 positions")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = clf.Forward(cctx, b)
	require.ErrorIs(t, err, context.Canceled)

	// The rejected batches never reached libtorch: one pass ran.
	st := clf.Stats()
	assert.Equal(t, int64(1), st.Forwards)
	assert.Zero(t, st.Failures)
	assert.Positive(t, st.ComputeTime)
	assert.GreaterOrEqual(t, st.CallTime, st.ComputeTime)
}

func TestModelLoadErrors(t *testing.T) {
	ctx := context.Background()
	dir := smallModel(t)
	noAuto := hf.WithTorchScript() // these cases are about exports

	_, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, filepath.Join(t.TempDir(), "nope"), hf.WithOffline(true))
	require.Error(t, err, "a path that does not exist is looked up on the Hub, offline here")

	noConfig := copyModel(t, dir, func(n string) bool { return n != "config.json" })
	_, err = hf.AutoModelForSequenceClassification.FromPretrained(ctx, noConfig, noAuto)
	require.ErrorContains(t, err, "config.json")

	noExport := copyModel(t, dir, func(n string) bool { return !strings.HasPrefix(n, "hfpipe-") })
	_, err = hf.AutoModelForSequenceClassification.FromPretrained(ctx, noExport, noAuto)
	require.ErrorIs(t, err, hf.ErrNoExport)
	assert.Contains(t, err.Error(), "python third_party/tools/export.py --model "+noExport+" --head sequence-classification --device cpu --dtype float32")

	noWeights := copyModel(t, dir, func(n string) bool { return !strings.HasPrefix(n, "hfpipe-") && n != "model.safetensors" })
	_, err = hf.AutoModelForSequenceClassification.FromPretrained(ctx, noWeights)
	require.ErrorIs(t, err, hf.ErrNoExport)
	assert.Contains(t, err.Error(), "no weights either")

	onlyBase := copyModel(t, dir, func(n string) bool { return !strings.HasPrefix(n, "hfpipe-sequence-classification") })
	_, err = hf.AutoModelForSequenceClassification.FromPretrained(ctx, onlyBase, noAuto)
	require.ErrorContains(t, err, "the folder has hfpipe-base-cpu-float32")

	// A checkpoint without a classification head.
	baseArch := copyModel(t, dir, func(string) bool { return true })
	cfg, err := os.ReadFile(filepath.Join(baseArch, "config.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(baseArch, "config.json"), []byte(strings.Replace(string(cfg), "DistilBertForSequenceClassification", "DistilBertModel", 1)), 0o644))
	_, err = hf.AutoModelForSequenceClassification.FromPretrained(ctx, baseArch)
	require.ErrorContains(t, err, "have no ForSequenceClassification head")
	m, err := hf.AutoModel.FromPretrained(ctx, baseArch)
	require.NoError(t, err, "the base model of it loads")
	m.Close()

	// A cut export, and a corrupt one of the right size.
	const module = "hfpipe-sequence-classification-cpu-float32.pt"
	cut := copyModel(t, dir, func(string) bool { return true })
	require.NoError(t, os.Truncate(filepath.Join(cut, module), 1000))
	_, err = hf.AutoModelForSequenceClassification.FromPretrained(ctx, cut, noAuto)
	require.ErrorContains(t, err, "is 1000 bytes but its metadata says")
	assert.Contains(t, err.Error(), "re-run the export")
	corrupt := copyModel(t, dir, func(string) bool { return true })
	f, err := os.OpenFile(filepath.Join(corrupt, module), os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte(strings.Repeat("garbage!", 512)), 0)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	_, err = hf.AutoModelForSequenceClassification.FromPretrained(ctx, corrupt, noAuto)
	require.ErrorContains(t, err, "not a readable TorchScript archive")

	_, err = hf.AutoModelForSequenceClassification.FromPretrained(ctx, dir, hf.WithDType(torch.Float16), noAuto)
	require.ErrorContains(t, err, "exports run float16 on CUDA only")
	_, err = hf.AutoModelForSequenceClassification.FromPretrained(ctx, dir, hf.WithAttention("flash"))
	require.ErrorContains(t, err, `no "flash" attention`)
	_, err = hf.AutoModelForSequenceClassification.FromPretrained(ctx, dir, hf.WithAttention("eager"), noAuto)
	require.ErrorContains(t, err, "applies to native models")
	// Asking for CUDA without a GPU: TestCUDAWithoutGPUFailsCleanly.
}

// TestCUDAWithoutGPUFailsCleanly: where there is no GPU, asking for CUDA
// fails with torch.ErrNoCUDA before anything is read. Where there is one it
// skips: the CUDA paths are the pipeline and torch packages' CUDA tests.
func TestCUDAWithoutGPUFailsCleanly(t *testing.T) {
	if torch.CUDAIsAvailable() {
		t.Skip("a CUDA device is visible: this checks the error without one")
	}
	ctx := context.Background()
	dir := smallModel(t)
	_, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, dir, hf.WithDevice(torch.CUDA(0)))
	require.ErrorIs(t, err, torch.ErrNoCUDA)
	assert.Contains(t, err.Error(), "use device cpu")
	_, err = hf.AutoModel.FromPretrained(ctx, dir, hf.WithDevice(torch.CUDA(0)), hf.WithDType(torch.Float16))
	require.ErrorIs(t, err, torch.ErrNoCUDA)
}

// TestAutoExportFromHub: a Hub repo with weights but no export is downloaded
// and exported on first use, then loads from the cache offline.
func TestAutoExportFromHub(t *testing.T) {
	ctx := context.Background()
	src := copyModel(t, smallModel(t), func(n string) bool { return !strings.HasPrefix(n, "hfpipe-") })
	srv := hubtest.New()
	defer srv.Close()
	const id = "hfpipe-test/distilbert-sst2-2layers"
	_, err := srv.AddFolder(id, src)
	require.NoError(t, err)
	cache := t.TempDir()
	hubOpts := []hf.Option{hf.WithEndpoint(srv.URL), hf.WithCacheDir(cache), hf.WithToken("")}

	native, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, id, hubOpts...)
	require.NoError(t, err)
	assert.True(t, native.Native(), "from the Hub, the model runs natively from its model.safetensors")
	native.Close()
	clf, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, id, append(hubOpts, hf.WithTorchScript(), hf.WithAutoExport())...)
	require.NoError(t, err)
	tok, err := hf.AutoTokenizer.FromPretrained(ctx, id, hubOpts...)
	require.NoError(t, err)
	out, err := clf.Forward(ctx, batchOf(t, tok, "I hate this so much!"))
	require.NoError(t, err)
	want, err := torch.ToSlice[float32](out.Logits)
	require.NoError(t, err)
	out.Close()
	clf.Close()
	assert.True(t, strings.HasPrefix(clf.Dir, cache), "the export sits in the hub cache snapshot")

	srv.Close()
	clf2, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, id, append(hubOpts, hf.WithOffline(true), hf.WithTorchScript())...)
	require.NoError(t, err)
	defer clf2.Close()
	out2, err := clf2.Forward(ctx, batchOf(t, tok, "I hate this so much!"))
	require.NoError(t, err)
	defer out2.Close()
	got, err := torch.ToSlice[float32](out2.Logits)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	failing := hf.WithExporter(func(context.Context, string, hf.Head, torch.Device, torch.DType) error {
		return errors.New("exporter exploded")
	})
	_, err = hf.AutoModel.FromPretrained(ctx, id, append(hubOpts, hf.WithOffline(true), hf.WithTorchScript(), failing)...)
	require.ErrorContains(t, err, "exporter exploded")
}
