package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/stretchr/testify/require"
)

// tablesDump runs `tokenizer_tables.py cmd` once per version of the script
// and of the pinned requirements (cached in testdata/gen as prefix-KEY.json)
// and returns what it wrote: tokenizers' own view of the Unicode tables.
func tablesDump(t *testing.T, cmd, prefix string) []byte {
	t.Helper()
	gen := filepath.Join(testenv.GenDir(t), "tokenizer")
	require.NoError(t, os.MkdirAll(gen, 0o755))
	key := contentKey(t, []string{toolPath("tokenizer_tables.py"),
		filepath.Join(testenv.RepoRoot(), "third_party", "requirements.txt")})
	path := filepath.Join(gen, prefix+"-"+key+".json")
	if _, err := os.Stat(path); err != nil {
		testenv.RunPython(t, "tokenizer_tables.py", cmd, path+".tmp")
		require.NoError(t, os.Rename(path+".tmp", path))
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return data
}

// TestUnicodeTables runs our normalizer and pre-tokenizer on every code
// point alone and compares with tokenizers' own (dumped by
// tokenizer_tables.py), for four normalizer settings. It catches a table
// that drifts from the library (a tokenizers upgrade, a regenerated file).
func TestUnicodeTables(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Python; slow")
	}
	data := tablesDump(t, "dump", "unicode")
	var ref map[string]map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &ref))

	configs := map[string]normConfig{
		"uncased": {enabled: true, clean: true, chinese: true, strip: true, lower: true},
		"cased":   {enabled: true, clean: true, chinese: true},
		"strip":   {enabled: true, strip: true},
		"lower":   {enabled: true, lower: true},
	}
	for name, cfg := range configs {
		want := map[rune]string{}
		for k, v := range ref[name] {
			c, err := strconv.Atoi(k)
			require.NoError(t, err)
			var s string
			require.NoError(t, json.Unmarshal(v, &s))
			want[rune(c)] = s
		}
		tk := &Tokenizer{norm: cfg, tab: getTables()}
		sc := new(scratch)
		bad := 0
		buf := make([]byte, 0, 16)
		for c := rune(0); c <= utf8.MaxRune; c++ {
			if c >= 0xD800 && c <= 0xDFFF {
				continue
			}
			tk.normalize(sc, string(c), 0, 0)
			buf = buf[:0]
			for _, n := range sc.norm {
				buf = utf8.AppendRune(buf, n.r)
			}
			exp, ok := want[c]
			if !ok {
				exp = string(c)
			}
			if string(buf) != exp && bad < 20 {
				bad++
				t.Errorf("%s: U+%04X normalizes to %+q, tokenizers gives %+q", name, c, buf, exp)
			}
		}
	}

	// Pre-tokenizer classes: "a"+c+"a" splits in 2 (space) or 3 (punctuation).
	pre := map[rune]int{}
	for k, v := range ref["pretok"] {
		c, _ := strconv.Atoi(k)
		n, _ := strconv.Atoi(string(v))
		pre[rune(c)] = n
	}
	tab := getTables()
	for c := rune(0); c <= utf8.MaxRune; c++ {
		if c >= 0xD800 && c <= 0xDFFF {
			continue
		}
		got := 1
		switch cls := tab.class(c); {
		case cls&cSpace != 0:
			got = 2
		case cls&cPunct != 0:
			got = 3
		}
		want := pre[c]
		if want == 0 {
			want = 1
		}
		if got != want {
			t.Errorf("pre-tokenizer: U+%04X splits in %d, tokenizers in %d", c, got, want)
		}
	}
}
