package tokenizer

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/normstr"
	"github.com/stretchr/testify/require"
)

// tinyBPE is a hand-made byte-level BPE tokenizer.json: the 256-character
// byte alphabet, a few merges, RoBERTa's post-processor and decoder.
func tinyBPE(mod func(m map[string]string)) string {
	var voc []string
	id := 0
	add := func(tok string) {
		voc = append(voc, jsonString(tok)+":"+itoa(id))
		id++
	}
	for _, s := range []string{"<s>", "<pad>", "</s>", "<unk>"} {
		add(s)
	}
	for b := range 256 {
		add(string(byteChar(byte(b))))
	}
	for _, s := range []string{"Ġt", "he", "Ġthe", "in", "Ġa"} {
		add(s)
	}
	parts := map[string]string{
		"normalizer":     "null",
		"pre_tokenizer":  `{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}`,
		"post_processor": `{"type":"RobertaProcessing","sep":["</s>",2],"cls":["<s>",0],"trim_offsets":true,"add_prefix_space":false}`,
		"decoder":        `{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}`,
		"model": `{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":"","end_of_word_suffix":"",` +
			`"fuse_unk":false,"byte_fallback":false,"ignore_merges":false,"vocab":{` + strings.Join(voc, ",") +
			`},"merges":["Ġ t","h e","Ġt he","i n","Ġ a"]}`,
		"added_tokens": `[{"id":0,"content":"<s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":true,"special":true},` +
			`{"id":1,"content":"<pad>","single_word":false,"lstrip":false,"rstrip":false,"normalized":true,"special":true},` +
			`{"id":2,"content":"</s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":true,"special":true}]`,
	}
	if mod != nil {
		mod(parts)
	}
	var b strings.Builder
	b.WriteString(`{"version":"1.0","truncation":null,"padding":null`)
	for _, k := range []string{"added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder", "model"} {
		b.WriteString(`,"` + k + `":` + parts[k])
	}
	b.WriteString("}")
	return b.String()
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}

func byteChar(b byte) rune {
	switch {
	case b >= '!' && b <= '~', b >= 0xA1 && b <= 0xAC, b >= 0xAE:
		return rune(b)
	}
	n := 0
	for c := 0; c < int(b); c++ {
		if !(c >= '!' && c <= '~' || c >= 0xA1 && c <= 0xAC || c >= 0xAE) {
			n++
		}
	}
	return rune(256 + n)
}

func loadJSON(t testing.TB, js string) (*Tokenizer, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), TokenizerJSON)
	require.NoError(t, os.WriteFile(p, []byte(js), 0o644))
	return FromFile(p)
}

// TestTinyBPE checks the hand-made byte-level BPE file end to end, with
// expectations worked out by hand from its merges.
func TestTinyBPE(t *testing.T) {
	tk, err := loadJSON(t, tinyBPE(nil))
	require.NoError(t, err)
	e := tk.Encode("the tin")
	require.Equal(t, []string{"<s>", "t", "he", "Ġt", "in", "</s>"}, e.Tokens)
	require.Equal(t, []Offset{{}, {0, 1}, {1, 3}, {4, 5}, {5, 7}, {}}, e.Offsets, "trim_offsets drops the space of Ġt")
	require.Equal(t, "<s>the tin</s>", tk.Decode(e.IDs, false))
	require.Equal(t, "the tin", tk.Decode(e.IDs, true))
	require.Equal(t, "the tin", tk.DecodeTokens([]string{"t", "he", "Ġt", "in"}), "the ByteLevel decoder")
	require.Equal(t, "", tk.ContinuingSubwordPrefix())
	// Multi-byte characters: each byte is one alphabet character, all
	// aligned to the character.
	// The same merges as pairs, the newer format, give the same tokens.
	tuples := strings.Replace(tinyBPE(nil), `["Ġ t","h e","Ġt he","i n","Ġ a"]`, `[["Ġ","t"],["h","e"],["Ġt","he"],["i","n"],["Ġ","a"]]`, 1)
	tk2, err := loadJSON(t, tuples)
	require.NoError(t, err)
	require.Equal(t, e.IDs, tk2.Encode("the tin").IDs)
	e = tk.Encode("é")
	require.Equal(t, []Offset{{}, {0, 1}, {0, 1}, {}}, e.Offsets)
	require.Equal(t, []Offset{{}, {0, 2}, {0, 2}, {}}, e.ByteOffsets)
}

