package weights

import (
	"errors"
	"fmt"
	"io/fs"
)

// Sentinel errors, to test with errors.Is. Every error this package returns
// for a file it read is an [*Error] wrapping one of them.
var (
	// ErrNotFound: the folder holds none of the checkpoint files Open looks
	// for, or a file an index names is missing. Such errors also match
	// fs.ErrNotExist.
	ErrNotFound = errors.New("checkpoint file not found")
	// ErrInvalid: the file is malformed, truncated or inconsistent (bad
	// header, overlapping tensors, a tensor outside the file, ...). Download
	// it again, or re-save it.
	ErrInvalid = errors.New("invalid checkpoint file")
	// ErrUnsupported: the file may be well formed, but this package refuses
	// it: a pickle naming a global torch.save never writes (it could run
	// code), the legacy non-zip torch.save format, a compressed, big-endian
	// or non-contiguous tensor, a dtype safetensors has no name for. The
	// message tells how to convert the checkpoint to safetensors.
	ErrUnsupported = errors.New("unsupported checkpoint file")
)

// Error describes a checkpoint file that cannot be used: which file, and
// what is wrong with it.
type Error struct {
	// Kind is the sentinel this error wraps: ErrNotFound, ErrInvalid or
	// ErrUnsupported.
	Kind error
	// File is the file (or, for ErrNotFound from Open, the folder) at fault.
	File string
	// Msg says what is wrong and what to do about it.
	Msg string
	// Err is the underlying cause (an I/O error, ...), or nil.
	Err error
}

// Error returns "weights: FILE: MSG", followed by the cause when there is one.
func (e *Error) Error() string {
	s := "weights: " + e.File + ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Kind and, when set, Err.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

func invalidf(file, format string, args ...any) *Error {
	return &Error{Kind: ErrInvalid, File: file, Msg: fmt.Sprintf(format, args...)}
}

func unsupportedf(file, format string, args ...any) *Error {
	return &Error{Kind: ErrUnsupported, File: file, Msg: fmt.Sprintf(format, args...)}
}

// ioError reports a failed read; a missing file is ErrNotFound.
func ioError(file, what string, err error) *Error {
	kind := ErrInvalid
	if errors.Is(err, fs.ErrNotExist) {
		kind = ErrNotFound
	}
	return &Error{Kind: kind, File: file, Msg: what, Err: err}
}

// notRegular refuses a directory, device, pipe, ... where a file should be.
func notRegular(path string, st fs.FileInfo) *Error {
	what := "not a regular file (" + st.Mode().Type().String() + ")"
	if st.IsDir() {
		what = "a directory, not a file"
	}
	return invalidf(path, "%s", what)
}
