//go:build cgo && !linux

package torch

import (
	"errors"
	"os"
)

// newEventFD has no eventfd to offer here; Forward then runs the forward
// pass through the locked-thread executor instead.
func newEventFD() (*os.File, int, error) {
	return nil, -1, errors.New("eventfd is Linux-only")
}

// readEventFD is never called here: without eventfds, Forward never waits
// on one.
func readEventFD(int) bool { return false }
