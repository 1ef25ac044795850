package hub_test

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf/hub"
)

// listFiles returns the files under dir, '/'-separated and sorted.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	}))
	sort.Strings(out)
	return out
}

func TestSnapshot(t *testing.T) {
	f := newFixture(t)
	cache := t.TempDir()
	c := newClientAt(t, f.s.URL, cache)
	storage := filepath.Join(cache, hub.RepoFolderName(repoID))

	dir, err := c.Snapshot(ctx(t), repoID, hub.SnapshotOptions{})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(storage, "snapshots", f.v2), dir)
	assert.Equal(t, []string{"README.md", "config.json", "model.safetensors", "onnx/model.onnx", "tokenizer.json"}, listFiles(t, dir))
	assert.Equal(t, f.weights, []byte(readFile(t, filepath.Join(dir, "model.safetensors"))))
	assert.Equal(t, f.v2, readFile(t, filepath.Join(storage, "refs", "main")))
	// Files are fetched by commit hash, so one info call and one HEAD per file.
	assert.Equal(t, 1, f.s.Count("GET", "/api/models/"))
	assert.Equal(t, 5, f.s.Count("HEAD", "/resolve/"+f.v2+"/"))
	noIncomplete(t, cache)

	// A second call only re-checks metadata; nothing is fetched again.
	f.s.ResetRequests()
	again, err := c.Snapshot(ctx(t), repoID, hub.SnapshotOptions{})
	require.NoError(t, err)
	assert.Equal(t, dir, again)
	assert.Zero(t, f.s.Count("GET", "/resolve/"))
	assert.Zero(t, f.s.Count("GET", "/repos/"))
}

func TestSnapshotPatternsAndRevisions(t *testing.T) {
	f := newFixture(t)
	cache := t.TempDir()
	c := newClientAt(t, f.s.URL, cache)

	dir, err := c.Snapshot(ctx(t), repoID, hub.SnapshotOptions{Revision: "v1.0", AllowPatterns: []string{"*.json", "*.safetensors"}})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(cache, hub.RepoFolderName(repoID), "snapshots", f.v1), dir)
	assert.Equal(t, []string{"config.json", "model.safetensors", "tokenizer.json"}, listFiles(t, dir))
	assert.JSONEq(t, `{"model_type": "distilbert", "version": 1}`, readFile(t, filepath.Join(dir, "config.json")))

	dir, err = c.Snapshot(ctx(t), repoID, hub.SnapshotOptions{Revision: "dev", AllowPatterns: []string{"onnx/"}, IgnorePatterns: []string{"*.md"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"onnx/model.onnx"}, listFiles(t, dir))

	// The blob of model.safetensors is shared by v1 and dev: stored once.
	blobs, err := os.ReadDir(filepath.Join(cache, hub.RepoFolderName(repoID), "blobs"))
	require.NoError(t, err)
	assert.Len(t, blobs, 4)

	// Offline, a tag resolves through refs/ to the same folder.
	off := newClientAt(t, f.s.URL, cache, hub.WithOffline(true))
	got, err := off.Snapshot(ctx(t), repoID, hub.SnapshotOptions{Revision: "v1.0"})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(cache, hub.RepoFolderName(repoID), "snapshots", f.v1), got)
	got, err = off.CachedSnapshot(repoID, f.dev)
	require.NoError(t, err)
	assert.Contains(t, got, f.dev)
	_, err = off.CachedSnapshot(repoID, "main")
	require.ErrorIs(t, err, hub.ErrNotCached)
}

func TestModelInfo(t *testing.T) {
	f := newFixture(t)
	info, err := f.newClient(t).ModelInfo(ctx(t), repoID, "v1.0")
	require.NoError(t, err)
	assert.Equal(t, repoID, info.ID)
	assert.Equal(t, f.v1, info.SHA)
	assert.Equal(t, hub.Gated(""), info.Gated)
	assert.Equal(t, []string{"README.md", "config.json", "model.safetensors", "onnx/model.onnx", "tokenizer.json"}, info.Files())
}

func sortStrings(s []string) { sort.Strings(s) }
