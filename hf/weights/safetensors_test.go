package weights

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

func TestReadSafetensors(t *testing.T) {
	dir := t.TempDir()
	// Two tensors written out of order, a scalar, an empty tensor, metadata,
	// and the space padding safetensors writers add.
	header := `{"b":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]},` +
		`"__metadata__":{"format":"pt"},` +
		`"a":{"dtype":"I64","shape":[],"data_offsets":[0,8]},` +
		`"e":{"dtype":"BF16","shape":[0,7],"data_offsets":[32,32]},` +
		`"f4":{"dtype":"F4","shape":[2,3],"data_offsets":[32,35]}}    `
	path := writeFile(t, dir, "m.safetensors", stBytes(header, 35))
	tensors, meta, err := ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	start := int64(8 + len(header))
	want := []Tensor{
		{Name: "a", DType: I64, Shape: []int64{}, File: path, Offset: start, Size: 8},
		{Name: "b", DType: F32, Shape: []int64{2, 3}, File: path, Offset: start + 8, Size: 24},
		{Name: "e", DType: BF16, Shape: []int64{0, 7}, File: path, Offset: start + 32, Size: 0},
		{Name: "f4", DType: F4, Shape: []int64{2, 3}, File: path, Offset: start + 32, Size: 3},
	}
	if !reflect.DeepEqual(tensors, want) {
		t.Errorf("tensors\n got %+v\nwant %+v", tensors, want)
	}
	if !reflect.DeepEqual(meta, map[string]string{"format": "pt"}) {
		t.Errorf("metadata %v", meta)
	}

	// No tensors at all, no metadata.
	path = writeFile(t, dir, "empty.safetensors", stBytes(`{}`, 0))
	tensors, meta, err = ReadSafetensors(path)
	if err != nil || len(tensors) != 0 || meta != nil {
		t.Errorf("empty file: %v %v %v", tensors, meta, err)
	}
	// __metadata__ null is no metadata.
	path = writeFile(t, dir, "null.safetensors", stBytes(`{"__metadata__":null}`, 0))
	if _, meta, err = ReadSafetensors(path); err != nil || meta != nil {
		t.Errorf("null metadata: %v %v", meta, err)
	}
}

