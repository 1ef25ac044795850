package weights

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

func TestReadPytorchZip(t *testing.T) {
	dir := t.TempDir()
	// Tied weights (two names, one storage), a view at a storage offset, a
	// v3 tensor (float8 over an UntypedStorage), a parameter, a scalar.
	var p pk
	p.proto().op('}').mark()
	p.str("w").tensorV2("FloatStorage", "0", 6, 0, []int64{2, 3}, []int64{3, 1})
	p.str("tied").tensorV2("FloatStorage", "0", 6, 0, []int64{2, 3}, []int64{3, 1})
	p.str("row").tensorV2("FloatStorage", "0", 6, 3, []int64{3}, []int64{1})
	p.str("col1").tensorV2("FloatStorage", "0", 6, 1, []int64{2, 1}, []int64{1, 7}) // size-1 dim: any stride
	p.str("scalar").tensorV2("LongStorage", "1", 1, 0, nil, nil)
	p.str("f8")
	p.global("torch._utils", "_rebuild_tensor_v3").mark()
	p.mark().str("storage").global("torch.storage", "UntypedStorage").str("2").str("cpu").int(5).op('t', 'Q')
	p.int(1).tuple(2, 2).tuple(2, 1).op(0x89).global("collections", "OrderedDict").op(')', 'R').global("torch", "float8_e4m3fn").op('t', 'R')
	p.str("param").global("torch._utils", "_rebuild_parameter").mark()
	p.tensorV2("HalfStorage", "3", 2, 0, []int64{2}, []int64{1}).op(0x88).global("collections", "OrderedDict").op(')', 'R').op('t', 'R')
	p.op('u')
	// BUILD on the dict, as an OrderedDict with _metadata has.
	p.op('}').str("_metadata").op('}', 's', 'b')
	p.stop()
	data := torchZip(t, p.Bytes(), map[string][]byte{"0": seq(24), "1": seq(8), "2": seq(5), "3": seq(4)})
	path := writeFile(t, dir, "m.bin", data)
	tensors, err := ReadPytorchZip(path)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Tensor{}
	for _, tt := range tensors {
		got[tt.Name] = tt
		if tt.File != path {
			t.Errorf("%s: file %s", tt.Name, tt.File)
		}
	}
	check := func(name string, dtype DType, shape []int64, want []byte) {
		t.Helper()
		tt, ok := got[name]
		if !ok {
			t.Fatalf("no tensor %s in %+v", name, tensors)
		}
		if tt.DType != dtype || !reflect.DeepEqual(tt.Shape, shape) {
			t.Errorf("%s: %s %v, want %s %v", name, tt.DType, tt.Shape, dtype, shape)
		}
		if b := data[tt.Offset : tt.Offset+tt.Size]; !bytes.Equal(b, want) {
			t.Errorf("%s: bytes %v, want %v", name, b, want)
		}
	}
	check("w", F32, []int64{2, 3}, seq(24))
	check("tied", F32, []int64{2, 3}, seq(24))
	check("row", F32, []int64{3}, seq(24)[12:])
	check("col1", F32, []int64{2, 1}, seq(24)[4:12])
	check("scalar", I64, []int64{}, seq(8))
	check("f8", F8E4M3, []int64{2, 2}, seq(5)[1:])
	check("param", F16, []int64{2}, seq(4))
	if got["w"].Offset != got["tied"].Offset {
		t.Error("tied tensors at different offsets")
	}
	if names := len(tensors); names != 7 || tensors[0].Name != "col1" || tensors[6].Name != "w" {
		t.Errorf("not sorted or not all: %+v", tensors)
	}
}

// hostileZip reads data as a pytorch_model.bin and returns the error it
// must give.
func hostileZip(t *testing.T, data []byte) error {
	t.Helper()
	path := writeFile(t, t.TempDir(), "pytorch_model.bin", data)
	tensors, err := ReadPytorchZip(path)
	if err == nil {
		t.Fatalf("accepted: %+v", tensors)
	}
	return err
}

