//go:build cgo

package torch

import (
	"os"
	"sync"
)

// eventFD is a notification descriptor for the shim's forward thread.
type eventFD struct {
	f  *os.File
	fd int
}

// eventFDs keeps descriptors between forward passes: creating and closing
// one per call costs two syscalls and a poller registration each time.
// Descriptors the pool drops are closed by *os.File's finaliser.
var eventFDs sync.Pool

// getEventFD returns an idle descriptor from the pool or a new one.
func getEventFD() (*os.File, int, error) {
	if e, ok := eventFDs.Get().(eventFD); ok {
		return e.f, e.fd, nil
	}
	return newEventFD()
}

// putEventFD hands back a descriptor whose counter is zero (nothing pending).
func putEventFD(f *os.File, fd int) { eventFDs.Put(eventFD{f, fd}) }
