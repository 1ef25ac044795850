package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

// Aggregation is how token-classification merges token predictions into
// entities (transformers' aggregation_strategy).
type Aggregation int

// Aggregation strategies, as transformers' AggregationStrategy.
const (
	// AggregateNone returns one entity per token, with its label.
	AggregateNone Aggregation = iota
	// AggregateSimple groups adjacent tokens with the same entity type.
	AggregateSimple
	// AggregateFirst labels each word with its first token's label, then
	// groups words.
	AggregateFirst
	// AggregateAverage labels each word with its tokens' average scores,
	// then groups words.
	AggregateAverage
	// AggregateMax labels each word with its most confident token's label,
	// then groups words.
	AggregateMax
)

var aggregationNames = []string{"none", "simple", "first", "average", "max"}

// String returns transformers' name of the strategy ("simple").
func (a Aggregation) String() string {
	if a >= 0 && int(a) < len(aggregationNames) {
		return aggregationNames[a]
	}
	return fmt.Sprintf("Aggregation(%d)", int(a))
}

// ParseAggregation parses "none", "simple", "first", "average" or "max"
// (any case, as transformers upper-cases the name).
func ParseAggregation(s string) (Aggregation, error) {
	if i := slices.Index(aggregationNames, strings.ToLower(s)); i >= 0 {
		return Aggregation(i), nil
	}
	return 0, fmt.Errorf("pipeline: unknown aggregation_strategy %q (want none, simple, first, average or max)", s)
}

// NoStride is TokenClassificationSettings.Stride's default: texts longer
// than the model are truncated (transformers' stride=None).
const NoStride = -1

// TokenClassificationSettings are token-classification's call keywords,
// with transformers' defaults.
type TokenClassificationSettings struct {
	// AggregationStrategy merges tokens into entities (default AggregateNone).
	AggregationStrategy Aggregation
	// IgnoreLabels are the labels left out of the results; nil means
	// ["O"], an empty non-nil slice leaves nothing out.
	IgnoreLabels []string
	// Stride, when not NoStride, splits texts longer than the model into
	// chunks that overlap by Stride tokens, instead of truncating them.
	Stride int
}

func (s *TokenClassificationSettings) check() error {
	if s.AggregationStrategy < AggregateNone || s.AggregationStrategy > AggregateMax {
		return fmt.Errorf("unknown aggregation strategy %d", int(s.AggregationStrategy))
	}
	if s.Stride != NoStride {
		if s.Stride < 0 {
			return fmt.Errorf("stride must be at least 0, got %d", s.Stride)
		}
		if s.AggregationStrategy == AggregateNone {
			return fmt.Errorf(`stride was given to process all the text but aggregation_strategy is "none": choose simple, first, average or max`)
		}
	}
	return nil
}

var tokenClassificationTakes = []string{"aggregation_strategy", "ignore_labels", "stride"}

// AggregationStrategy sets how token-classification merges tokens into
// entities, as transformers' aggregation_strategy.
func AggregationStrategy(a Aggregation) CallOption {
	return callOption("aggregation_strategy", func(s *TokenClassificationSettings) { s.AggregationStrategy = a })
}

// IgnoreLabels sets the labels token-classification leaves out (["O"] by
// default; none with no arguments), as transformers' ignore_labels.
func IgnoreLabels(labels ...string) CallOption {
	labels = append([]string{}, labels...)
	return callOption("ignore_labels", func(s *TokenClassificationSettings) { s.IgnoreLabels = labels })
}

// Stride makes token-classification split texts longer than the model into
// chunks overlapping by n tokens (as transformers' stride), so that the
// whole text is labelled; it needs an aggregation strategy other than none.
func Stride(n int) CallOption {
	if n < 0 {
		return badOption("stride", fmt.Errorf("stride must be at least 0, got %d", n))
	}
	return callOption("stride", func(s *TokenClassificationSettings) { s.Stride = n })
}

// Entity is one result of token-classification: a token (AggregateNone:
// Entity and Index set) or a group of tokens (other strategies:
// EntityGroup set). Start and End are character (code point) positions in
// the text, as transformers' start and end; ByteStart and ByteEnd are the
// same span in bytes, so text[e.ByteStart:e.ByteEnd] is its source.
type Entity struct {
	Entity      string  `json:"entity,omitempty"`
	EntityGroup string  `json:"entity_group,omitempty"`
	Score       float64 `json:"score"`
	Index       int     `json:"index"`
	Word        string  `json:"word"`
	Start       int     `json:"start"`
	End         int     `json:"end"`
	ByteStart   int     `json:"byte_start"`
	ByteEnd     int     `json:"byte_end"`
}

