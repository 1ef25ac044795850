package weights

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// MaxHeaderSize is the largest safetensors header accepted, in bytes: the
// limit of the Rust safetensors crate.
const MaxHeaderSize = 100_000_000

// ReadSafetensors reads the header of the safetensors file at path and
// returns its tensors, sorted by name, with File set to the file's absolute
// path and Offset to the absolute offset of each tensor's first byte, and
// the header's __metadata__ (nil when absent). Only the header is read; the
// file size is taken from the file system. The checks are those of
// [ParseSafetensorsHeader].
func ReadSafetensors(path string) ([]Tensor, map[string]string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, ioError(path, "cannot make the path absolute", err)
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, nil, ioError(abs, "cannot open the safetensors file", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, ioError(abs, "cannot stat the safetensors file", err)
	}
	if !st.Mode().IsRegular() {
		return nil, nil, notRegular(abs, st)
	}
	size := st.Size()
	if size < 8 {
		return nil, nil, invalidf(abs, "file is %d bytes, too short for a safetensors header (8-byte length, then JSON): the file is truncated or empty, download it again", size)
	}
	var lenBuf [8]byte
	if _, err := io.ReadFull(f, lenBuf[:]); err != nil {
		return nil, nil, ioError(abs, "cannot read the header length", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeaderSize {
		return nil, nil, invalidf(abs, "absurd header size %d (the limit is %d bytes): not a safetensors file, or a corrupt one", n, MaxHeaderSize)
	}
	if n > uint64(size-8) {
		return nil, nil, invalidf(abs, "header length %d past the end of the file (size %d): the file is truncated or not a safetensors file, download it again", n, size)
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(f, header); err != nil {
		return nil, nil, ioError(abs, "cannot read the header", err)
	}
	return ParseSafetensorsHeader(abs, header, 8+int64(n), size)
}

// stEntry is one tensor of a safetensors header, as written.
type stEntry struct {
	name       string
	dtype      DType
	shape      []int64
	begin, end int64
	size       int64 // bytes the dtype and shape need
}

// ParseSafetensorsHeader checks the JSON header of a safetensors file whose
// data section starts at byte dataStart (8 + len(header) in a real file) of
// a file of fileSize bytes, and returns its tensors sorted by name, with File
// set to name and Offset to dataStart plus the tensor's begin offset, and
// the __metadata__ map (nil when absent). It does no I/O; name is only used
// in errors and as File.
//
// The checks are those of the Rust safetensors crate, plus a few more: the
// header is a UTF-8 JSON object without duplicate keys; __metadata__ maps
// strings to strings; every other key is a tensor whose entry has exactly
// the fields dtype (a known [DType]), shape (non-negative integers) and
// data_offsets ([begin, end], begin <= end); the shape times the element
// size is exactly end - begin bytes (without overflow, and a whole number of
// bytes for sub-byte dtypes); and the tensors' byte ranges, sorted, tile the
// data section exactly: no overlap, no hole, nothing past the end of the
// file and nothing after the last tensor.
func ParseSafetensorsHeader(name string, header []byte, dataStart, fileSize int64) ([]Tensor, map[string]string, error) {
	if dataStart < 0 || fileSize < dataStart {
		return nil, nil, invalidf(name, "header ends at byte %d, past the end of the file (size %d): the file is truncated, download it again", dataStart, fileSize)
	}
	dataSize := fileSize - dataStart
	entries, meta, err := parseHeaderJSON(header)
	if err != nil {
		return nil, nil, invalidf(name, "safetensors header: %v: the file is corrupt or not a safetensors file, download or save it again", err)
	}
	if err := checkEntries(entries, dataSize); err != nil {
		return nil, nil, invalidf(name, "%v (data section of %d bytes at byte %d, file size %d)", err, dataSize, dataStart, fileSize)
	}
	out := make([]Tensor, len(entries))
	for i, e := range entries {
		out[i] = Tensor{Name: e.name, DType: e.dtype, Shape: e.shape, File: name, Offset: dataStart + e.begin, Size: e.end - e.begin}
	}
	slices.SortFunc(out, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	return out, meta, nil
}

// parseHeaderJSON walks the header: an object whose keys are tensor names,
// and possibly __metadata__.
func parseHeaderJSON(header []byte) ([]stEntry, map[string]string, error) {
	w, err := newJSONWalker(header)
	if err != nil {
		return nil, nil, err
	}
	var entries []stEntry
	var meta map[string]string
	_, err = w.object("the header", false, func(key string) error {
		if key == "__metadata__" {
			m := make(map[string]string)
			present, err := w.object("__metadata__", true, func(k string) error {
				v, err := w.str(fmt.Sprintf("__metadata__[%q]", k))
				m[k] = v
				return err
			})
			if present {
				meta = m
			}
			return err
		}
		e, err := parseEntry(w, key)
		entries = append(entries, e)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if err := w.end(); err != nil {
		return nil, nil, err
	}
	return entries, meta, nil
}

// parseEntry reads {"dtype": ..., "shape": [...], "data_offsets": [b, e]}
// and checks it on its own.
func parseEntry(w *jsonWalker, name string) (stEntry, error) {
	e := stEntry{name: name}
	what := fmt.Sprintf("tensor %q", name)
	var hasDType, hasShape, hasOffsets bool
	_, err := w.object(what, false, func(field string) error {
		switch field {
		case "dtype":
			hasDType = true
			s, err := w.str(what + " dtype")
			if err != nil {
				return err
			}
			e.dtype = DType(s)
			if !e.dtype.Known() {
				return fmt.Errorf("tensor %q has the unknown dtype %q (known: the safetensors dtypes, F32, BF16, I64, ...)", name, s)
			}
		case "shape":
			hasShape = true
			e.shape = []int64{}
			return w.array(what+" shape", func(i int) error {
				d, err := w.count(fmt.Sprintf("tensor %q shape dimension %d", name, i))
				e.shape = append(e.shape, d)
				return err
			})
		case "data_offsets":
			hasOffsets = true
			var offs []int64
			err := w.array(what+" data_offsets", func(i int) error {
				if i >= 2 {
					return fmt.Errorf("tensor %q data_offsets has more than 2 elements, want [begin, end]", name)
				}
				d, err := w.count(fmt.Sprintf("tensor %q data_offsets[%d]", name, i))
				offs = append(offs, d)
				return err
			})
			if err != nil {
				return err
			}
			if len(offs) != 2 {
				return fmt.Errorf("tensor %q data_offsets has %d elements, want [begin, end]", name, len(offs))
			}
			e.begin, e.end = offs[0], offs[1]
		default:
			return fmt.Errorf("tensor %q has the unknown field %q (want exactly dtype, shape and data_offsets)", name, field)
		}
		return nil
	})
	if err != nil {
		return e, err
	}
	switch {
	case !hasDType:
		return e, fmt.Errorf("tensor %q has no dtype", name)
	case !hasShape:
		return e, fmt.Errorf("tensor %q has no shape", name)
	case !hasOffsets:
		return e, fmt.Errorf("tensor %q has no data_offsets", name)
	}
	if e.begin > e.end {
		return e, fmt.Errorf("tensor %q data_offsets [%d, %d] end before they begin", name, e.begin, e.end)
	}
	size, err := byteSize(e.dtype, e.shape)
	if err != nil {
		return e, fmt.Errorf("tensor %q: %v", name, err)
	}
	e.size = size
	if size != e.end-e.begin {
		return e, fmt.Errorf("tensor %q: shape %v of %s needs %d bytes, but data_offsets [%d, %d] span %d", name, e.shape, e.dtype, size, e.begin, e.end, e.end-e.begin)
	}
	return e, nil
}

// byteSize returns the bytes a tensor of dtype d and this shape takes,
// multiplying in order with overflow checks (as the Rust crate does), and
// failing for sub-byte dtypes whose bits do not make whole bytes.
func byteSize(d DType, shape []int64) (int64, error) {
	n, ok := numel(shape)
	if !ok {
		return 0, fmt.Errorf("shape %v overflows: its element count does not fit 63 bits", shape)
	}
	hi, nbits := bits.Mul64(uint64(n), uint64(d.Bits()))
	if hi != 0 || nbits > 1<<63-1 {
		return 0, fmt.Errorf("shape %v of %s overflows: its size in bits does not fit 63 bits", shape, d)
	}
	if nbits%8 != 0 {
		return 0, fmt.Errorf("shape %v of %s is %d bits, not a whole number of bytes", shape, d, nbits)
	}
	return int64(nbits / 8), nil
}

// numel multiplies the dimensions in order, reporting overflow past int64
// (or a negative dimension) as !ok.
func numel(shape []int64) (int64, bool) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(uint64(n), uint64(d))
		if hi != 0 || lo > 1<<63-1 {
			return 0, false
		}
		n = int64(lo)
	}
	return n, true
}

// checkEntries checks that the byte ranges, sorted by (begin, end), tile
// [0, dataSize) exactly.
func checkEntries(entries []stEntry, dataSize int64) error {
	sorted := slices.Clone(entries)
	slices.SortStableFunc(sorted, func(a, b stEntry) int {
		if a.begin != b.begin {
			return cmp.Compare(a.begin, b.begin)
		}
		if a.end != b.end {
			return cmp.Compare(a.end, b.end)
		}
		return strings.Compare(a.name, b.name)
	})
	var next int64 // where the next tensor must begin
	prev := ""
	for _, e := range sorted {
		switch {
		case e.begin < next:
			return fmt.Errorf("tensors %q (data_offsets up to %d) and %q (data_offsets [%d, %d]) overlap: the header is corrupt", prev, next, e.name, e.begin, e.end)
		case e.end > dataSize && e.begin == next:
			return fmt.Errorf("the file is truncated: tensor %q needs data bytes [%d, %d) but the data section ends at %d; download the file again", e.name, e.begin, e.end, dataSize)
		case e.end > dataSize:
			return fmt.Errorf("tensor %q data_offsets [%d, %d] lie past the end of the data section: the header is corrupt", e.name, e.begin, e.end)
		case e.begin > next:
			after := "the start of the data section"
			if prev != "" {
				after = fmt.Sprintf("tensor %q", prev)
			}
			return fmt.Errorf("hole in the data section: bytes [%d, %d) between %s and tensor %q belong to no tensor: the header is corrupt", next, e.begin, after, e.name)
		}
		next, prev = e.end, e.name
	}
	if next != dataSize {
		return fmt.Errorf("%d bytes of trailing data after the last tensor (the tensors end at data byte %d): the header does not describe the whole file", dataSize-next, next)
	}
	return nil
}
