package hub_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf/hub"
)

func TestDownloadCacheLayout(t *testing.T) {
	f := newFixture(t)
	cache := t.TempDir()
	c := newClientAt(t, f.s.URL, cache)

	p, err := c.Download(ctx(t), repoID, "config.json", hub.DownloadOptions{})
	require.NoError(t, err)
	storage := filepath.Join(cache, "models--hfpipe-test--tiny-bert")
	assert.Equal(t, filepath.Join(storage, "snapshots", f.v2, "config.json"), p)
	assert.JSONEq(t, `{"model_type": "distilbert", "version": 2}`, readFile(t, p))

	// snapshots/<commit>/<file> is a relative symlink to blobs/<etag>, and
	// refs/main names the commit: huggingface_hub's layout, byte for byte.
	target, err := os.Readlink(p)
	require.NoError(t, err)
	etag := f.repo.ETag("main", "config.json")
	assert.Equal(t, filepath.Join("..", "..", "blobs", etag), target)
	assert.Len(t, etag, 40, "a regular file's blob is named by its git blob id")
	assert.Equal(t, f.v2, readFile(t, filepath.Join(storage, "refs", "main")))
	assert.FileExists(t, filepath.Join(cache, ".locks", "models--hfpipe-test--tiny-bert", etag+".lock"))

	// A nested LFS file: the blob is named by its sha256 and comes from the CDN.
	p, err = c.Download(ctx(t), repoID, "onnx/model.onnx", hub.DownloadOptions{})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(storage, "snapshots", f.v2, "onnx", "model.onnx"), p)
	target, err = os.Readlink(p)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join("..", "..", "..", "blobs", f.repo.ETag("main", "onnx/model.onnx")), target)
	assert.Equal(t, randomBytes(1000, 2), []byte(readFile(t, p)))
	noIncomplete(t, cache)
}

func TestDownloadLFSKeepsTokenFromCDN(t *testing.T) {
	f := newFixture(t)
	f.s.AddToken("hf_public_reader")
	c := f.newClient(t, hub.WithToken("hf_public_reader"))

	p, err := c.Download(ctx(t), repoID, "model.safetensors", hub.DownloadOptions{})
	require.NoError(t, err)
	assert.Equal(t, f.weights, []byte(readFile(t, p)))
	assert.Equal(t, sha256Hex(f.weights), filepath.Base(mustReadlink(t, p)))

	var hubAuth, cdnGets int
	for _, r := range f.s.Requests() {
		switch r.Host {
		case "hub":
			assert.Equal(t, "Bearer hf_public_reader", r.Auth, "the Hub gets the token")
			hubAuth++
		case "cdn":
			assert.Empty(t, r.Auth, "a pre-signed CDN URL must not get the token")
			cdnGets++
		}
	}
	assert.Equal(t, 1, hubAuth)
	assert.Equal(t, 1, cdnGets)
}

func mustReadlink(t *testing.T, p string) string {
	t.Helper()
	s, err := os.Readlink(p)
	require.NoError(t, err)
	return s
}

func TestDownloadCacheHitWithoutNetwork(t *testing.T) {
	f := newFixture(t)
	cache := t.TempDir()
	want, err := newClientAt(t, f.s.URL, cache).Download(ctx(t), repoID, "model.safetensors", hub.DownloadOptions{})
	require.NoError(t, err)

	t.Run("HF_HUB_OFFLINE=1", func(t *testing.T) {
		clearHubEnv(t)
		t.Setenv("HF_HUB_OFFLINE", "1")
		t.Setenv("HF_HUB_CACHE", cache)
		t.Setenv("HF_ENDPOINT", f.s.URL)
		f.s.ResetRequests()
		c := hub.NewClient(hub.WithProgress(nil))
		require.True(t, c.Offline())
		p, err := c.Download(ctx(t), repoID, "model.safetensors", hub.DownloadOptions{})
		require.NoError(t, err)
		assert.Equal(t, want, p)
		dir, err := c.Snapshot(ctx(t), repoID, hub.SnapshotOptions{})
		require.NoError(t, err)
		assert.Equal(t, filepath.Dir(want), dir)
		assert.Empty(t, f.s.Requests(), "offline mode must not touch the network")
	})

	t.Run("offline, not cached", func(t *testing.T) {
		c := newClientAt(t, f.s.URL, cache, hub.WithOffline(true))
		_, err := c.Download(ctx(t), repoID, "tokenizer.json", hub.DownloadOptions{})
		require.ErrorIs(t, err, hub.ErrNotCached)
		assert.Contains(t, err.Error(), "HF_HUB_OFFLINE")
		assert.Contains(t, err.Error(), cache)
		_, err = c.Snapshot(ctx(t), repoID, hub.SnapshotOptions{Revision: "dev"})
		require.ErrorIs(t, err, hub.ErrNotCached)
	})

	t.Run("server shut down", func(t *testing.T) {
		f.s.Close()
		c := newClientAt(t, f.s.URL, cache)
		p, err := c.Download(ctx(t), repoID, "model.safetensors", hub.DownloadOptions{})
		require.NoError(t, err)
		assert.Equal(t, want, p)
		assert.Equal(t, f.weights, []byte(readFile(t, p)))

		_, err = c.Download(ctx(t), repoID, "tokenizer.json", hub.DownloadOptions{})
		require.ErrorIs(t, err, hub.ErrNotCached)
		assert.Contains(t, err.Error(), "could not be reached")
	})
}

