package normalizer

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/rivo/uniseg"

	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/normstr"
)

// Precompiled is SentencePiece's precompiled_charsmap normalizer (as the
// spm_precompiled crate reads it): a double-array trie over UTF-8 byte
// strings whose values point into a blob of NUL-terminated replacements.
type Precompiled struct {
	array []uint32
	norm  []byte
	ascii [utf8.RuneSelf]asciiRep // transform of each ASCII character alone
}

type asciiRep struct {
	rep string
	ok  bool
}

// The fast path above hands uniseg no state after an ASCII character: a
// fresh state (-1) gives the same boundaries there because no rule but
// CR LF joins an ASCII character to what follows.

// NewPrecompiled decodes a base64 precompiled_charsmap.
func NewPrecompiled(b64 string) (*Precompiled, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("Precompiled: precompiled_charsmap is not base64: %w", err)
	}
	if len(raw) < 4 {
		return nil, errors.New("Precompiled: precompiled_charsmap is too short")
	}
	size := binary.LittleEndian.Uint32(raw)
	units := int(size / 4)
	if units > (len(raw)-4)/4 {
		return nil, errors.New("Precompiled: precompiled_charsmap trie is truncated")
	}
	p := &Precompiled{array: make([]uint32, units)}
	for i := range units {
		p.array[i] = binary.LittleEndian.Uint32(raw[4+4*i:])
	}
	p.norm = raw[4+4*units:]
	if !utf8.Valid(p.norm) {
		return nil, errors.New("Precompiled: precompiled_charsmap replacements are not valid UTF-8")
	}
	if units == 0 {
		return nil, errors.New("Precompiled: precompiled_charsmap has an empty trie")
	}
	for c := range p.ascii {
		p.ascii[c].rep, p.ascii[c].ok = p.transform(string(rune(c)))
	}
	return p, nil
}

func hasLeaf(u uint32) bool  { return (u>>8)&1 == 1 }
func value(u uint32) int     { return int(u & (1<<31 - 1)) }
func label(u uint32) uint32  { return u & (1<<31 | 0xFF) }
func offset(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }

// firstPrefix is common_prefix_search's first (shortest) result.
func (p *Precompiled) firstPrefix(key string) (int, bool) {
	pos := uint32(0)
	unit := p.array[0]
	pos ^= offset(unit)
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == 0 {
			break
		}
		pos ^= uint32(c)
		if int(pos) >= len(p.array) {
			return 0, false
		}
		unit = p.array[pos]
		if label(unit) != uint32(c) {
			return 0, false
		}
		pos ^= offset(unit)
		if int(pos) >= len(p.array) {
			return 0, false
		}
		if hasLeaf(unit) {
			return value(p.array[pos]), true
		}
	}
	return 0, false
}

// transform is Precompiled::transform: the replacement of chunk's shortest
// prefix in the map (applied to the whole chunk), if any.
func (p *Precompiled) transform(chunk string) (string, bool) {
	v, ok := p.firstPrefix(chunk)
	if !ok {
		return "", false
	}
	if v > len(p.norm) {
		return "", false
	}
	end := v
	for end < len(p.norm) && p.norm[end] != 0 {
		end++
	}
	s := p.norm[v:end]
	if !utf8.Valid(s) {
		return "", false
	}
	return string(s), true
}

func replaceChanges(tr []normstr.Change, old, repl string) []normstr.Change {
	diff := utf8.RuneCountInString(repl) - utf8.RuneCountInString(old)
	start := len(tr)
	for _, c := range repl {
		tr = append(tr, normstr.Change{R: c})
	}
	switch {
	case diff > 0:
		for i := len(tr) - 1; i >= start && i >= len(tr)-diff; i-- {
			tr[i].C = 1
		}
	case diff < 0:
		// tokenizers adds the removal to the last change, whichever it is
		if len(tr) > 0 {
			tr[len(tr)-1].C += diff
		}
	}
	return tr
}

// Normalize implements Normalizer, grapheme by grapheme as tokenizers does.
// The changes are only built from the first replacement on (before it,
// every character stays: identity changes), and only applied when there
// is one.
func (p *Precompiled) Normalize(n *normstr.String) {
	s := n.Norm
	var tr []normstr.Change
	modified := false
	start := func(upto int) {
		tr = make([]normstr.Change, 0, len(s))
		for _, c := range s[:upto] {
			tr = append(tr, normstr.Change{R: c})
		}
		modified = true
	}
	state := -1
	for rest := s; rest != ""; {
		at := len(s) - len(rest)
		var gr string
		if c := rest[0]; c < utf8.RuneSelf && c != '\r' && (len(rest) == 1 || rest[1] < utf8.RuneSelf) {
			// an ASCII character followed by ASCII is a cluster of its own
			// (only CR LF joins): its transform is precomputed
			rest, state = rest[1:], -1
			if a := &p.ascii[c]; a.ok {
				if !modified {
					start(at)
				}
				tr = replaceChanges(tr, s[at:at+1], a.rep)
			} else if modified {
				tr = append(tr, normstr.Change{R: rune(c)})
			}
			continue
		}
		gr, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		if len(gr) < 6 {
			if rep, ok := p.transform(gr); ok {
				if !modified {
					start(at)
				}
				tr = replaceChanges(tr, gr, rep)
				continue
			}
		}
		for i, c := range gr {
			size := utf8.RuneLen(c)
			part := gr[i : i+size]
			if rep, ok := p.transform(part); ok {
				if !modified {
					start(at + i)
				}
				tr = replaceChanges(tr, part, rep)
			} else if modified {
				tr = append(tr, normstr.Change{R: c})
			}
		}
	}
	if modified {
		n.Transform(tr, 0)
	}
}