// MarshalJSON writes the keys transformers returns: index for single
// tokens only.
func (e Entity) MarshalJSON() ([]byte, error) {
	type plain Entity
	if e.EntityGroup != "" {
		return json.Marshal(struct {
			EntityGroup string  `json:"entity_group"`
			Score       float64 `json:"score"`
			Word        string  `json:"word"`
			Start       int     `json:"start"`
			End         int     `json:"end"`
			ByteStart   int     `json:"byte_start"`
			ByteEnd     int     `json:"byte_end"`
		}{e.EntityGroup, e.Score, e.Word, e.Start, e.End, e.ByteStart, e.ByteEnd})
	}
	return json.Marshal(plain(e))
}

// TokenClassification is the token-classification (alias ner) pipeline.
// It is safe for concurrent use.
type TokenClassification struct {
	// Tokenizer encodes the inputs.
	Tokenizer *tokenizer.Tokenizer
	// Model computes the per-token logits.
	Model *hf.ModelForTokenClassification

	opts     Options
	defaults TokenClassificationSettings
	borrowed bool
}

// NewTokenClassification loads the tokenizer and token classifier of opts'
// model (WithModel is required: transformers' default NER model is not
// assumed).
func NewTokenClassification(ctx context.Context, opts ...Option) (*TokenClassification, error) {
	const task = "token-classification"
	if err := requireModel(task, opts); err != nil {
		return nil, err
	}
	o, tok, err := loadTokenizer(ctx, task, opts)
	if err != nil {
		return nil, err
	}
	model, err := hf.AutoModelForTokenClassification.FromPretrained(ctx, o.Model, o.hfOptions()...)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %s: %w", task, err)
	}
	p := &TokenClassification{Tokenizer: tok, Model: model, opts: *o}
	if p.defaults, err = applyCall(task, p.baseSettings(), o.Defaults, tokenClassificationTakes); err != nil {
		model.Close()
		return nil, err
	}
	return p, nil
}

// NewTokenClassificationFrom makes a token-classification pipeline of a
// tokenizer and a token classifier already loaded. The caller keeps the
// model: the pipeline's Close leaves it open.
func NewTokenClassificationFrom(tok *tokenizer.Tokenizer, model *hf.ModelForTokenClassification, opts ...Option) (*TokenClassification, error) {
	const task = "token-classification"
	var m *hf.Model
	if model != nil {
		m = model.Model
	}
	o, err := partsOptions(task, "NewTokenClassification", tok, m, "hf.AutoModelForTokenClassification", opts)
	if err != nil {
		return nil, err
	}
	p := &TokenClassification{Tokenizer: tok, Model: model, opts: *o, borrowed: true}
	if p.defaults, err = applyCall(task, p.baseSettings(), o.Defaults, tokenClassificationTakes); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *TokenClassification) baseSettings() TokenClassificationSettings {
	return TokenClassificationSettings{Stride: NoStride}
}

// requireModel refuses a task constructor without WithModel: transformers'
// default checkpoints for these tasks are not reachable offline, and
// picking one silently would surprise.
func requireModel(task string, opts []Option) error {
	var o Options
	for _, f := range opts {
		f(&o)
	}
	if o.Model == "" {
		return fmt.Errorf("pipeline: %s needs a model: pass WithModel(a Hub id or a local folder)", task)
	}
	return nil
}

// Task returns "token-classification".
func (p *TokenClassification) Task() string { return "token-classification" }

// Close frees the model, except for a pipeline made with
// NewTokenClassificationFrom.
func (p *TokenClassification) Close() error {
	if p.borrowed || p.Model == nil {
		return nil
	}
	return p.Model.Close()
}

func (p *TokenClassification) settings() *Options {
	if p.opts.BatchSize == 0 {
		return &literalOptions
	}
	return &p.opts
}

func (p *TokenClassification) check() error {
	const how = "make it with NewTokenClassification, or NewTokenClassificationFrom with parts from hf.AutoTokenizer and hf.AutoModelForTokenClassification"
	switch {
	case p.Model == nil || p.Model.Model == nil:
		return errors.New("pipeline: token-classification has no Model: " + how)
	case p.Tokenizer == nil:
		return errors.New("pipeline: token-classification has no Tokenizer: " + how)
	}
	return nil
}

