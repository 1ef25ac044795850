package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sort"
	"strings"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

// DefaultHypothesisTemplate is transformers' hypothesis_template default.
const DefaultHypothesisTemplate = "This example is {}."

// ZeroShotClassification is the zero-shot-classification pipeline: an NLI
// model (a sequence classifier trained on entailment) scores each text
// against hypotheses made from candidate labels chosen per call, as
// transformers' ZeroShotClassificationPipeline does. It is safe for
// concurrent use.
//
// Make it with [NewZeroShotClassification] or
// [NewZeroShotClassificationFrom]; a struct literal with Tokenizer and Model
// set runs with the constructor's defaults.
type ZeroShotClassification struct {
	// Tokenizer encodes the (text, hypothesis) pairs.
	Tokenizer *tokenizer.Tokenizer
	// Model is the NLI classifier.
	Model *hf.ModelForSequenceClassification

	opts     Options
	borrowed bool
}

// ZeroShotResult is one text's result: the candidate labels, best first,
// with their scores (transformers' {"sequence", "labels", "scores"}).
type ZeroShotResult struct {
	Sequence string    `json:"sequence"`
	Labels   []string  `json:"labels"`
	Scores   []float64 `json:"scores"`
}

// DefaultZeroShotModel is the model NewZeroShotClassification loads when
// none is given: a DistilBERT fine-tuned on MNLI, which runs natively
// (transformers' default, facebook/bart-large-mnli, is a BART, which has no
// native code here).
const DefaultZeroShotModel = "typeform/distilbert-base-uncased-mnli"

// NewZeroShotClassification loads the tokenizer and NLI classifier of opts'
// model (DefaultZeroShotModel if none is given).
func NewZeroShotClassification(ctx context.Context, opts ...Option) (*ZeroShotClassification, error) {
	o, tok, err := loadTokenizer(ctx, "zero-shot-classification", append([]Option{WithModel(DefaultZeroShotModel)}, opts...))
	if err != nil {
		return nil, err
	}
	model, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, o.Model, o.hfOptions()...)
	if err != nil {
		return nil, fmt.Errorf("pipeline: zero-shot-classification: %w", err)
	}
	p := &ZeroShotClassification{Tokenizer: tok, Model: model, opts: *o}
	if err := p.validate(); err != nil {
		model.Close()
		return nil, err
	}
	return p, nil
}

