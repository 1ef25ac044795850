package tokenizer

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/pretokenizer"
)

// File names of a Hugging Face tokenizer folder.
const (
	// TokenizerJSON is the tokenizers library's serialization.
	TokenizerJSON = "tokenizer.json"
	// TokenizerConfig holds transformers' settings (model_max_length, ...).
	TokenizerConfig = "tokenizer_config.json"
	// SpecialTokensMap names the special tokens.
	SpecialTokensMap = "special_tokens_map.json"
	// VocabTxt is the WordPiece vocabulary, one token per line.
	VocabTxt = "vocab.txt"

	defaultMaxWordRune = 100
)

// FromFile loads a tokenizer.json (the tokenizers library's serialization).
// Only what BERT-family tokenizers use is supported: a BertNormalizer, the
// BertPreTokenizer, a WordPiece model, a TemplateProcessing or
// BertProcessing post-processor and a WordPiece decoder (each may also be
// null); anything else is an error naming the type. With no
// tokenizer_config.json the model max length is [Unlimited], the special
// token roles are read off the file (the model's unk_token, the template's
// [CLS]/[SEP], the padding section's pad token, added tokens named [PAD]
// and [MASK]) and decoding does not clean up spaces. Use [FromFolder] to
// get transformers' full behaviour.
func FromFile(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := parseTokenizerJSON(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	if err := t.finish(); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}

// FromFolder loads a tokenizer folder as transformers.AutoTokenizer does:
// tokenizer.json when present, else vocab.txt built into the same pipeline
// transformers' BertConverter builds, else (GPT2Tokenizer and
// RobertaTokenizer classes) vocab.json and merges.txt built as its
// GPT2Converter / RobertaConverter build them; other slow-only folders
// (SentencePiece models...) are an error that says how to write their
// tokenizer.json. In all cases
// tokenizer_config.json (and special_tokens_map.json, which takes
// precedence for special tokens) supply model_max_length,
// clean_up_tokenization_spaces, padding and truncation sides, special
// tokens and, for Bert/DistilBert tokenizer classes, do_lower_case,
// strip_accents and tokenize_chinese_chars.
func FromFolder(dir string) (*Tokenizer, error) {
	cfg, err := readConfig(dir)
	if err != nil {
		return nil, err
	}
	var t *Tokenizer
	where := filepath.Join(dir, TokenizerJSON)
	data, err := os.ReadFile(where)
	switch {
	case err == nil:
		if t, err = parseTokenizerJSON(data); err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", where, err)
		}
		cfg.applyToJSON(t)
		cfg.applyToGeneric(t)
	case errors.Is(err, fs.ErrNotExist):
		where = filepath.Join(dir, VocabTxt)
		vocab, verr := readVocabTxt(where)
		if errors.Is(verr, fs.ErrNotExist) {
			slow, err := cfg.byteLevelFromSlow(dir)
			if err != nil {
				return nil, err
			}
			if slow == nil {
				return nil, missingJSON(dir, cfg)
			}
			t, where = slow, filepath.Join(dir, VocabJSON)
			break
		}
		if verr != nil {
			return nil, verr
		}
		if t, err = cfg.bertFromVocab(vocab); err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", where, err)
		}
	default:
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	cfg.apply(t)
	if err := t.finish(); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", where, err)
	}
	return t, nil
}

// Slow-tokenizer files that transformers converts to a tokenizer.json on
// load (convert_slow_tokenizer) and this package does not.
var slowFiles = []string{"vocab.json", "merges.txt", "sentencepiece.bpe.model", "spm.model", "tokenizer.model", "spiece.model"}

