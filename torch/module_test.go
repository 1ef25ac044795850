package torch_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/torch"
)

// assertSameValue compares a forward result with Python's, bitwise.
func assertSameValue(t *testing.T, want encValue, got torch.Value, path string) {
	t.Helper()
	switch want.Kind {
	case "tensor":
		x, ok := got.(*torch.Tensor)
		require.True(t, ok, "%s: want a tensor, got %T", path, got)
		assert.Equal(t, want.Tensor.Shape, x.Shape(), path)
		assert.Equal(t, want.Tensor.DType, x.DType().String(), path)
		assert.Equal(t, want.Tensor.bytes(t), tensorBytes(t, x), "%s: values differ from Python's (bitwise)", path)
	case "tuple":
		tup, ok := got.(torch.Tuple)
		require.True(t, ok, "%s: want a tuple, got %T", path, got)
		require.Len(t, tup, len(want.Items), path)
		for i := range want.Items {
			assertSameValue(t, want.Items[i], tup[i], path+"/"+string(rune('0'+i)))
		}
	case "dict":
		d, ok := got.(*torch.Dict)
		require.True(t, ok, "%s: want a dict, got %T", path, got)
		require.Len(t, d.Keys, len(want.Keys), path)
		for i, k := range want.Keys {
			assert.Equal(t, k, d.Keys[i], "%s: key order", path)
			v, ok := d.Get(k)
			require.True(t, ok, k)
			assertSameValue(t, want.Items[i], v, path+"/"+k)
		}
	default:
		t.Fatalf("unknown fixture kind %q", want.Kind)
	}
}

func forwardFixture(t *testing.T, device torch.Device, fixtureDevice string) {
	f := fixtures(t, fixtureDevice)
	inputs := inputTensors(t, f)
	defer func() {
		for _, x := range inputs {
			x.Close()
		}
	}()
	var args []torch.Value
	for _, x := range inputs {
		if device.IsCUDA() {
			y, err := x.To(device)
			require.NoError(t, err)
			defer y.Close()
			assert.Equal(t, device.Index, y.Device().Index)
			x = y
		}
		args = append(args, x)
	}
	for _, name := range []string{"tensor", "tuple", "dict", "dictonly"} {
		t.Run(name, func(t *testing.T) {
			fx := f.Modules[name]
			m, err := torch.Load(fx.Path, device)
			require.NoError(t, err)
			defer m.Close()
			out, err := m.Forward(context.Background(), args...)
			require.NoError(t, err)
			defer torch.CloseValue(out)
			assertSameValue(t, fx.Output, out, name)
		})
	}
}

func TestForwardMatchesPythonBitwise(t *testing.T) {
	forwardFixture(t, torch.CPU, "cpu")
}

func TestForwardConcurrent(t *testing.T) {
	m, inputs, want := tensorModule(t)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				out, err := m.Forward(context.Background(), inputs[0], inputs[1], inputs[2])
				if !assert.NoError(t, err) {
					return
				}
				assert.Equal(t, want, tensorBytes(t, out.(*torch.Tensor)))
				torch.CloseValue(out)
			}
		}()
	}
	wg.Wait()
	st := m.Stats()
	assert.Equal(t, int64(8*20), st.Forwards)
	assert.Zero(t, st.Failures)
	assert.Positive(t, st.ComputeTime)
	assert.GreaterOrEqual(t, st.CallTime, st.ComputeTime, "a call cannot take less than the forward pass inside it")
}

func TestModuleErrors(t *testing.T) {
	f := fixtures(t, "cpu")
	dir := t.TempDir()

	_, err := torch.Load(filepath.Join(dir, "missing.pt"), torch.CPU)
	require.ErrorContains(t, err, "missing.pt does not exist")

	_, err = torch.Load(dir, torch.CPU)
	require.ErrorContains(t, err, "is a directory")

	garbage := filepath.Join(dir, "garbage.pt")
	require.NoError(t, os.WriteFile(garbage, []byte("this is not a zip archive"), 0o644))
	_, err = torch.Load(garbage, torch.CPU)
	require.ErrorContains(t, err, "not a readable TorchScript archive")

	good, err := os.ReadFile(f.Modules["tensor"].Path)
	require.NoError(t, err)
	truncated := filepath.Join(dir, "truncated.pt")
	require.NoError(t, os.WriteFile(truncated, good[:len(good)/2], 0o644))
	_, err = torch.Load(truncated, torch.CPU)
	require.ErrorContains(t, err, "not a readable TorchScript archive")

	m, err := torch.Load(f.Modules["tensor"].Path, torch.CPU)
	require.NoError(t, err)
	inputs := inputTensors(t, f)
	ctx := context.Background()

	// ids as float32: the embedding lookup rejects them.
	fl, err := torch.FromSlice(make([]float32, 15), 3, 5)
	require.NoError(t, err)
	_, err = m.Forward(ctx, inputs[0], fl, inputs[2])
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int")
	var te *torch.Error
	require.ErrorAs(t, err, &te)
	assert.Contains(t, te.Traceback, "torch.embedding", "the TorchScript traceback says where in the graph")

	// wrong shape: x must be [B, 6] to concatenate with the pooled embedding.
	bad, err := torch.FromSlice(make([]float32, 12), 3, 4)
	require.NoError(t, err)
	_, err = m.Forward(ctx, bad, inputs[1], inputs[2])
	require.Error(t, err)
	assert.Contains(t, err.Error(), "shapes cannot be multiplied (3x12 and 14x4)")

	_, err = m.Forward(ctx, inputs[0])
	require.ErrorContains(t, err, "forward() is missing value for argument 'ids'")

	_, err = m.Forward(ctx, inputs[0], struct{}{}, inputs[2])
	require.ErrorContains(t, err, "cannot pass a struct {}")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = m.Forward(cctx, inputs[0], inputs[1], inputs[2])
	require.ErrorIs(t, err, context.Canceled)

	// Only the calls libtorch ran count: the float ids, the wrong shape and
	// the missing argument failed there; the struct and the cancelled
	// context never got that far.
	st := m.Stats()
	assert.Equal(t, int64(3), st.Forwards)
	assert.Equal(t, int64(3), st.Failures)

	closedIn, err := torch.FromSlice([]float32{1})
	require.NoError(t, err)
	closedIn.Close()
	_, err = m.Forward(ctx, closedIn, inputs[1], inputs[2])
	require.ErrorIs(t, err, torch.ErrClosed)

	require.NoError(t, m.Close())
	require.NoError(t, m.Close())
	_, err = m.Forward(ctx, inputs[0], inputs[1], inputs[2])
	require.ErrorIs(t, err, torch.ErrClosed)
}

