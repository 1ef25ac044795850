package torch

/*
#include <stdlib.h>
#include "hfpipe_torch.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Module is a TorchScript module (a file written by torch.jit.save) loaded
// on one device. Forward is safe for concurrent use; Close waits for running
// calls to finish.
type Module struct {
	mu      sync.RWMutex
	h       C.hp_module
	path    string
	device  Device
	nbytes  int64
	native  bool        // LoadNative's: nbytes counts weights that may lie in a file's pages
	fast    FastKernels // LoadNative's fast-mode kernels (FastOff: exact)
	cleanup runtime.Cleanup
	stats   moduleStats
}

// ModuleStats counts a module's forward passes. ComputeTime is the time
// spent inside libtorch's forward; CallTime the time from entering Forward
// to its return, so CallTime-ComputeTime is what the binding added (input
// conversion, hand-over to the forward thread, output conversion).
type ModuleStats struct {
	Forwards    int64         // calls that reached libtorch
	Failures    int64         // of those, calls that returned an error
	ComputeTime time.Duration // inside libtorch's forward
	CallTime    time.Duration // in Forward, for the same calls
}

type moduleStats struct {
	forwards, failures, computeNS, callNS atomic.Int64
	threads                               atomic.Int32 // intra-op threads of the last pass
}

// Stats returns the module's forward counters since it was loaded; they
// are safe to read while other goroutines call Forward.
func (m *Module) Stats() ModuleStats {
	return ModuleStats{
		Forwards:    m.stats.forwards.Load(),
		Failures:    m.stats.failures.Load(),
		ComputeTime: time.Duration(m.stats.computeNS.Load()),
		CallTime:    time.Duration(m.stats.callNS.Load()),
	}
}

// moduleOverhead is what the accounting charges for a module beyond its
// parameters and buffers: the compiled graphs and code, which libtorch does
// not report. A rough figure is enough; it only decides when unreachable,
// unclosed modules make the binding force a collection.
const moduleOverhead = 1 << 20

type moduleRef struct {
	h      C.hp_module
	nbytes int64
}

func freeModule(r moduleRef) {
	C.hp_module_free(r.h)
	nativeFree(r.nbytes)
}

// Load reads a TorchScript file and places its parameters on device.
func Load(path string, device Device) (*Module, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &wrapError{fmt.Sprintf("torch: load module: %s does not exist: export the model to TorchScript first (torch.jit.save)", path), err}
	case err != nil:
		return nil, fmt.Errorf("torch: load module: %w", err)
	case st.IsDir():
		return nil, fmt.Errorf("torch: load module: %s is a directory, not a TorchScript file", path)
	}
	if err := CheckDevice(device); err != nil {
		return nil, err
	}
	// The shim keys its forward threads by this device: "cuda" and
	// "cuda:0" must be one key, so that one GPU has one forward thread.
	device = canonicalDevice(device)
	cp, cd := C.CString(path), C.CString(device.String())
	defer C.free(unsafe.Pointer(cp))
	defer C.free(unsafe.Pointer(cd))
	var h C.hp_module
	if err := check("load "+path, C.hp_module_load(cp, cd, &h)); err != nil {
		var te *Error
		if errors.As(err, &te) && (strings.Contains(te.Msg, "zip archive") || strings.Contains(te.Msg, "PytorchStreamReader")) {
			te.Msg = "not a readable TorchScript archive (corrupt, truncated, or not written by torch.jit.save): " + te.Msg
		}
		return nil, err
	}
	var nb C.size_t
	if err := check("module nbytes", C.hp_module_nbytes(h, &nb)); err != nil {
		C.hp_module_free(h)
		return nil, err
	}
	m := &Module{h: h, path: path, device: device, nbytes: int64(nb) + moduleOverhead}
	nativeAlloc(m.nbytes)
	m.cleanup = runtime.AddCleanup(m, freeModule, moduleRef{h, m.nbytes})
	return m, nil
}

// Device returns the device the module was loaded on, with its index
// made explicit: a module loaded on CUDA(-1) reports CUDA(0).
func (m *Module) Device() Device { return m.device }

// Path returns the file the module was loaded from.
func (m *Module) Path() string { return m.path }

// Forward runs the module's forward method under inference mode (no
// autograd) and returns its output, which the caller owns (CloseValue).
// Inputs are *Tensor, int64, float64, bool, string, nil or Tuple values.
//
// Passes on one device run one at a time, in order of arrival, each with
// all of libtorch's intra-op threads. When ctx ends while a pass is queued
// or running, Forward returns ctx's error at once; a native module's pass
// stops before its next layer, a TorchScript pass (which libtorch cannot
// stop midway) runs to its end in the background; either way its output is
// dropped, and Close waits for it.
func (m *Module) Forward(ctx context.Context, inputs ...Value) (Value, error) {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("torch: forward: %w", err)
	}
	m.mu.RLock()
	// A pass left running after ctx ended takes the read lock over, so
	// that Close cannot free the module under it.
	locked := true
	defer func() {
		if locked {
			m.mu.RUnlock()
		}
	}()
	if m.h == nil {
		return nil, ErrClosed
	}
	unlock := lockTensors(Tuple(inputs))
	defer unlock()
	ivs := (*C.hp_ivalue)(C.malloc(C.size_t(len(inputs)+1) * C.size_t(unsafe.Sizeof(C.hp_ivalue(nil)))))
	defer C.free(unsafe.Pointer(ivs))
	args := unsafe.Slice(ivs, len(inputs))
	for i := range args {
		args[i] = nil
	}
	defer func() {
		for _, a := range args {
			C.hp_ivalue_free(a)
		}
	}()
	for i, in := range inputs {
		iv, err := toIValue(in)
		if err != nil {
			return nil, fmt.Errorf("torch: forward input %d: %w", i, err)
		}
		args[i] = iv
	}
	res, detached, err := m.forward(ctx, start, ivs, len(inputs))
	switch {
	case detached:
		locked = false
		return nil, err
	case res.computeNS < 0: // libtorch never saw the call
		return nil, err
	case err != nil:
		m.record(start, res, true)
		return nil, err
	}
	defer C.hp_ivalue_free(res.out)
	v, err := fromIValue(res.out)
	m.record(start, res, err != nil)
	return v, err
}

// WarmUp runs one forward pass on inputs (any small valid ones) and drops
// its output, so that what a module's first pass pays once (page faults on
// weights in a file's pages, oneDNN's and MKL's kernel set-up, the forward
// thread's start, the allocator's first pages) is paid before the first real
// call; outputs of later passes are the same bits with or without it. Stats
// do not count the pass: call WarmUp before other goroutines use the module.
func (m *Module) WarmUp(ctx context.Context, inputs ...Value) error {
	before := m.Stats()
	out, err := m.Forward(ctx, inputs...)
	if err != nil {
		return err
	}
	CloseValue(out)
	after := m.Stats()
	m.stats.forwards.Add(before.Forwards - after.Forwards)
	m.stats.failures.Add(before.Failures - after.Failures)
	m.stats.computeNS.Add(int64(before.ComputeTime - after.ComputeTime))
	m.stats.callNS.Add(int64(before.CallTime - after.CallTime))
	return nil
}

// passResult is what the shim reports about a forward pass.
type passResult struct {
	out       C.hp_ivalue // nil when the pass failed
	computeNS int64       // time inside libtorch; -1 when libtorch never saw the call
	threads   int         // intra-op threads the pass ran with
}

// record counts a pass that reached libtorch.
func (m *Module) record(start time.Time, res passResult, failed bool) {
	m.stats.forwards.Add(1)
	m.stats.computeNS.Add(res.computeNS)
	m.stats.callNS.Add(int64(time.Since(start)))
	m.stats.threads.Store(int32(res.threads))
	if failed {
		m.stats.failures.Add(1)
	}
}

// forward runs the pass on the shim's forward thread and parks the
// goroutine on an eventfd until it is done: a goroutine sitting in a long
// cgo call would keep the runtime's monitor thread waking up and taking CPU
// from libtorch's threads (measured: forward passes up to 16% slower than
// Python's at small shapes on 2 cores). Where no eventfd can be had, the
// pass runs as a plain cgo call on the locked-thread executor.
//
// When ctx ends first, or the wait for the forward thread fails, forward
// returns its error with detached set: a goroutine of its own then waits
// for the pass, records it, frees its output and releases the module's read
// lock, which the caller must no longer do.
// The inputs are copied into the job (tensors by reference), so the caller
// may free ivs and unlock its tensors either way.
func (m *Module) forward(ctx context.Context, start time.Time, ivs *C.hp_ivalue, n int) (res passResult, detached bool, err error) {
	op := "forward of " + m.path
	never := passResult{computeNS: -1}
	done, fd, err := getEventFD()
	if err != nil {
		var cerr *C.char
		var ns C.int64_t
		var threads C.int
		if err := executorFor(m.device).run(ctx, func() {
			cerr = C.hp_module_forward(m.h, ivs, C.int(n), &res.out, &ns, &threads)
		}); err != nil {
			return never, false, fmt.Errorf("torch: forward: %w", err)
		}
		res.computeNS, res.threads = int64(ns), int(threads)
		return res, false, check(op, cerr)
	}
	var job C.hp_forward_job
	if err := check(op, C.hp_module_forward_async(m.h, ivs, C.int(n), C.int(fd), &job)); err != nil {
		putEventFD(done, fd)
		return never, false, err
	}
	finish := func() (passResult, error) {
		defer C.hp_forward_job_free(job)
		var res passResult
		var ns C.int64_t
		var threads C.int
		err := check(op, C.hp_forward_job_result(job, &res.out, &ns, &threads))
		res.computeNS, res.threads = int64(ns), int(threads)
		return res, err
	}
	// Ending ctx sets a deadline in the past, which ends the Read below.
	stop := context.AfterFunc(ctx, func() { done.SetReadDeadline(time.Unix(1, 0)) })
	werr := waitForPass(done)
	stopped := stop()
	if werr == nil {
		if stopped {
			// The read reset the counter to zero, so the descriptor can
			// serve the next call.
			putEventFD(done, fd)
		} else {
			// The deadline may still be set behind our back.
			done.Close()
		}
		res, err := finish()
		return res, false, err
	}
	// The pass may still be running: it uses the module and will write to
	// fd. A native pass stops at its next layer when asked; either way a
	// goroutine of its own waits for it, holding the module's read lock and
	// keeping the descriptor open until then.
	C.hp_forward_job_cancel(job)
	go m.awaitDetached(start, done, fd, finish)
	if errors.Is(werr, os.ErrDeadlineExceeded) && ctx.Err() != nil {
		return never, true, fmt.Errorf("torch: forward: %w (the pass finishes in the background)", ctx.Err())
	}
	return never, true, fmt.Errorf("torch: forward: waiting for the forward thread: %w (the pass finishes in the background)", werr)
}

// awaitDetached waits for a pass that Forward stopped waiting for, then
// records it, frees its output and job, closes the descriptor and releases
// the module's read lock, which Forward handed over.
func (m *Module) awaitDetached(start time.Time, done *os.File, fd int, finish func() (passResult, error)) {
	defer m.mu.RUnlock()
	awaitEventFD(done, fd)
	done.Close() // the shim has written its last to fd
	res, err := finish()
	if err == nil {
		C.hp_ivalue_free(res.out)
	}
	m.record(start, res, err != nil)
}

// awaitEventFD returns once the forward thread has added to the eventfd,
// whatever happens to the runtime's poller: if it cannot serve f, the
// descriptor is read directly (f, which the caller closes afterwards, keeps
// it open). It never gives up: while a pass runs, its module must stay
// locked and its descriptor open.
func awaitEventFD(f *os.File, fd int) {
	for {
		// Clear ctx's deadline; if the AfterFunc sets it late, the read
		// fails once more and the loop clears it again.
		f.SetReadDeadline(time.Time{})
		err := waitForPass(f)
		if err == nil {
			return
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
	}
	for delay := time.Millisecond; !readEventFD(fd); delay = min(2*delay, 100*time.Millisecond) {
		time.Sleep(delay)
	}
}

// waitForPass is how forward passes are waited for on their eventfd; the
// tests replace it, once, to make waits fail.
var waitForPass = waitEventFD

// waitEventFD reads the 8-byte counter the forward thread adds to.
func waitEventFD(f *os.File) error {
	var buf [8]byte
	for {
		k, err := f.Read(buf[:])
		if err == nil && k == len(buf) {
			return nil
		}
		if err != nil && !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// Close frees the module. It is safe to call more than once.
func (m *Module) Close() error {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return nil
	}
	m.cleanup.Stop()
	freeModule(moduleRef{m.h, m.nbytes})
	m.h = nil
	return nil
}
