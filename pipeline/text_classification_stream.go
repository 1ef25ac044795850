package pipeline

import (
	"context"
	"iter"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

// Stream classifies the texts of seq as they come, a chunk of a few
// batches at a time, yielding each text's labels in input order (or the
// error that stopped it, once): memory stays bounded by the chunk, for
// corpora larger than memory. Breaking out of the loop stops reading seq.
func (p *TextClassification) Stream(ctx context.Context, seq iter.Seq[string], opts ...CallOption) iter.Seq2[[]Result, error] {
	return streamChunks(seq, streamChunk(p.streamSettings()), func(texts []string) ([][]Result, error) {
		return p.RunWith(ctx, texts, opts...)
	})
}

// StreamPairs is Stream for sentence pairs (text, text_pair).
func (p *TextClassification) StreamPairs(ctx context.Context, seq iter.Seq[tokenizer.Pair], opts ...CallOption) iter.Seq2[[]Result, error] {
	return streamChunks(seq, streamChunk(p.streamSettings()), func(pairs []tokenizer.Pair) ([][]Result, error) {
		return p.RunPairsWith(ctx, pairs, opts...)
	})
}

func (p *TextClassification) streamSettings() *Options {
	if p == nil {
		return &literalOptions
	}
	return p.settings()
}
