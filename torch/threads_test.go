package torch_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/torch"
)

// TestSetNumThreadsReachesForwardPasses changes the thread count after
// forward passes have run: OpenMP fixes a thread's team size at its first
// parallel region, so the count must be applied on the thread that runs the
// passes, and NumThreads must report what they use.
func TestSetNumThreadsReachesForwardPasses(t *testing.T) {
	f := fixtures(t, "cpu")
	m, err := torch.Load(f.Modules["tensor"].Path, torch.CPU)
	require.NoError(t, err)
	defer m.Close()
	inputs := inputTensors(t, f)
	old := torch.NumThreads()
	defer torch.SetNumThreads(old)

	pass := func() {
		t.Helper()
		out, err := m.Forward(context.Background(), inputs[0], inputs[1], inputs[2])
		require.NoError(t, err)
		torch.CloseValue(out)
	}
	pass() // the forward thread's first parallel region fixes its OpenMP team
	for _, n := range []int{1, 3, 2, 1} {
		require.NoError(t, torch.SetNumThreads(n))
		pass()
		assert.Equal(t, n, m.LastPassThreads(), "the forward pass after SetNumThreads(%d) ran with that many threads", n)
		assert.Equal(t, n, torch.NumThreads(), "NumThreads reports what forward passes use")
	}
}
