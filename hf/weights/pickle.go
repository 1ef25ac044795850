package weights

import (
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// This file is a restricted unpickler: it runs the pickle opcodes that
// torch.save writes for a state dict (protocol 2, plus the few protocol 4
// ones a newer protocol would add) and knows only the globals torch.save
// names. Nothing is called: REDUCE on an allowed global builds a Go value
// describing what the Python call would have built. Any other global is
// refused before it could be used, since a pickle that names, say,
// builtins.eval or os.system runs it when Python loads the file.

// Values on the pickle stack.
type (
	pyTuple []any
	pyList  struct{ items []any }
	pyDict  struct {
		keys []string
		vals map[string]any
	}
	// pyGlobal is an allowed global (GLOBAL / STACK_GLOBAL).
	pyGlobal struct {
		kind         globalKind
		module, name string
		dtype        DType // for storage classes and torch dtypes; "" for UntypedStorage
	}
	// pyStorage is a storage named by a persistent id: the bytes of zip
	// entry data/<key>.
	pyStorage struct {
		key      string
		class    string // "torch.FloatStorage", ...
		dtype    DType  // element type; "" for an UntypedStorage (bytes)
		numel    int64  // elements (bytes for an UntypedStorage)
		nbytes   int64
		location string
	}
	// pyTensor is what _rebuild_tensor_v2/v3 would build.
	pyTensor struct {
		storage *pyStorage
		dtype   DType
		offset  int64 // in elements
		size    []int64
		stride  []int64
	}
)

type globalKind int

const (
	gOrderedDict globalKind = iota + 1
	gRebuildV2
	gRebuildV3
	gRebuildParameter
	gStorageClass
	gDType
)

// pickleFault is an error at a byte of the pickle.
type pickleFault struct {
	pos  int
	msg  string
	kind error // ErrInvalid or ErrUnsupported
}

func (f *pickleFault) Error() string { return fmt.Sprintf("byte %d: %s", f.pos, f.msg) }

// Bounds on what a pickle may make this package hold in memory, whatever
// it claims: the data.pkl read (a compressed entry could otherwise inflate
// without limit), and the values it builds, counted as opcodes run plus
// items moved by TUPLE, APPENDS and SETITEMS (at most some tens of bytes
// each). torch.save writes about 50 opcodes a tensor, so a file may hold
// some 80,000 tensors; checkpoints of more are sharded long before.
const (
	maxPickleSize   = 64 << 20
	maxPickleValues = 1 << 22
)

// convertAdvice tells how to turn a pickled checkpoint into safetensors with
// PyTorch's own restricted loader (weights_only=True), which refuses the
// same unsafe files this package refuses: a single file with
// safetensors.torch.save_file, the shard of a sharded checkpoint with
// transformers (which converts all shards and writes the index).
func convertAdvice(file string) string {
	dir, base := filepath.Dir(file), filepath.Base(file)
	if strings.HasPrefix(base, "pytorch_model-") {
		return fmt.Sprintf("if you trust the checkpoint, convert it to safetensors with Python: "+
			"python -c \"import transformers as t; d = %s; c = t.AutoConfig.from_pretrained(d); "+
			"getattr(t, c.architectures[0]).from_pretrained(d).save_pretrained(d, safe_serialization=True)\"",
			pyQuote(dir))
	}
	out := filepath.Join(dir, "model.safetensors")
	if base != PytorchName {
		out = strings.TrimSuffix(file, filepath.Ext(file)) + ".safetensors"
	}
	return fmt.Sprintf("if you trust the file, convert it to safetensors with Python: "+
		"python -c \"import torch; from safetensors.torch import save_file; "+
		"sd = torch.load(%s, weights_only=True); "+
		"save_file({k: v.contiguous().clone() for k, v in sd.items()}, %s, metadata={'format': 'pt'})\"",
		pyQuote(file), pyQuote(out))
}

// pyQuote writes s as a single-quoted Python string literal.
func pyQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

type unpickler struct {
	data     []byte
	pos      int // of the next byte
	op       int // position of the opcode being run
	stack    []any
	marks    []int
	memo     map[uint32]any
	storages map[string]*pyStorage
	values   int // opcodes run and items moved, against maxPickleValues
}

// unpickle runs a torch.save pickle and returns the object it builds,
// which must be a dict.
func unpickle(data []byte) (*pyDict, map[string]*pyStorage, error) {
	u := &unpickler{data: data, memo: make(map[uint32]any), storages: make(map[string]*pyStorage)}
	v, err := u.run()
	if err != nil {
		return nil, nil, err
	}
	d, ok := v.(*pyDict)
	if !ok {
		return nil, nil, u.invalid("the pickle holds %s, want a dict of tensors (a state dict)", typeName(v))
	}
	return d, u.storages, nil
}

func (u *unpickler) invalid(format string, args ...any) *pickleFault {
	return &pickleFault{pos: u.op, msg: fmt.Sprintf(format, args...), kind: ErrInvalid}
}

func (u *unpickler) unsupported(format string, args ...any) *pickleFault {
	return &pickleFault{pos: u.op, msg: fmt.Sprintf(format, args...), kind: ErrUnsupported}
}

func (u *unpickler) read(n int) ([]byte, error) {
	if n < 0 || n > len(u.data)-u.pos {
		return nil, u.invalid("the pickle ends inside an opcode (it needs %d more bytes, %d are left)", n, len(u.data)-u.pos)
	}
	b := u.data[u.pos : u.pos+n]
	u.pos += n
	return b, nil
}

func (u *unpickler) readLine() (string, error) {
	const maxLine = 1024
	rest := u.data[u.pos:]
	if len(rest) > maxLine {
		rest = rest[:maxLine]
	}
	i := strings.IndexByte(string(rest), '\n')
	if i < 0 {
		return "", u.invalid("GLOBAL name not ended by a newline within %d bytes", maxLine)
	}
	u.pos += i + 1
	return string(rest[:i]), nil
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) == u.marks[len(u.marks)-1]) {
		return nil, u.invalid("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) == u.marks[len(u.marks)-1]) {
		return nil, u.invalid("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark pops the items above the last MARK, and the mark.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, u.invalid("no MARK to pop to")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	if u.values += len(u.stack) - m; u.values > maxPickleValues {
		return nil, u.invalid("the pickle builds more than %d values", maxPickleValues)
	}
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) run() (any, error) {
	for {
		u.op = u.pos
		if u.pos >= len(u.data) {
			return nil, u.invalid("the pickle ends without a STOP opcode")
		}
		if u.values++; u.values > maxPickleValues {
			return nil, u.invalid("the pickle builds more than %d values", maxPickleValues)
		}
		code := u.data[u.pos]
		u.pos++
		if err := u.step(code); err != nil {
			if err == errStop {
				if len(u.stack) != 1 || len(u.marks) != 0 {
					return nil, u.invalid("STOP with %d values and %d marks on the stack, want 1 and 0", len(u.stack), len(u.marks))
				}
				return u.stack[0], nil
			}
			return nil, err
		}
	}
}

var errStop = &pickleFault{msg: "STOP"}

// step runs one opcode.
func (u *unpickler) step(code byte) error {
	switch code {
	case 0x80: // PROTO
		b, err := u.read(1)
		if err != nil {
			return err
		}
		if b[0] > 5 {
			return u.invalid("pickle protocol %d is unknown", b[0])
		}
	case 0x95: // FRAME: a length hint; the data is read all the same
		_, err := u.read(8)
		return err
	case '.': // STOP
		return errStop
	case '(': // MARK
		u.marks = append(u.marks, len(u.stack))
	case '0': // POP
		_, err := u.pop()
		return err
	case '1': // POP_MARK
		_, err := u.popMark()
		return err
	case '2': // DUP
		v, err := u.top()
		if err != nil {
			return err
		}
		u.push(v)
	case '}': // EMPTY_DICT
		u.push(&pyDict{vals: make(map[string]any)})
	case ']': // EMPTY_LIST
		u.push(&pyList{})
	case ')': // EMPTY_TUPLE
		u.push(pyTuple{})
	case 't': // TUPLE
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(pyTuple(items))
	case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
		n := int(code - 0x84)
		t := make(pyTuple, n)
		for i := n - 1; i >= 0; i-- {
			v, err := u.pop()
			if err != nil {
				return err
			}
			t[i] = v
		}
		u.push(t)
	case 'N': // NONE
		u.push(nil)
	case 0x88: // NEWTRUE
		u.push(true)
	case 0x89: // NEWFALSE
		u.push(false)
	case 'J': // BININT
		b, err := u.read(4)
		if err != nil {
			return err
		}
		u.push(int64(int32(binary.LittleEndian.Uint32(b))))
	case 'K': // BININT1
		b, err := u.read(1)
		if err != nil {
			return err
		}
		u.push(int64(b[0]))
	case 'M': // BININT2
		b, err := u.read(2)
		if err != nil {
			return err
		}
		u.push(int64(binary.LittleEndian.Uint16(b)))
	case 0x8a, 0x8b: // LONG1, LONG4
		var n int
		if code == 0x8a {
			b, err := u.read(1)
			if err != nil {
				return err
			}
			n = int(b[0])
		} else {
			b, err := u.read(4)
			if err != nil {
				return err
			}
			n = int(int32(binary.LittleEndian.Uint32(b)))
		}
		if n < 0 {
			return u.invalid("LONG4 with a negative length")
		}
		b, err := u.read(n)
		if err != nil {
			return err
		}
		v, ok := decodeLong(b)
		if !ok {
			return u.invalid("integer of %d bytes does not fit 64 bits", n)
		}
		u.push(v)
	case 'G': // BINFLOAT
		b, err := u.read(8)
		if err != nil {
			return err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'X', 0x8c, 0x8d: // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
		var n uint64
		switch code {
		case 'X':
			b, err := u.read(4)
			if err != nil {
				return err
			}
			n = uint64(binary.LittleEndian.Uint32(b))
		case 0x8c:
			b, err := u.read(1)
			if err != nil {
				return err
			}
			n = uint64(b[0])
		default:
			b, err := u.read(8)
			if err != nil {
				return err
			}
			n = binary.LittleEndian.Uint64(b)
		}
		if n > uint64(len(u.data)-u.pos) {
			return u.invalid("string of %d bytes runs past the end of the pickle", n)
		}
		b, _ := u.read(int(n))
		if !utf8.Valid(b) {
			return u.invalid("string is not valid UTF-8")
		}
		u.push(string(b))
	case 'q', 'r', 0x94: // BINPUT, LONG_BINPUT, MEMOIZE
		var idx uint32
		switch code {
		case 'q':
			b, err := u.read(1)
			if err != nil {
				return err
			}
			idx = uint32(b[0])
		case 'r':
			b, err := u.read(4)
			if err != nil {
				return err
			}
			idx = binary.LittleEndian.Uint32(b)
		default:
			idx = uint32(len(u.memo))
		}
		v, err := u.top()
		if err != nil {
			return err
		}
		u.memo[idx] = v
	case 'h', 'j': // BINGET, LONG_BINGET
		var idx uint32
		if code == 'h' {
			b, err := u.read(1)
			if err != nil {
				return err
			}
			idx = uint32(b[0])
		} else {
			b, err := u.read(4)
			if err != nil {
				return err
			}
			idx = binary.LittleEndian.Uint32(b)
		}
		v, ok := u.memo[idx]
		if !ok {
			return u.invalid("memo entry %d read before it was written", idx)
		}
		u.push(v)
	case 'c': // GLOBAL
		module, err := u.readLine()
		if err != nil {
			return err
		}
		name, err := u.readLine()
		if err != nil {
			return err
		}
		g, err := u.global(module, name)
		if err != nil {
			return err
		}
		u.push(g)
	case 0x93: // STACK_GLOBAL
		nv, err := u.pop()
		if err != nil {
			return err
		}
		mv, err := u.pop()
		if err != nil {
			return err
		}
		module, ok1 := mv.(string)
		name, ok2 := nv.(string)
		if !ok1 || !ok2 {
			return u.invalid("STACK_GLOBAL needs two strings, got %s and %s", typeName(mv), typeName(nv))
		}
		g, err := u.global(module, name)
		if err != nil {
			return err
		}
		u.push(g)
	case 'R': // REDUCE
		argv, err := u.pop()
		if err != nil {
			return err
		}
		fv, err := u.pop()
		if err != nil {
			return err
		}
		args, ok := argv.(pyTuple)
		if !ok {
			return u.invalid("REDUCE arguments are %s, want a tuple", typeName(argv))
		}
		v, err := u.reduce(fv, args)
		if err != nil {
			return err
		}
		u.push(v)
	case 'Q': // BINPERSID
		pid, err := u.pop()
		if err != nil {
			return err
		}
		s, err := u.persistent(pid)
		if err != nil {
			return err
		}
		u.push(s)
	case 'b': // BUILD
		state, err := u.pop()
		if err != nil {
			return err
		}
		obj, err := u.top()
		if err != nil {
			return err
		}
		// torch.save builds only an OrderedDict this way: its instance
		// attributes (a state dict's _metadata), which are not tensors.
		if _, ok := obj.(*pyDict); !ok {
			return u.unsupported("BUILD (setting the state of) %s: torch.save writes BUILD only for an OrderedDict", typeName(obj))
		}
		switch state.(type) {
		case nil, *pyDict, pyTuple:
		default:
			return u.invalid("BUILD with a state of %s", typeName(state))
		}
	case 0x81: // NEWOBJ
		_, _ = u.pop() // the arguments; the refusal below is the error
		cls, _ := u.pop()
		return u.unsupported("NEWOBJ would construct an instance of %s, which a state dict never holds", typeName(cls))
	case 's': // SETITEM
		v, err := u.pop()
		if err != nil {
			return err
		}
		k, err := u.pop()
		if err != nil {
			return err
		}
		d, err := u.topDict("SETITEM")
		if err != nil {
			return err
		}
		return u.setItem(d, k, v)
	case 'u': // SETITEMS
		items, err := u.popMark()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return u.invalid("SETITEMS with an odd number of items (%d)", len(items))
		}
		d, err := u.topDict("SETITEMS")
		if err != nil {
			return err
		}
		for i := 0; i < len(items); i += 2 {
			if err := u.setItem(d, items[i], items[i+1]); err != nil {
				return err
			}
		}
	case 'a': // APPEND
		v, err := u.pop()
		if err != nil {
			return err
		}
		l, err := u.topList("APPEND")
		if err != nil {
			return err
		}
		l.items = append(l.items, v)
	case 'e': // APPENDS
		items, err := u.popMark()
		if err != nil {
			return err
		}
		l, err := u.topList("APPENDS")
		if err != nil {
			return err
		}
		l.items = append(l.items, items...)
	default:
		return u.unsupported("pickle opcode %s is not one torch.save writes", opcodeName(code))
	}
	return nil
}

func (u *unpickler) topDict(op string) (*pyDict, error) {
	v, err := u.top()
	if err != nil {
		return nil, err
	}
	d, ok := v.(*pyDict)
	if !ok {
		return nil, u.invalid("%s on %s, want a dict", op, typeName(v))
	}
	return d, nil
}

func (u *unpickler) topList(op string) (*pyList, error) {
	v, err := u.top()
	if err != nil {
		return nil, err
	}
	l, ok := v.(*pyList)
	if !ok {
		return nil, u.invalid("%s on %s, want a list", op, typeName(v))
	}
	return l, nil
}

// setItem adds a string key; a key set twice is refused (Python would keep
// the last value silently; pickling a dict never writes a key twice).
func (u *unpickler) setItem(d *pyDict, k, v any) error {
	key, ok := k.(string)
	if !ok {
		return u.invalid("dict key is %s, want a string", typeName(k))
	}
	if _, dup := d.vals[key]; dup {
		return u.invalid("dict key %q is set twice", key)
	}
	d.keys = append(d.keys, key)
	d.vals[key] = v
	return nil
}

// global resolves an allowed global; every other one is refused.
func (u *unpickler) global(module, name string) (*pyGlobal, error) {
	g := &pyGlobal{module: module, name: name}
	switch {
	case module == "collections" && name == "OrderedDict":
		g.kind = gOrderedDict
	case module == "torch._utils" && name == "_rebuild_tensor_v2":
		g.kind = gRebuildV2
	case module == "torch._utils" && name == "_rebuild_tensor_v3":
		g.kind = gRebuildV3
	case module == "torch._utils" && name == "_rebuild_parameter":
		g.kind = gRebuildParameter
	case (module == "torch" || module == "torch.storage") && name == "UntypedStorage":
		g.kind = gStorageClass
	case module == "torch" && storageDTypes[name] != "":
		g.kind, g.dtype = gStorageClass, storageDTypes[name]
	case module == "torch" && torchDTypes[name] != "":
		g.kind, g.dtype = gDType, torchDTypes[name]
	case module == "torch" && (strings.HasSuffix(name, "Storage") || isTorchDTypeName(name)):
		return nil, u.unsupported("the pickle names %s.%s, a type with no safetensors dtype, which this package cannot map", module, name)
	default:
		return nil, u.unsupported("refusing the pickle global %s.%s: torch.save never writes it for a state dict, and loading it in Python could run arbitrary code", printable(module), printable(name))
	}
	return g, nil
}

// isTorchDTypeName tells torch dtypes without a safetensors name, so that
// their refusal says so rather than calling the file unsafe.
func isTorchDTypeName(name string) bool {
	switch name {
	case "complex32", "complex128", "cdouble", "chalf", "float4_e2m1fn_x2",
		"bits8", "bits16", "bits1x8", "bits2x4", "bits4x2",
		"qint8", "qint32", "quint8", "quint4x2", "quint2x4",
		"int1", "int2", "int3", "int4", "int5", "int6", "int7",
		"uint1", "uint2", "uint3", "uint4", "uint5", "uint6", "uint7":
		return true
	}
	return false
}

// persistent resolves a persistent id: ('storage', storage class, key,
// location, numel).
func (u *unpickler) persistent(pid any) (*pyStorage, error) {
	t, ok := pid.(pyTuple)
	if !ok || len(t) != 5 {
		return nil, u.invalid("persistent id is %s, want ('storage', class, key, location, numel)", typeName(pid))
	}
	if s, _ := t[0].(string); s != "storage" {
		return nil, u.invalid("persistent id of kind %s, want 'storage'", describe(t[0]))
	}
	g, ok := t[1].(*pyGlobal)
	if !ok || g.kind != gStorageClass {
		return nil, u.invalid("persistent id storage class is %s, want a torch storage class", typeName(t[1]))
	}
	key, ok := t[2].(string)
	if !ok {
		return nil, u.invalid("persistent id key is %s, want a string", typeName(t[2]))
	}
	if key == "" || key == "." || key == ".." || strings.ContainsAny(key, "/\\\x00") {
		return nil, u.invalid("storage key %q is not a plain entry name", key)
	}
	location, ok := t[3].(string)
	if !ok {
		return nil, u.invalid("persistent id location is %s, want a string", typeName(t[3]))
	}
	numel, ok := t[4].(int64)
	if !ok || numel < 0 {
		return nil, u.invalid("storage %q numel is %s, want a non-negative integer", key, describe(t[4]))
	}
	elemBits := int64(8)
	if g.dtype != "" {
		elemBits = int64(g.dtype.Bits())
	}
	if numel > math.MaxInt64/elemBits {
		return nil, u.invalid("storage %q numel %d overflows", key, numel)
	}
	s := &pyStorage{key: key, class: g.module + "." + g.name, dtype: g.dtype, numel: numel, nbytes: numel * elemBits / 8, location: location}
	if old, seen := u.storages[key]; seen {
		if old.class != s.class || old.numel != s.numel {
			return nil, u.invalid("storage %q is named twice with different types or sizes (%s of %d, %s of %d)", key, old.class, old.numel, s.class, s.numel)
		}
		return old, nil
	}
	u.storages[key] = s
	return s, nil
}

// reduce does what calling an allowed global with args would do.
func (u *unpickler) reduce(fv any, args pyTuple) (any, error) {
	g, ok := fv.(*pyGlobal)
	if !ok {
		return nil, u.invalid("REDUCE calls %s, which is not callable", typeName(fv))
	}
	switch g.kind {
	case gOrderedDict:
		if len(args) != 0 {
			return nil, u.unsupported("OrderedDict called with %d arguments; torch.save calls it with none", len(args))
		}
		return &pyDict{vals: make(map[string]any)}, nil
	case gRebuildV2, gRebuildV3:
		return u.rebuildTensor(g, args)
	case gRebuildParameter:
		if len(args) != 3 {
			return nil, u.invalid("_rebuild_parameter with %d arguments, want 3", len(args))
		}
		t, ok := args[0].(*pyTensor)
		if !ok {
			return nil, u.invalid("_rebuild_parameter of %s, want a tensor", typeName(args[0]))
		}
		return t, nil
	}
	return nil, u.unsupported("REDUCE calls %s.%s, which torch.save never calls", g.module, g.name)
}

// rebuildTensor checks the arguments of _rebuild_tensor_v2 (storage,
// storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
// or _rebuild_tensor_v3 (the same with dtype before metadata).
func (u *unpickler) rebuildTensor(g *pyGlobal, args pyTuple) (*pyTensor, error) {
	want := 6
	if g.kind == gRebuildV3 {
		want = 7
	}
	if len(args) != want && len(args) != want+1 {
		return nil, u.invalid("%s with %d arguments, want %d or %d", g.name, len(args), want, want+1)
	}
	s, ok := args[0].(*pyStorage)
	if !ok {
		return nil, u.invalid("%s of %s, want a storage", g.name, typeName(args[0]))
	}
	t := &pyTensor{storage: s, dtype: s.dtype}
	off, ok := args[1].(int64)
	if !ok || off < 0 {
		return nil, u.invalid("%s storage_offset is %s, want a non-negative integer", g.name, describe(args[1]))
	}
	t.offset = off
	var err error
	if t.size, err = u.ints(g.name+" size", args[2]); err != nil {
		return nil, err
	}
	if t.stride, err = u.ints(g.name+" stride", args[3]); err != nil {
		return nil, err
	}
	if len(t.size) != len(t.stride) {
		return nil, u.invalid("%s size has %d dimensions but stride %d", g.name, len(t.size), len(t.stride))
	}
	if _, ok := args[4].(bool); !ok {
		return nil, u.invalid("%s requires_grad is %s, want a bool", g.name, typeName(args[4]))
	}
	switch args[5].(type) {
	case nil, *pyDict:
	default:
		return nil, u.invalid("%s backward_hooks is %s, want an OrderedDict", g.name, typeName(args[5]))
	}
	if g.kind == gRebuildV3 {
		d, ok := args[6].(*pyGlobal)
		if !ok || d.kind != gDType {
			return nil, u.invalid("%s dtype is %s, want a torch dtype", g.name, typeName(args[6]))
		}
		t.dtype = d.dtype
	} else if s.dtype == "" {
		return nil, u.invalid("%s of an UntypedStorage, which needs _rebuild_tensor_v3 and a dtype", g.name)
	}
	if len(args) == want+1 {
		switch args[want].(type) {
		case nil, *pyDict:
		default:
			return nil, u.invalid("%s metadata is %s, want a dict", g.name, typeName(args[want]))
		}
	}
	return t, nil
}

// ints reads a tuple of non-negative integers (a size or a stride).
func (u *unpickler) ints(what string, v any) ([]int64, error) {
	t, ok := v.(pyTuple)
	if !ok {
		return nil, u.invalid("%s is %s, want a tuple of integers", what, typeName(v))
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok || n < 0 {
			return nil, u.invalid("%s[%d] is %s, want a non-negative integer", what, i, describe(x))
		}
		out[i] = n
	}
	return out, nil
}

// decodeLong decodes a little-endian two's complement integer of up to 8
// bytes.
func decodeLong(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	if len(b) > 8 {
		return 0, false
	}
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	if b[len(b)-1]&0x80 != 0 { // negative: sign-extend
		v |= ^uint64(0) << (8 * uint(len(b))) // 0 when len(b) is 8
	}
	return int64(v), true
}

// typeName names a value's Python type, without looking inside it (a
// pickle can build cyclic values).
func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "a bool"
	case int64:
		return "an int"
	case float64:
		return "a float"
	case string:
		return "a str"
	case pyTuple:
		return fmt.Sprintf("a tuple of %d", len(v))
	case *pyList:
		return "a list"
	case *pyDict:
		return "a dict"
	case *pyGlobal:
		return printable(v.module) + "." + printable(v.name)
	case *pyStorage:
		return "a storage"
	case *pyTensor:
		return "a tensor"
	}
	return fmt.Sprintf("%T", v)
}

// describe shows a scalar's value, or the type of anything else.
func describe(v any) string {
	switch v := v.(type) {
	case int64:
		return fmt.Sprint(v)
	case string:
		return fmt.Sprintf("%q", printable(v))
	}
	return typeName(v)
}

// printable shortens a string from the file for an error message.
func printable(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

func opcodeName(code byte) string {
	names := map[byte]string{
		'I': "INT", 'L': "LONG", 'S': "STRING", 'T': "BINSTRING", 'U': "SHORT_BINSTRING",
		'V': "UNICODE", 'F': "FLOAT", 'P': "PERSID", 'g': "GET", 'p': "PUT", 'd': "DICT",
		'l': "LIST", 'i': "INST", 'o': "OBJ", 'B': "BINBYTES", 'C': "SHORT_BINBYTES",
		0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x8e: "BINBYTES8", 0x8f: "EMPTY_SET",
		0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX", 0x96: "BYTEARRAY8",
		0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
	}
	if n, ok := names[code]; ok {
		return fmt.Sprintf("%s (0x%02x)", n, code)
	}
	return fmt.Sprintf("0x%02x", code)
}