func TestReadSafetensorsHostile(t *testing.T) {
	f32 := func(name string, shape string, b, e int) string {
		return `"` + name + `":{"dtype":"F32","shape":` + shape + `,"data_offsets":[` + itoa(b) + `,` + itoa(e) + `]}`
	}
	cases := []struct {
		name  string
		file  []byte
		frags []string
	}{
		{"empty file", nil, []string{"0 bytes, too short"}},
		{"shorter than the length", []byte{1, 2, 3}, []string{"3 bytes, too short"}},
		{"header length past end", append(le64(100), "{}        "...), []string{"header length 100 past the end of the file (size 18)"}},
		{"absurd header size", append(le64(1<<40), "{}"...), []string{"absurd header size 1099511627776"}},
		{"absurd header size, huge file claim", append(le64(^uint64(0)), "{}"...), []string{"absurd header size"}},
		{"empty header", stBytes(``, 0), []string{"unexpected end of JSON"}},
		{"invalid JSON", stBytes(`{"a":`, 0), []string{"safetensors header", "JSON"}},
		{"invalid JSON syntax", stBytes(`{"a" 1}`, 0), []string{"invalid JSON"}},
		{"non-object JSON", stBytes(`[1,2]`, 0), []string{"the header is an array, want a JSON object"}},
		{"string JSON", stBytes(`"x"`, 0), []string{"the header is a string, want a JSON object"}},
		{"invalid UTF-8", stBytes("{\"\xff\":1}", 0), []string{"not valid UTF-8"}},
		{"data after the object", stBytes(`{} {}`, 0), []string{"data after the top-level object"}},
		{"duplicate tensor key", stBytes(`{`+f32("a", "[1]", 0, 4)+`,`+f32("a", "[1]", 4, 8)+`}`, 8), []string{`the header has the key "a" twice`}},
		{"duplicate field", stBytes(`{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 4), []string{`tensor "a" has the key "dtype" twice`}},
		{"duplicate metadata key", stBytes(`{"__metadata__":{"k":"1","k":"2"}}`, 0), []string{`__metadata__ has the key "k" twice`}},
		{"duplicate __metadata__", stBytes(`{"__metadata__":{},"__metadata__":{}}`, 0), []string{`key "__metadata__" twice`}},
		{"metadata not strings", stBytes(`{"__metadata__":{"k":1}}`, 0), []string{`__metadata__["k"] is a number, want a string`}},
		{"metadata not an object", stBytes(`{"__metadata__":[]}`, 0), []string{`__metadata__ is an array`}},
		{"entry not an object", stBytes(`{"a":[1]}`, 0), []string{`tensor "a" is an array`}},
		{"unknown dtype", stBytes(`{"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}`, 4), []string{`tensor "w" has the unknown dtype "F33"`}},
		{"dtype not a string", stBytes(`{"w":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}`, 4), []string{`tensor "w" dtype is a number`}},
		{"negative dim", stBytes(`{`+f32("w", "[-1,4]", 0, 16)+`}`, 16), []string{`tensor "w" shape dimension 0 is negative (-1)`}},
		{"fractional dim", stBytes(`{`+f32("w", "[1.5]", 0, 4)+`}`, 4), []string{`tensor "w" shape dimension 0 is 1.5, want an integer`}},
		{"exponent dim", stBytes(`{`+f32("w", "[1e2]", 0, 400)+`}`, 400), []string{`want an integer`}},
		{"dim too large", stBytes(`{`+f32("w", "[99999999999999999999]", 0, 4)+`}`, 4), []string{`too large`}},
		{"shape not an array", stBytes(`{`+f32("w", `"3"`, 0, 12)+`}`, 12), []string{`tensor "w" shape is a string, want a JSON array`}},
		{"shape times dtype is not the byte length", stBytes(`{`+f32("w", "[2,3]", 0, 20)+`}`, 20), []string{`tensor "w": shape [2 3] of F32 needs 24 bytes, but data_offsets [0, 20] span 20`}},
		{"element count overflows", stBytes(`{`+f32("w", "[4294967296,4294967296]", 0, 4)+`}`, 4), []string{`tensor "w": shape [4294967296 4294967296] overflows`}},
		{"bytes overflow", stBytes(`{"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}}`, 8), []string{`overflows: its size in bits`}},
		{"overflow before a zero dim", stBytes(`{`+f32("w", "[4294967296,4294967296,0]", 0, 0)+`}`, 0), []string{`overflows`}},
		{"sub-byte dtype not whole bytes", stBytes(`{"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, 2), []string{`12 bits, not a whole number of bytes`}},
		{"begin after end", stBytes(`{`+f32("w", "[0]", 8, 4)+`}`, 8), []string{`tensor "w" data_offsets [8, 4] end before they begin`}},
		{"one offset", stBytes(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, 4), []string{`data_offsets has 1 elements`}},
		{"three offsets", stBytes(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, 4), []string{`more than 2 elements`}},
		{"negative offset", stBytes(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, 4), []string{`data_offsets[0] is negative`}},
		{"missing data_offsets", stBytes(`{"w":{"dtype":"F32","shape":[1]}}`, 4), []string{`tensor "w" has no data_offsets`}},
		{"missing dtype", stBytes(`{"w":{"shape":[1],"data_offsets":[0,4]}}`, 4), []string{`tensor "w" has no dtype`}},
		{"missing shape", stBytes(`{"w":{"dtype":"F32","data_offsets":[0,4]}}`, 4), []string{`tensor "w" has no shape`}},
		{"unknown field", stBytes(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"strides":[1]}}`, 4), []string{`tensor "w" has the unknown field "strides"`}},
		{"offsets out of range", stBytes(`{`+f32("a", "[1]", 0, 4)+`,`+f32("b", "[1]", 100, 104)+`}`, 8), []string{`tensor "b" data_offsets [100, 104] lie past the end of the data section`}},
		{"overlapping ranges", stBytes(`{`+f32("a", "[2]", 0, 8)+`,`+f32("b", "[2]", 4, 12)+`}`, 12), []string{`tensors "a" (data_offsets up to 8) and "b" (data_offsets [4, 12]) overlap`}},
		{"same range twice", stBytes(`{`+f32("a", "[2]", 0, 8)+`,`+f32("b", "[2]", 0, 8)+`}`, 8), []string{`overlap`}},
		{"empty tensor inside another", stBytes(`{`+f32("a", "[2]", 0, 8)+`,`+f32("b", "[0]", 4, 4)+`}`, 8), []string{`tensors "a" (data_offsets up to 8) and "b"`, `overlap`}},
		{"hole", stBytes(`{`+f32("a", "[1]", 0, 4)+`,`+f32("b", "[1]", 8, 12)+`}`, 12), []string{`hole in the data section: bytes [4, 8) between tensor "a" and tensor "b"`}},
		{"hole at the start", stBytes(`{`+f32("a", "[1]", 4, 8)+`}`, 8), []string{`bytes [0, 4) between the start of the data section and tensor "a"`}},
		{"truncated file", stBytes(`{`+f32("a", "[1]", 0, 4)+`,`+f32("b", "[4]", 4, 20)+`}`, 10), []string{`the file is truncated: tensor "b" needs data bytes [4, 20) but the data section ends at 10`}},
		{"trailing data", stBytes(`{`+f32("a", "[1]", 0, 4)+`}`, 9), []string{`5 bytes of trailing data after the last tensor`}},
	}
	dir := t.TempDir()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, dir, "case"+itoa(i)+".safetensors", c.file)
			tensors, _, err := ReadSafetensors(path)
			if err == nil {
				t.Fatalf("accepted: %+v", tensors)
			}
			wantError(t, err, ErrInvalid, path, c.frags...)
		})
	}
}

