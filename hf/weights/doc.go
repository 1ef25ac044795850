// Package weights reads the tensor directory of a Hugging Face checkpoint —
// which tensors it holds, their dtypes and shapes, and the exact byte range
// of each in which file — without loading any tensor data. Another package
// memory-maps the files and makes tensors at the ranges reported here, so
// every range is checked first: the files are untrusted input (downloaded
// from anyone's repository), and a range outside a file, or two tensors
// claiming the same bytes, must be an error here rather than a fault later.
// The package is pure Go (it builds with CGO_ENABLED=0) and never panics on
// a malformed file. Memory use is bounded whatever a file claims: a
// safetensors header or shard index of at most 100,000,000 bytes, a pickle of
// at most 64 MiB building at most 4,194,304 values, nothing recursive.
//
// # Formats
//
// [Open] takes the first of these files in a folder, in the order
// transformers' from_pretrained prefers them:
//
//   - model.safetensors: a safetensors file ([ReadSafetensors]): an 8-byte
//     little-endian header length N, N bytes of JSON describing each tensor
//     (dtype, shape, data_offsets), then the data. The checks are those of
//     the Rust safetensors crate — a header of at most 100,000,000 bytes,
//     known dtypes, sizes that match shape × dtype without overflow,
//     tensors that tile the data section exactly — plus rejecting duplicate
//     JSON keys and unknown fields, which the crate lets through.
//   - model.safetensors.index.json: a sharded safetensors checkpoint: a
//     weight_map from tensor name to shard file. Shard names must be plain
//     file names in the folder (no "..", no separators); each shard is read
//     once; every tensor of the weight_map must be in the shard it names,
//     and no tensor may be in two shards.
//   - pytorch_model.bin: a torch.save zip (PyTorch 1.6 and later,
//     [ReadPytorchZip]).
//   - pytorch_model.bin.index.json: sharded pytorch_model-*.bin files,
//     checked as the safetensors index is.
//
// # Why the pickle reader is restricted
//
// A pytorch_model.bin holds a Python pickle, and unpickling can call any
// Python function the file names: loading a hostile .bin with torch.load
// (before weights_only=True became the default) runs its code. This
// package does not evaluate pickles. It interprets only the opcodes
// torch.save emits and accepts only the globals torch.save writes for a
// state dict — collections.OrderedDict, torch._utils._rebuild_tensor_v2,
// _rebuild_tensor_v3 and _rebuild_parameter, the torch storage classes
// (torch.FloatStorage, ..., torch.storage.UntypedStorage) and torch dtypes
// — and builds a description of each tensor instead of calling anything.
// Any other global (builtins.eval, os.system, ...) is refused with
// [ErrUnsupported], naming it, as is the legacy non-zip format; the error
// says how to convert the checkpoint to safetensors with PyTorch's own
// restricted loader. Storages must be stored uncompressed (torch.save
// writes them so) and tensors must be contiguous, so that each is one
// range of bytes in the file.
//
// # Errors
//
// Errors are [*Error] values naming the file and the fault, wrapping
// [ErrNotFound], [ErrInvalid] or [ErrUnsupported].
package weights
