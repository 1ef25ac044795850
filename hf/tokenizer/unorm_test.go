package tokenizer

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/normstr"
	"github.com/stretchr/testify/require"
)

var formNormalizers = map[string]unicodeForm{
	"NFC":  {compose: true},
	"NFD":  {},
	"NFKC": {compat: true, compose: true},
	"NFKD": {compat: true},
}

// TestUnicodeForms runs NFC, NFD, NFKC and NFKD on every code point alone
// and on adversarial sequences (compositions with marks around them,
// Hangul L V T runs, singletons, exclusions, mark runs to reorder, marks
// assigned after Unicode 9.0, random mixes), and compares the output and
// the original byte span of every output character with tokenizers'
// NormalizedString (dumped by tokenizer_tables.py forms).
func TestUnicodeForms(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Python; slow")
	}
	data := tablesDump(t, "forms", "forms")
	var ref struct {
		Single map[string]map[string]string
		Seqs   []map[string]json.RawMessage
	}
	require.NoError(t, json.Unmarshal(data, &ref))
	tab := getTables()

	for name, u := range formNormalizers {
		u.tab = tab
		want := map[rune]string{}
		for k, v := range ref.Single[name] {
			c, err := strconv.Atoi(k)
			require.NoError(t, err)
			want[rune(c)] = v
		}
		bad := 0
		for c := rune(0); c <= utf8.MaxRune; c++ {
			if c >= 0xD800 && c <= 0xDFFF {
				continue
			}
			s := string(c)
			n := normstr.New(s, 0)
			u.Normalize(n)
			exp, ok := want[c]
			if !ok {
				exp = s
			}
			if n.Norm != exp && bad < 20 {
				bad++
				t.Errorf("%s: U+%04X gives %+q, tokenizers %+q", name, c, n.Norm, exp)
			}
			for i, a := range n.Align {
				if a != (normstr.Span{Start: 0, End: len(s)}) && bad < 20 {
					bad++
					t.Errorf("%s: U+%04X: byte %d of the output aligned to %v", name, c, i, a)
				}
			}
		}
	}

	same, total := 0, 0
	for k, row := range ref.Seqs {
		var in string
		require.NoError(t, json.Unmarshal(row["in"], &in))
		for name, u := range formNormalizers {
			u.tab = tab
			var exp [][2]json.RawMessage
			require.NoError(t, json.Unmarshal(row[name], &exp))
			var wantS string
			var wantA []normstr.Span
			for _, e := range exp {
				var piece string
				var span [2]int
				require.NoError(t, json.Unmarshal(e[0], &piece))
				require.NoError(t, json.Unmarshal(e[1], &span))
				wantS += piece
				wantA = append(wantA, normstr.Span{Start: span[0], End: span[1]})
			}
			n := normstr.New(in, 0)
			u.Normalize(n)
			var gotA []normstr.Span
			for i := 0; i < len(n.Norm); {
				_, size := utf8.DecodeRuneInString(n.Norm[i:])
				sp, _ := n.OrigSpan(i, i+size)
				gotA = append(gotA, sp)
				i += size
			}
			total++
			if n.Norm == wantS && fmt.Sprint(gotA) == fmt.Sprint(wantA) {
				same++
				continue
			}
			if total-same <= 20 {
				t.Errorf("%s seq %d %+q:\n  got  %+q %v\n  want %+q %v", name, k, in, n.Norm, gotA, wantS, wantA)
			}
		}
	}
	t.Logf("forms: %d/%d sequences identical (output and alignments)", same, total)
	require.Equal(t, total, same)
}
