package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/chars"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/decoder"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/model"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/model/bpe"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/model/unigram"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/model/wordlevel"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/model/wordpiece"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/normalizer"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/normstr"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/pretokenizer"
)

// ErrUnsupported is wrapped by load errors for a component or option of
// tokenizer.json that this package does not implement (so it would not
// give tokenizers' output); the message names it.
var ErrUnsupported = errors.New("not supported")

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}

// gpt2Pattern is the split regex of tokenizers' ByteLevel, which files
// also spell out in Split pre-tokenizers.
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

type jsonPattern struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

// unsafeEscapes are regex escapes whose meaning differs between
// Oniguruma (tokenizers) and Go's RE2 (Unicode versions, ASCII-only
// classes) or that RE2 lacks.
var unsafeEscapes = "sSwWdDbBpPhHAzZGkKRXx0123456789"

// compilePattern turns a tokenizer.json pattern into a "next match" function.
func compilePattern(what string, p jsonPattern) (func(string, int) (int, int, bool), error) {
	switch {
	case p.String != nil:
		lit := *p.String
		if lit == "" {
			return nil, unsupported("%s: an empty String pattern", what)
		}
		return func(s string, from int) (int, int, bool) {
			i := strings.Index(s[from:], lit)
			if i < 0 {
				return 0, 0, false
			}
			return from + i, from + i + len(lit), true
		}, nil
	case p.Regex != nil:
		pat := *p.Regex
		if pat == gpt2Pattern {
			return pretokenizer.GPT2Next, nil
		}
		if pat == "" {
			return nil, unsupported("%s: an empty Regex pattern", what)
		}
		for i := 0; i < len(pat); i++ {
			if pat[i] == '\\' && i+1 < len(pat) {
				if strings.IndexByte(unsafeEscapes, pat[i+1]) >= 0 {
					return nil, unsupported("%s: Regex %q uses \\%c, whose Oniguruma meaning Go's regexp does not reproduce", what, pat, pat[i+1])
				}
				i++
				continue
			}
			if pat[i] == '(' && i+1 < len(pat) && pat[i+1] == '?' && !strings.HasPrefix(pat[i:], "(?:") {
				return nil, unsupported("%s: Regex %q uses a (?...) group (lookaround or flags)", what, pat)
			}
			if (pat[i] == '+' || pat[i] == '*' || pat[i] == '?' || pat[i] == '}') && i+1 < len(pat) && pat[i+1] == '+' {
				return nil, unsupported("%s: Regex %q uses a possessive quantifier", what, pat)
			}
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			return nil, unsupported("%s: Regex %q: %v", what, pat, err)
		}
		if next := runPattern(pat); next != nil {
			return next, nil
		}
		return func(s string, from int) (int, int, bool) {
			loc := re.FindStringIndex(s[from:])
			if loc == nil {
				return 0, 0, false
			}
			return from + loc[0], from + loc[1], true
		}, nil
	}
	return nil, fmt.Errorf("%s: pattern is neither String nor Regex", what)
}

// runPattern is a fast matcher for patterns of the form c{n,} (one
// character repeated at least n times, as XLM-R's " {2,}"), or nil.
func runPattern(pat string) func(string, int) (int, int, bool) {
	re, err := syntax.Parse(pat, syntax.Perl)
	if err != nil || re.Op != syntax.OpRepeat || re.Max != -1 || re.Min < 1 || len(re.Sub) != 1 ||
		re.Sub[0].Op != syntax.OpLiteral || len(re.Sub[0].Rune) != 1 || re.Sub[0].Flags&syntax.FoldCase != 0 {
		return nil
	}
	c, n := re.Sub[0].Rune[0], re.Min
	lit := string(c)
	return func(s string, from int) (int, int, bool) {
		for from < len(s) {
			i := strings.Index(s[from:], lit)
			if i < 0 {
				return 0, 0, false
			}
			start := from + i
			end, k := start, 0
			for strings.HasPrefix(s[end:], lit) {
				end += len(lit)
				k++
			}
			if k >= n {
				return start, end, true
			}
			from = end
		}
		return 0, 0, false
	}
}

func parseBehavior(s string) (normstr.Behavior, error) {
	switch s {
	case "Removed":
		return normstr.Removed, nil
	case "Isolated":
		return normstr.Isolated, nil
	case "MergedWithPrevious":
		return normstr.MergedWithPrevious, nil
	case "MergedWithNext":
		return normstr.MergedWithNext, nil
	case "Contiguous":
		return normstr.Contiguous, nil
	}
	return 0, fmt.Errorf("unknown split behavior %q", s)
}