func TestReadSafetensorsNotAFile(t *testing.T) {
	dir := t.TempDir()
	_, _, err := ReadSafetensors(filepath.Join(dir, "nope.safetensors"))
	wantError(t, err, ErrNotFound, "nope.safetensors", "cannot open")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%v is not fs.ErrNotExist", err)
	}
	_, _, err = ReadSafetensors(dir)
	wantError(t, err, ErrInvalid, dir, "a directory, not a file")
}

func TestParseSafetensorsHeaderDataStart(t *testing.T) {
	header := []byte(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`)
	tensors, _, err := ParseSafetensorsHeader("mem", header, 100, 104)
	if err != nil || len(tensors) != 1 || tensors[0].Offset != 100 || tensors[0].File != "mem" {
		t.Fatalf("%+v %v", tensors, err)
	}
	_, _, err = ParseSafetensorsHeader("mem", header, 100, 50)
	wantError(t, err, ErrInvalid, "mem", "past the end of the file (size 50)")
	_, _, err = ParseSafetensorsHeader("mem", header, -1, 50)
	wantError(t, err, ErrInvalid, "mem")
}

func TestDTypeBits(t *testing.T) {
	for d, want := range map[DType]int{F32: 32, BF16: 16, F4: 4, F6E2M3: 6, F8E8M0: 8, BOOL: 8, C64: 64, U64: 64, "F33": 0, "": 0} {
		if got := d.Bits(); got != want {
			t.Errorf("%q.Bits() = %d, want %d", d, got, want)
		}
	}
}

func le64(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }

func itoa(n int) string { return strconv.Itoa(n) }
