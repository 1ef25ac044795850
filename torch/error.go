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
}

// Error returns "torch: <op>: <cause>".
func (e *Error) Error() string { return "torch: " + e.Op + ": " + strings.TrimSpace(e.Msg) }

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

// check turns a shim error string into a Go error and frees it.
func check(op string, cerr *C.char) error {
	if cerr == nil {
		return nil
	}
	msg := C.GoString(cerr)
	C.hp_free_error(cerr)
	return newError(op, msg)
}

// cString returns a C string owned by the shim (malloc'd) as Go and frees it.
func cString(p *C.char) string {
	s := C.GoString(p)
	C.hp_free_error(p)
	return s
}

func errorf(op, format string, args ...any) error {
	return &Error{Op: op, Msg: fmt.Sprintf(format, args...)}
}
