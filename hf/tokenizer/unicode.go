package tokenizer

//go:generate sh -c "../../.venv/bin/python ../../third_party/tools/tokenizer_tables.py go > tables_gen.go"

import (
	"slices"
	"sync"
	"unicode/utf8"
)

type runeRange struct{ lo, hi rune }

type runePair struct{ from, to rune }

type runeTriple struct{ a, b, c rune }

type runeClass struct {
	r   rune
	ccc uint8
}

// Character classes, one bit each, looked up once per character.
const (
	cRemove    uint8 = 1 << iota // deleted by clean_text
	cSpace                       // Rust char::is_whitespace
	cPunct                       // BERT punctuation
	cChinese                     // handle_chinese_chars block
	cMark                        // non-spacing mark, dropped by strip_accents
	cLower                       // has a lowercase mapping
	cDecomp                      // has a canonical decomposition
	cCombining                   // non-zero canonical combining class
)

// chineseRanges is is_chinese_char from tokenizers' normalizers/bert.rs.
var chineseRanges = []runeRange{
	{0x4E00, 0x9FFF}, {0x3400, 0x4DBF}, {0x20000, 0x2A6DF}, {0x2A700, 0x2B73F},
	{0x2B740, 0x2B81F}, {0x2B920, 0x2CEAF}, {0xF900, 0xFAFF}, {0x2F800, 0x2FA1F},
}

const (
	hangulFirst = 0xAC00
	hangulLast  = 0xD7A3
)

// charTables is a two-stage lookup (256-rune blocks, identical blocks shared)
// built on first use: a flat 1.1 MB table would cost memory for every
// importer, and a binary search per character is too slow for the hot loop.
type charTables struct {
	ascii  [128]uint8
	index  [(utf8.MaxRune + 1) >> 8]uint16
	blocks []uint8
	lower  map[rune]rune
	decomp map[rune][]rune
	ccc    map[rune]uint8

	// The NFC/NFD/NFKC/NFKD tables (unorm.go), built on first use of one
	// of those normalizers.
	formsOnce sync.Once
	forms     *formTables
}

var (
	tablesOnce sync.Once
	tables     *charTables
)

func getTables() *charTables {
	tablesOnce.Do(func() { tables = buildTables() })
	return tables
}

func buildTables() *charTables {
	t := &charTables{
		lower:  make(map[rune]rune, len(lowerSingle)),
		decomp: make(map[rune][]rune, 2100),
		ccc:    make(map[rune]uint8, len(combiningClasses)),
	}
	flat := make([]uint8, utf8.MaxRune+1)
	mark := func(rs []runeRange, bit uint8) {
		for _, r := range rs {
			for c := r.lo; c <= r.hi; c++ {
				flat[c] |= bit
			}
		}
	}
	mark(removeRanges, cRemove)
	mark(spaceRanges, cSpace)
	mark(punctRanges, cPunct)
	mark(chineseRanges, cChinese)
	mark(nonspacingRanges, cMark)
	mark([]runeRange{{hangulFirst, hangulLast}}, cDecomp)
	for _, p := range lowerSingle {
		t.lower[p.from] = p.to
		flat[p.from] |= cLower
	}
	flat[0x130] |= cLower
	for i := 0; i < len(decompositions); {
		j := i + 1
		for decompositions[j] != 0 {
			j++
		}
		t.decomp[decompositions[i]] = decompositions[i+1 : j : j]
		flat[decompositions[i]] |= cDecomp
		i = j + 1
	}
	for _, c := range combiningClasses {
		t.ccc[c.r] = c.ccc
		flat[c.r] |= cCombining
	}
	// Surrogates never reach the tables (Go strings decode them as U+FFFD).
	copy(t.ascii[:], flat[:128])
	seen := make(map[string]uint16)
	for b := range t.index {
		blk := flat[b<<8 : (b+1)<<8]
		k, ok := seen[string(blk)]
		if !ok {
			k = uint16(len(t.blocks) >> 8)
			seen[string(blk)] = k
			t.blocks = append(t.blocks, blk...)
		}
		t.index[b] = k
	}
	t.blocks = slices.Clip(t.blocks)
	return t
}

func (t *charTables) class(r rune) uint8 {
	if uint32(r) < 128 {
		return t.ascii[r]
	}
	if uint32(r) > utf8.MaxRune {
		return 0
	}
	return t.blocks[int(t.index[r>>8])<<8|int(r&0xFF)]
}

// decompose appends the full canonical decomposition of r (r itself when it
// has none) to dst.
func (t *charTables) decompose(dst []rune, r rune) []rune {
	if r >= hangulFirst && r <= hangulLast {
		s := r - hangulFirst
		dst = append(dst, 0x1100+s/588, 0x1161+(s%588)/28)
		if s%28 != 0 {
			dst = append(dst, 0x11A7+s%28)
		}
		return dst
	}
	if d, ok := t.decomp[r]; ok {
		return append(dst, d...)
	}
	return append(dst, r)
}
