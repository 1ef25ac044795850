package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Pooling is how sentence-transformers' Pooling module turns token vectors
// into one sentence vector. Several modes may be on: their vectors are
// concatenated in the order of the fields (as Pooling.forward does).
type Pooling struct {
	// CLS takes the first token's vector.
	CLS bool `json:"pooling_mode_cls_token"`
	// Max takes the element-wise maximum over the real tokens.
	Max bool `json:"pooling_mode_max_tokens"`
	// Mean averages the real tokens.
	Mean bool `json:"pooling_mode_mean_tokens"`
	// MeanSqrtLen sums the real tokens and divides by the square root of
	// their count.
	MeanSqrtLen bool `json:"pooling_mode_mean_sqrt_len_tokens"`
	// WeightedMean averages with position weights 1, 2, 3, ...
	WeightedMean bool `json:"pooling_mode_weightedmean_tokens"`
	// LastToken takes the last real token's vector.
	LastToken bool `json:"pooling_mode_lasttoken"`
}

// Pooling modes as sentence-transformers names them (Pooling.POOLING_MODES).
var poolingModes = []string{"cls", "lasttoken", "max", "mean", "mean_sqrt_len_tokens", "weightedmean"}

// ParsePooling parses one of sentence-transformers' pooling mode names:
// "cls", "lasttoken", "max", "mean", "mean_sqrt_len_tokens" or
// "weightedmean" (case-insensitive, as Pooling(pooling_mode=…) takes them).
func ParsePooling(mode string) (Pooling, error) {
	switch strings.ToLower(mode) {
	case "cls":
		return Pooling{CLS: true}, nil
	case "lasttoken":
		return Pooling{LastToken: true}, nil
	case "max":
		return Pooling{Max: true}, nil
	case "mean":
		return Pooling{Mean: true}, nil
	case "mean_sqrt_len_tokens":
		return Pooling{MeanSqrtLen: true}, nil
	case "weightedmean":
		return Pooling{WeightedMean: true}, nil
	}
	return Pooling{}, fmt.Errorf("pipeline: unknown pooling mode %q (want one of %s)", mode, strings.Join(poolingModes, ", "))
}

// String names the modes that are on, joined by "+" in concatenation
// order ("mean", "cls", "max+mean"); "none" when none is.
func (p Pooling) String() string {
	var s []string
	for _, m := range []struct {
		on   bool
		name string
	}{{p.CLS, "cls"}, {p.Max, "max"}, {p.Mean, "mean"}, {p.MeanSqrtLen, "mean_sqrt_len_tokens"}, {p.WeightedMean, "weightedmean"}, {p.LastToken, "lasttoken"}} {
		if m.on {
			s = append(s, m.name)
		}
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "+")
}

// modes is the number of modes that are on (the output is that many times
// the hidden size).
func (p Pooling) modes() int {
	n := 0
	for _, on := range []bool{p.CLS, p.Max, p.Mean, p.MeanSqrtLen, p.WeightedMean, p.LastToken} {
		if on {
			n++
		}
	}
	return n
}

// SentenceConfig is what a sentence-transformers folder says about turning
// a transformer's token vectors into sentence embeddings: modules.json
// (Transformer → Pooling → optional Normalize), 1_Pooling/config.json,
// sentence_bert_config.json and config_sentence_transformers.json.
type SentenceConfig struct {
	// ModelDir is the folder of the Transformer module (the folder itself,
	// or a subfolder such as 0_Transformer in older models).
	ModelDir string
	// Pooling is the Pooling module's mode(s).
	Pooling Pooling
	// IncludePrompt is false when the prompt's tokens are left out of the
	// pooling (Pooling's include_prompt, true by default).
	IncludePrompt bool
	// Normalize is true when a Normalize module follows the pooling (unit
	// L2 length).
	Normalize bool
	// MaxSeqLength truncates the inputs (sentence_bert_config.json
	// max_seq_length); 0: the shorter of the tokenizer's and the model's
	// limits, as sentence-transformers infers it.
	MaxSeqLength int
	// DoLowerCase lowercases the texts before tokenizing.
	DoLowerCase bool
	// Prompts are the named prompts of config_sentence_transformers.json.
	Prompts map[string]string
	// DefaultPromptName names the prompt used when a call names none.
	DefaultPromptName string
	// SentenceTransformers is false for a plain transformers folder (no
	// modules.json): mean pooling then, as sentence-transformers does.
	SentenceTransformers bool
}

// DefaultSentenceConfig is what sentence-transformers makes of a folder
// without modules.json: the transformer with mean pooling, nothing else.
func DefaultSentenceConfig(dir string) *SentenceConfig {
	return &SentenceConfig{ModelDir: dir, Pooling: Pooling{Mean: true}, IncludePrompt: true}
}

// sbertConfigNames are the files the Transformer module's settings may be
// in, newest first (sentence-transformers' Transformer.load tries them).
var sbertConfigNames = []string{"sentence_bert_config.json", "sentence_roberta_config.json", "sentence_distilbert_config.json",
	"sentence_camembert_config.json", "sentence_albert_config.json", "sentence_xlm-roberta_config.json", "sentence_xlnet_config.json"}

