package torch

/*
#include <stdlib.h>
#include "hfpipe_torch.h"
*/
import "C"

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Version returns the libtorch version the shim was built against, e.g. "2.10.0".
func Version() string {
	var p *C.char
	if err := check("version", C.hp_version(&p)); err != nil {
		return "unknown"
	}
	return cString(p)
}

// SetNumThreads sets the number of intra-op threads libtorch uses on the CPU
// for forward passes (at::set_num_threads, the same as
// torch.set_num_threads). It is process-wide and may be called at any time:
// OpenMP keeps the count per OS thread, so the binding applies it on the
// thread that runs forward passes before their next operator; a pass
// already running keeps its count.
//
// Every other operation (loading a model, tensor conversions and copies)
// runs on the calling goroutine's OS thread with one intra-op thread. A Go
// program runs cgo calls on many OS threads, and libgomp keeps a thread
// team for every thread that ever ran a parallel region; once it manages
// more threads than there are CPUs it stops spinning between regions, and
// every parallel region of the forward passes then waits for its workers
// to be woken (measured on 2 cores: a batch of 1 × 16 tokens in fast mode
// 9 ms with one team, 15 ms with a second one left by the load).
func SetNumThreads(n int) error {
	return check("set num threads", C.hp_set_num_threads(C.int(n)))
}

// NumThreads returns the number of intra-op threads forward passes use on
// the CPU: the count SetNumThreads last set, else libtorch's default.
func NumThreads() int {
	var n C.int
	if err := check("num threads", C.hp_get_num_threads(&n)); err != nil {
		return 1
	}
	return int(n)
}

// ManualSeed seeds libtorch's random generators (torch.manual_seed).
func ManualSeed(seed uint64) error {
	return check("manual seed", C.hp_manual_seed(C.uint64_t(seed)))
}

// CUDAIsAvailable reports whether libtorch sees at least one CUDA device.
func CUDAIsAvailable() bool {
	var ok C.int
	if err := check("cuda is available", C.hp_cuda_is_available(&ok)); err != nil {
		return false
	}
	return ok != 0
}

// CUDADeviceCount returns the number of CUDA devices libtorch sees.
func CUDADeviceCount() int {
	var n C.int
	if err := check("cuda device count", C.hp_cuda_device_count(&n)); err != nil {
		return 0
	}
	return int(n)
}

// CUDASynchronize waits for all work queued on a CUDA device, so that
// timings of asynchronous GPU work are real.
func CUDASynchronize(d Device) error {
	if err := CheckDevice(d); err != nil {
		return err
	}
	idx := d.Index
	if idx < 0 {
		idx = 0
	}
	return check("cuda synchronize", C.hp_cuda_synchronize(C.int(idx)))
}

// Native memory held by tensors and modules is invisible to the Go garbage
// collector, so finaliser-only code could pile up gigabytes before Go feels
// any heap pressure. We count the bytes owned by open objects and force a
// collection when they exceed twice the smallest count seen since the last
// forced collection (our estimate of what is really reachable, reached once
// the finalisers of that collection have run), with a floor of 64 MiB.
const nativeGCFloor = 64 << 20

var (
	liveNative atomic.Int64
	lowNative  atomic.Int64 // smallest liveNative since the last forced GC
	nativeGCMu sync.Mutex
)

func nativeAlloc(n int64) {
	if n <= 0 {
		return
	}
	live := liveNative.Add(n)
	if live <= nativeGCFloor || live <= 2*lowNative.Load() {
		return
	}
	if !nativeGCMu.TryLock() {
		return // another goroutine is already collecting
	}
	defer nativeGCMu.Unlock()
	// The finalisers of the previous forced collection have freed their
	// tensors by now; hand those pages back to the OS, since glibc keeps
	// them in per-thread arenas otherwise (cgo calls and finalisers run on
	// many threads).
	ReleaseMemory()
	lowNative.Store(liveNative.Load())
	runtime.GC()
}

func nativeFree(n int64) {
	live := liveNative.Add(-n)
	for {
		low := lowNative.Load()
		if live >= low || lowNative.CompareAndSwap(low, live) {
			return
		}
	}
}

// LiveNativeBytes returns the bytes of libtorch memory held by tensors and
// modules that are not closed or finalised yet (an estimate: storage shared
// between tensors is counted once per tensor).
func LiveNativeBytes() int64 { return liveNative.Load() }

// callingThreadOMPThreads returns the OpenMP thread count of the calling
// OS thread's next parallel region, untouched (0 without OpenMP); the tests'
// view of what the binding leaves on the threads it is called on.
func callingThreadOMPThreads() int {
	var n C.int
	C.hp_calling_thread_omp_threads(&n)
	return int(n)
}
