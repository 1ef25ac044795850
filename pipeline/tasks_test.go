package pipeline

import (
	"context"
	"iter"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/internal/testenv"
)

func taskModel(t *testing.T, name string) string {
	t.Helper()
	dir, err := testenv.TaskModels()
	require.NoError(t, err)
	return filepath.Join(dir, name)
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	return dir
}

func TestLoadSentenceConfig(t *testing.T) {
	const tr = `{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"}`
	const pool = `{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}`
	const norm = `{"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}`
	dir := writeFiles(t, map[string]string{
		"modules.json":                      "[" + tr + "," + pool + "," + norm + "]",
		"1_Pooling/config.json":             `{"word_embedding_dimension": 8, "pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false, "include_prompt": false}`,
		"sentence_bert_config.json":         `{"max_seq_length": 128, "do_lower_case": true}`,
		"config_sentence_transformers.json": `{"prompts": {"query": "query: ", "document": ""}, "default_prompt_name": "query"}`,
	})
	c, err := LoadSentenceConfig(dir)
	require.NoError(t, err)
	assert.Equal(t, &SentenceConfig{ModelDir: dir, Pooling: Pooling{CLS: true}, Normalize: true, MaxSeqLength: 128, DoLowerCase: true,
		Prompts: map[string]string{"query": "query: ", "document": ""}, DefaultPromptName: "query", SentenceTransformers: true}, c)

	// No modules.json: mean pooling, as SentenceTransformer makes it.
	c, err = LoadSentenceConfig(t.TempDir())
	require.NoError(t, err)
	assert.Equal(t, "mean", c.Pooling.String())
	assert.False(t, c.Normalize)

	for name, files := range map[string]map[string]string{
		"not JSON":          {"modules.json": "[{"},
		"Dense module":      {"modules.json": "[" + tr + "," + pool + `,{"idx":2,"name":"2","path":"2_Dense","type":"sentence_transformers.models.Dense"}]`, "1_Pooling/config.json": `{}`},
		"no pooling":        {"modules.json": "[" + tr + "]"},
		"escaping path":     {"modules.json": `[{"path":"../x","type":"sentence_transformers.models.Transformer"}]`},
		"bad mode":          {"modules.json": "[" + tr + "," + pool + "]", "1_Pooling/config.json": `{"pooling_mode": "median"}`},
		"no mode on":        {"modules.json": "[" + tr + "," + pool + "]", "1_Pooling/config.json": `{"pooling_mode_mean_tokens": false}`},
		"bad max length":    {"modules.json": "[" + tr + "," + pool + "]", "1_Pooling/config.json": `{}`, "sentence_bert_config.json": `{"max_seq_length": 0}`},
		"missing default":   {"config_sentence_transformers.json": `{"prompts": {}, "default_prompt_name": "query"}`},
		"pooling not JSON":  {"modules.json": "[" + tr + "," + pool + "]", "1_Pooling/config.json": `{"pooling_mode_cls_token": "yes"}`},
		"normalize first":   {"modules.json": "[" + norm + "," + tr + "," + pool + "]"},
		"missing pool file": {"modules.json": "[" + tr + "," + pool + "]"},
	} {
		_, err := LoadSentenceConfig(writeFiles(t, files))
		assert.Error(t, err, name)
	}
}

// Pool follows Pooling.forward on a hand-made row (2 real tokens, 1 pad).
func TestPool(t *testing.T) {
	h := []float32{1, -2, 3, 4, 5, -6, 100, 100, 100}
	mask := []int64{1, 1, 0}
	assert.Equal(t, []float32{1, -2, 3}, Pool(Pooling{CLS: true}, h, mask, 3, 0))
	assert.Equal(t, []float32{4, 5, 3}, Pool(Pooling{Max: true}, h, mask, 3, 0))
	assert.Equal(t, []float32{2.5, 1.5, -1.5}, Pool(Pooling{Mean: true}, h, mask, 3, 0))
	s := float32(math.Sqrt(2))
	assert.Equal(t, []float32{5 / s, 3 / s, -3 / s}, Pool(Pooling{MeanSqrtLen: true}, h, mask, 3, 0))
	assert.Equal(t, []float32{9.0 / 3, 8.0 / 3, -9.0 / 3}, Pool(Pooling{WeightedMean: true}, h, mask, 3, 0))
	assert.Equal(t, []float32{4, 5, -6}, Pool(Pooling{LastToken: true}, h, mask, 3, 0))
	assert.Equal(t, []float32{1, -2, 3, 2.5, 1.5, -1.5}, Pool(Pooling{CLS: true, Mean: true}, h, mask, 3, 0))
	// A prompt of one token left out of the pooling (CLS still the first).
	assert.Equal(t, []float32{4, 5, -6}, Pool(Pooling{Mean: true}, h, mask, 3, 1))
	v := []float32{3, 4}
	NormalizeL2(v)
	assert.Equal(t, []float32{0.6, 0.8}, v)
}

