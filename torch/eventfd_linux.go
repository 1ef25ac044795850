//go:build cgo

package torch

import (
	"os"
	"syscall"
)

// newEventFD returns a non-blocking eventfd as a pollable *os.File (reads
// park the goroutine in the runtime's poller) and its raw descriptor, which
// the shim writes to. Callers must not call Fd() on the file: that would put
// it back into blocking mode.
func newEventFD() (*os.File, int, error) {
	const efdCloexec, efdNonblock = 0x80000, 0x800
	fd, _, errno := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, efdCloexec|efdNonblock, 0)
	if errno != 0 {
		return nil, -1, errno
	}
	return os.NewFile(fd, "hfpipe-forward"), int(fd), nil
}

// readEventFD reads the eventfd's counter directly (without the runtime's
// poller) and reports whether the forward thread had added to it.
func readEventFD(fd int) bool {
	var buf [8]byte
	k, err := syscall.Read(fd, buf[:])
	return err == nil && k == len(buf)
}
