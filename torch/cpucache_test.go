package torch_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/torch"
)

// TestCPUCacheBlockSizes checks the cache's rounding: a block holds its
// request with less than 25% to spare, the worst case (just above a power
// of two) comes close to that, and requests too large to round (beyond
// 2^62 bytes) are not rounded, instead of looping for ever.
func TestCPUCacheBlockSizes(t *testing.T) {
	blockSize := func(n uint64) uint64 {
		t.Helper()
		got := make(chan uint64, 1)
		go func() {
			b, err := torch.CPUCacheBlockSize(n)
			assert.NoError(t, err)
			got <- b
		}()
		select {
		case b := <-got:
			return b
		case <-time.After(30 * time.Second):
			t.Fatalf("block size for a request of %d bytes: no answer after 30 s", n)
			return 0
		}
	}
	for _, n := range []uint64{1<<62 + 1, 1<<63 + 1, math.MaxUint64} {
		assert.Equal(t, n, blockSize(n), "a request of %d bytes is not rounded", n)
	}
	for k := 20; k < 62; k++ {
		for _, n := range []uint64{1<<k - 1, 1 << k, 1<<k + 1, 1<<k + 1<<(k-2), 1<<k + 1<<(k-2) + 1, 3 << (k - 1)} {
			b := blockSize(n)
			require.GreaterOrEqual(t, b, n, "request %d", n)
			require.Less(t, b-n, n/4, "request %d: block %d has 25%% or more to spare", n, b)
			require.Zero(t, b%64, "request %d: block %d is not a multiple of 64 bytes", n, b)
		}
		// Just above a power of two, the spare room is a quarter of it,
		// less one byte.
		assert.Equal(t, uint64(1<<k+1<<(k-2)), blockSize(1<<k+1))
	}
}
