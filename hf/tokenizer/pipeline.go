package tokenizer

import "unicode/utf8"

// align is the input span a normalized character stands for: rune (Python
// str index) and byte positions. tokenizers keeps one such pair per
// normalized byte; every byte of a character always shares it, so one per
// character is the same information.
type align struct{ rs, re, bs, be int }

type nchar struct {
	r rune
	a align
}

// mark is a combining character waiting for canonical reordering; first
// tells whether it is the first character of its source's decomposition
// (tokenizers' change 0) or an inserted one (change 1).
type mark struct {
	r     rune
	ccc   uint8
	first bool
}

// seqBuf holds the tokens of one sequence before post-processing.
type seqBuf struct {
	ids  []int64
	toks []string
	roff []Offset
	boff []Offset
	cb   []int // char index -> byte offset, when offsets are trimmed
}

func (s *seqBuf) reset() {
	s.ids, s.toks, s.roff, s.boff = s.ids[:0], s.toks[:0], s.roff[:0], s.boff[:0]
}

func (s *seqBuf) len() int {
	if s == nil {
		return 0
	}
	return len(s.ids)
}

func (s *seqBuf) add(id int64, tok string, a align) {
	s.ids = append(s.ids, id)
	s.toks = append(s.toks, tok)
	s.roff = append(s.roff, Offset{a.rs, a.re})
	s.boff = append(s.boff, Offset{a.bs, a.be})
}

func (s *seqBuf) cut(n int) {
	s.ids, s.toks, s.roff, s.boff = s.ids[:n], s.toks[:n], s.roff[:n], s.boff[:n]
}

// keep truncates to n tokens from the right or, when left, from the left
// (Encoding::truncate with stride 0).
func (s *seqBuf) keep(n int, left bool) {
	l := len(s.ids)
	if n >= l {
		return
	}
	if !left {
		s.cut(n)
		return
	}
	d := l - n
	copy(s.ids, s.ids[d:])
	copy(s.toks, s.toks[d:])
	copy(s.roff, s.roff[d:])
	copy(s.boff, s.boff[d:])
	s.cut(n)
}

// scratch is the per-goroutine working memory of one encode, pooled so that
// steady-state encoding allocates only its result.
type scratch struct {
	fixed   []byte
	src     []int
	splits  []addedSplit
	nsplits []addedSplit
	norm    []nchar
	pend    []mark
	fifo    []align
	fhead   int
	last    align
	dec     []rune
	word    []byte
	wpos    []int
	walign  []align
	key     []byte
	ntext   []byte
	npos    []int
	a, b    seqBuf
	row     rowBuf
	gen     genScratch
}

// encodeSeq tokenizes one input sequence into out (no special tokens).
func (t *Tokenizer) encodeSeq(sc *scratch, text string, out *seqBuf) {
	out.reset()
	s, fixed, src := sanitize(text, sc.fixed, sc.src)
	sc.fixed = fixed
	if src != nil {
		sc.src = src
	}
	if t.rawMatcher.empty() {
		t.encodeSegment(sc, s, 0, 0, out)
	} else {
		sc.splits = t.rawMatcher.split(s, t.tab, sc.splits)
		ri := 0
		for _, sp := range sc.splits {
			seg := s[sp.start:sp.end]
			if sp.tok == nil {
				ri += t.encodeSegment(sc, seg, sp.start, ri, out)
				continue
			}
			n := utf8.RuneCountInString(seg)
			out.add(sp.tok.id, sp.text, align{ri, ri + n, sp.start, sp.end})
			ri += n
		}
	}
	if src != nil {
		for i, o := range out.boff {
			out.boff[i] = Offset{src[o.Start], src[o.End]}
		}
	}
}

// encodeSegment normalizes, pre-tokenizes and tokenizes a piece of text that
// holds no raw added token; b0 and r0 locate it in the whole text. It returns
// its length in runes.
func (t *Tokenizer) encodeSegment(sc *scratch, seg string, b0, r0 int, out *seqBuf) int {
	n := t.normalize(sc, seg, b0, r0)
	if t.normMatcher.empty() {
		t.pretokenize(sc, sc.norm, out)
		return n
	}
	// Added tokens flagged normalized match the normalized text.
	sc.ntext, sc.npos = sc.ntext[:0], sc.npos[:0]
	for i, c := range sc.norm {
		for range utf8.RuneLen(c.r) {
			sc.npos = append(sc.npos, i)
		}
		sc.ntext = utf8.AppendRune(sc.ntext, c.r)
	}
	sc.npos = append(sc.npos, len(sc.norm))
	sc.nsplits = t.normMatcher.split(string(sc.ntext), t.tab, sc.nsplits)
	for _, sp := range sc.nsplits {
		ci, cj := sc.npos[sp.start], sc.npos[sp.end]
		if sp.tok == nil {
			t.pretokenize(sc, sc.norm[ci:cj], out)
			continue
		}
		first, last := sc.norm[ci].a, sc.norm[cj-1].a
		// The token is the normalized text matched ("tokenizers" for an
		// added "Tokenizers" under lowercase), as tokenizers reports it.
		out.add(sp.tok.id, sp.text, align{first.rs, last.re, first.bs, last.be})
	}
	return n
}

