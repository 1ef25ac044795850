package torch_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/torch"
)

// TestForwardSharedTensorsRacingClose passes the same tensor several times,
// and two tensors in both orders, to Forward while other goroutines Close
// them. A read lock taken twice on one tensor, or read locks taken in
// different orders, deadlock as soon as a Close waits between them.
func TestForwardSharedTensorsRacingClose(t *testing.T) {
	f := fixtures(t, "cpu")
	m, err := torch.Load(f.Modules["tensor"].Path, torch.CPU)
	require.NoError(t, err)
	ctx := context.Background()
	deadlocked := false
	defer func() {
		if !deadlocked { // else Close would wait for the stuck Forward
			m.Close()
		}
	}()
	newTensor := func() *torch.Tensor {
		x, err := torch.FromSlice([]float32{1, 2})
		require.NoError(t, err)
		return x
	}
	// run starts every function at once and fails the test if they do not
	// all return within 30 s (each returns in microseconds).
	run := func(what string, fns ...func()) {
		var wg sync.WaitGroup
		for _, fn := range fns {
			wg.Add(1)
			go func() { defer wg.Done(); fn() }()
		}
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-time.After(30 * time.Second):
			deadlocked = true
			t.Fatalf("deadlock: %s", what)
		}
	}
	// Forward fails (too many arguments) after locking its inputs, which is
	// all this test needs.
	for i := 0; i < 300; i++ {
		x := newTensor()
		same := make([]torch.Value, 32)
		for j := range same {
			same[j] = x
		}
		run("Forward(x, x, ...) racing x.Close()",
			func() { m.Forward(ctx, same...) },
			func() { x.Close() })
	}
	for i := 0; i < 1000; i++ {
		a, b := newTensor(), newTensor()
		run("Forward(a, b) and Forward(b, a) racing a.Close() and b.Close()",
			func() { m.Forward(ctx, a, b, torch.Tuple{a, b}) },
			func() { m.Forward(ctx, b, a, torch.Tuple{b, a}) },
			func() { a.Close() },
			func() { b.Close() })
	}
}
