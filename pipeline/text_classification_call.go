package pipeline

import (
	"context"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

// TextClassificationSettings are text-classification's call keywords.
type TextClassificationSettings struct {
	// TopK is how many labels each result keeps (AllLabels: every label).
	TopK int
	// Function is applied to the logits (FunctionAuto: as the model's
	// config calls for).
	Function Function
}

func (s *TextClassificationSettings) setTopK(k int) { s.TopK = k }

// textClassificationTakes are the call options text-classification takes.
var textClassificationTakes = []string{"top_k", "function_to_apply"}

// FunctionToApply sets the function text-classification applies to the
// logits, as transformers' function_to_apply.
func FunctionToApply(f Function) CallOption {
	return callOption("function_to_apply", func(s *TextClassificationSettings) { s.Function = f })
}

// callSettings are the pipeline's settings with opts applied.
func (p *TextClassification) callSettings(opts []CallOption) (*Options, Function, error) {
	o := *p.settings()
	base := TextClassificationSettings{TopK: o.TopK, Function: o.Function}
	s, err := applyCall("text-classification", base, append(o.Defaults[:len(o.Defaults):len(o.Defaults)], opts...), textClassificationTakes)
	if err != nil {
		return nil, 0, err
	}
	o.TopK, o.Function = s.TopK, s.Function
	fn := o.Function
	if fn == FunctionAuto {
		fn = p.Function()
	}
	return &o, fn, nil
}

// RunWith is Run with call options (TopK, FunctionToApply) for this call.
func (p *TextClassification) RunWith(ctx context.Context, texts []string, opts ...CallOption) ([][]Result, error) {
	return p.runWith(ctx, texts, nil, opts)
}

// RunPairsWith is RunPairs with call options for this call.
func (p *TextClassification) RunPairsWith(ctx context.Context, pairs []tokenizer.Pair, opts ...CallOption) ([][]Result, error) {
	return p.runWith(ctx, nil, pairs, opts)
}

func (p *TextClassification) runWith(ctx context.Context, texts []string, pairs []tokenizer.Pair, opts []CallOption) ([][]Result, error) {
	if err := p.check(true); err != nil {
		return nil, err
	}
	o, fn, err := p.callSettings(opts)
	if err != nil {
		return nil, err
	}
	if pairs == nil {
		texts = nonNil(texts)
	}
	encs, err := preprocessPipelineInputs(ctx, p.Tokenizer, texts, pairs, p.maxLength())
	if err != nil {
		return nil, err
	}
	out := make([][]Result, len(encs))
	err = eachBatch(ctx, p.Tokenizer, encs, o, func(rows []int, b *tokenizer.Batch) error {
		logits, err := p.Forward(ctx, b)
		if err != nil {
			return err
		}
		for k, res := range Postprocess(logits, p.Model.Config.NumLabels(), p.Model.Config.Label, fn, o.TopK) {
			out[rows[k]] = res
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// RunAny runs RunWith on a []string or RunPairsWith on a
// []tokenizer.Pair; the result is a [][]Result.
func (p *TextClassification) RunAny(ctx context.Context, inputs any, opts ...CallOption) (any, error) {
	switch in := inputs.(type) {
	case []string:
		return p.RunWith(ctx, in, opts...)
	case []tokenizer.Pair:
		return p.RunPairsWith(ctx, in, opts...)
	}
	return nil, inputTypeError("text-classification", inputs, "[]string or []tokenizer.Pair")
}

// RunAny runs Run on a []string; the result is a [][][]float32. The task
// takes no call options.
func (p *FeatureExtraction) RunAny(ctx context.Context, inputs any, opts ...CallOption) (any, error) {
	texts, ok := inputs.([]string)
	if !ok {
		return nil, inputTypeError("feature-extraction", inputs, "[]string")
	}
	if _, err := applyCall("feature-extraction", struct{}{}, append(p.settings().Defaults, opts...), []string{"none"}); err != nil {
		return nil, err
	}
	return p.Run(ctx, texts...)
}
