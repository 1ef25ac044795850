package tokenizer_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

// bpeJSON is a tiny RoBERTa-style tokenizer.json: byte-level pre-tokenizer,
// BPE over a few merges, RobertaProcessing with trim_offsets.
const bpeJSON = `{
 "added_tokens": [{"id": 0, "content": "<s>", "special": true, "normalized": false, "lstrip": false, "rstrip": false, "single_word": false},
                  {"id": 1, "content": "</s>", "special": true, "normalized": false, "lstrip": false, "rstrip": false, "single_word": false}],
 "normalizer": null,
 "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
 "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 1], "cls": ["<s>", 0], "trim_offsets": true, "add_prefix_space": false},
 "decoder": {"type": "ByteLevel"},
 "model": {"type": "BPE", "vocab": {"<s>": 0, "</s>": 1, "h": 2, "i": 3, "Ġ": 4, "t": 5, "e": 6, "r": 7,
           "hi": 8, "Ġt": 9, "he": 10, "Ġthe": 11, "re": 12, "Ġthere": 13},
           "merges": ["h i", "Ġ t", "h e", "Ġt he", "r e", "Ġthe re"]}
}`

// A byte-level BPE tokenizer.json (RoBERTa, GPT-2, ModernBERT...) loads
// like any other; offsets leave out the space that "Ġ" stands for.
func Example_byteLevelBPE() {
	dir, err := os.MkdirTemp("", "tokenizer-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(bpeJSON), 0o644); err != nil {
		panic(err)
	}
	tok, err := tokenizer.FromFolder(dir)
	if err != nil {
		panic(err)
	}
	enc := tok.Encode("hi there")
	fmt.Println(enc.Tokens)
	fmt.Println(enc.IDs)
	fmt.Println(enc.Offsets)
	fmt.Printf("%q\n", tok.Decode(enc.IDs, true))
	// Output:
	// [<s> hi Ġthere </s>]
	// [0 8 13 1]
	// [{0 0} {0 2} {3 8} {0 0}]
	// "hi there"
}

// A component this package does not reproduce exactly is a load error
// that names it.
func ExampleErrUnsupported() {
	dir, err := os.MkdirTemp("", "tokenizer-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	js := `{"normalizer": null, "pre_tokenizer": {"type": "UnicodeScripts"}, "post_processor": null, "decoder": null,
	        "model": {"type": "WordLevel", "vocab": {"<unk>": 0}, "unk_token": "<unk>"}}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(js), 0o644); err != nil {
		panic(err)
	}
	_, err = tokenizer.FromFolder(dir)
	fmt.Println(errors.Is(err, tokenizer.ErrUnsupported))
	// Output:
	// true
}
