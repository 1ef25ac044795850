package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"sort"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

// Reranker is the text-ranking (reranking) pipeline: a cross-encoder (a
// sequence classifier that reads a query and a document together) scores
// documents against a query, as sentence-transformers' CrossEncoder.rank
// and predict do, and TEI's /rerank serves. It is safe for concurrent use.
//
// Make it with [NewReranker] or [NewRerankerFrom]; a struct literal with
// Tokenizer and Model set runs with the constructor's defaults.
type Reranker struct {
	// Tokenizer encodes the (query, document) pairs.
	Tokenizer *tokenizer.Tokenizer
	// Model is the cross-encoder.
	Model *hf.ModelForSequenceClassification

	opts     Options
	borrowed bool
}

// DefaultRerankBatchSize is CrossEncoder.predict's and rank's batch_size.
const DefaultRerankBatchSize = 32

// DefaultRerankModel is the model NewReranker loads when none is given.
const DefaultRerankModel = "cross-encoder/ms-marco-MiniLM-L6-v2"

// NewReranker loads the tokenizer and cross-encoder of opts' model
// (DefaultRerankModel if none is given). The batch size defaults to 32, as
// CrossEncoder's.
func NewReranker(ctx context.Context, opts ...Option) (*Reranker, error) {
	o, tok, err := loadTokenizer(ctx, "text-ranking", append([]Option{WithModel(DefaultRerankModel), WithBatchSize(DefaultRerankBatchSize)}, opts...))
	if err != nil {
		return nil, err
	}
	model, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, o.Model, o.hfOptions()...)
	if err != nil {
		return nil, fmt.Errorf("pipeline: text-ranking: %w", err)
	}
	p := &Reranker{Tokenizer: tok, Model: model, opts: *o}
	if err := p.validate(); err != nil {
		model.Close()
		return nil, err
	}
	return p, nil
}

// NewRerankerFrom makes a reranking pipeline of a tokenizer and a
// cross-encoder already loaded. The caller keeps the model: the pipeline's
// Close leaves it open.
func NewRerankerFrom(tok *tokenizer.Tokenizer, model *hf.ModelForSequenceClassification, opts ...Option) (*Reranker, error) {
	var m *hf.Model
	if model != nil {
		m = model.Model
	}
	o, err := partsOptions("text-ranking", "NewReranker", tok, m, "hf.AutoModelForSequenceClassification", append([]Option{WithBatchSize(DefaultRerankBatchSize)}, opts...))
	if err != nil {
		return nil, err
	}
	p := &Reranker{Tokenizer: tok, Model: model, opts: *o, borrowed: true}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Reranker) validate() error {
	if _, err := p.DefaultActivation(); err != nil {
		return err
	}
	_, err := p.callSettings(nil)
	return err
}

// Task returns "text-ranking".
func (p *Reranker) Task() string { return "text-ranking" }

// Close frees the model, except for a pipeline made with NewRerankerFrom,
// whose caller closes the model.
func (p *Reranker) Close() error {
	if p.borrowed || p.Model == nil {
		return nil
	}
	return p.Model.Close()
}

func (p *Reranker) settings() *Options {
	if p.opts.BatchSize == 0 {
		o := literalOptions
		o.BatchSize = DefaultRerankBatchSize
		return &o
	}
	return &p.opts
}

func (p *Reranker) check() error {
	const how = "make it with NewReranker, or NewRerankerFrom with parts from hf.AutoTokenizer and hf.AutoModelForSequenceClassification"
	switch {
	case p.Model == nil || p.Model.Model == nil:
		return errors.New("pipeline: text-ranking has no Model: " + how)
	case p.Tokenizer == nil:
		return errors.New("pipeline: text-ranking has no Tokenizer: " + how)
	}
	return nil
}

// Activation is the function a cross-encoder applies to its logits
// (CrossEncoder's activation_fn).
type Activation int

// Activations. ActivationAuto is what the model's config says
// (sentence_transformers.activation_fn), else sigmoid for one label and
// identity otherwise, as CrossEncoder chooses.
const (
	ActivationAuto Activation = iota
	ActivationSigmoid
	ActivationIdentity
)

// String returns the activation's torch class name.
func (a Activation) String() string {
	switch a {
	case ActivationSigmoid:
		return "torch.nn.modules.activation.Sigmoid"
	case ActivationIdentity:
		return "torch.nn.modules.linear.Identity"
	}
	return "auto"
}

