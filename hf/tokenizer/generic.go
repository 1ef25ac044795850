package tokenizer

import (
	"strings"
	"unicode/utf8"

	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/decoder"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/model"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/normalizer"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/normstr"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/pretokenizer"
)

// pipeline is a tokenizer.json pipeline other than BERT's WordPiece one,
// run component by component as tokenizers does.
type pipeline struct {
	norm    normalizer.Normalizer     // nil: none
	pretok  pretokenizer.PreTokenizer // nil: none
	model   model.Model
	decoder decoder.Decoder // nil: tokens joined by spaces
	family  string          // "bpe", "unigram", "wordlevel", "wordpiece"
	post    string          // the post-processor's type ("" when null)

	// trim is the trim_offsets of a RobertaProcessing or ByteLevel
	// post-processor, applied to each sequence before its special tokens.
	trim           bool
	trimAddsPrefix bool
}

// genScratch is the per-call working memory of the generic pipeline.
type genScratch struct {
	toks   []model.Token
	pieces []*normstr.String
	char   []int // byte -> char index of the sanitized text
}

// encodeSeqGeneric tokenizes one input sequence with the generic pipeline.
func (t *Tokenizer) encodeSeqGeneric(sc *scratch, text string, out *seqBuf) error {
	out.reset()
	g := t.gen
	s, fixed, src := sanitize(text, sc.fixed, sc.src)
	sc.fixed = fixed
	if src != nil {
		sc.src = src
	}
	gs := &sc.gen
	var err error
	if t.rawMatcher.empty() {
		err = t.genSegment(gs, s, 0, len(s), out)
	} else {
		sc.splits = t.rawMatcher.split(s, t.tab, sc.splits)
		for _, sp := range sc.splits {
			if sp.tok == nil {
				if err = t.genSegment(gs, s, sp.start, sp.end, out); err != nil {
					break
				}
				continue
			}
			out.add(sp.tok.id, sp.text, align{bs: sp.start, be: sp.end})
		}
	}
	if err != nil {
		return err
	}
	// Byte offsets to char offsets as tokenizers' BytesToCharOffsetConverter.
	gs.char = gs.char[:0]
	ci := 0
	for i := 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		for range size {
			gs.char = append(gs.char, ci)
		}
		i += size
		ci++
	}
	for i, o := range out.boff {
		out.roff[i] = convertOffsets(gs.char, o)
	}
	at := func(b int) int {
		if src == nil {
			return b
		}
		return src[min(max(b, 0), len(src)-1)]
	}
	if src != nil {
		for i, o := range out.boff {
			out.boff[i] = Offset{at(o.Start), at(o.End)}
		}
	}
	if g.trim {
		// char index -> byte offset in the caller's text, for trimming
		out.cb = out.cb[:0]
		for i := 0; i < len(s); {
			_, size := utf8.DecodeRuneInString(s[i:])
			out.cb = append(out.cb, at(i))
			i += size
		}
		out.cb = append(out.cb, at(len(s)))
	}
	return nil
}

func convertOffsets(char []int, o Offset) Offset {
	if o.Start < 0 || o.Start >= len(char) {
		return o // tokenizers leaves such offsets unconverted
	}
	st := char[o.Start]
	if o.End < len(char) && o.End >= 0 {
		return Offset{st, char[o.End]}
	}
	if o.End-1 >= 0 && o.End-1 < len(char) {
		return Offset{st, char[o.End-1] + 1}
	}
	return Offset{st, st + 1}
}

// genSegment normalizes, pre-tokenizes and tokenizes s[from:to], a part of
// the text that holds no raw added token.
func (t *Tokenizer) genSegment(gs *genScratch, s string, from, to int, out *seqBuf) error {
	g := t.gen
	if from == to {
		return nil
	}
	n := normstr.New(s[from:to], from)
	if g.norm != nil {
		g.norm.Normalize(n)
	}
	if t.normMatcher.empty() {
		return t.genPieces(gs, []*normstr.String{n}, out)
	}
	splits := t.normMatcher.split(n.Norm, t.tab, nil)
	for _, sp := range splits {
		if sp.tok == nil {
			if err := t.genPieces(gs, []*normstr.String{n.Slice(sp.start, sp.end)}, out); err != nil {
				return err
			}
			continue
		}
		o, _ := n.OrigSpan(sp.start, sp.end)
		out.add(sp.tok.id, sp.text, align{bs: o.Start, be: o.End})
	}
	return nil
}

