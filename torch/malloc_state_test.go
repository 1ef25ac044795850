package torch_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/torch"
)

// childModuleEnv names the module a child test process loads.
const childModuleEnv = "HFPIPE_TORCH_TEST_CHILD_MODULE"

// TestLoadLeavesProcessStateAlone loads a module and runs it in a fresh
// process (other tests turn memory reuse on): neither may change malloc's
// settings or libtorch's CPU allocator, which belong to the program.
func TestLoadLeavesProcessStateAlone(t *testing.T) {
	if path := os.Getenv(childModuleEnv); path != "" {
		m, err := torch.Load(path, torch.CPU)
		require.NoError(t, err)
		x, err := torch.FromSlice(make([]float32, 18), 3, 6)
		require.NoError(t, err)
		out, err := m.Forward(context.Background(), x, int64(3))
		require.NoError(t, err)
		torch.CloseValue(out)
		require.NoError(t, m.Close())
		assert.False(t, torch.MallocTuned(), "Load changed malloc's thresholds")
		assert.False(t, torch.CPUCache().Enabled, "Load replaced libtorch's CPU allocator")
		return
	}
	f := fixtures(t, "cpu")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadLeavesProcessStateAlone$", "-test.count=1", "-test.v")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HFPIPE_MALLOC=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, childModuleEnv+"="+f.Modules["spin"].Path)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child process:\n%s", out)
	require.Contains(t, string(out), "--- PASS: TestLoadLeavesProcessStateAlone", "the child ran the test:\n%s", out)
}

// requireMemoryReuse turns memory reuse on for the test and restores the
// previous state after it; where the environment keeps malloc to itself
// (HFPIPE_MALLOC=system and the like) the test is skipped.
func requireMemoryReuse(t *testing.T) {
	t.Helper()
	was := torch.MemoryReuse()
	require.NoError(t, torch.SetMemoryReuse(true))
	t.Cleanup(func() { require.NoError(t, torch.SetMemoryReuse(was)) })
	if !torch.MemoryReuse() {
		t.Skip("the environment configures malloc (HFPIPE_MALLOC=system, MALLOC_*, GLIBC_TUNABLES or LD_PRELOAD), so SetMemoryReuse(true) leaves it alone")
	}
}

// bigTensor makes a 4 MiB float32 tensor (above the cache's 1 MiB floor)
// whose elements are all v.
func bigTensor(t *testing.T, v float32) *torch.Tensor {
	t.Helper()
	x, err := newBigTensor(v)
	require.NoError(t, err)
	return x
}

func newBigTensor(v float32) (*torch.Tensor, error) {
	data := make([]float32, 1<<20)
	for i := range data {
		data[i] = v
	}
	return torch.FromSlice(data, 1024, 1024)
}

// TestSetMemoryReuseSwitches turns memory reuse on and off with tensors
// alive across each switch: every block must go back to the allocator
// that made it.
func TestSetMemoryReuseSwitches(t *testing.T) {
	requireMemoryReuse(t)
	require.NoError(t, torch.SetMemoryReuse(false))
	assert.False(t, torch.MemoryReuse())
	assert.False(t, torch.MallocTuned(), "off restores malloc's thresholds")
	assert.False(t, torch.CPUCache().Enabled, "off restores libtorch's allocator")

	// Made by libtorch's allocator, freed with memory reuse on: the cache
	// must not take a block it did not make.
	before := bigTensor(t, 1)
	require.NoError(t, torch.SetMemoryReuse(true))
	assert.True(t, torch.MemoryReuse())
	assert.True(t, torch.MallocTuned())
	assert.True(t, torch.CPUCache().Enabled)
	torch.ReleaseMemory()
	require.NoError(t, before.Close())
	assert.Zero(t, torch.CPUCache().CachedBytes, "a block of libtorch's allocator went into the cache")

	// Made by the cache and freed while it is on: kept, at the rounded
	// size, and handed out again.
	x := bigTensor(t, 2)
	require.NoError(t, x.Close())
	block, err := torch.CPUCacheBlockSize(4 << 20)
	require.NoError(t, err)
	assert.Equal(t, int64(block), torch.CPUCache().CachedBytes)
	hits := torch.CPUCache().Hits
	y := bigTensor(t, 3)
	assert.Equal(t, hits+1, torch.CPUCache().Hits)

	// Made by the cache, freed after it was turned off: freed, not kept.
	require.NoError(t, torch.SetMemoryReuse(false))
	assert.Zero(t, torch.CPUCache().CachedBytes, "off frees the idle blocks")
	got, err := torch.ToSlice[float32](y)
	require.NoError(t, err)
	assert.Equal(t, float32(3), got[len(got)-1], "a block in use survives the switch")
	require.NoError(t, y.Close())
	assert.Zero(t, torch.CPUCache().CachedBytes, "a block freed after the switch went into the cache")
	z := bigTensor(t, 4)
	require.NoError(t, z.Close())
	assert.Zero(t, torch.CPUCache().CachedBytes)

	require.NoError(t, torch.SetMemoryReuse(false), "off twice")
	require.NoError(t, torch.SetMemoryReuse(true))
	require.NoError(t, torch.SetMemoryReuse(true), "on twice")
	assert.True(t, torch.CPUCache().Enabled)
}

// TestSetMemoryReuseWhileAllocating switches memory reuse on and off while
// other goroutines make, check and free tensors and run forward passes.
func TestSetMemoryReuseWhileAllocating(t *testing.T) {
	requireMemoryReuse(t)
	m, inputs, want := tensorModule(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var held []*torch.Tensor // some live across switches
			defer func() {
				for _, x := range held {
					x.Close()
				}
			}()
			for i := 0; ctx.Err() == nil; i++ {
				v := float32(g*1000 + i)
				x, err := newBigTensor(v)
				if !assert.NoError(t, err) {
					return
				}
				got, err := torch.ToSlice[float32](x)
				if !assert.NoError(t, err) || !assert.Equal(t, v, got[0]) || !assert.Equal(t, v, got[len(got)-1]) {
					return
				}
				held = append(held, x)
				if len(held) > 3 {
					held[0].Close()
					held = held[1:]
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			out, err := m.Forward(ctx, inputs[0], inputs[1], inputs[2])
			if ctx.Err() != nil {
				return
			}
			if !assert.NoError(t, err) {
				return
			}
			assert.Equal(t, want, tensorBytes(t, out.(*torch.Tensor)))
			torch.CloseValue(out)
		}
	}()
	for i := 0; i < 100; i++ {
		require.NoError(t, torch.SetMemoryReuse(i%2 == 0))
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
}
