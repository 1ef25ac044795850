package hf

import (
	"context"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

// AutoTokenizerLoader loads tokenizers; use the AutoTokenizer value.
type AutoTokenizerLoader struct{}

// AutoTokenizer loads a model's tokenizer as transformers' AutoTokenizer
// does (the fast, tokenizer.json one when present):
// hf.AutoTokenizer.FromPretrained(ctx, "distilbert-base-uncased-finetuned-sst-2-english").
var AutoTokenizer AutoTokenizerLoader

// tokenizerFiles are the files a tokenizer may need; absent ones are fine.
var tokenizerFiles = []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.txt", "config.json"}

// FromPretrained loads the tokenizer of a local model folder or a Hub repo id.
func (AutoTokenizerLoader) FromPretrained(ctx context.Context, idOrPath string, opts ...Option) (*tokenizer.Tokenizer, error) {
	dir, err := ResolveModel(ctx, idOrPath, tokenizerFiles, opts...)
	if err != nil {
		return nil, err
	}
	return tokenizer.FromFolder(dir)
}
