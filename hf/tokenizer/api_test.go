package tokenizer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEmptyInputs(t *testing.T) {
	tk := vocabTokenizer(t)
	e := tk.Encode("")
	assert.Equal(t, []string{"[CLS]", "[SEP]"}, e.Tokens)
	assert.Equal(t, []int64{tk.Specials().CLS.ID, tk.Specials().SEP.ID}, e.IDs)
	assert.Equal(t, []int64{1, 1}, e.SpecialTokensMask)

	b, err := tk.EncodeBatch(context.Background(), nil, Options{Padding: PadLongest})
	require.NoError(t, err)
	assert.Equal(t, 0, b.Size)
	assert.Empty(t, b.Encodings)
	b, err = tk.EncodePairBatch(context.Background(), []Pair{}, Options{})
	require.NoError(t, err)
	assert.Equal(t, 0, b.Size)
}

func TestAccessors(t *testing.T) {
	tk := vocabTokenizer(t)
	assert.Equal(t, 512, tk.ModelMaxLength())
	assert.Equal(t, 30522, tk.VocabSize())
	sp := tk.Specials()
	assert.Equal(t, SpecialToken{"[PAD]", 0}, sp.PAD)
	assert.Equal(t, SpecialToken{"[UNK]", 100}, sp.UNK)
	assert.Equal(t, SpecialToken{"[CLS]", 101}, sp.CLS)
	assert.Equal(t, SpecialToken{"[SEP]", 102}, sp.SEP)
	assert.Equal(t, SpecialToken{"[MASK]", 103}, sp.MASK)
	id, ok := tk.TokenToID("hello")
	require.True(t, ok)
	tok, ok := tk.IDToToken(id)
	assert.True(t, ok)
	assert.Equal(t, "hello", tok)
	_, ok = tk.IDToToken(-1)
	assert.False(t, ok)
	_, ok = tk.IDToToken(1 << 40)
	assert.False(t, ok)
}

func TestOffsetsNonASCII(t *testing.T) {
	tk := vocabTokenizer(t)
	s := "Café \u212aelvin 日本"
	e := tk.Encode(s)
	for i, tok := range e.Tokens {
		if e.SpecialTokensMask[i] == 1 {
			continue
		}
		b, r := e.ByteOffsets[i], e.Offsets[i]
		assert.Equal(t, string([]rune(s)[r.Start:r.End]), s[b.Start:b.End], tok)
	}
	// "café" spans 4 characters but 5 bytes.
	assert.Equal(t, "cafe", e.Tokens[1])
	assert.Equal(t, Offset{0, 4}, e.Offsets[1])
	assert.Equal(t, Offset{0, 5}, e.ByteOffsets[1])
}

func TestInvalidUTF8(t *testing.T) {
	// Python: b"a\xe0\x80\x80b\xf0\x9f\x98c".decode("utf-8", "replace")
	// == "a\ufffd\ufffd\ufffdb\ufffdc": E0 80 is no valid start, F0 9F 98 is
	// one truncated sequence.
	out, _, src := sanitize("a\xe0\x80\x80b\xf0\x9f\x98c", nil, nil)
	assert.Equal(t, "a\ufffd\ufffd\ufffdb\ufffdc", out)
	assert.Equal(t, len(out)+1, len(src))
	tk := vocabTokenizer(t)
	e := tk.Encode("x\xffy")
	assert.Equal(t, []string{"[CLS]", "x", "##y", "[SEP]"}, e.Tokens) // U+FFFD is removed by clean_text
	assert.Equal(t, Offset{2, 3}, e.Offsets[2])                       // Python index of "y"
	assert.Equal(t, Offset{2, 3}, e.ByteOffsets[2])                   // Go byte of "y"
}

func TestBatchLayout(t *testing.T) {
	tk := vocabTokenizer(t)
	texts := []string{"a b c d e", "a", "hello world"}
	b, err := tk.EncodeBatch(context.Background(), texts, Options{Padding: PadLongest, PaddingSide: SideLeft})
	require.NoError(t, err)
	require.Equal(t, 3, b.Size)
	require.Equal(t, 7, b.SeqLen)
	require.Len(t, b.InputIDs, 21)
	for i, e := range b.Encodings {
		assert.Equal(t, tk.Encode(texts[i]).IDs, trimPad(e.IDs, e.AttentionMask))
		assert.Equal(t, b.InputIDs[i*7:(i+1)*7], e.IDs)
	}
	assert.Equal(t, []int64{0, 0, 0, 0, 1, 1, 1}, b.AttentionMask[7:14])

	// Without padding rows are ragged: no flat view.
	b, err = tk.EncodeBatch(context.Background(), texts, Options{})
	require.NoError(t, err)
	assert.Equal(t, 0, b.SeqLen)
	assert.Nil(t, b.InputIDs)
	assert.Len(t, b.Encodings[0].IDs, 7)
}