// missingJSON is the error for a folder without tokenizer.json or vocab.txt:
// it names the slow files found and how to get the tokenizer.json.
func missingJSON(dir string, cfg *folderConfig) error {
	var found []string
	for _, f := range slowFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			found = append(found, f)
		}
	}
	if len(found) == 0 {
		return fmt.Errorf("tokenizer: %s has neither %s nor %s", dir, TokenizerJSON, VocabTxt)
	}
	class := cfg.str("tokenizer_class")
	if class == "" {
		class = "the tokenizer"
	}
	return fmt.Errorf("tokenizer: %s has %s but no %s: converting these slow-tokenizer files is not supported (only vocab.txt, and vocab.json + merges.txt for GPT2Tokenizer and RobertaTokenizer); "+
		"save %s's fast version once with transformers (AutoTokenizer.from_pretrained(dir).save_pretrained(dir)) "+
		"to write the %s transformers would build", dir, strings.Join(found, " + "), TokenizerJSON, class, TokenizerJSON)
}

// readVocabTxt reads a BERT vocab.txt as transformers' load_vocab does: one
// token per line (Python's universal newlines: \n, \r\n or \r), id = line
// number, a repeated token keeping its last line.
func readVocabTxt(path string) (map[string]int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("tokenizer: %s: not valid UTF-8", path)
	}
	s := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil, fmt.Errorf("tokenizer: %s: empty vocabulary", path)
	}
	lines := strings.Split(s, "\n")
	vocab := make(map[string]int64, len(lines))
	for i, l := range lines {
		vocab[l] = int64(i)
	}
	return vocab, nil
}

// --- tokenizer.json ---

