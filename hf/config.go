package hf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ConfigFile is the name of a model's configuration file.
const ConfigFile = "config.json"

// Config is a model's config.json: typed where hfpipe needs a value, and kept
// whole otherwise (see [Config.Raw] and [Config.Decode]).
//
// Label maps follow transformers' PretrainedConfig: without id2label the
// config has num_labels (default 2) labels named LABEL_0, LABEL_1, ...; with
// it, num_labels is len(id2label) and any num_labels field is ignored.
type Config struct {
	// Path is the file the config was read from ("" when parsed from bytes
	// without a name).
	Path string

	// ModelType selects the architecture family ("distilbert", "bert", ...).
	ModelType string
	// Architectures lists the model classes the checkpoint was saved from.
	Architectures []string
	// ID2Label maps a class index to its label.
	ID2Label map[int]string
	// Label2ID maps a label to its class index; derived from ID2Label when
	// the file has none (transformers then leaves label2id unset).
	Label2ID map[string]int
	// ProblemType is "", "regression", "single_label_classification" or
	// "multi_label_classification"; it decides the post-processing.
	ProblemType string
	// MaxPositionEmbeddings is the longest input the position table covers.
	MaxPositionEmbeddings int
	// VocabSize is the number of token ids.
	VocabSize int
	// HiddenSize is hidden_size (dim in DistilBERT).
	HiddenSize int
	// NumHiddenLayers is num_hidden_layers (n_layers in DistilBERT).
	NumHiddenLayers int
	// NumAttentionHeads is num_attention_heads (n_heads in DistilBERT).
	NumAttentionHeads int
	// PadTokenID is the padding token id, nil when the config has none.
	PadTokenID *int
	// DType is the weights' dtype ("float32", "bfloat16", ...): dtype, or the
	// older torch_dtype.
	DType string

	// Extra holds every field not mapped above, as written.
	Extra map[string]json.RawMessage

	raw map[string]json.RawMessage
}

// NumLabels is len(ID2Label), as transformers' num_labels property.
func (c *Config) NumLabels() int { return len(c.ID2Label) }

// Label returns the label of class i, or "LABEL_i" (the name transformers
// gives unnamed classes) when the config has none for i.
func (c *Config) Label(i int) string {
	if l, ok := c.ID2Label[i]; ok {
		return l
	}
	return "LABEL_" + strconv.Itoa(i)
}

// Labels returns the labels ordered by class index.
func (c *Config) Labels() []string {
	ids := make([]int, 0, len(c.ID2Label))
	for i := range c.ID2Label {
		ids = append(ids, i)
	}
	sort.Ints(ids)
	out := make([]string, len(ids))
	for k, i := range ids {
		out[k] = c.ID2Label[i]
	}
	return out
}

// Raw returns any top-level field exactly as written in the file.
func (c *Config) Raw(key string) (json.RawMessage, bool) {
	v, ok := c.raw[key]
	return v, ok
}

// Decode unmarshals the top-level field key into v. A missing field leaves v
// alone and returns an error wrapping [ErrConfigFieldMissing].
func (c *Config) Decode(key string, v any) error {
	raw, ok := c.raw[key]
	if !ok {
		return &ConfigError{Path: c.Path, Field: key, Err: ErrConfigFieldMissing}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return &ConfigError{Path: c.Path, Field: key, Err: describeJSONError(raw, err)}
	}
	return nil
}

// ErrConfigFieldMissing is wrapped by errors about a required or requested
// field that the config does not have.
var ErrConfigFieldMissing = errors.New("field missing")

// ConfigError reports an unreadable config: a JSON syntax error (with its
// position) or a field of the wrong type or value.
type ConfigError struct {
	Path   string // the file
	Field  string // the offending field, "" for syntax errors
	Line   int    // 1-based position of a syntax error, 0 if not one
	Column int
	Offset int64 // byte offset of a syntax error
	Err    error
}

// Error names the file, the field or position, and the problem.
func (e *ConfigError) Error() string {
	name := e.Path
	if name == "" {
		name = ConfigFile
	}
	switch {
	case e.Line > 0:
		return fmt.Sprintf("hf: config %s:%d:%d (byte %d): %v", name, e.Line, e.Column, e.Offset, e.Err)
	case e.Field != "":
		return fmt.Sprintf("hf: config %s: field %q: %v", name, e.Field, e.Err)
	}
	return fmt.Sprintf("hf: config %s: %v", name, e.Err)
}

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// LoadConfig reads a config.json; path may be the file or the model folder
// holding it.
func LoadConfig(path string) (*Config, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, ConfigFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hf: reading config: %w", err)
	}
	return ParseConfig(data, path)
}

// AutoConfigLoader is the type of [AutoConfig].
type AutoConfigLoader struct{}

