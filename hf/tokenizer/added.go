package tokenizer

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// matcher finds added tokens with aho-corasick's LeftmostLongest semantics
// (the leftmost match wins, the longest among those starting there), which
// is what tokenizers' AddedVocabulary uses. Added tokens are few, so
// candidates indexed by first byte are as fast as an automaton.
type matcher struct {
	byFirst [256][]int // pattern indices, longest first
	pats    []string
	toks    []*addedToken
}

func newMatcher(toks []*addedToken, pats []string) *matcher {
	m := &matcher{toks: toks, pats: pats}
	if pats == nil {
		m.pats = make([]string, len(toks))
		for i, a := range toks {
			m.pats[i] = a.content
		}
	}
	for i, p := range m.pats {
		if p == "" {
			continue
		}
		m.byFirst[p[0]] = append(m.byFirst[p[0]], i)
	}
	for b := range m.byFirst {
		c := m.byFirst[b]
		sort.SliceStable(c, func(i, j int) bool { return len(m.pats[c[i]]) > len(m.pats[c[j]]) })
	}
	return m
}

func (m *matcher) empty() bool { return m == nil || len(m.toks) == 0 }

// next returns the first match at or after byte from: pattern index and
// byte range, or ok=false.
func (m *matcher) next(s string, from int) (k, start, end int, ok bool) {
	for i := from; i < len(s); i++ {
		for _, p := range m.byFirst[s[i]] {
			if strings.HasPrefix(s[i:], m.pats[p]) {
				return p, i, i + len(m.pats[p]), true
			}
		}
	}
	return 0, 0, 0, false
}

// addedSplit is one piece of AddedVocabulary.find_matches: a gap to tokenize
// (tok == nil) or an added token.
type addedSplit struct {
	start, end int
	tok        *addedToken
	text       string // the matched text: tokenizers' token value
}

// split reproduces AddedVocabulary::find_matches, with its single_word,
// lstrip and rstrip handling.
func (m *matcher) split(s string, tab *charTables, dst []addedSplit) []addedSplit {
	dst = dst[:0]
	startOffset := 0
	for from := 0; ; {
		k, start, stop, ok := m.next(s, from)
		if !ok {
			break
		}
		from = stop
		a := m.toks[k]
		if a.singleWord {
			startSpace := start == 0 || !endsWithWord(s[:start])
			stopSpace := stop == len(s) || !startsWithWord(s[stop:])
			if !startSpace || !stopSpace {
				continue
			}
		}
		if a.lstrip {
			start = max(trailingSpaceStart(s[:start], tab), startOffset)
		}
		if a.rstrip {
			// The search resumes at the match end, not after the stripped
			// spaces: aho-corasick's iterator knows nothing of rstrip.
			stop += leadingSpaceLen(s[stop:], tab)
		}
		if startOffset < start {
			dst = append(dst, addedSplit{startOffset, start, nil, ""})
		}
		text := m.pats[k]
		if a.lstrip || a.rstrip {
			text = s[start:stop] // the stripped spaces are part of the token
		}
		dst = append(dst, addedSplit{start, stop, a, text})
		startOffset = stop
	}
	if startOffset != len(s) {
		dst = append(dst, addedSplit{startOffset, len(s), nil, ""})
	}
	return dst
}

// isWordChar approximates the regex crate's Unicode \w (Alphabetic, marks,
// decimal digits, connector punctuation, join controls) with Go's tables; it
// only matters for added tokens flagged single_word, which BERT has none of.
func isWordChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.Is(unicode.Nd, r) ||
		unicode.Is(unicode.Pc, r) || unicode.Is(unicode.Nl, r) ||
		unicode.Is(unicode.Other_Alphabetic, r) || r == 0x200C || r == 0x200D
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s != "" && isWordChar(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && isWordChar(r)
}

// trailingSpaceStart is where the final run of whitespace (regex \s*$) begins.
func trailingSpaceStart(s string, tab *charTables) int {
	i := len(s)
	for i > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:i])
		if tab.class(r)&cSpace == 0 {
			break
		}
		i -= n
	}
	return i
}

// leadingSpaceLen is the length of the leading whitespace run (regex ^\s*).
func leadingSpaceLen(s string, tab *charTables) int {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if tab.class(r)&cSpace == 0 {
			break
		}
		i += n
	}
	return i
}
