package hub_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf/hub"
)

// The cache paths are built from the repo id, the revision, the file name,
// the ETag and the commit. These tests feed path-like values through the
// ones that come from the server, the disk and the caller, and check that
// nothing is read or written outside the cache folder.

// sandbox returns a root folder and the cache folder inside it: anything
// that appears in root besides the cache escaped from it.
func sandbox(t *testing.T) (root, cache string) {
	root = t.TempDir()
	cache = filepath.Join(root, "cache")
	require.NoError(t, os.Mkdir(cache, 0o755))
	return root, cache
}

// onlyCache asserts that root holds the cache folder and nothing else.
func onlyCache(t *testing.T, root string, wantExtra ...string) {
	t.Helper()
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, append([]string{"cache"}, wantExtra...), names, "nothing may be written outside the cache")
}

// escape is a commit or revision that, joined under
// cache/models--org--name/{snapshots,refs,.no_exist}/, lands in root.
const escape = "../../../escaped"

func TestHostileCommitIsRefused(t *testing.T) {
	f := newFixture(t)
	f.s.SetFakeCommit(escape)
	root, cache := sandbox(t)
	c := newClientAt(t, f.s.URL, cache)

	_, err := c.Download(ctx(t), repoID, "config.json", hub.DownloadOptions{})
	require.ErrorIs(t, err, hub.ErrHTTP)
	assert.Contains(t, err.Error(), `X-Repo-Commit "../../../escaped" is not a commit hash`)
	_, err = c.Download(ctx(t), repoID, "model.safetensors", hub.DownloadOptions{})
	require.ErrorIs(t, err, hub.ErrHTTP, "an LFS file's answer (a redirect) is checked too")
	// A missing file is recorded under .no_exist/<commit>/: not with this one.
	_, err = c.Download(ctx(t), repoID, "missing.json", hub.DownloadOptions{})
	require.ErrorIs(t, err, hub.ErrEntryNotFound)
	_, err = c.Snapshot(ctx(t), repoID, hub.SnapshotOptions{})
	require.Error(t, err)
	onlyCache(t, root)
	_, err = os.Stat(filepath.Join(cache, hub.RepoFolderName(repoID), "refs", "main"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the bad commit is not recorded as main's")

	// Other malformed commits: not path-like, but still not a commit.
	for _, bad := range []string{"abc", "ABCDEF0123456789ABCDEF0123456789ABCDEF01", "0123456789abcdef0123456789abcdef0123456/"} {
		f.s.SetFakeCommit(bad)
		_, err = c.Download(ctx(t), repoID, "config.json", hub.DownloadOptions{})
		require.ErrorIs(t, err, hub.ErrHTTP, bad)
	}
	onlyCache(t, root)

	// The honest answer still works in the same cache.
	f.s.SetFakeCommit("")
	p, err := c.Download(ctx(t), repoID, "config.json", hub.DownloadOptions{})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(cache, hub.RepoFolderName(repoID), "snapshots", f.v2, "config.json"), p)
}

func TestHostileRefFileIsIgnored(t *testing.T) {
	root, cache := sandbox(t)
	storage := filepath.Join(cache, hub.RepoFolderName(repoID))
	require.NoError(t, os.MkdirAll(filepath.Join(storage, "refs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(storage, "refs", "main"), []byte(escape), 0o644))
	// What the ref points at exists, outside the cache.
	outside := filepath.Join(root, "escaped")
	require.NoError(t, os.MkdirAll(outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "config.json"), []byte(`{"evil": true}`), 0o644))

	c := newClientAt(t, "http://127.0.0.1:1", cache, hub.WithOffline(true))
	_, err := c.CachedFile(repoID, "config.json", "main")
	require.ErrorIs(t, err, hub.ErrNotCached)
	_, err = c.CachedSnapshot(repoID, "main")
	require.ErrorIs(t, err, hub.ErrNotCached)
	_, err = c.Download(ctx(t), repoID, "config.json", hub.DownloadOptions{})
	require.ErrorIs(t, err, hub.ErrNotCached)
	_, err = c.Snapshot(ctx(t), repoID, hub.SnapshotOptions{})
	require.ErrorIs(t, err, hub.ErrNotCached)
	onlyCache(t, root, "escaped")
}

func TestRevisionNamesStayInRefs(t *testing.T) {
	f := newFixture(t)
	// A Hub that has a branch of that name (the real one refuses it).
	f.repo.Commit(escape, map[string][]byte{"config.json": []byte(`{}`)})
	root, cache := sandbox(t)
	c := newClientAt(t, f.s.URL, cache)

	for _, rev := range []string{escape, "/abs", "a/../../b", `a\b`, "a//b", "./a", "a/.", "a\x00b", "a\nb"} {
		_, err := c.Download(ctx(t), repoID, "config.json", hub.DownloadOptions{Revision: rev})
		require.ErrorIs(t, err, hub.ErrInvalid, "%q", rev)
		assert.Contains(t, err.Error(), "not a valid branch, tag or commit name")
		_, err = c.Snapshot(ctx(t), repoID, hub.SnapshotOptions{Revision: rev})
		require.ErrorIs(t, err, hub.ErrInvalid, "%q", rev)
		_, err = c.FileMetadata(ctx(t), repoID, "config.json", rev)
		require.ErrorIs(t, err, hub.ErrInvalid, "%q", rev)
		_, err = c.ModelInfo(ctx(t), repoID, rev)
		require.ErrorIs(t, err, hub.ErrInvalid, "%q", rev)
		_, err = c.CachedFile(repoID, "config.json", rev)
		require.ErrorIs(t, err, hub.ErrInvalid, "%q", rev)
		_, err = c.CachedSnapshot(repoID, rev)
		require.ErrorIs(t, err, hub.ErrInvalid, "%q", rev)
	}
	onlyCache(t, root)

	// Names the Hub does use still work: a PR ref, a tag with dots.
	f.repo.Commit("refs/pr/1", map[string][]byte{"config.json": []byte(`{"pr": 1}`)})
	for _, rev := range []string{"refs/pr/1", "v1.0", f.v1} {
		_, err := c.Download(ctx(t), repoID, "config.json", hub.DownloadOptions{Revision: rev})
		require.NoError(t, err, rev)
	}
	onlyCache(t, root)
}
