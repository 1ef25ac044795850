// Package normstr is tokenizers' NormalizedString: a normalized text that
// keeps, for every normalized byte, the span of the original text it came
// from, with the library's exact rules for how edits move those spans (so
// that offsets agree with Hugging Face tokenizers on every input).
//
// Spans are absolute byte offsets into the whole input, where tokenizers
// keeps them relative to a slice plus a shift; the sums are the same.
package normstr

import (
	"strings"
	"unicode/utf8"
)

// Span is a half-open byte range [Start, End) of the original text.
type Span struct{ Start, End int }

// String is a normalized string with its alignments. The zero value is an
// empty string at offset 0.
type String struct {
	// Norm is the normalized text.
	Norm string
	// Align holds, for each byte of Norm, the original span it comes from.
	Align []Span
	// OrigStart and OrigEnd bound the original text this string covers.
	OrigStart, OrigEnd int
}

// New returns the unnormalized string s found at byte offset at of the input.
func New(s string, at int) *String {
	n := &String{Norm: s, Align: make([]Span, len(s)), OrigStart: at, OrigEnd: at + len(s)}
	for i := 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		for k := 0; k < size; k++ {
			n.Align[i+k] = Span{at + i, at + i + size}
		}
		i += size
	}
	return n
}

// Change is one output character of a transformation: C is 0 when it
// replaces the next input character, 1 when it is inserted, -N when it
// replaces the next input character and removes the N after it.
type Change struct {
	R rune
	C int
}

// OrigSpan maps a byte range of Norm to the original span (tokenizers'
// convert_offsets from the normalized referential). ok is false when the
// range is out of bounds.
func (n *String) OrigSpan(s, e int) (Span, bool) {
	if s == e {
		// tokenizers returns the empty range unchanged, in normalized
		// coordinates, relative to the slice.
		return Span{n.OrigStart + s, n.OrigStart + e}, true
	}
	if s > e || e > len(n.Align) || s < 0 {
		return Span{}, false
	}
	return Span{n.Align[s].Start, n.Align[e-1].End}, true
}

// Transform is tokenizers' transform, i.e. transform_range over the whole
// original range, which starts at the first normalized byte whose span is
// not empty (characters inserted at the very start have empty spans).
func (n *String) Transform(dest []Change, initialOffset int) {
	if n.OrigEnd == n.OrigStart {
		n.TransformRange(0, 0, dest, initialOffset)
		return
	}
	s := len(n.Align)
	for i, a := range n.Align {
		if a.Start != a.End {
			s = i
			break
		}
	}
	n.TransformRange(s, len(n.Norm), dest, initialOffset)
}

// Unchanged tells whether Transform with one unchanged character per
// character (each replacing itself) would leave n as it is, so that a
// transformation found to change nothing can be skipped. It would not
// where Transform's edge cases apply: characters with empty spans at the
// start (the transformed range starts after them) or an empty original
// range.
func (n *String) Unchanged() bool {
	return n.Norm == "" || (n.OrigEnd != n.OrigStart && n.Align[0].Start != n.Align[0].End)
}

