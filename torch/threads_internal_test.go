package torch

import (
	"runtime"
	"testing"
)

// TestCallingThreadsStaySingleThreaded runs a large tensor conversion (a
// parallel ATen kernel) on a fresh OS thread after SetNumThreads(2): the
// binding must leave that thread at one OpenMP thread, or libgomp keeps a
// second thread team for it and throttles the forward thread's spinning.
func TestCallingThreadsStaySingleThreaded(t *testing.T) {
	old := NumThreads()
	defer SetNumThreads(old)
	if err := SetNumThreads(2); err != nil {
		t.Fatal(err)
	}
	got := make(chan [2]int)
	go func() {
		runtime.LockOSThread() // the thread exits with the goroutine: a fresh one, not reused
		data := make([]float32, 1<<22)
		x, err := FromSlice(data, int64(len(data)))
		if err != nil {
			t.Error(err)
			got <- [2]int{}
			return
		}
		defer x.Close()
		before := callingThreadOMPThreads()
		y, err := x.ToDType(Float64) // 4M elements: ATen's copy runs a parallel region when allowed
		if err != nil {
			t.Error(err)
			got <- [2]int{}
			return
		}
		y.Close()
		got <- [2]int{before, callingThreadOMPThreads()}
	}()
	r := <-got
	if r[0] == 0 && r[1] == 0 {
		t.Skip("libtorch without OpenMP")
	}
	if r[1] != 1 {
		t.Errorf("a conversion left its calling thread at %d OpenMP threads (%d before it), want 1", r[1], r[0])
	}
	if n := NumThreads(); n != 2 {
		t.Errorf("NumThreads() = %d after SetNumThreads(2)", n)
	}
}
