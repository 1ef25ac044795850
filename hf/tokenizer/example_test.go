package tokenizer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

// exampleFolder writes a tiny BERT tokenizer folder (vocab.txt and
// tokenizer_config.json), as a model download would provide.
func exampleFolder() string {
	dir, err := os.MkdirTemp("", "tokenizer-example")
	if err != nil {
		panic(err)
	}
	vocab := "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n,\nworld\n!\ncafe\ntoken\n##izer\n##s\nare\nfun\n"
	config := `{"do_lower_case": true, "model_max_length": 512, "clean_up_tokenization_spaces": true}`
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(vocab), 0o644); err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(config), 0o644); err != nil {
		panic(err)
	}
	return dir
}

func Example() {
	dir := exampleFolder()
	defer os.RemoveAll(dir)
	tok, err := tokenizer.FromFolder(dir)
	if err != nil {
		panic(err)
	}
	enc := tok.Encode("Hello, Café world!")
	fmt.Println(enc.Tokens)
	fmt.Println(enc.IDs)
	fmt.Println(enc.Offsets)     // characters, as Python's offset_mapping
	fmt.Println(enc.ByteOffsets) // bytes of the Go string
	// Output:
	// [[CLS] hello , cafe world ! [SEP]]
	// [2 5 6 9 7 8 3]
	// [{0 0} {0 5} {5 6} {7 11} {12 17} {17 18} {0 0}]
	// [{0 0} {0 5} {5 6} {7 12} {13 18} {18 19} {0 0}]
}

func ExampleTokenizer_EncodeBatch() {
	dir := exampleFolder()
	defer os.RemoveAll(dir)
	tok, err := tokenizer.FromFolder(dir)
	if err != nil {
		panic(err)
	}
	b, err := tok.EncodeBatch(context.Background(), []string{"Tokenizers are fun!", "Hello"},
		tokenizer.Options{Padding: tokenizer.PadLongest, Truncation: tokenizer.LongestFirst})
	if err != nil {
		panic(err)
	}
	// Flat row-major [Size, SeqLen] slices, ready for a tensor.
	fmt.Println(b.Size, b.SeqLen)
	fmt.Println(b.InputIDs)
	fmt.Println(b.AttentionMask)
	// Output:
	// 2 8
	// [2 10 11 12 13 14 8 3 2 5 3 0 0 0 0 0]
	// [1 1 1 1 1 1 1 1 1 1 1 0 0 0 0 0]
}

func ExampleTokenizer_EncodePairWith() {
	dir := exampleFolder()
	defer os.RemoveAll(dir)
	tok, err := tokenizer.FromFolder(dir)
	if err != nil {
		panic(err)
	}
	enc, err := tok.EncodePairWith("hello world", "tokenizers are fun", tokenizer.Options{
		Truncation: tokenizer.LongestFirst, MaxLength: 7, Padding: tokenizer.PadMaxLength})
	if err != nil {
		panic(err)
	}
	fmt.Println(enc.Tokens)
	fmt.Println(enc.TypeIDs)
	// Output:
	// [[CLS] hello world [SEP] token ##izer [SEP]]
	// [0 0 0 0 1 1 1]
}

func ExampleTokenizer_Decode() {
	dir := exampleFolder()
	defer os.RemoveAll(dir)
	tok, err := tokenizer.FromFolder(dir)
	if err != nil {
		panic(err)
	}
	ids := tok.Encode("Hello, tokenizers!").IDs
	fmt.Printf("%q\n", tok.Decode(ids, false))
	fmt.Printf("%q\n", tok.Decode(ids, true))
	// Output:
	// "[CLS] hello, tokenizers! [SEP]"
	// "hello, tokenizers!"
}
