package hf

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/hfpipe/hfpipe/hf/models"
	"github.com/hfpipe/hfpipe/hf/weights"
	"github.com/hfpipe/hfpipe/torch"
)

// ErrNoNativeArchitecture is returned (wrapped) when a model's config.json
// names a model_type hfpipe cannot run natively.
var ErrNoNativeArchitecture = errors.New("hf: no native architecture for this model type")

// NativeModelTypes lists the config.json model_type values that run
// natively (without a TorchScript export).
func NativeModelTypes() []string { return models.ModelTypes() }

// torchDTypes maps checkpoint element types onto libtorch's.
var torchDTypes = map[weights.DType]torch.DType{
	weights.F32: torch.Float32, weights.F16: torch.Float16, weights.BF16: torch.BFloat16, weights.F64: torch.Float64,
	weights.I64: torch.Int64, weights.I32: torch.Int32, weights.I16: torch.Int16, weights.I8: torch.Int8,
	weights.U8: torch.Uint8, weights.BOOL: torch.Bool, weights.U16: torch.Uint16, weights.U32: torch.Uint32,
	weights.U64: torch.Uint64, weights.C64: torch.Complex64, weights.F8E5M2: torch.Float8E5M2,
	weights.F8E4M3: torch.Float8E4M3FN, weights.F8E8M0: torch.Float8E8M0,
}

// nativeArch returns the native architecture of a config, or an error
// wrapping ErrNoNativeArchitecture that lists the supported types.
func nativeArch(cfg *Config) (*models.Arch, error) {
	a, ok := models.Lookup(cfg.ModelType)
	if !ok {
		return nil, fmt.Errorf("%w: %s has model_type %q; native model types are %s (other models need a TorchScript export: hf.WithTorchScript)",
			ErrNoNativeArchitecture, cfg.Path, cfg.ModelType, strings.Join(models.ModelTypes(), ", "))
	}
	return a, nil
}

// loadNative builds the native model of head from the checkpoint in dir:
// its tensors are memory-mapped and used in place (cast and moved only
// where dtype or device differ), as transformers' from_pretrained uses them.
func loadNative(dir string, cfg *Config, arch *models.Arch, head Head, device torch.Device, dtype torch.DType, attn string, fast torch.FastKernels) (*torch.Module, error) {
	kv, err := arch.Config(cfg.raw, string(head), attn)
	if err != nil {
		return nil, fmt.Errorf("hf: %s: %w", cfg.Path, err)
	}
	ck, err := weights.Open(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("hf: %s has no weights (model.safetensors, its sharded index, or pytorch_model.bin): %w", dir, err)
		}
		return nil, fmt.Errorf("hf: reading the weights of %s: %w", dir, err)
	}
	maps := map[string]*torch.Mapping{}
	defer func() {
		for _, m := range maps {
			m.Close() // the tensors keep what they use mapped
		}
	}()
	tensors := make(map[string]*torch.Tensor, len(ck.Tensors))
	defer func() {
		for _, t := range tensors {
			t.Close() // the module holds its own references
		}
	}()
	for _, t := range ck.Tensors {
		name := arch.WeightName(t.Name)
		if _, dup := tensors[name]; dup {
			continue // the prefixed and unprefixed names of one tensor: the first wins
		}
		dt, ok := torchDTypes[t.DType]
		if !ok {
			if strings.HasSuffix(t.Name, "weight") || strings.HasSuffix(t.Name, "bias") {
				return nil, fmt.Errorf("hf: %s: tensor %s has dtype %s, which libtorch cannot hold", t.File, t.Name, t.DType)
			}
			continue
		}
		m := maps[t.File]
		if m == nil {
			if m, err = torch.MapFile(t.File); err != nil {
				return nil, fmt.Errorf("hf: mapping %s: %w", t.File, err)
			}
			maps[t.File] = m
		}
		x, err := m.Tensor(t.Offset, t.Size, dt, t.Shape...)
		if err != nil {
			return nil, fmt.Errorf("hf: %s: tensor %s: %w", t.File, t.Name, err)
		}
		tensors[name] = x
	}
	// The pooler is part of the base model when the checkpoint has it.
	if _, ok := tensors["pooler.dense.weight"]; ok {
		kv["pooler"] = "true"
	}
	module, err := torch.LoadNative(arch.Native, kv, tensors, device, dtype, torch.WithFastKernels(fast))
	if err != nil {
		return nil, fmt.Errorf("hf: building the native %s model of %s for %s: %w", cfg.ModelType, dir, head, err)
	}
	return module, nil
}
