package tokenizer

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{"", "Hello, world!", "Café İstanbul \u212a ß", "日本語テキスト", "한국어", "a\u0301\u0316\u0344",
	"<s> <mask>x</s>", "\xff\xfe\xc0\x80\xe0\x80\xed\xa0\x80\xf4\x90\x80\x80", "\x00\u200b\ufeff\ufffd", "👨‍👩‍👧‍👦🇫🇷",
	"\U0010FFFF\uE000", "word\u00a0word\u3000word", "I'm  you're\t\n it's", "▁▁x ▁", "<0x41><0xFF>", " <strip> hfpipe wordonly ",
	strings.Repeat("a", 300), strings.Repeat(" ", 40), "ﬁ ① ＡＢＣ ½ Ⅻ"}

// checkEncoding fails t unless e is well formed for an input of runes
// characters and bytes bytes.
func checkEncoding(t *testing.T, tk *Tokenizer, s string, e Encoding, runes, bytes int) {
	t.Helper()
	n := len(e.IDs)
	if len(e.TypeIDs) != n || len(e.AttentionMask) != n || len(e.SpecialTokensMask) != n ||
		len(e.Tokens) != n || len(e.Offsets) != n || len(e.ByteOffsets) != n {
		t.Fatalf("ragged encoding for %q", s)
	}
	for i := range n {
		o, b := e.Offsets[i], e.ByteOffsets[i]
		if o.Start < 0 || o.Start > o.End || o.End > runes || b.Start < 0 || b.Start > b.End || b.End > bytes {
			t.Fatalf("offset %d out of range for %q: %v %v", i, s, o, b)
		}
		if _, ok := tk.IDToToken(e.IDs[i]); !ok {
			t.Fatalf("id %d has no token", e.IDs[i])
		}
	}
}

// fuzzFamily fuzzes encoding (single, pair, truncated and padded, batch)
// and decoding with the trained tokenizers of one family.
func fuzzFamily(f *testing.F, family string) { fuzzFolders(f, families[family]) }

// fuzzFolders is fuzzFamily over the named family folders.
func fuzzFolders(f *testing.F, folders []string) {
	dir := refFamilies(f)
	var tks []*Tokenizer
	for _, name := range folders {
		tk, err := FromFolder(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		tks = append(tks, tk)
	}
	for i, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(i), uint8(8+i))
	}
	f.Fuzz(func(t *testing.T, data []byte, which, maxLen uint8) {
		tk := tks[int(which)%len(tks)]
		s := string(data)
		runes, bytes := utf8.RuneCountInString(sanitizeForCount(s)), len(s)
		e, err := tk.EncodeWith(s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkEncoding(t, tk, s, e, runes, bytes)
		p, err := tk.EncodePairWith(s, s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkEncoding(t, tk, s, p, runes, bytes)
		q, err := tk.EncodePairWith(s, s, Options{Truncation: LongestFirst, MaxLength: int(maxLen), Padding: PadMaxLength})
		if err != nil {
			t.Fatal(err)
		}
		checkEncoding(t, tk, s, q, runes, bytes)
		if maxLen >= 6 && len(q.IDs) != int(maxLen) {
			t.Fatalf("pair not truncated/padded to %d: %d", maxLen, len(q.IDs))
		}
		b, err := tk.EncodeBatch(context.Background(), []string{s, "x"}, Options{Padding: PadLongest})
		if err != nil || b.Size != 2 || b.SeqLen*2 != len(b.InputIDs) {
			t.Fatalf("batch: %v", err)
		}
		_ = tk.Decode(e.IDs, false)
		_ = tk.Decode(e.IDs, true)
	})
}

// FuzzBPE fuzzes the byte-level BPE (RoBERTa, GPT-2, ModernBERT-like) and
// SentencePiece BPE (Llama-like, byte fallback) tokenizers.
func FuzzBPE(f *testing.F) { fuzzFamily(f, "bpe") }

// FuzzUnigram fuzzes the Unigram tokenizers (XLM-R, DeBERTa-v3, T5-like,
// Precompiled charsmap).
func FuzzUnigram(f *testing.F) { fuzzFamily(f, "unigram") }

// FuzzWordLevel fuzzes the WordLevel tokenizer (Nmt, Lowercase,
// StripAccents, Replace, Strip; Whitespace and Digits).
func FuzzWordLevel(f *testing.F) { fuzzFolders(f, []string{"components/wordlevel"}) }

// FuzzWordPiece fuzzes WordPiece outside BERT's fused path
// (BertNormalizer + Replace, WhitespaceSplit, Punctuation, Digits), and
// the BPE models with an end-of-word suffix or a continuing-subword prefix.
func FuzzWordPiece(f *testing.F) {
	fuzzFolders(f, []string{"components/wordpiece", "components/bpe-suffix", "components/bpe-prefix"})
}

// FuzzLoad feeds mutated tokenizer.json files to the loader: a malformed
// file must be an error, never a panic, and a file that loads must encode
// and decode without one.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(tinyBPE(nil)))
	for _, m := range []map[string]string{
		{"model": `{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0.0],["▁",-1.5],["a",-2],["▁a",-1],["<0x41>",-9]],"byte_fallback":true}`,
			"pre_tokenizer": `{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":true}`,
			"decoder":       `{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]}`,
			"normalizer":    `{"type":"Sequence","normalizers":[{"type":"Strip","strip_left":true,"strip_right":true},{"type":"Replace","pattern":{"Regex":" {2,}"},"content":" "},{"type":"Prepend","prepend":"▁"},{"type":"Lowercase"}]}`},
		{"model": `{"type":"WordLevel","vocab":{"<unk>":0,"a":1,"b":2},"unk_token":"<unk>"}`,
			"normalizer":    `{"type":"Sequence","normalizers":[{"type":"NFKD"},{"type":"NFC"},{"type":"NFD"},{"type":"NFKC"}]}`,
			"pre_tokenizer": `{"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"},{"type":"Punctuation","behavior":"Contiguous"}]}`,
			"decoder":       `{"type":"BPEDecoder","suffix":"</w>"}`},
		{"model": `{"type":"WordPiece","unk_token":"<unk>","continuing_subword_prefix":"##","max_input_chars_per_word":5,"vocab":{"<unk>":0,"a":1,"##b":2}}`,
			"pre_tokenizer": `{"type":"Whitespace"}`, "post_processor": `{"type":"ByteLevel","trim_offsets":true}`,
			"decoder": `{"type":"WordPiece","prefix":"##","cleanup":true}`},
		{"model": `{"type":"BPE","vocab":{"a":0,"b":1,"ab":2,"<0x61>":3},"merges":[["a","b"]],"unk_token":"a","fuse_unk":true,"byte_fallback":true,"ignore_merges":true,"end_of_word_suffix":"</w>"}`,
			"pre_tokenizer": `{"type":"Split","pattern":{"String":"b"},"behavior":"MergedWithNext","invert":true}`},
	} {
		f.Add([]byte(tinyBPE(func(p map[string]string) {
			for k, v := range m {
				p[k] = v
			}
		})))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), TokenizerJSON)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		tk, err := FromFile(p)
		if err != nil {
			return
		}
		for _, s := range []string{"", "the tin", "a  b ab\u00e9 ▁x", "\xff<s>"} {
			e, err := tk.EncodeWith(s, Options{})
			if err != nil {
				continue
			}
			_ = tk.Decode(e.IDs, false)
			if _, err := tk.EncodePairWith(s, s, Options{Truncation: LongestFirst, MaxLength: 5}); err != nil && !strings.Contains(err.Error(), "truncation") {
				t.Fatal(err)
			}
		}
	})
}