// TransformRange is tokenizers' transform_range over the normalized byte
// range [s, e).
func (n *String) TransformRange(s, e int, dest []Change, initialOffset int) {
	if initialOffset == 0 && n.sameShape(s, e, dest) {
		return
	}
	old := n.Norm[s:e]
	pos := 0 // byte position in old of the next replaced character
	for k := 0; k < initialOffset && pos < len(old); k++ {
		_, size := utf8.DecodeRuneInString(old[pos:])
		pos += size
	}
	// The output's exact size, so that the text and its alignments are
	// each one allocation (the hot path of most normalizers).
	size := 0
	for _, ch := range dest {
		if l := utf8.RuneLen(ch.R); l > 0 {
			size += l
		} else {
			size += 3
		}
	}
	whole := s == 0 && e == len(n.Norm)
	var b strings.Builder
	b.Grow(size)
	var aligns []Span
	if whole {
		aligns = make([]Span, 0, size)
	} else {
		aligns = make([]Span, 0, len(n.Align)-(e-s)+size)
		aligns = append(aligns, n.Align[:s]...)
	}
	for _, ch := range dest {
		idx := s + pos
		var a Span
		if ch.C > 0 {
			if idx < 1 {
				a = Span{n.OrigStart, n.OrigStart}
			} else {
				a = n.Align[idx-1]
			}
		} else if idx < len(n.Align) {
			a = n.Align[idx]
		}
		if ch.C <= 0 && pos < len(old) {
			_, size := utf8.DecodeRuneInString(old[pos:])
			pos += size
		}
		for k := 0; k < -ch.C && pos < len(old); k++ {
			_, size := utf8.DecodeRuneInString(old[pos:])
			pos += size
		}
		size := utf8.RuneLen(ch.R)
		if size < 0 {
			ch.R, size = utf8.RuneError, 3
		}
		b.WriteRune(ch.R)
		for range size {
			aligns = append(aligns, a)
		}
	}
	if whole {
		n.Align = aligns
		n.Norm = b.String()
		return
	}
	n.Align = append(aligns, n.Align[e:]...)
	n.Norm = n.Norm[:s] + b.String() + n.Norm[e:]
}

// ByteMap is Transform with, for each character, one output character per
// byte (m of the byte): the first replaces the character, the others are
// inserted after it. It writes the result directly (the byte-level
// pre-tokenizer's hot path) and returns false, doing nothing, where
// Transform's edge cases apply (leading characters with empty spans, an
// empty original range): the caller then runs Transform.
func (n *String) ByteMap(m *[256]rune) bool {
	if n.OrigEnd == n.OrigStart || len(n.Align) == 0 || n.Align[0].Start == n.Align[0].End {
		return false
	}
	s := n.Norm
	size := 0
	for i := 0; i < len(s); i++ {
		size += utf8.RuneLen(m[s[i]])
	}
	var out strings.Builder
	out.Grow(size)
	al := make([]Span, 0, size)
	for i := 0; i < len(s); {
		w := 1
		if s[i] >= utf8.RuneSelf {
			_, w = utf8.DecodeRuneInString(s[i:])
		}
		for k := 0; k < w; k++ {
			r := m[s[i+k]]
			a := n.Align[i] // the character's first byte replaces it
			if k > 0 {
				a = n.Align[i+w-1] // the others are inserted after it
			}
			if r < utf8.RuneSelf {
				out.WriteByte(byte(r))
				al = append(al, a)
				continue
			}
			out.WriteRune(r)
			for range utf8.RuneLen(r) {
				al = append(al, a)
			}
		}
		i += w
	}
	n.Norm = out.String()
	n.Align = al
	return true
}

// ReplaceSpaces is Replace(FindString(n.Norm, " "), rep) followed, when
// prepend is true, by Prepend(rep), in one pass (Metaspace's hot path).
// prepend must be false when n.Norm starts with a space (the replaced
// space already starts it) and rep must be valid UTF-8.
func (n *String) ReplaceSpaces(rep string, prepend bool) {
	s := n.Norm
	if s == "" {
		return
	}
	spaces := strings.Count(s, " ")
	size := len(s) + spaces*(len(rep)-1)
	if prepend {
		size += len(rep)
	}
	var b strings.Builder
	b.Grow(size)
	al := make([]Span, 0, size)
	i := 0
	if prepend {
		// Prepend: the first character of rep replaces the first character
		// (its span), the others and that character are inserted after it
		// (the span of its last byte).
		_, first := utf8.DecodeRuneInString(s)
		last := n.Align[first-1]
		for k, c := range rep {
			a := last
			if k == 0 {
				a = n.Align[0]
			}
			b.WriteRune(c)
			for range utf8.RuneLen(c) {
				al = append(al, a)
			}
		}
		b.WriteString(s[:first])
		for range first {
			al = append(al, last)
		}
		i = first
	}
	for ; i < len(s); i++ {
		if s[i] == ' ' {
			// Replace: the content takes the span of the match's last byte
			b.WriteString(rep)
			for range len(rep) {
				al = append(al, n.Align[i])
			}
			continue
		}
		b.WriteByte(s[i])
		al = append(al, n.Align[i])
	}
	n.Norm = b.String()
	n.Align = al
}

