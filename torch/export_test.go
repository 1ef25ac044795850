package torch

import (
	"os"
	"sync/atomic"
)

// Hooks into the package's internals for its external tests (package
// torch_test); this file is compiled only into the test binary.

// LastPassThreads returns the intra-op thread count the module's last
// forward pass ran with, as read on the thread that ran it.
func (m *Module) LastPassThreads() int { return int(m.stats.threads.Load()) }

// FailWaits makes the next n waits for a forward pass on its eventfd fail
// with err at once (a failure of the runtime's poller, which Forward must
// survive without unlocking the module under the running pass). Forward
// waits once; the goroutine that then waits for the pass in the background
// falls back to reading the descriptor directly after its first failure.
// It returns the function that undoes it.
func FailWaits(n int, err error) (restore func()) {
	injectedWaitErr.Store(&err)
	injectedWaits.Store(int32(n))
	return func() { injectedWaits.Store(0) }
}

var (
	injectedWaits   atomic.Int32
	injectedWaitErr atomic.Pointer[error]
)

func init() {
	waitForPass = func(f *os.File) error {
		for {
			n := injectedWaits.Load()
			if n <= 0 {
				return waitEventFD(f)
			}
			if injectedWaits.CompareAndSwap(n, n-1) {
				return *injectedWaitErr.Load()
			}
		}
	}
}

// CPUCacheBlockSize returns the size of the block the CPU cache hands out
// for a request of n bytes (from its 1 MiB minimum up).
func CPUCacheBlockSize(n uint64) (uint64, error) { return cpuCacheBlockSize(n) }

// SameForwardQueue reports whether modules on devices a and b share the
// executor that runs forward passes where no eventfd is available.
func SameForwardQueue(a, b Device) bool { return executorFor(a) == executorFor(b) }

// LoadDevice returns the device Load hands to the shim (whose forward
// threads are keyed by it) for a module loaded on d.
func LoadDevice(d Device) Device { return canonicalDevice(d) }
