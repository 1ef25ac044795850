package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/pipeline"
	"github.com/hfpipe/hfpipe/torch"
)

// testThreads keeps libtorch to the same thread count in every test, so
// that the pipeline and the server run the same kernels.
const testThreads = 2

func smallModel(t testing.TB) string {
	require.NoError(t, torch.SetNumThreads(testThreads))
	return testenv.Model(t, testenv.SmallModel)
}

var rerankerOnce sync.Mutex

// rerankerModel is the tests' 2-layer DistilBERT with a one-label head,
// made by testdata/make_reranker.py once (a stamp file marks it complete).
func rerankerModel(t testing.TB) string {
	src := smallModel(t)
	rerankerOnce.Lock()
	defer rerankerOnce.Unlock()
	dir := filepath.Join(testenv.GenDir(t), "models", "serve-reranker-"+filepath.Base(src))
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	script, err := filepath.Abs(filepath.Join("testdata", "make_reranker.py"))
	require.NoError(t, err)
	runPython(t, script, src, dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644))
	return dir
}

func runPython(t testing.TB, args ...string) []byte {
	t.Helper()
	cmd := execPython(t, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "python %s\n%s", strings.Join(args, " "), stderr.String())
	return out
}

// startServer serves p on a loopback port; the server shuts down at the
// end of the test.
func startServer(t testing.TB, p pipeline.Pipeline, opts ...Option) (*Server, string) {
	t.Helper()
	srv, err := New(p, opts...)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return srv, "http://" + ln.Addr().String()
}

// post sends a JSON body and returns the status and body.
func post(t testing.TB, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// postJSON posts v and decodes a 200 answer into out.
func postJSON(t testing.TB, url string, v any, out any) {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	code, body := post(t, url, string(b))
	require.Equal(t, 200, code, "POST %s %s: %s", url, b, body)
	require.NoError(t, json.Unmarshal(body, out), "%s", body)
}

func getBody(t testing.TB, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// diff tracks the largest absolute difference of a comparison.
type diff struct {
	n, equal int
	max      float64
}

func (d *diff) add(a, b float64) {
	d.n++
	if a == b {
		d.equal++
	}
	d.max = math.Max(d.max, math.Abs(a-b))
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// execPython runs the venv's Python. huggingface_hub's offline mode
// refuses every URL, loopback included, so it is left off: the scripts
// talk to the test's server only (base_url given, no Hub ids), and
// make_reranker.py loads a local folder.
func execPython(t testing.TB, args ...string) *exec.Cmd {
	cmd := exec.Command(testenv.Python(t), args...)
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "HF_HUB_OFFLINE=") {
			env = append(env, e)
		}
	}
	cmd.Env = append(env, "PYTHONHASHSEED=0", "TOKENIZERS_PARALLELISM=false", "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
	return cmd
}
