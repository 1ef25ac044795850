package hf

import "github.com/hfpipe/hfpipe/torch"

// WithDevice runs the model on d (torch.CPU, the default, or torch.CUDA(i)).
func WithDevice(d torch.Device) Option { return func(o *Options) { o.Device = d } }

// WithDType runs the model in dtype dt: torch.Float32 (the default), or
// torch.Float16 / torch.BFloat16 on CUDA.
func WithDType(dt torch.DType) Option { return func(o *Options) { o.DType = dt } }

// WithExporter sets how a missing TorchScript export is made (default:
// DefaultExporter, when it finds the export tool).
func WithExporter(e Exporter) Option { return func(o *Options) { o.Exporter = e } }

// WithoutAutoExport makes loaders fail with instructions instead of
// exporting a model folder that has weights but no TorchScript export.
func WithoutAutoExport() Option { return func(o *Options) { o.NoAutoExport = true } }

// WithoutTorchVersionCheck loads an export even when it was traced by
// another torch release than the running libtorch, which loaders otherwise
// refuse ([ErrTorchVersion]), as tch-rs refuses a libtorch of another
// version unless LIBTORCH_BYPASS_VERSION_CHECK is set. Whether such an
// export loads, and computes the same numbers, is then up to libtorch.
func WithoutTorchVersionCheck() Option { return func(o *Options) { o.NoTorchVersionCheck = true } }
