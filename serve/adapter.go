package serve

// This file is the only one that knows the pipelines: how to tokenize for
// a model, run a padded batch through the pipeline's Forward stage and turn
// the output into one vector per row. When the pipelines grow embeddings
// with pooling and cross-encoder reranking, this is what switches to them.

import (
	"context"
	"fmt"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/pipeline"
)

// Pooling is how /embed turns a text's token vectors into one vector
// (TEI's --pooling).
type Pooling string

// Poolings.
const (
	// PoolingMean averages the token vectors under the attention mask
	// (sentence-transformers' mean pooling).
	PoolingMean Pooling = "mean"
	// PoolingCLS takes the first token's vector.
	PoolingCLS Pooling = "cls"
)

// ParsePooling parses "mean" or "cls".
func ParsePooling(s string) (Pooling, error) {
	switch Pooling(s) {
	case PoolingMean, PoolingCLS:
		return Pooling(s), nil
	}
	return "", fmt.Errorf("serve: pooling %q: want mean or cls", s)
}

// modelKind is TEI's ModelType.
type modelKind int

const (
	kindClassifier modelKind = iota
	kindReranker             // a classifier with one label
	kindEmbedding
)

func (k modelKind) String() string {
	return [...]string{"classifier", "reranker", "embedding"}[k]
}

type adapter struct {
	kind     modelKind
	tok      *tokenizer.Tokenizer
	clf      *pipeline.TextClassification
	fe       *pipeline.FeatureExtraction
	pooling  Pooling
	maxInput int // tokens, special tokens included
	labels   []string
	fn       pipeline.Function
	dtype    string
	dir      string
}

func newAdapter(p pipeline.Pipeline, pooling Pooling) (*adapter, error) {
	a := &adapter{pooling: pooling}
	switch pp := p.(type) {
	case *pipeline.TextClassification:
		if pp == nil || pp.Tokenizer == nil || pp.Model == nil || pp.Model.Model == nil {
			return nil, fmt.Errorf("serve: the text-classification pipeline lacks its tokenizer or model: make it with pipeline.NewTextClassification")
		}
		a.clf, a.tok = pp, pp.Tokenizer
		a.kind = kindClassifier
		if pp.Model.Config.NumLabels() == 1 {
			a.kind = kindReranker
		}
		a.labels = pp.Model.Config.Labels()
		a.fn = pp.Function()
		a.maxInput = min(a.tok.ModelMaxLength(), pp.Model.MaxLength())
		a.dtype, a.dir = pp.Model.DType().String(), pp.Model.Dir
	case *pipeline.FeatureExtraction:
		if pp == nil || pp.Tokenizer == nil || pp.Model == nil || pp.Model.Model == nil {
			return nil, fmt.Errorf("serve: the feature-extraction pipeline lacks its tokenizer or model: make it with pipeline.NewFeatureExtraction")
		}
		a.fe, a.tok = pp, pp.Tokenizer
		a.kind = kindEmbedding
		a.maxInput = min(a.tok.ModelMaxLength(), pp.Model.MaxLength())
		a.dtype, a.dir = pp.Model.DType().String(), pp.Model.Dir
		if a.pooling == "" {
			a.pooling = PoolingMean
		}
	case nil:
		return nil, fmt.Errorf("serve: no pipeline given")
	default:
		return nil, fmt.Errorf("serve: task %s cannot be served: serve takes a text-classification or feature-extraction pipeline", p.Task())
	}
	if a.kind != kindEmbedding && pooling != "" {
		return nil, fmt.Errorf("serve: pooling applies to feature-extraction (embedding) models only")
	}
	return a, nil
}

// encode tokenizes the sequences. With truncate they are cut to the
// model's maximum length from the given side (right: exactly the
// pipeline's Preprocess); without, a too-long input is a Validation error,
// as in TEI.
func (a *adapter) encode(ctx context.Context, seqs []sequence, truncate, left bool) ([]tokenizer.Encoding, *apiError) {
	var singles []string
	var pairs []tokenizer.Pair
	var where []int // index into singles (>=0) or pairs (-1-i)
	for _, s := range seqs {
		if s.Pair {
			where = append(where, -1-len(pairs))
			pairs = append(pairs, tokenizer.Pair{A: s.A, B: s.B})
		} else {
			where = append(where, len(singles))
			singles = append(singles, s.A)
		}
	}
	run := func(texts []string, ps []tokenizer.Pair) ([]tokenizer.Encoding, error) {
		if len(texts) == 0 && len(ps) == 0 {
			return nil, nil
		}
		if truncate && !left {
			return pipeline.Preprocess(ctx, a.tok, texts, ps, a.maxInput)
		}
		o := tokenizer.Options{Truncation: tokenizer.NoTruncation}
		if truncate {
			o = tokenizer.Options{Truncation: tokenizer.LongestFirst, MaxLength: a.maxInput, TruncationSide: tokenizer.SideLeft}
		}
		var b *tokenizer.Batch
		var err error
		if ps != nil {
			b, err = a.tok.EncodePairBatch(ctx, ps, o)
		} else {
			b, err = a.tok.EncodeBatch(ctx, texts, o)
		}
		if err != nil {
			return nil, err
		}
		return b.Encodings, nil
	}
	se, err := run(singles, nil)
	if err != nil {
		return nil, newError(ErrTokenizer, "tokenization", "tokenizer error "+err.Error())
	}
	pe, err := run(nil, pairs)
	if err != nil {
		return nil, newError(ErrTokenizer, "tokenization", "tokenizer error "+err.Error())
	}
	out := make([]tokenizer.Encoding, len(seqs))
	for i, w := range where {
		if w >= 0 {
			out[i] = se[w]
		} else {
			out[i] = pe[-1-w]
		}
		if n := len(out[i].IDs); n > a.maxInput {
			return nil, validation(fmt.Sprintf("Input validation error: `inputs` must have less than %d tokens. Given: %d", a.maxInput, n))
		}
	}
	return out, nil
}