func TestPythonStrings(t *testing.T) {
	// Expected values are Python 3.11's str.strip() and str.lower().
	assert.Equal(t, "a b", pyStrip("\x1c\u3000 a b\u0085\x1f\t"))
	assert.Equal(t, "\u200bx", pyStrip("\u200bx "))
	for in, want := range map[string]string{
		"ΣΟΦΟΣ ΟΔΥΣΣΕΥΣ": "σοφος οδυσσευς",
		"İstanbul":       "i\u0307stanbul",
		"Σ":              "σ",
		"AΣ.":            "aς.",
		"AΣ'B":           "aσ'b",
		"ΣA":             "σa",
		"Plain ASCII":    "plain ascii",
	} {
		assert.Equal(t, want, pyLower(in), in)
	}
}

func TestFormatHypothesisAndLabels(t *testing.T) {
	for tpl, want := range map[string]string{
		DefaultHypothesisTemplate: "This example is sports.",
		"{0} and {0}":             "sports and sports",
		"{{literal}} {}":          "{literal} sports",
		"{}":                      "sports",
	} {
		got, err := FormatHypothesis(tpl, "sports")
		require.NoError(t, err, tpl)
		assert.Equal(t, want, got, tpl)
	}
	for _, tpl := range []string{"no placeholder", "{} and {}", "{label}", "{:>10}", "open {", "close }", "{0} {}"} {
		_, err := FormatHypothesis(tpl, "sports")
		assert.Error(t, err, tpl)
	}
	assert.Equal(t, []string{"a", "b c", "d"}, ParseCandidateLabels(" a, b c ,,d, "))
}

// ZeroShotScores on hand-made logits: softmax of entailment over labels,
// and per label (entailment vs contradiction, the last class when
// entailment is class 0).
func TestZeroShotScores(t *testing.T) {
	// 3 labels × 3 classes (entailment, neutral, contradiction).
	logits := []float32{2, 0, 1, 0, 0, 0, 1, 5, -1}
	r := ZeroShotScores("s", []string{"a", "b", "c"}, logits, 3, 0, false)
	e := []float64{math.Exp(2), 1, math.E}
	sum := e[0] + e[1] + e[2]
	assert.Equal(t, []string{"a", "c", "b"}, r.Labels)
	assert.InDeltaSlice(t, []float64{e[0] / sum, e[2] / sum, e[1] / sum}, r.Scores, 1e-7)
	r = ZeroShotScores("s", []string{"a", "b", "c"}, logits, 3, 0, true)
	assert.Equal(t, []string{"c", "a", "b"}, r.Labels) // 1 vs -1; 2 vs 1; 0 vs 0
	assert.InDeltaSlice(t, []float64{1 / (1 + math.Exp(-2)), 1 / (1 + math.Exp(-1)), 0.5}, r.Scores, 1e-7)
	// Equal scores: numpy's reversed ascending argsort puts the later first.
	r = ZeroShotScores("s", []string{"x", "y"}, []float32{1, 0, 1, 0}, 2, -1, false)
	assert.Equal(t, []string{"y", "x"}, r.Labels)
}