func TestDownloadRevisions(t *testing.T) {
	f := newFixture(t)
	cache := t.TempDir()
	c := newClientAt(t, f.s.URL, cache)
	storage := filepath.Join(cache, hub.RepoFolderName(repoID))

	for _, tc := range []struct{ rev, commit, version string }{
		{"", f.v2, "2"},
		{"main", f.v2, "2"},
		{"dev", f.dev, `"dev"`},
		{"v1.0", f.v1, "1"},
		{f.v1, f.v1, "1"},
	} {
		p, err := c.Download(ctx(t), repoID, "config.json", hub.DownloadOptions{Revision: tc.rev})
		require.NoError(t, err, tc.rev)
		assert.Equal(t, filepath.Join(storage, "snapshots", tc.commit, "config.json"), p, tc.rev)
		assert.JSONEq(t, `{"model_type": "distilbert", "version": `+tc.version+`}`, readFile(t, p), tc.rev)
	}
	assert.Equal(t, f.v1, readFile(t, filepath.Join(storage, "refs", "v1.0")))
	assert.Equal(t, f.dev, readFile(t, filepath.Join(storage, "refs", "dev")))
	assert.NoFileExists(t, filepath.Join(storage, "refs", f.v1), "a commit hash needs no ref")

	// A cached commit hash is answered without asking the Hub at all.
	f.s.ResetRequests()
	_, err := c.Download(ctx(t), repoID, "config.json", hub.DownloadOptions{Revision: f.v1})
	require.NoError(t, err)
	assert.Empty(t, f.s.Requests())

	// Moving a branch moves what it resolves to; the old commit stays cached.
	v3 := f.repo.Commit("main", map[string][]byte{"config.json": []byte(`{"model_type": "distilbert", "version": 3}`)})
	p, err := c.Download(ctx(t), repoID, "config.json", hub.DownloadOptions{})
	require.NoError(t, err)
	assert.Contains(t, p, v3)
	assert.Equal(t, v3, readFile(t, filepath.Join(storage, "refs", "main")))
	assert.FileExists(t, filepath.Join(storage, "snapshots", f.v2, "config.json"))

	// Offline, branch and tag resolve through refs/.
	off := newClientAt(t, f.s.URL, cache, hub.WithOffline(true))
	p, err = off.Download(ctx(t), repoID, "config.json", hub.DownloadOptions{Revision: "v1.0"})
	require.NoError(t, err)
	assert.Contains(t, p, f.v1)
	p, err = off.CachedFile(repoID, "config.json", "dev")
	require.NoError(t, err)
	assert.Contains(t, p, f.dev)
}

func TestDownloadRevisionWithSlash(t *testing.T) {
	f := newFixture(t)
	pr := f.repo.Commit("refs/pr/1", map[string][]byte{"config.json": []byte(`{"model_type": "distilbert", "version": "pr"}`)})
	cache := t.TempDir()
	c := newClientAt(t, f.s.URL, cache)
	p, err := c.Download(ctx(t), repoID, "config.json", hub.DownloadOptions{Revision: "refs/pr/1"})
	require.NoError(t, err)
	assert.Contains(t, p, pr)
	// Python stores it as nested folders under refs/, and so do we.
	assert.Equal(t, pr, readFile(t, filepath.Join(cache, hub.RepoFolderName(repoID), "refs", "refs", "pr", "1")))
	assert.Equal(t, 1, f.s.Count("HEAD", "/resolve/refs%2Fpr%2F1/config.json"))
}

