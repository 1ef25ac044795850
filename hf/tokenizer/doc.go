// Package tokenizer reads Hugging Face tokenizer.json files (and BERT
// vocab.txt folders) and gives the same ids, masks, type ids, offsets and
// decoded text as Hugging Face's fast tokenizer (transformers.AutoTokenizer
// backed by the Rust tokenizers 0.22 library), on any input, including
// invalid UTF-8.
//
// Two paths share the API:
//
//   - BERT's WordPiece pipeline (BertNormalizer, BertPreTokenizer,
//     WordPiece, Bert/Template post-processing, WordPiece decoder) runs on a
//     dedicated path that fuses the stages: BERT, DistilBERT, MiniLM...
//   - every other tokenizer.json runs component by component as tokenizers
//     does, over a normalized string that keeps, for each normalized byte,
//     the span of the input it came from (internal/normstr):
//     normalizers (Sequence, Precompiled SentencePiece charsmaps, Replace,
//     Prepend, Strip, Lowercase, StripAccents, Nmt, ByteLevel,
//     BertNormalizer, NFC, NFD, NFKC, NFKD), pre-tokenizers (ByteLevel with GPT-2's split,
//     Metaspace, Whitespace, WhitespaceSplit, Punctuation, Digits, Split,
//     BertPreTokenizer, Sequence), models (BPE with either merges format,
//     continuing_subword_prefix, end_of_word_suffix, byte_fallback,
//     fuse_unk, ignore_merges; Unigram with byte_fallback; WordLevel;
//     WordPiece), post-processors (RobertaProcessing and ByteLevel with
//     trim_offsets, BertProcessing, TemplateProcessing, a Sequence of
//     ByteLevel and one of those) and decoders (ByteLevel, Metaspace,
//     WordPiece, BPEDecoder, ByteFallback, Fuse, Strip, Replace, Sequence):
//     RoBERTa, GPT-2, ModernBERT, Llama-style, XLM-RoBERTa, DeBERTa-v3, T5...
//
// A component or option that is not implemented (BPE dropout, regexes whose
// Oniguruma meaning Go's regexp does not reproduce, UnicodeScripts, CTC...)
// is an error at load time that wraps [ErrUnsupported] and names it, never
// a silently different output. A folder with only slow-tokenizer files
// (vocab.json + merges.txt, a SentencePiece model) is an error that says
// how to write its tokenizer.json.
//
// Added tokens are cut out of the raw text first (or of the normalized
// text, for those flagged normalized), with their single_word, lstrip and
// rstrip flags. Truncation happens before the post-processor and padding
// after, as in tokenizers.
//
// The character tables (BERT's whitespace, punctuation, control, marks,
// lowercase, decomposition; Oniguruma's \p{L}, \p{N}, \s; Rust's \w and
// is_numeric; combining marks) were probed from the tokenizers wheel itself
// by third_party/tools/tokenizer_tables.py and tokenizer_regex_tables.py,
// because the library mixes Unicode versions that neither Go's unicode
// package nor golang.org/x/text reproduce.
//
// Invalid UTF-8 is read the way Python's bytes.decode("utf-8", "replace")
// reads it (one U+FFFD per maximal ill-formed subpart), so that offsets agree
// with the Python string the reference sees.
//
// A Tokenizer is immutable once loaded and safe for concurrent use.
package tokenizer
