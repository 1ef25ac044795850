package pipeline

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"path/filepath"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

// SentenceEmbedding is the sentence-embeddings pipeline: one vector per
// text, as sentence-transformers' SentenceTransformer.encode computes it
// (the transformer's last hidden states, pooled as 1_Pooling/config.json
// says, L2-normalised where modules.json has a Normalize module). It is safe
// for concurrent use.
//
// Make it with [NewSentenceEmbedding] (which loads a sentence-transformers
// folder or Hub repo) or [NewSentenceEmbeddingFrom] (which takes loaded
// parts). A struct literal with Tokenizer and Model set runs with mean
// pooling and no normalisation, as sentence-transformers treats a plain
// transformers model.
type SentenceEmbedding struct {
	// Tokenizer encodes the inputs.
	Tokenizer *tokenizer.Tokenizer
	// Model computes the token vectors.
	Model *hf.BaseModel
	// Config is the pooling, normalisation, truncation and prompts (nil:
	// mean pooling, as for a folder without modules.json).
	Config *SentenceConfig

	opts     Options
	borrowed bool
}

// DefaultSentenceEmbeddingModel is the model NewSentenceEmbedding loads
// when none is given (TEI's and sentence-transformers' usual first model).
const DefaultSentenceEmbeddingModel = "sentence-transformers/all-MiniLM-L6-v2"

// sentenceFiles are the sentence-transformers files fetched from the Hub
// besides the model's own.
var sentenceFiles = []string{"modules.json", "sentence_*_config.json", "config_sentence_transformers.json", "1_Pooling/config.json"}

// NewSentenceEmbedding loads a sentence-transformers model: opts' model is
// a folder or Hub repo with modules.json (Transformer → Pooling → optional
// Normalize); a plain transformers model gets mean pooling, as
// SentenceTransformer gives it (DefaultSentenceEmbeddingModel if none is
// given). WithMaxLength overrides max_seq_length.
func NewSentenceEmbedding(ctx context.Context, opts ...Option) (*SentenceEmbedding, error) {
	o, err := newOptions(append([]Option{WithModel(DefaultSentenceEmbeddingModel)}, opts...))
	if err != nil {
		return nil, err
	}
	dir, err := hf.ResolveModel(ctx, o.Model, append(hf.DefaultModelFiles(), sentenceFiles...), o.HF...)
	if err != nil {
		return nil, fmt.Errorf("pipeline: sentence-embeddings: %w", err)
	}
	cfg, err := LoadSentenceConfig(dir)
	if err != nil {
		return nil, err
	}
	tok, err := hf.AutoTokenizer.FromPretrained(ctx, cfg.ModelDir, o.HF...)
	if err != nil {
		return nil, fmt.Errorf("pipeline: sentence-embeddings: %w", err)
	}
	model, err := hf.AutoModel.FromPretrained(ctx, cfg.ModelDir, o.hfOptions()...)
	if err != nil {
		return nil, fmt.Errorf("pipeline: sentence-embeddings: %w", err)
	}
	p := &SentenceEmbedding{Tokenizer: tok, Model: model, Config: cfg, opts: *o}
	if _, err := p.callSettings(nil); err != nil {
		model.Close()
		return nil, err
	}
	return p, nil
}

// NewSentenceEmbeddingFrom makes a sentence-embeddings pipeline of a
// tokenizer and base model already loaded, and the folder's settings (nil:
// read them from the model's folder with [LoadSentenceConfig]). The caller
// keeps the model: the pipeline's Close leaves it open.
func NewSentenceEmbeddingFrom(tok *tokenizer.Tokenizer, model *hf.BaseModel, cfg *SentenceConfig, opts ...Option) (*SentenceEmbedding, error) {
	var m *hf.Model
	if model != nil {
		m = model.Model
	}
	o, err := partsOptions("sentence-embeddings", "NewSentenceEmbedding", tok, m, "hf.AutoModel", opts)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		if cfg, err = LoadSentenceConfig(filepath.Clean(m.Dir)); err != nil {
			return nil, err
		}
	}
	p := &SentenceEmbedding{Tokenizer: tok, Model: model, Config: cfg, opts: *o, borrowed: true}
	if _, err := p.callSettings(nil); err != nil {
		return nil, err
	}
	return p, nil
}