func TestDownloadErrors(t *testing.T) {
	f := newFixture(t)
	gated := f.s.Repo("hfpipe-test/gated")
	gated.Commit("main", map[string][]byte{"config.json": []byte(`{"model_type": "bert"}`)})
	gated.SetGated(true)
	gated.Grant("hf_granted")
	private := f.s.Repo("hfpipe-test/private")
	private.Commit("main", map[string][]byte{"config.json": []byte(`{"model_type": "bert"}`)})
	private.SetPrivate(true)
	private.Grant("hf_member")
	f.s.AddToken("hf_nobody")

	cases := []struct {
		name, token, repo, file, rev string
		kind                         error
		mentions                     []string
	}{
		{"missing repo, no token", "", "hfpipe-test/nope", "config.json", "", hub.ErrRepoNotFound, []string{"hfpipe-test/nope", "not found", "HF_TOKEN", "HTTP 401"}},
		{"missing repo, token", "hf_nobody", "hfpipe-test/nope", "config.json", "", hub.ErrRepoNotFound, []string{"HTTP 404", "token"}},
		{"private repo, no token", "", "hfpipe-test/private", "config.json", "", hub.ErrRepoNotFound, []string{"private", "HF_TOKEN"}},
		{"missing file", "", repoID, "pytorch_model.bin", "", hub.ErrEntryNotFound, []string{`"pytorch_model.bin" not found`, `"main"`}},
		{"missing revision", "", repoID, "config.json", "v9", hub.ErrRevisionNotFound, []string{`revision "v9" not found`}},
		{"gated, no token", "", "hfpipe-test/gated", "config.json", "", hub.ErrGatedRepo, []string{"gated", "HF_TOKEN", f.s.URL + "/hfpipe-test/gated", "HTTP 401"}},
		{"gated, token not granted", "hf_nobody", "hfpipe-test/gated", "config.json", "", hub.ErrGatedRepo, []string{"not been granted", "HTTP 403"}},
		{"invalid token", "hf_forged", repoID, "config.json", "", hub.ErrUnauthorized, []string{"rejected the token", "HF_TOKEN"}},
		{"bad repo id", "", "a/b/c/d", "config.json", "", hub.ErrInvalid, []string{"a/b/c/d"}},
		{"escaping filename", "", repoID, "../../etc/passwd", "", hub.ErrInvalid, []string{"relative path"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := f.newClient(t, hub.WithToken(tc.token))
			_, err := c.Download(ctx(t), tc.repo, tc.file, hub.DownloadOptions{Revision: tc.rev})
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.kind)
			for _, m := range tc.mentions {
				assert.Contains(t, err.Error(), m)
			}
			var he *hub.Error
			if assert.True(t, errors.As(err, &he)) {
				assert.Equal(t, tc.kind, he.Kind)
			}
		})
	}

	t.Run("granted tokens work", func(t *testing.T) {
		_, err := f.newClient(t, hub.WithToken("hf_granted")).Download(ctx(t), "hfpipe-test/gated", "config.json", hub.DownloadOptions{})
		require.NoError(t, err)
		_, err = f.newClient(t, hub.WithToken("hf_member")).Download(ctx(t), "hfpipe-test/private", "config.json", hub.DownloadOptions{})
		require.NoError(t, err)
	})

	t.Run("missing file is recorded", func(t *testing.T) {
		cache := t.TempDir()
		c := newClientAt(t, f.s.URL, cache)
		_, err := c.Download(ctx(t), repoID, "pytorch_model.bin", hub.DownloadOptions{})
		require.ErrorIs(t, err, hub.ErrEntryNotFound)
		// huggingface_hub's marker, which try_to_load_from_cache reads.
		assert.FileExists(t, filepath.Join(cache, hub.RepoFolderName(repoID), ".no_exist", f.v2, "pytorch_model.bin"))
		_, err = c.CachedFile(repoID, "pytorch_model.bin", "main")
		require.ErrorIs(t, err, hub.ErrEntryNotFound)
	})

	t.Run("snapshot", func(t *testing.T) {
		_, err := f.newClient(t).Snapshot(ctx(t), "hfpipe-test/nope", hub.SnapshotOptions{})
		require.ErrorIs(t, err, hub.ErrRepoNotFound)
		_, err = f.newClient(t).Snapshot(ctx(t), repoID, hub.SnapshotOptions{Revision: "v9"})
		require.ErrorIs(t, err, hub.ErrRevisionNotFound)
		_, err = f.newClient(t, hub.WithToken("hf_nobody")).Snapshot(ctx(t), "hfpipe-test/gated", hub.SnapshotOptions{})
		require.ErrorIs(t, err, hub.ErrGatedRepo)
	})
}