func trimPad(ids, mask []int64) []int64 {
	var out []int64
	for i, id := range ids {
		if mask[i] == 1 {
			out = append(out, id)
		}
	}
	return out
}

func TestBatchLarge(t *testing.T) {
	tk := vocabTokenizer(t)
	texts := benchTexts()
	b, err := tk.EncodeBatch(context.Background(), texts, Options{Padding: PadLongest, Truncation: LongestFirst, MaxLength: 64})
	require.NoError(t, err)
	require.Equal(t, len(texts), b.Size)
	require.Equal(t, 64, b.SeqLen)
	for i := 0; i < len(texts); i += 97 {
		want, err := tk.EncodeWith(texts[i], Options{Padding: PadMaxLength, Truncation: LongestFirst, MaxLength: 64})
		require.NoError(t, err)
		require.Equal(t, want, b.Encodings[i])
	}
}

func TestBatchCancel(t *testing.T) {
	tk := vocabTokenizer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tk.EncodeBatch(ctx, []string{"a", "b"}, Options{})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestTruncationErrors(t *testing.T) {
	tk := vocabTokenizer(t)
	_, err := tk.EncodeWith("one two three four five", Options{Truncation: OnlySecond, MaxLength: 4})
	assert.ErrorIs(t, err, ErrTruncation)
	_, err = tk.EncodePairWith("one two three four five", "six", Options{Truncation: OnlySecond, MaxLength: 6})
	assert.ErrorIs(t, err, ErrTruncation)
	_, err = tk.EncodePairBatch(context.Background(), []Pair{{"a", "b"}, {"one two three", "x"}}, Options{Truncation: OnlySecond, MaxLength: 5})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "row 1")
	_, err = tk.EncodeWith("x", Options{Truncation: LongestFirst, Padding: PadMaxLength, MaxLength: 10, PadToMultipleOf: 8})
	assert.ErrorContains(t, err, "multiple")
	_, err = tk.EncodeWith("x", Options{MaxLength: -1})
	assert.Error(t, err)
	// MaxLength below the number of special tokens: tokenizers' usize
	// arithmetic wraps and nothing is truncated.
	e, err := tk.EncodeWith("one two three", Options{Truncation: LongestFirst, MaxLength: 1})
	require.NoError(t, err)
	assert.Len(t, e.IDs, 5)
}

func TestDecode(t *testing.T) {
	tk := vocabTokenizer(t)
	e := tk.Encode("Hello, I'm a tokenizer! Isn't it nice?")
	assert.Equal(t, "[CLS] hello, i'm a tokenizer! isn't it nice? [SEP]", tk.Decode(e.IDs, false))
	assert.Equal(t, "hello, i'm a tokenizer! isn't it nice?", tk.Decode(e.IDs, true))
	assert.Equal(t, "", tk.Decode([]int64{-5, 1 << 40}, false))
}

func TestConcurrentUse(t *testing.T) {
	tk := vocabTokenizer(t)
	texts := benchTexts()[:300]
	want := make([]Encoding, len(texts))
	for i, s := range texts {
		want[i] = tk.Encode(s)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(texts); i += 4 {
				assert.Equal(t, want[i], tk.Encode(texts[i]))
			}
			b, err := tk.EncodeBatch(context.Background(), texts, Options{})
			assert.NoError(t, err)
			assert.Equal(t, want[len(texts)-1].IDs, b.Encodings[len(texts)-1].IDs)
		}()
	}
	wg.Wait()
}

func TestPad(t *testing.T) {
	tk := vocabTokenizer(t)
	encs := []Encoding{tk.Encode("a b c"), tk.Encode("a")}
	b, err := tk.Pad(encs, Options{})
	require.NoError(t, err)
	assert.Equal(t, 5, b.SeqLen)
	direct, err := tk.EncodeBatch(context.Background(), []string{"a b c", "a"}, Options{Padding: PadLongest})
	require.NoError(t, err)
	assert.Equal(t, direct.InputIDs, b.InputIDs)
	_, err = tk.Pad(direct.Encodings, Options{})
	assert.Error(t, err)
}

