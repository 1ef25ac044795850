// Package decoder holds tokenizers' decoders, which turn a token sequence
// back into text: each rewrites the list of token strings (decode_chain) and
// the final text is their concatenation.
package decoder

import (
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/chars"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/normstr"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/pretokenizer"
)

// Decoder rewrites token strings (tokenizers' Decoder::decode_chain).
type Decoder interface {
	DecodeChain(toks []string) []string
}

// Decode runs d and joins the result, or joins the tokens with spaces when
// d is nil, as Tokenizer::decode does.
func Decode(d Decoder, toks []string) string {
	if d == nil {
		return strings.Join(toks, " ")
	}
	return strings.Join(d.DecodeChain(toks), "")
}

// Sequence runs decoders one after the other.
type Sequence []Decoder

// DecodeChain implements Decoder.
func (s Sequence) DecodeChain(toks []string) []string {
	for _, d := range s {
		toks = d.DecodeChain(toks)
	}
	return toks
}

// ByteLevel maps byte-level characters back to bytes and reads the whole
// as UTF-8 with replacement (a token with a character outside the alphabet
// keeps its own bytes).
type ByteLevel struct{}

// DecodeChain implements Decoder.
func (ByteLevel) DecodeChain(toks []string) []string {
	var b []byte
	for _, t := range toks {
		start := len(b)
		ok := true
		for _, c := range t {
			by, in := pretokenizer.CharByte[c]
			if !in {
				ok = false
				break
			}
			b = append(b, by)
		}
		if !ok {
			b = append(b[:start], t...)
		}
	}
	return []string{lossy(b)}
}

// lossy is String::from_utf8_lossy: one U+FFFD per maximal ill-formed
// subsequence.
func lossy(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			sb.WriteRune(utf8.RuneError)
			i += chars.IllFormedSubpart(b[i:])
			continue
		}
		sb.Write(b[i : i+size])
		i += size
	}
	return sb.String()
}

// WordPiece joins continuation pieces and, with Cleanup, removes spaces
// before punctuation per token.
type WordPiece struct {
	Prefix  string
	Cleanup bool
}

var cleanupPairs = []string{" .", ".", " ?", "?", " !", "!", " ,", ",", " ' ", "'", " n't", "n't", " 'm", "'m", " do not", " don't", " 's", "'s", " 've", "'ve", " 're", "'re"}

// DecodeChain implements Decoder.
func (w WordPiece) DecodeChain(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		if i != 0 {
			if rest, ok := strings.CutPrefix(t, w.Prefix); ok {
				t = rest
			} else {
				t = " " + t
			}
		}
		if w.Cleanup {
			for k := 0; k < len(cleanupPairs); k += 2 {
				t = strings.ReplaceAll(t, cleanupPairs[k], cleanupPairs[k+1])
			}
		}
		out[i] = t
	}
	return out
}

// Metaspace turns the replacement character back into spaces, dropping it
// at the start of the first token unless the scheme is never.
type Metaspace struct {
	Replacement rune
	Never       bool
}

// DecodeChain implements Decoder.
func (m Metaspace) DecodeChain(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		var sb strings.Builder
		for _, c := range t {
			if c == m.Replacement {
				if i == 0 && !m.Never {
					continue
				}
				c = ' '
			}
			sb.WriteRune(c)
		}
		out[i] = sb.String()
	}
	return out
}

// BPE replaces the end-of-word suffix by a space (nothing on the last token).
type BPE struct{ Suffix string }

// DecodeChain implements Decoder.
func (d BPE) DecodeChain(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		rep := " "
		if i == len(toks)-1 {
			rep = ""
		}
		out[i] = strings.ReplaceAll(t, d.Suffix, rep)
	}
	return out
}

// ByteFallback turns runs of <0xXX> tokens into the text they spell, or
// one U+FFFD per byte when it is not valid UTF-8.
type ByteFallback struct{}

func byteTok(t string) (byte, bool) {
	if len(t) != 6 || !strings.HasPrefix(t, "<0x") || t[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(t[3:5], 16, 8)
	if err != nil || t[3] == '+' || t[3] == '-' {
		return 0, false
	}
	return byte(v), true
}

// DecodeChain implements Decoder.
func (ByteFallback) DecodeChain(toks []string) []string {
	var out []string
	var pend []byte
	flush := func() {
		if len(pend) == 0 {
			return
		}
		if utf8.Valid(pend) {
			out = append(out, string(pend))
		} else {
			for range pend {
				out = append(out, "\uFFFD")
			}
		}
		pend = pend[:0]
	}
	for _, t := range toks {
		if b, ok := byteTok(t); ok {
			pend = append(pend, b)
			continue
		}
		flush()
		out = append(out, t)
	}
	flush()
	return out
}

// Fuse joins all tokens into one.
type Fuse struct{}

// DecodeChain implements Decoder.
func (Fuse) DecodeChain(toks []string) []string { return []string{strings.Join(toks, "")} }

// Strip removes up to Start leading and Stop trailing Content characters
// from every token.
type Strip struct {
	Content     rune
	Start, Stop int
}

// DecodeChain implements Decoder.
func (s Strip) DecodeChain(toks []string) []string {
	out := make([]string, len(toks))
	for k, t := range toks {
		cs := []rune(t)
		startCut := 0
		for i := 0; i < s.Start && i < len(cs); i++ {
			if cs[i] != s.Content {
				break
			}
			startCut = i + 1
		}
		stopCut := len(cs)
		for i := 0; i < s.Stop && i < len(cs); i++ {
			idx := len(cs) - i - 1
			if cs[idx] != s.Content {
				break
			}
			stopCut = idx
		}
		if stopCut < startCut {
			out[k] = ""
			continue
		}
		out[k] = string(cs[startCut:stopCut])
	}
	return out
}

// Replace replaces a pattern's matches in every token.
type Replace struct {
	Literal *string
	Next    func(s string, from int) (int, int, bool)
	Content string
}

// DecodeChain implements Decoder.
func (r Replace) DecodeChain(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		var ms []normstr.Match
		if r.Literal != nil {
			ms = normstr.FindString(t, *r.Literal)
		} else {
			ms = normstr.FindSpans(t, r.Next)
		}
		var sb strings.Builder
		for _, m := range ms {
			if m.Hit {
				sb.WriteString(r.Content)
			} else if m.End <= len(t) {
				sb.WriteString(t[m.Start:m.End])
			}
		}
		out[i] = sb.String()
	}
	return out
}