func TestDownloadResumesInterrupted(t *testing.T) {
	f := newFixture(t)
	cache := t.TempDir()
	const cut = 250_000

	t.Run("next call resumes", func(t *testing.T) {
		f.s.Cut("model.safetensors", cut)
		c := newClientAt(t, f.s.URL, cache, hub.WithRetries(0))
		_, err := c.Download(ctx(t), repoID, "model.safetensors", hub.DownloadOptions{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "the next call resumes")
		incomplete := filepath.Join(cache, hub.RepoFolderName(repoID), "blobs", sha256Hex(f.weights)+".incomplete")
		fi, err := os.Stat(incomplete)
		require.NoError(t, err)
		assert.EqualValues(t, cut, fi.Size())

		f.s.ResetRequests()
		p, err := c.Download(ctx(t), repoID, "model.safetensors", hub.DownloadOptions{})
		require.NoError(t, err)
		assert.Equal(t, f.weights, []byte(readFile(t, p)))
		var ranges []string
		for _, r := range f.s.Requests() {
			if r.Method == "GET" {
				ranges = append(ranges, r.Range)
			}
		}
		assert.Equal(t, []string{"bytes=250000-"}, ranges)
		noIncomplete(t, cache)
	})

	t.Run("one call retries with a range", func(t *testing.T) {
		f.s.Cut("tokenizer.json", 5)
		f.s.ResetRequests()
		c := newClientAt(t, f.s.URL, t.TempDir())
		p, err := c.Download(ctx(t), repoID, "tokenizer.json", hub.DownloadOptions{})
		require.NoError(t, err)
		assert.JSONEq(t, `{"version": "1.0"}`, readFile(t, p))
		var ranges []string
		for _, r := range f.s.Requests() {
			if r.Method == "GET" {
				ranges = append(ranges, r.Range)
			}
		}
		assert.Equal(t, []string{"", "bytes=5-"}, ranges)
	})

	t.Run("corrupt partial file is caught", func(t *testing.T) {
		cache := t.TempDir()
		blobs := filepath.Join(cache, hub.RepoFolderName(repoID), "blobs")
		require.NoError(t, os.MkdirAll(blobs, 0o755))
		bad := append([]byte("garbage"), f.weights[7:1000]...)
		incomplete := filepath.Join(blobs, sha256Hex(f.weights)+".incomplete")
		require.NoError(t, os.WriteFile(incomplete, bad, 0o644))
		c := newClientAt(t, f.s.URL, cache)
		_, err := c.Download(ctx(t), repoID, "model.safetensors", hub.DownloadOptions{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "checksum mismatch")
		assert.NoFileExists(t, incomplete)
		p, err := c.Download(ctx(t), repoID, "model.safetensors", hub.DownloadOptions{})
		require.NoError(t, err)
		assert.Equal(t, f.weights, []byte(readFile(t, p)))
	})

	t.Run("force re-downloads", func(t *testing.T) {
		cache := t.TempDir()
		c := newClientAt(t, f.s.URL, cache)
		p, err := c.Download(ctx(t), repoID, "config.json", hub.DownloadOptions{})
		require.NoError(t, err)
		f.s.ResetRequests()
		p2, err := c.Download(ctx(t), repoID, "config.json", hub.DownloadOptions{Force: true})
		require.NoError(t, err)
		assert.Equal(t, p, p2)
		assert.Equal(t, 1, f.s.Count("GET", "config.json"))
	})
}

func TestDownloadFollowsRedirects(t *testing.T) {
	f := newFixture(t)

	t.Run("renamed repo", func(t *testing.T) {
		s := f.s
		old := s.Repo("hfpipe-test/old-name")
		commit := old.Commit("main", map[string][]byte{"config.json": []byte(`{"model_type": "bert"}`), "model.safetensors": f.weights})
		s.Rename("hfpipe-test/old-name", "hfpipe-test/new-name")
		cache := t.TempDir()
		c := newClientAt(t, s.URL, cache)
		for _, name := range []string{"config.json", "model.safetensors"} {
			p, err := c.Download(ctx(t), "hfpipe-test/old-name", name, hub.DownloadOptions{})
			require.NoError(t, err)
			// Python keys the cache by the id asked for, not the new one.
			assert.Equal(t, filepath.Join(cache, "models--hfpipe-test--old-name", "snapshots", commit, name), p)
		}
		assert.Equal(t, f.weights, []byte(readFile(t, filepath.Join(cache, "models--hfpipe-test--old-name", "snapshots", commit, "model.safetensors"))))
	})

	t.Run("relative CDN location", func(t *testing.T) {
		f.s.SetRelativeCDN(true)
		defer f.s.SetRelativeCDN(false)
		p, err := f.newClient(t).Download(ctx(t), repoID, "model.safetensors", hub.DownloadOptions{})
		require.NoError(t, err)
		assert.Equal(t, f.weights, []byte(readFile(t, p)))
		assert.Equal(t, 1, f.s.Count("GET", "/cdn-lfs/"))
	})
}

func TestLocalFolder(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{}`), 0o644))
	c := hub.NewClient(hub.WithOffline(true), hub.WithCacheDir(t.TempDir()))

	p, err := c.Download(ctx(t), dir, "config.json", hub.DownloadOptions{})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "config.json"), p)
	_, err = c.Download(ctx(t), dir, "vocab.txt", hub.DownloadOptions{})
	require.ErrorIs(t, err, hub.ErrEntryNotFound)
	assert.Contains(t, err.Error(), dir)

	got, err := c.Snapshot(ctx(t), dir, hub.SnapshotOptions{})
	require.NoError(t, err)
	assert.Equal(t, dir, got)

	_, err = c.Snapshot(ctx(t), "./no/such/folder", hub.SnapshotOptions{})
	require.ErrorIs(t, err, hub.ErrInvalid)
	assert.Contains(t, err.Error(), "local folder does not exist")
	_, err = c.Download(ctx(t), filepath.Join(dir, "config.json"), "x", hub.DownloadOptions{})
	require.ErrorIs(t, err, hub.ErrInvalid)
}

func TestProgressBar(t *testing.T) {
	f := newFixture(t)
	t.Setenv("HF_HUB_DISABLE_PROGRESS_BARS", "")
	os.Unsetenv("HF_HUB_DISABLE_PROGRESS_BARS")
	var buf strings.Builder
	c := f.newClient(t, hub.WithProgress(&buf))
	_, err := c.Download(ctx(t), repoID, "model.safetensors", hub.DownloadOptions{})
	require.NoError(t, err)
	out := buf.String()
	assert.Contains(t, out, "model.safetensors")
	assert.Contains(t, out, "100%")
	assert.Contains(t, out, "700.0kB/700.0kB")
	assert.True(t, strings.HasSuffix(out, "\n"))

	buf.Reset()
	_, err = c.Download(ctx(t), repoID, "model.safetensors", hub.DownloadOptions{})
	require.NoError(t, err)
	assert.Empty(t, buf.String(), "a cache hit draws nothing")

	t.Setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
	buf.Reset()
	c = f.newClient(t, hub.WithProgress(&buf))
	_, err = c.Download(ctx(t), repoID, "model.safetensors", hub.DownloadOptions{})
	require.NoError(t, err)
	assert.Empty(t, buf.String(), "the environment wins, as in huggingface_hub")
}

func TestDownloadFromSomethingNotAHub(t *testing.T) {
	f := newFixture(t)
	cache := t.TempDir()
	_, err := newClientAt(t, f.s.URL, cache).Download(ctx(t), repoID, "config.json", hub.DownloadOptions{})
	require.NoError(t, err)

	// A captive portal or misconfigured proxy: 200 for everything, no Hub headers.
	portal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<html>log in to the Wi-Fi</html>"))
	}))
	defer portal.Close()
	c := newClientAt(t, portal.URL, cache)
	p, err := c.Download(ctx(t), repoID, "config.json", hub.DownloadOptions{})
	require.NoError(t, err, "the cache answers, as in huggingface_hub")
	assert.Contains(t, p, f.v2)

	_, err = c.Download(ctx(t), repoID, "tokenizer.json", hub.DownloadOptions{})
	require.ErrorIs(t, err, hub.ErrNotCached)
	assert.Contains(t, err.Error(), "does not look like a Hugging Face Hub")
}

func TestOfflineKnowsMissingFiles(t *testing.T) {
	f := newFixture(t)
	cache := t.TempDir()
	_, err := newClientAt(t, f.s.URL, cache).Download(ctx(t), repoID, "pytorch_model.bin", hub.DownloadOptions{})
	require.ErrorIs(t, err, hub.ErrEntryNotFound)

	_, err = newClientAt(t, f.s.URL, cache, hub.WithOffline(true)).Download(ctx(t), repoID, "pytorch_model.bin", hub.DownloadOptions{})
	require.ErrorIs(t, err, hub.ErrEntryNotFound, "the .no_exist marker answers offline")
	assert.Contains(t, err.Error(), "recorded as missing")
}