func TestEntailmentID(t *testing.T) {
	dir := taskModel(t, "nli")
	cfg, err := os.ReadFile(filepath.Join(dir, "config.json"))
	require.NoError(t, err)
	for body, want := range map[string]int{
		`{"model_type":"bert","id2label":{"0":"A","1":"B","2":"C"},"label2id":{"A":0,"Entailment_x":2,"entailment":1}}`: 2,
		`{"model_type":"bert","id2label":{"0":"A","1":"B"},"label2id":{"A":0,"B":1}}`:                                   -1,
		`{"model_type":"bert"}`: -1,
	} {
		c, err := hf.ParseConfig([]byte(body), "config.json")
		require.NoError(t, err)
		p := &ZeroShotClassification{Tokenizer: &tokenizer.Tokenizer{}, Model: &hf.ModelForSequenceClassification{Model: &hf.Model{Config: c}}}
		got, err := p.EntailmentID()
		require.NoError(t, err, body)
		assert.Equal(t, want, got, body)
	}
	c, err := hf.ParseConfig([]byte(`{"model_type":"bert","id2label":{"0":"entailment","1":"B"}}`), "config.json")
	require.NoError(t, err)
	p := &ZeroShotClassification{Tokenizer: &tokenizer.Tokenizer{}, Model: &hf.ModelForSequenceClassification{Model: &hf.Model{Config: c}}}
	_, err = p.EntailmentID()
	assert.ErrorContains(t, err, "no label2id")
	assert.Contains(t, string(cfg), `"ENTAILMENT": 0`)
}

// Bad input to the task pipelines: errors that name the cause.
func TestTaskErrors(t *testing.T) {
	ctx := context.Background()
	nli := taskModel(t, "nli")
	zs, err := NewZeroShotClassification(ctx, WithModel(nli))
	require.NoError(t, err)
	defer zs.Close()
	_, err = zs.Run(ctx, []string{"text"})
	assert.ErrorContains(t, err, "no candidate labels")
	_, err = zs.Run(ctx, []string{"text", ""}, CandidateLabels("a"))
	assert.ErrorContains(t, err, "text 1 is empty")
	_, err = zs.Run(ctx, []string{"text"}, CandidateLabels("a"), HypothesisTemplate("no place"))
	assert.ErrorContains(t, err, "has no {} for the label")
	_, err = zs.Run(ctx, []string{"text"}, CandidateLabels("a"), TopK(2))
	assert.ErrorContains(t, err, "takes no top_k")
	long := make([]string, 600)
	for i := range long {
		long[i] = "word"
	}
	_, err = zs.Run(ctx, []string{"text"}, CandidateLabels(strings.Join(long, " ")))
	assert.ErrorContains(t, err, "does not fit")
	res, err := zs.Run(ctx, nil, CandidateLabels("a"))
	require.NoError(t, err)
	assert.Empty(t, res)

	// A base model has no classification head.
	_, err = NewZeroShotClassification(ctx, WithModel(taskModel(t, "st-cls")))
	assert.ErrorContains(t, err, "ForSequenceClassification")
	_, err = NewReranker(ctx, WithModel(taskModel(t, "st-cls")))
	assert.ErrorContains(t, err, "ForSequenceClassification")

	// Ranking needs one label; the NLI model has three.
	rr, err := NewReranker(ctx, WithModel(nli))
	require.NoError(t, err)
	defer rr.Close()
	_, err = rr.Rank(ctx, "q", []string{"d"})
	assert.ErrorContains(t, err, "has 3 labels")
	pred, err := rr.Predict(ctx, []tokenizer.Pair{{A: "q", B: "d"}})
	require.NoError(t, err)
	assert.Len(t, pred[0], 3)

	ce, err := NewReranker(ctx, WithModel(taskModel(t, "cross-encoder")))
	require.NoError(t, err)
	defer ce.Close()
	_, err = ce.Rank(ctx, "q", nil)
	assert.ErrorContains(t, err, "no documents")
	_, err = ce.Rank(ctx, "q", []string{"d"}, CandidateLabels("x"))
	assert.ErrorContains(t, err, "takes no candidate_labels")
	raw, err := ce.Rank(ctx, "q", []string{"a", "b"}, ActivationFn(ActivationIdentity))
	require.NoError(t, err)
	sig, err := ce.Rank(ctx, "q", []string{"a", "b"}, ReturnDocuments(true))
	require.NoError(t, err)
	for i := range raw {
		assert.InDelta(t, 1/(1+math.Exp(-raw[i].Score)), sig[i].Score, 1e-7)
		assert.Equal(t, []string{"a", "b"}[sig[i].Index], sig[i].Text)
	}

	se, err := NewSentenceEmbedding(ctx, WithModel(taskModel(t, "st-cls")))
	require.NoError(t, err)
	defer se.Close()
	_, err = se.Run(ctx, []string{"x"}, PromptName("query"))
	assert.ErrorContains(t, err, `prompt name "query"`)
	_, err = se.Run(ctx, []string{"x"}, MultiLabel(true))
	assert.ErrorContains(t, err, "takes no multi_label")
	_, err = (&SentenceEmbedding{}).Run(ctx, []string{"x"})
	assert.ErrorContains(t, err, "has no Model")
}

