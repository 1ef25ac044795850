package tokenizer

import "fmt"

// Pad pads encodings made without padding into one rectangular Batch, as
// transformers' tokenizer.pad does in a pipeline's collate step. It lets a
// caller tokenize once, then group rows into batches of its choosing (by
// length, say). o.Padding NoPadding means PadLongest here; the other padding
// fields (side, multiple, MaxLength for PadMaxLength) apply as in encoding.
// Truncation fields are ignored: the rows are already encoded.
func (t *Tokenizer) Pad(encs []Encoding, o Options) (*Batch, error) {
	if o.Padding == NoPadding {
		o.Padding = PadLongest
	}
	o.Truncation = NoTruncation
	p, err := t.plan(o)
	if err != nil {
		return nil, err
	}
	n := len(encs)
	if n == 0 {
		return &Batch{}, nil
	}
	longest := 0
	for i := range encs {
		for _, m := range encs[i].AttentionMask {
			if m == 0 {
				return nil, fmt.Errorf("tokenizer: pad: row %d is already padded; encode the rows with NoPadding", i)
			}
		}
		longest = max(longest, len(encs[i].IDs))
	}
	target := max(p.padTarget(longest), longest)
	total := n * target
	ints := make([]int64, 4*total)
	toks := make([]string, total)
	offs := make([]Offset, 2*total)
	b := &Batch{Size: n, SeqLen: target, Encodings: make([]Encoding, n)}
	b.InputIDs, b.AttentionMask, b.TokenTypeIDs, b.SpecialTokensMask = ints[:total], ints[total:2*total], ints[2*total:3*total], ints[3*total:]
	for i := range encs {
		s, e := i*target, (i+1)*target
		enc := Encoding{
			IDs:               b.InputIDs[s:e:e],
			AttentionMask:     b.AttentionMask[s:e:e],
			TypeIDs:           b.TokenTypeIDs[s:e:e],
			SpecialTokensMask: b.SpecialTokensMask[s:e:e],
			Tokens:            toks[s:e:e],
			Offsets:           offs[s:e:e],
			ByteOffsets:       offs[total+s : total+e : total+e],
		}
		src := &encs[i]
		row := rowBuf{ids: src.IDs, types: src.TypeIDs, special: src.SpecialTokensMask, toks: src.Tokens, roff: src.Offsets, boff: src.ByteOffsets}
		t.fill(&enc, &row, p.padLeft)
		b.Encodings[i] = enc
	}
	return b, nil
}
