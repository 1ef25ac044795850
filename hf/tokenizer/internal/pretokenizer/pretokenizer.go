// Package pretokenizer holds tokenizers' pre-tokenizers: each cuts the
// normalized pieces of a text into smaller ones (words) that the model
// tokenizes independently, keeping every piece's alignments.
package pretokenizer

import (
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/chars"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/normstr"
)

// PreTokenizer splits (and may rewrite) pieces, as tokenizers'
// PreTokenizer::pre_tokenize does on a PreTokenizedString's splits.
type PreTokenizer interface {
	PreTokenize(pieces []*normstr.String) []*normstr.String
}

// Funcs are the character predicates of the tokenizers wheel that the
// caller holds tables for.
type Funcs struct {
	// IsSpace is Rust's char::is_whitespace.
	IsSpace func(rune) bool
	// IsPunct is tokenizers' is_punc / BERT punctuation.
	IsPunct func(rune) bool
	// IsNumeric is Rust's char::is_numeric.
	IsNumeric func(rune) bool
}

// split applies f to every piece and keeps the non-empty results
// (PreTokenizedString::split).
func split(ps []*normstr.String, f func(*normstr.String) []*normstr.String) []*normstr.String {
	out := make([]*normstr.String, 0, len(ps))
	for _, p := range ps {
		for _, q := range f(p) {
			if q.Norm != "" {
				out = append(out, q)
			}
		}
	}
	return out
}

// Sequence runs pre-tokenizers one after the other.
type Sequence []PreTokenizer

// PreTokenize implements PreTokenizer.
func (s Sequence) PreTokenize(ps []*normstr.String) []*normstr.String {
	for _, p := range s {
		ps = p.PreTokenize(ps)
	}
	return ps
}

// CharSplit splits on the characters a predicate selects, with a
// delimiter behaviour: WhitespaceSplit (whitespace, removed), Punctuation
// (punctuation, its behaviour), Digits (numeric, isolated or contiguous).
type CharSplit struct {
	Is       func(rune) bool
	Behavior normstr.Behavior
}

// PreTokenize implements PreTokenizer.
func (c CharSplit) PreTokenize(ps []*normstr.String) []*normstr.String {
	return split(ps, func(n *normstr.String) []*normstr.String {
		return n.Split(normstr.FindFunc(n.Norm, c.Is), c.Behavior)
	})
}

// Bert is BertPreTokenizer: split on whitespace (removed), then isolate
// punctuation.
func Bert(f Funcs) PreTokenizer {
	return Sequence{CharSplit{f.IsSpace, normstr.Removed}, CharSplit{f.IsPunct, normstr.Isolated}}
}

// Whitespace is the Whitespace pre-tokenizer: the regex \w+|[^\w\s]+ (regex
// crate classes) keeps its matches and drops the rest.
type Whitespace struct{}

// PreTokenize implements PreTokenizer.
func (Whitespace) PreTokenize(ps []*normstr.String) []*normstr.String {
	return split(ps, func(n *normstr.String) []*normstr.String {
		ms := normstr.FindSpans(n.Norm, whitespaceNext)
		for i := range ms {
			ms[i].Hit = !ms[i].Hit
		}
		return n.Split(ms, normstr.Removed)
	})
}

func whitespaceNext(s string, from int) (int, int, bool) {
	for i := from; i < len(s); {
		r, size := decode(s, i)
		switch {
		case chars.RustW.Has(r):
			j := i + size
			for j < len(s) {
				r2, n2 := decode(s, j)
				if !chars.RustW.Has(r2) {
					break
				}
				j += n2
			}
			return i, j, true
		case !chars.S.Has(r):
			j := i + size
			for j < len(s) {
				r2, n2 := decode(s, j)
				if chars.RustW.Has(r2) || chars.S.Has(r2) {
					break
				}
				j += n2
			}
			return i, j, true
		}
		i += size
	}
	return 0, 0, false
}

// Pattern is a Split pre-tokenizer's pattern: the next match at or after a
// byte offset.
type Pattern func(s string, from int) (start, end int, ok bool)

// Split is the Split pre-tokenizer.
type Split struct {
	Next     Pattern
	Literal  *string // a String pattern (an empty one has tokenizers' own cover)
	Behavior normstr.Behavior
	Invert   bool
}

// PreTokenize implements PreTokenizer.
func (sp Split) PreTokenize(ps []*normstr.String) []*normstr.String {
	return split(ps, func(n *normstr.String) []*normstr.String {
		var ms []normstr.Match
		if sp.Literal != nil {
			ms = normstr.FindString(n.Norm, *sp.Literal)
		} else {
			ms = normstr.FindSpans(n.Norm, sp.Next)
		}
		if sp.Invert {
			for i := range ms {
				ms[i].Hit = !ms[i].Hit
			}
		}
		return n.Split(ms, sp.Behavior)
	})
}
