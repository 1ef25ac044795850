// Package normalizer holds tokenizers' normalizers: each rewrites a
// normalized string in place, keeping its alignments to the original text.
package normalizer

import (
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/chars"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/normstr"
)

// Normalizer rewrites a normalized string (tokenizers' Normalizer).
type Normalizer interface {
	Normalize(n *normstr.String)
}

// Sequence runs normalizers one after the other.
type Sequence []Normalizer

// Normalize implements Normalizer.
func (s Sequence) Normalize(n *normstr.String) {
	for _, x := range s {
		x.Normalize(n)
	}
}

// Strip removes leading and/or trailing whitespace.
type Strip struct {
	Left, Right bool
	IsSpace     func(rune) bool
}

// Normalize implements Normalizer.
func (s Strip) Normalize(n *normstr.String) {
	if s.Left && s.Right {
		n.Strip(true, true, s.IsSpace)
		return
	}
	if s.Left {
		n.Strip(true, false, s.IsSpace)
	}
	if s.Right {
		n.Strip(false, true, s.IsSpace)
	}
}

// Prepend puts a string in front of a non-empty text.
type Prepend string

// Normalize implements Normalizer.
func (p Prepend) Normalize(n *normstr.String) { n.Prepend(string(p)) }

// Replace replaces a pattern's matches by Content.
type Replace struct {
	Literal *string
	Next    func(s string, from int) (int, int, bool)
	Content string
}

// Normalize implements Normalizer.
func (r Replace) Normalize(n *normstr.String) {
	if r.Literal != nil {
		n.Replace(normstr.FindString(n.Norm, *r.Literal), r.Content)
		return
	}
	n.Replace(normstr.FindSpans(n.Norm, r.Next), r.Content)
}

// Lowercase is Rust's str::to_lowercase character by character (one
// character may become several: the extra ones are insertions).
type Lowercase struct {
	// Lower returns the lowercase of a character: one character, or two
	// when second is not 0.
	Lower func(rune) (first, second rune)
}

// Normalize implements Normalizer.
func (l Lowercase) Normalize(n *normstr.String) {
	if n.Unchanged() {
		same := true
		for _, c := range n.Norm {
			if c < 0x80 {
				if 'A' <= c && c <= 'Z' {
					same = false
					break
				}
				continue
			}
			if a, b := l.Lower(c); a != c || b != 0 {
				same = false
				break
			}
		}
		if same {
			return
		}
	}
	tr := make([]normstr.Change, 0, len(n.Norm))
	for _, c := range n.Norm {
		a, b := l.Lower(c)
		tr = append(tr, normstr.Change{R: a})
		if b != 0 {
			tr = append(tr, normstr.Change{R: b, C: 1})
		}
	}
	n.Transform(tr, 0)
}

// StripAccents removes combining marks (as unicode-normalization-alignments'
// is_combining_mark classifies them).
type StripAccents struct{}

// Normalize implements Normalizer.
func (StripAccents) Normalize(n *normstr.String) {
	n.Filter(func(r rune) bool { return !chars.Combining.Has(r) })
}

// Nmt is the Nmt normalizer: drops ASCII control characters and maps
// other whitespace-like code points to a space.
type Nmt struct{}

// Normalize implements Normalizer.
func (Nmt) Normalize(n *normstr.String) {
	n.Filter(func(c rune) bool {
		switch {
		case c >= 1 && c <= 8, c == 0x0B, c >= 0x0E && c <= 0x1F, c == 0x7F, c == 0x8F, c == 0x9F:
			return false
		}
		return true
	})
	n.Map(func(c rune) rune {
		switch {
		case c == 0x09, c == 0x0A, c == 0x0C, c == 0x0D, c == 0x1680, c >= 0x200B && c <= 0x200F,
			c == 0x2028, c == 0x2029, c == 0x2581, c == 0xFEFF, c == 0xFFFD:
			return ' '
		}
		return c
	})
}

// ByteLevel maps every byte to GPT-2's byte-level alphabet.
type ByteLevel struct {
	Map func(n *normstr.String)
}

// Normalize implements Normalizer.
func (b ByteLevel) Normalize(n *normstr.String) {
	if n.Norm != "" {
		b.Map(n)
	}
}

// Func adapts a function to Normalizer.
type Func func(n *normstr.String)

// Normalize implements Normalizer.
func (f Func) Normalize(n *normstr.String) { f(n) }