// normalize runs the BERT normalizer over seg into sc.norm. Stages follow
// BertNormalizer::normalize: clean_text, handle_chinese_chars,
// strip_accents (NFD then drop non-spacing marks), lowercase.
func (t *Tokenizer) normalize(sc *scratch, seg string, b0, r0 int) int {
	tab := t.tab
	nc := &t.norm
	sc.norm = sc.norm[:0]
	sc.fifo, sc.fhead, sc.pend = sc.fifo[:0], 0, sc.pend[:0]
	// A character inserted before any source one aligns to (0, 0) of the
	// piece in tokenizers, i.e. to its start.
	sc.last = align{r0, r0, b0, b0}
	ri := r0
	for i := 0; i < len(seg); {
		c := seg[i]
		if c < utf8.RuneSelf && nc.enabled {
			// ASCII never decomposes, is no mark and no CJK: only
			// clean_text and lowercase apply, and pending marks go first.
			a := align{ri, ri + 1, b0 + i, b0 + i + 1}
			i++
			ri++
			cls := tab.ascii[c]
			if nc.clean && cls&(cRemove|cSpace) != 0 {
				if cls&cRemove != 0 {
					continue
				}
				c, cls = ' ', tab.ascii[' ']
			}
			if nc.strip {
				if len(sc.pend) > 0 {
					t.flushMarks(sc)
				}
				sc.fifo, sc.fhead = sc.fifo[:0], 0
				sc.last = a
			}
			if nc.lower && cls&cLower != 0 {
				c += 'a' - 'A'
			}
			sc.norm = append(sc.norm, nchar{rune(c), a})
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(seg[i:])
		}
		a := align{ri, ri + 1, b0 + i, b0 + i + size}
		i += size
		ri++
		if !nc.enabled {
			sc.norm = append(sc.norm, nchar{r, a})
			continue
		}
		var cls uint8
		if r < utf8.RuneSelf {
			cls = tab.ascii[r]
		} else {
			cls = tab.class(r)
		}
		if nc.clean {
			if cls&cRemove != 0 {
				continue
			}
			if cls&cSpace != 0 {
				r, cls = ' ', tab.ascii[' ']
			}
		}
		if nc.chinese && cls&cChinese != 0 {
			sp := tab.ascii[' ']
			t.stageNFD(sc, ' ', sp, a)
			t.stageNFD(sc, r, cls, a)
			t.stageNFD(sc, ' ', sp, a)
			continue
		}
		t.stageNFD(sc, r, cls, a)
	}
	if len(sc.pend) > 0 {
		t.flushMarks(sc)
	}
	return ri - r0
}

// stageNFD is strip_accents: NFD with unicode-normalization-alignments'
// reordering, then removal of non-spacing marks. NormalizedString::transform
// aligns NFD output by position, not by source: the k-th output character
// that is first of its decomposition takes the alignment of the k-th input
// character, and an inserted one takes that of the last consumed input
// character. After reordering these differ from the source character, and
// the FIFO reproduces that.
func (t *Tokenizer) stageNFD(sc *scratch, r rune, cls uint8, a align) {
	if !t.norm.strip {
		t.stageLower(sc, r, cls, a)
		return
	}
	if cls&(cDecomp|cCombining) == 0 {
		// A starter that does not decompose: everything pending is emitted
		// before it, so the FIFO is empty and it keeps its own alignment.
		if len(sc.pend) > 0 {
			t.flushMarks(sc)
		}
		sc.fifo, sc.fhead = sc.fifo[:0], 0
		sc.last = a
		if cls&cMark == 0 {
			t.stageLower(sc, r, cls, a)
		}
		return
	}
	sc.fifo = append(sc.fifo, a)
	sc.dec = t.tab.decompose(sc.dec[:0], r)
	for k, d := range sc.dec {
		ccc := t.tab.ccc[d]
		if ccc == 0 {
			if len(sc.pend) > 0 {
				t.flushMarks(sc)
			}
			t.emitNFD(sc, d, k == 0)
			continue
		}
		sc.pend = append(sc.pend, mark{d, ccc, k == 0})
	}
}

