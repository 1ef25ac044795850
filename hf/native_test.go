package hf_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/hub/hubtest"
	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/torch"
)

// rewriteSafetensors rewrites dir/model.safetensors after edit changes its
// header entries (tensor name → {dtype, shape, data_offsets}); the data of
// the kept tensors is repacked.
func rewriteSafetensors(t *testing.T, dir string, edit func(h map[string]map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, "model.safetensors")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	n := binary.LittleEndian.Uint64(b)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b[8:8+n], &raw))
	data := b[8+n:]
	h := map[string]map[string]any{}
	blobs := map[string][]byte{}
	for k, v := range raw {
		if k == "__metadata__" {
			continue
		}
		var e map[string]any
		require.NoError(t, json.Unmarshal(v, &e))
		off := e["data_offsets"].([]any)
		blobs[k] = data[int(off[0].(float64)):int(off[1].(float64))]
		h[k] = e
	}
	edit(h)
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []byte
	for _, k := range names {
		h[k]["data_offsets"] = []int{len(out), len(out) + len(blobs[k])}
		out = append(out, blobs[k]...)
	}
	hb, err := json.Marshal(h)
	require.NoError(t, err)
	file := binary.LittleEndian.AppendUint64(nil, uint64(len(hb)))
	file = append(append(file, hb...), out...)
	require.NoError(t, os.WriteFile(path, file, 0o644))
}

func editConfig(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	p := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	edit(m)
	b, err = json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, b, 0o644))
}

// TestNativeLoadErrors: what a user can get wrong, or a broken checkpoint,
// gives an error naming the file, the tensor or the setting.
func TestNativeLoadErrors(t *testing.T) {
	ctx := context.Background()
	src := smallModel(t)
	weightsOnly := func(n string) bool { return !strings.HasPrefix(n, "hfpipe-") }

	// A model type without native code and without an export.
	other := copyModel(t, src, weightsOnly)
	editConfig(t, other, func(m map[string]any) { m["model_type"] = "gpt2" })
	_, err := hf.AutoModel.FromPretrained(ctx, other)
	require.ErrorIs(t, err, hf.ErrNoNativeArchitecture)
	require.ErrorIs(t, err, hf.ErrNoExport)
	for _, s := range []string{`"gpt2"`, "bert", "distilbert", "roberta"} {
		assert.Contains(t, err.Error(), s)
	}

	// A tensor the architecture needs is missing.
	missing := copyModel(t, src, weightsOnly)
	rewriteSafetensors(t, missing, func(h map[string]map[string]any) { delete(h, "classifier.weight") })
	_, err = hf.AutoModelForSequenceClassification.FromPretrained(ctx, missing)
	require.ErrorContains(t, err, "no tensor classifier.weight")

	// config.json and the weights disagree.
	wrong := copyModel(t, src, weightsOnly)
	editConfig(t, wrong, func(m map[string]any) { m["hidden_dim"] = 1000 })
	_, err = hf.AutoModel.FromPretrained(ctx, wrong)
	require.ErrorContains(t, err, "ffn.lin1.weight has shape")
	assert.Contains(t, err.Error(), "the config implies [1000, 768]")

	// A bad config value.
	badCfg := copyModel(t, src, weightsOnly)
	editConfig(t, badCfg, func(m map[string]any) { m["activation"] = 5 })
	_, err = hf.AutoModel.FromPretrained(ctx, badCfg)
	require.ErrorContains(t, err, `"activation" is 5, want a string`)
	unknownAct := copyModel(t, src, weightsOnly)
	editConfig(t, unknownAct, func(m map[string]any) { m["activation"] = "swiglu9" })
	_, err = hf.AutoModel.FromPretrained(ctx, unknownAct)
	require.ErrorContains(t, err, "activation swiglu9 is not supported natively")

	// A truncated and a garbled safetensors file.
	cut := copyModel(t, src, weightsOnly)
	require.NoError(t, os.Truncate(filepath.Join(cut, "model.safetensors"), 4096))
	_, err = hf.AutoModel.FromPretrained(ctx, cut)
	require.ErrorContains(t, err, filepath.Join(cut, "model.safetensors"))
	garbled := copyModel(t, src, weightsOnly)
	f, err := os.OpenFile(filepath.Join(garbled, "model.safetensors"), os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("{not json"), 8)
	require.NoError(t, err)
	f.Close()
	_, err = hf.AutoModel.FromPretrained(ctx, garbled)
	require.ErrorContains(t, err, "model.safetensors")

	// A head the architecture has no native code for.
	_, err = hf.LoadModel(ctx, copyModel(t, src, weightsOnly), hf.HeadCausalLM)
	require.Error(t, err)
}

