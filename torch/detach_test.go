package torch_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/torch"
)

// spinRounds returns the argument of the spin fixture that makes a pass of
// about d on this machine, as fast or slow as it is now (-race, other
// processes).
func spinRounds(t *testing.T, m *torch.Module, x *torch.Tensor, d time.Duration) int64 {
	t.Helper()
	const probe = 2000
	t0 := time.Now()
	out, err := m.Forward(context.Background(), x, int64(probe))
	require.NoError(t, err)
	torch.CloseValue(out)
	perRound := time.Since(t0) / probe
	return max(int64(d/max(perRound, 1)), probe)
}

// TestForwardWaitFailureKeepsModuleLocked makes Forward's wait for the
// forward thread fail while the pass runs: the pass still uses the module
// and will still write to the eventfd, so Forward must leave the module
// locked and the descriptor open until the pass ends. With two failures,
// the background goroutine's wait fails too, and it reads the descriptor
// directly.
func TestForwardWaitFailureKeepsModuleLocked(t *testing.T) {
	f := fixtures(t, "cpu")
	x := inputTensors(t, f)[0]
	for _, failures := range []int{1, 2} {
		m, err := torch.Load(f.Modules["spin"].Path, torch.CPU)
		require.NoError(t, err)
		n := spinRounds(t, m, x, time.Second)

		before := m.Stats().Forwards
		restore := torch.FailWaits(failures, errors.New("injected poller failure"))
		_, err = m.Forward(context.Background(), x, n)
		require.ErrorContains(t, err, "injected poller failure")
		assert.Contains(t, err.Error(), "the pass finishes in the background")

		// Close must wait for the pass, which is then recorded.
		require.NoError(t, m.Close())
		restore()
		assert.Equal(t, before+1, m.Stats().Forwards, "%d failed waits: Close returned before the pass it waits for had ended", failures)
		assert.Zero(t, m.Stats().Failures)
	}
}
