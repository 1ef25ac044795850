package hub_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf/hub"
	"github.com/hfpipe/hfpipe/internal/testenv"
)

type pyFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

type pyResult struct {
	Snapshot string            `json:"snapshot"`
	Files    map[string]pyFile `json:"files"`
}

func runInterop(t *testing.T, args ...string) pyResult {
	t.Helper()
	out := testenv.RunPython(t, "hub_interop.py", args...)
	var r pyResult
	require.NoError(t, json.Unmarshal(out, &r), string(out))
	return r
}

func fileSHA(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return sha256Hex(b)
}

// TestPythonFillsGoReads: huggingface_hub downloads from the fake Hub; Go,
// offline, finds every file at the path Python returned.
func TestPythonFillsGoReads(t *testing.T) {
	f := newFixture(t)
	cache := t.TempDir()

	py := runInterop(t, "download", "--endpoint", f.s.URL, "--cache", cache, "--repo", repoID,
		"config.json", "model.safetensors", "onnx/model.onnx")
	pySnap := runInterop(t, "snapshot", "--endpoint", f.s.URL, "--cache", cache, "--repo", repoID,
		"--revision", "v1.0", "--allow", "*.json")

	f.s.Close() // Go must not need the Hub
	for _, c := range []*hub.Client{
		newClientAt(t, f.s.URL, cache, hub.WithOffline(true)),
		newClientAt(t, f.s.URL, cache), // online, but the Hub is gone
	} {
		for name, want := range py.Files {
			p, err := c.Download(ctx(t), repoID, name, hub.DownloadOptions{})
			require.NoError(t, err, name)
			assert.Equal(t, want.Path, p, name)
			assert.Equal(t, want.SHA256, fileSHA(t, p), name)
		}
		dir, err := c.Snapshot(ctx(t), repoID, hub.SnapshotOptions{Revision: "v1.0"})
		require.NoError(t, err)
		assert.Equal(t, pySnap.Snapshot, dir)
		assert.Equal(t, filepath.Join(cache, hub.RepoFolderName(repoID), "snapshots", f.v1), dir)
		for name, want := range pySnap.Files {
			p, err := c.Download(ctx(t), repoID, name, hub.DownloadOptions{Revision: "v1.0"})
			require.NoError(t, err, name)
			assert.Equal(t, want.Path, p)
			assert.Equal(t, want.SHA256, fileSHA(t, p))
		}
	}
	assert.Equal(t, sha256Hex(f.weights), py.Files["model.safetensors"].SHA256)
}

// TestGoFillsPythonReads: Go downloads; huggingface_hub with
// HF_HUB_OFFLINE=1 and local_files_only=True finds the same paths.
func TestGoFillsPythonReads(t *testing.T) {
	f := newFixture(t)
	cache := t.TempDir()
	c := newClientAt(t, f.s.URL, cache)

	want := map[string]string{}
	for _, name := range []string{"config.json", "model.safetensors"} {
		p, err := c.Download(ctx(t), repoID, name, hub.DownloadOptions{})
		require.NoError(t, err)
		want[name] = p
	}
	tagDir, err := c.Snapshot(ctx(t), repoID, hub.SnapshotOptions{Revision: "v1.0"})
	require.NoError(t, err)
	f.s.Close()

	py := runInterop(t, "download", "--offline", "--cache", cache, "--repo", repoID, "config.json", "model.safetensors")
	for name, p := range want {
		assert.Equal(t, p, py.Files[name].Path, name)
		assert.Equal(t, fileSHA(t, p), py.Files[name].SHA256, name)
	}
	assert.Equal(t, sha256Hex(f.weights), py.Files["model.safetensors"].SHA256)

	pySnap := runInterop(t, "snapshot", "--offline", "--cache", cache, "--repo", repoID, "--revision", "v1.0")
	assert.Equal(t, tagDir, pySnap.Snapshot)
	assert.Equal(t, listFiles(t, tagDir), sortedKeys(pySnap.Files))
	for name, pf := range pySnap.Files {
		assert.Equal(t, fileSHA(t, filepath.Join(tagDir, name)), pf.SHA256, name)
	}
}

