package tokenizer

import (
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

	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/decoder"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/model/bpe"
	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/pretokenizer"
)

// Byte-level BPE slow-tokenizer files.
const (
	VocabJSON = "vocab.json"
	MergesTxt = "merges.txt"
)

// byteLevelFromSlow builds, for a GPT2Tokenizer or RobertaTokenizer folder
// holding vocab.json and merges.txt but no tokenizer.json, the pipeline
// transformers' GPT2Converter / RobertaConverter build (convert_slow_tokenizer),
// with the added tokens the fast class adds from tokenizer_config.json. It
// returns nil, nil when the folder is not such a folder.
func (c *folderConfig) byteLevelFromSlow(dir string) (*Tokenizer, error) {
	class := strings.TrimSuffix(c.str("tokenizer_class"), "Fast")
	if class != "GPT2Tokenizer" && class != "RobertaTokenizer" {
		return nil, nil
	}
	vb, err := os.ReadFile(filepath.Join(dir, VocabJSON))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	mb, err := os.ReadFile(filepath.Join(dir, MergesTxt))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var vocab map[string]int64
	if err := json.Unmarshal(vb, &vocab); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", filepath.Join(dir, VocabJSON), err)
	}
	if !utf8.Valid(mb) {
		return nil, fmt.Errorf("tokenizer: %s: not valid UTF-8", filepath.Join(dir, MergesTxt))
	}
	// GPT2Tokenizer: read().split("\n")[1:-1], each line split on
	// whitespace; bpe_ranks keeps a repeated merge's first rank.
	lines := strings.Split(string(mb), "\n")
	if len(lines) >= 2 {
		lines = lines[1 : len(lines)-1]
	} else {
		lines = nil
	}
	var merges [][2]string
	seen := map[[2]string]bool{}
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) != 2 {
			return nil, fmt.Errorf("tokenizer: %s: line %d (%q) is not two tokens", filepath.Join(dir, MergesTxt), i+2, l)
		}
		p := [2]string{f[0], f[1]}
		if !seen[p] {
			seen[p] = true
			merges = append(merges, p)
		}
	}
	if err := checkVocab("BPE", vocab); err != nil {
		return nil, err
	}
	empty := ""
	m, err := bpe.New(bpe.Config{Vocab: vocab, Merges: merges, Prefix: &empty, Suffix: &empty})
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", dir, err)
	}
	prefix := false
	if v, ok := c.raw["add_prefix_space"]; ok && !isNull(v) {
		if json.Unmarshal(v, &prefix) != nil {
			return nil, fmt.Errorf("tokenizer: %s: add_prefix_space is not a boolean", c.file)
		}
	}
	t := &Tokenizer{modelMaxLength: Unlimited, gen: &pipeline{model: m, family: "bpe",
		pretok:  pretokenizer.ByteLevel{AddPrefixSpace: prefix, UseRegex: true},
		decoder: decoder.ByteLevel{}}}
	t.tab = getTables()
	t.vocab = vocab
	defaults := map[string]string{"unk_token": "<|endoftext|>", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}
	if class == "RobertaTokenizer" {
		defaults = map[string]string{"unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>",
			"cls_token": "<s>", "pad_token": "<pad>", "mask_token": "<mask>"}
	}
	names := map[string]string{}
	for k, v := range defaults {
		names[k] = v
	}
	for k, v := range c.tokens {
		names[k] = v
	}
	for _, k := range []string{"bos_token", "eos_token"} {
		if v, ok := c.raw[k]; ok && !isNull(v) {
			if s, ok := tokenName(v); ok {
				names[k] = s
			}
		}
	}
	added, err := c.addedTokens(vocab, names)
	if err != nil {
		return nil, err
	}
	t.added = added
	idOf := func(tok string) int64 {
		for _, a := range added {
			if a.content == tok {
				return a.id
			}
		}
		if id, ok := vocab[tok]; ok {
			return id
		}
		return vocab[names["unk_token"]]
	}
	sp := func(tok string) piece { return piece{seq: -1, ids: []int64{idOf(tok)}, tokens: []string{tok}} }
	if class == "RobertaTokenizer" {
		cls, sep := sp(names["cls_token"]), sp(names["sep_token"])
		t.single = []piece{cls, {seq: 0}, sep}
		t.pair = []piece{cls, {seq: 0}, sep, sep, {seq: 1}, sep}
		t.gen.post, t.gen.trim, t.gen.trimAddsPrefix = "RobertaProcessing", *c.boolOr("trim_offsets", true), prefix
	} else if *c.boolOr("add_bos_token", false) {
		bos := sp(names["bos_token"])
		t.single = []piece{bos, {seq: 0}}
		t.pair = []piece{bos, {seq: 0}, {seq: 1, typeID: 1}}
		t.gen.post = "TemplateProcessing"
	} else {
		t.single = []piece{{seq: 0}}
		t.pair = []piece{{seq: 0}, {seq: 1, typeID: 1}}
		t.gen.post = "ByteLevel"
	}
	t.specials = SpecialTokens{UNK: SpecialToken{Token: names["unk_token"]}, SEP: SpecialToken{Token: names["sep_token"]},
		PAD: SpecialToken{Token: names["pad_token"]}, CLS: SpecialToken{Token: names["cls_token"]}, MASK: SpecialToken{Token: names["mask_token"]}}
	return t, nil
}

// addedTokens lists the added tokens a fast tokenizer built from slow files
// gets: tokenizer_config.json's added_tokens_decoder (with their flags and
// ids), then the special tokens of names that are in the vocabulary and not
// already added.
func (c *folderConfig) addedTokens(vocab map[string]int64, names map[string]string) ([]addedToken, error) {
	var out []addedToken
	seen := map[string]bool{}
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
			if _, err := fmt.Sscan(k, &id); err != nil || a.Content == "" || id < 0 || id >= 1<<24 {
				return nil, fmt.Errorf("%s: added_tokens_decoder: bad entry %q", c.file, k)
			}
			norm := !a.Special
			if a.Normalized != nil {
				norm = *a.Normalized
			}
			out = append(out, addedToken{content: a.Content, id: id, special: a.Special,
				normalized: norm, lstrip: a.Lstrip, rstrip: a.Rstrip, singleWord: a.SingleWord})
			seen[a.Content] = true
		}
		slices.SortFunc(out, func(a, b addedToken) int { return cmp.Compare(a.id, b.id) })
	}
	for _, r := range []string{"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"} {
		tok := names[r]
		if id, ok := vocab[tok]; ok && tok != "" && !seen[tok] {
			out = append(out, addedToken{content: tok, id: id, special: true})
			seen[tok] = true
		}
	}
	return out, nil
}
