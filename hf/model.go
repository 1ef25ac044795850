package hf

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/torch"
)

// Model is a Hugging Face model loaded on a device with one head: run
// natively from its checkpoint's weights (the default for the model types
// in [NativeModelTypes]), or from a TorchScript export. The typed loaders
// (AutoModel, AutoModelForSequenceClassification, ...) wrap it; Model
// itself runs any head. It is safe for concurrent use.
type Model struct {
	// Config is the model's config.json.
	Config *Config
	// Export is the metadata of the loaded TorchScript file; nil for a
	// native model.
	Export *ExportInfo
	// Dir is the model folder.
	Dir string

	head   Head
	device torch.Device
	dtype  torch.DType
	module *torch.Module
	inputs []string // what forward reads, in order
	maxLen int      // longest sequence (0: unknown)
	attn   string   // native: the attention implementation
	source string   // what runs, for messages: the export file or "native <model_type>"
}

// Native reports whether the model runs natively from its checkpoint's
// weights (rather than from a TorchScript export).
func (m *Model) Native() bool { return m.Export == nil }

// Attention is the attention implementation a native model computes
// ("sdpa" or "eager", as transformers' attn_implementation); "" for an
// export.
func (m *Model) Attention() string { return m.attn }

// Fast reports the fast-mode kernels the model runs (WithFast);
// torch.FastOff is exact mode.
func (m *Model) Fast() torch.FastKernels { return m.module.Fast() }

// Source says what runs: "native distilbert (sdpa attention)" or
// "TorchScript export hfpipe-....pt".
func (m *Model) Source() string {
	if m.Native() {
		return fmt.Sprintf("%s (%s attention)", m.source, m.attn)
	}
	return m.source
}

// InputNames are the tensors a forward pass reads, in order.
func (m *Model) InputNames() []string { return slices.Clone(m.inputs) }

// ForwardTensors runs the model on raw input tensors, in the order of
// [Model.InputNames] (int64, [batch, seq]; [batch, choices, seq] for a
// multiple-choice head), and returns every output of the head: a tensor,
// or a torch.Tuple (base models with a pooler: last_hidden_state and
// pooler_output; question answering: start and end logits). The caller
// owns the result (torch.CloseValue).
func (m *Model) ForwardTensors(ctx context.Context, inputs ...torch.Value) (torch.Value, error) {
	out, err := m.module.Forward(ctx, inputs...)
	if err != nil {
		return nil, fmt.Errorf("hf: forward: %w", err)
	}
	return out, nil
}

// Device returns the device the model runs on.
func (m *Model) Device() torch.Device { return m.device }

// DType returns the dtype of the model's floating-point weights and outputs.
func (m *Model) DType() torch.DType { return m.dtype }

// Head returns which head the loaded export computes.
func (m *Model) Head() Head { return m.head }

// MaxLength is the longest sequence the model accepts (its position table).
func (m *Model) MaxLength() int { return m.maxLen }

// Stats returns the forward-pass counters of the model's module:
// how many passes ran, the time inside libtorch and the time in the binding's
// Forward around it.
func (m *Model) Stats() torch.ModuleStats { return m.module.Stats() }

// Close frees the model's libtorch memory. Safe to call more than once.
func (m *Model) Close() error {
	if m == nil {
		return nil
	}
	return m.module.Close()
}

// Run feeds a padded tokenizer batch to the export and returns its first
// output ([B, T, H] last_hidden_state, or [B, num_labels] logits) on the
// model's device. The caller owns the tensor.
func (m *Model) Run(ctx context.Context, b *tokenizer.Batch) (*torch.Tensor, error) {
	inputs, err := m.Inputs(b)
	if err != nil {
		return nil, err
	}
	defer torch.CloseValue(torch.Tuple(inputs))
	out, err := m.module.Forward(ctx, inputs...)
	if err != nil {
		return nil, fmt.Errorf("hf: forward: %w", err)
	}
	switch v := out.(type) {
	case *torch.Tensor:
		return v, nil
	case torch.Tuple:
		if len(v) > 0 {
			if t, ok := v[0].(*torch.Tensor); ok {
				for _, rest := range v[1:] {
					torch.CloseValue(rest)
				}
				return t, nil
			}
		}
	}
	torch.CloseValue(out)
	return nil, fmt.Errorf("hf: forward: %s returned %T, want a tensor or a tuple starting with one", m.source, out)
}

