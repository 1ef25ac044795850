package weights_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/hfpipe/hfpipe/hf/weights"
)

// Open a checkpoint folder and find where a tensor's bytes lie; a caller
// then maps Size bytes at Offset of File.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// A model.safetensors by hand: the header length, the JSON header, the
	// data (a 2×2 F32 weight and a 2-element bias).
	header := `{"__metadata__":{"format":"pt"},` +
		`"dense.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},` +
		`"dense.bias":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}`
	file := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	file = append(file, header...)
	file = append(file, make([]byte, 24)...)
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), file, 0o644); err != nil {
		log.Fatal(err)
	}

	ckpt, err := weights.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ckpt.Format, ckpt.Metadata["format"])
	for _, t := range ckpt.Tensors {
		fmt.Printf("%s %s %v: %d bytes at %d of %s\n", t.Name, t.DType, t.Shape, t.Size, t.Offset, filepath.Base(t.File))
	}
	w, _ := ckpt.Lookup("dense.weight")
	fmt.Println(w.DType.Bits(), "bits an element")

	// A folder with no checkpoint.
	_, err = weights.Open(filepath.Join(dir, "missing"))
	fmt.Println(errors.Is(err, weights.ErrNotFound))
	// Output:
	// safetensors pt
	// dense.bias F32 [2]: 8 bytes at 187 of model.safetensors
	// dense.weight F32 [2 2]: 16 bytes at 171 of model.safetensors
	// 32 bits an element
	// true
}