func writeJSON(t *testing.T, dir, name, body string) string {
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	vocab := `"vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "a": 3}`
	for _, c := range []struct{ body, want string }{
		{`{"model": {"type": "BPE", ` + vocab + `}}`, `model BPE: missing vocab/merges`},
		{`{"normalizer": {"type": "Frobnicate"}, "model": {"type": "WordPiece", ` + vocab + `}}`, `not supported: normalizer type "Frobnicate"`},
		{`{"pre_tokenizer": {"type": "UnicodeScripts"}, "model": {"type": "WordPiece", ` + vocab + `}}`, `not supported: pre_tokenizer type "UnicodeScripts"`},
		{`{"post_processor": {"type": "RobertaProcessing"}, "model": {"type": "WordPiece", ` + vocab + `}}`, `post_processor: cls is not [token, id]`},
		{`{"decoder": {"type": "CTC"}, "model": {"type": "WordPiece", ` + vocab + `}}`, `not supported: decoder type "CTC"`},
		{`{"model": {"type": "WordPiece", "unk_token": "<unk>", ` + vocab + `}}`, `unk_token "<unk>" is not in the vocabulary`},
		{`{"model": `, `invalid JSON`},
		{`{}`, `no model`},
	} {
		p := writeJSON(t, dir, "tokenizer.json", c.body)
		_, err := FromFile(p)
		require.Error(t, err, c.body)
		assert.Contains(t, err.Error(), c.want)
		assert.Contains(t, err.Error(), p)
	}
	_, err := FromFile(filepath.Join(dir, "missing.json"))
	assert.Error(t, err)

	_, err = FromFolder(t.TempDir())
	assert.ErrorContains(t, err, "neither tokenizer.json nor vocab.txt")
	bad := vocabFolder(t, `{"do_lower_case": tru`)
	_, err = FromFolder(bad)
	assert.ErrorContains(t, err, filepath.Join(bad, TokenizerConfig))
	noCLS := t.TempDir()
	writeJSON(t, noCLS, VocabTxt, "[UNK]\n[SEP]\nhello\n")
	_, err = FromFolder(noCLS)
	assert.ErrorContains(t, err, `"[CLS]" is not in the vocabulary`)
}

func TestFromFileBert(t *testing.T) {
	// A minimal hand-written BERT tokenizer.json with BertProcessing.
	dir := t.TempDir()
	p := writeJSON(t, dir, "tokenizer.json", `{
	  "added_tokens": [{"id": 0, "content": "[PAD]", "special": true}, {"id": 4, "content": "[MASK]", "special": true}],
	  "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
	  "pre_tokenizer": {"type": "BertPreTokenizer"},
	  "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
	  "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
	  "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
	            "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "hello": 5, "##s": 6, "cafe": 7, "!": 8}}}`)
	tk, err := FromFile(p)
	require.NoError(t, err)
	assert.Equal(t, Unlimited, tk.ModelMaxLength())
	e := tk.EncodePair("Hellos CAFÉ!", "[MASK] x")
	assert.Equal(t, []string{"[CLS]", "hello", "##s", "cafe", "!", "[SEP]", "[MASK]", "[UNK]", "[SEP]"}, e.Tokens)
	assert.Equal(t, []int64{0, 0, 0, 0, 0, 0, 1, 1, 1}, e.TypeIDs)
	// [CLS] is no added token in this file, so tokenizers does not skip it either.
	assert.Equal(t, "[CLS] hellos cafe!", tk.Decode(e.IDs[:5], true))
	assert.Equal(t, int64(0), tk.Specials().PAD.ID)
	assert.Equal(t, int64(2), tk.Specials().CLS.ID)
}

func TestFromFileMatchesFolder(t *testing.T) {
	folder := loadFolder(t, "uncased")
	file, err := FromFile(filepath.Join(refFolders(t), "uncased", TokenizerJSON))
	require.NoError(t, err)
	for _, s := range benchTexts() {
		require.Equal(t, folder.Encode(s), file.Encode(s), s)
	}
}

func TestErrorsAreTyped(t *testing.T) {
	err := errors.Join(errTooShort)
	assert.True(t, errors.Is(err, ErrTruncation))
	assert.True(t, strings.HasPrefix(errSecondMissing.Error(), "truncation error"))
}

func TestHugePaddingIsAnError(t *testing.T) {
	tk := vocabTokenizer(t)
	_, err := tk.EncodeWith("x", Options{Padding: PadMaxLength, MaxLength: 1 << 62})
	assert.Error(t, err)
	_, err = tk.EncodeBatch(context.Background(), []string{"x"}, Options{Padding: PadLongest, PadToMultipleOf: 1 << 62})
	assert.Error(t, err)
}
