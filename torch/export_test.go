package torch

// Hooks into the package's internals for its external tests (package
// torch_test); this file is compiled only into the test binary.

// LastPassThreads returns the intra-op thread count the module's last
// forward pass ran with, as read on the thread that ran it.
func (m *Module) LastPassThreads() int { return int(m.stats.threads.Load()) }
