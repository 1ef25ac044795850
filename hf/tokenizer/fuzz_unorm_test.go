package tokenizer

import (
	"testing"
	"unicode/utf8"

	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/normstr"
)

// FuzzUnicodeForms runs NFC, NFD, NFKC and NFKD on arbitrary text (after
// other edits of the normalized string, so that alignments are not the
// identity) and checks what holds for the library's algorithm whatever the
// input: valid UTF-8 out, one alignment per byte, spans inside the
// original text and in order; NFD and NFKD fully decomposed and
// canonically ordered; NFC(x) = NFC(NFD(x)) and NFKC(x) = NFC(NFKD(x)).
func FuzzUnicodeForms(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(0))
	}
	for _, s := range []string{"\u1100\u1161\u11a8", "\uac00\u11a8\u11a7", "a\u0328\u0301\u0307\u0344\u0f73", "\u0958\U0002FA1D\u212b",
		"\u0d46\u0d3e\u0b47\u0b3e", "\u1dfa\u0898a\u0301", "\ufdfa\u3300\u2460\u00bd"} {
		f.Add([]byte(s), uint8(1))
	}
	tab := getTables()
	forms := map[string]unicodeForm{}
	for name, u := range formNormalizers {
		u.tab = tab
		forms[name] = u
	}
	run := func(name, s string, edit uint8) *normstr.String {
		n := normstr.New(s, 3)
		switch edit % 4 {
		case 1:
			n.Prepend("\u2581")
		case 2:
			n.Filter(func(r rune) bool { return r != 'a' })
		case 3:
			n.ReplaceSpaces("\u2581", true)
		}
		forms[name].Normalize(n)
		return n
	}
	f.Fuzz(func(t *testing.T, data []byte, edit uint8) {
		s := string(data)
		if !utf8.ValidString(s) {
			s = string([]rune(s)) // the tokenizer sanitizes before normalizing
		}
		out := map[string]string{}
		for name := range forms {
			n := run(name, s, edit)
			if !utf8.ValidString(n.Norm) || len(n.Align) != len(n.Norm) {
				t.Fatalf("%s %+q: invalid output %+q (%d alignments)", name, s, n.Norm, len(n.Align))
			}
			prev := 3
			for i, a := range n.Align {
				if a.Start < 3 || a.End > 3+len(s) || a.Start > a.End || a.Start < prev {
					t.Fatalf("%s %+q: byte %d aligned to %v", name, s, i, a)
				}
				prev = a.Start
			}
			out[name] = n.Norm
		}
		for _, name := range []string{"NFD", "NFKD"} {
			var last uint8
			for _, r := range out[name] {
				if tab.class(r)&cDecomp != 0 || (name == "NFKD" && tab.formTables().flags(r)&fCompat != 0) {
					t.Fatalf("%s %+q: %U left undecomposed in %+q", name, s, r, out[name])
				}
				c := tab.combiningClass(r)
				if c != 0 && last > c {
					t.Fatalf("%s %+q: marks out of canonical order in %+q", name, s, out[name])
				}
				last = c
			}
		}
		for _, p := range [][2]string{{"NFC", "NFD"}, {"NFKC", "NFKD"}} {
			n := normstr.New(out[p[1]], 0)
			forms["NFC"].Normalize(n)
			if n.Norm != out[p[0]] {
				t.Fatalf("%s %+q = %+q, NFC of its %s = %+q", p[0], s, out[p[0]], p[1], n.Norm)
			}
		}
	})
}