// Task returns "sentence-embeddings".
func (p *SentenceEmbedding) Task() string { return "sentence-embeddings" }

// Close frees the model, except for a pipeline made with
// NewSentenceEmbeddingFrom, whose caller closes the model.
func (p *SentenceEmbedding) Close() error {
	if p.borrowed || p.Model == nil {
		return nil
	}
	return p.Model.Close()
}

func (p *SentenceEmbedding) settings() *Options {
	if p.opts.BatchSize == 0 {
		return &literalOptions
	}
	return &p.opts
}

func (p *SentenceEmbedding) config() *SentenceConfig {
	if p.Config == nil {
		return DefaultSentenceConfig("")
	}
	return p.Config
}

func (p *SentenceEmbedding) check() error {
	const how = "make it with NewSentenceEmbedding, or NewSentenceEmbeddingFrom with parts from hf.AutoTokenizer and hf.AutoModel"
	switch {
	case p.Model == nil || p.Model.Model == nil:
		return errors.New("pipeline: sentence-embeddings has no Model: " + how)
	case p.Tokenizer == nil:
		return errors.New("pipeline: sentence-embeddings has no Tokenizer: " + how)
	}
	return nil
}

// maxLength is WithMaxLength, else max_seq_length, else the shorter of the
// tokenizer's and the model's limits (sentence-transformers' inference).
func (p *SentenceEmbedding) maxLength() int {
	o := p.settings()
	if o.MaxLength == 0 && p.config().MaxSeqLength > 0 {
		return p.config().MaxSeqLength
	}
	return o.maxLength(p.Tokenizer, p.Model.Model)
}

// SentenceEmbeddingSettings are sentence-embeddings' call keywords
// (SentenceTransformer.encode's).
type SentenceEmbeddingSettings struct {
	// Prompt is put before every text; PromptSet says it was given (an
	// empty prompt then overrides the model's default).
	Prompt    string
	PromptSet bool
	// PromptName names one of the model's prompts.
	PromptName string
	// NormalizeEmbeddings L2-normalises the embeddings after the model's
	// own modules.
	NormalizeEmbeddings bool
}

var sentenceEmbeddingTakes = []string{"prompt", "prompt_name", "normalize_embeddings"}

// Prompt puts prompt before every text (encode's prompt=); it wins over
// PromptName and the model's default prompt.
func Prompt(prompt string) CallOption {
	return callOption("prompt", func(s *SentenceEmbeddingSettings) { s.Prompt, s.PromptSet = prompt, true })
}

// PromptName puts the model's prompt of that name
// (config_sentence_transformers.json) before every text, as encode's
// prompt_name= does.
func PromptName(name string) CallOption {
	return callOption("prompt_name", func(s *SentenceEmbeddingSettings) { s.PromptName = name })
}

// NormalizeEmbeddings L2-normalises the embeddings after the model's own
// modules, as encode's normalize_embeddings=True (a Normalize module already
// does it).
func NormalizeEmbeddings(on bool) CallOption {
	return callOption("normalize_embeddings", func(s *SentenceEmbeddingSettings) { s.NormalizeEmbeddings = on })
}

// callSettings are the pipeline's defaults with opts applied.
func (p *SentenceEmbedding) callSettings(opts []CallOption) (SentenceEmbeddingSettings, error) {
	d := p.settings().Defaults
	return applyCall("sentence-embeddings", SentenceEmbeddingSettings{}, append(d[:len(d):len(d)], opts...), sentenceEmbeddingTakes)
}

