package torch

/*
#include <stdlib.h>
#include "hfpipe_torch.h"
*/
import "C"

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"unsafe"
)

// Value is what a TorchScript module takes and returns, mirroring
// c10::IValue: *Tensor, int64, float64, bool, string, nil, Tuple, List or
// *Dict. Hugging Face exports return a tensor, a tuple of tensors or a dict.
type Value = any

// Tuple is a TorchScript tuple.
type Tuple []Value

// List is a TorchScript list.
type List []Value

// Dict is a TorchScript dict, in insertion order (as c10::Dict keeps it).
type Dict struct {
	Keys   []Value
	Values []Value
}

// Get returns the value stored under a string key.
func (d *Dict) Get(key string) (Value, bool) {
	for i, k := range d.Keys {
		if s, ok := k.(string); ok && s == key {
			return d.Values[i], true
		}
	}
	return nil, false
}

// CloseValue closes every tensor inside v (tuples, lists and dicts are
// walked). Forward results are owned by the caller, who closes them with this.
func CloseValue(v Value) {
	switch x := v.(type) {
	case *Tensor:
		x.Close()
	case Tuple:
		for _, e := range x {
			CloseValue(e)
		}
	case List:
		for _, e := range x {
			CloseValue(e)
		}
	case *Dict:
		for i := range x.Keys {
			CloseValue(x.Keys[i])
			CloseValue(x.Values[i])
		}
	}
}

// toIValue builds a C IValue from a Go value. The caller holds read locks on
// every tensor inside (see lockTensors) and frees the result.
func toIValue(v Value) (C.hp_ivalue, error) {
	var out C.hp_ivalue
	var err error
	switch x := v.(type) {
	case *Tensor:
		if x == nil || x.h == nil {
			return nil, ErrClosed
		}
		err = check("ivalue from tensor", C.hp_ivalue_from_tensor(x.h, &out))
	case nil:
		err = check("ivalue none", C.hp_ivalue_none(&out))
	case int:
		err = check("ivalue from int", C.hp_ivalue_from_int(C.int64_t(x), &out))
	case int64:
		err = check("ivalue from int", C.hp_ivalue_from_int(C.int64_t(x), &out))
	case float64:
		err = check("ivalue from double", C.hp_ivalue_from_double(C.double(x), &out))
	case bool:
		b := C.int(0)
		if x {
			b = 1
		}
		err = check("ivalue from bool", C.hp_ivalue_from_bool(b, &out))
	case string:
		cs := C.CString(x)
		err = check("ivalue from string", C.hp_ivalue_from_string(cs, &out))
		C.free(unsafe.Pointer(cs))
	case Tuple:
		elems := make([]C.hp_ivalue, len(x))
		defer func() {
			for _, e := range elems {
				C.hp_ivalue_free(e)
			}
		}()
		for i, e := range x {
			if elems[i], err = toIValue(e); err != nil {
				return nil, err
			}
		}
		// The C array must not hold Go pointers; C handles are C pointers.
		carr := (*C.hp_ivalue)(C.malloc(C.size_t(len(elems)+1) * C.size_t(unsafe.Sizeof(out))))
		defer C.free(unsafe.Pointer(carr))
		copy(unsafe.Slice(carr, len(elems)), elems)
		err = check("ivalue tuple", C.hp_ivalue_tuple(carr, C.int(len(elems)), &out))
	default:
		return nil, fmt.Errorf("torch: cannot pass a %T to a TorchScript module (want *Tensor, int64, float64, bool, string, nil or Tuple)", v)
	}
	return out, err
}