type jsonAdded struct {
	ID         int64  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type jsonTokenizer struct {
	Truncation *struct {
		Direction string `json:"direction"`
		MaxLength int    `json:"max_length"`
		Strategy  string `json:"strategy"`
	} `json:"truncation"`
	Padding *struct {
		Direction string `json:"direction"`
		PadTypeID int64  `json:"pad_type_id"`
		PadToken  string `json:"pad_token"`
	} `json:"padding"`
	AddedTokens   []jsonAdded     `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         json.RawMessage `json:"model"`
}

func isNull(m json.RawMessage) bool {
	m = bytes.TrimSpace(m)
	return len(m) == 0 || string(m) == "null"
}

func typeOf(m json.RawMessage) string {
	var v struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(m, &v)
	return v.Type
}

func parseTokenizerJSON(data []byte) (*Tokenizer, error) {
	var j jsonTokenizer
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if isNull(j.Model) {
		return nil, errors.New("no model")
	}
	if isBertPipeline(&j) {
		return parseBertJSON(&j)
	}
	return parseGenericJSON(&j)
}

// isBertPipeline tells whether the file is BERT's WordPiece pipeline, which
// runs on the dedicated path (each component null or BERT's own).
func isBertPipeline(j *jsonTokenizer) bool {
	var m struct {
		Type   string          `json:"type"`
		Prefix json.RawMessage `json:"continuing_subword_prefix"`
		Merges json.RawMessage `json:"merges"`
	}
	if json.Unmarshal(j.Model, &m) != nil {
		return false
	}
	if m.Type != "WordPiece" && (m.Type != "" || len(m.Prefix) == 0 || !isNull(m.Merges)) {
		return false
	}
	in := func(raw json.RawMessage, types ...string) bool {
		return isNull(raw) || slices.Contains(types, typeOf(raw))
	}
	return in(j.Normalizer, "BertNormalizer") && in(j.PreTokenizer, "BertPreTokenizer") &&
		in(j.PostProcessor, "BertProcessing", "TemplateProcessing") && in(j.Decoder, "WordPiece")
}

// parseGenericJSON builds the component pipeline of any other file.
func parseGenericJSON(j *jsonTokenizer) (*Tokenizer, error) {
	t := &Tokenizer{modelMaxLength: Unlimited, gen: &pipeline{}}
	t.tab = getTables()
	var err error
	g := t.gen
	if g.model, g.family, err = parseModel(j.Model); err != nil {
		return nil, err
	}
	if g.norm, err = t.parseNormalizer(j.Normalizer); err != nil {
		return nil, err
	}
	if g.pretok, err = t.parsePreTokenizer(j.PreTokenizer); err != nil {
		return nil, err
	}
	if g.decoder, err = parseDecoder(j.Decoder); err != nil {
		return nil, err
	}
	if err := t.parsePostGeneric(j.PostProcessor); err != nil {
		return nil, err
	}
	t.vocab = g.model.Vocab()
	for _, a := range j.AddedTokens {
		if a.Content == "" {
			continue
		}
		t.added = append(t.added, addedToken{content: a.Content, id: a.ID, special: a.Special,
			normalized: a.Normalized, lstrip: a.Lstrip, rstrip: a.Rstrip, singleWord: a.SingleWord})
	}
	if err := t.parseTruncPad(j); err != nil {
		return nil, err
	}
	var m struct {
		Unk    *string `json:"unk_token"`
		Prefix *string `json:"continuing_subword_prefix"`
	}
	if json.Unmarshal(j.Model, &m) == nil {
		if m.Unk != nil {
			t.specials.UNK.Token = *m.Unk
		}
		switch {
		case m.Prefix != nil && (g.family == "bpe" || g.family == "wordpiece"):
			t.prefix = *m.Prefix
		case g.family == "wordpiece":
			t.prefix = "##"
		}
	}
	if t.padToken != "" {
		t.specials.PAD.Token = t.padToken
	}
	return t, nil
}

func (t *Tokenizer) parseTruncPad(j *jsonTokenizer) error {
	var err error
	if tr := j.Truncation; tr != nil {
		if t.truncSide, err = parseSide("truncation", tr.Direction); err != nil {
			return err
		}
	}
	if p := j.Padding; p != nil {
		if t.padSide, err = parseSide("padding", p.Direction); err != nil {
			return err
		}
		t.padToken, t.padTypeID = p.PadToken, p.PadTypeID
	}
	return nil
}

func parseBertJSON(j *jsonTokenizer) (*Tokenizer, error) {
	t := &Tokenizer{modelMaxLength: Unlimited}
	var m struct {
		Type     string           `json:"type"`
		Unk      *string          `json:"unk_token"`
		Prefix   *string          `json:"continuing_subword_prefix"`
		MaxChars *int             `json:"max_input_chars_per_word"`
		Vocab    map[string]int64 `json:"vocab"`
		Merges   json.RawMessage  `json:"merges"`
	}
	if err := json.Unmarshal(j.Model, &m); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	// Old files leave the model untagged; WordPiece is the one with a
	// continuing_subword_prefix and no merges.
	if m.Type != "WordPiece" && (m.Type != "" || m.Prefix == nil || !isNull(m.Merges)) {
		return nil, fmt.Errorf("unsupported model type %q (only WordPiece)", m.Type)
	}
	if len(m.Vocab) == 0 {
		return nil, errors.New("model: empty WordPiece vocab")
	}
	t.vocab = m.Vocab
	t.unkToken, t.prefix, t.maxWordChars = "[UNK]", "##", defaultMaxWordRune
	if m.Unk != nil {
		t.unkToken = *m.Unk
	}
	if m.Prefix != nil {
		t.prefix = *m.Prefix
	}
	if m.MaxChars != nil {
		t.maxWordChars = *m.MaxChars
	}

	if !isNull(j.Normalizer) {
		if ty := typeOf(j.Normalizer); ty != "BertNormalizer" {
			return nil, fmt.Errorf("unsupported normalizer type %q (only BertNormalizer)", ty)
		}
		n := struct {
			Clean   *bool `json:"clean_text"`
			Chinese *bool `json:"handle_chinese_chars"`
			Strip   *bool `json:"strip_accents"`
			Lower   *bool `json:"lowercase"`
		}{}
		if err := json.Unmarshal(j.Normalizer, &n); err != nil {
			return nil, fmt.Errorf("normalizer: %w", err)
		}
		or := func(b *bool, d bool) bool {
			if b == nil {
				return d
			}
			return *b
		}
		lower := or(n.Lower, true)
		t.norm = normConfig{enabled: true, clean: or(n.Clean, true), chinese: or(n.Chinese, true),
			strip: or(n.Strip, lower), lower: lower}
	}

	if !isNull(j.PreTokenizer) {
		if ty := typeOf(j.PreTokenizer); ty != "BertPreTokenizer" {
			return nil, fmt.Errorf("unsupported pre_tokenizer type %q (only BertPreTokenizer)", ty)
		}
		t.pretok = true
	}

	for _, a := range j.AddedTokens {
		if a.Content == "" {
			continue
		}
		t.added = append(t.added, addedToken{content: a.Content, id: a.ID, special: a.Special,
			normalized: a.Normalized, lstrip: a.Lstrip, rstrip: a.Rstrip, singleWord: a.SingleWord})
	}

	if err := t.parsePost(j.PostProcessor); err != nil {
		return nil, err
	}

	if !isNull(j.Decoder) {
		if ty := typeOf(j.Decoder); ty != "WordPiece" {
			return nil, fmt.Errorf("unsupported decoder type %q (only WordPiece)", ty)
		}
		d := struct {
			Prefix  *string `json:"prefix"`
			Cleanup *bool   `json:"cleanup"`
		}{}
		if err := json.Unmarshal(j.Decoder, &d); err != nil {
			return nil, fmt.Errorf("decoder: %w", err)
		}
		t.decodeWP, t.decodePrefix, t.decodeCleanup = true, "##", true
		if d.Prefix != nil {
			t.decodePrefix = *d.Prefix
		}
		if d.Cleanup != nil {
			t.decodeCleanup = *d.Cleanup
		}
	}

	if err := t.parseTruncPad(j); err != nil {
		return nil, err
	}

	// Roles as far as the file tells them; tokenizer_config.json may override.
	t.specials.UNK.Token = t.unkToken
	for _, a := range t.added {
		switch a.content {
		case "[PAD]":
			t.specials.PAD.Token = a.content
		case "[MASK]":
			t.specials.MASK.Token = a.content
		}
	}
	if t.padToken != "" {
		t.specials.PAD.Token = t.padToken
	}
	return t, nil
}

func (t *Tokenizer) parsePost(raw json.RawMessage) error {
	if isNull(raw) {
		t.single = []piece{{seq: 0}}
		t.pair = []piece{{seq: 0}, {seq: 1, typeID: 1}}
		return nil
	}
	switch ty := typeOf(raw); ty {
	case "BertProcessing":
		var b struct {
			Sep [2]json.RawMessage `json:"sep"`
			Cls [2]json.RawMessage `json:"cls"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			return fmt.Errorf("post_processor: %w", err)
		}
		tok := func(pair [2]json.RawMessage) (piece, error) {
			var s string
			var id int64
			if err := json.Unmarshal(pair[0], &s); err != nil {
				return piece{}, fmt.Errorf("post_processor: %w", err)
			}
			if err := json.Unmarshal(pair[1], &id); err != nil {
				return piece{}, fmt.Errorf("post_processor: %w", err)
			}
			return piece{seq: -1, ids: []int64{id}, tokens: []string{s}}, nil
		}
		cls, err := tok(b.Cls)
		if err != nil {
			return err
		}
		sep, err := tok(b.Sep)
		if err != nil {
			return err
		}
		sep1 := sep
		sep1.typeID = 1
		t.single = []piece{cls, {seq: 0}, sep}
		t.pair = []piece{cls, {seq: 0}, sep, {seq: 1, typeID: 1}, sep1}
		t.specials.CLS.Token, t.specials.SEP.Token = cls.tokens[0], sep.tokens[0]
		return nil
	case "TemplateProcessing":
		type jpiece struct {
			Sequence *struct {
				ID     string `json:"id"`
				TypeID int64  `json:"type_id"`
			} `json:"Sequence"`
			SpecialToken *struct {
				ID     string `json:"id"`
				TypeID int64  `json:"type_id"`
			} `json:"SpecialToken"`
		}
		var tp struct {
			Single        []jpiece `json:"single"`
			Pair          []jpiece `json:"pair"`
			SpecialTokens map[string]struct {
				IDs    []int64  `json:"ids"`
				Tokens []string `json:"tokens"`
			} `json:"special_tokens"`
		}
		if err := json.Unmarshal(raw, &tp); err != nil {
			return fmt.Errorf("post_processor: %w", err)
		}
		conv := func(ps []jpiece) ([]piece, error) {
			var out []piece
			for _, p := range ps {
				switch {
				case p.Sequence != nil:
					seq := 0
					switch p.Sequence.ID {
					case "A":
					case "B":
						seq = 1
					default:
						return nil, fmt.Errorf("post_processor: unknown sequence %q", p.Sequence.ID)
					}
					out = append(out, piece{seq: seq, typeID: p.Sequence.TypeID})
				case p.SpecialToken != nil:
					st, ok := tp.SpecialTokens[p.SpecialToken.ID]
					if !ok || len(st.IDs) != len(st.Tokens) {
						return nil, fmt.Errorf("post_processor: special token %q missing or malformed", p.SpecialToken.ID)
					}
					out = append(out, piece{seq: -1, typeID: p.SpecialToken.TypeID, ids: st.IDs, tokens: st.Tokens})
				default:
					return nil, errors.New("post_processor: template piece is neither Sequence nor SpecialToken")
				}
			}
			return out, nil
		}
		var err error
		if t.single, err = conv(tp.Single); err != nil {
			return err
		}
		if t.pair, err = conv(tp.Pair); err != nil {
			return err
		}
		// BERT templates open with [CLS] and close with [SEP].
		if n := len(t.single); n >= 2 && t.single[0].seq < 0 && t.single[n-1].seq < 0 &&
			len(t.single[0].tokens) == 1 && len(t.single[n-1].tokens) == 1 {
			t.specials.CLS.Token, t.specials.SEP.Token = t.single[0].tokens[0], t.single[n-1].tokens[0]
		}
		return nil
	default:
		return fmt.Errorf("unsupported post_processor type %q (only TemplateProcessing, BertProcessing)", ty)
	}
}

