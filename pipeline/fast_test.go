package pipeline

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/torch"
)

// TestFastOption: WithFast loads the model in fast mode, whose results
// stay near exact mode's; a pipeline built from a model loaded in exact
// mode refuses WithFast, saying how to load it.
func TestFastOption(t *testing.T) {
	ctx := context.Background()
	dir := parityModel(t)
	texts := []string{"I've been waiting for a HuggingFace course my whole life.", "I hate this so much!"}
	exact, err := NewTextClassification(ctx, WithModel(dir))
	require.NoError(t, err)
	defer exact.Close()
	fast, err := NewTextClassification(ctx, WithModel(dir), WithFast())
	require.NoError(t, err)
	defer fast.Close()
	assert.Equal(t, torch.FastOff, exact.Model.Fast())
	assert.Equal(t, torch.FastBFloat16FFN, fast.Model.Fast())
	want, err := exact.Run(ctx, texts...)
	require.NoError(t, err)
	got, err := fast.Run(ctx, texts...)
	require.NoError(t, err)
	require.Len(t, got, len(want))
	for i := range want {
		assert.InDelta(t, want[i][0].Score, got[i][0].Score, 0.02, "text %d", i)
	}

	// WithHF(hf.WithFastKernels(...)) picks another kernel set.
	packed, err := NewTextClassification(ctx, WithModel(dir), WithFast(), WithHF(hf.WithFastKernels(torch.FastFloat32Packed)))
	require.NoError(t, err)
	assert.Equal(t, torch.FastFloat32Packed, packed.Model.Fast())
	require.NoError(t, packed.Close())

	_, err = NewTextClassificationFrom(exact.Tokenizer, exact.Model, WithFast())
	require.ErrorContains(t, err, "load it with hf.WithFast()")
}
