package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/torch"
)

// DefaultModel is the model the sentiment-analysis task uses when none is
// given, as in transformers.
const DefaultModel = "distilbert-base-uncased-finetuned-sst-2-english"

// AllLabels as TopK returns every label, best first (transformers' top_k=None).
const AllLabels = -1

// Function is the function text classification applies to the logits
// (transformers' function_to_apply).
type Function int

// Functions. FunctionAuto picks as transformers does: none for regression,
// sigmoid for multi-label or single-logit models, softmax otherwise.
const (
	FunctionAuto Function = iota
	FunctionSoftmax
	FunctionSigmoid
	FunctionNone
)

// String returns transformers' name for the function.
func (f Function) String() string {
	switch f {
	case FunctionSoftmax:
		return "softmax"
	case FunctionSigmoid:
		return "sigmoid"
	case FunctionNone:
		return "none"
	}
	return "auto"
}

// ParseFunction parses "softmax", "sigmoid", "none" or "auto".
func ParseFunction(s string) (Function, error) {
	for _, f := range []Function{FunctionAuto, FunctionSoftmax, FunctionSigmoid, FunctionNone} {
		if f.String() == s {
			return f, nil
		}
	}
	return 0, fmt.Errorf("pipeline: unknown function_to_apply %q (want softmax, sigmoid, none or auto)", s)
}

// Options configure a pipeline; set them with the With* functions.
type Options struct {
	// Model is a Hub repo id or a local model folder (DefaultModel if empty).
	Model string
	// Device is where the model runs (torch.CPU by default).
	Device torch.Device
	// DType is the model dtype: float32 (default), or float16 on CUDA.
	DType torch.DType
	// BatchSize is how many inputs go through the model at once (default 8).
	BatchSize int
	// TopK is how many labels each result keeps (default 1; AllLabels for all).
	TopK int
	// Function is applied to the logits (default FunctionAuto).
	Function Function
	// MaxLength truncates inputs to this many tokens, special tokens
	// included (default: the model's maximum, 512 for DistilBERT).
	MaxLength int
	// NoBucketing keeps batches in input order instead of grouping inputs
	// of similar length (results are in input order either way).
	NoBucketing bool
	// Fast loads the model in fast mode (hf.WithFast): faster on the CPU,
	// numbers slightly different from transformers'.
	Fast bool
	// HF are the loading options (Hub, revision, cache, exporter).
	HF []hf.Option
	// Defaults are call options applied before each call's own
	// (WithDefaults): the pipeline's per-call defaults.
	Defaults []CallOption
}

// Option sets one of the Options.
type Option func(*Options)

// WithModel sets the model: a Hub repo id or a local folder.
func WithModel(idOrPath string) Option { return func(o *Options) { o.Model = idOrPath } }

// WithDevice runs the model on d.
func WithDevice(d torch.Device) Option { return func(o *Options) { o.Device = d } }

// WithDType runs the model in dt (float16 needs CUDA).
func WithDType(dt torch.DType) Option { return func(o *Options) { o.DType = dt } }

// WithFast loads the model in fast mode (hf.WithFast): on the CPU, in
// float32, the feed-forward layers' matrix products in bfloat16 and the
// other layers' in float32, over weights packed once at load.
// Scores differ slightly from transformers' (exact mode, the default), and
// a label can flip where the top scores nearly tie. It needs a natively
// run model; for another fast-mode kernel set, pass
// WithHF(hf.WithFastKernels(...)).
func WithFast() Option { return func(o *Options) { o.Fast = true } }

// WithBatchSize sets how many inputs one forward pass takes.
func WithBatchSize(n int) Option { return func(o *Options) { o.BatchSize = n } }

// WithTopK keeps the k best labels per input (AllLabels: every label).
func WithTopK(k int) Option { return func(o *Options) { o.TopK = k } }

// WithFunction sets the function applied to the logits.
func WithFunction(f Function) Option { return func(o *Options) { o.Function = f } }

// WithMaxLength truncates inputs to n tokens.
func WithMaxLength(n int) Option { return func(o *Options) { o.MaxLength = n } }

// WithoutBucketing keeps batches in input order.
func WithoutBucketing() Option { return func(o *Options) { o.NoBucketing = true } }

// WithHF passes loading options (hf.WithRevision, hf.WithCacheDir, ...).
func WithHF(opts ...hf.Option) Option { return func(o *Options) { o.HF = append(o.HF, opts...) } }

// defaultOptions are the settings of a pipeline made without options, and
// of one built as a struct literal with only its Tokenizer and Model set.
func defaultOptions() Options { return Options{BatchSize: 8, TopK: 1, Device: torch.CPU} }

// literalOptions are the options of pipelines built as struct literals
// (read only).
var literalOptions = defaultOptions()