// sameShape is TransformRange's fast path for a character-for-character
// replacement (every change replaces the next character, one change per
// character of [s, e)) where each new character has its old one's UTF-8
// length: each new character takes the span of the old one's first byte,
// so only the text is rebuilt and the alignments keep their layout. It
// returns false, doing nothing, when dest is not of that shape.
func (n *String) sameShape(s, e int, dest []Change) bool {
	old := n.Norm[s:e]
	if len(dest) > len(old) {
		return false
	}
	pos, k := 0, 0
	for ; pos < len(old) && k < len(dest); k++ {
		ch := dest[k]
		_, size := utf8.DecodeRuneInString(old[pos:])
		if ch.C != 0 || utf8.RuneLen(ch.R) != size {
			return false
		}
		pos += size
	}
	if k != len(dest) || pos != len(old) {
		return false
	}
	b := make([]byte, 0, len(n.Norm))
	b = append(b, n.Norm[:s]...)
	al := make([]Span, len(n.Align))
	copy(al, n.Align)
	pos = s
	for _, ch := range dest {
		size := utf8.RuneLen(ch.R)
		b = utf8.AppendRune(b, ch.R)
		for i := pos + 1; i < pos+size; i++ {
			al[i] = al[pos]
		}
		pos += size
	}
	b = append(b, n.Norm[e:]...)
	n.Norm = string(b)
	n.Align = al
	return true
}

// Slice returns the part [s, e) of the normalized string (byte offsets on
// character boundaries) as its own String, as NormalizedString::slice does.
func (n *String) Slice(s, e int) *String {
	v := n.slice(s, e)
	return &v
}

func (n *String) slice(s, e int) String {
	o, _ := n.OrigSpan(s, e)
	if s == e {
		o = Span{n.OrigStart, n.OrigStart}
		if len(n.Align) > 0 && s < len(n.Align) {
			o = Span{n.Align[s].Start, n.Align[s].Start}
		}
	}
	return String{Norm: n.Norm[s:e], Align: n.Align[s:e:e], OrigStart: o.Start, OrigEnd: o.End}
}

// Filter keeps the characters for which keep is true (NormalizedString::filter).
func (n *String) Filter(keep func(rune) bool) {
	if n.Unchanged() {
		all := true
		for _, c := range n.Norm {
			if !keep(c) {
				all = false
				break
			}
		}
		if all {
			return
		}
	}
	removed, removedStart := 0, 0
	var tr []Change
	var last rune
	have := false
	for _, c := range n.Norm {
		if keep(c) {
			if have {
				tr = append(tr, Change{last, -removed})
			} else {
				removedStart = removed
			}
			last, have = c, true
			removed = 0
		} else {
			removed++
		}
	}
	if have {
		tr = append(tr, Change{last, -removed})
	}
	n.Transform(tr, removedStart)
}

// Map replaces every character by f of it (NormalizedString::map).
func (n *String) Map(f func(rune) rune) {
	if n.Unchanged() {
		same := true
		for _, c := range n.Norm {
			if f(c) != c {
				same = false
				break
			}
		}
		if same {
			return
		}
	}
	tr := make([]Change, 0, len(n.Norm))
	for _, c := range n.Norm {
		tr = append(tr, Change{f(c), 0})
	}
	n.Transform(tr, 0)
}

// Prepend inserts s before the first character; nothing happens on an
// empty string.
func (n *String) Prepend(s string) {
	if n.Norm == "" {
		return
	}
	next, size := utf8.DecodeRuneInString(n.Norm)
	var tr []Change
	i := 0
	for _, c := range s {
		ch := 0
		if i != 0 {
			ch = 1
		}
		tr = append(tr, Change{c, ch})
		i++
	}
	tr = append(tr, Change{next, 1})
	n.TransformRange(0, size, tr, 0)
}