// LoadSentenceConfig reads a sentence-transformers folder. A folder without
// modules.json gets [DefaultSentenceConfig]. Modules other than Transformer,
// Pooling and Normalize (Dense, LayerNorm, ...) are refused with an error
// naming them, as is anything unreadable: the files are untrusted input.
func LoadSentenceConfig(dir string) (*SentenceConfig, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "modules.json"))
	if errors.Is(err, fs.ErrNotExist) {
		c := DefaultSentenceConfig(dir)
		return c, c.readPrompts(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	var modules []struct {
		Idx  *int   `json:"idx"`
		Name string `json:"name"`
		Path string `json:"path"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &modules); err != nil {
		return nil, fmt.Errorf("pipeline: %s: want a JSON list of modules: %v", filepath.Join(dir, "modules.json"), err)
	}
	c := &SentenceConfig{SentenceTransformers: true, IncludePrompt: true}
	where := func(i int) string { return fmt.Sprintf("%s: module %d", filepath.Join(dir, "modules.json"), i) }
	var seenTransformer, seenPooling bool
	for i, m := range modules {
		sub, err := modulePath(dir, m.Path)
		if err != nil {
			return nil, fmt.Errorf("pipeline: %s: %w", where(i), err)
		}
		switch kind := moduleKind(m.Type); {
		case kind == "Transformer" && !seenTransformer && !seenPooling:
			seenTransformer = true
			c.ModelDir = sub
			if err := c.readSBert(sub); err != nil {
				return nil, err
			}
		case kind == "Pooling" && seenTransformer && !seenPooling:
			seenPooling = true
			if err := c.readPooling(sub); err != nil {
				return nil, err
			}
		case kind == "Normalize" && seenPooling && !c.Normalize:
			c.Normalize = true
		case kind == "Transformer" || kind == "Pooling" || kind == "Normalize":
			return nil, fmt.Errorf("pipeline: %s: %s out of place: hfpipe runs Transformer → Pooling → Normalize (optional), each once", where(i), m.Type)
		default:
			return nil, fmt.Errorf("pipeline: %s: module type %q is not supported: hfpipe runs sentence-transformers folders made of Transformer, Pooling and Normalize modules", where(i), m.Type)
		}
	}
	if !seenTransformer || !seenPooling {
		return nil, fmt.Errorf("pipeline: %s: no Transformer followed by a Pooling module: not a sentence-embedding model hfpipe can run", filepath.Join(dir, "modules.json"))
	}
	return c, c.readPrompts(dir)
}

// moduleKind is the class name of a modules.json type
// ("sentence_transformers.models.Pooling" → "Pooling"); other packages'
// classes keep their full name, so they are refused by name.
func moduleKind(typ string) string {
	const pkg = "sentence_transformers.models."
	if !strings.HasPrefix(typ, pkg) {
		return typ
	}
	rest := strings.TrimPrefix(typ, pkg)
	if i := strings.IndexByte(rest, '.'); i >= 0 { // "Pooling.Pooling" (older files)
		if rest[:i] != rest[i+1:] {
			return typ
		}
		rest = rest[:i]
	}
	return rest
}

// modulePath joins a module's path to the folder, refusing paths that lead
// outside it.
func modulePath(dir, p string) (string, error) {
	if p == "" {
		return dir, nil
	}
	if filepath.IsAbs(p) || !filepath.IsLocal(p) {
		return "", fmt.Errorf("path %q leads outside the model folder", p)
	}
	return filepath.Join(dir, p), nil
}

// readJSONFile decodes path into v; a missing file is not an error when
// optional (ok reports whether it was there).
func readJSONFile(path string, v any, optional bool) (ok bool, err error) {
	raw, err := os.ReadFile(path)
	if optional && errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pipeline: %w", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("pipeline: %s: %v", path, err)
	}
	return true, nil
}

func (c *SentenceConfig) readSBert(dir string) error {
	for _, name := range sbertConfigNames {
		var s struct {
			MaxSeqLength *int  `json:"max_seq_length"`
			DoLowerCase  *bool `json:"do_lower_case"`
		}
		path := filepath.Join(dir, name)
		ok, err := readJSONFile(path, &s, true)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if s.MaxSeqLength != nil {
			if *s.MaxSeqLength < 1 {
				return fmt.Errorf("pipeline: %s: max_seq_length must be at least 1, got %d", path, *s.MaxSeqLength)
			}
			c.MaxSeqLength = *s.MaxSeqLength
		}
		c.DoLowerCase = s.DoLowerCase != nil && *s.DoLowerCase
		return nil
	}
	return nil
}

func (c *SentenceConfig) readPooling(dir string) error {
	// Pooling's constructor defaults: mean pooling, prompt included.
	var p struct {
		Pooling
		Mode          *string `json:"pooling_mode"`
		IncludePrompt *bool   `json:"include_prompt"`
	}
	p.Mean = true
	path := filepath.Join(dir, "config.json")
	if _, err := readJSONFile(path, &p, false); err != nil {
		return err
	}
	c.Pooling = p.Pooling
	if p.Mode != nil {
		var err error
		if c.Pooling, err = ParsePooling(*p.Mode); err != nil {
			return fmt.Errorf("%w (in %s)", err, path)
		}
	}
	if c.Pooling.modes() == 0 {
		return fmt.Errorf("pipeline: %s: no pooling mode is on", path)
	}
	c.IncludePrompt = p.IncludePrompt == nil || *p.IncludePrompt
	return nil
}

func (c *SentenceConfig) readPrompts(dir string) error {
	var s struct {
		Prompts           map[string]string `json:"prompts"`
		DefaultPromptName *string           `json:"default_prompt_name"`
	}
	path := filepath.Join(dir, "config_sentence_transformers.json")
	if _, err := readJSONFile(path, &s, true); err != nil {
		return err
	}
	c.Prompts = s.Prompts
	if s.DefaultPromptName != nil {
		if _, ok := c.Prompts[*s.DefaultPromptName]; !ok {
			return fmt.Errorf("pipeline: %s: default_prompt_name %q is not one of the prompts", path, *s.DefaultPromptName)
		}
		c.DefaultPromptName = *s.DefaultPromptName
	}
	return nil
}