// newOptions applies opts to the defaults for a pipeline that loads its
// model, and checks them.
func newOptions(opts []Option) (*Options, error) {
	o, err := applyOptions(defaultOptions(), opts)
	if err != nil {
		return nil, err
	}
	if o.Model == "" {
		o.Model = DefaultModel
	}
	return o, nil
}

// applyOptions applies opts to base and checks the result.
func applyOptions(base Options, opts []Option) (*Options, error) {
	o := &base
	for _, f := range opts {
		f(o)
	}
	if o.BatchSize < 1 {
		return nil, fmt.Errorf("pipeline: batch size must be at least 1, got %d", o.BatchSize)
	}
	if o.TopK == 0 || o.TopK < AllLabels {
		return nil, fmt.Errorf("pipeline: top_k must be at least 1 or AllLabels, got %d", o.TopK)
	}
	if o.MaxLength < 0 {
		return nil, errors.New("pipeline: max length must not be negative")
	}
	return o, nil
}

// partsOptions applies and checks opts for a pipeline made of a tokenizer
// and a model that are already loaded. The loading options (WithModel,
// WithHF) have nothing to act on and are refused, as are a device or dtype
// other than the model's: the pipeline does not move or convert a model.
func partsOptions(task, ctor string, tok *tokenizer.Tokenizer, m *hf.Model, loader string, opts []Option) (*Options, error) {
	switch {
	case tok == nil:
		return nil, fmt.Errorf("pipeline: %s: the tokenizer is nil: load it with hf.AutoTokenizer.FromPretrained", task)
	case m == nil:
		return nil, fmt.Errorf("pipeline: %s: the model is nil: load it with %s.FromPretrained", task, loader)
	}
	base := defaultOptions()
	base.Device, base.DType = m.Device(), m.DType()
	o, err := applyOptions(base, opts)
	if err != nil {
		return nil, err
	}
	switch {
	case o.Model != "":
		return nil, fmt.Errorf("pipeline: %s: WithModel(%q) names a model to load, but %sFrom takes a loaded one: leave WithModel out, or use %s to load it", task, o.Model, ctor, ctor)
	case len(o.HF) > 0:
		return nil, fmt.Errorf("pipeline: %s: WithHF sets loading options, but %sFrom takes a loaded model: pass them to %s.FromPretrained and hf.AutoTokenizer.FromPretrained instead", task, ctor, loader)
	case !sameDevice(o.Device, m.Device()):
		return nil, fmt.Errorf("pipeline: %s: WithDevice(%s) but the model is loaded on %s: load it with hf.WithDevice(%s), or leave WithDevice out", task, o.Device, m.Device(), o.Device)
	case o.DType != m.DType():
		return nil, fmt.Errorf("pipeline: %s: WithDType(%s) but the model is loaded in %s: load it with hf.WithDType(%s), or leave WithDType out", task, o.DType, m.DType(), o.DType)
	case o.Fast && m.Fast() == torch.FastOff:
		return nil, fmt.Errorf("pipeline: %s: WithFast but the model is loaded in exact mode: load it with hf.WithFast(), or leave WithFast out", task)
	}
	return o, nil
}

// sameDevice reports whether a and b are the same device; "cuda" (index -1,
// the current device) is cuda:0, as torch.Load takes it.
func sameDevice(a, b torch.Device) bool {
	if a.Type != b.Type {
		return false
	}
	return !a.IsCUDA() || max(a.Index, 0) == max(b.Index, 0)
}

// loadTokenizer checks the options and loads the tokenizer, the first step
// of every task's constructor.
func loadTokenizer(ctx context.Context, task string, opts []Option) (*Options, *tokenizer.Tokenizer, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, nil, err
	}
	tok, err := hf.AutoTokenizer.FromPretrained(ctx, o.Model, o.HF...)
	if err != nil {
		return nil, nil, fmt.Errorf("pipeline: %s: %w", task, err)
	}
	return o, tok, nil
}

// maxLength is the truncation length: MaxLength if set, else the shorter
// of the tokenizer's and the model's limits.
func (o *Options) maxLength(tok *tokenizer.Tokenizer, m *hf.Model) int {
	if o.MaxLength > 0 {
		return o.MaxLength
	}
	return min(tok.ModelMaxLength(), m.MaxLength())
}

func (o *Options) hfOptions() []hf.Option {
	// A pipeline is made to be called: its model's first call should cost
	// what later ones do (hf.WithWarmUp).
	out := []hf.Option{hf.WithDevice(o.Device), hf.WithWarmUp()}
	if o.Fast {
		out = append(out, hf.WithFast()) // before o.HF: hf.WithFastKernels there wins
	}
	out = append(out, o.HF...)
	if o.DType != 0 {
		out = append(out, hf.WithDType(o.DType))
	}
	return out
}
