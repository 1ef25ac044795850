package torch_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/torch"
)

// requireCUDA reports whether CUDA tests run. Where no GPU is visible they
// check the error path instead; HFPIPE_REQUIRE_CUDA=1 (set by make gpu-check)
// turns a missing GPU into a failure so the GPU machine cannot pass vacuously.
func requireCUDA(t *testing.T) bool {
	if torch.CUDAIsAvailable() {
		return true
	}
	if os.Getenv("HFPIPE_REQUIRE_CUDA") == "1" {
		t.Fatal("HFPIPE_REQUIRE_CUDA=1 but libtorch sees no CUDA device")
	}
	return false
}

func TestCUDATensorRoundTrip(t *testing.T) {
	x, err := torch.FromSlice([]float32{1, -2.5, 3.25, 1e-30, 7, 8}, 2, 3)
	require.NoError(t, err)
	defer x.Close()
	if !requireCUDA(t) {
		_, err := x.To(torch.CUDA(0))
		require.ErrorIs(t, err, torch.ErrNoCUDA)
		assert.Contains(t, err.Error(), "cuda:0 requested")
		assert.Contains(t, err.Error(), "use device cpu")
		require.ErrorIs(t, torch.CheckDevice(torch.CUDA(-1)), torch.ErrNoCUDA)
		return
	}
	for _, d := range []torch.Device{torch.CUDA(-1), torch.CUDA(0)} {
		g, err := x.To(d)
		require.NoError(t, err)
		assert.True(t, g.Device().IsCUDA())
		for _, dt := range []torch.DType{torch.Float32, torch.Float16} {
			c, err := g.ToDType(dt)
			require.NoError(t, err)
			back, err := c.ToDType(torch.Float32)
			require.NoError(t, err)
			got, err := torch.ToSlice[float32](back) // copies device -> host
			require.NoError(t, err)
			if dt == torch.Float32 {
				assert.Equal(t, []float32{1, -2.5, 3.25, 1e-30, 7, 8}, got)
			} else {
				assert.Equal(t, []float32{1, -2.5, 3.25, 0, 7, 8}, got, "1e-30 underflows in float16")
			}
			c.Close()
			back.Close()
		}
		g.Close()
	}
	n := torch.CUDADeviceCount()
	_, err = x.To(torch.CUDA(n))
	require.ErrorContains(t, err, "CUDA device(s) exist")
}

func TestCUDAModuleForwardMatchesPython(t *testing.T) {
	if !requireCUDA(t) {
		f := fixtures(t, "cpu")
		_, err := torch.Load(f.Modules["tensor"].Path, torch.CUDA(0))
		require.ErrorIs(t, err, torch.ErrNoCUDA)
		return
	}
	forwardFixture(t, torch.CUDA(0), "cuda")
	require.NoError(t, torch.CUDASynchronize(torch.CUDA(0)))
}