// Append adds s after the last character; nothing happens on an empty string.
func (n *String) Append(s string) {
	if n.Norm == "" {
		var tr []Change
		for _, c := range s {
			tr = append(tr, Change{c, 1})
		}
		n.TransformRange(0, 0, tr, 0)
		return
	}
	last, size := utf8.DecodeLastRuneInString(n.Norm)
	tr := []Change{{last, 0}}
	for _, c := range s {
		tr = append(tr, Change{c, 1})
	}
	n.TransformRange(len(n.Norm)-size, len(n.Norm), tr, 0)
}

// Strip removes leading and/or trailing whitespace (isSpace decides).
func (n *String) Strip(left, right bool, isSpace func(rune) bool) {
	lead, trail := 0, 0
	if left {
		for _, c := range n.Norm {
			if !isSpace(c) {
				break
			}
			lead++
		}
	}
	if right {
		for rest := n.Norm; rest != ""; trail++ {
			c, size := utf8.DecodeLastRuneInString(rest)
			if !isSpace(c) {
				break
			}
			rest = rest[:len(rest)-size]
		}
	}
	if lead == 0 && trail == 0 {
		return
	}
	rs := []rune(n.Norm)
	lead, trail = min(lead, len(rs)), min(trail, len(rs))
	var tr []Change
	count := len(rs)
	for i, c := range rs {
		switch {
		case i < lead || i >= count-trail:
		case i == len(n.Norm)-trail-1:
			// tokenizers compares the char index with the byte length here
			tr = append(tr, Change{c, -trail})
		default:
			tr = append(tr, Change{c, 0})
		}
	}
	n.Transform(tr, lead)
}

// Match is one piece of a pattern search: a byte range of the normalized
// text and whether it matched.
type Match struct {
	Start, End int
	Hit        bool
}

// Behavior is tokenizers' SplitDelimiterBehavior.
type Behavior int

// The split behaviours.
const (
	Removed Behavior = iota
	Isolated
	MergedWithPrevious
	MergedWithNext
	Contiguous
)

// Split cuts the string at the matches of a pattern (given as the complete
// cover of the text that Pattern::find_matches returns), as
// NormalizedString::split does.
func (n *String) Split(ms []Match, b Behavior) []*String {
	if len(ms) == 1 && !ms[0].Hit && ms[0].Start == 0 && ms[0].End == len(n.Norm) && n.Norm != "" {
		// One piece, the whole string: n itself when its slice would be n.
		if o, _ := n.OrigSpan(0, len(n.Norm)); o.Start == n.OrigStart && o.End == n.OrigEnd {
			return []*String{n}
		}
	}
	type sp struct {
		s, e   int
		remove bool
	}
	splits := make([]sp, 0, len(ms))
	switch b {
	case Isolated:
		for _, m := range ms {
			splits = append(splits, sp{m.Start, m.End, false})
		}
	case Removed:
		for _, m := range ms {
			splits = append(splits, sp{m.Start, m.End, m.Hit})
		}
	case Contiguous:
		prev := false
		for _, m := range ms {
			if m.Hit == prev && len(splits) > 0 {
				splits[len(splits)-1].e = m.End
			} else {
				splits = append(splits, sp{m.Start, m.End, false})
			}
			prev = m.Hit
		}
	case MergedWithPrevious:
		prev := false
		for _, m := range ms {
			if m.Hit && !prev && len(splits) > 0 {
				splits[len(splits)-1].e = m.End
			} else {
				splits = append(splits, sp{m.Start, m.End, false})
			}
			prev = m.Hit
		}
	case MergedWithNext:
		prev := false
		for i := len(ms) - 1; i >= 0; i-- {
			m := ms[i]
			if m.Hit && !prev && len(splits) > 0 {
				splits[len(splits)-1].s = m.Start
			} else {
				splits = append(splits, sp{m.Start, m.End, false})
			}
			prev = m.Hit
		}
		for i, j := 0, len(splits)-1; i < j; i, j = i+1, j-1 {
			splits[i], splits[j] = splits[j], splits[i]
		}
	}
	out := make([]*String, 0, len(splits))
	block := make([]String, len(splits)) // one allocation for all pieces
	for i, s := range splits {
		if !s.remove {
			block[i] = n.slice(s.s, s.e)
			out = append(out, &block[i])
		}
	}
	return out
}

