package hf_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/torch"
)

// TestNativeFast: every fast-mode kernel set loads and runs, reports
// itself, and stays near exact mode's logits; exact mode is the default.
// (The agreement report over 2,000 texts is bench's TestFastAgreement.)
func TestNativeFast(t *testing.T) {
	ctx := context.Background()
	dir := smallModel(t)
	tok, err := hf.AutoTokenizer.FromPretrained(ctx, dir)
	require.NoError(t, err)
	texts := []string{"I've been waiting for a HuggingFace course my whole life.", "I hate this so much!", "ok", "The food was fine, to be honest, and the service was painfully slow."}
	batch, err := tok.EncodeBatch(ctx, texts, tokenizer.Options{Padding: tokenizer.PadLongest})
	require.NoError(t, err)
	logits := func(m *hf.ModelForSequenceClassification) []float32 {
		out, err := m.Forward(ctx, batch)
		require.NoError(t, err)
		defer out.Close()
		xs, err := torch.ToSlice[float32](out.Logits)
		require.NoError(t, err)
		return xs
	}
	exact, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, dir, hf.WithWarmUp())
	require.NoError(t, err)
	defer exact.Close()
	assert.Equal(t, torch.FastOff, exact.Fast(), "exact mode is the default")
	assert.Equal(t, int64(0), exact.Stats().Forwards, "the warm-up pass at load is not counted")
	want := logits(exact)
	scale := 0.0
	for _, x := range want {
		scale = math.Max(scale, math.Abs(float64(x)))
	}
	// How far each kernel set may move a logit, relative to the largest.
	tol := map[torch.FastKernels]float64{torch.FastBFloat16: 0.05, torch.FastBFloat16FFN: 0.05, torch.FastFloat32Packed: 1e-4, torch.FastInt8: 0.5}
	for _, k := range torch.FastKernelSets() {
		t.Run(string(k), func(t *testing.T) {
			m, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, dir, hf.WithFastKernels(k))
			require.NoError(t, err)
			defer m.Close()
			assert.Equal(t, k, m.Fast())
			assert.True(t, m.Native())
			got := logits(m)
			require.Len(t, got, len(want))
			d := 0.0
			for i := range got {
				d = math.Max(d, math.Abs(float64(got[i]-want[i])))
			}
			t.Logf("kernels %s: max |Δlogit| %.3g (largest logit %.3g)", k, d, scale)
			assert.LessOrEqual(t, d, tol[k]*math.Max(scale, 1))
			if k != torch.FastFloat32Packed {
				assert.Greater(t, d, 0.0, "fast kernels %s gave exact mode's bits: did they run?", k)
			}
		})
	}
	m, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, dir, hf.WithFast())
	require.NoError(t, err)
	assert.Equal(t, torch.FastKernelSets()[0], m.Fast(), "WithFast picks the default kernel set")
	require.NoError(t, m.Close())
}

// TestNativeFastErrors: fast mode where it cannot apply is an error that
// says what to do.
func TestNativeFastErrors(t *testing.T) {
	ctx := context.Background()
	dir := smallModel(t)
	cases := []struct {
		name string
		opts []hf.Option
		want []string
	}{
		{"torchscript", []hf.Option{hf.WithFast(), hf.WithTorchScript()}, []string{"fast mode (WithFast) applies to native models", "TorchScript", "drop WithFast"}},
		{"dtype", []hf.Option{hf.WithFast(), hf.WithDType(torch.BFloat16)}, []string{"fast mode (WithFast) runs on the CPU in float32", "bfloat16"}},
		{"kernels", []hf.Option{hf.WithFastKernels("fp4")}, []string{`fast kernels "fp4" are not one of`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, dir, c.opts...)
			require.Error(t, err)
			for _, s := range c.want {
				assert.True(t, strings.Contains(err.Error(), s), "%q lacks %q", err, s)
			}
		})
	}
	// A model type without native code runs from its export: no fast mode.
	other := copyModel(t, dir, func(string) bool { return true })
	editConfig(t, other, func(m map[string]any) { m["model_type"] = "gpt2" })
	_, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, other, hf.WithFast())
	require.ErrorContains(t, err, `model_type "gpt2" has no native code`)
}
