package weights

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Tensor says where one tensor's bytes lie: Size bytes at Offset in File,
// holding a C-contiguous (row-major), little-endian array of DType elements
// of the given Shape. Every field has been checked against the file: the
// range lies inside it, and Size is exactly what DType and Shape need.
type Tensor struct {
	// Name is the tensor's name in the checkpoint ("bert.pooler.dense.weight").
	Name string
	// DType is the element type.
	DType DType
	// Shape is the size of each dimension; empty for a scalar.
	Shape []int64
	// File is the absolute path of the file holding the bytes.
	File string
	// Offset is the absolute offset of the first byte in File.
	Offset int64
	// Size is the number of bytes.
	Size int64
}

// Checkpoint is the tensor directory of a Hugging Face checkpoint folder:
// what tensors it holds, and where their bytes lie.
type Checkpoint struct {
	// Dir is the absolute path of the folder.
	Dir string
	// Format is "safetensors" or "pytorch".
	Format string
	// Index is the absolute path of the shard index
	// (model.safetensors.index.json or pytorch_model.bin.index.json), or ""
	// when the checkpoint is a single file.
	Index string
	// Files are the absolute paths of the files holding tensors, in the
	// order they were read (shards in name order).
	Files []string
	// Tensors are all tensors, sorted by Name; names are unique.
	Tensors []Tensor
	// Metadata is the __metadata__ of the (first) safetensors file, or nil.
	Metadata map[string]string
}

// The file names Open looks for, in the order transformers'
// from_pretrained prefers them.
const (
	SafetensorsName      = "model.safetensors"
	SafetensorsIndexName = "model.safetensors.index.json"
	PytorchName          = "pytorch_model.bin"
	PytorchIndexName     = "pytorch_model.bin.index.json"
)

// Open reads the tensor directory of the checkpoint in dir, taking the first
// of these files that exists, in transformers' order: model.safetensors,
// model.safetensors.index.json (sharded safetensors), pytorch_model.bin,
// pytorch_model.bin.index.json (sharded pytorch). Files are read as
// untrusted input: see [ReadSafetensors], [ReadPytorchZip] and the package
// documentation for the checks. When none exists the error wraps
// [ErrNotFound] and fs.ErrNotExist and lists what was looked for.
func Open(dir string) (*Checkpoint, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, ioError(dir, "cannot make the path absolute", err)
	}
	candidates := []string{SafetensorsName, SafetensorsIndexName, PytorchName, PytorchIndexName}
	for _, name := range candidates {
		path := filepath.Join(abs, name)
		st, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, ioError(path, "cannot stat the checkpoint file", err)
		}
		if !st.Mode().IsRegular() {
			return nil, notRegular(path, st)
		}
		c := &Checkpoint{Dir: abs}
		switch name {
		case SafetensorsName:
			c.Format = "safetensors"
			c.Files = []string{path}
			c.Tensors, c.Metadata, err = ReadSafetensors(path)
		case PytorchName:
			c.Format = "pytorch"
			c.Files = []string{path}
			c.Tensors, err = ReadPytorchZip(path)
		case SafetensorsIndexName:
			c.Format = "safetensors"
			c.Index = path
			err = c.readSharded(func(p string) ([]Tensor, map[string]string, error) { return ReadSafetensors(p) })
		case PytorchIndexName:
			c.Format = "pytorch"
			c.Index = path
			err = c.readSharded(func(p string) ([]Tensor, map[string]string, error) {
				t, err := ReadPytorchZip(p)
				return t, nil, err
			})
		}
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, &Error{Kind: ErrNotFound, File: abs,
		Msg: "no checkpoint: looked for " + strings.Join(candidates, ", ") +
			"; download the model's weights into this folder, or save them there with save_pretrained",
		Err: fs.ErrNotExist}
}

// Lookup returns the tensor called name, and whether there is one.
func (c *Checkpoint) Lookup(name string) (Tensor, bool) {
	i, ok := slices.BinarySearchFunc(c.Tensors, name, func(t Tensor, name string) int { return strings.Compare(t.Name, name) })
	if !ok {
		return Tensor{}, false
	}
	return c.Tensors[i], true
}
