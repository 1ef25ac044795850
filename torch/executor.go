//go:build cgo

package torch

import (
	"context"
	"runtime"
	"sync"
)

// libtorch parallelises each CPU operator with OpenMP, and OpenMP keeps one
// thread team per calling OS thread. A goroutine that calls libtorch moves
// between OS threads, so a Go program would build a team per thread it
// happened to call from, and the teams would spin against each other on the
// same cores (measured: a forward pass 15-45% slower than Python's on 2
// cores). Forward passes run on the shim's own thread per device (see
// Module.forward); where that needs an eventfd the platform lacks, they run
// here instead, on one OS-locked thread per device, as they do from
// Python's main thread. Concurrent callers queue there; on a CPU that costs
// nothing, since one forward pass already keeps every core busy.
type executor struct {
	jobs chan func()
}

var (
	executorsMu sync.Mutex
	executors   = map[Device]*executor{}
)

func executorFor(d Device) *executor {
	d = canonicalDevice(d) // one thread per device, however it is spelt
	executorsMu.Lock()
	defer executorsMu.Unlock()
	if e, ok := executors[d]; ok {
		return e
	}
	e := &executor{jobs: make(chan func())}
	go e.loop()
	executors[d] = e
	return e
}

func (e *executor) loop() {
	runtime.LockOSThread() // never unlocked: this goroutine is the thread's only user
	for f := range e.jobs {
		f()
	}
}

// run calls f on the executor's thread and waits for it. A ctx cancelled
// before f starts abandons the call; once started, f runs to the end.
func (e *executor) run(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	case e.jobs <- func() { f(); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	}
	<-done
	return nil
}