func TestReadPytorchZipForbiddenGlobals(t *testing.T) {
	cases := []struct{ name, pkl string }{
		{"os.system", string(new(pk).proto().global("os", "system").str("echo pwned").op(0x85, 'R').stop().Bytes())},
		{"posix.system", string(new(pk).proto().global("posix", "system").str("id").op(0x85, 'R').stop().Bytes())},
		{"builtins.eval", string(new(pk).proto().str("builtins").str("eval").op(0x93).str("1+1").op(0x85, 'R').stop().Bytes())},
		{"__builtin__.eval", string(new(pk).proto().global("__builtin__", "eval").str("1").op(0x85, 'R').stop().Bytes())},
		{"builtins.getattr", string(new(pk).proto().op('}').mark().str("x").global("builtins", "getattr").op('u', '.').Bytes())},
		{"torch.load", string(new(pk).proto().global("torch", "load").op('.').Bytes())},
		{"torch._utils._rebuild_from_type_v2", string(new(pk).proto().global("torch._utils", "_rebuild_from_type_v2").op('.').Bytes())},
		{"subprocess.Popen", string(new(pk).proto().global("subprocess", "Popen").op('.').Bytes())},
		// the global is refused even inside a tensor's backward hooks
		{"functools.partial", string(new(pk).proto().op('}').mark().str("t").global("torch._utils", "_rebuild_tensor_v2").mark().
			mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(1).op('t', 'Q').
			int(0).tuple(1).tuple(1).op(0x89).global("functools", "partial").op(')', 'R', 't', 'R', 'u', '.').Bytes())},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := hostileZip(t, torchZip(t, []byte(c.pkl), map[string][]byte{"0": seq(4)}))
			wantError(t, err, ErrUnsupported, "pytorch_model.bin",
				"archive/data.pkl byte", "refusing the pickle global "+c.name, "could run arbitrary code",
				"convert it to safetensors", "weights_only=True")
		})
	}
}

