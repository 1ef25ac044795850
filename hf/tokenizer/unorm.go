package tokenizer

import (
	"unicode/utf8"

	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/normstr"
)

// The Unicode normalization forms as tokenizers 0.22.1 computes them: its
// NormalizedString::nfc/nfd/nfkc/nfkd run the crate
// unicode-normalization-alignments 0.1.12 (Unicode 9.0 tables) over the
// whole normalized string and hand the (character, change) pairs it yields
// to transform. The decomposition, canonical reordering and recomposition
// below follow that crate's iterators step by step, including which output
// character counts as the "first" of its source (it takes the source's
// alignment by position) and the change a composition carries (the sum of
// its parts' changes, minus one).

// Flags of the forms' two-stage table.
const (
	fCompat uint8 = 1 << iota // has a compatibility decomposition other than its canonical one
	fSecond                   // second character of some canonical composition (Hangul V and T included)
)

// Hangul jamo ranges of Unicode 9.0 §3.12 (Conjoining Jamo Behavior).
const (
	hangulLBase, hangulLLast = 0x1100, 0x1112
	hangulVBase, hangulVLast = 0x1161, 0x1175
	hangulTBase, hangulTLast = 0x11A7, 0x11C2
)

type formTables struct {
	index  [(utf8.MaxRune + 1) >> 8]uint16
	blocks []uint8
	compat map[rune][]rune
	pairs  map[uint64]rune
}

func (t *charTables) formTables() *formTables {
	t.formsOnce.Do(func() {
		f := &formTables{compat: make(map[rune][]rune, 3700), pairs: make(map[uint64]rune, len(compositions))}
		flat := make([]uint8, utf8.MaxRune+1)
		for i := 0; i < len(compatDecompositions); {
			j := i + 1
			for compatDecompositions[j] != 0 {
				j++
			}
			f.compat[compatDecompositions[i]] = compatDecompositions[i+1 : j : j]
			flat[compatDecompositions[i]] |= fCompat
			i = j + 1
		}
		for _, c := range compositions {
			f.pairs[uint64(c.a)<<32|uint64(c.b)] = c.c
			flat[c.b] |= fSecond
		}
		for r := hangulVBase; r <= hangulVLast; r++ {
			flat[r] |= fSecond
		}
		for r := hangulTBase + 1; r <= hangulTLast; r++ {
			flat[r] |= fSecond
		}
		seen := make(map[string]uint16)
		for b := range f.index {
			blk := flat[b<<8 : (b+1)<<8]
			k, ok := seen[string(blk)]
			if !ok {
				k = uint16(len(f.blocks) >> 8)
				seen[string(blk)] = k
				f.blocks = append(f.blocks, blk...)
			}
			f.index[b] = k
		}
		t.forms = f
	})
	return t.forms
}

func (f *formTables) flags(r rune) uint8 {
	if uint32(r) > utf8.MaxRune {
		return 0
	}
	return f.blocks[int(f.index[r>>8])<<8|int(r&0xFF)]
}

// compose is the crate's compose: Hangul L+V and LV+T, then the table.
func (f *formTables) compose(a, b rune) (rune, bool) {
	switch {
	case a >= hangulLBase && a <= hangulLLast && b >= hangulVBase && b <= hangulVLast:
		return hangulFirst + ((a-hangulLBase)*21+(b-hangulVBase))*28, true
	case a >= hangulFirst && a <= hangulLast && (a-hangulFirst)%28 == 0 && b > hangulTBase && b <= hangulTLast:
		return a + (b - hangulTBase), true
	}
	c, ok := f.pairs[uint64(a)<<32|uint64(b)]
	return c, ok
}

// formItem is one character of a decomposition with its change (0 for the
// first character of its source, 1 for the others; compositions sum them)
// and its canonical combining class.
type formItem struct {
	r   rune
	c   int
	ccc uint8
}

func (t *charTables) combiningClass(r rune) uint8 {
	if t.class(r)&cCombining == 0 {
		return 0
	}
	return t.ccc[r]
}

// unicodeForm is the NFC, NFD, NFKC or NFKD normalizer.
type unicodeForm struct {
	tab             *charTables
	compat, compose bool
}