// fromIDs makes an encoding of token ids given by the client (TEI's
// EncodingInput::Ids: used as they are, no special tokens added).
func (a *adapter) fromIDs(ids []int64, truncate, left bool) (tokenizer.Encoding, *apiError) {
	vocab := int64(a.tok.VocabSize())
	for _, id := range ids {
		if id >= vocab {
			return tokenizer.Encoding{}, validation(fmt.Sprintf("Input validation error: token id %d is outside the vocabulary (size %d)", id, vocab))
		}
	}
	if len(ids) > a.maxInput {
		if !truncate {
			return tokenizer.Encoding{}, validation(fmt.Sprintf("Input validation error: `inputs` must have less than %d tokens. Given: %d", a.maxInput, len(ids)))
		}
		if left {
			ids = ids[len(ids)-a.maxInput:]
		} else {
			ids = ids[:a.maxInput]
		}
	}
	n := len(ids)
	e := tokenizer.Encoding{IDs: append([]int64(nil), ids...), TypeIDs: make([]int64, n), AttentionMask: make([]int64, n),
		SpecialTokensMask: make([]int64, n), Tokens: make([]string, n), Offsets: make([]tokenizer.Offset, n), ByteOffsets: make([]tokenizer.Offset, n)}
	for i, id := range ids {
		e.AttentionMask[i] = 1
		e.Tokens[i], _ = a.tok.IDToToken(id)
	}
	return e, nil
}

// width is the length of each row's output: labels, or the hidden size
// (0 until the first pass for embeddings).
func (a *adapter) numLabels() int { return len(a.labels) }

// forward runs one padded batch of the rows through the pipeline's Forward
// and returns one vector per row: the logits of a classifier, the pooled
// last hidden state of an embedding model.
func (a *adapter) forward(ctx context.Context, encs []tokenizer.Encoding) ([][]float32, error) {
	b, err := a.tok.Pad(encs, tokenizer.Options{}) // the pipeline's collate step
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(encs))
	if a.kind != kindEmbedding {
		logits, err := a.clf.Forward(ctx, b)
		if err != nil {
			return nil, err
		}
		n := len(a.labels)
		if len(logits) != n*len(encs) {
			return nil, fmt.Errorf("serve: the model returned %d logits for %d rows of %d labels", len(logits), len(encs), n)
		}
		for k := range out {
			out[k] = logits[k*n : (k+1)*n : (k+1)*n]
		}
		return out, nil
	}
	hidden, h, err := a.fe.Forward(ctx, b)
	if err != nil {
		return nil, err
	}
	for k := range out {
		out[k] = pool(hidden, b, k, h, a.pooling)
	}
	return out, nil
}

// pool reduces row k of last_hidden_state ([batch, seq, h]) to one vector:
// the mean of its unpadded token vectors (summed in token order in float32,
// then divided by the count, as sentence-transformers' mean pooling), or its
// first token's vector.
func pool(hidden []float32, b *tokenizer.Batch, k, h int, how Pooling) []float32 {
	out := make([]float32, h)
	row := hidden[k*b.SeqLen*h : (k+1)*b.SeqLen*h]
	if how == PoolingCLS {
		copy(out, row[:h])
		return out
	}
	var n float32
	for j := 0; j < b.SeqLen; j++ {
		if b.AttentionMask[k*b.SeqLen+j] == 0 {
			continue
		}
		n++
		for i, v := range row[j*h : (j+1)*h] {
			out[i] += v
		}
	}
	for i := range out {
		out[i] /= max(n, 1e-9)
	}
	return out
}

// scores turns a row's logits into the pipeline's results, every label,
// best first: with the pipeline's function, or none for raw_scores.
func (a *adapter) scores(logits []float32, raw bool, fn pipeline.Function, topK int) []pipeline.Result {
	if fn == pipeline.FunctionAuto {
		fn = a.fn
	}
	if raw {
		fn = pipeline.FunctionNone
	}
	label := func(i int) string { return a.labels[i] }
	return pipeline.Postprocess(logits, len(a.labels), label, fn, topK)[0]
}