func TestReadPytorchZipHostile(t *testing.T) {
	good := func(name string) []byte {
		return stateDictPickle(pkTensor{name, "FloatStorage", "0", 6, 0, []int64{2, 3}, []int64{3, 1}})
	}
	one := func(pkl []byte) []byte { return torchZip(t, pkl, map[string][]byte{"0": seq(24)}) }
	pklOf := func(f func(p *pk)) []byte {
		var p pk
		f(&p)
		return p.Bytes()
	}
	tensorPkl := func(class string, numel, offset int64, size, stride []int64) []byte {
		return stateDictPickle(pkTensor{"t", class, "0", numel, offset, size, stride})
	}
	legacy := append([]byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}, '.')
	tarLegacy := make([]byte, 1024)
	copy(tarLegacy, "storages")
	copy(tarLegacy[257:], "ustar")
	truncated := one(good("w"))
	truncated = truncated[:len(truncated)/2]
	bigEndian := zipBytes(t, zipEntry{name: "archive/data.pkl", data: good("w")}, zipEntry{name: "archive/byteorder", data: []byte("big")}, zipEntry{name: "archive/data/0", data: seq(24)})
	deflated := zipBytes(t, zipEntry{name: "archive/data.pkl", data: good("w")}, zipEntry{name: "archive/data/0", data: seq(24), compress: true})
	dupEntry := zipBytes(t, zipEntry{name: "archive/data.pkl", data: good("w")}, zipEntry{name: "archive/data/0", data: seq(24)}, zipEntry{name: "archive/data/0", data: seq(24)})
	noFolder := zipBytes(t, zipEntry{name: "data.pkl", data: good("w")})
	noPickle := zipBytes(t, zipEntry{name: "archive/version", data: []byte("3")})
	otherFolder := zipBytes(t, zipEntry{name: "anything/data.pkl", data: good("w")}, zipEntry{name: "anything/data/0", data: seq(24)})
	if _, err := ReadPytorchZip(writeFile(t, t.TempDir(), "ok.bin", otherFolder)); err != nil {
		t.Fatalf("a folder not called archive: %v", err)
	}

	cases := []struct {
		name  string
		file  []byte
		kind  error
		frags []string
	}{
		{"empty file", nil, ErrInvalid, []string{"empty file"}},
		{"not a zip", []byte("hello, world"), ErrInvalid, []string{"not a zip archive (it starts with 68 65 6c"}},
		{"legacy pickle format", legacy, ErrUnsupported, []string{"legacy (PyTorch < 1.6, non-zip) torch.save format", "convert it to safetensors"}},
		{"legacy tar format", tarLegacy, ErrUnsupported, []string{"legacy (tar) torch.save format", "convert it to safetensors"}},
		{"truncated zip", truncated, ErrInvalid, []string{"not a readable zip archive"}},
		{"empty zip", zipBytes(t), ErrInvalid, []string{"empty zip archive"}},
		{"no folder", noFolder, ErrInvalid, []string{`zip entry "data.pkl" is not inside a folder`}},
		{"no data.pkl", noPickle, ErrInvalid, []string{"no archive/data.pkl in the zip"}},
		{"duplicate entry", dupEntry, ErrInvalid, []string{`zip entry "archive/data/0" appears twice`}},
		{"big endian", bigEndian, ErrUnsupported, []string{`byte order "big"`}},
		{"compressed storage entry", deflated, ErrUnsupported, []string{"storage entry archive/data/0 is compressed (zip method 8)", "convert it to safetensors"}},
		{"missing storage entry", torchZip(t, good("w"), nil), ErrInvalid, []string{`the pickle names storage "0" but the zip has no entry archive/data/0`}},
		{"storage size mismatch", torchZip(t, good("w"), map[string][]byte{"0": seq(20)}), ErrInvalid, []string{"storage entry archive/data/0 holds 20 bytes but the pickle says torch.FloatStorage of 6 elements (24 bytes)"}},
		{"tensor past its storage", one(tensorPkl("FloatStorage", 6, 5, []int64{2}, []int64{1})), ErrInvalid, []string{`tensor "t" elements [5, 5+2) lie outside its storage "0" of 6 F32 elements`}},
		{"tensor larger than its storage", one(tensorPkl("FloatStorage", 6, 0, []int64{7}, []int64{1})), ErrInvalid, []string{`lie outside its storage`}},
		{"non-contiguous tensor", one(tensorPkl("FloatStorage", 6, 0, []int64{3, 2}, []int64{1, 3})), ErrUnsupported, []string{`tensor "t" is not contiguous (size [3 2], stride [1 3])`, "convert it to safetensors"}},
		{"size overflow", one(tensorPkl("FloatStorage", 6, 0, []int64{1 << 40, 1 << 40}, []int64{1 << 40, 1})), ErrInvalid, []string{`overflows`}},
		{"size and stride lengths", one(tensorPkl("FloatStorage", 6, 0, []int64{6}, []int64{1, 1})), ErrInvalid, []string{`size has 1 dimensions but stride 2`}},
		{"unsupported storage dtype", one(tensorPkl("QInt8Storage", 24, 0, []int64{24}, []int64{1})), ErrUnsupported, []string{`the pickle names torch.QInt8Storage, a type with no safetensors dtype`}},
		{"complex128 storage", one(tensorPkl("ComplexDoubleStorage", 1, 0, []int64{1}, []int64{1})), ErrUnsupported, []string{`torch.ComplexDoubleStorage`}},
		{"value not a tensor", one(pklOf(func(p *pk) { p.proto().op('}').str("n").int(3).op('s', '.') })), ErrUnsupported, []string{`entry "n" of the state dict is an int, not a tensor`}},
		{"top level not a dict", one(pklOf(func(p *pk) { p.proto().op(']', '.') })), ErrInvalid, []string{`the pickle holds a list, want a dict of tensors`}},
		{"duplicate dict key", one(pklOf(func(p *pk) { p.proto().op('}').mark().str("a").int(1).str("a").int(2).op('u', '.') })), ErrInvalid, []string{`dict key "a" is set twice`}},
		{"non-string key", one(pklOf(func(p *pk) { p.proto().op('}').int(1).int(2).op('s', '.') })), ErrInvalid, []string{`dict key is an int, want a string`}},
		{"unknown opcode", one(pklOf(func(p *pk) { p.proto().op('I').op([]byte("1\n.")...) })), ErrUnsupported, []string{`pickle opcode INT (0x49) is not one torch.save writes`}},
		{"no STOP", one(pklOf(func(p *pk) { p.proto().op('}') })), ErrInvalid, []string{`the pickle ends without a STOP opcode`}},
		{"empty pickle", one(nil), ErrInvalid, []string{`without a STOP`}},
		{"memo read before write", one(pklOf(func(p *pk) { p.proto().op('h', 7, '.') })), ErrInvalid, []string{`memo entry 7 read before it was written`}},
		{"stack underflow", one(pklOf(func(p *pk) { p.proto().op('s', '.') })), ErrInvalid, []string{`archive/data.pkl byte 2: stack underflow`}},
		{"pop across a mark", one(pklOf(func(p *pk) { p.proto().op('}').mark().op(0x85, '.') })), ErrInvalid, []string{`stack underflow`}},
		{"no mark", one(pklOf(func(p *pk) { p.proto().op('t', '.') })), ErrInvalid, []string{`no MARK to pop to`}},
		{"two values at STOP", one(pklOf(func(p *pk) { p.proto().op('}', '}', '.') })), ErrInvalid, []string{`STOP with 2 values`}},
		{"string past the end", one(pklOf(func(p *pk) { p.proto().op('X', 0xff, 0xff, 0xff, 0x7f, 'a') })), ErrInvalid, []string{`string of 2147483647 bytes runs past the end of the pickle`}},
		{"huge BINUNICODE8", one(pklOf(func(p *pk) { p.proto().op(0x8d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff) })), ErrInvalid, []string{`runs past the end of the pickle`}},
		{"integer too large", one(pklOf(func(p *pk) { p.proto().op(0x8a, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, '.') })), ErrInvalid, []string{`integer of 9 bytes does not fit 64 bits`}},
		{"truncated opcode", one(pklOf(func(p *pk) { p.proto().op('J', 1) })), ErrInvalid, []string{`the pickle ends inside an opcode`}},
		{"invalid UTF-8 string", one(pklOf(func(p *pk) { p.proto().op('X', 1, 0, 0, 0, 0xff, '.') })), ErrInvalid, []string{`not valid UTF-8`}},
		{"unterminated GLOBAL", one(pklOf(func(p *pk) { p.proto().op([]byte("ctorch")...) })), ErrInvalid, []string{`GLOBAL name not ended by a newline`}},
		{"NEWOBJ", one(pklOf(func(p *pk) { p.proto().global("collections", "OrderedDict").op(')', 0x81, '.') })), ErrUnsupported, []string{`NEWOBJ would construct an instance of collections.OrderedDict`}},
		{"calling a storage class", one(pklOf(func(p *pk) { p.proto().global("torch", "FloatStorage").op(')', 'R', '.') })), ErrUnsupported, []string{`REDUCE calls torch.FloatStorage`}},
		{"calling a string", one(pklOf(func(p *pk) { p.proto().str("x").op(')', 'R', '.') })), ErrInvalid, []string{`REDUCE calls a str, which is not callable`}},
		{"OrderedDict with items", one(pklOf(func(p *pk) { p.proto().global("collections", "OrderedDict").op(']', 0x85, 'R', '.') })), ErrUnsupported, []string{`OrderedDict called with 1 arguments`}},
		{"BUILD on a tensor", one(pklOf(func(p *pk) {
			p.proto().op('}').str("t").tensorV2("FloatStorage", "0", 6, 0, []int64{6}, []int64{1}).op('}', 'b', 's', '.')
		})), ErrUnsupported, []string{`BUILD (setting the state of) a tensor`}},
		{"storage key with a path", one(stateDictPickle(pkTensor{"t", "FloatStorage", "../0", 6, 0, []int64{6}, []int64{1}})), ErrInvalid, []string{`storage key "../0" is not a plain entry name`}},
		{"one storage, two types", torchZip(t, stateDictPickle(
			pkTensor{"a", "FloatStorage", "0", 6, 0, []int64{6}, []int64{1}},
			pkTensor{"b", "IntStorage", "0", 6, 0, []int64{6}, []int64{1}}), map[string][]byte{"0": seq(24)}),
			ErrInvalid, []string{`storage "0" is named twice with different types or sizes`}},
		{"negative storage offset", one(tensorPkl("FloatStorage", 6, -1, []int64{6}, []int64{1})), ErrInvalid, []string{`storage_offset is -1`}},
		{"negative size", one(tensorPkl("FloatStorage", 6, 0, []int64{-6}, []int64{1})), ErrInvalid, []string{`size[0] is -6`}},
		{"bad persistent id", one(pklOf(func(p *pk) { p.proto().str("x").op('Q', '.') })), ErrInvalid, []string{`persistent id is a str`}},
		{"v2 on an untyped storage", one(pklOf(func(p *pk) {
			p.proto().op('}').str("t").global("torch._utils", "_rebuild_tensor_v2").mark()
			p.mark().str("storage").global("torch", "UntypedStorage").str("0").str("cpu").int(24).op('t', 'Q')
			p.int(0).tuple(6).tuple(1).op(0x89, 'N', 't', 'R', 's', '.')
		})), ErrInvalid, []string{`_rebuild_tensor_v2 of an UntypedStorage`}},
		{"unsupported torch dtype", one(pklOf(func(p *pk) { p.proto().global("torch", "float4_e2m1fn_x2").op('.') })), ErrUnsupported, []string{`torch.float4_e2m1fn_x2, a type with no safetensors dtype`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := hostileZip(t, c.file)
			wantError(t, err, c.kind, "pytorch_model.bin", c.frags...)
		})
	}
}

