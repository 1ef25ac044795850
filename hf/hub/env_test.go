package hub_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf/hub"
)

func TestCacheDirFromEnv(t *testing.T) {
	home := t.TempDir()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"default", nil, filepath.Join(home, ".cache", "huggingface", "hub")},
		{"XDG_CACHE_HOME", map[string]string{"XDG_CACHE_HOME": "/xdg"}, "/xdg/huggingface/hub"},
		{"HF_HOME", map[string]string{"HF_HOME": "/hf", "XDG_CACHE_HOME": "/xdg"}, "/hf/hub"},
		{"HF_HOME with ~ and $VAR", map[string]string{"HF_HOME": "~/$SUB/${SUB}/$NOT_SET_X", "SUB": "s"}, filepath.Join(home, "s", "s", "$NOT_SET_X", "hub")},
		{"legacy HUGGINGFACE_HUB_CACHE", map[string]string{"HUGGINGFACE_HUB_CACHE": "/legacy", "HF_HOME": "/hf"}, "/legacy"},
		{"HF_HUB_CACHE wins", map[string]string{"HF_HUB_CACHE": "/new", "HUGGINGFACE_HUB_CACHE": "/legacy"}, "/new"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearHubEnv(t)
			t.Setenv("HOME", home)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			assert.Equal(t, tc.want, hub.DefaultCacheDir())
			assert.Equal(t, tc.want, hub.NewClient().CacheDir())
		})
	}
}

func TestTokenFromEnv(t *testing.T) {
	clearHubEnv(t)
	hfHome := t.TempDir()
	t.Setenv("HF_HOME", hfHome)
	assert.Empty(t, hub.TokenFromEnv())
	assert.False(t, hub.NewClient().HasToken())

	require.NoError(t, os.WriteFile(filepath.Join(hfHome, "token"), []byte("hf_from_file\n"), 0o600))
	assert.Equal(t, "hf_from_file", hub.TokenFromEnv())

	other := filepath.Join(t.TempDir(), "tok")
	require.NoError(t, os.WriteFile(other, []byte(" hf_from_path "), 0o600))
	t.Setenv("HF_TOKEN_PATH", other)
	assert.Equal(t, "hf_from_path", hub.TokenFromEnv())

	t.Setenv("HUGGING_FACE_HUB_TOKEN", "hf_legacy")
	assert.Equal(t, "hf_legacy", hub.TokenFromEnv())
	t.Setenv("HF_TOKEN", " hf_env\r\n")
	assert.Equal(t, "hf_env", hub.TokenFromEnv())

	t.Setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
	assert.Empty(t, hub.TokenFromEnv())
	assert.True(t, hub.NewClient(hub.WithToken("explicit")).HasToken(), "an explicit token is still sent")
}

func TestTokenFileIsSent(t *testing.T) {
	f := newFixture(t)
	gated := f.s.Repo("hfpipe-test/gated")
	gated.Commit("main", map[string][]byte{"config.json": []byte(`{}`)})
	gated.SetGated(true)
	gated.Grant("hf_logged_in")

	clearHubEnv(t)
	hfHome := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(hfHome, "token"), []byte("hf_logged_in"), 0o600))
	t.Setenv("HF_HOME", hfHome)
	t.Setenv("HF_ENDPOINT", f.s.URL+"/")
	c := hub.NewClient(hub.WithProgress(nil))
	assert.Equal(t, f.s.URL, c.Endpoint(), "trailing slash dropped")
	assert.Equal(t, filepath.Join(hfHome, "hub"), c.CacheDir())
	_, err := c.Download(ctx(t), "hfpipe-test/gated", "config.json", hub.DownloadOptions{})
	require.NoError(t, err)
}

func TestOfflineFromEnv(t *testing.T) {
	for v, want := range map[string]bool{"1": true, "true": true, "YES": true, "on": true, "0": false, "false": false, "": false, "nope": false} {
		clearHubEnv(t)
		t.Setenv("HF_HUB_OFFLINE", v)
		assert.Equal(t, want, hub.OfflineFromEnv(), "HF_HUB_OFFLINE=%q", v)
		assert.Equal(t, want, hub.NewClient().Offline(), "HF_HUB_OFFLINE=%q", v)
	}
	clearHubEnv(t)
	t.Setenv("TRANSFORMERS_OFFLINE", "1")
	assert.True(t, hub.OfflineFromEnv(), "transformers' legacy name")
	assert.False(t, hub.NewClient(hub.WithOffline(false)).Offline(), "options win over the environment")
}

func TestValidateRepoID(t *testing.T) {
	for _, ok := range []string{"gpt2", "distilbert/distilbert-base-uncased-finetuned-sst-2-english", "a_b.c-d/E.F_g"} {
		assert.NoError(t, hub.ValidateRepoID(ok), ok)
	}
	for _, bad := range []string{"", "a/b/c", "a--b/c", "a/b..c", "-a/b", "a/b.", "a/b.git", "a b/c", "org/" + string(make([]byte, 97))} {
		assert.ErrorIs(t, hub.ValidateRepoID(bad), hub.ErrInvalid, bad)
	}
}
