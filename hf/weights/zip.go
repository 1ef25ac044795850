package weights

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ReadPytorchZip reads the tensor directory of a pytorch_model.bin written
// by torch.save (PyTorch 1.6 and later: a zip holding <dir>/data.pkl, the
// pickled state dict, and <dir>/data/<key>, one uncompressed entry a
// storage). It returns the tensors sorted by name, with File the absolute
// path and Offset the absolute offset of each tensor's first byte inside
// the zip. Tensors that share a storage (tied weights) are all returned,
// with overlapping ranges.
//
// The pickle is run by a restricted unpickler that accepts only the opcodes
// and globals torch.save writes for a state dict; anything else, the legacy
// non-zip format, compressed storages, big-endian files, non-contiguous
// tensors and dtypes safetensors has no name for are refused with
// [ErrUnsupported] and advice on converting the file to safetensors. Every
// tensor's range is checked against its storage entry and the file.
func ReadPytorchZip(path string) ([]Tensor, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, ioError(path, "cannot make the path absolute", err)
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, ioError(abs, "cannot open the PyTorch checkpoint", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, ioError(abs, "cannot stat the PyTorch checkpoint", err)
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular(abs, st)
	}
	return readPytorchZip(abs, f, st.Size())
}

func readPytorchZip(file string, r io.ReaderAt, size int64) ([]Tensor, error) {
	if err := checkZipMagic(file, r, size); err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(r, size)
	if errors.Is(err, zip.ErrInsecurePath) {
		return nil, invalidf(file, "zip entry names reach outside the archive (absolute or with ..): torch.save never writes such names")
	}
	if err != nil {
		return nil, ioError(file, "not a readable zip archive (truncated or corrupt: download it again)", err)
	}
	entries := make(map[string]*zip.File, len(zr.File))
	for _, e := range zr.File {
		if _, dup := entries[e.Name]; dup {
			return nil, invalidf(file, "zip entry %q appears twice: the archive is corrupt or crafted", printable(e.Name))
		}
		entries[e.Name] = e
	}
	if len(zr.File) == 0 {
		return nil, invalidf(file, "empty zip archive: not a torch.save checkpoint")
	}
	// torch.save puts every entry under one folder, named after the file
	// when it was written ("archive", "pytorch_model", ...): take the first
	// entry's.
	first := zr.File[0].Name
	slash := strings.IndexByte(first, '/')
	if slash <= 0 {
		return nil, invalidf(file, "zip entry %q is not inside a folder: not a torch.save checkpoint", printable(first))
	}
	prefix := first[:slash+1]
	pklEntry := entries[prefix+"data.pkl"]
	if pklEntry == nil {
		return nil, invalidf(file, "no %sdata.pkl in the zip: not a torch.save checkpoint", printable(prefix))
	}
	if bo := entries[prefix+"byteorder"]; bo != nil {
		b, err := readEntry(bo, 16)
		if err != nil {
			return nil, ioError(file, "cannot read "+bo.Name, err)
		}
		if string(b) != "little" {
			return nil, unsupportedf(file, "the tensors are stored with byte order %q; only little-endian checkpoints can be mapped: re-save the checkpoint on a little-endian machine, or %s", printable(string(b)), convertAdvice(file))
		}
	}
	pkl, err := readEntry(pklEntry, maxPickleSize)
	if err != nil {
		return nil, ioError(file, "cannot read "+pklEntry.Name, err)
	}
	dict, storages, err := unpickle(pkl)
	if err != nil {
		var pf *pickleFault
		if errors.As(err, &pf) && pf.kind == ErrUnsupported {
			return nil, unsupportedf(file, "%s %v; %s", pklEntry.Name, err, convertAdvice(file))
		}
		return nil, invalidf(file, "%s %v: the file is truncated or corrupt, or not a torch.save state dict", pklEntry.Name, err)
	}

	// Where each storage's bytes lie.
	type span struct{ offset, size int64 }
	spans := make(map[string]span, len(storages))
	for key, s := range storages {
		name := prefix + "data/" + key
		e := entries[name]
		if e == nil {
			return nil, invalidf(file, "the pickle names storage %q but the zip has no entry %s: the file is truncated or corrupt", key, printable(name))
		}
		if e.Method != zip.Store {
			return nil, unsupportedf(file, "storage entry %s is compressed (zip method %d); torch.save stores tensors uncompressed, so they can be mapped in place: re-save it with torch.save, or %s", printable(name), e.Method, convertAdvice(file))
		}
		if e.CompressedSize64 != e.UncompressedSize64 || e.UncompressedSize64 > math.MaxInt64 {
			return nil, invalidf(file, "storage entry %s is stored but its sizes disagree (%d stored, %d uncompressed)", printable(name), e.CompressedSize64, e.UncompressedSize64)
		}
		n := int64(e.UncompressedSize64)
		off, err := e.DataOffset()
		if err != nil {
			return nil, ioError(file, "cannot read the local header of "+printable(name), err)
		}
		if off < 0 || off > size || n > size-off {
			return nil, invalidf(file, "storage entry %s ([%d, +%d)) runs past the end of the file (size %d): the file is truncated, download it again", printable(name), off, n, size)
		}
		if n != s.nbytes {
			return nil, invalidf(file, "storage entry %s holds %d bytes but the pickle says %s of %d elements (%d bytes)", printable(name), n, s.class, s.numel, s.nbytes)
		}
		spans[key] = span{off, n}
	}

	out := make([]Tensor, 0, len(dict.keys))
	for _, name := range dict.keys {
		t, ok := dict.vals[name].(*pyTensor)
		if !ok {
			return nil, unsupportedf(file, "entry %q of the state dict is %s, not a tensor; %s", printable(name), typeName(dict.vals[name]), convertAdvice(file))
		}
		sp := spans[t.storage.key]
		off, n, err := tensorRange(t)
		if err != nil {
			var ue unsupportedError
			if errors.As(err, &ue) {
				return nil, unsupportedf(file, "tensor %q %v; %s", printable(name), err, convertAdvice(file))
			}
			return nil, invalidf(file, "tensor %q %v", printable(name), err)
		}
		out = append(out, Tensor{Name: name, DType: t.dtype, Shape: t.size, File: file, Offset: sp.offset + off, Size: n})
	}
	slices.SortFunc(out, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// unsupportedError marks a tensor refused rather than malformed.
type unsupportedError struct{ msg string }

func (e unsupportedError) Error() string { return e.msg }

// tensorRange returns the byte range, relative to its storage, of a
// C-contiguous tensor, checking that it lies inside the storage.
func tensorRange(t *pyTensor) (offset, size int64, err error) {
	bitsPer := int64(t.dtype.Bits())
	if bitsPer == 0 || bitsPer%8 != 0 {
		return 0, 0, unsupportedError{fmt.Sprintf("has dtype %q, which cannot be mapped", t.dtype)}
	}
	item := bitsPer / 8
	n, ok := numel(t.size)
	if !ok || n > math.MaxInt64/item {
		return 0, 0, fmt.Errorf("size %v overflows", t.size)
	}
	if !contiguous(t.size, t.stride) {
		return 0, 0, unsupportedError{fmt.Sprintf("is not contiguous (size %v, stride %v): it cannot be mapped as it lies in the file", t.size, t.stride)}
	}
	storageElems := t.storage.nbytes / item
	if t.offset > storageElems || n > storageElems-t.offset {
		return 0, 0, fmt.Errorf("elements [%d, %d+%d) lie outside its storage %q of %d %s elements: the file is corrupt", t.offset, t.offset, n, t.storage.key, storageElems, t.dtype)
	}
	return t.offset * item, n * item, nil
}

// contiguous reports whether stride is the row-major stride of size, as
// torch's is_contiguous does: dimensions of size 1 may have any stride, and
// an empty tensor is contiguous.
func contiguous(size, stride []int64) bool {
	for _, d := range size {
		if d == 0 {
			return true
		}
	}
	expected := int64(1)
	for i := len(size) - 1; i >= 0; i-- {
		if size[i] == 1 {
			continue
		}
		if stride[i] != expected {
			return false
		}
		expected *= size[i] // cannot overflow: numel fits int64
	}
	return true
}

// checkZipMagic tells a zip from the legacy torch.save formats.
func checkZipMagic(file string, r io.ReaderAt, size int64) error {
	var head [512]byte
	n, _ := r.ReadAt(head[:min(size, int64(len(head)))], 0)
	b := head[:n]
	switch {
	case bytes.HasPrefix(b, []byte("PK\x03\x04")), bytes.HasPrefix(b, []byte("PK\x05\x06")):
		return nil
	case len(b) >= 2 && b[0] == 0x80 && b[1] <= 5:
		return unsupportedf(file, "legacy (PyTorch < 1.6, non-zip) torch.save format: a bare pickle, which this package does not read; %s", convertAdvice(file))
	case len(b) >= 262 && string(b[257:262]) == "ustar":
		return unsupportedf(file, "legacy (tar) torch.save format, which this package does not read; %s", convertAdvice(file))
	case size == 0:
		return invalidf(file, "empty file: download it again")
	}
	return invalidf(file, "not a zip archive (it starts with % x): not a PyTorch checkpoint, or a corrupt one", b[:min(len(b), 8)])
}

// readEntry reads a whole entry of at most limit bytes.
func readEntry(e *zip.File, limit int64) ([]byte, error) {
	if e.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%d bytes, more than the %d bytes accepted", e.UncompressedSize64, limit)
	}
	rc, err := e.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than the %d bytes accepted", limit)
	}
	return b, nil
}