// DefaultActivation is the activation the model's config.json asks for
// (sentence_transformers.activation_fn, or the older
// sbert_ce_default_activation_function), else sigmoid for a single label
// and identity otherwise, as CrossEncoder.get_default_activation_fn. A torch
// activation other than Sigmoid and Identity is an error naming it.
func (p *Reranker) DefaultActivation() (Activation, error) {
	if err := p.check(); err != nil {
		return 0, err
	}
	cfg := p.Model.Config
	var path string
	var st struct {
		ActivationFn string `json:"activation_fn"`
	}
	if raw, ok := cfg.Raw("sentence_transformers"); ok && json.Unmarshal(raw, &st) == nil && st.ActivationFn != "" {
		path = st.ActivationFn
	} else if raw, ok := cfg.Raw("sbert_ce_default_activation_function"); ok {
		_ = json.Unmarshal(raw, &path)
	}
	switch path {
	case "":
	case "torch.nn.modules.activation.Sigmoid", "torch.nn.Sigmoid":
		return ActivationSigmoid, nil
	case "torch.nn.modules.linear.Identity", "torch.nn.Identity":
		return ActivationIdentity, nil
	default:
		// CrossEncoder imports torch.* paths and falls back to its default
		// for others (unless trust_remote_code); a torch function hfpipe
		// does not have is an error, not a silent change of scores.
		if len(path) > 6 && path[:6] == "torch." {
			return 0, fmt.Errorf("pipeline: text-ranking: %s asks for activation %s; hfpipe applies Sigmoid or Identity: pass ActivationFn(...) to choose", cfg.Path, path)
		}
	}
	if cfg.NumLabels() == 1 {
		return ActivationSigmoid, nil
	}
	return ActivationIdentity, nil
}

// RerankSettings are the reranker's call keywords (CrossEncoder.rank's).
type RerankSettings struct {
	// TopK keeps the k best documents (AllLabels, the default: all).
	TopK int
	// ReturnDocuments puts each document's text in its result.
	ReturnDocuments bool
	// ActivationFn is applied to the logits (ActivationAuto: the model's).
	ActivationFn Activation
}

func (s *RerankSettings) setTopK(k int) { s.TopK = k }

var rerankTakes = []string{"top_k", "return_documents", "activation_fn"}

// ReturnDocuments puts each document's text in its ranked result
// (CrossEncoder.rank's return_documents, TEI's return_text).
func ReturnDocuments(on bool) CallOption {
	return callOption("return_documents", func(s *RerankSettings) { s.ReturnDocuments = on })
}

// ActivationFn sets the function applied to the cross-encoder's logits
// (CrossEncoder's activation_fn; ActivationIdentity gives TEI's raw_scores).
func ActivationFn(a Activation) CallOption {
	if a < ActivationAuto || a > ActivationIdentity {
		return badOption("activation_fn", fmt.Errorf("unknown activation %d", a))
	}
	return callOption("activation_fn", func(s *RerankSettings) { s.ActivationFn = a })
}

func (p *Reranker) callSettings(opts []CallOption) (RerankSettings, error) {
	d := p.settings().Defaults
	s, err := applyCall("text-ranking", RerankSettings{TopK: AllLabels}, append(d[:len(d):len(d)], opts...), rerankTakes)
	if err != nil || s.ActivationFn != ActivationAuto || p.check() != nil {
		return s, err
	}
	s.ActivationFn, err = p.DefaultActivation()
	return s, err
}

// RerankInput is one query with the documents to rank for it.
type RerankInput struct {
	Query     string   `json:"query"`
	Documents []string `json:"documents"`
}

// Ranked is one document's place in a ranking: its index in the input, its
// score and (with ReturnDocuments) its text; TEI's /rerank answer shape.
type Ranked struct {
	Index int     `json:"index"`
	Score float64 `json:"score"`
	Text  string  `json:"text,omitempty"`
}

