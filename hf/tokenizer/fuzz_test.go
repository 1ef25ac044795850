package tokenizer

import (
	"context"
	"testing"
	"unicode/utf8"
)

// FuzzEncode checks that no input makes encoding panic and that every
// encoding is well formed: parallel slices of one length, offsets ordered
// and inside the input (runes as Python counts them, bytes of the Go string).
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "Hello, world!", "Café İstanbul \u212a ß", "日本語テキスト", "한국어",
		"a\u0301\u0316\u0344", "[CLS] [MASK]x[SEP]", "\xff\xfe\xc0\x80\xe0\x80\xed\xa0\x80\xf4\x90\x80\x80",
		"\x00\u200b\ufeff\ufffd", "👨‍👩‍👧‍👦🇫🇷", "\U0010FFFF\uE000", "word\u00a0word\u3000word",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"} {
		f.Add([]byte(s), uint8(8))
	}
	tk := vocabTokenizer(f)
	f.Fuzz(func(t *testing.T, data []byte, maxLen uint8) {
		s := string(data)
		runes := len([]rune(sanitizeForCount(s)))
		check := func(e Encoding, limits ...[2]int) {
			n := len(e.IDs)
			if len(e.TypeIDs) != n || len(e.AttentionMask) != n || len(e.SpecialTokensMask) != n ||
				len(e.Tokens) != n || len(e.Offsets) != n || len(e.ByteOffsets) != n {
				t.Fatalf("ragged encoding for %q", s)
			}
			for i := range n {
				o, b := e.Offsets[i], e.ByteOffsets[i]
				if o.Start < 0 || o.Start > o.End || o.End > limits[0][0] || b.Start < 0 || b.Start > b.End || b.End > limits[0][1] {
					t.Fatalf("offset %d out of range for %q: %v %v", i, s, o, b)
				}
				if e.IDs[i] < 0 || int(e.IDs[i]) >= tk.VocabSize() {
					t.Fatalf("bad id %d", e.IDs[i])
				}
			}
		}
		e := tk.Encode(s)
		check(e, [2]int{runes, len(s)})
		if len(e.IDs) < 2 {
			t.Fatalf("missing special tokens for %q", s)
		}
		// Pair tokens point into their own sequence; both are s here.
		p := tk.EncodePair(s, s)
		check(p, [2]int{runes, len(s)})
		o := Options{Truncation: LongestFirst, MaxLength: int(maxLen), Padding: PadMaxLength}
		q, err := tk.EncodePairWith(s, s, o)
		if err != nil {
			t.Fatal(err)
		}
		check(q, [2]int{runes, len(s)})
		if maxLen >= 3 && len(q.IDs) != int(maxLen) {
			t.Fatalf("pair not truncated/padded to %d: %d", maxLen, len(q.IDs))
		}
		b, err := tk.EncodeBatch(context.Background(), []string{s, "x"}, Options{Padding: PadLongest})
		if err != nil || b.Size != 2 || b.SeqLen*2 != len(b.InputIDs) {
			t.Fatalf("batch: %v", err)
		}
		_ = tk.Decode(e.IDs, false)
	})
}

// sanitizeForCount is the Python-decoded form of s, to count its characters.
func sanitizeForCount(s string) string {
	out, _, _ := sanitize(s, nil, nil)
	if !utf8.ValidString(out) {
		panic("sanitize left invalid UTF-8")
	}
	return out
}