func TestForwardCancelledMidPass(t *testing.T) {
	f := fixtures(t, "cpu")
	spin := f.Modules["spin"]
	m, err := torch.Load(spin.Path, torch.CPU)
	require.NoError(t, err)
	defer m.Close()
	x := inputTensors(t, f)[0]
	ctx := context.Background()

	// An int argument, and the output Python computed for n=3.
	out, err := m.Forward(ctx, x, int64(3))
	require.NoError(t, err)
	assertSameValue(t, spin.Output, out, "spin")
	torch.CloseValue(out)

	// Forward must return when ctx ends, not when the pass does. One
	// reading against a fixed bound proves little on a busy machine, so
	// each attempt compares the moment Forward returned with the moment the
	// pass really ended (a second call, queued behind it on the forward
	// thread, returns then), and one attempt of three must see Forward
	// return, the pass still running, within the first half of the pass.
	var attempts []string
	returnedEarly := false
	for attempt := 0; attempt < 3 && !returnedEarly; attempt++ {
		n := spinRounds(t, m, x, 2*time.Second)
		before := m.Stats().Forwards
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		t1 := time.Now()
		_, err = m.Forward(cctx, x, n)
		returned := time.Since(t1)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "finishes in the background")
		running := m.Stats().Forwards == before
		out, err := m.Forward(ctx, x, int64(3))
		require.NoError(t, err)
		torch.CloseValue(out)
		ended := time.Since(t1)
		attempts = append(attempts, fmt.Sprintf("Forward returned after %v (pass still running: %v); the pass ended after %v", returned, running, ended))
		returnedEarly = running && returned < ended/2
	}
	require.True(t, returnedEarly, "Forward returns when ctx ends, not when the pass does:\n%s", strings.Join(attempts, "\n"))
	assert.Zero(t, m.Stats().Failures)

	// Close waits for an abandoned pass before freeing the module.
	n := spinRounds(t, m, x, time.Second)
	before := m.Stats().Forwards
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = m.Forward(cctx, x, n)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, m.Close())
	assert.Equal(t, before+1, m.Stats().Forwards, "Close returned before the abandoned pass had ended")
	assert.Zero(t, m.Stats().Failures)
	_, err = m.Forward(ctx, x, int64(3))
	require.ErrorIs(t, err, torch.ErrClosed)
}

func TestCPUCacheReusesLargeBlocks(t *testing.T) {
	f := fixtures(t, "cpu")
	requireMemoryReuse(t)
	m, err := torch.Load(f.Modules["tensor"].Path, torch.CPU)
	require.NoError(t, err)
	defer m.Close()
	require.True(t, torch.CPUCache().Enabled)

	big := make([]float32, 1<<20) // 4 MiB: above the cache's 1 MiB floor
	x, err := torch.FromSlice(big, 1024, 1024)
	require.NoError(t, err)
	require.NoError(t, x.Close())
	before := torch.CPUCache()
	assert.GreaterOrEqual(t, before.CachedBytes, int64(4<<20), "a closed large tensor's block stays cached")

	big[12345] = 7
	y, err := torch.FromSlice(big, 1024, 1024)
	require.NoError(t, err)
	after := torch.CPUCache()
	assert.Greater(t, after.Hits, before.Hits, "the next tensor of that size reuses the block")
	got, err := torch.ToSlice[float32](y)
	require.NoError(t, err)
	assert.Equal(t, big, got, "a reused block holds the new tensor's data, not the old one's")
	require.NoError(t, y.Close())

	// A lower limit frees the excess at once; 0 keeps nothing.
	z, err := torch.FromSlice(big, 1024, 1024)
	require.NoError(t, err)
	require.NoError(t, z.Close())
	require.NoError(t, torch.SetCPUCacheLimit(4<<20))
	defer torch.SetCPUCacheLimit(1 << 30)
	st := torch.CPUCache()
	assert.Equal(t, int64(4<<20), st.Limit)
	assert.LessOrEqual(t, st.CachedBytes, int64(4<<20))
	require.NoError(t, torch.SetCPUCacheLimit(0))
	assert.Zero(t, torch.CPUCache().CachedBytes)
	require.ErrorContains(t, torch.SetCPUCacheLimit(-1), "negative")
	require.NoError(t, torch.SetCPUCacheLimit(1<<30))

	w, err := torch.FromSlice(big, 1024, 1024)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Positive(t, torch.CPUCache().CachedBytes)
	torch.ReleaseMemory()
	assert.Zero(t, torch.CPUCache().CachedBytes)
}