// Normalize implements normalizer.Normalizer.
func (u unicodeForm) Normalize(n *normstr.String) {
	tr, changed := u.changes(n.Norm, nil)
	if !changed && !n.Unchanged() {
		// Transform's edge cases: apply the unchanged characters anyway
		tr, changed = tr[:0], true
		for _, c := range n.Norm {
			tr = append(tr, normstr.Change{R: c})
		}
	}
	if changed {
		n.Transform(tr, 0)
	}
}

// changes returns the transformation of s into its normal form, and false
// when the form is s itself with every character kept in place (then
// transform would leave the string and its alignments as they are).
func (u unicodeForm) changes(s string, dst []normstr.Change) ([]normstr.Change, bool) {
	t := u.tab
	f := t.formTables()
	// Quick check: no character decomposes, none has a non-zero class and
	// none can be the second of a composition: every form is the identity.
	quick := true
	for i := 0; i < len(s) && quick; {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if t.class(r)&(cDecomp|cCombining) != 0 {
			quick = false
		} else if fl := f.flags(r); (u.compat && fl&fCompat != 0) || (u.compose && fl&fSecond != 0) {
			quick = false
		}
	}
	if quick {
		return dst, false
	}
	items := u.decompose(s, make([]formItem, 0, len(s)+8))
	if u.compose {
		items = u.recompose(items)
	}
	changed := false
	k := 0
	for _, c := range s {
		if k >= len(items) || items[k].c != 0 || items[k].r != c {
			changed = true
			break
		}
		k++
	}
	if !changed && k == len(items) {
		return dst, false
	}
	dst = dst[:0]
	for _, it := range items {
		dst = append(dst, normstr.Change{R: it.r, C: it.c})
	}
	return dst, true
}

// decompose is the crate's Decompositions iterator run to the end: each
// character's full decomposition, the first character with change 0 and
// the others 1, then each run of non-starters stably sorted by class.
func (u unicodeForm) decompose(s string, out []formItem) []formItem {
	t := u.tab
	f := t.formTables()
	var dec []rune
	var buf [8]rune
	run := -1 // start of the current run of non-starters, or -1
	push := func(r rune, first bool) {
		it := formItem{r: r, c: 1, ccc: t.combiningClass(r)}
		if first {
			it.c = 0
		}
		if it.ccc == 0 {
			if run >= 0 {
				sortRun(out[run:])
				run = -1
			}
		} else if run < 0 {
			run = len(out)
		}
		out = append(out, it)
	}
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			push(r, true)
			continue
		case u.compat && f.flags(r)&fCompat != 0:
			dec = f.compat[r]
		case t.class(r)&cDecomp != 0:
			dec = t.decompose(buf[:0], r)
		default:
			push(r, true)
			continue
		}
		for k, d := range dec {
			push(d, k == 0)
		}
	}
	if run >= 0 {
		sortRun(out[run:])
	}
	return out
}

// sortRun is a stable insertion sort by combining class (runs are short).
func sortRun(p []formItem) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j-1].ccc > p[j].ccc; j-- {
			p[j-1], p[j] = p[j], p[j-1]
		}
	}
}

// recompose is the crate's Recompositions iterator run to the end, in
// place (it never writes ahead of what it has read).
func (u unicodeForm) recompose(in []formItem) []formItem {
	f := u.tab.formTables()
	out := in[:0]
	var composee formItem
	have := false
	lastCCC := -1 // none
	var buf []formItem
	for _, it := range in {
		if !have {
			if it.ccc != 0 {
				out = append(out, it)
				continue
			}
			composee, have = it, true
			continue
		}
		if lastCCC < 0 {
			if r, ok := f.compose(composee.r, it.r); ok {
				composee = formItem{r: r, c: composee.c + it.c - 1}
				continue
			}
			if it.ccc == 0 {
				out = append(out, composee)
				composee = it
				continue
			}
			buf = append(buf, it)
			lastCCC = int(it.ccc)
			continue
		}
		if lastCCC >= int(it.ccc) {
			// it is blocked from the composee
			if it.ccc == 0 {
				out = append(out, composee)
				out = append(out, buf...)
				buf = buf[:0]
				composee, lastCCC = it, -1
				continue
			}
			buf = append(buf, it)
			lastCCC = int(it.ccc)
			continue
		}
		if r, ok := f.compose(composee.r, it.r); ok {
			composee = formItem{r: r, c: composee.c + it.c - 1}
			continue
		}
		buf = append(buf, it)
		lastCCC = int(it.ccc)
	}
	if have {
		out = append(out, composee)
	}
	return append(out, buf...)
}
