// Package tokenizer is a BERT WordPiece tokenizer (BERT, DistilBERT, cased or
// uncased) that gives the same ids, masks, type ids and offsets as Hugging
// Face's fast tokenizer (transformers.AutoTokenizer backed by the Rust
// tokenizers 0.22 library), on any input, including invalid UTF-8.
//
// The pipeline mirrors the Rust one stage by stage:
//
//   - added (special) tokens such as "[MASK]" are cut out of the raw text first;
//   - the BERT normalizer (clean_text, handle_chinese_chars, strip_accents,
//     lowercase) runs on each remaining piece, tracking for every output
//     character the input character it came from;
//   - the BERT pre-tokenizer splits on whitespace and isolates punctuation;
//   - WordPiece (greedy longest match, "##" continuation, [UNK] for words it
//     cannot cover or longer than max_input_chars_per_word);
//   - the post-processor adds [CLS]/[SEP] and token type ids, after
//     truncation and before padding, exactly as tokenizers does.
//
// The character tables (what counts as whitespace, punctuation, control,
// non-spacing mark, the lowercase mapping, the canonical decomposition) were
// probed from the tokenizers wheel itself by
// third_party/tools/tokenizer_tables.py, because the library mixes Unicode
// versions (categories from Unicode 8-era tables, NFD from Unicode 9,
// lowercase from Rust's Unicode 16) that neither Go's unicode package nor
// golang.org/x/text reproduce.
//
// Invalid UTF-8 is read the way Python's bytes.decode("utf-8", "replace")
// reads it (one U+FFFD per maximal ill-formed subpart), so that offsets agree
// with the Python string the reference sees.
//
// A Tokenizer is immutable once loaded and safe for concurrent use.
package tokenizer