// NewZeroShotClassificationFrom makes a zero-shot pipeline of a tokenizer
// and an NLI classifier already loaded. The caller keeps the model: the
// pipeline's Close leaves it open.
func NewZeroShotClassificationFrom(tok *tokenizer.Tokenizer, model *hf.ModelForSequenceClassification, opts ...Option) (*ZeroShotClassification, error) {
	var m *hf.Model
	if model != nil {
		m = model.Model
	}
	o, err := partsOptions("zero-shot-classification", "NewZeroShotClassification", tok, m, "hf.AutoModelForSequenceClassification", opts)
	if err != nil {
		return nil, err
	}
	p := &ZeroShotClassification{Tokenizer: tok, Model: model, opts: *o, borrowed: true}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// validate checks what a constructor can: the label map and the default
// call options.
func (p *ZeroShotClassification) validate() error {
	if _, err := p.EntailmentID(); err != nil {
		return err
	}
	_, err := p.callSettings(nil)
	return err
}

// Task returns "zero-shot-classification".
func (p *ZeroShotClassification) Task() string { return "zero-shot-classification" }

// Close frees the model, except for a pipeline made with
// NewZeroShotClassificationFrom, whose caller closes the model.
func (p *ZeroShotClassification) Close() error {
	if p.borrowed || p.Model == nil {
		return nil
	}
	return p.Model.Close()
}

func (p *ZeroShotClassification) settings() *Options {
	if p.opts.BatchSize == 0 {
		return &literalOptions
	}
	return &p.opts
}

func (p *ZeroShotClassification) check() error {
	const how = "make it with NewZeroShotClassification, or NewZeroShotClassificationFrom with parts from hf.AutoTokenizer and hf.AutoModelForSequenceClassification"
	switch {
	case p.Model == nil || p.Model.Model == nil:
		return errors.New("pipeline: zero-shot-classification has no Model: " + how)
	case p.Tokenizer == nil:
		return errors.New("pipeline: zero-shot-classification has no Tokenizer: " + how)
	}
	return nil
}

// EntailmentID is the class index of the model's entailment label, found as
// transformers finds it: the first label of config.json's label2id, in file
// order, whose lowercase form starts with "entail"; -1 (the last logit, as
// Python indexes it) when none does, as for a config without labels.
// transformers fails on a config with id2label but no label2id; so does
// this, saying so.
func (p *ZeroShotClassification) EntailmentID() (int, error) {
	if err := p.check(); err != nil {
		return 0, err
	}
	cfg := p.Model.Config
	raw, ok := cfg.Raw("label2id")
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if _, has := cfg.Raw("id2label"); has {
			return 0, fmt.Errorf("pipeline: zero-shot-classification: %s has id2label but no label2id, and transformers finds the entailment label in label2id: add label2id to the config", cfg.Path)
		}
		return -1, nil // transformers' LABEL_0, LABEL_1, ...: no entailment label
	}
	keys, vals, err := orderedObject(raw)
	if err != nil {
		return 0, fmt.Errorf("pipeline: zero-shot-classification: %s: label2id: %w", cfg.Path, err)
	}
	for i, k := range keys {
		if strings.HasPrefix(strings.ToLower(k), "entail") {
			var id int
			if err := json.Unmarshal(vals[i], &id); err != nil {
				return 0, fmt.Errorf("pipeline: zero-shot-classification: %s: label2id[%q] is not a class index: %s", cfg.Path, k, vals[i])
			}
			if n := cfg.NumLabels(); id < -n || id >= n {
				return 0, fmt.Errorf("pipeline: zero-shot-classification: %s: label2id[%q] = %d, but the model has %d labels", cfg.Path, k, id, n)
			}
			return id, nil
		}
	}
	return -1, nil
}

// orderedObject returns a JSON object's keys and values in file order.
func orderedObject(raw json.RawMessage) ([]string, []json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, errors.New("want a JSON object")
	}
	var keys []string
	var vals []json.RawMessage
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		keys, vals = append(keys, k), append(vals, v)
	}
	return keys, vals, nil
}

// ZeroShotClassificationSettings are zero-shot-classification's call
// keywords, with transformers' defaults.
type ZeroShotClassificationSettings struct {
	// CandidateLabels are the labels to score each text against (no
	// default: a call without them is an error).
	CandidateLabels []string
	// HypothesisTemplate makes a hypothesis of each label (default
	// DefaultHypothesisTemplate).
	HypothesisTemplate string
	// MultiLabel scores each label on its own.
	MultiLabel bool
}

var zeroShotTakes = []string{"candidate_labels", "hypothesis_template", "multi_label"}

// CandidateLabels sets the labels zero-shot-classification scores each
// text against (transformers' candidate_labels; see ParseCandidateLabels
// for a comma-separated string).
func CandidateLabels(labels ...string) CallOption {
	labels = slices.Clone(labels)
	return callOption("candidate_labels", func(s *ZeroShotClassificationSettings) { s.CandidateLabels = labels })
}

// HypothesisTemplate sets the template each candidate label is put into;
// "{}" (or "{0}") marks the label's place, "{{" and "}}" are literal
// braces, as in Python's str.format (default DefaultHypothesisTemplate).
func HypothesisTemplate(t string) CallOption {
	if _, err := FormatHypothesis(t, "label"); err != nil {
		return badOption("hypothesis_template", err)
	}
	return callOption("hypothesis_template", func(s *ZeroShotClassificationSettings) { s.HypothesisTemplate = t })
}

// MultiLabel scores each label on its own (entailment against
// contradiction) instead of softmaxing entailment over the labels
// (transformers' multi_label).
func MultiLabel(on bool) CallOption {
	return callOption("multi_label", func(s *ZeroShotClassificationSettings) { s.MultiLabel = on })
}

