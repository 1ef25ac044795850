package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/torch"
)

// TextClassification is the text-classification (alias sentiment-analysis)
// pipeline. It is safe for concurrent use.
//
// Make it with [NewTextClassification] (which loads a model) or
// [NewTextClassificationFrom] (which takes loaded parts). A struct literal
// with Tokenizer and Model set also works and runs with
// NewTextClassification's defaults; one with either missing returns an
// error from every call.
type TextClassification struct {
	// Tokenizer encodes the inputs.
	Tokenizer *tokenizer.Tokenizer
	// Model computes the logits.
	Model *hf.ModelForSequenceClassification

	opts     Options
	fn       Function
	borrowed bool // the caller owns Model (NewTextClassificationFrom)
}

// NewTextClassification loads the tokenizer and classifier of opts' model.
func NewTextClassification(ctx context.Context, opts ...Option) (*TextClassification, error) {
	o, tok, err := loadTokenizer(ctx, "text-classification", opts)
	if err != nil {
		return nil, err
	}
	model, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, o.Model, o.hfOptions()...)
	if err != nil {
		return nil, fmt.Errorf("pipeline: text-classification: %w", err)
	}
	p := &TextClassification{Tokenizer: tok, Model: model, opts: *o, fn: resolveFunction(o.Function, model)}
	if _, _, err := p.callSettings(nil); err != nil {
		model.Close()
		return nil, err
	}
	return p, nil
}

// NewTextClassificationFrom makes a text-classification pipeline of a
// tokenizer and a classifier that are already loaded, as transformers'
// pipeline("text-classification", model=model, tokenizer=tokenizer) does.
// Options other than the loading ones (WithModel, WithHF) apply; WithDevice
// and WithDType, if given, must match the model's. The caller keeps the
// model: the pipeline's Close leaves it open, so that several pipelines
// (say with different top-k) can share one model.
func NewTextClassificationFrom(tok *tokenizer.Tokenizer, model *hf.ModelForSequenceClassification, opts ...Option) (*TextClassification, error) {
	var m *hf.Model
	if model != nil {
		m = model.Model
	}
	o, err := partsOptions("text-classification", "NewTextClassification", tok, m, "hf.AutoModelForSequenceClassification", opts)
	if err != nil {
		return nil, err
	}
	p := &TextClassification{Tokenizer: tok, Model: model, opts: *o, fn: resolveFunction(o.Function, model), borrowed: true}
	if _, _, err := p.callSettings(nil); err != nil {
		return nil, err
	}
	return p, nil
}

// resolveFunction is fn, or for FunctionAuto the function the model's
// config calls for.
func resolveFunction(fn Function, model *hf.ModelForSequenceClassification) Function {
	if fn == FunctionAuto {
		fn = ChooseFunction(model.Config.ProblemType, model.Config.NumLabels())
	}
	return fn
}

// Task returns "text-classification".
func (p *TextClassification) Task() string { return "text-classification" }

// Function returns the function applied to the logits (FunctionAuto only
// for a pipeline without a model).
func (p *TextClassification) Function() Function {
	if p.fn == FunctionAuto && p.Model != nil && p.Model.Model != nil {
		return resolveFunction(FunctionAuto, p.Model) // a struct literal
	}
	return p.fn
}

// Close frees the model, except for a pipeline made with
// NewTextClassificationFrom, whose caller closes the model.
func (p *TextClassification) Close() error {
	if p.borrowed || p.Model == nil {
		return nil
	}
	return p.Model.Close()
}

// settings returns the pipeline's options: its constructor's, or the
// defaults for a struct literal.
func (p *TextClassification) settings() *Options {
	if p.opts.BatchSize == 0 {
		return &literalOptions
	}
	return &p.opts
}

// check reports a pipeline that lacks a part.
func (p *TextClassification) check(needTokenizer bool) error {
	const how = "make it with NewTextClassification, or NewTextClassificationFrom with parts from hf.AutoTokenizer and hf.AutoModelForSequenceClassification"
	switch {
	case p.Model == nil || p.Model.Model == nil:
		return errors.New("pipeline: text-classification has no Model: " + how)
	case needTokenizer && p.Tokenizer == nil:
		return errors.New("pipeline: text-classification has no Tokenizer: " + how)
	}
	return nil
}

// Run classifies texts and returns, per text, its TopK labels with scores,
// best first, in input order. No texts gives no results. RunWith also
// takes call options.
func (p *TextClassification) Run(ctx context.Context, texts ...string) ([][]Result, error) {
	return p.runWith(ctx, texts, nil, nil)
}

// RunPairs classifies sentence pairs (text, text_pair), e.g. for NLI models.
func (p *TextClassification) RunPairs(ctx context.Context, pairs []tokenizer.Pair) ([][]Result, error) {
	return p.runWith(ctx, nil, nonNil(pairs), nil)
}

func (p *TextClassification) maxLength() int {
	return p.settings().maxLength(p.Tokenizer, p.Model.Model)
}

// Forward runs the model on a padded batch and returns the logits as
// float32, row-major [batch, num_labels] (half-precision logits are
// widened first, as transformers' .float() does).
func (p *TextClassification) Forward(ctx context.Context, b *tokenizer.Batch) ([]float32, error) {
	if err := p.check(false); err != nil {
		return nil, err
	}
	out, err := p.Model.Forward(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	defer out.Close()
	return floats(out.Logits)
}

// Postprocess applies the pipeline's function and top-k to logits from
// Forward. It needs the pipeline's Model (for the labels).
func (p *TextClassification) Postprocess(logits []float32) [][]Result {
	return Postprocess(logits, p.Model.Config.NumLabels(), p.Model.Config.Label, p.Function(), p.settings().TopK)
}

// floats copies a tensor to the host as float32.
func floats(t *torch.Tensor) ([]float32, error) {
	if t.DType() != torch.Float32 {
		f, err := t.ToDType(torch.Float32)
		if err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		defer f.Close()
		t = f
	}
	v, err := torch.ToSlice[float32](t)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	return v, nil
}

// Preprocess tokenizes texts (or pairs) without padding, truncating to
// maxLength tokens: the pipeline pads per batch afterwards.
func Preprocess(ctx context.Context, tok *tokenizer.Tokenizer, texts []string, pairs []tokenizer.Pair, maxLength int) ([]tokenizer.Encoding, error) {
	o := tokenizer.Options{Truncation: tokenizer.LongestFirst, MaxLength: maxLength}
	var b *tokenizer.Batch
	var err error
	if pairs != nil {
		b, err = tok.EncodePairBatch(ctx, pairs, o)
	} else {
		b, err = tok.EncodeBatch(ctx, texts, o)
	}
	if err != nil {
		return nil, fmt.Errorf("pipeline: preprocess: %w", err)
	}
	return b.Encodings, nil
}