// flushMarks sorts the pending combining marks by class, stably, and emits them.
func (t *Tokenizer) flushMarks(sc *scratch) {
	p := sc.pend
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j-1].ccc > p[j].ccc; j-- {
			p[j-1], p[j] = p[j], p[j-1]
		}
	}
	for _, m := range p {
		t.emitNFD(sc, m.r, m.first)
	}
	sc.pend = p[:0]
}

func (t *Tokenizer) emitNFD(sc *scratch, r rune, first bool) {
	if first {
		sc.last = sc.fifo[sc.fhead]
		sc.fhead++
		if sc.fhead == len(sc.fifo) {
			sc.fifo, sc.fhead = sc.fifo[:0], 0
		}
	}
	cls := t.tab.class(r)
	if cls&cMark != 0 {
		return
	}
	t.stageLower(sc, r, cls, sc.last)
}

func (t *Tokenizer) stageLower(sc *scratch, r rune, cls uint8, a align) {
	if t.norm.lower && cls&cLower != 0 {
		switch {
		case r < utf8.RuneSelf:
			r += 'a' - 'A'
		case r == 0x130: // İ lowercases to two characters, both aligned to it
			sc.norm = append(sc.norm, nchar{'i', a})
			r = 0x307
		default:
			r = t.tab.lower[r]
		}
	}
	sc.norm = append(sc.norm, nchar{r, a})
}

// pretokenize is BertPreTokenizer (split on whitespace, isolate
// punctuation) feeding each word to WordPiece.
func (t *Tokenizer) pretokenize(sc *scratch, chars []nchar, out *seqBuf) {
	tab := t.tab
	sc.word, sc.wpos, sc.walign = sc.word[:0], sc.wpos[:0], sc.walign[:0]
	for _, ch := range chars {
		if t.pretok {
			var cls uint8
			if ch.r < utf8.RuneSelf {
				cls = tab.ascii[ch.r]
			} else {
				cls = tab.class(ch.r)
			}
			if cls&(cSpace|cPunct) != 0 {
				t.flushWord(sc, out)
				if cls&cSpace != 0 {
					continue
				}
				sc.addChar(ch)
				t.flushWord(sc, out)
				continue
			}
		}
		sc.addChar(ch)
	}
	t.flushWord(sc, out)
}

func (sc *scratch) addChar(ch nchar) {
	sc.wpos = append(sc.wpos, len(sc.word))
	if ch.r < utf8.RuneSelf {
		sc.word = append(sc.word, byte(ch.r))
	} else {
		sc.word = utf8.AppendRune(sc.word, ch.r)
	}
	sc.walign = append(sc.walign, ch.a)
}

func (t *Tokenizer) flushWord(sc *scratch, out *seqBuf) {
	if len(sc.walign) == 0 {
		return
	}
	sc.wpos = append(sc.wpos, len(sc.word))
	t.wordpiece(sc, out)
	sc.word, sc.wpos, sc.walign = sc.word[:0], sc.wpos[:0], sc.walign[:0]
}

// wordpiece is WordPiece::tokenize: greedy longest-match-first, the whole
// word becoming unk_token when some part cannot be matched or when it has
// more than max_input_chars_per_word characters.
func (t *Tokenizer) wordpiece(sc *scratch, out *seqBuf) {
	w, pos, al := sc.word, sc.wpos, sc.walign
	n := len(al)
	span := func(i, j int) align { return align{al[i].rs, al[j-1].re, al[i].bs, al[j-1].be} }
	if n > t.maxWordChars {
		out.add(t.unkID, t.unkToken, span(0, n))
		return
	}
	mark := len(out.ids)
	for start := 0; start < n; {
		limit := t.maxKeyLen
		if start > 0 {
			limit -= len(t.prefix)
		}
		end := n
		for end > start && pos[end]-pos[start] > limit {
			end-- // longer than any vocabulary entry: the lookup would fail
		}
		found := false
		for ; end > start; end-- {
			var id int64
			var ok bool
			if start == 0 {
				id, ok = t.vocab[string(w[:pos[end]])]
			} else {
				sc.key = append(append(sc.key[:0], t.prefix...), w[pos[start]:pos[end]]...)
				id, ok = t.vocab[string(sc.key)]
			}
			if ok {
				out.add(id, t.idToToken[id], span(start, end))
				found = true
				break
			}
		}
		if !found {
			out.cut(mark)
			out.add(t.unkID, t.unkToken, span(0, n))
			return
		}
		start = end
	}
}

// normalizeString is the normalizer applied to a whole string, for added
// tokens that match normalized text.
func (t *Tokenizer) normalizeString(s string) string {
	sc := new(scratch)
	t.normalize(sc, s, 0, 0)
	b := make([]byte, 0, len(s))
	for _, c := range sc.norm {
		b = utf8.AppendRune(b, c.r)
	}
	return string(b)
}