func (t *Tokenizer) genPieces(gs *genScratch, ps []*normstr.String, out *seqBuf) error {
	g := t.gen
	var pieces []*normstr.String
	for _, p := range ps {
		if p.Norm != "" {
			pieces = append(pieces, p)
		}
	}
	if g.pretok != nil {
		pieces = g.pretok.PreTokenize(pieces)
	}
	for _, p := range pieces {
		var err error
		gs.toks, err = g.model.Tokenize(p.Norm, gs.toks[:0])
		if err != nil {
			return err
		}
		for _, tk := range gs.toks {
			o, ok := p.OrigSpan(tk.Start, tk.End)
			if !ok {
				o = normstr.Span{Start: tk.Start, End: tk.End}
			}
			out.add(tk.ID, tk.Value, align{bs: o.Start, be: o.End})
		}
	}
	return nil
}

// trimOffsets is tokenizers' process_offsets (RobertaProcessing and
// ByteLevel with trim_offsets) over one sequence, on char offsets; byte
// offsets move by the bytes of the trimmed characters.
func (t *Tokenizer) trimOffsets(s *seqBuf) {
	g := t.gen
	isSp := func(r rune) bool { return r == 'Ġ' || t.tab.class(r)&cSpace != 0 }
	for i, tok := range s.toks {
		lead, trail := 0, 0
		for _, r := range tok {
			if !isSp(r) {
				break
			}
			lead++
		}
		for rest := tok; rest != ""; trail++ {
			r, size := utf8.DecodeLastRuneInString(rest)
			if !isSp(r) {
				break
			}
			rest = rest[:len(rest)-size]
		}
		if lead == 0 && trail == 0 {
			continue
		}
		ro, bo := s.roff[i], s.boff[i]
		if lead > 0 {
			if (i == 0 || ro.Start == 0) && g.trimAddsPrefix && lead == 1 {
				lead = 0
			}
			if ns := min(ro.Start+lead, ro.End); ns != ro.Start {
				ro.Start = ns
				bo.Start = min(s.charByte(ns), bo.End)
			}
		}
		if trail > 0 && ro.End >= trail {
			if ne := max(ro.End-trail, ro.Start); ne != ro.End {
				ro.End = ne
				bo.End = max(s.charByte(ne), bo.Start)
			}
		}
		s.roff[i], s.boff[i] = ro, bo
	}
}

// charByte is the caller's byte offset of char index c.
func (s *seqBuf) charByte(c int) int {
	if c >= 0 && c < len(s.cb) {
		return s.cb[c]
	}
	return c
}

// normalizeString is the normalizer over a whole string (added tokens
// that match normalized text).
func (g *pipeline) normalizeString(s string) string {
	if g.norm == nil {
		return s
	}
	n := normstr.New(s, 0)
	g.norm.Normalize(n)
	return n.Norm
}

// decode is Tokenizer::decode with the file's decoder.
func (g *pipeline) decode(toks []string) string { return decoder.Decode(g.decoder, toks) }

// bertNormalize runs BertNormalizer (the dedicated path's normalizer,
// configured by cfg) over a normalized string of the generic pipeline: each
// output character takes the span of the input character it comes from.
func (t *Tokenizer) bertNormalize(cfg normConfig, n *normstr.String) {
	u := &Tokenizer{norm: cfg, tab: t.tab}
	sc := new(scratch)
	u.normalize(sc, n.Norm, 0, 0)
	var b strings.Builder
	al := make([]normstr.Span, 0, len(n.Norm))
	for _, c := range sc.norm {
		var sp normstr.Span
		switch {
		case c.a.be > c.a.bs:
			sp = normstr.Span{Start: n.Align[c.a.bs].Start, End: n.Align[c.a.be-1].End}
		case c.a.bs > 0:
			sp = n.Align[c.a.bs-1]
		default:
			sp = normstr.Span{Start: n.OrigStart, End: n.OrigStart}
		}
		b.WriteRune(c.r)
		for range utf8.RuneLen(c.r) {
			al = append(al, sp)
		}
	}
	n.Norm, n.Align = b.String(), al
}
