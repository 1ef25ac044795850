package torch

import "os"

// Hooks into the package's internals for its external tests (package
// torch_test); this file is compiled only into the test binary.

// LastPassThreads returns the intra-op thread count the module's last
// forward pass ran with, as read on the thread that ran it.
func (m *Module) LastPassThreads() int { return int(m.stats.threads.Load()) }

// FailNextWait makes the next Forward's wait for the forward thread fail
// with err at once (a failure of the runtime's poller, which Forward must
// survive without unlocking the module under the running pass). It returns
// the function that undoes it.
func FailNextWait(err error) (restore func()) {
	waitForPass = func(*os.File) error {
		waitForPass = waitEventFD
		return err
	}
	return func() { waitForPass = waitEventFD }
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
