// Package chars holds the character classes of the pinned tokenizers
// wheel that Go's unicode package does not reproduce (its Unicode version
// is older than Oniguruma's and Rust's): probed from the wheel by
// third_party/tools/tokenizer_regex_tables.py.
package chars

//go:generate sh -c "../../../../.venv/bin/python ../../../../third_party/tools/tokenizer_regex_tables.py > classes_gen.go"

import "sort"

type runeRange struct{ lo, hi rune }

// Class is a set of runes: a bitmap for the first 64K, sorted ranges above.
type Class struct {
	bmp  [1 << 16 / 64]uint64
	high []runeRange
}

func newClass(rs []runeRange) *Class {
	c := &Class{}
	for _, r := range rs {
		for x := r.lo; x <= r.hi && x < 1<<16; x++ {
			c.bmp[x>>6] |= 1 << (x & 63)
		}
		if r.hi >= 1<<16 {
			lo := max(r.lo, 1<<16)
			c.high = append(c.high, runeRange{lo, r.hi})
		}
	}
	return c
}

// Has tells whether r is in the class.
func (c *Class) Has(r rune) bool {
	if r < 1<<16 {
		return r >= 0 && c.bmp[r>>6]&(1<<(r&63)) != 0
	}
	i := sort.Search(len(c.high), func(i int) bool { return c.high[i].hi >= r })
	return i < len(c.high) && c.high[i].lo <= r
}

// IllFormedSubpart returns the length of the maximal subpart of an
// ill-formed UTF-8 sequence at the start of b (Unicode §3.9, Table 3-7): a
// lead byte followed by as many continuation bytes as could still begin a
// well-formed sequence. It is what Rust's String::from_utf8_lossy and Go
// replace with one U+FFFD each.
func IllFormedSubpart[T string | []byte](b T) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	i := 1
	for ; i <= need && i < len(b); i++ {
		if b[i] < lo || b[i] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
	}
	return i
}
