package pretokenizer

import (
	"unicode/utf8"

	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/chars"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/normstr"
)

// ByteChar maps every byte to the printable character GPT-2's byte-level
// alphabet uses for it; CharByte is the inverse.
var (
	ByteChar [256]rune
	CharByte = map[rune]byte{}
)

func init() {
	var bs []int
	for b := '!'; b <= '~'; b++ {
		bs = append(bs, int(b))
	}
	for b := 0xA1; b <= 0xAC; b++ {
		bs = append(bs, b)
	}
	for b := 0xAE; b <= 0xFF; b++ {
		bs = append(bs, b)
	}
	in := map[int]bool{}
	for _, b := range bs {
		in[b] = true
		ByteChar[b] = rune(b)
	}
	n := 0
	for b := 0; b < 256; b++ {
		if !in[b] {
			ByteChar[b] = rune(256 + n)
			n++
		}
	}
	for b, c := range ByteChar {
		CharByte[c] = byte(b)
	}
}

// ByteLevel is the ByteLevel pre-tokenizer: an optional prefix space, the
// GPT-2 split, then every byte mapped to its alphabet character.
type ByteLevel struct {
	AddPrefixSpace bool
	UseRegex       bool
}

// PreTokenize implements PreTokenizer.
func (b ByteLevel) PreTokenize(ps []*normstr.String) []*normstr.String {
	ps = split(ps, func(n *normstr.String) []*normstr.String {
		if b.AddPrefixSpace && (n.Norm == "" || n.Norm[0] != ' ') {
			n.Prepend(" ")
		}
		if !b.UseRegex {
			return []*normstr.String{n}
		}
		return n.Split(normstr.FindSpans(n.Norm, GPT2Next), normstr.Isolated)
	})
	for _, n := range ps {
		ByteMap(n)
	}
	return ps
}

// ByteMap rewrites every byte of n as its alphabet character, the first
// byte of a character replacing it and the others inserted.
func ByteMap(n *normstr.String) {
	if n.ByteMap(&ByteChar) {
		return
	}
	tr := make([]normstr.Change, 0, len(n.Norm))
	s := n.Norm
	for i := 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		for k := 0; k < size; k++ {
			c := 0
			if k > 0 {
				c = 1
			}
			tr = append(tr, normstr.Change{R: ByteChar[s[i+k]], C: c})
		}
		i += size
	}
	n.Transform(tr, 0)
}

func decode(s string, i int) (rune, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// GPT2Next finds the next match of GPT-2's pattern
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// as Oniguruma does (leftmost, first alternative that matches). Every
// character starts a match, so it always matches at from when from < len(s).
func GPT2Next(s string, from int) (int, int, bool) {
	if from >= len(s) {
		return 0, 0, false
	}
	i := from
	if s[i] == '\'' && i+1 < len(s) {
		switch s[i+1] {
		case 's', 't', 'm', 'd':
			return i, i + 2, true
		case 'r', 'v':
			if i+2 < len(s) && s[i+2] == 'e' {
				return i, i + 3, true
			}
		case 'l':
			if i+2 < len(s) && s[i+2] == 'l' {
				return i, i + 3, true
			}
		}
	}
	run := func(j int, in func(rune) bool) int {
		for j < len(s) {
			r, n := decode(s, j)
			if !in(r) {
				break
			}
			j += n
		}
		return j
	}
	isL := chars.L.Has
	isN := chars.N.Has
	other := func(r rune) bool { return !chars.S.Has(r) && !chars.L.Has(r) && !chars.N.Has(r) }
	j := i
	if s[i] == ' ' {
		j = i + 1
	}
	for _, in := range []func(rune) bool{isL, isN, other} {
		// " ?X+": with the space when X follows it, else without
		if e := run(j, in); e > j {
			return i, e, true
		}
		if j > i {
			if e := run(i, in); e > i {
				return i, e, true
			}
		}
	}
	// \s+(?!\S) then \s+
	e := run(i, chars.S.Has)
	if e == len(s) {
		return i, e, true
	}
	// the run is followed by a non-space: give back its last character
	_, last := utf8.DecodeLastRuneInString(s[i:e])
	if e-last > i {
		return i, e - last, true
	}
	return i, e, true
}
