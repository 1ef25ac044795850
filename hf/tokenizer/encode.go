package tokenizer

// Offset is a half-open [Start, End) span of the input.
type Offset struct{ Start, End int }

// Encoding is one encoded input (a single text or a pair), after special
// tokens, truncation and padding. All slices have the same length. Special
// and pad tokens have zero offsets, as in Hugging Face.
type Encoding struct {
	// IDs are the token ids (input_ids).
	IDs []int64
	// TypeIDs are the segment ids (token_type_ids): 0 for the first
	// sequence and its special tokens, 1 for the second.
	TypeIDs []int64
	// AttentionMask is 1 for real tokens, 0 for padding.
	AttentionMask []int64
	// SpecialTokensMask is 1 for tokens the post-processor or padding
	// added, 0 for tokens of the text (added tokens found in the text
	// included, as in tokenizers).
	SpecialTokensMask []int64
	// Tokens are the token strings.
	Tokens []string
	// Offsets are character (rune) positions in the input, the indices of
	// the Python str that transformers' offset_mapping returns. Invalid
	// UTF-8 counts as Python's decode(errors="replace") reads it.
	Offsets []Offset
	// ByteOffsets are the same spans as byte positions in the Go input, so
	// text[o.Start:o.End] is the token's source (pair tokens refer to their
	// own sequence, as Offsets do).
	ByteOffsets []Offset
}

// Len is the number of tokens, padding included.
func (e *Encoding) Len() int { return len(e.IDs) }

// rowBuf is one encoding after post-processing, before padding.
type rowBuf struct {
	ids, types, special []int64
	toks                []string
	roff, boff          []Offset
}

func (r *rowBuf) reset() {
	r.ids, r.types, r.special = r.ids[:0], r.types[:0], r.special[:0]
	r.toks, r.roff, r.boff = r.toks[:0], r.roff[:0], r.boff[:0]
}

// encodeRow tokenizes a text or pair and post-processes it into sc.row.
func (t *Tokenizer) encodeRow(sc *scratch, p *plan, a string, b *string) error {
	var sb *seqBuf
	tpl, nAdded := t.single, t.addedSingle
	if t.gen == nil {
		t.encodeSeq(sc, a, &sc.a)
		if b != nil {
			t.encodeSeq(sc, *b, &sc.b)
		}
	} else {
		if err := t.encodeSeqGeneric(sc, a, &sc.a); err != nil {
			return err
		}
		if b != nil {
			if err := t.encodeSeqGeneric(sc, *b, &sc.b); err != nil {
				return err
			}
		}
	}
	if b != nil {
		sb = &sc.b
		tpl, nAdded = t.pair, t.addedPair
	}
	if err := p.truncate(&sc.a, sb, nAdded); err != nil {
		return err
	}
	if t.gen != nil && t.gen.trim {
		t.trimOffsets(&sc.a)
		if sb != nil {
			t.trimOffsets(sb)
		}
	}
	r := &sc.row
	r.reset()
	for i := range tpl {
		pc := &tpl[i]
		if pc.seq < 0 {
			if !p.special {
				continue
			}
			for k, id := range pc.ids {
				r.ids = append(r.ids, id)
				r.types = append(r.types, pc.typeID)
				r.special = append(r.special, 1)
				r.toks = append(r.toks, pc.tokens[k])
				r.roff = append(r.roff, Offset{})
				r.boff = append(r.boff, Offset{})
			}
			continue
		}
		s := &sc.a
		if pc.seq == 1 {
			if sb == nil {
				continue
			}
			s = sb
		}
		r.ids = append(r.ids, s.ids...)
		for range s.ids {
			r.types = append(r.types, pc.typeID)
			r.special = append(r.special, 0)
		}
		r.toks = append(r.toks, s.toks...)
		r.roff = append(r.roff, s.roff...)
		r.boff = append(r.boff, s.boff...)
	}
	return nil
}

// fill writes row r into e, whose slices are all n >= len(r.ids) long,
// padding the rest.
func (t *Tokenizer) fill(e *Encoding, r *rowBuf, left bool) {
	n, l := len(e.IDs), len(r.ids)
	at := 0
	if left {
		at = n - l
	}
	copy(e.IDs[at:], r.ids)
	copy(e.TypeIDs[at:], r.types)
	copy(e.SpecialTokensMask[at:], r.special)
	copy(e.Tokens[at:], r.toks)
	copy(e.Offsets[at:], r.roff)
	copy(e.ByteOffsets[at:], r.boff)
	for i := at; i < at+l; i++ {
		e.AttentionMask[i] = 1
	}
	pads := func(from, to int) {
		for i := from; i < to; i++ {
			e.IDs[i], e.TypeIDs[i], e.SpecialTokensMask[i], e.AttentionMask[i] = t.padID, t.padTypeID, 1, 0
			e.Tokens[i] = t.padToken
			e.Offsets[i], e.ByteOffsets[i] = Offset{}, Offset{}
		}
	}
	if left {
		pads(0, at)
	} else {
		pads(l, n)
	}
}

// carve lays an Encoding of n tokens over preallocated storage.
func carve(ints []int64, toks []string, offs []Offset, n int) Encoding {
	return Encoding{
		IDs:               ints[0:n:n],
		TypeIDs:           ints[n : 2*n : 2*n],
		AttentionMask:     ints[2*n : 3*n : 3*n],
		SpecialTokensMask: ints[3*n : 4*n : 4*n],
		Tokens:            toks[:n:n],
		Offsets:           offs[:n:n],
		ByteOffsets:       offs[n : 2*n : 2*n],
	}
}

func (t *Tokenizer) encodeOne(a string, b *string, o Options) (Encoding, error) {
	p, err := t.plan(o)
	if err != nil {
		return Encoding{}, err
	}
	sc := t.pool.Get().(*scratch)
	defer t.pool.Put(sc)
	if err := t.encodeRow(sc, &p, a, b); err != nil {
		return Encoding{}, err
	}
	l := len(sc.row.ids)
	n := max(l, p.padTarget(l))
	e := carve(make([]int64, 4*n), make([]string, n), make([]Offset, 2*n), n)
	t.fill(&e, &sc.row, p.padLeft)
	return e, nil
}

// Encode encodes one text with the default options (transformers'
// tokenizer(text)): the special tokens of the post-processor ([CLS] text
// [SEP] for BERT), no truncation, no padding. It cannot fail except for a
// model that has no unk token for a text it cannot cover (a Unigram or
// WordLevel file without one), where it returns an empty Encoding: use
// [Tokenizer.EncodeWith] to get that error.
func (t *Tokenizer) Encode(text string) Encoding {
	e, _ := t.encodeOne(text, nil, Options{})
	return e
}

// EncodePair encodes a sentence pair with the default options:
// [CLS] a [SEP] b [SEP], type ids 0 then 1 for BERT; as the post-processor
// says for others. See [Tokenizer.Encode] for the one failure.
func (t *Tokenizer) EncodePair(a, b string) Encoding {
	e, _ := t.encodeOne(a, &b, Options{})
	return e
}

// EncodeWith encodes one text with options. The error reports invalid
// options or a truncation strategy that cannot reach the length (see
// [ErrTruncation]).
func (t *Tokenizer) EncodeWith(text string, o Options) (Encoding, error) {
	return t.encodeOne(text, nil, o)
}

// EncodePairWith encodes a sentence pair with options.
func (t *Tokenizer) EncodePairWith(a, b string, o Options) (Encoding, error) {
	return t.encodeOne(a, &b, o)
}
