package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/pipeline"
)

// testTexts are inputs of very different lengths, so that the server's
// batches pad and split them.
var testTexts = []string{
	"I've been waiting for a HuggingFace course my whole life.",
	"I hate this so much!",
	"ok",
	"The service was slow, the food was cold, and the waiter forgot our drinks twice; still, the dessert almost made up for it.",
	"Ça marche très bien, merci beaucoup !",
	"Not bad.",
	strings.Repeat("A long review that goes on and on about everything. ", 12),
	"Worst purchase ever — do not buy.",
}

var testPairs = []tokenizer.Pair{
	{A: "A man is playing a guitar.", B: "Someone plays music."},
	{A: "The cat sleeps.", B: "A dog is running through a field of flowers in the afternoon sun."},
	{A: "Is it raining?", B: "Yes."},
}

// sameResults compares the server's labels and scores with the
// pipeline's: labels in the same order, scores within what d records.
func sameResults(t *testing.T, d *diff, want []pipeline.Result, got []Prediction) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i].Label, got[i].Label)
		d.add(float64(float32(want[i].Score)), float64(got[i].Score))
	}
}

// alone runs each text through the pipeline on its own (a batch of one,
// no padding): what the server computes for a request with one input on
// an otherwise idle server.
func alone(t *testing.T, clf *pipeline.TextClassification, seqs ...sequence) [][]pipeline.Result {
	t.Helper()
	var out [][]pipeline.Result
	for _, q := range seqs {
		var r [][]pipeline.Result
		var err error
		if q.Pair {
			r, err = clf.RunPairs(context.Background(), []tokenizer.Pair{{A: q.A, B: q.B}})
		} else {
			r, err = clf.Run(context.Background(), q.A)
		}
		require.NoError(t, err)
		out = append(out, r[0])
	}
	return out
}

// staged runs the sequences through the pipeline's exported stages
// (Preprocess, the tokenizer's Pad, Forward, Postprocess) in the forward
// passes the server makes of one batch (buckets): what a batch request
// must get on an otherwise idle server, bit for bit. Results in input order.
func staged(t *testing.T, clf *pipeline.TextClassification, seqs []sequence) [][]pipeline.Result {
	t.Helper()
	encs := make([]tokenizer.Encoding, len(seqs))
	lengths := make([]int, len(seqs))
	for i, q := range seqs {
		var e []tokenizer.Encoding
		var err error
		if q.Pair {
			e, err = pipeline.Preprocess(context.Background(), clf.Tokenizer, nil, []tokenizer.Pair{{A: q.A, B: q.B}}, 512)
		} else {
			e, err = pipeline.Preprocess(context.Background(), clf.Tokenizer, []string{q.A}, nil, 512)
		}
		require.NoError(t, err)
		encs[i], lengths[i] = e[0], len(e[0].IDs)
	}
	out := make([][]pipeline.Result, len(seqs))
	for _, pass := range buckets(lengths, 0) {
		sel := make([]tokenizer.Encoding, len(pass))
		for k, i := range pass {
			sel[k] = encs[i]
		}
		b, err := clf.Tokenizer.Pad(sel, tokenizer.Options{})
		require.NoError(t, err)
		logits, err := clf.Forward(context.Background(), b)
		require.NoError(t, err)
		for k, r := range clf.Postprocess(logits) {
			out[pass[k]] = r
		}
	}
	return out
}

func singles(texts ...string) []sequence {
	out := make([]sequence, len(texts))
	for i, x := range texts {
		out[i] = sequence{A: x}
	}
	return out
}