// TestNativeCancel: a context ended while a native pass runs returns at
// once, and the pass itself stops at its next layer: it ends in an error
// (counted as a failure) instead of running to completion in the
// background, as a TorchScript pass must.
func TestNativeCancel(t *testing.T) {
	ctx := context.Background()
	m, err := hf.LoadModel(ctx, smallModel(t), hf.HeadBase)
	require.NoError(t, err)
	ids := make([]int64, 64*512)
	ones := make([]int64, 64*512)
	for i := range ids {
		ids[i], ones[i] = int64(1000+i%2000), 1
	}
	x, err := torch.FromSlice(ids, 64, 512)
	require.NoError(t, err)
	defer x.Close()
	mask, err := torch.FromSlice(ones, 64, 512)
	require.NoError(t, err)
	defer mask.Close()
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = m.ForwardTensors(cctx, x, mask)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, m.Close()) // waits for the pass
	st := m.Stats()
	assert.Equal(t, int64(1), st.Forwards)
	assert.Equal(t, int64(1), st.Failures, "the pass stopped with an error instead of running to its end")
}

// TestNativePytorchBin: checkpoints that have only pytorch_model.bin (zip
// + pickle, read by the restricted unpickler and used in place), or
// sharded safetensors, load natively and give eager transformers' logits
// bit for bit.
func TestNativePytorchBin(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Python")
	}
	ctx := context.Background()
	src := copyModel(t, smallModel(t), func(n string) bool { return !strings.HasPrefix(n, "hfpipe-") })
	sharded := t.TempDir()
	testenv.RunPython(t, "convert_checkpoint.py", "--model", src, "--out", sharded, "--format", "safetensors", "--max-shard-size", "20MB")
	shards, _ := filepath.Glob(filepath.Join(sharded, "model-*-of-*.safetensors"))
	require.Greater(t, len(shards), 1, "a sharded checkpoint")
	checkEagerLogits(t, sharded)
	dir := t.TempDir()
	testenv.RunPython(t, "convert_checkpoint.py", "--model", src, "--out", dir, "--format", "bin")
	_, err := os.Stat(filepath.Join(dir, "model.safetensors"))
	require.True(t, os.IsNotExist(err))
	checkEagerLogits(t, dir)

	// From the Hub: a repo without safetensors gets its pytorch_model.bin fetched.
	srv := hubtest.New()
	defer srv.Close()
	const id = "hfpipe-test/bin-only"
	_, err = srv.AddFolder(id, dir)
	require.NoError(t, err)
	hm, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, id, hf.WithEndpoint(srv.URL), hf.WithCacheDir(t.TempDir()), hf.WithToken(""))
	require.NoError(t, err)
	defer hm.Close()
	assert.True(t, hm.Native())
	_, err = os.Stat(filepath.Join(hm.Dir, "pytorch_model.bin"))
	assert.NoError(t, err, "the .bin was downloaded")
}

// checkEagerLogits loads dir's classifier natively and compares its logits
// for two course sentences with eager transformers' on the same folder.
func checkEagerLogits(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	ids := [][]int64{{101, 1045, 1005, 2310, 2042, 3403, 2005, 1037, 17662, 12172, 2607, 2026, 2878, 2166, 1012, 102}, {101, 1045, 5223, 2023, 2061, 2172, 999, 102, 0, 0, 0, 0, 0, 0, 0, 0}}
	mask := [][]int64{make([]int64, 16), make([]int64, 16)}
	for i := range mask[0] {
		mask[0][i] = 1
		if i < 8 {
			mask[1][i] = 1
		}
	}
	ib, _ := json.Marshal(ids)
	mb, _ := json.Marshal(mask)
	var ref struct {
		Outputs []struct {
			Shape  []int64  `json:"shape"`
			F32Hex []string `json:"f32_hex"`
		} `json:"outputs"`
	}
	require.NoError(t, json.Unmarshal(testenv.RunPython(t, "eager_outputs.py", "--model", dir, "--head", "sequence-classification",
		"--ids", string(ib), "--mask", string(mb), "--threads", strconv.Itoa(torch.NumThreads())), &ref))
	m, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, dir)
	require.NoError(t, err)
	defer m.Close()
	require.True(t, m.Native())
	flat := func(x [][]int64) []int64 { return append(append([]int64{}, x[0]...), x[1]...) }
	xi, err := torch.FromSlice(flat(ids), 2, 16)
	require.NoError(t, err)
	defer xi.Close()
	xm, err := torch.FromSlice(flat(mask), 2, 16)
	require.NoError(t, err)
	defer xm.Close()
	res, err := m.ForwardTensors(ctx, xi, xm)
	require.NoError(t, err)
	defer torch.CloseValue(res)
	got, err := torch.ToSlice[float32](res.(*torch.Tensor))
	require.NoError(t, err)
	var hex []string
	for _, v := range got {
		hex = append(hex, fmt.Sprintf("%08x", math.Float32bits(v)))
	}
	assert.Equal(t, ref.Outputs[0].F32Hex, hex, "logits from %s, bit for bit", dir)
}
