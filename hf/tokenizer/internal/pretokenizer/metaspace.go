package pretokenizer

import (
	"strings"
	"unicode/utf8"

	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/normstr"
)

// PrependScheme is Metaspace's prepend_scheme.
type PrependScheme int

// The prepend schemes.
const (
	PrependAlways PrependScheme = iota
	PrependFirst
	PrependNever
)

// Metaspace replaces spaces by the replacement character, prepends one
// per the scheme and optionally splits before each replacement.
type Metaspace struct {
	Replacement rune
	Scheme      PrependScheme
	Split       bool
}

// PreTokenize implements PreTokenizer.
func (m Metaspace) PreTokenize(ps []*normstr.String) []*normstr.String {
	rep := string(m.Replacement)
	return split(ps, func(n *normstr.String) []*normstr.String {
		if m.Replacement != ' ' && m.Replacement != utf8.RuneError && n.Norm != "" {
			// Replace and Prepend in one pass: after the replacement the
			// text starts with rep when it started with rep or a space.
			first, _ := utf8.DecodeRuneInString(n.Norm)
			starts := first == m.Replacement || n.Norm[0] == ' '
			prepend := !starts && (m.Scheme == PrependAlways || (m.Scheme == PrependFirst && n.OrigStart == 0))
			if prepend || strings.IndexByte(n.Norm, ' ') >= 0 {
				n.ReplaceSpaces(rep, prepend)
			}
		} else {
			if strings.IndexByte(n.Norm, ' ') >= 0 {
				n.Replace(normstr.FindString(n.Norm, " "), rep)
			}
			first, _ := utf8.DecodeRuneInString(n.Norm)
			starts := n.Norm != "" && first == m.Replacement
			switch m.Scheme {
			case PrependAlways:
				if !starts {
					n.Prepend(rep)
				}
			case PrependFirst:
				if !starts && n.OrigStart == 0 {
					n.Prepend(rep)
				}
			}
		}
		if !m.Split {
			return []*normstr.String{n}
		}
		return n.Split(normstr.FindFunc(n.Norm, func(r rune) bool { return r == m.Replacement }), normstr.MergedWithNext)
	})
}