func TestRoutesMatchPipeline(t *testing.T) {
	ctx := context.Background()
	dir := smallModel(t)
	clf, err := pipeline.NewTextClassification(ctx, pipeline.WithModel(dir), pipeline.WithTopK(pipeline.AllLabels))
	require.NoError(t, err)
	defer clf.Close()
	raw, err := pipeline.NewTextClassificationFrom(clf.Tokenizer, clf.Model, pipeline.WithTopK(pipeline.AllLabels), pipeline.WithFunction(pipeline.FunctionNone))
	require.NoError(t, err)
	srv, url := startServer(t, clf)

	want := alone(t, clf, singles(testTexts...)...)
	var pairSeqs []sequence
	for _, p := range testPairs {
		pairSeqs = append(pairSeqs, sequence{A: p.A, B: p.B, Pair: true})
	}
	wantPairs := alone(t, clf, pairSeqs...)

	// d: the server against the pipeline run the same way (the same rows
	// padded together): bitwise. spread: the server's batch answers against
	// the pipeline's Run over all texts in its own batching (8 rows a pass,
	// padded to the longest): not the same padding, so not the same bits.
	var d, spread diff
	for i, text := range testTexts { // one text per request
		var got []Prediction
		postJSON(t, url+"/predict", map[string]any{"inputs": text}, &got)
		sameResults(t, &d, want[i], got)
	}
	var batch [][]Prediction
	items := make([][]string, len(testTexts))
	for i, x := range testTexts {
		items[i] = []string{x}
	}
	postJSON(t, url+"/predict", map[string]any{"inputs": items}, &batch)
	require.Len(t, batch, len(testTexts))
	wantBatch := staged(t, clf, singles(testTexts...))
	runAll, err := clf.Run(ctx, testTexts...)
	require.NoError(t, err)
	for i := range testTexts {
		sameResults(t, &d, wantBatch[i], batch[i])
		sameResults(t, &spread, runAll[i], batch[i])
	}
	postJSON(t, url+"/predict", map[string]any{"inputs": items, "raw_scores": true}, &batch)
	wantRawBatch := staged(t, raw, singles(testTexts...))
	for i := range testTexts {
		sameResults(t, &d, wantRawBatch[i], batch[i])
	}
	// Pairs: one, and a batch mixing pairs and single texts.
	for i, p := range testPairs {
		var got []Prediction
		postJSON(t, url+"/predict", map[string]any{"inputs": []string{p.A, p.B}}, &got)
		sameResults(t, &d, wantPairs[i], got)
	}
	mixed := [][]string{{testPairs[0].A, testPairs[0].B}, {testTexts[1]}, {testPairs[2].A, testPairs[2].B}}
	postJSON(t, url+"/predict", map[string]any{"inputs": mixed}, &batch)
	wantMixed := staged(t, clf, []sequence{pairSeqs[0], {A: testTexts[1]}, pairSeqs[2]})
	for i := range mixed {
		sameResults(t, &d, wantMixed[i], batch[i])
	}

	// The inference API: a list of labels per input; top_k and
	// function_to_apply as transformers' pipeline takes them.
	var inf [][]Prediction
	postJSON(t, url+"/", map[string]any{"inputs": testTexts[0]}, &inf)
	require.Len(t, inf, 1)
	sameResults(t, &d, want[0], inf[0])
	postJSON(t, url+"/", map[string]any{"inputs": testTexts[:3], "parameters": map[string]any{"top_k": 1, "function_to_apply": "none"}}, &inf)
	require.Len(t, inf, 3)
	wantTop := staged(t, raw, singles(testTexts[:3]...))
	for i := range inf {
		sameResults(t, &d, wantTop[i][:1], inf[i])
	}
	postJSON(t, url+"/", map[string]any{"inputs": map[string]string{"text": testPairs[1].A, "text_pair": testPairs[1].B}}, &inf)
	sameResults(t, &d, wantPairs[1], inf[0])

	// Truncation: too long is a 422 unless truncate is set; truncated, the
	// result is the pipeline's (which truncates to the model's maximum).
	long := strings.Repeat("word ", 700)
	code, body := post(t, url+"/predict", fmt.Sprintf(`{"inputs": %q}`, long))
	assert.Equal(t, 422, code)
	assert.JSONEq(t, `{"error":"Input validation error: `+"`inputs`"+` must have less than 512 tokens. Given: 702","error_type":"Validation"}`, string(body))
	var got []Prediction
	postJSON(t, url+"/predict", map[string]any{"inputs": long, "truncate": true}, &got)
	sameResults(t, &d, alone(t, clf, sequence{A: long})[0], got)

	t.Logf("predict-vs-pipeline: %d/%d scores bitwise equal to the pipeline run on the same batches, max_abs_diff=%g", d.equal, d.n, d.max)
	t.Logf("predict-vs-pipeline-own-batching: %d/%d bitwise, max_abs_diff=%g (padding to another length changes the last bits)", spread.equal, spread.n, spread.max)
	assert.Equal(t, d.n, d.equal, "every score bitwise equal to the pipeline's on the same batches")

	// /tokenize and /decode against the tokenizer.
	var toks [][]SimpleToken
	postJSON(t, url+"/tokenize", map[string]any{"inputs": testTexts[4]}, &toks)
	enc := clf.Tokenizer.Encode(testTexts[4])
	require.Len(t, toks, 1)
	require.Len(t, toks[0], len(enc.IDs))
	for k, tk := range toks[0] {
		assert.Equal(t, enc.IDs[k], tk.ID)
		assert.Equal(t, enc.SpecialTokensMask[k] == 1, tk.Special)
		if !tk.Special {
			o := enc.ByteOffsets[k]
			assert.Equal(t, testTexts[4][o.Start:o.End], tk.Text)
			assert.Equal(t, o.Start, *tk.Start)
		} else {
			assert.Nil(t, tk.Start)
		}
	}
	postJSON(t, url+"/tokenize", map[string]any{"inputs": []string{"a b", "c"}, "add_special_tokens": false}, &toks)
	require.Len(t, toks, 2)
	assert.Len(t, toks[0], 2)
	var texts []string
	postJSON(t, url+"/decode", map[string]any{"ids": enc.IDs}, &texts)
	assert.Equal(t, []string{clf.Tokenizer.Decode(enc.IDs, true)}, texts)
	postJSON(t, url+"/decode", map[string]any{"ids": [][]int64{enc.IDs, {101, 102}}, "skip_special_tokens": false}, &texts)
	assert.Equal(t, []string{clf.Tokenizer.Decode(enc.IDs, false), clf.Tokenizer.Decode([]int64{101, 102}, false)}, texts)
	code, _ = post(t, url+"/decode", `{"ids": [999999999]}`)
	assert.Equal(t, 422, code)

	// /info, /health, GET /, /metrics, and /embed on a classifier.
	var info map[string]any
	code, body = getBody(t, url+"/info")
	require.Equal(t, 200, code)
	require.NoError(t, json.Unmarshal(body, &info))
	assert.Equal(t, float64(512), info["max_input_length"])
	assert.Equal(t, float64(DefaultMaxBatchTokens), info["max_batch_tokens"])
	assert.Equal(t, map[string]any{"classifier": map[string]any{"id2label": map[string]any{"0": "NEGATIVE", "1": "POSITIVE"},
		"label2id": map[string]any{"NEGATIVE": float64(0), "POSITIVE": float64(1)}}}, info["model_type"])
	code, _ = getBody(t, url+"/health")
	assert.Equal(t, 200, code)
	code, _ = getBody(t, url+"/")
	assert.Equal(t, 200, code)
	code, body = post(t, url+"/embed", `{"inputs": "a"}`)
	assert.Equal(t, 424, code)
	assert.Contains(t, string(body), `"error_type":"Backend"`)
	code, body = getBody(t, url+"/metrics")
	require.Equal(t, 200, code)
	m := string(body)
	singles := len(testTexts) + len(testPairs) + 3 // /predict single ones (+2 long, +1 ok) and POST / single ones
	assert.Contains(t, m, fmt.Sprintf("te_request_count{method=\"single\"} %d\n", singles+2))
	assert.Contains(t, m, "te_request_failure{err=\"validation\"} 1\n")
	for _, name := range []string{"te_request_duration", "te_request_queue_duration", "te_request_tokenization_duration", "te_request_inference_duration", "te_batch_next_size"} {
		assert.Contains(t, m, "# TYPE "+name+" histogram")
	}
	assert.Equal(t, float64(0), srv.m.queueSize.value())
}