// --- tokenizer_config.json / special_tokens_map.json ---

type folderConfig struct {
	file   string
	raw    map[string]json.RawMessage
	tokens map[string]string // role -> token, special_tokens_map.json over tokenizer_config.json
}

func readJSONMap(path string) (map[string]json.RawMessage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: invalid JSON: %w", path, err)
	}
	return m, nil
}

// tokenName reads a special token given as a string or as a serialized
// AddedToken ({"content": ...}).
func tokenName(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var a struct {
		Content *string `json:"content"`
	}
	if json.Unmarshal(raw, &a) == nil && a.Content != nil {
		return *a.Content, true
	}
	return "", false
}

var roles = []string{"unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}

func readConfig(dir string) (*folderConfig, error) {
	c := &folderConfig{file: filepath.Join(dir, TokenizerConfig), tokens: map[string]string{}}
	var err error
	if c.raw, err = readJSONMap(c.file); err != nil {
		return nil, err
	}
	if c.raw == nil {
		c.raw = map[string]json.RawMessage{}
	}
	stm, err := readJSONMap(filepath.Join(dir, SpecialTokensMap))
	if err != nil {
		return nil, err
	}
	for _, src := range []map[string]json.RawMessage{c.raw, stm} {
		for _, r := range roles {
			if v, ok := src[r]; ok && !isNull(v) {
				name, ok := tokenName(v)
				if !ok {
					return nil, fmt.Errorf("tokenizer: %s: %s is neither a string nor a token", dir, r)
				}
				c.tokens[r] = name
			}
		}
	}
	return c, nil
}

func (c *folderConfig) boolOr(key string, def bool) *bool {
	v, ok := c.raw[key]
	if !ok || isNull(v) {
		return &def
	}
	var b bool
	if json.Unmarshal(v, &b) != nil {
		return &def
	}
	return &b
}

// nullableBool reads a key that may be null (strip_accents).
func (c *folderConfig) nullableBool(key string) *bool {
	v, ok := c.raw[key]
	if !ok || isNull(v) {
		return nil
	}
	var b bool
	if json.Unmarshal(v, &b) != nil {
		return nil
	}
	return &b
}

func (c *folderConfig) str(key string) string {
	var s string
	if v, ok := c.raw[key]; ok {
		_ = json.Unmarshal(v, &s)
	}
	return s
}

func (c *folderConfig) bertClass() bool {
	switch strings.TrimSuffix(c.str("tokenizer_class"), "Fast") {
	case "BertTokenizer", "DistilBertTokenizer":
		return true
	}
	return false
}

// bertNorm is the normalizer transformers' Bert converters build from the
// config: strip_accents null follows do_lower_case.
func (c *folderConfig) bertNorm() (lower bool, strip *bool, chinese bool) {
	return *c.boolOr("do_lower_case", true), c.nullableBool("strip_accents"), *c.boolOr("tokenize_chinese_chars", true)
}

// applyToJSON mirrors BertTokenizerFast.__init__, which rebuilds the
// normalizer when tokenizer_config.json disagrees with tokenizer.json.
func (c *folderConfig) applyToJSON(t *Tokenizer) {
	if !c.bertClass() || !t.norm.enabled {
		return
	}
	lower, strip, chinese := c.bertNorm()
	t.norm.lower, t.norm.chinese = lower, chinese
	t.norm.strip = lower
	if strip != nil {
		t.norm.strip = *strip
	}
}

// robertaClasses are the fast tokenizer classes whose __init__ rebuilds a
// RobertaProcessing / ByteLevel post-processor from their add_prefix_space
// and trim_offsets arguments.
var robertaClasses = []string{"RobertaTokenizer", "BartTokenizer", "BlenderbotTokenizer", "LayoutLMv3Tokenizer",
	"LEDTokenizer", "LongformerTokenizer", "MvpTokenizer"}

// applyToGeneric mirrors what PreTrainedTokenizerFast.__init__ (and the
// Roberta-like classes) change in a loaded tokenizer.json: a top-level
// ByteLevel pre-tokenizer takes the config's add_prefix_space (false when
// absent), and those classes' post-processor its add_prefix_space and
// trim_offsets (false and true when absent).
func (c *folderConfig) applyToGeneric(t *Tokenizer) {
	g := t.gen
	if g == nil {
		return
	}
	prefix, ok := false, true
	if v, has := c.raw["add_prefix_space"]; has {
		ok = json.Unmarshal(v, &prefix) == nil && !isNull(v)
	}
	if bl, isBL := g.pretok.(pretokenizer.ByteLevel); isBL && ok {
		bl.AddPrefixSpace = prefix
		g.pretok = bl
	}
	if slices.Contains(robertaClasses, strings.TrimSuffix(c.str("tokenizer_class"), "Fast")) &&
		(g.post == "RobertaProcessing" || g.post == "ByteLevel") {
		if !ok {
			return // transformers' rebuild fails on a non-boolean and keeps the file's
		}
		g.trimAddsPrefix = prefix
		g.trim = *c.boolOr("trim_offsets", true)
	}
}

// bertFromVocab builds what transformers' BertConverter builds from vocab.txt.
func (c *folderConfig) bertFromVocab(vocab map[string]int64) (*Tokenizer, error) {
	lower, strip, chinese := c.bertNorm()
	t := &Tokenizer{modelMaxLength: Unlimited, vocab: vocab, prefix: "##", maxWordChars: defaultMaxWordRune, pretok: true}
	t.norm = normConfig{enabled: true, clean: true, chinese: chinese, strip: lower, lower: lower}
	if strip != nil {
		t.norm.strip = *strip
	}
	names := map[string]string{"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}
	for r, v := range c.tokens {
		names[r] = v
	}
	t.unkToken = names["unk_token"]
	t.specials = SpecialTokens{UNK: SpecialToken{Token: names["unk_token"]}, SEP: SpecialToken{Token: names["sep_token"]},
		PAD: SpecialToken{Token: names["pad_token"]}, CLS: SpecialToken{Token: names["cls_token"]}, MASK: SpecialToken{Token: names["mask_token"]}}
	seen := map[string]bool{}
	// added_tokens_decoder first: it carries the flags and ids transformers saved.
	if v, ok := c.raw["added_tokens_decoder"]; ok && !isNull(v) {
		var dec map[string]struct {
			Content    string `json:"content"`
			Lstrip     bool   `json:"lstrip"`
			Rstrip     bool   `json:"rstrip"`
			Normalized *bool  `json:"normalized"`
			SingleWord bool   `json:"single_word"`
			Special    bool   `json:"special"`
		}
		if err := json.Unmarshal(v, &dec); err != nil {
			return nil, fmt.Errorf("%s: added_tokens_decoder: %w", c.file, err)
		}
		for k, a := range dec {
			var id int64
			if _, err := fmt.Sscan(k, &id); err != nil || a.Content == "" {
				return nil, fmt.Errorf("%s: added_tokens_decoder: bad entry %q", c.file, k)
			}
			norm := !a.Special
			if a.Normalized != nil {
				norm = *a.Normalized
			}
			t.added = append(t.added, addedToken{content: a.Content, id: id, special: a.Special,
				normalized: norm, lstrip: a.Lstrip, rstrip: a.Rstrip, singleWord: a.SingleWord})
			seen[a.Content] = true
		}
		slices.SortFunc(t.added, func(a, b addedToken) int { return cmp.Compare(a.id, b.id) })
	}
	for _, r := range roles {
		if id, ok := vocab[names[r]]; ok && !seen[names[r]] {
			t.added = append(t.added, addedToken{content: names[r], id: id, special: true})
			seen[names[r]] = true
		}
	}
	cls, sep := names["cls_token"], names["sep_token"]
	for _, tok := range []string{cls, sep} {
		if _, ok := vocab[tok]; !ok {
			return nil, fmt.Errorf("special token %q is not in the vocabulary", tok)
		}
	}
	clsP := piece{seq: -1, ids: []int64{vocab[cls]}, tokens: []string{cls}}
	sepP := piece{seq: -1, ids: []int64{vocab[sep]}, tokens: []string{sep}}
	sep1 := sepP
	sep1.typeID = 1
	t.single = []piece{clsP, {seq: 0}, sepP}
	t.pair = []piece{clsP, {seq: 0}, sepP, {seq: 1, typeID: 1}, sep1}
	t.decodeWP, t.decodePrefix, t.decodeCleanup = true, "##", true
	return t, nil
}

// apply sets what transformers reads from the config over either source.
func (c *folderConfig) apply(t *Tokenizer) {
	if v, ok := c.raw["model_max_length"]; ok {
		var f float64 // may be 1e30 for "no limit"
		if json.Unmarshal(v, &f) == nil && f > 0 && f < 1e20 {
			t.modelMaxLength = int(f)
		}
	}
	t.cleanUpSpaces = *c.boolOr("clean_up_tokenization_spaces", false)
	// Some tokenizer classes pad on the left by default (a class attribute
	// in transformers, not written to the config).
	switch strings.TrimSuffix(c.str("tokenizer_class"), "Fast") {
	case "LlamaTokenizer", "CodeLlamaTokenizer", "CohereTokenizer", "GemmaTokenizer", "XLNetTokenizer":
		t.padSide = SideLeft
	}
	switch c.str("padding_side") {
	case "left":
		t.padSide = SideLeft
	case "right":
		t.padSide = SideRight
	}
	switch c.str("truncation_side") {
	case "left":
		t.truncSide = SideLeft
	case "right":
		t.truncSide = SideRight
	}
	if v, ok := c.raw["pad_token_type_id"]; ok {
		_ = json.Unmarshal(v, &t.padTypeID)
	}
	set := func(dst *SpecialToken, role string) {
		if v, ok := c.tokens[role]; ok {
			dst.Token = v
		}
	}
	set(&t.specials.UNK, "unk_token")
	set(&t.specials.SEP, "sep_token")
	set(&t.specials.PAD, "pad_token")
	set(&t.specials.CLS, "cls_token")
	set(&t.specials.MASK, "mask_token")
	if v, ok := c.tokens["pad_token"]; ok {
		t.padToken = v
	}
}

// parseSide reads tokenizer.json's "Left"/"Right" direction of padding or
// truncation (absent means right, as in tokenizers).
func parseSide(what, dir string) (Side, error) {
	switch dir {
	case "Left":
		return SideLeft, nil
	case "Right", "":
		return SideRight, nil
	}
	return 0, fmt.Errorf("%s: unknown direction %q", what, dir)
}
