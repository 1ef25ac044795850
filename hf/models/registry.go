package models

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Head names, as package hf spells them.
const (
	HeadBase                   = "base"
	HeadSequenceClassification = "sequence-classification"
	HeadTokenClassification    = "token-classification"
	HeadQuestionAnswering      = "question-answering"
	HeadMaskedLM               = "masked-lm"
	HeadMultipleChoice         = "multiple-choice"
)

// Arch is one architecture family as hfpipe runs it natively.
type Arch struct {
	// ModelTypes are the config.json model_type values it covers.
	ModelTypes []string
	// Native is the shim's architecture name (torch.LoadNative).
	Native string
	// Prefix is transformers' base_model_prefix: head checkpoints store the
	// base model's tensors under "<Prefix>.".
	Prefix string
	// Classes maps each head to the transformers class (without the
	// model-type part, e.g. "ForSequenceClassification"; "Model" for base).
	Classes map[string]string
	// Attention lists the attention implementations transformers offers
	// for the family, its default first.
	Attention []string
	// Inputs are the tensors a forward pass reads, in order.
	Inputs []string
	// config turns config.json into the entries the native code reads.
	config func(c Raw, head string) (map[string]string, error)
}

// Raw is a config.json as its fields.
type Raw map[string]json.RawMessage

var archs []*Arch

func register(a *Arch) { archs = append(archs, a) }

// Lookup returns the architecture of a config.json model_type.
func Lookup(modelType string) (*Arch, bool) {
	for _, a := range archs {
		if slices.Contains(a.ModelTypes, modelType) {
			return a, true
		}
	}
	return nil, false
}

// ModelTypes lists every model_type that runs natively, sorted.
func ModelTypes() []string {
	var out []string
	for _, a := range archs {
		out = append(out, a.ModelTypes...)
	}
	slices.Sort(out)
	return out
}

// Heads lists the heads the architecture has, in a fixed order.
func (a *Arch) Heads() []string {
	var out []string
	for _, h := range []string{HeadBase, HeadSequenceClassification, HeadTokenClassification, HeadQuestionAnswering, HeadMaskedLM, HeadMultipleChoice} {
		if _, ok := a.Classes[h]; ok {
			out = append(out, h)
		}
	}
	return out
}

// Config returns the native code's config entries for a head, with
// attention implementation attn ("" picks transformers' default).
func (a *Arch) Config(c Raw, head, attn string) (map[string]string, error) {
	if _, ok := a.Classes[head]; !ok {
		return nil, fmt.Errorf("models: %s has no %s head natively (it has: %s)", a.ModelTypes[0], head, strings.Join(a.Heads(), ", "))
	}
	if attn == "" {
		attn = a.Attention[0]
	}
	if !slices.Contains(a.Attention, attn) {
		return nil, fmt.Errorf("models: %s has no %q attention in transformers (it has: %s)", a.ModelTypes[0], attn, strings.Join(a.Attention, ", "))
	}
	kv, err := a.config(c, head)
	if err != nil {
		return nil, err
	}
	kv["head"] = head
	kv["attn"] = attn
	return kv, nil
}

// WeightName maps a checkpoint tensor name onto the name the native code
// reads, as transformers' loading renames keys: the base model's prefix is
// dropped, and TensorFlow-era LayerNorm names (gamma, beta) become weight
// and bias.
func (a *Arch) WeightName(name string) string {
	if a.Prefix != "" {
		name = strings.TrimPrefix(name, a.Prefix+".")
	}
	switch {
	case strings.HasSuffix(name, "LayerNorm.gamma"):
		name = strings.TrimSuffix(name, "gamma") + "weight"
	case strings.HasSuffix(name, "LayerNorm.beta"):
		name = strings.TrimSuffix(name, "beta") + "bias"
	}
	return name
}

// fields reads typed config values with defaults.
type fields struct {
	raw Raw
	err error
	out map[string]string
}

func newFields(raw Raw) *fields { return &fields{raw: raw, out: map[string]string{}} }

func (f *fields) fail(key string, v json.RawMessage, want string) {
	if f.err == nil {
		f.err = fmt.Errorf("models: config.json field %q is %s, want %s", key, string(v), want)
	}
}

// int copies key (or its default) to the output under name.
func (f *fields) int(name, key string, dflt int64) int64 {
	v, ok := f.raw[key]
	if !ok || string(v) == "null" {
		f.out[name] = fmt.Sprint(dflt)
		return dflt
	}
	var n int64
	if err := json.Unmarshal(v, &n); err != nil {
		f.fail(key, v, "an integer")
		return 0
	}
	f.out[name] = fmt.Sprint(n)
	return n
}

func (f *fields) float(name, key string, dflt float64) {
	v, ok := f.raw[key]
	if !ok || string(v) == "null" {
		f.out[name] = fmt.Sprint(dflt)
		return
	}
	var x float64
	if err := json.Unmarshal(v, &x); err != nil {
		f.fail(key, v, "a number")
		return
	}
	f.out[name] = fmt.Sprint(x)
}

func (f *fields) str(name, key, dflt string) string {
	v, ok := f.raw[key]
	if !ok || string(v) == "null" {
		f.out[name] = dflt
		return dflt
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		f.fail(key, v, "a string")
		return ""
	}
	f.out[name] = s
	return s
}

func (f *fields) bool(name, key string, dflt bool) bool {
	v, ok := f.raw[key]
	b := dflt
	if ok && string(v) != "null" {
		if err := json.Unmarshal(v, &b); err != nil {
			f.fail(key, v, "true or false")
			return false
		}
	}
	f.out[name] = fmt.Sprint(b)
	return b
}

// labels is transformers' num_labels: len(id2label) when present, else
// num_labels, else 2.
func (f *fields) labels() {
	if v, ok := f.raw["id2label"]; ok && string(v) != "null" {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(v, &m); err != nil {
			f.fail("id2label", v, "an object")
			return
		}
		f.out["num_labels"] = fmt.Sprint(len(m))
		return
	}
	f.int("num_labels", "num_labels", 2)
}
