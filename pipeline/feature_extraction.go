package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

// FeatureExtraction is the feature-extraction pipeline: the last hidden
// states of the base model for each input. It is safe for concurrent use.
//
// Make it with [NewFeatureExtraction] (which loads a model) or
// [NewFeatureExtractionFrom] (which takes loaded parts). A struct literal
// with Tokenizer and Model set also works and runs with
// NewFeatureExtraction's defaults; one with either missing returns an
// error from every call.
type FeatureExtraction struct {
	// Tokenizer encodes the inputs.
	Tokenizer *tokenizer.Tokenizer
	// Model computes the hidden states.
	Model *hf.BaseModel

	opts     Options
	borrowed bool // the caller owns Model (NewFeatureExtractionFrom)
}

// NewFeatureExtraction loads the tokenizer and base model of opts' model.
func NewFeatureExtraction(ctx context.Context, opts ...Option) (*FeatureExtraction, error) {
	o, tok, err := loadTokenizer(ctx, "feature-extraction", opts)
	if err != nil {
		return nil, err
	}
	model, err := hf.AutoModel.FromPretrained(ctx, o.Model, o.hfOptions()...)
	if err != nil {
		return nil, fmt.Errorf("pipeline: feature-extraction: %w", err)
	}
	return &FeatureExtraction{Tokenizer: tok, Model: model, opts: *o}, nil
}

// NewFeatureExtractionFrom makes a feature-extraction pipeline of a
// tokenizer and a base model that are already loaded, as transformers'
// pipeline("feature-extraction", model=model, tokenizer=tokenizer) does.
// Options other than the loading ones (WithModel, WithHF) apply; WithDevice
// and WithDType, if given, must match the model's. The caller keeps the
// model: the pipeline's Close leaves it open.
func NewFeatureExtractionFrom(tok *tokenizer.Tokenizer, model *hf.BaseModel, opts ...Option) (*FeatureExtraction, error) {
	var m *hf.Model
	if model != nil {
		m = model.Model
	}
	o, err := partsOptions("feature-extraction", "NewFeatureExtraction", tok, m, "hf.AutoModel", opts)
	if err != nil {
		return nil, err
	}
	return &FeatureExtraction{Tokenizer: tok, Model: model, opts: *o, borrowed: true}, nil
}

// Task returns "feature-extraction".
func (p *FeatureExtraction) Task() string { return "feature-extraction" }

// Close frees the model, except for a pipeline made with
// NewFeatureExtractionFrom, whose caller closes the model.
func (p *FeatureExtraction) Close() error {
	if p.borrowed || p.Model == nil {
		return nil
	}
	return p.Model.Close()
}

// settings returns the pipeline's options: its constructor's, or the
// defaults for a struct literal.
func (p *FeatureExtraction) settings() *Options {
	if p.opts.BatchSize == 0 {
		return &literalOptions
	}
	return &p.opts
}

// check reports a pipeline that lacks a part.
func (p *FeatureExtraction) check(needTokenizer bool) error {
	const how = "make it with NewFeatureExtraction, or NewFeatureExtractionFrom with parts from hf.AutoTokenizer and hf.AutoModel"
	switch {
	case p.Model == nil || p.Model.Model == nil:
		return errors.New("pipeline: feature-extraction has no Model: " + how)
	case needTokenizer && p.Tokenizer == nil:
		return errors.New("pipeline: feature-extraction has no Tokenizer: " + how)
	}
	return nil
}

func (p *FeatureExtraction) maxLength() int {
	return p.settings().maxLength(p.Tokenizer, p.Model.Model)
}

// Run returns, per text, the hidden state of each of its tokens
// ([tokens][hidden], special tokens included, padding left out): what
// transformers' pipeline returns for one input at a time.
func (p *FeatureExtraction) Run(ctx context.Context, texts ...string) ([][][]float32, error) {
	if err := p.check(true); err != nil {
		return nil, err
	}
	encs, err := Preprocess(ctx, p.Tokenizer, texts, nil, p.maxLength())
	if err != nil {
		return nil, err
	}
	out := make([][][]float32, len(encs))
	err = eachBatch(ctx, p.Tokenizer, encs, p.settings(), func(rows []int, b *tokenizer.Batch) error {
		hidden, h, err := p.Forward(ctx, b)
		if err != nil {
			return err
		}
		for k, r := range rows {
			out[r] = unpad(hidden, b, k, h)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Forward runs the base model on a padded batch and returns
// last_hidden_state as float32, row-major [batch, seq, hidden], and hidden.
func (p *FeatureExtraction) Forward(ctx context.Context, b *tokenizer.Batch) ([]float32, int, error) {
	if err := p.check(false); err != nil {
		return nil, 0, err
	}
	out, err := p.Model.Forward(ctx, b)
	if err != nil {
		return nil, 0, fmt.Errorf("pipeline: %w", err)
	}
	defer out.Close()
	s := out.LastHiddenState.Shape()
	if len(s) != 3 || s[0] != int64(b.Size) || s[1] != int64(b.SeqLen) {
		return nil, 0, fmt.Errorf("pipeline: last_hidden_state has shape %v, want [%d %d hidden]", s, b.Size, b.SeqLen)
	}
	v, err := floats(out.LastHiddenState)
	return v, int(s[2]), err
}

// unpad returns row k's token vectors, without its padding positions.
func unpad(hidden []float32, b *tokenizer.Batch, k, h int) [][]float32 {
	var rows [][]float32
	for j := 0; j < b.SeqLen; j++ {
		if b.AttentionMask[k*b.SeqLen+j] == 0 {
			continue
		}
		off := (k*b.SeqLen + j) * h
		rows = append(rows, hidden[off:off+h:off+h])
	}
	return rows
}
