package pipeline

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

// bounded runs f and returns its result, failing the test binary if f
// neither returns within limit nor stays within a sane amount of Go heap:
// a pipeline that loops must fail this test, not hang it or take the
// machine's memory. A runaway f cannot be stopped from outside, so the
// failure panics, which ends the test binary with the message.
func bounded[T any](t *testing.T, limit time.Duration, what string, f func() (T, error)) (T, error) {
	t.Helper()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap0 := ms.HeapAlloc
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	start := time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case r := <-done:
			return r.v, r.err
		case <-tick.C:
			runtime.ReadMemStats(&ms)
			grew := int64(ms.HeapAlloc) - int64(heap0)
			if took := time.Since(start); grew > 1<<30 || took > limit {
				panic(fmt.Sprintf("%s: %s has not returned after %v (limit %v) and the Go heap grew by %d MiB (limit 1024): it loops", t.Name(), what, took.Round(time.Millisecond), limit, grew>>20))
			}
		}
	}
}

// TestZeroValueWorks: a pipeline built as a struct literal with only its
// Tokenizer and Model set runs with the constructor's defaults (batch size
// 8, top-1, the function the model's config calls for, the model's maximum
// length), and one with a part missing fails with an error.
func TestZeroValueWorks(t *testing.T) {
	ctx := context.Background()
	ref := newTestClassifier(t)
	texts, pairs := parityCorpus(19, 3, 0, 3) // more than one default batch
	want, err := ref.Run(ctx, texts...)
	require.NoError(t, err)
	wantPairs, err := ref.RunPairs(ctx, pairs)
	require.NoError(t, err)

	zero := &TextClassification{Tokenizer: ref.Tokenizer, Model: ref.Model}
	got, err := bounded(t, 60*time.Second, "TextClassification{}.Run", func() ([][]Result, error) { return zero.Run(ctx, texts...) })
	require.NoError(t, err)
	assert.Equal(t, want, got)
	gotPairs, err := bounded(t, 60*time.Second, "TextClassification{}.RunPairs", func() ([][]Result, error) { return zero.RunPairs(ctx, pairs) })
	require.NoError(t, err)
	assert.Equal(t, wantPairs, gotPairs)
	assert.Equal(t, ref.Function(), zero.Function())
	b, err := ref.Tokenizer.EncodeBatch(ctx, texts[:2], tokenizer.Options{Padding: tokenizer.PadLongest})
	require.NoError(t, err)
	logits, err := zero.Forward(ctx, b)
	require.NoError(t, err)
	assert.Equal(t, ref.Postprocess(logits), zero.Postprocess(logits))

	fe, err := NewFeatureExtraction(ctx, WithModel(parityModel(t)))
	require.NoError(t, err)
	defer fe.Close()
	wantF, err := fe.Run(ctx, texts...)
	require.NoError(t, err)
	zeroF := &FeatureExtraction{Tokenizer: fe.Tokenizer, Model: fe.Model}
	gotF, err := bounded(t, 60*time.Second, "FeatureExtraction{}.Run", func() ([][][]float32, error) { return zeroF.Run(ctx, texts...) })
	require.NoError(t, err)
	assert.Equal(t, wantF, gotF)

	// A part missing is an error that says how to build a pipeline.
	for _, p := range []*TextClassification{{}, {Tokenizer: ref.Tokenizer}, {Model: ref.Model}} {
		_, err := bounded(t, 10*time.Second, "incomplete TextClassification.Run", func() ([][]Result, error) { return p.Run(ctx, "a") })
		require.Error(t, err)
		assert.Contains(t, err.Error(), "NewTextClassification")
		_, err = p.RunPairs(ctx, pairs)
		require.Error(t, err)
		_, err = p.Forward(ctx, b)
		if p.Model == nil {
			require.Error(t, err)
		}
	}
	for _, p := range []*FeatureExtraction{{}, {Tokenizer: fe.Tokenizer}, {Model: fe.Model}} {
		_, err := bounded(t, 10*time.Second, "incomplete FeatureExtraction.Run", func() ([][][]float32, error) { return p.Run(ctx, "a") })
		require.Error(t, err)
		assert.Contains(t, err.Error(), "NewFeatureExtraction")
	}
	order, _ := bounded(t, 10*time.Second, "batchOrder with size 0", func() ([][]int, error) { return batchOrder([]int{3, 1}, 0, true), nil })
	assert.Equal(t, [][]int{{0}, {1}}, order, "a size below 1 counts as 1")

	assert.NoError(t, (&TextClassification{}).Close(), "closing a pipeline without a model is a no-op")
	assert.NoError(t, (&FeatureExtraction{}).Close())
}