// FindFunc is the Pattern of a character predicate: every matching
// character is a match of its own.
func FindFunc(s string, f func(rune) bool) []Match {
	if s == "" {
		return []Match{{0, 0, false}}
	}
	var ms []Match
	last, seen := 0, 0
	for b, c := range s {
		size := utf8.RuneLen(c)
		if size < 0 {
			size = 1
		}
		seen = b + size
		if f(c) {
			if last < b {
				ms = append(ms, Match{last, b, false})
			}
			ms = append(ms, Match{b, b + size, true})
			last = b + size
		}
	}
	if seen > last {
		ms = append(ms, Match{last, seen, false})
	}
	return ms
}

// FindString is the Pattern of a literal string (non-overlapping, leftmost).
func FindString(s, pat string) []Match {
	if pat == "" {
		// tokenizers returns the char count here, a byte offset elsewhere.
		return []Match{{0, utf8.RuneCountInString(s), false}}
	}
	return FindSpans(s, func(s string, from int) (int, int, bool) {
		i := strings.Index(s[from:], pat)
		if i < 0 {
			return 0, 0, false
		}
		return from + i, from + i + len(pat), true
	})
}

// FindSpans builds the cover of s from a "next match at or after from"
// function, as the regex Patterns do (an empty s is one non-match).
func FindSpans(s string, next func(s string, from int) (int, int, bool)) []Match {
	if s == "" {
		return []Match{{0, 0, false}}
	}
	ms := make([]Match, 0, len(s)/3+2)
	prev := 0
	for from := 0; from <= len(s); {
		a, b, ok := next(s, from)
		if !ok {
			break
		}
		if prev != a {
			ms = append(ms, Match{prev, a, false})
		}
		ms = append(ms, Match{a, b, true})
		prev = b
		if b == a {
			// an empty match: step over one character
			if b >= len(s) {
				break
			}
			_, size := utf8.DecodeRuneInString(s[b:])
			from = b + size
		} else {
			from = b
		}
	}
	if prev != len(s) {
		ms = append(ms, Match{prev, len(s), false})
	}
	return ms
}

// Replace replaces every match of a pattern (a cover from FindString /
// FindSpans) by content, as NormalizedString::replace does.
func (n *String) Replace(ms []Match, content string) {
	hit := false
	for _, m := range ms {
		hit = hit || m.Hit
	}
	if !hit {
		return
	}
	size := len(n.Norm)
	for _, m := range ms {
		if m.Hit {
			size += len(content) - (m.End - m.Start)
		}
	}
	size = max(size, 0)
	var b strings.Builder
	b.Grow(size)
	na := make([]Span, 0, size)
	last := 0
	for _, m := range ms {
		if !m.Hit {
			continue
		}
		b.WriteString(n.Norm[last:m.Start])
		na = append(na, n.Align[last:m.Start]...)
		// the content characters are all insertions after removing the
		// match: they share the span of the match's last byte
		idx := m.End
		for _, c := range content {
			var a Span
			if idx < 1 {
				a = Span{n.OrigStart, n.OrigStart}
			} else {
				a = n.Align[idx-1]
			}
			b.WriteRune(c)
			for range utf8.RuneLen(c) {
				na = append(na, a)
			}
		}
		last = m.End
	}
	b.WriteString(n.Norm[last:])
	na = append(na, n.Align[last:]...)
	n.Norm = b.String()
	n.Align = na
}
