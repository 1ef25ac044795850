package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/pipeline"
)

// TestInferenceClient drives the server with huggingface_hub's
// InferenceClient(base_url=...), unchanged: text_classification against a
// classifier, feature_extraction against an embedding model.
func TestInferenceClient(t *testing.T) {
	ctx := context.Background()
	dir := smallModel(t)
	script, err := filepath.Abs(filepath.Join("testdata", "inference_client.py"))
	require.NoError(t, err)
	texts := testTexts[:4]
	lines := func(out []byte) [][]byte {
		var ls [][]byte
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			ls = append(ls, append([]byte(nil), sc.Bytes()...))
		}
		return ls
	}

	t.Run("text_classification", func(t *testing.T) {
		clf, err := pipeline.NewTextClassification(ctx, pipeline.WithModel(dir), pipeline.WithTopK(pipeline.AllLabels))
		require.NoError(t, err)
		defer clf.Close()
		_, url := startServer(t, clf)
		want := alone(t, clf, singles(texts...)...)
		out := lines(runPython(t, append([]string{script, url, "text-classification"}, texts...)...))
		require.Len(t, out, len(texts))
		var d diff
		for i, l := range out {
			var got []Prediction
			require.NoError(t, json.Unmarshal(l, &got), "%s", l)
			sameResults(t, &d, want[i], got)
		}
		t.Logf("inference-client text_classification: %d/%d scores bitwise equal to the pipeline's (float32), max_abs_diff=%g", d.equal, d.n, d.max)
		assert.Equal(t, d.n, d.equal)
	})

	t.Run("feature_extraction", func(t *testing.T) {
		fe, err := pipeline.NewFeatureExtraction(ctx, pipeline.WithModel(dir))
		require.NoError(t, err)
		defer fe.Close()
		_, url := startServer(t, fe)
		want := aloneFE(t, fe, texts...)
		out := lines(runPython(t, append([]string{script, url, "feature-extraction"}, texts...)...))
		require.Len(t, out, len(texts))
		var d diff
		for i, l := range out {
			var got struct {
				Shape  []int
				DType  string
				Values []float32
			}
			require.NoError(t, json.Unmarshal(l, &got))
			w := pooled(want[i], PoolingMean, true)
			assert.Equal(t, []int{1, len(w)}, got.Shape)
			assert.Equal(t, "float32", got.DType)
			require.Len(t, got.Values, len(w))
			for k := range w {
				d.add(float64(w[k]), float64(got.Values[k]))
			}
		}
		t.Logf("inference-client feature_extraction: %d/%d values bitwise equal to the pipeline's pooled vectors, max_abs_diff=%g", d.equal, d.n, d.max)
		assert.Equal(t, d.n, d.equal)
	})
}
