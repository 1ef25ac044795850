package pipeline

import (
	"context"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

// preprocessPipelineInputs is Preprocess as transformers' text-classification
// pipeline tokenizes its inputs: one call per input, where an empty
// text_pair counts as none (PreTrainedTokenizerFast._encode_plus tests
// `if text_pair`), so {"text": t, "text_pair": ""} is encoded as t alone.
// Batch tokenization (CrossEncoder, zero-shot) keeps such pairs as pairs.
func preprocessPipelineInputs(ctx context.Context, tok *tokenizer.Tokenizer, texts []string, pairs []tokenizer.Pair, maxLength int) ([]tokenizer.Encoding, error) {
	if pairs == nil {
		return Preprocess(ctx, tok, texts, nil, maxLength)
	}
	var single []int
	for i, p := range pairs {
		if p.B == "" {
			single = append(single, i)
		}
	}
	if len(single) == 0 {
		return Preprocess(ctx, tok, nil, pairs, maxLength)
	}
	encs, err := Preprocess(ctx, tok, nil, pairs, maxLength)
	if err != nil {
		return nil, err
	}
	alone := make([]string, len(single))
	for k, i := range single {
		alone[k] = pairs[i].A
	}
	singles, err := Preprocess(ctx, tok, alone, nil, maxLength)
	if err != nil {
		return nil, err
	}
	for k, i := range single {
		encs[i] = singles[k]
	}
	return encs, nil
}