// AutoConfig loads model configurations, as transformers.AutoConfig does:
//
//	cfg, err := hf.AutoConfig.FromPretrained(ctx, "distilbert/distilbert-base-uncased-finetuned-sst-2-english")
var AutoConfig AutoConfigLoader

// FromPretrained loads the config of idOrPath: a Hub repo id (config.json is
// fetched into the hub cache, or read from it offline), a local model
// folder, or a config file.
func (AutoConfigLoader) FromPretrained(ctx context.Context, idOrPath string, opts ...Option) (*Config, error) {
	if fi, err := os.Stat(idOrPath); err == nil && !fi.IsDir() {
		return LoadConfig(idOrPath)
	}
	p, err := ResolveFile(ctx, idOrPath, ConfigFile, opts...)
	if err != nil {
		return nil, err
	}
	return LoadConfig(p)
}

// ParseConfig parses config.json content; name (usually the file path) is
// used in error messages and as [Config.Path].
func ParseConfig(data []byte, name string) (*Config, error) {
	p := parser{path: name}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, p.syntaxError(data, err)
	}
	if raw == nil {
		return nil, &ConfigError{Path: name, Err: errors.New("top level is null, want a JSON object")}
	}
	c := &Config{Path: name, raw: raw, Extra: map[string]json.RawMessage{}}
	p.raw = raw

	// AutoConfig cannot pick a config class without model_type; transformers
	// would then guess from the repo name, which hfpipe does not do.
	if mt, ok := p.str("model_type"); !ok && p.err == nil {
		p.fail("model_type", fmt.Errorf("%w: AutoConfig needs it to know the architecture (e.g. \"distilbert\")", ErrConfigFieldMissing))
	} else if ok && mt == "" {
		p.fail("model_type", errors.New("is empty"))
	} else {
		c.ModelType = mt
	}
	c.Architectures = p.strings("architectures")
	c.ProblemType, _ = p.str("problem_type")
	switch c.ProblemType {
	case "", "regression", "single_label_classification", "multi_label_classification":
	default:
		p.fail("problem_type", fmt.Errorf("%q is not one of \"regression\", \"single_label_classification\", \"multi_label_classification\"", c.ProblemType))
	}
	c.MaxPositionEmbeddings, _ = p.int("max_position_embeddings")
	c.VocabSize, _ = p.int("vocab_size")
	c.HiddenSize = p.intAlias("hidden_size", "dim")
	c.NumHiddenLayers = p.intAlias("num_hidden_layers", "n_layers")
	c.NumAttentionHeads = p.intAlias("num_attention_heads", "n_heads")
	if v, ok := p.int("pad_token_id"); ok {
		c.PadTokenID = &v
	}
	if c.DType, _ = p.str("dtype"); c.DType == "" {
		c.DType, _ = p.str("torch_dtype")
	}
	c.ID2Label = p.id2label()
	c.Label2ID = p.label2id()
	numLabels, hasNum := p.int("num_labels")
	if p.err != nil {
		return nil, p.err
	}
	if c.ID2Label == nil {
		// PretrainedConfig._create_id_label_maps: num_labels, default 2,
		// and both maps rebuilt even if label2id was given.
		if !hasNum {
			numLabels = 2
		}
		c.ID2Label, c.Label2ID = map[int]string{}, map[string]int{}
		for i := range max(numLabels, 0) {
			l := "LABEL_" + strconv.Itoa(i)
			c.ID2Label[i], c.Label2ID[l] = l, i
		}
	} else if c.Label2ID == nil {
		c.Label2ID = make(map[string]int, len(c.ID2Label))
		for i, l := range c.ID2Label {
			c.Label2ID[l] = i
		}
	}
	for k, v := range raw {
		if !knownFields[k] {
			c.Extra[k] = v
		}
	}
	return c, nil
}

// knownFields are the fields Config types; everything else goes to Extra.
var knownFields = map[string]bool{
	"model_type": true, "architectures": true, "id2label": true, "label2id": true, "num_labels": true,
	"problem_type": true, "max_position_embeddings": true, "vocab_size": true, "hidden_size": true, "dim": true,
	"num_hidden_layers": true, "n_layers": true, "num_attention_heads": true, "n_heads": true,
	"pad_token_id": true, "dtype": true, "torch_dtype": true,
}

// parser decodes fields one by one so that an error names its field; only
// the first error is kept, as a user fixes one thing at a time.
type parser struct {
	path string
	raw  map[string]json.RawMessage
	err  error
}

func (p *parser) fail(field string, err error) {
	if p.err == nil {
		p.err = &ConfigError{Path: p.path, Field: field, Err: err}
	}
}

// get returns the field, treating JSON null as absent as Python's
// `if x is None` does.
func (p *parser) get(field string) (json.RawMessage, bool) {
	v, ok := p.raw[field]
	if !ok || string(bytes.TrimSpace(v)) == "null" {
		return nil, false
	}
	return v, true
}

