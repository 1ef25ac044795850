package hub_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hfpipe/hfpipe/hf/hub"
	"github.com/hfpipe/hfpipe/hf/hub/hubtest"
)

// exampleHub starts a fake Hub with one small repo and returns it with a
// fresh cache folder.
func exampleHub() (*hubtest.Server, string) {
	s := hubtest.New()
	s.Repo("acme/tiny").Commit("main", map[string][]byte{
		"config.json":       []byte(`{"model_type": "distilbert"}`),
		"model.safetensors": []byte("weights"),
		"README.md":         []byte("# tiny"),
	})
	cache, err := os.MkdirTemp("", "hub-example")
	if err != nil {
		panic(err)
	}
	return s, cache
}

// shorten prints a cache path with the temporary folder and commit hash
// replaced, so the output is stable.
func shorten(cache, p string) string {
	rel, _ := filepath.Rel(cache, p)
	parts := strings.Split(filepath.ToSlash(rel), "/")
	if len(parts) > 2 && parts[1] == "snapshots" {
		parts[2] = "<commit>"
	}
	return "$CACHE/" + strings.Join(parts, "/")
}

func ExampleClient_Download() {
	s, cache := exampleHub()
	defer s.Close()
	defer os.RemoveAll(cache)

	c := hub.NewClient(hub.WithEndpoint(s.URL), hub.WithCacheDir(cache), hub.WithToken(""), hub.WithProgress(nil))
	p, err := c.Download(context.Background(), "acme/tiny", "config.json", hub.DownloadOptions{Revision: "main"})
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := os.ReadFile(p)
	fmt.Println(shorten(cache, p))
	fmt.Println(string(b))
	// Output:
	// $CACHE/models--acme--tiny/snapshots/<commit>/config.json
	// {"model_type": "distilbert"}
}

func ExampleClient_Snapshot() {
	s, cache := exampleHub()
	defer s.Close()
	defer os.RemoveAll(cache)

	c := hub.NewClient(hub.WithEndpoint(s.URL), hub.WithCacheDir(cache), hub.WithToken(""), hub.WithProgress(nil))
	dir, err := c.Snapshot(context.Background(), "acme/tiny", hub.SnapshotOptions{
		AllowPatterns: []string{"*.json", "*.safetensors"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	entries, _ := os.ReadDir(dir)
	fmt.Println(shorten(cache, dir))
	for _, e := range entries {
		fmt.Println(e.Name())
	}
	// Output:
	// $CACHE/models--acme--tiny/snapshots/<commit>
	// config.json
	// model.safetensors
}

// Offline, the cache answers alone; what is missing is a clear error.
func ExampleWithOffline() {
	s, cache := exampleHub()
	defer s.Close()
	defer os.RemoveAll(cache)

	online := hub.NewClient(hub.WithEndpoint(s.URL), hub.WithCacheDir(cache), hub.WithToken(""), hub.WithProgress(nil))
	if _, err := online.Download(context.Background(), "acme/tiny", "config.json", hub.DownloadOptions{}); err != nil {
		fmt.Println(err)
		return
	}

	offline := hub.NewClient(hub.WithEndpoint(s.URL), hub.WithCacheDir(cache), hub.WithOffline(true), hub.WithProgress(nil))
	p, err := offline.Download(context.Background(), "acme/tiny", "config.json", hub.DownloadOptions{})
	fmt.Println(shorten(cache, p), err)
	_, err = offline.Download(context.Background(), "acme/tiny", "README.md", hub.DownloadOptions{})
	fmt.Println(errors.Is(err, hub.ErrNotCached))
	// Output:
	// $CACHE/models--acme--tiny/snapshots/<commit>/config.json <nil>
	// true
}

func ExampleError() {
	s, cache := exampleHub()
	defer s.Close()
	defer os.RemoveAll(cache)

	c := hub.NewClient(hub.WithEndpoint(s.URL), hub.WithCacheDir(cache), hub.WithToken(""), hub.WithProgress(nil))
	_, err := c.Download(context.Background(), "acme/tiny", "pytorch_model.bin", hub.DownloadOptions{})
	var he *hub.Error
	if errors.As(err, &he) {
		fmt.Println(errors.Is(err, hub.ErrEntryNotFound), he.StatusCode, he.Filename)
	}
	// Output:
	// true 404 pytorch_model.bin
}