// Inputs checks a padded batch against the model and builds the export's
// input tensors from it, in the export's order, on the model's device. Run
// calls it first; it is exported so that its cost can be measured alone.
// The caller closes the tensors (torch.CloseValue(torch.Tuple(inputs))).
func (m *Model) Inputs(b *tokenizer.Batch) ([]torch.Value, error) {
	if b == nil || b.Size == 0 {
		return nil, errors.New("hf: forward: empty batch (nothing to run)")
	}
	if b.SeqLen == 0 {
		return nil, errors.New("hf: forward: the batch rows have different lengths: encode with padding (tokenizer.PadLongest) so the batch is rectangular")
	}
	if max := m.MaxLength(); max > 0 && b.SeqLen > max {
		return nil, fmt.Errorf("hf: forward: sequences of %d tokens exceed the model's %d positions: encode with truncation (tokenizer.LongestFirst)", b.SeqLen, max)
	}
	if want := b.Size * b.SeqLen; len(b.InputIDs) != want || len(b.AttentionMask) != want {
		return nil, fmt.Errorf("hf: forward: batch of %dx%d has %d ids and %d mask values", b.Size, b.SeqLen, len(b.InputIDs), len(b.AttentionMask))
	}
	inputs := make([]torch.Value, 0, len(m.inputs))
	for _, name := range m.inputs {
		var data []int64
		switch name {
		case "input_ids":
			data = b.InputIDs
		case "attention_mask":
			data = b.AttentionMask
		case "token_type_ids":
			data = b.TokenTypeIDs
			if len(data) != len(b.InputIDs) {
				data = make([]int64, len(b.InputIDs))
			}
		default:
			torch.CloseValue(torch.Tuple(inputs))
			return nil, fmt.Errorf("hf: forward: %s wants an input %q that tokenizer batches do not provide", m.source, name)
		}
		x, err := m.tensorOnDevice(data, int64(b.Size), int64(b.SeqLen))
		if err != nil {
			torch.CloseValue(torch.Tuple(inputs))
			return nil, fmt.Errorf("hf: forward: %s: %w", name, err)
		}
		inputs = append(inputs, x)
	}
	return inputs, nil
}

func (m *Model) tensorOnDevice(data []int64, rows, cols int64) (*torch.Tensor, error) {
	x, err := torch.FromSlice(data, rows, cols)
	if err != nil || !m.device.IsCUDA() {
		return x, err
	}
	defer x.Close()
	return x.To(m.device)
}

// LoadModel loads a model with any head from a local folder or a Hub repo
// id: natively from its weights where the architecture has native code
// ([NativeModelTypes]), else from its TorchScript export. The typed loaders
// (AutoModel, AutoModelForSequenceClassification) call it.
func LoadModel(ctx context.Context, idOrPath string, head Head, opts ...Option) (*Model, error) {
	return loadModel(ctx, idOrPath, head, opts)
}