// TestUnsupportedComponents: every component or option this package does
// not reproduce is a load error that wraps ErrUnsupported and names it.
func TestUnsupportedComponents(t *testing.T) {
	for _, c := range []struct{ key, value, want string }{
		{"normalizer", `{"type":"Sequence","normalizers":[{"type":"NFD"},{"type":"Frobnicate"}]}`, "Frobnicate"},
		{"normalizer", `{"type":"Frobnicate"}`, "Frobnicate"},

		{"pre_tokenizer", `{"type":"Split","pattern":{"Regex":"\\s+(?!\\S)"},"behavior":"Isolated","invert":false}`, "(?"},
		{"pre_tokenizer", `{"type":"Split","pattern":{"Regex":"\\p{L}+"},"behavior":"Isolated","invert":false}`, `\p`},
		{"pre_tokenizer", `{"type":"UnicodeScripts"}`, "UnicodeScripts"},
		{"post_processor", `{"type":"Sequence","processors":[{"type":"TemplateProcessing","single":[],"pair":[],"special_tokens":{}},{"type":"ByteLevel"}]}`, "Sequence"},
		{"decoder", `{"type":"CTC","pad_token":"<pad>"}`, "CTC"},
	} {
		_, err := loadJSON(t, tinyBPE(func(m map[string]string) { m[c.key] = c.value }))
		require.Error(t, err, c.value)
		require.True(t, errors.Is(err, ErrUnsupported), "%v", err)
		require.Contains(t, err.Error(), c.want)
	}
	_, err := loadJSON(t, strings.Replace(tinyBPE(nil), `"dropout":null`, `"dropout":0.1`, 1))
	require.ErrorIs(t, err, ErrUnsupported)
	require.Contains(t, err.Error(), "dropout")
	// Malformed, not unsupported: a merge of tokens outside the vocabulary.
	_, err = loadJSON(t, strings.Replace(tinyBPE(nil), `"i n"`, `"i zz"`, 1))
	require.Error(t, err)
	require.False(t, errors.Is(err, ErrUnsupported))
	require.Contains(t, err.Error(), `"zz"`)
}

// TestSlowFolderError: a folder with only slow-tokenizer files says what
// it found and how to get a tokenizer.json.
func TestSlowFolderError(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"vocab.json", "merges.txt"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("{}"), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, TokenizerConfig), []byte(`{"tokenizer_class":"CLIPTokenizer"}`), 0o644))
	_, err := FromFolder(dir)
	require.Error(t, err)
	require.Contains(t, err.Error(), "vocab.json + merges.txt")
	require.Contains(t, err.Error(), "save_pretrained")
	dir = t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sentencepiece.bpe.model"), []byte("x"), 0o644))
	_, err = FromFolder(dir)
	require.ErrorContains(t, err, "sentencepiece.bpe.model")
}

// TestRunPattern: the c{n,} fast matcher finds what Go's regexp finds.
func TestRunPattern(t *testing.T) {
	for _, pat := range []string{" {2,}", "a{1,}", "▁{3,}"} {
		fast := runPattern(pat)
		require.NotNil(t, fast, pat)
		re := regexp.MustCompile(pat)
		slow := func(s string, from int) (int, int, bool) {
			loc := re.FindStringIndex(s[from:])
			if loc == nil {
				return 0, 0, false
			}
			return from + loc[0], from + loc[1], true
		}
		r := rand.New(rand.NewPCG(1, 2))
		for range 2000 {
			var b strings.Builder
			for range r.IntN(20) {
				b.WriteString([]string{" ", "a", "▁", "b"}[r.IntN(4)])
			}
			s := b.String()
			require.Equal(t, normstr.FindSpans(s, slow), normstr.FindSpans(s, fast), "%q on %q", pat, s)
		}
	}
	require.Nil(t, runPattern("ab{2,}"))
	require.Nil(t, runPattern("(?i)a{2,}"))
}
