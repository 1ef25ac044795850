package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The fuzz tests feed arbitrary bytes to the readers: they must return a
// result or an *Error, never panic, and any result must satisfy the
// promises Tensor makes. `go test` runs the seeds; run a fuzzer with e.g.
//
//	go test -run '^$' -fuzz FuzzParseSafetensorsHeader -fuzztime 60s ./hf/weights

func seedFile(f *testing.F, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func FuzzParseSafetensorsHeader(f *testing.F) {
	seed := seedFile(f, "seed.safetensors")
	n := binary.LittleEndian.Uint64(seed)
	f.Add(seed[8:8+n], int64(len(seed))-8-int64(n))
	f.Add([]byte(`{}`), int64(0))
	f.Add([]byte(`{"__metadata__":{"a":"b"},"x":{"dtype":"F4","shape":[2,3],"data_offsets":[0,3]}}`), int64(3))
	f.Add([]byte(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[0],"data_offsets":[8,8]}}`), int64(8))
	f.Add([]byte(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`), int64(4))
	f.Fuzz(func(t *testing.T, header []byte, dataLen int64) {
		if dataLen < 0 {
			dataLen = -(dataLen + 1)
		}
		dataStart := 8 + int64(len(header))
		fileSize := dataStart + dataLen
		if fileSize < dataStart { // overflow
			return
		}
		tensors, _, err := ParseSafetensorsHeader("fuzz", header, dataStart, fileSize)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			return
		}
		checkTensors(t, tensors, fileSize)
		// The ranges tile the data section exactly.
		var total int64
		for _, tt := range tensors {
			total += tt.Size
			if tt.Offset < dataStart {
				t.Fatalf("%s starts at %d, inside the header", tt.Name, tt.Offset)
			}
		}
		if total != dataLen {
			t.Fatalf("tensors cover %d of %d data bytes", total, dataLen)
		}
		sorted := slices.Clone(tensors)
		slices.SortFunc(sorted, func(a, b Tensor) int {
			if a.Offset != b.Offset {
				return int(a.Offset - b.Offset)
			}
			return int(a.Size - b.Size)
		})
		for i := 1; i < len(sorted); i++ {
			if sorted[i].Offset < sorted[i-1].Offset+sorted[i-1].Size {
				t.Fatalf("%s and %s overlap", sorted[i-1].Name, sorted[i].Name)
			}
		}
	})
}

// checkTensors checks what every accepted file must satisfy: ranges inside
// the file, sizes equal to dtype × shape, names sorted and unique.
func checkTensors(t *testing.T, tensors []Tensor, fileSize int64) {
	t.Helper()
	for i, tt := range tensors {
		if tt.Offset < 0 || tt.Size < 0 || tt.Offset > fileSize || tt.Size > fileSize-tt.Offset {
			t.Fatalf("%s: range [%d, +%d) outside the file of %d bytes", tt.Name, tt.Offset, tt.Size, fileSize)
		}
		size, err := byteSize(tt.DType, tt.Shape)
		if err != nil || size != tt.Size {
			t.Fatalf("%s: %s %v is %d bytes (%v), but Size is %d", tt.Name, tt.DType, tt.Shape, size, err, tt.Size)
		}
		if i > 0 && tensors[i-1].Name >= tt.Name {
			t.Fatalf("names not sorted and unique: %q then %q", tensors[i-1].Name, tt.Name)
		}
	}
}

func FuzzReadPytorchZip(f *testing.F) {
	f.Add(seedFile(f, "seed.bin"))
	f.Add(torchZip(f, stateDictPickle(pkTensor{"w", "FloatStorage", "0", 6, 0, []int64{2, 3}, []int64{3, 1}}), map[string][]byte{"0": seq(24)}))
	f.Add(zipBytes(f, zipEntry{name: "a/data.pkl", data: seedPickle(f)}, zipEntry{name: "a/data/0", data: seq(64), compress: true}))
	f.Add([]byte{0x80, 0x02, '}', '.'})
	f.Fuzz(func(t *testing.T, data []byte) {
		// ReadPytorchZip is os.Open and Stat around readPytorchZip: fuzz
		// the latter on the bytes directly, many times faster than a file.
		tensors, err := readPytorchZip("fuzz.bin", bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			return
		}
		checkTensors(t, tensors, int64(len(data)))
	})
}

// seedPickle returns the data.pkl of seed.bin.
func seedPickle(f *testing.F) []byte {
	data := seedFile(f, "seed.bin")
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range zr.File {
		if filepath.Base(e.Name) == "data.pkl" {
			b, err := readEntry(e, maxPickleSize)
			if err != nil {
				f.Fatal(err)
			}
			return b
		}
	}
	f.Fatal("seed.bin has no data.pkl")
	return nil
}

// FuzzUnpickle runs fuzzed pickles as the data.pkl of a zip with a few
// storages (mutating a whole zip rarely gets past its CRCs to the pickle).
func FuzzUnpickle(f *testing.F) {
	f.Add(seedPickle(f))
	f.Add(stateDictPickle(pkTensor{"w", "FloatStorage", "0", 6, 0, []int64{2, 3}, []int64{3, 1}}))
	f.Add(stateDictPickle(pkTensor{"w", "HalfStorage", "1", 4, 1, []int64{3}, []int64{1}}))
	f.Add(new(pk).proto().global("os", "system").str("x").op(0x85, 'R').stop().Bytes())
	f.Add(new(pk).proto().op(']', 'q', 0, 'h', 0, 'a', '.').Bytes()) // a list holding itself
	storages := map[string][]byte{"0": seq(24), "1": seq(8), "2": seq(5), "3": seq(64)}
	f.Fuzz(func(t *testing.T, pkl []byte) {
		d, _, err := unpickle(pkl)
		if err != nil {
			return
		}
		if len(d.keys) != len(d.vals) {
			t.Fatalf("%d keys, %d values", len(d.keys), len(d.vals))
		}
		data := torchZip(t, pkl, storages)
		tensors, err := readPytorchZip("fuzz.bin", bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			return
		}
		checkTensors(t, tensors, int64(len(data)))
	})
}