func oneRune(what, s string) (rune, error) {
	r, size := utf8.DecodeRuneInString(s)
	if s == "" || size != len(s) {
		return 0, fmt.Errorf("%s: %q is not a single character", what, s)
	}
	return r, nil
}

// lowerRunes is Rust's char::to_lowercase: one character, or two (second
// not 0) for U+0130.
func (t *Tokenizer) lowerRunes(r rune) (rune, rune) {
	if r == 0x130 {
		return 'i', 0x307
	}
	if t.tab.class(r)&cLower != 0 {
		if r < utf8.RuneSelf {
			return r + 'a' - 'A', 0
		}
		return t.tab.lower[r], 0
	}
	return r, 0
}

func (t *Tokenizer) isSpace(r rune) bool { return t.tab.class(r)&cSpace != 0 }

// parseSequence reads the members of a Sequence component (a normalizer,
// pre-tokenizer or decoder; kind names it in errors) from its field,
// leaving out null members as tokenizers does.
func parseSequence[T comparable](raw json.RawMessage, kind, field string, parse func(json.RawMessage) (T, error)) ([]T, error) {
	var s map[string]json.RawMessage
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%s Sequence: %w", kind, err)
	}
	var members []json.RawMessage
	if err := json.Unmarshal(s[field], &members); err != nil && s[field] != nil {
		return nil, fmt.Errorf("%s Sequence: %s: %w", kind, field, err)
	}
	var zero T
	var seq []T
	for _, r := range members {
		m, err := parse(r)
		if err != nil {
			return nil, err
		}
		if m != zero {
			seq = append(seq, m)
		}
	}
	return seq, nil
}

// parseNormalizer reads a normalizer of tokenizer.json.
func (t *Tokenizer) parseNormalizer(raw json.RawMessage) (normalizer.Normalizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	ty := typeOf(raw)
	switch ty {
	case "Sequence":
		seq, err := parseSequence(raw, "normalizer", "normalizers", t.parseNormalizer)
		return normalizer.Sequence(seq), err
	case "Precompiled":
		var p struct {
			Map *string `json:"precompiled_charsmap"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("normalizer Precompiled: %w", err)
		}
		if p.Map == nil || *p.Map == "" {
			return nil, errors.New("normalizer Precompiled: no precompiled_charsmap")
		}
		return normalizer.NewPrecompiled(*p.Map)
	case "Replace":
		var r struct {
			Pattern jsonPattern `json:"pattern"`
			Content string      `json:"content"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("normalizer Replace: %w", err)
		}
		next, err := compilePattern("normalizer Replace", r.Pattern)
		if err != nil {
			return nil, err
		}
		return normalizer.Replace{Next: next, Content: r.Content}, nil
	case "Prepend":
		var p struct {
			Prepend string `json:"prepend"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("normalizer Prepend: %w", err)
		}
		return normalizer.Prepend(p.Prepend), nil
	case "Strip":
		var s struct {
			Left  bool `json:"strip_left"`
			Right bool `json:"strip_right"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("normalizer Strip: %w", err)
		}
		return normalizer.Strip{Left: s.Left, Right: s.Right, IsSpace: t.isSpace}, nil
	case "Lowercase":
		return normalizer.Lowercase{Lower: t.lowerRunes}, nil
	case "StripAccents":
		return normalizer.StripAccents{}, nil
	case "Nmt":
		return normalizer.Nmt{}, nil
	case "ByteLevel":
		return normalizer.ByteLevel{Map: pretokenizer.ByteMap}, nil
	case "BertNormalizer":
		n := struct {
			Clean   *bool `json:"clean_text"`
			Chinese *bool `json:"handle_chinese_chars"`
			Strip   *bool `json:"strip_accents"`
			Lower   *bool `json:"lowercase"`
		}{}
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, fmt.Errorf("normalizer BertNormalizer: %w", err)
		}
		or := func(b *bool, d bool) bool {
			if b == nil {
				return d
			}
			return *b
		}
		lower := or(n.Lower, true)
		cfg := normConfig{enabled: true, clean: or(n.Clean, true), chinese: or(n.Chinese, true), strip: or(n.Strip, lower), lower: lower}
		return normalizer.Func(func(ns *normstr.String) { t.bertNormalize(cfg, ns) }), nil
	case "NFC":
		return unicodeForm{tab: t.tab, compose: true}, nil
	case "NFD":
		return unicodeForm{tab: t.tab}, nil
	case "NFKC":
		return unicodeForm{tab: t.tab, compat: true, compose: true}, nil
	case "NFKD":
		return unicodeForm{tab: t.tab, compat: true}, nil
	}
	return nil, unsupported("normalizer type %q", ty)
}

