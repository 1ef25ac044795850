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