func TestReadPytorchZipBounds(t *testing.T) {
	// A central directory whose storage entry claims more bytes than the
	// file has: archive/zip accepts the directory, the range check must not.
	data := torchZip(t, stateDictPickle(pkTensor{"t", "FloatStorage", "0", 6, 0, []int64{6}, []int64{1}}), map[string][]byte{"0": seq(24)})
	j := bytes.Index(data, []byte("PK\x01\x02"))
	for j >= 0 {
		nameLen := int(binary.LittleEndian.Uint16(data[j+28:]))
		if string(data[j+46:j+46+nameLen]) == "archive/data/0" {
			binary.LittleEndian.PutUint32(data[j+20:], 1<<30) // compressed size
			binary.LittleEndian.PutUint32(data[j+24:], 1<<30) // uncompressed size
			break
		}
		k := bytes.Index(data[j+4:], []byte("PK\x01\x02"))
		if k < 0 {
			t.Fatal("entry not found")
		}
		j += 4 + k
	}
	err := hostileZip(t, data)
	wantError(t, err, ErrInvalid, "pytorch_model.bin", "runs past the end of the file")
}

func TestReadPytorchZipNotAFile(t *testing.T) {
	dir := t.TempDir()
	_, err := ReadPytorchZip(dir + "/nope.bin")
	wantError(t, err, ErrNotFound, "nope.bin", "cannot open")
	_, err = ReadPytorchZip(dir)
	wantError(t, err, ErrInvalid, dir, "a directory, not a file")
}