func jsonKind(raw json.RawMessage) string {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func (p *parser) str(field string) (string, bool) {
	v, ok := p.get(field)
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		p.fail(field, fmt.Errorf("want a string, got %s (%s)", jsonKind(v), v))
		return "", false
	}
	return s, true
}

func (p *parser) strings(field string) []string {
	v, ok := p.get(field)
	if !ok {
		return nil
	}
	var s []string
	if err := json.Unmarshal(v, &s); err != nil {
		p.fail(field, fmt.Errorf("want an array of strings, got %s", truncate(v)))
		return nil
	}
	return s
}

// toInt accepts a JSON number with an integral value: Python reads 512.0 as
// a float that still works as a size, so it is not rejected here either.
func toInt(v json.RawMessage) (int, error) {
	var n json.Number
	// json.Number also accepts a quoted number, which Python would keep as
	// a string and fail on later: refuse it here.
	if jsonKind(v) != "a number" {
		return 0, fmt.Errorf("want an integer, got %s (%s)", jsonKind(v), truncate(v))
	}
	if err := json.Unmarshal(v, &n); err != nil {
		return 0, fmt.Errorf("want an integer, got %s (%s)", jsonKind(v), v)
	}
	if i, err := strconv.Atoi(n.String()); err == nil {
		return i, nil
	}
	f, err := n.Float64()
	if err != nil || f != float64(int(f)) {
		return 0, fmt.Errorf("want an integer, got %s", n)
	}
	return int(f), nil
}

func (p *parser) int(field string) (int, bool) {
	v, ok := p.get(field)
	if !ok {
		return 0, false
	}
	i, err := toInt(v)
	if err != nil {
		p.fail(field, err)
		return 0, false
	}
	return i, true
}

// intAlias reads name, falling back to the model's own spelling (DistilBERT
// writes dim, n_layers, n_heads); transformers' attribute_map makes the
// standard name win when a file has both.
func (p *parser) intAlias(name, alias string) int {
	if v, ok := p.int(name); ok {
		return v
	}
	v, _ := p.int(alias)
	return v
}

// pyIntKey is what Python's int() accepts: optional sign, digits with single
// underscores between them, surrounding whitespace.
var pyIntKey = regexp.MustCompile(`^[+-]?[0-9]+(_[0-9]+)*$`)

func (p *parser) id2label() map[int]string {
	v, ok := p.get("id2label")
	if !ok {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil {
		p.fail("id2label", fmt.Errorf("want an object of class index to label, got %s", jsonKind(v)))
		return nil
	}
	out := make(map[int]string, len(m))
	for _, k := range sortedKeys(m) {
		key := strings.TrimSpace(k)
		if !pyIntKey.MatchString(key) {
			p.fail("id2label", fmt.Errorf("key %q is not an integer class index", k))
			return nil
		}
		i, err := strconv.Atoi(strings.ReplaceAll(key, "_", ""))
		if err != nil {
			p.fail("id2label", fmt.Errorf("key %q: %w", k, err))
			return nil
		}
		var label string
		if err := json.Unmarshal(m[k], &label); err != nil {
			p.fail("id2label", fmt.Errorf("label of %q: want a string, got %s (%s)", k, jsonKind(m[k]), m[k]))
			return nil
		}
		out[i] = label
	}
	return out
}

func (p *parser) label2id() map[string]int {
	v, ok := p.get("label2id")
	if !ok {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil {
		p.fail("label2id", fmt.Errorf("want an object of label to class index, got %s", jsonKind(v)))
		return nil
	}
	out := make(map[string]int, len(m))
	for _, k := range sortedKeys(m) {
		i, err := toInt(m[k])
		if err != nil {
			p.fail("label2id", fmt.Errorf("label %q: %w", k, err))
			return nil
		}
		out[k] = i
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// syntaxError turns a top-level decoding failure into a ConfigError with a
// line and column an editor can jump to.
func (p *parser) syntaxError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := position(data, se.Offset)
		return &ConfigError{Path: p.path, Line: line, Column: col, Offset: se.Offset, Err: err}
	case errors.As(err, &te):
		return &ConfigError{Path: p.path, Err: fmt.Errorf("top level is %s, want a JSON object", te.Value)}
	}
	return &ConfigError{Path: p.path, Err: err}
}

// position converts the offset json reports (bytes read when the error was
// found) to a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = int(off) - bytes.LastIndexByte(before, '\n')
	if off > 0 && before[len(before)-1] != '\n' {
		col-- // the offset is past the offending byte; point at it
	}
	return line, max(col, 1)
}

func truncate(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

func describeJSONError(raw json.RawMessage, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Errorf("%s at %s, want %s", te.Value, te.Field, te.Type)
		}
		return fmt.Errorf("%s, want %s", te.Value, te.Type)
	}
	return fmt.Errorf("%v (%s)", err, jsonKind(raw))
}