// Rank scores documents against query and returns them best first (equal
// scores in input order), as CrossEncoder.rank does. The model must have
// one label. No documents is an error.
func (p *Reranker) Rank(ctx context.Context, query string, documents []string, opts ...CallOption) ([]Ranked, error) {
	res, err := p.Run(ctx, []RerankInput{{Query: query, Documents: documents}}, opts...)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// Run ranks each input's documents against its query; see Rank. All
// (query, document) pairs of the call go through the model together, in
// batches.
func (p *Reranker) Run(ctx context.Context, inputs []RerankInput, opts ...CallOption) ([][]Ranked, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	s, err := p.callSettings(opts)
	if err != nil {
		return nil, err
	}
	if n := p.Model.Config.NumLabels(); n != 1 {
		return nil, fmt.Errorf("pipeline: text-ranking: the model has %d labels, and ranking needs a cross-encoder with one (a score per pair): use Predict, or text-classification's RunPairs, for a %d-label pair classifier", n, n)
	}
	var pairs []tokenizer.Pair
	for i, in := range inputs {
		if len(in.Documents) == 0 {
			return nil, fmt.Errorf("pipeline: text-ranking: input %d has no documents to rank", i)
		}
		for _, d := range in.Documents {
			pairs = append(pairs, tokenizer.Pair{A: in.Query, B: d})
		}
	}
	scores, err := p.predict(ctx, pairs, s.ActivationFn)
	if err != nil {
		return nil, err
	}
	out := make([][]Ranked, len(inputs))
	off := 0
	for i, in := range inputs {
		r := make([]Ranked, len(in.Documents))
		for j := range r {
			r[j] = Ranked{Index: j, Score: float64(scores[off+j])}
			if s.ReturnDocuments {
				r[j].Text = in.Documents[j]
			}
		}
		off += len(in.Documents)
		// Python's sorted(reverse=True) is stable: ties keep input order.
		sort.SliceStable(r, func(a, b int) bool { return r[a].Score > r[b].Score })
		if s.TopK > 0 && s.TopK < len(r) {
			r = r[:s.TopK]
		}
		out[i] = r
	}
	return out, nil
}

// Predict scores sentence pairs as CrossEncoder.predict does: per pair, the
// activation of each logit (one score for a one-label model), in input
// order. The call options top_k and return_documents do not apply here.
func (p *Reranker) Predict(ctx context.Context, pairs []tokenizer.Pair, opts ...CallOption) ([][]float32, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	s, err := p.callSettings(opts)
	if err != nil {
		return nil, err
	}
	flat, err := p.predict(ctx, pairs, s.ActivationFn)
	if err != nil {
		return nil, err
	}
	n := p.Model.Config.NumLabels()
	out := make([][]float32, len(pairs))
	for i := range out {
		out[i] = flat[i*n : (i+1)*n : (i+1)*n]
	}
	return out, nil
}

// predict runs the pairs in input order (CrossEncoder batches them so; with
// the same batches the logits are the same bits) and applies act.
func (p *Reranker) predict(ctx context.Context, pairs []tokenizer.Pair, act Activation) ([]float32, error) {
	encs, err := Preprocess(ctx, p.Tokenizer, nil, nonNil(pairs), p.settings().maxLength(p.Tokenizer, p.Model.Model))
	if err != nil {
		return nil, err
	}
	n := p.Model.Config.NumLabels()
	out := make([]float32, len(pairs)*n)
	err = eachBatch(ctx, p.Tokenizer, encs, p.settings(), func(rows []int, b *tokenizer.Batch) error {
		res, err := p.Model.Forward(ctx, b)
		if err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		v, err := floats(res.Logits)
		res.Close()
		if err != nil {
			return err
		}
		for k, r := range rows {
			copy(out[r*n:(r+1)*n], v[k*n:(k+1)*n])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if act == ActivationSigmoid {
		sigmoid(out, out)
	}
	return out, nil
}

// RunAny runs Run on a []RerankInput (result [][]Ranked) or Predict on a
// []tokenizer.Pair (result [][]float32).
func (p *Reranker) RunAny(ctx context.Context, inputs any, opts ...CallOption) (any, error) {
	switch in := inputs.(type) {
	case []RerankInput:
		return p.Run(ctx, in, opts...)
	case []tokenizer.Pair:
		return p.Predict(ctx, in, opts...)
	}
	return nil, inputTypeError("text-ranking", inputs, "[]RerankInput or []tokenizer.Pair")
}

// Stream ranks the inputs of seq as they come, a chunk at a time, yielding
// one ranking per input in input order (or the error that stopped it,
// once); memory stays bounded by the chunk.
func (p *Reranker) Stream(ctx context.Context, seq iter.Seq[RerankInput], opts ...CallOption) iter.Seq2[[]Ranked, error] {
	return streamChunks(seq, streamBatches, func(in []RerankInput) ([][]Ranked, error) {
		return p.Run(ctx, in, opts...)
	})
}