// RunAny runs Run on a []string; the result is a [][]Entity.
func (p *TokenClassification) RunAny(ctx context.Context, inputs any, opts ...CallOption) (any, error) {
	texts, ok := inputs.([]string)
	if !ok {
		return nil, inputTypeError("token-classification", inputs, "[]string")
	}
	return p.Run(ctx, texts, opts...)
}

// tcChunk is one model input of a text: the whole text, or with a stride
// one of its overlapping chunks.
type tcChunk struct {
	text int
	enc  tokenizer.Encoding
}

// Run labels the tokens of each text and returns, per text, its entities
// in text order, as transformers' token-classification pipeline does.
// Call options: AggregationStrategy, IgnoreLabels, Stride.
func (p *TokenClassification) Run(ctx context.Context, texts []string, opts ...CallOption) ([][]Entity, error) {
	const task = "token-classification"
	if err := p.check(); err != nil {
		return nil, err
	}
	base := p.defaults
	if p.opts.BatchSize == 0 { // a struct literal: the constructor's defaults
		base = p.baseSettings()
	}
	s, err := applyCall(task, base, opts, tokenClassificationTakes)
	if err != nil {
		return nil, err
	}
	chunks, err := p.Preprocess(ctx, texts, s)
	if err != nil {
		return nil, err
	}
	encs := make([]tokenizer.Encoding, len(chunks))
	for i := range chunks {
		encs[i] = chunks[i].enc
	}
	logits := make([][]float32, len(chunks))
	numLabels := p.Model.Config.NumLabels()
	err = eachRowBatch(ctx, p.Tokenizer, encs, p.settings(), func(rows []int, b *tokenizer.Batch) error {
		out, err := p.Model.Forward(ctx, b)
		if err != nil {
			return fmt.Errorf("pipeline: %s: %w", task, err)
		}
		v, err := floats(out.Logits)
		out.Close()
		if err != nil {
			return err
		}
		if numLabels == 0 {
			numLabels = len(v) / (b.Size * b.SeqLen)
		}
		for k, r := range rows {
			n := len(encs[r].IDs)
			row := v[k*b.SeqLen*numLabels:]
			logits[r] = row[: n*numLabels : n*numLabels]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([][]Entity, len(texts))
	for i := range out {
		out[i] = []Entity{}
	}
	first := 0
	for first < len(chunks) {
		last := first
		for last < len(chunks) && chunks[last].text == chunks[first].text {
			last++
		}
		var ents []Entity
		for c := first; c < last; c++ {
			ents = append(ents, p.Postprocess(texts[chunks[c].text], chunks[c].enc, logits[c], numLabels, s)...)
		}
		if last-first > 1 {
			ents = aggregateOverlapping(ents)
		}
		if ents != nil {
			out[chunks[first].text] = ents
		}
		first = last
	}
	return out, nil
}

// Preprocess encodes each text as transformers' preprocess does: truncated
// to the tokenizer's model_max_length, or with a stride split into
// overlapping chunks padded to a common length.
func (p *TokenClassification) Preprocess(ctx context.Context, texts []string, s TokenClassificationSettings) ([]tcChunk, error) {
	maxLen := p.Tokenizer.ModelMaxLength()
	if s.Stride == NoStride {
		o := tokenizer.Options{Truncation: tokenizer.LongestFirst, MaxLength: min(maxLen, p.modelLimit())}
		b, err := p.Tokenizer.EncodeBatch(ctx, nonNil(texts), o)
		if err != nil {
			return nil, fmt.Errorf("pipeline: token-classification: preprocess: %w", err)
		}
		out := make([]tcChunk, len(texts))
		for i, e := range b.Encodings {
			out[i] = tcChunk{text: i, enc: e}
		}
		return out, nil
	}
	if s.Stride >= maxLen {
		return nil, fmt.Errorf("pipeline: token-classification: stride %d must be less than the tokenizer's model_max_length %d (or lower, as the tokenizer adds special tokens)", s.Stride, maxLen)
	}
	if lim := p.modelLimit(); lim < maxLen {
		return nil, fmt.Errorf("pipeline: token-classification: the tokenizer's model_max_length %d exceeds the model's %d positions, so chunks would not fit: fix tokenizer_config.json", maxLen, lim)
	}
	b, err := p.Tokenizer.EncodeBatch(ctx, nonNil(texts), tokenizer.Options{})
	if err != nil {
		return nil, fmt.Errorf("pipeline: token-classification: preprocess: %w", err)
	}
	var out []tcChunk
	for i, e := range b.Encodings {
		from, to := contentRange(e)
		added := len(e.IDs) - (to - from)
		parts, err := windows(to-from, maxLen-added, s.Stride)
		if err != nil {
			return nil, fmt.Errorf("pipeline: token-classification: text %d: %w", i, err)
		}
		longest := 0
		start := len(out)
		for _, w := range parts {
			c := spliceWindow(e, from, to, w[0], w[1])
			longest = max(longest, len(c.IDs))
			out = append(out, tcChunk{text: i, enc: c})
		}
		if len(parts) > 1 {
			for k := start; k < len(out); k++ {
				out[k].enc = padEncoding(p.Tokenizer, out[k].enc, longest)
			}
		}
	}
	return out, nil
}

// modelLimit is the model's maximum sequence length (the tokenizer's when
// the model states none).
func (p *TokenClassification) modelLimit() int {
	if m := p.Model.MaxLength(); m > 0 {
		return m
	}
	return p.Tokenizer.ModelMaxLength()
}

// preEntity is transformers' pre_entity: one token of the text.
type preEntity struct {
	word       string
	scores     []float32
	start, end int // characters
	bstart     int // bytes
	bend       int
	index      int
	isSubword  bool
}

// Postprocess turns the logits of one chunk of text ([tokens, numLabels])
// into its entities: softmax per token, then aggregation and the
// ignore_labels filter, as transformers' postprocess does.
func (p *TokenClassification) Postprocess(text string, enc tokenizer.Encoding, logits []float32, numLabels int, s TokenClassificationSettings) []Entity {
	pre := p.gatherPreEntities(text, enc, logits, numLabels)
	var ents []Entity
	if s.AggregationStrategy == AggregateNone || s.AggregationStrategy == AggregateSimple {
		for _, pe := range pre {
			k := argmax32(pe.scores)
			ents = append(ents, Entity{Entity: p.Model.Config.Label(k), Score: float64(pe.scores[k]), Index: pe.index,
				Word: pe.word, Start: pe.start, End: pe.end, ByteStart: pe.bstart, ByteEnd: pe.bend})
		}
	} else {
		ents = p.aggregateWords(pre, s.AggregationStrategy)
	}
	if s.AggregationStrategy != AggregateNone {
		ents = p.groupEntities(ents)
	}
	ignore := s.IgnoreLabels
	if ignore == nil {
		ignore = []string{"O"}
	}
	kept := ents[:0]
	for _, e := range ents {
		if e.EntityGroup == "" && slices.Contains(ignore, e.Entity) || e.EntityGroup != "" && slices.Contains(ignore, e.EntityGroup) {
			continue
		}
		kept = append(kept, e)
	}
	return kept
}

func (p *TokenClassification) gatherPreEntities(text string, enc tokenizer.Encoding, logits []float32, numLabels int) []preEntity {
	prefix := p.Tokenizer.ContinuingSubwordPrefix()
	unk := p.Tokenizer.Specials().UNK.ID
	var pre []preEntity
	for idx := range enc.IDs {
		if enc.SpecialTokensMask[idx] == 1 {
			continue
		}
		scores := make([]float32, numLabels)
		npSoftmax32(logits[idx*numLabels:(idx+1)*numLabels], scores)
		word, _ := p.Tokenizer.IDToToken(enc.IDs[idx])
		o, bo := enc.Offsets[idx], enc.ByteOffsets[idx]
		wordRef := text[bo.Start:bo.End]
		var isSubword bool
		if prefix != "" {
			isSubword = utf8.RuneCountInString(word) != utf8.RuneCountInString(wordRef)
		} else {
			// transformers' fallback: a token not after a space continues a word.
			isSubword = o.Start > 0 && !strings.Contains(aroundStart(text, bo.Start), " ")
		}
		if enc.IDs[idx] == unk {
			word, isSubword = wordRef, false
		}
		pre = append(pre, preEntity{word: word, scores: scores, start: o.Start, end: o.End, bstart: bo.Start, bend: bo.End,
			index: idx, isSubword: isSubword})
	}
	return pre
}

// aroundStart is the Python slice sentence[start-1:start+1] for a token
// starting at byte b > 0: the character before it and its first.
func aroundStart(text string, b int) string {
	_, prev := utf8.DecodeLastRuneInString(text[:b])
	end := b
	if b < len(text) {
		_, n := utf8.DecodeRuneInString(text[b:])
		end += n
	}
	return text[b-prev : end]
}

// aggregateWords merges the tokens of each word (a token and the subword
// tokens after it) into one entity, as transformers' aggregate_words.
func (p *TokenClassification) aggregateWords(pre []preEntity, agg Aggregation) []Entity {
	var out []Entity
	var group []preEntity
	for _, pe := range pre {
		if group != nil && !pe.isSubword {
			out = append(out, p.aggregateWord(group, agg))
			group = nil
		}
		group = append(group, pe)
	}
	if group != nil {
		out = append(out, p.aggregateWord(group, agg))
	}
	return out
}

func (p *TokenClassification) aggregateWord(group []preEntity, agg Aggregation) Entity {
	words := make([]string, len(group))
	for i, pe := range group {
		words[i] = pe.word
	}
	var scores []float32
	switch agg {
	case AggregateFirst:
		scores = group[0].scores
	case AggregateMax:
		best, bestMax := 0, float32(0)
		for i, pe := range group {
			if m := pe.scores[argmax32(pe.scores)]; i == 0 || m > bestMax {
				best, bestMax = i, m
			}
		}
		scores = group[best].scores
	case AggregateAverage:
		// np.nanmean(np.stack(scores), axis=0): a float32 sum row by row,
		// then the division by the count.
		sum := slices.Clone(group[0].scores)
		for _, pe := range group[1:] {
			for j, v := range pe.scores {
				sum[j] += v
			}
		}
		for j := range sum {
			sum[j] = npMeanDiv(sum[j], len(group))
		}
		scores = sum
	}
	k := argmax32(scores)
	first, last := group[0], group[len(group)-1]
	return Entity{Entity: p.Model.Config.Label(k), Score: float64(scores[k]), Word: p.Tokenizer.DecodeTokens(words),
		Start: first.start, End: last.end, ByteStart: first.bstart, ByteEnd: last.bend}
}

// entityTag splits a label into its B/I part and its type, as
// transformers' get_tag.
func entityTag(label string) (bi, tag string) {
	switch {
	case strings.HasPrefix(label, "B-"):
		return "B", label[2:]
	case strings.HasPrefix(label, "I-"):
		return "I", label[2:]
	}
	return "I", label
}

// groupEntities groups adjacent entities of the same type, as transformers'
// group_entities.
func (p *TokenClassification) groupEntities(ents []Entity) []Entity {
	var out, group []Entity
	for _, e := range ents {
		if len(group) > 0 {
			bi, tag := entityTag(e.Entity)
			_, lastTag := entityTag(group[len(group)-1].Entity)
			if tag != lastTag || bi == "B" {
				out = append(out, p.groupSubEntities(group))
				group = nil
			}
		}
		group = append(group, e)
	}
	if len(group) > 0 {
		out = append(out, p.groupSubEntities(group))
	}
	return out
}

func (p *TokenClassification) groupSubEntities(group []Entity) Entity {
	label := group[0].Entity
	if _, after, ok := strings.Cut(label, "-"); ok {
		label = after
	}
	scores := make([]float32, len(group))
	words := make([]string, len(group))
	for i, e := range group {
		scores[i] = float32(e.Score)
		words[i] = e.Word
	}
	first, last := group[0], group[len(group)-1]
	return Entity{EntityGroup: label, Score: float64(npMeanDiv(npSum32(scores), len(scores))),
		Word: p.Tokenizer.DecodeTokens(words), Start: first.Start, End: last.End, ByteStart: first.ByteStart, ByteEnd: last.ByteEnd}
}

// aggregateOverlapping merges the entities of a text's overlapping chunks,
// as transformers' aggregate_overlapping_entities: sorted by start, an
// entity starting inside the previous one replaces it when longer (or as
// long and more confident).
func aggregateOverlapping(ents []Entity) []Entity {
	if len(ents) == 0 {
		return ents
	}
	slices.SortStableFunc(ents, func(a, b Entity) int { return a.Start - b.Start })
	var out []Entity
	prev := ents[0]
	for _, e := range ents {
		if prev.Start <= e.Start && e.Start < prev.End {
			cur, prevLen := e.End-e.Start, prev.End-prev.Start
			if cur > prevLen || cur == prevLen && e.Score > prev.Score {
				prev = e
			}
		} else {
			out = append(out, prev)
			prev = e
		}
	}
	return append(out, prev)
}