// prompt resolves the call's prompt as encode does: an explicit prompt, else
// the named one, else the model's default.
func (p *SentenceEmbedding) prompt(c *SentenceEmbeddingSettings) (string, error) {
	cfg := p.config()
	switch {
	case c.PromptSet:
		return c.Prompt, nil
	case c.PromptName != "":
		s, ok := cfg.Prompts[c.PromptName]
		if !ok {
			return "", fmt.Errorf("pipeline: sentence-embeddings: prompt name %q is not among the model's prompts %v (config_sentence_transformers.json)", c.PromptName, sortedNames(cfg.Prompts))
		}
		return s, nil
	case cfg.DefaultPromptName != "":
		return cfg.Prompts[cfg.DefaultPromptName], nil
	}
	return "", nil
}

// Run returns one embedding per text, in input order. Texts are stripped of
// surrounding whitespace (and lowercased where the folder says
// do_lower_case), as sentence-transformers' Transformer module does. No
// texts gives no embeddings.
func (p *SentenceEmbedding) Run(ctx context.Context, texts []string, opts ...CallOption) ([][]float32, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	c, err := p.callSettings(opts)
	if err != nil {
		return nil, err
	}
	prompt, err := p.prompt(&c)
	if err != nil {
		return nil, err
	}
	cfg := p.config()
	skip := 0 // prompt tokens left out of the pooling (include_prompt false)
	if prompt != "" && !cfg.IncludePrompt {
		if skip, err = p.promptLength(ctx, prompt); err != nil {
			return nil, err
		}
	}
	in := make([]string, len(texts))
	for i, t := range texts {
		t = pyStrip(prompt + t)
		if cfg.DoLowerCase {
			t = pyLower(t)
		}
		in[i] = t
	}
	encs, err := Preprocess(ctx, p.Tokenizer, in, nil, p.maxLength())
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(encs))
	err = eachBatch(ctx, p.Tokenizer, encs, p.settings(), func(rows []int, b *tokenizer.Batch) error {
		hidden, err := p.Model.Forward(ctx, b)
		if err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		s := hidden.LastHiddenState.Shape()
		v, ferr := floats(hidden.LastHiddenState)
		hidden.Close()
		if ferr != nil {
			return ferr
		}
		if len(s) != 3 || s[0] != int64(b.Size) || s[1] != int64(b.SeqLen) {
			return fmt.Errorf("pipeline: last_hidden_state has shape %v, want [%d %d hidden]", s, b.Size, b.SeqLen)
		}
		h := int(s[2])
		for k, r := range rows {
			mask := b.AttentionMask[k*b.SeqLen : (k+1)*b.SeqLen]
			e := Pool(cfg.Pooling, v[k*b.SeqLen*h:(k+1)*b.SeqLen*h], mask, h, skip)
			if cfg.Normalize {
				NormalizeL2(e)
			}
			if c.NormalizeEmbeddings {
				NormalizeL2(e)
			}
			out[r] = e
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RunAny runs Run on a []string; the result is a [][]float32.
func (p *SentenceEmbedding) RunAny(ctx context.Context, inputs any, opts ...CallOption) (any, error) {
	texts, ok := inputs.([]string)
	if !ok {
		return nil, inputTypeError("sentence-embeddings", inputs, "[]string")
	}
	return p.Run(ctx, texts, opts...)
}

// Stream embeds the texts of seq as they come, a chunk of a few batches at
// a time, and yields each text's embedding in input order (or the error
// that stopped it, once): memory stays bounded by the chunk, whatever
// the length of seq. Breaking out of the loop stops reading seq.
func (p *SentenceEmbedding) Stream(ctx context.Context, seq iter.Seq[string], opts ...CallOption) iter.Seq2[[]float32, error] {
	return streamChunks(seq, streamChunk(p.settings()), func(texts []string) ([][]float32, error) {
		return p.Run(ctx, texts, opts...)
	})
}

// promptLength is the number of the prompt's tokens, its leading special
// tokens included and a trailing special token left out, as
// SentenceTransformer._get_prompt_length counts them.
func (p *SentenceEmbedding) promptLength(ctx context.Context, prompt string) (int, error) {
	prompt = pyStrip(prompt)
	if p.config().DoLowerCase {
		prompt = pyLower(prompt)
	}
	encs, err := Preprocess(ctx, p.Tokenizer, []string{prompt}, nil, p.maxLength())
	if err != nil {
		return 0, err
	}
	e := encs[0]
	n := len(e.IDs)
	if n > 0 && e.SpecialTokensMask[n-1] == 1 {
		n--
	}
	return n, nil
}

// Pool pools one row of token vectors (seq×h, row-major) whose real tokens
// are marked 1 in mask, as sentence-transformers' Pooling.forward does
// (float32 results; sums over tokens accumulated in float64): the modes' vectors concatenated in the order of [Pooling]'s
// fields. The first skip tokens are left out (a prompt, when the pooling
// excludes it).
func Pool(pool Pooling, hidden []float32, mask []int64, h, skip int) []float32 {
	seq := len(mask)
	on := func(j int) bool { return j >= skip && mask[j] != 0 }
	out := make([]float32, 0, pool.modes()*h)
	if pool.CLS {
		out = append(out, hidden[:h]...)
	}
	if pool.Max {
		for d := 0; d < h; d++ {
			m := float32(math.Inf(-1))
			for j := 0; j < seq; j++ {
				v := float32(-1e9) // masked positions, as Pooling sets them
				if on(j) {
					v = hidden[j*h+d]
				}
				if v > m || v != v {
					m = v
				}
			}
			out = append(out, m)
		}
	}
	// Sums over tokens are taken in float64 and rounded once: torch sums
	// float32 in a cascade whose order depends on the batch's shape and
	// the thread split, so no float32 order matches it in general; the
	// float64 sum leaves only torch's own (few-ulp) rounding as difference.
	var sum []float32
	var count float32
	if pool.Mean || pool.MeanSqrtLen {
		acc := make([]float64, h)
		for j := 0; j < seq; j++ {
			if on(j) {
				count++
				for d := 0; d < h; d++ {
					acc[d] += float64(hidden[j*h+d])
				}
			}
		}
		sum = make([]float32, h)
		for d := range sum {
			sum[d] = float32(acc[d])
		}
		count = max(count, 1e-9)
	}
	if pool.Mean {
		for d := 0; d < h; d++ {
			out = append(out, sum[d]/count)
		}
	}
	if pool.MeanSqrtLen {
		sq := float32(math.Sqrt(float64(count)))
		for d := 0; d < h; d++ {
			out = append(out, sum[d]/sq)
		}
	}
	if pool.WeightedMean {
		ws := make([]float64, h)
		var wsum float32
		for j := 0; j < seq; j++ {
			if on(j) {
				w := float32(j + 1)
				wsum += w
				for d := 0; d < h; d++ {
					ws[d] += float64(hidden[j*h+d] * w) // the product in float32, as torch's
				}
			}
		}
		wsum = max(wsum, 1e-9)
		for d := 0; d < h; d++ {
			out = append(out, float32(ws[d])/wsum)
		}
	}
	if pool.LastToken {
		last := -1
		for j := seq - 1; j >= 0; j-- {
			if on(j) {
				last = j
				break
			}
		}
		if last < 0 { // no real token: Pooling gathers a zeroed vector
			out = append(out, make([]float32, h)...)
		} else {
			out = append(out, hidden[last*h:(last+1)*h]...)
		}
	}
	return out
}

// NormalizeL2 scales v to unit Euclidean length in place, as
// torch.nn.functional.normalize(p=2) does (the norm is at least 1e-12).
func NormalizeL2(v []float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	n := max(float32(math.Sqrt(ss)), 1e-12)
	for i := range v {
		v[i] /= n
	}
}
