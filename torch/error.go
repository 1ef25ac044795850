package torch

/*
#include <stdlib.h>
#include "hfpipe_torch.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a failure reported by libtorch, with the operation that failed.
type Error struct {
	Op  string // the binding operation, e.g. "load module"
	Msg string // libtorch's message, without the C++ backtrace
	// Traceback is the TorchScript traceback of an error raised inside a
	// module's code (where in the graph it failed); Msg then holds its
	// last line, the cause.
	Traceback string
	oom       bool // an allocation failure: errors.Is(e, ErrOutOfMemory)
}

// Error returns "torch: <op>: <cause>", and for an allocation failure what
// to do about it.
func (e *Error) Error() string {
	s := "torch: " + e.Op + ": " + strings.TrimSpace(e.Msg)
	if e.oom {
		s += " (out of memory: use smaller batches or shorter inputs, or free memory: close the tensors and modules you are done with, call torch.ReleaseMemory)"
	}
	return s
}

// Is reports whether target is ErrOutOfMemory and e an allocation failure,
// so that errors.Is(err, ErrOutOfMemory) holds for those.
func (e *Error) Is(target error) bool { return target == ErrOutOfMemory && e.oom }

// newError splits a TorchScript interpreter failure into its cause (the
// traceback's last line, e.g. "RuntimeError: mat1 and mat2 shapes cannot be
// multiplied") and the traceback, so that the error reads as the cause.
func newError(op, msg string) *Error {
	msg = strings.TrimSpace(msg)
	if !strings.Contains(msg, "Traceback of TorchScript") {
		return &Error{Op: op, Msg: msg}
	}
	lines := strings.Split(msg, "\n")
	return &Error{Op: op, Msg: strings.TrimSpace(lines[len(lines)-1]), Traceback: msg}
}

// ErrClosed is returned when a Tensor or Module is used after Close.
var ErrClosed = errors.New("torch: use of closed object")

// ErrNoCUDA is wrapped by errors returned when a CUDA device is asked for
// but libtorch sees none.
var ErrNoCUDA = errors.New("CUDA is not available")

// ErrOutOfMemory is matched (errors.Is) by errors of libtorch operations
// that failed to allocate memory, on the CPU or on a CUDA device.
var ErrOutOfMemory = errors.New("out of memory")

// check turns a shim error string into a Go error and frees it.
func check(op string, cerr *C.char) error {
	if cerr == nil {
		return nil
	}
	msg := C.GoString(cerr)
	C.hp_free_error(cerr)
	oom := strings.HasPrefix(msg, C.HP_OOM_TAG)
	e := newError(op, strings.TrimPrefix(msg, C.HP_OOM_TAG))
	e.oom = oom
	return e
}

// wrapError is an error with a message of its own that still matches the
// error it wraps (errors.Is, errors.As).
type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.err }

// cString returns a C string owned by the shim (malloc'd) as Go and frees it.
func cString(p *C.char) string {
	s := C.GoString(p)
	C.hp_free_error(p)
	return s
}

func errorf(op, format string, args ...any) error {
	return &Error{Op: op, Msg: fmt.Sprintf(format, args...)}
}