// callSettings are the pipeline's defaults with opts applied.
func (p *ZeroShotClassification) callSettings(opts []CallOption) (ZeroShotClassificationSettings, error) {
	d := p.settings().Defaults
	return applyCall("zero-shot-classification", ZeroShotClassificationSettings{HypothesisTemplate: DefaultHypothesisTemplate}, append(d[:len(d):len(d)], opts...), zeroShotTakes)
}

// ParseCandidateLabels splits a comma-separated label list, trimming spaces
// and dropping empty entries, as transformers does with a string of labels.
func ParseCandidateLabels(s string) []string {
	var out []string
	for _, l := range strings.Split(s, ",") {
		if l = pyStrip(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// FormatHypothesis puts label into template as Python's
// template.format(label) does for "{}", "{0}", "{{" and "}}". Other
// replacement fields (names, format specs, a second "{}") are refused,
// as is a template without a place for the label.
func FormatHypothesis(template, label string) (string, error) {
	var b strings.Builder
	auto, manual := 0, false
	for i := 0; i < len(template); i++ {
		c := template[i]
		switch {
		case c == '{' && i+1 < len(template) && template[i+1] == '{':
			b.WriteByte('{')
			i++
		case c == '}' && i+1 < len(template) && template[i+1] == '}':
			b.WriteByte('}')
			i++
		case c == '{':
			end := strings.IndexByte(template[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("pipeline: hypothesis template %q: a '{' without its '}' (write '{{' for a brace)", template)
			}
			field := template[i+1 : i+end]
			switch {
			case field == "" && !manual && auto == 0:
				auto++
			case field == "0" && auto == 0:
				manual = true
			default:
				return "", fmt.Errorf("pipeline: hypothesis template %q: field {%s} is not supported: write {} once (or {0}) where the label goes", template, field)
			}
			b.WriteString(label)
			i += end
		case c == '}':
			return "", fmt.Errorf("pipeline: hypothesis template %q: a single '}' (write '}}' for a brace)", template)
		default:
			b.WriteByte(c)
		}
	}
	if auto == 0 && !manual {
		return "", fmt.Errorf("pipeline: the hypothesis template %q has no {} for the label: write e.g. %q", template, DefaultHypothesisTemplate)
	}
	return b.String(), nil
}

// Run classifies each text against candidateLabels and returns, per text,
// the labels best first with their scores, in input order. Every text is
// paired with every label's hypothesis, the text truncated to fit
// (only_first), as transformers does. No candidate labels is an error; no
// texts gives no results.
func (p *ZeroShotClassification) Run(ctx context.Context, texts []string, opts ...CallOption) ([]ZeroShotResult, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	c, err := p.callSettings(opts)
	if err != nil {
		return nil, err
	}
	candidateLabels := c.CandidateLabels
	if len(candidateLabels) == 0 {
		return nil, errors.New("pipeline: zero-shot-classification: no candidate labels: give at least one, e.g. pipeline.CandidateLabels(\"positive\", \"negative\")")
	}
	entail, err := p.EntailmentID()
	if err != nil {
		return nil, err
	}
	hyps := make([]string, len(candidateLabels))
	for j, l := range candidateLabels {
		if hyps[j], err = FormatHypothesis(c.HypothesisTemplate, l); err != nil {
			return nil, err
		}
	}
	n := len(candidateLabels)
	pairs := make([]tokenizer.Pair, 0, len(texts)*n)
	for i, t := range texts {
		if t == "" {
			return nil, fmt.Errorf("pipeline: zero-shot-classification: text %d is empty: there is nothing to classify (transformers refuses it too)", i)
		}
		for _, h := range hyps {
			pairs = append(pairs, tokenizer.Pair{A: t, B: h})
		}
	}
	maxLen := p.settings().maxLength(p.Tokenizer, p.Model.Model)
	b, err := p.Tokenizer.EncodePairBatch(ctx, pairs, tokenizer.Options{Truncation: tokenizer.OnlyFirst, MaxLength: maxLen})
	if errors.Is(err, tokenizer.ErrTruncation) {
		return nil, fmt.Errorf("pipeline: zero-shot-classification: a hypothesis does not fit in %d tokens with its text (only the text is truncated): shorten the template or the labels (%w)", maxLen, err)
	}
	if err != nil {
		return nil, fmt.Errorf("pipeline: zero-shot-classification: %w", err)
	}
	numLabels := p.Model.Config.NumLabels()
	logits := make([]float32, len(pairs)*numLabels)
	err = eachBatch(ctx, p.Tokenizer, b.Encodings, p.settings(), func(rows []int, batch *tokenizer.Batch) error {
		out, err := p.Model.Forward(ctx, batch)
		if err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		v, err := floats(out.Logits)
		out.Close()
		if err != nil {
			return err
		}
		for k, r := range rows {
			copy(logits[r*numLabels:(r+1)*numLabels], v[k*numLabels:(k+1)*numLabels])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res := make([]ZeroShotResult, len(texts))
	for i, t := range texts {
		res[i] = ZeroShotScores(t, candidateLabels, logits[i*n*numLabels:(i+1)*n*numLabels], numLabels, entail, c.MultiLabel)
	}
	return res, nil
}

// RunAny runs Run on a []string; the result is a []ZeroShotResult.
func (p *ZeroShotClassification) RunAny(ctx context.Context, inputs any, opts ...CallOption) (any, error) {
	texts, ok := inputs.([]string)
	if !ok {
		return nil, inputTypeError("zero-shot-classification", inputs, "[]string")
	}
	return p.Run(ctx, texts, opts...)
}

// Stream classifies the texts of seq as they come, with the same call
// options for all, a chunk at a time, yielding results in input order (or
// the error that stopped it, once); memory stays bounded by the chunk.
func (p *ZeroShotClassification) Stream(ctx context.Context, seq iter.Seq[string], opts ...CallOption) iter.Seq2[ZeroShotResult, error] {
	labels := 1
	if c, err := p.callSettings(opts); err == nil {
		labels = max(len(c.CandidateLabels), 1)
	}
	chunk := max(streamChunk(p.settings())/labels, 1)
	return streamChunks(seq, chunk, func(texts []string) ([]ZeroShotResult, error) {
		return p.Run(ctx, texts, opts...)
	})
}

// ZeroShotScores is transformers' zero-shot postprocess for one text:
// logits are [len(labels), numLabels] row-major; entail is the entailment
// class (-1: the last). With multiLabel, or a single label, each label's
// score is the softmax of (contradiction, entailment) logits; otherwise the
// softmax of the entailment logits over the labels. Computed in float32 as
// numpy does (numpy's exp, without subtracting the maximum, and its summation
// order), labels sorted by score, best first; equal scores keep numpy's
// reversed ascending argsort order (the later label first).
func ZeroShotScores(sequence string, labels []string, logits []float32, numLabels, entail int, multiLabel bool) ZeroShotResult {
	n := len(labels)
	at := func(j, c int) float32 {
		if c < 0 {
			c += numLabels
		}
		return logits[j*numLabels+c]
	}
	scores := make([]float32, n)
	if multiLabel || n == 1 {
		contra := 0
		if entail == 0 {
			contra = -1
		}
		for j := range scores {
			ec, ee := npExp32(at(j, contra)), npExp32(at(j, entail))
			scores[j] = ee / npSum32([]float32{ec, ee})
		}
	} else {
		e := make([]float32, n)
		for j := range e {
			e[j] = npExp32(at(j, entail))
		}
		sum := npSum32(e)
		for j := range scores {
			scores[j] = e[j] / sum
		}
	}
	order := make([]int, n)
	for j := range order {
		order[j] = j
	}
	// numpy's argsort puts NaN last; reversed, NaN comes first.
	less := func(a, b float32) bool { return a < b || (b != b && a == a) }
	sort.SliceStable(order, func(a, b int) bool { return less(scores[order[a]], scores[order[b]]) })
	r := ZeroShotResult{Sequence: sequence, Labels: make([]string, n), Scores: make([]float64, n)}
	for k := range order {
		j := order[n-1-k]
		r.Labels[k], r.Scores[k] = labels[j], float64(scores[j])
	}
	return r
}
