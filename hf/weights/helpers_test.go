package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// stBytes builds a safetensors file from a header and a data section of
// dataLen bytes (byte i is i).
func stBytes(header string, dataLen int) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	for i := range dataLen {
		b.WriteByte(byte(i))
	}
	return b.Bytes()
}

// writeFile writes data to dir/name and returns the path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// wantError checks that err is an *Error of the given kind whose message
// names the file and contains every fragment.
func wantError(t testing.TB, err error, kind error, file string, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", fragments)
	}
	var we *Error
	if !errors.As(err, &we) {
		t.Fatalf("error %T %q is not an *Error", err, err)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %q is not %v", err, kind)
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if file != "" && !strings.Contains(msg, file) {
		t.Errorf("error %q does not name the file %s", msg, file)
	}
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			t.Errorf("error %q does not contain %q", msg, f)
		}
	}
}

// pk writes pickle opcodes by hand, the way torch.save's protocol 2 does.
type pk struct{ bytes.Buffer }

func (p *pk) op(b ...byte) *pk { p.Write(b); return p }
func (p *pk) proto() *pk       { return p.op(0x80, 2) }
func (p *pk) mark() *pk        { return p.op('(') }
func (p *pk) stop() *pk        { return p.op('.') }
func (p *pk) global(module, name string) *pk {
	p.WriteString("c" + module + "\n" + name + "\n")
	return p
}
func (p *pk) str(s string) *pk {
	p.WriteByte('X')
	binary.Write(p, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
	return p
}
func (p *pk) int(n int64) *pk {
	switch {
	case n >= 0 && n < 256:
		return p.op('K', byte(n))
	case n >= -1<<31 && n < 1<<31:
		p.WriteByte('J')
		binary.Write(p, binary.LittleEndian, int32(n))
		return p
	}
	p.op(0x8a, 8)
	binary.Write(p, binary.LittleEndian, n)
	return p
}
func (p *pk) tuple(ns ...int64) *pk {
	p.mark()
	for _, n := range ns {
		p.int(n)
	}
	return p.op('t')
}

// tensorV2 writes the value of one tensor as torch.save does:
// _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict()).
func (p *pk) tensorV2(class, key string, numel, offset int64, size, stride []int64) *pk {
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.mark()
	p.mark().str("storage").global("torch", class).str(key).str("cpu").int(numel).op('t').op('Q')
	p.int(offset).tuple(size...).tuple(stride...)
	p.op(0x89) // False
	p.global("collections", "OrderedDict").op(')', 'R')
	p.op('t', 'R')
	return p
}

// stateDict is a pickled {name: tensor} written with SETITEMS.
type pkTensor struct {
	name, class, key string
	numel, offset    int64
	size, stride     []int64
}

func stateDictPickle(tensors ...pkTensor) []byte {
	var p pk
	p.proto().op('}').mark()
	for _, t := range tensors {
		p.str(t.name).tensorV2(t.class, t.key, t.numel, t.offset, t.size, t.stride)
	}
	p.op('u').stop()
	return p.Bytes()
}

// zipEntry is one entry of a test zip.
type zipEntry struct {
	name     string
	data     []byte
	compress bool
}

// zipBytes writes entries into a zip, storing (not compressing) unless asked.
func zipBytes(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, e := range entries {
		method := zip.Store
		if e.compress {
			method = zip.Deflate
		}
		f, err := w.CreateHeader(&zip.FileHeader{Name: e.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		f.Write(e.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// torchZip is a torch.save-like zip: archive/data.pkl, archive/byteorder,
// then archive/data/<key> for each storage.
func torchZip(t testing.TB, pkl []byte, storages map[string][]byte) []byte {
	t.Helper()
	entries := []zipEntry{{name: "archive/data.pkl", data: pkl}, {name: "archive/byteorder", data: []byte("little")}}
	for _, k := range slices.Sorted(maps.Keys(storages)) {
		entries = append(entries, zipEntry{name: "archive/data/" + k, data: storages[k]})
	}
	entries = append(entries, zipEntry{name: "archive/version", data: []byte("3\n")})
	return zipBytes(t, entries...)
}

// seq returns n bytes 0, 1, 2, ...
func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}