// parsePreTokenizer reads a pre-tokenizer of tokenizer.json.
func (t *Tokenizer) parsePreTokenizer(raw json.RawMessage) (pretokenizer.PreTokenizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	f := pretokenizer.Funcs{IsSpace: t.isSpace, IsPunct: func(r rune) bool { return t.tab.class(r)&cPunct != 0 }}
	ty := typeOf(raw)
	switch ty {
	case "Sequence":
		seq, err := parseSequence(raw, "pre_tokenizer", "pretokenizers", t.parsePreTokenizer)
		return pretokenizer.Sequence(seq), err
	case "ByteLevel":
		b := struct {
			AddPrefixSpace *bool `json:"add_prefix_space"`
			UseRegex       *bool `json:"use_regex"`
		}{}
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, fmt.Errorf("pre_tokenizer ByteLevel: %w", err)
		}
		return pretokenizer.ByteLevel{AddPrefixSpace: b.AddPrefixSpace == nil || *b.AddPrefixSpace,
			UseRegex: b.UseRegex == nil || *b.UseRegex}, nil
	case "Metaspace":
		var m struct {
			Replacement    string  `json:"replacement"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
			PrependScheme  *string `json:"prepend_scheme"`
			Split          *bool   `json:"split"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("pre_tokenizer Metaspace: %w", err)
		}
		r, err := oneRune("pre_tokenizer Metaspace replacement", m.Replacement)
		if err != nil {
			return nil, err
		}
		scheme, err := prependScheme(m.PrependScheme, m.AddPrefixSpace)
		if err != nil {
			return nil, fmt.Errorf("pre_tokenizer Metaspace: %w", err)
		}
		return pretokenizer.Metaspace{Replacement: r, Scheme: scheme, Split: m.Split == nil || *m.Split}, nil
	case "Whitespace":
		return pretokenizer.Whitespace{}, nil
	case "WhitespaceSplit":
		return pretokenizer.CharSplit{Is: f.IsSpace, Behavior: normstr.Removed}, nil
	case "BertPreTokenizer":
		return pretokenizer.Bert(f), nil
	case "Punctuation":
		var p struct {
			Behavior *string `json:"behavior"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("pre_tokenizer Punctuation: %w", err)
		}
		b := normstr.Isolated
		if p.Behavior != nil {
			var err error
			if b, err = parseBehavior(*p.Behavior); err != nil {
				return nil, fmt.Errorf("pre_tokenizer Punctuation: %w", err)
			}
		}
		return pretokenizer.CharSplit{Is: f.IsPunct, Behavior: b}, nil
	case "Split":
		var s struct {
			Pattern  jsonPattern `json:"pattern"`
			Behavior string      `json:"behavior"`
			Invert   bool        `json:"invert"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("pre_tokenizer Split: %w", err)
		}
		b, err := parseBehavior(s.Behavior)
		if err != nil {
			return nil, fmt.Errorf("pre_tokenizer Split: %w", err)
		}
		next, err := compilePattern("pre_tokenizer Split", s.Pattern)
		if err != nil {
			return nil, err
		}
		return pretokenizer.Split{Next: next, Behavior: b, Invert: s.Invert}, nil
	case "Digits":
		var d struct {
			Individual bool `json:"individual_digits"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("pre_tokenizer Digits: %w", err)
		}
		b := normstr.Contiguous
		if d.Individual {
			b = normstr.Isolated
		}
		return pretokenizer.CharSplit{Is: chars.Numeric.Has, Behavior: b}, nil
	}
	return nil, unsupported("pre_tokenizer type %q", ty)
}

func prependScheme(s *string, addPrefix *bool) (pretokenizer.PrependScheme, error) {
	scheme := pretokenizer.PrependAlways
	if s != nil {
		switch *s {
		case "always":
		case "first":
			scheme = pretokenizer.PrependFirst
		case "never":
			scheme = pretokenizer.PrependNever
		default:
			return 0, fmt.Errorf("unknown prepend_scheme %q", *s)
		}
	}
	if addPrefix != nil && !*addPrefix {
		if scheme != pretokenizer.PrependNever {
			return 0, errors.New("add_prefix_space does not match declared prepend_scheme")
		}
	}
	return scheme, nil
}

// parseModel reads the model of tokenizer.json (any but WordPiece's BERT
// fast path), returning it and its family name.
func parseModel(raw json.RawMessage) (model.Model, string, error) {
	var head struct {
		Type   string          `json:"type"`
		Merges json.RawMessage `json:"merges"`
		Prefix json.RawMessage `json:"continuing_subword_prefix"`
		Vocab  json.RawMessage `json:"vocab"`
		UnkID  json.RawMessage `json:"unk_id"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, "", fmt.Errorf("model: %w", err)
	}
	ty := head.Type
	if ty == "" { // untagged, as old files: guess as tokenizers' untagged enum does
		switch {
		case len(head.Merges) > 0:
			ty = "BPE"
		case len(head.Prefix) > 0:
			ty = "WordPiece"
		case len(head.UnkID) > 0 || (len(head.Vocab) > 0 && strings.HasPrefix(strings.TrimSpace(string(head.Vocab)), "[")):
			ty = "Unigram"
		default:
			ty = "WordLevel"
		}
	}
	switch ty {
	case "BPE":
		var m struct {
			Dropout      *float64         `json:"dropout"`
			Unk          *string          `json:"unk_token"`
			Prefix       *string          `json:"continuing_subword_prefix"`
			Suffix       *string          `json:"end_of_word_suffix"`
			FuseUnk      *bool            `json:"fuse_unk"`
			ByteFallback *bool            `json:"byte_fallback"`
			IgnoreMerges *bool            `json:"ignore_merges"`
			Vocab        map[string]int64 `json:"vocab"`
			Merges       json.RawMessage  `json:"merges"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, "", fmt.Errorf("model BPE: %w", err)
		}
		if m.Dropout != nil && *m.Dropout != 0 {
			if *m.Dropout < 0 || *m.Dropout > 1 {
				return nil, "", fmt.Errorf("model BPE: dropout %v is not in [0, 1]", *m.Dropout)
			}
			return nil, "", unsupported("model BPE: dropout %v (random, cannot be reproduced)", *m.Dropout)
		}
		if m.Vocab == nil || len(m.Merges) == 0 {
			return nil, "", errors.New("model BPE: missing vocab/merges")
		}
		merges, err := parseMerges(m.Merges)
		if err != nil {
			return nil, "", err
		}
		b := func(p *bool) bool { return p != nil && *p }
		mod, err := bpe.New(bpe.Config{Vocab: m.Vocab, Merges: merges, Unk: m.Unk, Prefix: m.Prefix, Suffix: m.Suffix,
			FuseUnk: b(m.FuseUnk), ByteFallback: b(m.ByteFallback), IgnoreMerges: b(m.IgnoreMerges)})
		if err != nil {
			return nil, "", fmt.Errorf("model: %w", err)
		}
		return mod, "bpe", nil
	case "Unigram":
		var m struct {
			UnkID        *int              `json:"unk_id"`
			Vocab        []json.RawMessage `json:"vocab"`
			ByteFallback bool              `json:"byte_fallback"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, "", fmt.Errorf("model Unigram: %w", err)
		}
		pieces := make([]unigram.Piece, len(m.Vocab))
		for i, v := range m.Vocab {
			var pair []json.RawMessage
			if err := json.Unmarshal(v, &pair); err != nil || len(pair) != 2 {
				return nil, "", fmt.Errorf("model Unigram: vocab entry %d is not [piece, score]", i)
			}
			if err := json.Unmarshal(pair[0], &pieces[i].Token); err != nil {
				return nil, "", fmt.Errorf("model Unigram: vocab entry %d: %w", i, err)
			}
			if err := json.Unmarshal(pair[1], &pieces[i].Score); err != nil {
				return nil, "", fmt.Errorf("model Unigram: vocab entry %d: %w", i, err)
			}
		}
		mod, err := unigram.New(pieces, m.UnkID, m.ByteFallback)
		if err != nil {
			return nil, "", fmt.Errorf("model: %w", err)
		}
		return mod, "unigram", nil
	case "WordLevel":
		var m struct {
			Vocab map[string]int64 `json:"vocab"`
			Unk   *string          `json:"unk_token"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, "", fmt.Errorf("model WordLevel: %w", err)
		}
		unk := "<unk>"
		if m.Unk != nil {
			unk = *m.Unk
		}
		if err := checkVocab("WordLevel", m.Vocab); err != nil {
			return nil, "", err
		}
		return wordlevel.New(m.Vocab, unk), "wordlevel", nil
	case "WordPiece":
		var m struct {
			Unk      *string          `json:"unk_token"`
			Prefix   *string          `json:"continuing_subword_prefix"`
			MaxChars *int             `json:"max_input_chars_per_word"`
			Vocab    map[string]int64 `json:"vocab"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, "", fmt.Errorf("model WordPiece: %w", err)
		}
		unk, prefix, maxChars := "[UNK]", "##", defaultMaxWordRune
		if m.Unk != nil {
			unk = *m.Unk
		}
		if m.Prefix != nil {
			prefix = *m.Prefix
		}
		if m.MaxChars != nil {
			maxChars = *m.MaxChars
		}
		if err := checkVocab("WordPiece", m.Vocab); err != nil {
			return nil, "", err
		}
		return wordpiece.New(m.Vocab, unk, prefix, maxChars), "wordpiece", nil
	}
	return nil, "", unsupported("model type %q", ty)
}

