package hub_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf/hub"
)

func TestConcurrentGoroutines(t *testing.T) {
	f := newFixture(t)
	// Slow enough that all goroutines arrive while the first is downloading.
	f.s.SetThrottle(64<<10, 20*time.Millisecond)
	cache := t.TempDir()

	const n = 8
	paths := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Separate clients, as separate callers would have.
			c := newClientAt(t, f.s.URL, cache)
			paths[i], errs[i] = c.Download(ctx(t), repoID, "model.safetensors", hub.DownloadOptions{})
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, paths[0], paths[i])
	}
	assert.Equal(t, f.weights, []byte(readFile(t, paths[0])))
	assert.Equal(t, 1, f.s.Count("GET", "/repos/"), "the lock lets exactly one goroutine fetch the blob")
	noIncomplete(t, cache)
}

func TestConcurrentSnapshotsSameCache(t *testing.T) {
	f := newFixture(t)
	f.s.SetThrottle(64<<10, 5*time.Millisecond)
	cache := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = newClientAt(t, f.s.URL, cache).Snapshot(ctx(t), repoID, hub.SnapshotOptions{})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	dir := filepath.Join(cache, hub.RepoFolderName(repoID), "snapshots", f.v2)
	assert.Equal(t, f.weights, []byte(readFile(t, filepath.Join(dir, "model.safetensors"))))
	assert.Equal(t, 1, f.s.Count("GET", "/repos/"+sha256Hex(f.weights)), "each blob is fetched once")
	assert.Equal(t, 2, f.s.Count("GET", "/repos/"), "two LFS files")
	noIncomplete(t, cache)
}

// helperEnv marks the re-executed test binary as a download worker;
// barrierEnv names the folder where workers meet before downloading.
const (
	helperEnv  = "HFPIPE_HUB_TEST_WORKER"
	barrierEnv = "HFPIPE_HUB_TEST_BARRIER"
	workersEnv = "HFPIPE_HUB_TEST_WORKERS"
)

// TestWorkerProcess is not a test: TestConcurrentProcesses runs the test
// binary again with only this function, as a separate downloading process.
// It waits until every worker has started (a file each in the barrier
// folder), then downloads and prints when its download began and ended.
func TestWorkerProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("worker for TestConcurrentProcesses")
	}
	barrier := os.Getenv(barrierEnv)
	n, err := strconv.Atoi(os.Getenv(workersEnv))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(barrier, fmt.Sprint(os.Getpid())), nil, 0o644))
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		entries, err := os.ReadDir(barrier)
		require.NoError(t, err)
		if len(entries) >= n {
			break
		}
		require.True(t, time.Now().Before(deadline), "the other workers did not start within 30 s")
	}
	c := hub.NewClient(hub.WithProgress(nil)) // endpoint and cache from the environment
	start := time.Now()
	p, err := c.Download(context.Background(), repoID, "model.safetensors", hub.DownloadOptions{})
	end := time.Now()
	require.NoError(t, err)
	fmt.Println("PATH=" + p)
	fmt.Printf("SPAN=%d %d\n", start.UnixNano(), end.UnixNano())
}

func TestConcurrentProcesses(t *testing.T) {
	f := newFixture(t)
	f.s.SetThrottle(32<<10, 20*time.Millisecond) // ~0.5 s per download
	cache, barrier := t.TempDir(), t.TempDir()

	const n = 2
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	for i := range n {
		cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerProcess$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"=1", barrierEnv+"="+barrier, fmt.Sprintf("%s=%d", workersEnv, n),
			"HF_ENDPOINT="+f.s.URL, "HF_HUB_CACHE="+cache, "HF_TOKEN=", "HF_HUB_OFFLINE=0", "HF_HUB_DISABLE_IMPLICIT_TOKEN=1")
		outs[i] = &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		require.NoError(t, cmd.Start())
		cmds[i] = cmd
	}
	var paths []string
	var starts, ends []int64
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), outs[i].String())
		for _, line := range strings.Split(outs[i].String(), "\n") {
			if p, ok := strings.CutPrefix(line, "PATH="); ok {
				paths = append(paths, p)
			}
			if span, ok := strings.CutPrefix(line, "SPAN="); ok {
				var s, e int64
				_, err := fmt.Sscanf(span, "%d %d", &s, &e)
				require.NoError(t, err, line)
				starts, ends = append(starts, s), append(ends, e)
			}
		}
	}
	require.Len(t, paths, n)
	require.Len(t, starts, n)
	assert.Equal(t, paths[0], paths[1])
	assert.Equal(t, f.weights, []byte(readFile(t, paths[0])))
	// The downloads overlapped in time: each began before the other ended.
	// Two processes that ran one after the other would pass every other
	// check here without testing the lock.
	assert.Less(t, slices.Max(starts), slices.Min(ends), "the two downloads did not overlap: [%d %d] and [%d %d]", starts[0], ends[0], starts[1], ends[1])
	assert.Equal(t, 2, f.s.Count("HEAD", "model.safetensors"), "both processes ran")
	assert.Equal(t, 1, f.s.Count("GET", "/repos/"), "the file lock lets exactly one process fetch the blob")
	noIncomplete(t, cache)
}

// TestLockPathIsPythons holds the lock at huggingface_hub's path, computed
// here independently of the package, and checks that a download waits for it.
func TestLockPathIsPythons(t *testing.T) {
	f := newFixture(t)
	cache := t.TempDir()
	lockPath := filepath.Join(cache, ".locks", "models--hfpipe-test--tiny-bert", sha256Hex(f.weights)+".lock")
	require.NoError(t, os.MkdirAll(filepath.Dir(lockPath), 0o755))
	lf, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(t, err)
	defer lf.Close()
	require.NoError(t, syscall.Flock(int(lf.Fd()), syscall.LOCK_EX))

	c := newClientAt(t, f.s.URL, cache)
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = c.Download(short, repoID, "model.safetensors", hub.DownloadOptions{})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Zero(t, f.s.Count("GET", "/repos/"), "nothing is fetched without the lock")

	done := make(chan error, 1)
	go func() {
		_, err := c.Download(ctx(t), repoID, "model.safetensors", hub.DownloadOptions{})
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, syscall.Flock(int(lf.Fd()), syscall.LOCK_UN))
	require.NoError(t, <-done)
	assert.Equal(t, 1, f.s.Count("GET", "/repos/"))
}