// TestSeeds reads the committed real files (testdata/make_seeds.py), so
// that files written by PyTorch are read even where there is no Python.
func TestSeeds(t *testing.T) {
	st, meta, err := ReadSafetensors("testdata/seed.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tt := range st {
		names = append(names, tt.Name+":"+string(tt.DType))
	}
	if want := []string{"b:BOOL", "e:F32", "f8:F8_E4M3", "h:F16", "i:I64", "s:F32", "w:F32"}; !reflect.DeepEqual(names, want) || meta["format"] != "pt" {
		t.Errorf("seed.safetensors: %v %v", names, meta)
	}

	bin, err := ReadPytorchZip("testdata/seed.bin")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Tensor{}
	for _, tt := range bin {
		got[tt.Name] = tt
	}
	if len(got) != 6 || got["w"].Offset != got["tied"].Offset || got["row"].Offset != got["w"].Offset+12 ||
		got["f8"].DType != F8E4M3 || got["p"].DType != F32 || got["n"].DType != I64 || len(got["n"].Shape) != 0 {
		t.Errorf("seed.bin: %+v", bin)
	}
}

func TestReadPytorchZipMemoryBounds(t *testing.T) {
	// Each DUP pushes one more reference: past the value budget the
	// pickle is refused instead of growing the stack.
	dups := append([]byte{0x80, 2, '}'}, bytes.Repeat([]byte{'2'}, maxPickleValues)...)
	err := hostileZip(t, torchZip(t, append(dups, '.'), nil))
	wantError(t, err, ErrInvalid, "pytorch_model.bin", "the pickle builds more than 4194304 values")

	// A data.pkl that inflates past the limit (a zip bomb) is not read whole.
	bomb := bytes.Repeat([]byte{'2'}, maxPickleSize+1)
	err = hostileZip(t, zipBytes(t, zipEntry{name: "archive/data.pkl", data: bomb, compress: true}))
	wantError(t, err, ErrInvalid, "pytorch_model.bin", "cannot read archive/data.pkl", "more than the 67108864 bytes accepted")
}

func TestConvertAdvice(t *testing.T) {
	for file, want := range map[string]string{
		"/m/pytorch_model.bin":                `torch.load('/m/pytorch_model.bin', weights_only=True)` + "; save_file({k: v.contiguous().clone() for k, v in sd.items()}, '/m/model.safetensors'",
		"/m/other.bin":                        `'/m/other.safetensors'`,
		"/m/pytorch_model-00001-of-00002.bin": `d = '/m'; c = t.AutoConfig.from_pretrained(d); getattr(t, c.architectures[0]).from_pretrained(d).save_pretrained(d, safe_serialization=True)`,
		`/it's/pytorch_model.bin`:             `torch.load('/it\'s/pytorch_model.bin'`,
	} {
		if got := convertAdvice(file); !strings.Contains(got, want) {
			t.Errorf("convertAdvice(%s) = %s\nwant it to contain %s", file, got, want)
		}
	}
}