func checkVocab(what string, v map[string]int64) error {
	for tok, id := range v {
		if id < 0 || id >= model.MaxID {
			return fmt.Errorf("model %s: token %q has id %d, outside [0, %d)", what, tok, id, model.MaxID)
		}
	}
	return nil
}

// parseMerges reads BPE merges in either format: ["a b", ...] (the
// legacy one, "#version" lines skipped) or [["a", "b"], ...].
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	var tuples [][2]string
	if err := json.Unmarshal(raw, &tuples); err == nil {
		return tuples, nil
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		return nil, errors.New("model BPE: merges are neither strings nor pairs of strings")
	}
	out := make([][2]string, 0, len(lines))
	rank := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "#version") {
			continue
		}
		rank++
		parts := strings.Split(l, " ")
		if len(parts) != 2 {
			return nil, fmt.Errorf("model BPE: merge %d (%q) is not two tokens separated by one space", rank, l)
		}
		out = append(out, [2]string{parts[0], parts[1]})
	}
	return out, nil
}

// parseDecoder reads a decoder of tokenizer.json.
func parseDecoder(raw json.RawMessage) (decoder.Decoder, error) {
	if isNull(raw) {
		return nil, nil
	}
	ty := typeOf(raw)
	switch ty {
	case "Sequence":
		seq, err := parseSequence(raw, "decoder", "decoders", parseDecoder)
		return decoder.Sequence(seq), err
	case "ByteLevel":
		return decoder.ByteLevel{}, nil
	case "WordPiece":
		d := struct {
			Prefix  *string `json:"prefix"`
			Cleanup *bool   `json:"cleanup"`
		}{}
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("decoder WordPiece: %w", err)
		}
		w := decoder.WordPiece{Prefix: "##", Cleanup: true}
		if d.Prefix != nil {
			w.Prefix = *d.Prefix
		}
		if d.Cleanup != nil {
			w.Cleanup = *d.Cleanup
		}
		return w, nil
	case "Metaspace":
		var m struct {
			Replacement    string  `json:"replacement"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
			PrependScheme  *string `json:"prepend_scheme"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("decoder Metaspace: %w", err)
		}
		r, err := oneRune("decoder Metaspace replacement", m.Replacement)
		if err != nil {
			return nil, err
		}
		scheme, err := prependScheme(m.PrependScheme, m.AddPrefixSpace)
		if err != nil {
			return nil, fmt.Errorf("decoder Metaspace: %w", err)
		}
		return decoder.Metaspace{Replacement: r, Never: scheme == pretokenizer.PrependNever}, nil
	case "BPEDecoder":
		d := struct {
			Suffix *string `json:"suffix"`
		}{}
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("decoder BPEDecoder: %w", err)
		}
		s := "</w>"
		if d.Suffix != nil {
			s = *d.Suffix
		}
		return decoder.BPE{Suffix: s}, nil
	case "ByteFallback":
		return decoder.ByteFallback{}, nil
	case "Fuse":
		return decoder.Fuse{}, nil
	case "Strip":
		var s struct {
			Content string `json:"content"`
			Start   int    `json:"start"`
			Stop    int    `json:"stop"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("decoder Strip: %w", err)
		}
		r, err := oneRune("decoder Strip content", s.Content)
		if err != nil {
			return nil, err
		}
		if s.Start < 0 || s.Stop < 0 {
			return nil, errors.New("decoder Strip: negative start or stop")
		}
		return decoder.Strip{Content: r, Start: s.Start, Stop: s.Stop}, nil
	case "Replace":
		var r struct {
			Pattern jsonPattern `json:"pattern"`
			Content string      `json:"content"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("decoder Replace: %w", err)
		}
		next, err := compilePattern("decoder Replace", r.Pattern)
		if err != nil {
			return nil, err
		}
		return decoder.Replace{Next: next, Content: r.Content}, nil
	}
	return nil, unsupported("decoder type %q", ty)
}