func sortedKeys(m map[string]pyFile) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

// TestEnvMatchesPython resolves the same environment in both languages.
func TestEnvMatchesPython(t *testing.T) {
	clearHubEnv(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	type env struct {
		HFHome    string `json:"hf_home"`
		HubCache  string `json:"hub_cache"`
		Endpoint  string `json:"endpoint"`
		TokenPath string `json:"token_path"`
		Token     string `json:"token"`
	}
	check := func(t *testing.T) {
		var py env
		require.NoError(t, json.Unmarshal(testenv.RunPython(t, "hub_interop.py", "env"), &py))
		assert.Equal(t, py.HFHome, hub.HFHome())
		assert.Equal(t, py.HubCache, hub.DefaultCacheDir())
		assert.Equal(t, py.Endpoint, hub.EndpointFromEnv())
		assert.Equal(t, py.Token, hub.TokenFromEnv())
	}
	t.Run("defaults", check)
	t.Run("xdg", func(t *testing.T) { t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "xdg")); check(t) })
	t.Run("hf_home and token file", func(t *testing.T) {
		t.Setenv("HF_HOME", "~/hfh")
		require.NoError(t, os.MkdirAll(filepath.Join(home, "hfh"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(home, "hfh", "token"), []byte("hf_file\n"), 0o600))
		check(t)
	})
	t.Run("legacy cache and token env", func(t *testing.T) {
		t.Setenv("HUGGINGFACE_HUB_CACHE", "/legacy/cache")
		t.Setenv("HUGGING_FACE_HUB_TOKEN", "hf_legacy")
		t.Setenv("HF_ENDPOINT", "http://mirror.example:8080/")
		check(t)
	})
	t.Run("new names win", func(t *testing.T) {
		t.Setenv("HUGGINGFACE_HUB_CACHE", "/legacy/cache")
		t.Setenv("HF_HUB_CACHE", "$HOME/new")
		t.Setenv("HF_TOKEN", "hf_env")
		check(t)
	})
}

// TestLockSharedWithPython: huggingface_hub's WeakFileLock and our flock
// exclude each other on the same .locks path, both ways.
func TestLockSharedWithPython(t *testing.T) {
	f := newFixture(t)
	cache := t.TempDir()
	lockPath := filepath.Join(cache, ".locks", hub.RepoFolderName(repoID), sha256Hex(f.weights)+".lock")
	require.NoError(t, os.MkdirAll(filepath.Dir(lockPath), 0o755))
	script := filepath.Join(testenv.RepoRoot(), "third_party", "tools", "hub_interop.py")

	t.Run("python holds, go waits", func(t *testing.T) {
		cmd := exec.Command(testenv.Python(t), script, "lock", lockPath)
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			_ = cmd.Wait() // stderr is only safe to read once the process is done
			t.Fatalf("python lock: %v\n%s", err, stderr.String())
		}
		require.Equal(t, "locked\n", line)

		c := newClientAt(t, f.s.URL, cache)
		short, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err = c.Download(short, repoID, "model.safetensors", hub.DownloadOptions{})
		require.ErrorIs(t, err, context.DeadlineExceeded, "Go must wait while Python holds the lock")
		assert.Zero(t, f.s.Count("GET", "/repos/"))

		require.NoError(t, stdin.Close()) // Python releases and exits
		require.NoError(t, cmd.Wait(), stderr.String())
		_, err = c.Download(ctx(t), repoID, "model.safetensors", hub.DownloadOptions{})
		require.NoError(t, err)
	})

	t.Run("go holds, python waits", func(t *testing.T) {
		lf, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o644)
		require.NoError(t, err)
		defer lf.Close()
		require.NoError(t, syscall.Flock(int(lf.Fd()), syscall.LOCK_EX))
		assert.Equal(t, "timeout\n", string(testenv.RunPython(t, "hub_interop.py", "lock", lockPath, "--timeout", "0.5")))
		require.NoError(t, syscall.Flock(int(lf.Fd()), syscall.LOCK_UN))
		assert.Equal(t, "acquired\n", string(testenv.RunPython(t, "hub_interop.py", "lock", lockPath, "--timeout", "5")))
	})
}
