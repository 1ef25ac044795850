package torch_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/torch"
)

// allocScript writes a TorchScript module whose forward(n) allocates a
// tensor of n bytes and returns its number of elements.
const allocScript = `import sys
import torch


class Alloc(torch.nn.Module):
    def forward(self, n: int) -> int:
        return torch.empty([n], dtype=torch.uint8).numel()


torch.jit.script(Alloc()).save(sys.argv[1])
`

var (
	allocOnce sync.Once
	allocPath string
	allocErr  error
)

// allocModule returns the path of the module allocScript writes, made once
// per test process by the venv's Python.
func allocModule(t *testing.T) string {
	t.Helper()
	allocOnce.Do(func() {
		dir := filepath.Join(testenv.GenDir(t), "torch-alloc")
		if allocErr = os.MkdirAll(dir, 0o755); allocErr != nil {
			return
		}
		script := filepath.Join(dir, "alloc.py")
		if allocErr = os.WriteFile(script, []byte(allocScript), 0o644); allocErr != nil {
			return
		}
		py, err := testenv.PythonPath()
		if err != nil {
			allocErr = err
			return
		}
		allocPath = filepath.Join(dir, "alloc.pt")
		if out, err := exec.Command(py, script, allocPath).CombinedOutput(); err != nil {
			allocErr = fmt.Errorf("python %s: %v\n%s", script, err, out)
		}
	})
	require.NoError(t, allocErr)
	return allocPath
}

// TestOutOfMemoryIsErrOutOfMemory allocates a tensor of 2^50 bytes (a
// pebibyte, more than any address space) inside a forward pass.
func TestOutOfMemoryIsErrOutOfMemory(t *testing.T) {
	m, err := torch.Load(allocModule(t), torch.CPU)
	require.NoError(t, err)
	defer m.Close()
	ctx := context.Background()

	out, err := m.Forward(ctx, int64(1<<20))
	require.NoError(t, err)
	assert.Equal(t, int64(1<<20), out)

	// Through libtorch's allocator and through the binding's cache.
	was := torch.MemoryReuse()
	defer torch.SetMemoryReuse(was)
	for _, reuse := range []bool{false, true} {
		require.NoError(t, torch.SetMemoryReuse(reuse))
		_, err = m.Forward(ctx, int64(1<<50))
		require.Error(t, err)
		assert.ErrorIs(t, err, torch.ErrOutOfMemory, "memory reuse %v", reuse)
		assert.Contains(t, err.Error(), "1125899906842624 bytes", "the message keeps libtorch's cause")
	}

	// Other failures are not out of memory.
	_, err = m.Forward(ctx, int64(-1))
	require.ErrorContains(t, err, "negative")
	assert.NotErrorIs(t, err, torch.ErrOutOfMemory)
}

// TestLoadMissingFileIsErrNotExist: the error says what to do and still
// matches fs.ErrNotExist.
func TestLoadMissingFileIsErrNotExist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.pt")
	_, err := torch.Load(path, torch.CPU)
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), path+" does not exist: export the model to TorchScript first")
	var pe *fs.PathError
	assert.ErrorAs(t, err, &pe)
}
