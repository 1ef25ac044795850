package pipeline

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/torch"
)

// TestFromParts: pipelines made of loaded parts give what the loading
// constructors give, take the non-loading options, refuse the loading ones
// and a device or dtype the model is not in, and leave the model open.
func TestFromParts(t *testing.T) {
	ctx := context.Background()
	dir := parityModel(t)
	tok, err := hf.AutoTokenizer.FromPretrained(ctx, dir)
	require.NoError(t, err)
	clf, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, dir)
	require.NoError(t, err)
	defer clf.Close()
	base, err := hf.AutoModel.FromPretrained(ctx, dir)
	require.NoError(t, err)
	defer base.Close()
	texts, pairs := parityCorpus(11, 2, 0, 2)

	for _, opts := range [][]Option{nil, {WithTopK(AllLabels), WithBatchSize(3)}, {WithFunction(FunctionSigmoid), WithoutBucketing(), WithMaxLength(16)}} {
		loaded := newTestClassifier(t, opts...)
		want, err := loaded.Run(ctx, texts...)
		require.NoError(t, err)
		wantPairs, err := loaded.RunPairs(ctx, pairs)
		require.NoError(t, err)
		p, err := NewTextClassificationFrom(tok, clf, opts...)
		require.NoError(t, err)
		got, err := p.Run(ctx, texts...)
		require.NoError(t, err)
		assert.Equal(t, want, got)
		gotPairs, err := p.RunPairs(ctx, pairs)
		require.NoError(t, err)
		assert.Equal(t, wantPairs, gotPairs)
		assert.Equal(t, loaded.Function(), p.Function())
		require.NoError(t, p.Close())
	}
	// Closing the pipelines left the shared model open.
	one, err := NewTextClassificationFrom(tok, clf, WithDevice(torch.CPU), WithDType(torch.Float32))
	require.NoError(t, err, "a device and dtype that match the model's are fine")
	_, err = one.Run(ctx, "still open")
	require.NoError(t, err)

	fe, err := NewFeatureExtraction(ctx, WithModel(dir), WithBatchSize(4))
	require.NoError(t, err)
	defer fe.Close()
	wantF, err := fe.Run(ctx, texts...)
	require.NoError(t, err)
	feFrom, err := NewFeatureExtractionFrom(tok, base, WithBatchSize(4))
	require.NoError(t, err)
	gotF, err := feFrom.Run(ctx, texts...)
	require.NoError(t, err)
	assert.Equal(t, wantF, gotF)
	require.NoError(t, feFrom.Close())
	_, err = feFrom.Run(ctx, "still open")
	require.NoError(t, err)

	// What the caller can get wrong.
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"nil tokenizer", second(NewTextClassificationFrom(nil, clf)), "the tokenizer is nil"},
		{"nil model", second(NewTextClassificationFrom(tok, nil)), "load it with hf.AutoModelForSequenceClassification.FromPretrained"},
		{"nil base model", second(NewFeatureExtractionFrom(tok, nil)), "load it with hf.AutoModel.FromPretrained"},
		{"WithModel", second(NewTextClassificationFrom(tok, clf, WithModel("x"))), "leave WithModel out"},
		{"WithHF", second(NewFeatureExtractionFrom(tok, base, WithHF(hf.WithRevision("v1")))), "WithHF sets loading options"},
		{"device", second(NewTextClassificationFrom(tok, clf, WithDevice(torch.CUDA(0)))), "WithDevice(cuda:0) but the model is loaded on cpu"},
		{"dtype", second(NewFeatureExtractionFrom(tok, base, WithDType(torch.Float16))), "WithDType(float16) but the model is loaded in float32"},
		{"batch size", second(NewTextClassificationFrom(tok, clf, WithBatchSize(0))), "batch size must be at least 1"},
		{"top-k", second(NewTextClassificationFrom(tok, clf, WithTopK(0))), "top_k"},
	} {
		require.Error(t, c.err, c.name)
		assert.Contains(t, c.err.Error(), c.want, c.name)
	}
}

func second[T any](_ T, err error) error { return err }

func TestSameDevice(t *testing.T) {
	assert.True(t, sameDevice(torch.CPU, torch.Device{}), "the zero Device is the CPU")
	assert.True(t, sameDevice(torch.CUDA(-1), torch.CUDA(0)), `"cuda" is cuda:0`)
	assert.True(t, sameDevice(torch.CUDA(1), torch.CUDA(1)))
	assert.False(t, sameDevice(torch.CUDA(1), torch.CUDA(0)))
	assert.False(t, sameDevice(torch.CUDA(-1), torch.CUDA(1)))
	assert.False(t, sameDevice(torch.CPU, torch.CUDA(0)))
}
