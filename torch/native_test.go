package torch_test

import (
	"context"
	"encoding/binary"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/torch"
)

// tinyDistilBert writes the weights of a 1-layer DistilBERT (dim 32, 2
// heads, vocab 50, 16 positions) as raw float32 into one file and returns
// its path, the config and where each tensor lies.
func tinyDistilBert(t *testing.T) (string, map[string]string, map[string][2]int64, map[string][]int64) {
	t.Helper()
	const d, h, v, p = 32, 64, 50, 16
	shapes := map[string][]int64{
		"embeddings.word_embeddings.weight": {v, d}, "embeddings.position_embeddings.weight": {p, d},
		"embeddings.LayerNorm.weight": {d}, "embeddings.LayerNorm.bias": {d},
	}
	l := "transformer.layer.0."
	for _, n := range []string{"q_lin", "k_lin", "v_lin", "out_lin"} {
		shapes[l+"attention."+n+".weight"], shapes[l+"attention."+n+".bias"] = []int64{d, d}, []int64{d}
	}
	for _, n := range []string{"sa_layer_norm", "output_layer_norm"} {
		shapes[l+n+".weight"], shapes[l+n+".bias"] = []int64{d}, []int64{d}
	}
	shapes[l+"ffn.lin1.weight"], shapes[l+"ffn.lin1.bias"] = []int64{h, d}, []int64{h}
	shapes[l+"ffn.lin2.weight"], shapes[l+"ffn.lin2.bias"] = []int64{d, h}, []int64{d}
	r := rand.New(rand.NewPCG(1, 2))
	var buf []byte
	where := map[string][2]int64{}
	for name, s := range shapes {
		n := int64(1)
		for _, x := range s {
			n *= x
		}
		off := int64(len(buf))
		for i := int64(0); i < n; i++ {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(float32(r.NormFloat64()*0.1)))
		}
		where[name] = [2]int64{off, 4 * n}
	}
	path := filepath.Join(t.TempDir(), "weights.bin")
	require.NoError(t, os.WriteFile(path, buf, 0o644))
	cfg := map[string]string{"head": "base", "attn": "sdpa", "dim": "32", "n_heads": "2", "n_layers": "1", "hidden_dim": "64",
		"activation": "gelu", "vocab_size": "50", "max_position_embeddings": "16"}
	return path, cfg, where, shapes
}

func loadTiny(t *testing.T, path string, cfg map[string]string, where map[string][2]int64, shapes map[string][]int64) *torch.Module {
	t.Helper()
	mp, err := torch.MapFile(path)
	require.NoError(t, err)
	defer mp.Close()
	ws := map[string]*torch.Tensor{}
	for n, w := range where {
		x, err := mp.Tensor(w[0], w[1], torch.Float32, shapes[n]...)
		require.NoError(t, err)
		ws[n] = x
	}
	m, err := torch.LoadNative("distilbert", cfg, ws, torch.CPU, torch.Float32)
	for _, x := range ws {
		x.Close()
	}
	require.NoError(t, err)
	return m
}

func TestNativeModule(t *testing.T) {
	path, cfg, where, shapes := tinyDistilBert(t)
	assert.Contains(t, torch.NativeArchitectures(), "distilbert")
	assert.Contains(t, torch.NativeArchitectures(), "bert-family")
	m := loadTiny(t, path, cfg, where, shapes)
	defer m.Close()
	assert.True(t, m.Native())
	ids, _ := torch.FromSlice([]int64{1, 2, 3, 4, 5, 6}, 2, 3)
	defer ids.Close()
	mask, _ := torch.FromSlice([]int64{1, 1, 1, 1, 1, 0}, 2, 3)
	defer mask.Close()
	out, err := m.Forward(context.Background(), ids, mask)
	require.NoError(t, err)
	defer torch.CloseValue(out)
	assert.Equal(t, []int64{2, 3, 32}, out.(*torch.Tensor).Shape())

	// Inputs a user can get wrong come back as errors.
	_, err = m.Forward(context.Background(), ids)
	require.ErrorContains(t, err, "native forward takes 2 inputs")
	f, _ := torch.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	defer f.Close()
	_, err = m.Forward(context.Background(), f, mask)
	require.ErrorContains(t, err, "must be int64")
	long, _ := torch.FromSlice(make([]int64, 40), 2, 20)
	defer long.Close()
	_, err = m.Forward(context.Background(), long, long)
	require.Error(t, err, "20 positions of a 16-position table")
	oov, _ := torch.FromSlice([]int64{1, 2, 3, 4, 5, 500}, 2, 3)
	defer oov.Close()
	_, err = m.Forward(context.Background(), oov, mask)
	require.Error(t, err, "token id past the vocabulary")

	// Configs and weights that do not fit are errors, not crashes.
	mp, err := torch.MapFile(path)
	require.NoError(t, err)
	defer mp.Close()
	_, err = mp.Tensor(0, 8, torch.Float32, 3)
	require.ErrorContains(t, err, "byte count")
	_, err = mp.Tensor(1<<40, 4, torch.Float32, 1)
	require.ErrorContains(t, err, "outside the mapped file")
	_, err = torch.LoadNative("no-such-arch", cfg, nil, torch.CPU, torch.Float32)
	require.ErrorContains(t, err, "no native architecture no-such-arch")
	_, err = torch.LoadNative("distilbert", cfg, nil, torch.CPU, torch.Float32)
	require.ErrorContains(t, err, "the checkpoint has no tensor")
	_, err = torch.LoadNative("distilbert", cfg, nil, torch.CPU, torch.Int64)
	require.ErrorContains(t, err, "floating-point dtype")
	_, err = torch.MapFile(filepath.Join(t.TempDir(), "missing"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestNoLeakNativeCycles(t *testing.T) {
	path, cfg, where, shapes := tinyDistilBert(t)
	ids, _ := torch.FromSlice([]int64{1, 2, 3, 4, 5, 6}, 2, 3)
	defer ids.Close()
	mask, _ := torch.FromSlice([]int64{1, 1, 1, 1, 1, 0}, 2, 3)
	defer mask.Close()
	ctx := context.Background()
	n := 1000
	if raceEnabled {
		n = 300
	}
	g := growth(t, n/10, n, func() {
		m := loadTiny(t, path, cfg, where, shapes)
		out, err := m.Forward(ctx, ids, mask)
		if err != nil {
			t.Fatal(err)
		}
		torch.CloseValue(out)
		m.Close()
	})
	require.Less(t, g, closeLimit(), "%d map/load/forward/Close cycles", n)
}
