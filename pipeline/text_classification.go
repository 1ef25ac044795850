package pipeline

import (
	"context"
	"fmt"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/torch"
)

// TextClassification is the text-classification (alias sentiment-analysis)
// pipeline. It is safe for concurrent use.
type TextClassification struct {
	Tokenizer *tokenizer.Tokenizer
	Model     *hf.ModelForSequenceClassification
	opts      Options
	fn        Function
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
	fn := o.Function
	if fn == FunctionAuto {
		fn = ChooseFunction(model.Config.ProblemType, model.Config.NumLabels())
	}
	return &TextClassification{Tokenizer: tok, Model: model, opts: *o, fn: fn}, nil
}

// Task returns "text-classification".
func (p *TextClassification) Task() string { return "text-classification" }

// Function returns the function applied to the logits.
func (p *TextClassification) Function() Function { return p.fn }

// Close frees the model.
func (p *TextClassification) Close() error { return p.Model.Close() }

// Run classifies texts and returns, per text, its TopK labels with scores,
// best first, in input order. No texts gives no results.
func (p *TextClassification) Run(ctx context.Context, texts ...string) ([][]Result, error) {
	encs, err := Preprocess(ctx, p.Tokenizer, texts, nil, p.maxLength())
	if err != nil {
		return nil, err
	}
	return p.classify(ctx, encs)
}

// RunPairs classifies sentence pairs (text, text_pair), e.g. for NLI models.
func (p *TextClassification) RunPairs(ctx context.Context, pairs []tokenizer.Pair) ([][]Result, error) {
	encs, err := Preprocess(ctx, p.Tokenizer, nil, pairs, p.maxLength())
	if err != nil {
		return nil, err
	}
	return p.classify(ctx, encs)
}

func (p *TextClassification) maxLength() int {
	return p.opts.maxLength(p.Tokenizer, p.Model.Model)
}

func (p *TextClassification) classify(ctx context.Context, encs []tokenizer.Encoding) ([][]Result, error) {
	out := make([][]Result, len(encs))
	err := eachBatch(ctx, p.Tokenizer, encs, &p.opts, func(rows []int, b *tokenizer.Batch) error {
		logits, err := p.Forward(ctx, b)
		if err != nil {
			return err
		}
		for k, res := range p.Postprocess(logits) {
			out[rows[k]] = res
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Forward runs the model on a padded batch and returns the logits as
// float32, row-major [batch, num_labels] (half-precision logits are
// widened first, as transformers' .float() does).
func (p *TextClassification) Forward(ctx context.Context, b *tokenizer.Batch) ([]float32, error) {
	out, err := p.Model.Forward(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	defer out.Close()
	return floats(out.Logits)
}

// Postprocess applies the pipeline's function and top-k to logits from Forward.
func (p *TextClassification) Postprocess(logits []float32) [][]Result {
	return Postprocess(logits, p.Model.Config.NumLabels(), p.Model.Config.Label, p.fn, p.opts.TopK)
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
