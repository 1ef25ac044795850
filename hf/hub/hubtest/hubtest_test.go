package hubtest_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf/hub/hubtest"
)

func do(t *testing.T, method, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func TestResolveHeaders(t *testing.T) {
	s := hubtest.New()
	defer s.Close()
	r := s.Repo("org/m")
	sha := r.Commit("main", map[string][]byte{"config.json": []byte("0123456789"), "w.safetensors": []byte("weights")})

	resp, body := do(t, "HEAD", s.URL+"/org/m/resolve/main/config.json")
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, sha, resp.Header.Get("X-Repo-Commit"))
	assert.Equal(t, `"`+r.ETag("main", "config.json")+`"`, resp.Header.Get("ETag"))
	assert.Equal(t, "10", resp.Header.Get("Content-Length"))
	assert.Empty(t, body)

	resp, body = do(t, "GET", s.URL+"/org/m/resolve/"+sha+"/config.json", "Range", "bytes=4-")
	assert.Equal(t, 206, resp.StatusCode)
	assert.Equal(t, "bytes 4-9/10", resp.Header.Get("Content-Range"))
	assert.Equal(t, "456789", body)
	resp, _ = do(t, "GET", s.URL+"/org/m/resolve/main/config.json", "Range", "bytes=10-")
	assert.Equal(t, 416, resp.StatusCode)

	resp, _ = do(t, "HEAD", s.URL+"/org/m/resolve/main/w.safetensors")
	assert.Equal(t, 302, resp.StatusCode)
	assert.Equal(t, `"`+r.ETag("main", "w.safetensors")+`"`, resp.Header.Get("X-Linked-Etag"))
	assert.Equal(t, "7", resp.Header.Get("X-Linked-Size"))
	loc := resp.Header.Get("Location")
	assert.True(t, strings.HasPrefix(loc, s.CDNURL+"/repos/"), loc)
	_, body = do(t, "GET", loc)
	assert.Equal(t, "weights", body)
	resp, _ = do(t, "GET", loc, "Authorization", "Bearer x")
	assert.Equal(t, 400, resp.StatusCode, "the CDN refuses a second credential")
}

func TestErrorHeaders(t *testing.T) {
	s := hubtest.New()
	defer s.Close()
	g := s.Repo("org/gated")
	g.Commit("main", map[string][]byte{"a": []byte("a")})
	g.SetGated(true)
	s.AddToken("t")
	for _, tc := range []struct {
		path, auth string
		status     int
		code       string
	}{
		{"/org/nope/resolve/main/a", "", 401, "RepoNotFound"},
		{"/org/nope/resolve/main/a", "Bearer t", 404, "RepoNotFound"},
		{"/org/gated/resolve/main/a", "", 401, "GatedRepo"},
		{"/org/gated/resolve/main/a", "Bearer t", 403, "GatedRepo"},
		{"/api/models/org/gated/revision/main", "Bearer t", 403, "GatedRepo"},
		{"/org/gated/resolve/main/a", "Bearer forged", 401, ""},
	} {
		resp, _ := do(t, "GET", s.URL+tc.path, "Authorization", tc.auth)
		assert.Equal(t, tc.status, resp.StatusCode, tc.path)
		assert.Equal(t, tc.code, resp.Header.Get("X-Error-Code"), tc.path)
		assert.NotEmpty(t, resp.Header.Get("X-Error-Message"), tc.path)
	}
	g.Grant("t")
	resp, _ := do(t, "GET", s.URL+"/org/gated/resolve/main/nope", "Authorization", "Bearer t")
	assert.Equal(t, 404, resp.StatusCode)
	assert.Equal(t, "EntryNotFound", resp.Header.Get("X-Error-Code"))
	assert.Equal(t, g.Head("main"), resp.Header.Get("X-Repo-Commit"))
	resp, _ = do(t, "GET", s.URL+"/org/gated/resolve/v3/a", "Authorization", "Bearer t")
	assert.Equal(t, "RevisionNotFound", resp.Header.Get("X-Error-Code"))
}

func TestCutAndAddFolder(t *testing.T) {
	s := hubtest.New()
	defer s.Close()
	dir := t.TempDir()
	require.NoError(t, writeFiles(dir, map[string]string{"config.json": "{}", "sub/vocab.txt": "[PAD]\n", ".git/x": "skip"}))
	sha, err := s.AddFolder("org/folder", dir)
	require.NoError(t, err)
	assert.Equal(t, sha, s.Repo("org/folder").Head("main"))
	_, body := do(t, "GET", s.URL+"/api/models/org/folder/revision/main")
	assert.Contains(t, body, `"rfilename":"sub/vocab.txt"`)
	assert.NotContains(t, body, ".git")

	s.Cut("sub/vocab.txt", 3)
	req, _ := http.NewRequest("GET", s.URL+"/org/folder/resolve/main/sub/vocab.txt", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Error(t, err, "the body is cut short")
	assert.Equal(t, "[PA", string(b))
	_, body = do(t, "GET", s.URL+"/org/folder/resolve/main/sub/vocab.txt")
	assert.Equal(t, "[PAD]\n", body, "a cut applies once")
}

func writeFiles(dir string, files map[string]string) error {
	for name, content := range files {
		if err := writeFile(dir, name, content); err != nil {
			return err
		}
	}
	return nil
}

// Serving a model folder to code under test that reads HF_ENDPOINT.
func ExampleServer_AddFolder() {
	s := hubtest.New()
	defer s.Close()
	dir, _ := mkTemp()
	defer os.RemoveAll(dir)
	_ = writeFile(dir, "config.json", `{"model_type": "bert"}`)
	if _, err := s.AddFolder("acme/bert-tiny", dir); err != nil {
		fmt.Println(err)
		return
	}
	// In a test: t.Setenv("HF_ENDPOINT", s.URL), then load "acme/bert-tiny".
	resp, _ := http.Get(s.URL + "/api/models/acme/bert-tiny/revision/main")
	fmt.Println(resp.StatusCode)
	resp.Body.Close()
	// Output: 200
}

func TestFakeCommit(t *testing.T) {
	s := hubtest.New()
	defer s.Close()
	sha := s.Repo("org/m").Commit("main", map[string][]byte{"config.json": []byte("{}")})
	s.SetFakeCommit("../../x")
	resp, _ := do(t, "HEAD", s.URL+"/org/m/resolve/main/config.json")
	assert.Equal(t, 200, resp.StatusCode, "the file is still served")
	assert.Equal(t, "../../x", resp.Header.Get("X-Repo-Commit"))
	resp, _ = do(t, "HEAD", s.URL+"/org/m/resolve/main/missing.json")
	assert.Equal(t, "../../x", resp.Header.Get("X-Repo-Commit"), "error answers lie too")
	_, body := do(t, "GET", s.URL+"/api/models/org/m")
	assert.Contains(t, body, `"sha":"../../x"`)
	s.SetFakeCommit("")
	resp, _ = do(t, "HEAD", s.URL+"/org/m/resolve/main/config.json")
	assert.Equal(t, sha, resp.Header.Get("X-Repo-Commit"))
}
