package hf

import "github.com/hfpipe/hfpipe/torch"

// WithDevice runs the model on d (torch.CPU, the default, or torch.CUDA(i)).
func WithDevice(d torch.Device) Option { return func(o *Options) { o.Device = d } }

// WithDType runs the model in dtype dt: torch.Float32 (the default), or
// torch.Float16 / torch.BFloat16 on CUDA.
func WithDType(dt torch.DType) Option { return func(o *Options) { o.DType = dt } }

// WithExporter sets how a missing TorchScript export is made when the
// model runs from an export (WithTorchScript, or a model type without
// native code); giving one turns exporting on.
func WithExporter(e Exporter) Option { return func(o *Options) { o.Exporter = e } }

// WithAutoExport makes loaders that need a TorchScript export and find none
// make it with [DefaultExporter] (Python and the pinned transformers, from
// the hfpipe checkout this binary was built from or $HFPIPE_PYTHON and
// $HFPIPE_EXPORT_SCRIPT). Off by default: native models need no export.
func WithAutoExport() Option { return func(o *Options) { o.AutoExport = true } }

// WithoutAutoExport turns WithAutoExport off again (exporting is off by
// default).
func WithoutAutoExport() Option {
	return func(o *Options) { o.AutoExport = false; o.NoAutoExport = true }
}

// WithTorchScript runs the model from its TorchScript export (hfpipe-*.pt in
// the folder) even when its architecture runs natively.
func WithTorchScript() Option { return func(o *Options) { o.TorchScript = true } }

// WithAttention picks a native model's attention implementation: "sdpa"
// (torch's scaled_dot_product_attention, transformers' default where it
// offers it) or "eager" (matmul, softmax, matmul), as transformers'
// attn_implementation does. Outputs are bitwise those of transformers run
// with the same choice.
func WithAttention(impl string) Option { return func(o *Options) { o.Attention = impl } }

// WithoutTorchVersionCheck loads an export even when it was traced by
// another torch release than the running libtorch, which loaders otherwise
// refuse ([ErrTorchVersion]), as tch-rs refuses a libtorch of another
// version unless LIBTORCH_BYPASS_VERSION_CHECK is set. Whether such an
// export loads, and computes the same numbers, is then up to libtorch.
func WithoutTorchVersionCheck() Option { return func(o *Options) { o.NoTorchVersionCheck = true } }

// WithFast loads a native model in fast mode: on the CPU, in float32, the
// feed-forward layers multiply in bfloat16 and the other linear layers in
// float32, over weights converted and packed for oneDNN once at load
// (torch.FastBFloat16FFN), while embeddings, layer norm, softmax, attention
// and activations stay float32. Fast mode changes the numbers slightly for
// a lot of speed (most on CPUs with AVX512-BF16 or AMX): outputs are no longer bitwise those of transformers, and labels can
// differ from exact mode's on inputs whose top scores nearly tie. Exact mode
// (without WithFast) is the default. WithFast needs a native model on the
// CPU in float32: loading a TorchScript export, a CUDA device or another
// dtype with it is an error.
func WithFast() Option { return func(o *Options) { o.Fast = torch.FastKernelSets()[0] } }

// WithFastKernels is WithFast with a chosen kernel set:
// torch.FastBFloat16FFN (WithFast's), torch.FastBFloat16 (bfloat16 in every
// linear layer: 1.15-1.25x as fast on an AMD EPYC at 1 and 8 texts of 16
// tokens, twice the score error: on the trained demo classifier 99.80% of
// 2,000 labels equal to exact mode's, against 99.90%), torch.FastInt8 (int8 dynamic quantisation: further from
// exact mode) or torch.FastFloat32Packed (float32 over packed weights:
// closest to exact mode, least speed). torch.FastOff is exact mode.
func WithFastKernels(k torch.FastKernels) Option { return func(o *Options) { o.Fast = k } }

// WithWarmUp runs a native model once on a two-token input before the
// load returns, so that its first real call costs what later ones do (the
// first pass pays the weights' page faults, the kernels' set-up and the
// forward thread's start: on the CPU it took twice as long as the second
// for a 66M-parameter model). The pass is not counted in the model's
// Stats. Loading is that pass slower; the pipeline constructors ask for it.
func WithWarmUp() Option { return func(o *Options) { o.WarmUp = true } }