// specialPair reads ["token", id] of BertProcessing / RobertaProcessing.
func specialPair(what string, raw json.RawMessage) (piece, error) {
	var pair []json.RawMessage
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return piece{}, fmt.Errorf("post_processor: %s is not [token, id]", what)
	}
	var s string
	var id int64
	if err := json.Unmarshal(pair[0], &s); err != nil {
		return piece{}, fmt.Errorf("post_processor: %s: %w", what, err)
	}
	if err := json.Unmarshal(pair[1], &id); err != nil {
		return piece{}, fmt.Errorf("post_processor: %s: %w", what, err)
	}
	return piece{seq: -1, ids: []int64{id}, tokens: []string{s}}, nil
}

// parsePostGeneric reads the post-processor for the generic pipeline:
// Bert/Roberta/Template processing, ByteLevel (offset trimming), and a
// Sequence of ByteLevel with one of the others.
func (t *Tokenizer) parsePostGeneric(raw json.RawMessage) error {
	if t.gen.post == "" && !isNull(raw) {
		t.gen.post = typeOf(raw)
	}
	if isNull(raw) {
		return t.parsePost(raw)
	}
	switch ty := typeOf(raw); ty {
	case "BertProcessing", "TemplateProcessing":
		return t.parsePost(raw)
	case "RobertaProcessing":
		var r struct {
			Sep            json.RawMessage `json:"sep"`
			Cls            json.RawMessage `json:"cls"`
			TrimOffsets    *bool           `json:"trim_offsets"`
			AddPrefixSpace *bool           `json:"add_prefix_space"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("post_processor: %w", err)
		}
		cls, err := specialPair("cls", r.Cls)
		if err != nil {
			return err
		}
		sep, err := specialPair("sep", r.Sep)
		if err != nil {
			return err
		}
		t.single = []piece{cls, {seq: 0}, sep}
		t.pair = []piece{cls, {seq: 0}, sep, sep, {seq: 1}, sep}
		t.specials.CLS.Token, t.specials.SEP.Token = cls.tokens[0], sep.tokens[0]
		t.gen.trim = r.TrimOffsets == nil || *r.TrimOffsets
		t.gen.trimAddsPrefix = r.AddPrefixSpace == nil || *r.AddPrefixSpace
		return nil
	case "ByteLevel":
		var b struct {
			TrimOffsets    *bool `json:"trim_offsets"`
			AddPrefixSpace *bool `json:"add_prefix_space"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			return fmt.Errorf("post_processor: %w", err)
		}
		if err := t.parsePost(nil); err != nil {
			return err
		}
		t.gen.trim = b.TrimOffsets == nil || *b.TrimOffsets
		t.gen.trimAddsPrefix = b.AddPrefixSpace == nil || *b.AddPrefixSpace
		return nil
	case "Sequence":
		var s struct {
			P []json.RawMessage `json:"processors"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("post_processor Sequence: %w", err)
		}
		var kinds []string
		for _, p := range s.P {
			kinds = append(kinds, typeOf(p))
		}
		// ByteLevel first (trimming before special tokens) then at most one
		// processor that adds special tokens: the order tokenizers applies.
		if len(s.P) == 0 || len(s.P) > 2 || (len(s.P) == 2 && kinds[0] != "ByteLevel") || (len(s.P) == 2 && kinds[1] == "ByteLevel") {
			return unsupported("post_processor Sequence of %v", kinds)
		}
		if err := t.parsePostGeneric(s.P[0]); err != nil {
			return err
		}
		if len(s.P) == 2 {
			trim, pre := t.gen.trim, t.gen.trimAddsPrefix
			if err := t.parsePostGeneric(s.P[1]); err != nil {
				return err
			}
			if kinds[1] == "RobertaProcessing" && t.gen.trim {
				return unsupported("post_processor Sequence trimming offsets twice")
			}
			t.gen.trim, t.gen.trimAddsPrefix = trim, pre
		}
		return nil
	default:
		return unsupported("post_processor type %q", ty)
	}
}
