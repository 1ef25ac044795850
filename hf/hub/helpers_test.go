package hub_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf/hub"
	"github.com/hfpipe/hfpipe/hf/hub/hubtest"
)

const repoID = "hfpipe-test/tiny-bert"

// fixture is a fake Hub holding one repo with history:
//
//	v1 (tag v1.0) ── v2 (main)
//	          └──── dev (branch)
type fixture struct {
	s       *hubtest.Server
	repo    *hubtest.Repo
	v1, v2  string
	dev     string
	weights []byte // model.safetensors, an LFS file (same in all commits)
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s := hubtest.New()
	t.Cleanup(s.Close)
	f := &fixture{s: s, repo: s.Repo(repoID), weights: randomBytes(700_000, 1)}
	f.v1 = f.repo.Commit("main", map[string][]byte{
		"config.json":       []byte(`{"model_type": "distilbert", "version": 1}`),
		"tokenizer.json":    []byte(`{"version": "1.0"}`),
		"model.safetensors": f.weights,
		"onnx/model.onnx":   randomBytes(1000, 2),
		"README.md":         []byte("# tiny\n"),
	})
	f.repo.Tag("v1.0", f.v1)
	f.v2 = f.repo.Commit("main", map[string][]byte{"config.json": []byte(`{"model_type": "distilbert", "version": 2}`)})
	f.dev = f.repo.Commit("dev", map[string][]byte{"config.json": []byte(`{"model_type": "distilbert", "version": "dev"}`)})
	return f
}

// newClient talks to the fixture with a fresh cache and no ambient
// configuration (token, offline flag, progress bars) leaking in.
func (f *fixture) newClient(t *testing.T, opts ...hub.Option) *hub.Client {
	t.Helper()
	return newClientAt(t, f.s.URL, t.TempDir(), opts...)
}

func newClientAt(t *testing.T, endpoint, cache string, opts ...hub.Option) *hub.Client {
	t.Helper()
	base := []hub.Option{hub.WithEndpoint(endpoint), hub.WithCacheDir(cache), hub.WithToken(""),
		hub.WithOffline(false), hub.WithProgress(nil), hub.WithTimeouts(5*time.Second, 5*time.Second)}
	return hub.NewClient(append(base, opts...)...)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// noIncomplete asserts that no partial download is left in the cache.
func noIncomplete(t *testing.T, cache string) {
	t.Helper()
	_ = filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		require.False(t, strings.HasSuffix(p, ".incomplete"), "left over: %s", p)
		require.NotContains(t, filepath.Base(p), ".tmp-", "left over: %s", p)
		return nil
	})
}

// clearHubEnv unsets every variable NewClient reads, so tests that exercise
// the environment start from Python's defaults.
func clearHubEnv(t *testing.T) {
	for _, k := range []string{"HF_HOME", "XDG_CACHE_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN",
		"HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT",
		"HF_HUB_DISABLE_PROGRESS_BARS", "HF_HUB_DISABLE_IMPLICIT_TOKEN", "HF_HUB_ETAG_TIMEOUT", "HF_HUB_DOWNLOAD_TIMEOUT"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}