// TestFamilyBatchConcurrent: batch encoding on several goroutines (sharing
// the models' caches) gives the rows of one-at-a-time encoding.
func TestFamilyBatchConcurrent(t *testing.T) {
	dir := refFamilies(t)
	texts := benchTexts()[:400]
	for _, name := range []string{"bpe/roberta", "unigram/xlmr"} {
		tk, err := FromFolder(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
		b, err := tk.EncodeBatch(context.Background(), texts, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range texts {
			if e := tk.Encode(s); !reflect.DeepEqual(e, b.Encodings[i]) {
				t.Fatalf("%s row %d differs between Encode and EncodeBatch", name, i)
			}
		}
	}
}

// TestSlowByteLevelFolders: a RoBERTa or GPT-2 folder with only vocab.json
// and merges.txt (what transformers converts itself) tokenizes as the
// tokenizer.json that transformers' converter wrote for the same files,
// whose parity with Python TestFamilyParity checks.
func TestSlowByteLevelFolders(t *testing.T) {
	dir := refFamilies(t)
	texts := familyCorpus()
	for _, name := range []string{"bpe/roberta", "bpe/gpt2"} {
		fast, err := FromFolder(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		slow, err := FromFolder(filepath.Join(dir, name+"-slow"))
		if err != nil {
			t.Fatal(err)
		}
		if fast.VocabSize() != slow.VocabSize() || fast.ModelMaxLength() != slow.ModelMaxLength() || fast.Specials() != slow.Specials() {
			t.Fatalf("%s: vocab size, max length or special tokens differ", name)
		}
		for i, it := range texts {
			a, b := fast.Encode(it.text), slow.Encode(it.text)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%s row %d %q:\n fast %v %v\n slow %v %v", name, i, it.text, a.Tokens, a.Offsets, b.Tokens, b.Offsets)
			}
			p, q := fast.EncodePair(it.text, "second"), slow.EncodePair(it.text, "second")
			if !reflect.DeepEqual(p, q) {
				t.Fatalf("%s pair row %d differs", name, i)
			}
			if fast.Decode(a.IDs, false) != slow.Decode(b.IDs, false) {
				t.Fatalf("%s row %d: decode differs", name, i)
			}
		}
	}
}