// lockTensors read-locks every tensor inside v so none is closed while
// libtorch uses it, and returns the unlock function. Each tensor is locked
// once, however often it occurs, and tensors are locked in address order:
// a second read lock on one tensor, or two callers locking the same tensors
// in different orders, would deadlock as soon as a Close waits between
// their locks.
func lockTensors(v Value) func() {
	var ts []*Tensor
	var walk func(Value)
	walk = func(v Value) {
		switch x := v.(type) {
		case *Tensor:
			if x != nil {
				ts = append(ts, x)
			}
		case Tuple:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	// Go's heap objects do not move, so addresses give a fixed order.
	slices.SortFunc(ts, func(a, b *Tensor) int { return cmp.Compare(uintptr(unsafe.Pointer(a)), uintptr(unsafe.Pointer(b))) })
	ts = slices.Compact(ts)
	for _, t := range ts {
		t.mu.RLock()
	}
	return func() {
		for _, t := range ts {
			t.mu.RUnlock()
		}
	}
}

// fromIValue converts a C IValue (not freed here) into Go values. On error
// every tensor made so far is closed.
func fromIValue(iv C.hp_ivalue) (v Value, err error) {
	var kind C.int
	if err := check("ivalue kind", C.hp_ivalue_kind(iv, &kind)); err != nil {
		return nil, err
	}
	switch kind {
	case C.HP_IV_NONE:
		return nil, nil
	case C.HP_IV_TENSOR:
		var h C.hp_tensor
		if err := check("ivalue to tensor", C.hp_ivalue_to_tensor(iv, &h)); err != nil {
			return nil, err
		}
		return newTensor(h)
	case C.HP_IV_INT:
		var x C.int64_t
		err := check("ivalue to int", C.hp_ivalue_to_int(iv, &x))
		return int64(x), err
	case C.HP_IV_DOUBLE:
		var x C.double
		err := check("ivalue to double", C.hp_ivalue_to_double(iv, &x))
		return float64(x), err
	case C.HP_IV_BOOL:
		var x C.int
		err := check("ivalue to bool", C.hp_ivalue_to_bool(iv, &x))
		return x != 0, err
	case C.HP_IV_STRING:
		var p *C.char
		if err := check("ivalue to string", C.hp_ivalue_to_string(iv, &p)); err != nil {
			return nil, err
		}
		return cString(p), nil
	case C.HP_IV_TUPLE, C.HP_IV_LIST:
		elems, err := ivalueElems(iv)
		if kind == C.HP_IV_TUPLE {
			return Tuple(elems), err
		}
		return List(elems), err
	case C.HP_IV_DICT:
		return ivalueDict(iv)
	}
	var p *C.char
	name := "unknown"
	if check("ivalue type", C.hp_ivalue_type_name(iv, &p)) == nil {
		name = cString(p)
	}
	return nil, fmt.Errorf("torch: module returned a %s, which the binding does not convert (want tensors, scalars, strings, tuples, lists or dicts)", name)
}

func ivalueElems(iv C.hp_ivalue) ([]Value, error) {
	var n C.int64_t
	if err := check("ivalue len", C.hp_ivalue_len(iv, &n)); err != nil {
		return nil, err
	}
	out := make([]Value, 0, int(n))
	for i := C.int64_t(0); i < n; i++ {
		var e C.hp_ivalue
		if err := check("ivalue elem", C.hp_ivalue_elem(iv, i, &e)); err != nil {
			CloseValue(List(out))
			return nil, err
		}
		v, err := fromIValue(e)
		C.hp_ivalue_free(e)
		if err != nil {
			CloseValue(List(out))
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func ivalueDict(iv C.hp_ivalue) (*Dict, error) {
	var n C.int64_t
	if err := check("ivalue len", C.hp_ivalue_len(iv, &n)); err != nil {
		return nil, err
	}
	d := &Dict{}
	for i := C.int64_t(0); i < n; i++ {
		var k, v C.hp_ivalue
		if err := check("dict item", C.hp_ivalue_dict_item(iv, i, &k, &v)); err != nil {
			CloseValue(d)
			return nil, err
		}
		gk, err1 := fromIValue(k)
		gv, err2 := fromIValue(v)
		C.hp_ivalue_free(k)
		C.hp_ivalue_free(v)
		if err := errors.Join(err1, err2); err != nil {
			CloseValue(gk)
			CloseValue(gv)
			CloseValue(d)
			return nil, err
		}
		d.Keys = append(d.Keys, gk)
		d.Values = append(d.Values, gv)
	}
	return d, nil
}
