package hf_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/hub"
)

func snapshotFiles(t *testing.T, dir string) []string {
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

func TestResolveModelDefaultFiles(t *testing.T) {
	s, cache := fakeHubModel(t)
	dir, err := hf.ResolveModel(context.Background(), "hfpipe-test/sst2", nil, testHubOptions(s.URL, cache)...)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(cache, "models--hfpipe-test--sst2", "snapshots", s.Repo("hfpipe-test/sst2").Head("main")), dir)
	assert.Equal(t, []string{"config.json", "hfpipe-meta.json", "hfpipe-model.pt", "model.safetensors",
		"tokenizer.json", "tokenizer_config.json", "vocab.txt"}, snapshotFiles(t, dir),
		"config, tokenizer, safetensors and export files; no README, .bin or onnx/")
}

func TestResolveModelFilesAndRevision(t *testing.T) {
	s, cache := fakeHubModel(t)
	repo := s.Repo("hfpipe-test/sst2")
	first := repo.Head("main")
	repo.Tag("v1", first)
	repo.Commit("main", map[string][]byte{"config.json": []byte(`{"model_type": "bert"}`)})

	dir, err := hf.ResolveModel(context.Background(), "hfpipe-test/sst2", []string{"config.json", "pytorch_model.bin", "absent.txt"},
		append(testHubOptions(s.URL, cache), hf.WithRevision("v1"))...)
	require.NoError(t, err)
	assert.Equal(t, first, filepath.Base(dir))
	assert.Equal(t, []string{"config.json", "pytorch_model.bin"}, snapshotFiles(t, dir))
	c, err := hf.LoadConfig(dir)
	require.NoError(t, err)
	assert.Equal(t, "distilbert", c.ModelType)

	// Offline, the tag resolves from the cache.
	s.Close()
	again, err := hf.ResolveModel(context.Background(), "hfpipe-test/sst2", []string{"config.json"},
		append(testHubOptions(s.URL, cache, hub.WithOffline(true)), hf.WithRevision("v1"))...)
	require.NoError(t, err)
	assert.Equal(t, dir, again)
}

func TestResolveModelLocalFolder(t *testing.T) {
	dir := writeConfigDir(t, cfgTestSST2JSON)
	got, err := hf.ResolveModel(context.Background(), dir, nil, hf.WithOffline(true))
	require.NoError(t, err)
	assert.Equal(t, dir, got, "a local folder is returned as is")

	_, err = hf.ResolveModel(context.Background(), filepath.Join(dir, "config.json"), nil)
	require.Error(t, err)
	_, err = hf.ResolveModel(context.Background(), "./definitely/not/here", nil, hf.WithOffline(true))
	require.ErrorIs(t, err, hub.ErrInvalid)
	assert.Contains(t, err.Error(), "local folder does not exist")

	p, err := hf.ResolveFile(context.Background(), dir, "config.json")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "config.json"), p)
	_, err = hf.ResolveFile(context.Background(), dir, "tokenizer.json")
	require.ErrorIs(t, err, hub.ErrEntryNotFound)
}

func TestResolveOptions(t *testing.T) {
	c := hub.NewClient(hub.WithCacheDir("/x"))
	o := hf.NewOptions(hf.WithCacheDir("/ignored"), hf.WithHubClient(c), hf.WithRevision("dev"))
	assert.Same(t, c, o.HubClient(), "an explicit client wins")
	assert.Equal(t, "dev", o.Revision)

	o = hf.NewOptions(hf.WithCacheDir("/y"), hf.WithEndpoint("http://mirror/"), hf.WithOffline(true), hf.WithToken("t"))
	hc := o.HubClient()
	assert.Equal(t, "/y", hc.CacheDir())
	assert.Equal(t, "http://mirror", hc.Endpoint())
	assert.True(t, hc.Offline())
	assert.True(t, hc.HasToken())
}
