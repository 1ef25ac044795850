package serve

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/pipeline"
)

// pooled is what /embed must answer for a text: the pipeline's token
// vectors, pooled and (optionally) normalised.
func pooled(tokens [][]float32, how Pooling, normalize bool) []float32 {
	h := len(tokens[0])
	flat := make([]float32, 0, len(tokens)*h)
	mask := make([]int64, len(tokens))
	for i, v := range tokens {
		flat = append(flat, v...)
		mask[i] = 1
	}
	v := pool(flat, &tokenizer.Batch{SeqLen: len(tokens), AttentionMask: mask}, 0, h, how)
	if normalize {
		v = l2normalize(v)
	}
	return v
}

// aloneFE is each text's token vectors from the pipeline run on it alone.
func aloneFE(t *testing.T, fe *pipeline.FeatureExtraction, texts ...string) [][][]float32 {
	var out [][][]float32
	for _, x := range texts {
		r, err := fe.Run(context.Background(), x)
		require.NoError(t, err)
		out = append(out, r[0])
	}
	return out
}

// stagedFE is the pooled vectors of the texts run through the pipeline's
// stages in the forward passes the server makes of one batch.
func stagedFE(t *testing.T, fe *pipeline.FeatureExtraction, texts []string, how Pooling) [][]float32 {
	encs, err := pipeline.Preprocess(context.Background(), fe.Tokenizer, texts, nil, 512)
	require.NoError(t, err)
	lengths := make([]int, len(encs))
	for i := range encs {
		lengths[i] = len(encs[i].IDs)
	}
	out := make([][]float32, len(texts))
	for _, pass := range buckets(lengths, 0) {
		sel := make([]tokenizer.Encoding, len(pass))
		for k, i := range pass {
			sel[k] = encs[i]
		}
		b, err := fe.Tokenizer.Pad(sel, tokenizer.Options{})
		require.NoError(t, err)
		hidden, h, err := fe.Forward(context.Background(), b)
		require.NoError(t, err)
		for k := range pass {
			// The pipeline's unpadded token vectors of this row, pooled.
			var toks [][]float32
			for j := 0; j < b.SeqLen; j++ {
				if b.AttentionMask[k*b.SeqLen+j] == 1 {
					off := (k*b.SeqLen + j) * h
					toks = append(toks, hidden[off:off+h])
				}
			}
			out[pass[k]] = pooled(toks, how, false)
		}
	}
	return out
}

func TestEmbedMatchesPipeline(t *testing.T) {
	ctx := context.Background()
	dir := smallModel(t)
	fe, err := pipeline.NewFeatureExtraction(ctx, pipeline.WithModel(dir))
	require.NoError(t, err)
	defer fe.Close()
	_, url := startServer(t, fe)
	want := aloneFE(t, fe, testTexts...)

	var d diff
	same := func(w, g []float32) {
		require.Len(t, g, len(w))
		for i := range w {
			d.add(float64(w[i]), float64(g[i]))
		}
	}
	var got [][]float32
	for i, text := range testTexts {
		postJSON(t, url+"/embed", map[string]any{"inputs": text, "normalize": false}, &got)
		require.Len(t, got, 1)
		same(pooled(want[i], PoolingMean, false), got[0])
	}
	postJSON(t, url+"/embed", map[string]any{"inputs": testTexts}, &got)
	require.Len(t, got, len(testTexts))
	for i, v := range stagedFE(t, fe, testTexts, PoolingMean) {
		same(l2normalize(v), got[i])
	}
	// Token ids in, as TEI takes them: the same as the text's encoding.
	enc := fe.Tokenizer.Encode(testTexts[0])
	postJSON(t, url+"/embed", map[string]any{"inputs": enc.IDs}, &got)
	same(pooled(want[0], PoolingMean, true), got[0])
	// dimensions cuts before normalising (TEI's Matryoshka option).
	postJSON(t, url+"/embed", map[string]any{"inputs": testTexts[1], "dimensions": 16}, &got)
	same(l2normalize(pooled(want[1], PoolingMean, false)[:16]), got[0])
	// The inference API's POST / is /embed for an embedding model, with
	// parameters at the root or under "parameters".
	postJSON(t, url+"/", map[string]any{"inputs": testTexts[2], "parameters": map[string]any{"normalize": false}}, &got)
	same(pooled(want[2], PoolingMean, false), got[0])
	t.Logf("embed-vs-pipeline: %d/%d values bitwise equal to pooling the pipeline's token vectors of the same batches, max_abs_diff=%g", d.equal, d.n, d.max)
	assert.Equal(t, d.n, d.equal)

	code, body := post(t, url+"/predict", `{"inputs": "a"}`)
	assert.Equal(t, 424, code, "%s", body)
	code, body = post(t, url+"/embed", `{"inputs": ""}`)
	assert.Equal(t, 400, code)
	assert.JSONEq(t, `{"error":"Input validation error: `+"`inputs`"+` cannot be empty","error_type":"Empty"}`, string(body))
	code, _ = post(t, url+"/embed", `{"inputs": []}`)
	assert.Equal(t, 400, code)
	var info map[string]any
	_, body = getBody(t, url+"/info")
	require.NoError(t, json.Unmarshal(body, &info))
	assert.Equal(t, map[string]any{"embedding": map[string]any{"pooling": "mean"}}, info["model_type"])
}