// loadModel resolves idOrPath and loads head: natively from the weights
// when the architecture has native code (and no TorchScript was asked for),
// else from the folder's TorchScript export, made first when an exporter
// was given (WithAutoExport, WithExporter).
func loadModel(ctx context.Context, idOrPath string, head Head, opts []Option) (*Model, error) {
	o := NewOptions(opts...)
	device, dtype := o.Device, o.DType
	if !device.IsCUDA() {
		device = torch.CPU // the zero Device is the CPU too
	}
	if dtype == 0 {
		dtype = torch.Float32
	}
	switch dtype {
	case torch.Float32, torch.Float16, torch.BFloat16:
	default:
		return nil, fmt.Errorf("hf: dtype %s is not a model dtype (want float32, float16 or bfloat16)", dtype)
	}
	if err := torch.CheckDevice(device); err != nil {
		return nil, fmt.Errorf("hf: %w", err)
	}
	dir, err := ResolveModel(ctx, idOrPath, nil, opts...)
	if err != nil {
		return nil, err
	}
	if !hasWeights(dir) && dir != idOrPath {
		// A Hub repo without safetensors: fetch its PyTorch weights, as
		// transformers falls back to them (read by a restricted unpickler).
		if dir, err = ResolveModel(ctx, idOrPath, pytorchWeightFiles, opts...); err != nil {
			return nil, err
		}
	}
	cfg, err := LoadConfig(dir + "/config.json")
	if err != nil {
		return nil, err
	}
	if err := checkArchitecture(cfg, head); err != nil {
		return nil, err
	}
	arch, archErr := nativeArch(cfg)
	if o.Fast != torch.FastOff && (device.IsCUDA() || dtype != torch.Float32) {
		return nil, fmt.Errorf("hf: fast mode (WithFast) runs on the CPU in float32, not %s on %s: drop WithFast, or WithDevice/WithDType", dtype, device)
	}
	if !o.TorchScript && archErr == nil && hasWeights(dir) {
		module, err := loadNative(dir, cfg, arch, head, device, dtype, o.Attention, o.Fast)
		if err != nil {
			return nil, err
		}
		attn := o.Attention
		if attn == "" {
			attn = arch.Attention[0]
		}
		m := &Model{Config: cfg, Dir: dir, head: head, device: device, dtype: dtype, module: module,
			inputs: arch.Inputs, maxLen: nativeMaxLength(cfg), attn: attn, source: "native " + cfg.ModelType}
		if o.WarmUp {
			if err := m.warmUp(ctx); err != nil {
				module.Close()
				return nil, fmt.Errorf("hf: warming up %s (WithWarmUp): %w", dir, err)
			}
		}
		return m, nil
	}
	if o.Fast != torch.FastOff {
		why := "WithTorchScript was given"
		if archErr != nil {
			why = fmt.Sprintf("model_type %q has no native code", cfg.ModelType)
		} else if !hasWeights(dir) {
			why = "the folder has no weights to run natively"
		}
		return nil, fmt.Errorf("hf: fast mode (WithFast) applies to native models; %s would run from a TorchScript export (%s): drop WithFast", dir, why)
	}
	if o.Attention != "" {
		return nil, fmt.Errorf("hf: WithAttention(%q) applies to native models; %s runs from a TorchScript export, whose attention was fixed when it was traced", o.Attention, dir)
	}
	if dtype != torch.Float32 && !device.IsCUDA() {
		return nil, fmt.Errorf("hf: TorchScript exports run %s on CUDA only; use float32 on the CPU (native models run every dtype on the CPU)", dtype)
	}
	info, err := FindExport(dir, head, device, dtype)
	if errors.Is(err, ErrNoExport) && hasWeights(dir) {
		exp := o.Exporter
		if exp == nil && o.AutoExport {
			exp = DefaultExporter()
		}
		if exp != nil {
			if xerr := exp(ctx, dir, head, device, dtype); xerr != nil {
				return nil, fmt.Errorf("hf: exporting %s for %s: %w", dir, head, xerr)
			}
			info, err = FindExport(dir, head, device, dtype)
		}
	}
	if err != nil {
		if archErr != nil && errors.Is(err, ErrNoExport) {
			return nil, fmt.Errorf("%w\n%w", archErr, err)
		}
		return nil, err
	}
	if info.ModelType != "" && cfg.ModelType != "" && info.ModelType != cfg.ModelType {
		return nil, fmt.Errorf("hf: export %s was made from a %s model but config.json says %s: re-run the export", info.File, info.ModelType, cfg.ModelType)
	}
	if !o.NoTorchVersionCheck {
		if err := checkTorchVersion(info, torch.Version(), device, dtype); err != nil {
			return nil, err
		}
	}
	module, err := torch.Load(info.ModulePath(), device)
	if err != nil {
		return nil, fmt.Errorf("hf: loading %s: %w", info.File, err)
	}
	if a := info.ParameterAlignment; a != nil && !device.IsCUDA() {
		if _, err := module.AlignParameters(a.Offsets, a.Modulus); err != nil {
			module.Close()
			return nil, fmt.Errorf("hf: placing the weights of %s: %w", info.File, err)
		}
	}
	maxLen := info.MaxPositionEmbeddings
	if maxLen <= 0 {
		maxLen = cfg.MaxPositionEmbeddings
	}
	return &Model{Config: cfg, Export: info, Dir: dir, head: head, device: device, dtype: dtype, module: module,
		inputs: info.Inputs, maxLen: maxLen, source: "TorchScript export " + info.File}, nil
}

// warmUp runs a native model once on a two-token input (WithWarmUp,
// torch.Module.WarmUp).
func (m *Model) warmUp(ctx context.Context) error {
	shape := []int64{1, 2}
	if m.head == HeadMultipleChoice {
		shape = []int64{1, 1, 2} // [batch, choices, seq]
	}
	var vals []torch.Value
	defer func() { torch.CloseValue(torch.Tuple(vals)) }()
	for _, name := range m.inputs {
		data := []int64{0, 0} // token 0 and type 0 exist in every vocabulary
		if name == "attention_mask" {
			data = []int64{1, 1}
		}
		t, err := torch.FromSlice(data, shape...)
		if err != nil {
			return err
		}
		if m.device.IsCUDA() {
			c, err := t.To(m.device)
			t.Close()
			if err != nil {
				return err
			}
			t = c
		}
		vals = append(vals, t)
	}
	return m.module.WarmUp(ctx, vals...)
}

// pytorchWeightFiles are the files of PyTorch-format weights, single or
// sharded.
var pytorchWeightFiles = []string{"pytorch_model.bin", "pytorch_model.bin.index.json", "pytorch_model-*-of-*.bin"}

// nativeMaxLength is the longest sequence the position table covers:
// RoBERTa-style models number positions from pad_token_id+1, MPNet from 2
// (its embeddings' fixed padding_idx 1, plus one).
func nativeMaxLength(cfg *Config) int {
	n := cfg.MaxPositionEmbeddings
	switch cfg.ModelType {
	case "roberta", "xlm-roberta", "camembert":
		pad := 1
		if cfg.PadTokenID != nil {
			pad = *cfg.PadTokenID
		}
		n -= pad + 1
	case "mpnet":
		n -= 2
	}
	if n < 0 {
		return 0
	}
	return n
}

