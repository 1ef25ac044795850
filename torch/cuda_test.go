package torch_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/torch"
)

// requireCUDA skips a CUDA test without a GPU (testenv.RequireCUDA).
func requireCUDA(t *testing.T) { testenv.RequireCUDA(t, torch.CUDAIsAvailable()) }

// TestNoCUDADeviceErrors checks, on machines without a GPU, that asking for
// one fails with ErrNoCUDA and says what to do.
func TestNoCUDADeviceErrors(t *testing.T) {
	if torch.CUDAIsAvailable() {
		t.Skip("a CUDA device is visible: the no-GPU errors cannot occur")
	}
	x, err := torch.FromSlice([]float32{1, 2})
	require.NoError(t, err)
	defer x.Close()
	for _, d := range []torch.Device{torch.CUDA(0), torch.CUDA(-1)} {
		_, err = x.To(d)
		require.ErrorIs(t, err, torch.ErrNoCUDA)
		assert.Contains(t, err.Error(), d.String()+" requested")
		assert.Contains(t, err.Error(), "use device cpu")
		require.ErrorIs(t, torch.CheckDevice(d), torch.ErrNoCUDA)
		require.ErrorIs(t, torch.CUDASynchronize(d), torch.ErrNoCUDA)
	}
	f := fixtures(t, "cpu")
	_, err = torch.Load(f.Modules["tensor"].Path, torch.CUDA(0))
	require.ErrorIs(t, err, torch.ErrNoCUDA)
}

func TestCUDATensorRoundTrip(t *testing.T) {
	requireCUDA(t)
	x, err := torch.FromSlice([]float32{1, -2.5, 3.25, 1e-30, 7, 8}, 2, 3)
	require.NoError(t, err)
	defer x.Close()
	for _, d := range []torch.Device{torch.CUDA(-1), torch.CUDA(0)} {
		g, err := x.To(d)
		require.NoError(t, err)
		assert.True(t, g.Device().IsCUDA())
		assert.Equal(t, 0, g.Device().Index, "%s is device 0", d)
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
	requireCUDA(t)
	forwardFixture(t, torch.CUDA(0), "cuda")
	require.NoError(t, torch.CUDASynchronize(torch.CUDA(0)))
	// "cuda" is device 0: the module says so, and shares its forward thread.
	f := fixtures(t, "cuda")
	m, err := torch.Load(f.Modules["tensor"].Path, torch.CUDA(-1))
	require.NoError(t, err)
	defer m.Close()
	assert.Equal(t, torch.CUDA(0), m.Device())
}