func TestEmbedCLSPooling(t *testing.T) {
	ctx := context.Background()
	fe, err := pipeline.NewFeatureExtraction(ctx, pipeline.WithModel(smallModel(t)))
	require.NoError(t, err)
	defer fe.Close()
	_, url := startServer(t, fe, WithPooling(PoolingCLS))
	want := aloneFE(t, fe, testTexts[3])
	var got [][]float32
	postJSON(t, url+"/embed", map[string]any{"inputs": testTexts[3], "normalize": false}, &got)
	assert.Equal(t, want[0][0], got[0], "the [CLS] vector")
}

func TestRerankMatchesPipeline(t *testing.T) {
	ctx := context.Background()
	clf, err := pipeline.NewTextClassification(ctx, pipeline.WithModel(rerankerModel(t)))
	require.NoError(t, err)
	defer clf.Close()
	require.Equal(t, pipeline.FunctionSigmoid, clf.Function(), "one label: sigmoid, as TEI's re-ranker")
	raw, err := pipeline.NewTextClassificationFrom(clf.Tokenizer, clf.Model, pipeline.WithFunction(pipeline.FunctionNone))
	require.NoError(t, err)
	_, url := startServer(t, clf)

	query := "How do I bake bread?"
	texts := []string{"Mix flour, water, salt and yeast, let it rise, then bake.", "The stock market fell today.", "Bread", strings.Repeat("ovens and dough ", 20)}
	pairs := make([]tokenizer.Pair, len(texts))
	for i, x := range texts {
		pairs[i] = tokenizer.Pair{A: query, B: x}
	}
	seqs := make([]sequence, len(pairs))
	for i, p := range pairs {
		seqs[i] = sequence{A: p.A, B: p.B, Pair: true}
	}
	want := staged(t, clf, seqs)
	wantRaw := staged(t, raw, seqs)
	wantTwo := staged(t, clf, seqs[:2])

	var d diff
	var ranks []Rank
	postJSON(t, url+"/rerank", map[string]any{"query": query, "texts": texts, "return_text": true}, &ranks)
	require.Len(t, ranks, len(texts))
	seen := map[int]bool{}
	for k, r := range ranks {
		seen[r.Index] = true
		d.add(float64(float32(want[r.Index][0].Score)), float64(r.Score))
		require.NotNil(t, r.Text)
		assert.Equal(t, texts[r.Index], *r.Text)
		if k > 0 {
			assert.GreaterOrEqual(t, ranks[k-1].Score, r.Score, "best first")
		}
	}
	assert.Len(t, seen, len(texts))
	ranks = nil
	postJSON(t, url+"/rerank", map[string]any{"query": query, "texts": texts, "raw_scores": true}, &ranks)
	for _, r := range ranks {
		assert.Nil(t, r.Text)
		d.add(float64(float32(wantRaw[r.Index][0].Score)), float64(r.Score))
	}
	// The inference API's POST / is /rerank for a re-ranker, as in TEI.
	ranks = nil
	postJSON(t, url+"/", map[string]any{"query": query, "texts": texts[:2]}, &ranks)
	require.Len(t, ranks, 2)
	for _, r := range ranks {
		d.add(float64(float32(wantTwo[r.Index][0].Score)), float64(r.Score))
	}
	// /predict takes pairs on a re-ranker too.
	var preds []Prediction
	postJSON(t, url+"/predict", map[string]any{"inputs": []string{query, texts[0]}}, &preds)
	d.add(float64(float32(alone(t, clf, seqs[0])[0][0].Score)), float64(preds[0].Score))
	t.Logf("rerank-vs-pipeline: %d/%d scores bitwise equal, max_abs_diff=%g", d.equal, d.n, d.max)
	assert.Equal(t, d.n, d.equal)

	code, body := post(t, url+"/rerank", `{"query": "q", "texts": []}`)
	assert.Equal(t, 400, code)
	assert.JSONEq(t, `{"error":"`+"`texts`"+` cannot be empty","error_type":"Empty"}`, string(body))
	code, _ = post(t, url+"/rerank", `{"texts": ["a"]}`)
	assert.Equal(t, 422, code)
}

func TestRerankNeedsOneLabel(t *testing.T) {
	clf, err := pipeline.NewTextClassification(context.Background(), pipeline.WithModel(smallModel(t)))
	require.NoError(t, err)
	defer clf.Close()
	_, url := startServer(t, clf)
	code, body := post(t, url+"/rerank", `{"query": "q", "texts": ["a"]}`)
	assert.Equal(t, 424, code)
	assert.Contains(t, string(body), "not a re-ranker")
}