// checkArchitecture refuses a head the checkpoint does not have: transformers
// would silently add a randomly initialised one, which is never what a user
// running inference wants.
func checkArchitecture(cfg *Config, head Head) error {
	if head == HeadBase || len(cfg.Architectures) == 0 {
		return nil
	}
	suffix := map[Head]string{
		HeadSequenceClassification: "ForSequenceClassification",
		HeadTokenClassification:    "ForTokenClassification",
		HeadQuestionAnswering:      "ForQuestionAnswering",
		HeadMaskedLM:               "ForMaskedLM",
		HeadMultipleChoice:         "ForMultipleChoice",
		HeadCausalLM:               "ForCausalLM",
	}[head]
	if slices.ContainsFunc(cfg.Architectures, func(a string) bool { return strings.HasSuffix(a, suffix) }) {
		return nil
	}
	return fmt.Errorf("hf: %s: architectures %v have no %s head: this checkpoint was not trained for %s (use AutoModel for its hidden states, or pick a fine-tuned checkpoint)", cfg.Path, cfg.Architectures, suffix, head)
}

// BaseModelOutput is the output of AutoModel: the hidden states of the last
// layer, [batch, sequence, hidden] on the model's device.
type BaseModelOutput struct {
	LastHiddenState *torch.Tensor
}

// Close frees the output tensors.
func (o *BaseModelOutput) Close() error { return o.LastHiddenState.Close() }

// SequenceClassifierOutput is the output of
// AutoModelForSequenceClassification: logits [batch, num_labels].
type SequenceClassifierOutput struct {
	Logits *torch.Tensor
}

// Close frees the output tensors.
func (o *SequenceClassifierOutput) Close() error { return o.Logits.Close() }

// BaseModel is a model without a task head (transformers' AutoModel).
type BaseModel struct{ *Model }

// Forward returns the last hidden states for a padded batch.
func (m *BaseModel) Forward(ctx context.Context, b *tokenizer.Batch) (*BaseModelOutput, error) {
	t, err := m.Run(ctx, b)
	if err != nil {
		return nil, err
	}
	return &BaseModelOutput{LastHiddenState: t}, nil
}

// ModelForSequenceClassification is a model with a sequence classification
// head (transformers' AutoModelForSequenceClassification).
type ModelForSequenceClassification struct{ *Model }

// Forward returns the logits for a padded batch.
func (m *ModelForSequenceClassification) Forward(ctx context.Context, b *tokenizer.Batch) (*SequenceClassifierOutput, error) {
	t, err := m.Run(ctx, b)
	if err != nil {
		return nil, err
	}
	if s := t.Shape(); len(s) != 2 || (m.Config.NumLabels() > 0 && s[1] != int64(m.Config.NumLabels())) {
		t.Close()
		return nil, fmt.Errorf("hf: the export returned logits of shape %v but config.json has %d labels: the export and the config do not belong together", s, m.Config.NumLabels())
	}
	return &SequenceClassifierOutput{Logits: t}, nil
}

// AutoModelLoader loads base models; use the AutoModel value.
type AutoModelLoader struct{}

// AutoModel loads a model's base (hidden states) export, as transformers'
// AutoModel does: hf.AutoModel.FromPretrained(ctx, "distilbert-base-uncased").
var AutoModel AutoModelLoader

// FromPretrained loads the base export from a local folder or a Hub repo id.
// Options choose the device (WithDevice), dtype (WithDType) and the Hub.
func (AutoModelLoader) FromPretrained(ctx context.Context, idOrPath string, opts ...Option) (*BaseModel, error) {
	m, err := loadModel(ctx, idOrPath, HeadBase, opts)
	if err != nil {
		return nil, err
	}
	return &BaseModel{m}, nil
}

// AutoModelForSequenceClassificationLoader loads classifiers; use the
// AutoModelForSequenceClassification value.
type AutoModelForSequenceClassificationLoader struct{}

// AutoModelForSequenceClassification loads a classifier export, as
// transformers' class of that name does.
var AutoModelForSequenceClassification AutoModelForSequenceClassificationLoader

// FromPretrained loads the sequence-classification export from a local
// folder or a Hub repo id.
func (AutoModelForSequenceClassificationLoader) FromPretrained(ctx context.Context, idOrPath string, opts ...Option) (*ModelForSequenceClassification, error) {
	m, err := loadModel(ctx, idOrPath, HeadSequenceClassification, opts)
	if err != nil {
		return nil, err
	}
	return &ModelForSequenceClassification{m}, nil
}