// Parts loaded once make the task pipelines; closing the pipelines leaves
// the shared model open.
func TestTaskPipelinesFromParts(t *testing.T) {
	ctx := context.Background()
	dir := taskModel(t, "nli")
	tok, err := hf.AutoTokenizer.FromPretrained(ctx, dir)
	require.NoError(t, err)
	model, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, dir)
	require.NoError(t, err)
	defer model.Close()
	zs, err := NewZeroShotClassificationFrom(tok, model, WithDefaults(CandidateLabels("a", "b"), MultiLabel(true)))
	require.NoError(t, err)
	rr, err := NewRerankerFrom(tok, model)
	require.NoError(t, err)
	require.NoError(t, zs.Close())
	require.NoError(t, rr.Close())
	res, err := zs.Run(ctx, []string{"still open"})
	require.NoError(t, err)
	assert.Len(t, res[0].Labels, 2)
	_, err = NewZeroShotClassificationFrom(tok, model, WithModel(dir))
	assert.ErrorContains(t, err, "WithModel")
	_, err = NewZeroShotClassificationFrom(tok, model, WithDefaults(ReturnDocuments(true)))
	assert.ErrorContains(t, err, "return_documents")

	st := taskModel(t, "st-mean-max")
	base, err := hf.AutoModel.FromPretrained(ctx, st)
	require.NoError(t, err)
	defer base.Close()
	se, err := NewSentenceEmbeddingFrom(tok, base, nil)
	require.NoError(t, err)
	assert.Equal(t, "max+mean", se.Config.Pooling.String(), "read from the model's folder")
	v, err := se.Run(ctx, []string{"hello"})
	require.NoError(t, err)
	assert.Len(t, v[0], 2*base.Config.HiddenSize)
}

// Streams give Run's results in input order, read their input a chunk at a
// time, and stop reading when the consumer stops.
func TestStreams(t *testing.T) {
	ctx := context.Background()
	texts, pairs := parityCorpus(60, 5, 1, 30)
	read := 0
	counted := func(yield func(string) bool) {
		for _, s := range texts {
			read++
			if !yield(s) {
				return
			}
		}
	}
	var seq iter.Seq[string] = counted

	// In input order (no bucketing) a stream's chunks make the batches Run
	// makes, so the results are the same bits.
	se, err := NewSentenceEmbedding(ctx, WithModel(taskModel(t, "st-max")), WithBatchSize(4), WithoutBucketing())
	require.NoError(t, err)
	defer se.Close()
	want, err := se.Run(ctx, texts)
	require.NoError(t, err)
	i := 0
	for v, err := range se.Stream(ctx, seq) {
		require.NoError(t, err)
		assert.Equal(t, want[i], v, "text %d", i)
		i++
	}
	assert.Equal(t, len(texts), i)
	read = 0
	for range se.Stream(ctx, seq) {
		break
	}
	assert.Equal(t, 4*streamBatches, read, "one chunk read before the first result")

	clf, err := NewTextClassification(ctx, WithModel(taskModel(t, "nli")), WithTopK(AllLabels), WithoutBucketing())
	require.NoError(t, err)
	defer clf.Close()
	wantP, err := clf.RunPairs(ctx, pairs)
	require.NoError(t, err)
	i = 0
	for r, err := range clf.StreamPairs(ctx, slices.Values(pairs)) {
		require.NoError(t, err)
		assert.Equal(t, wantP[i], r)
		i++
	}
	assert.Equal(t, len(pairs), i)

	zs, err := NewZeroShotClassification(ctx, WithModel(taskModel(t, "nli")))
	require.NoError(t, err)
	defer zs.Close()
	n := 0
	for _, err := range zs.Stream(ctx, slices.Values([]string{"a", "b"})) {
		assert.ErrorContains(t, err, "no candidate labels")
		n++
	}
	assert.Equal(t, 1, n, "an error ends the stream")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	for _, err := range clf.Stream(cctx, slices.Values(texts)) {
		assert.ErrorIs(t, err, context.Canceled)
	}
}
