package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/pipeline"
)

// gate holds forward passes until released, and records what each ran.
type gate struct {
	mu      sync.Mutex
	passes  [][]string // decoded rows of each pass
	entered chan struct{}
	release chan struct{}
	tok     *tokenizer.Tokenizer
	next    func(context.Context, []tokenizer.Encoding) ([][]float32, error)
}

func (g *gate) forward(ctx context.Context, encs []tokenizer.Encoding) ([][]float32, error) {
	rows := make([]string, len(encs))
	for i, e := range encs {
		rows[i] = g.tok.Decode(e.IDs, true)
	}
	g.mu.Lock()
	g.passes = append(g.passes, rows)
	g.mu.Unlock()
	g.entered <- struct{}{}
	<-g.release
	return g.next(ctx, encs)
}

func (g *gate) ran() [][]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([][]string(nil), g.passes...)
}

// gatedServer serves the test classifier with every forward pass held at
// the gate until the test lets it through.
func gatedServer(t *testing.T, opts ...Option) (*Server, string, *gate) {
	clf, err := pipeline.NewTextClassification(context.Background(), pipeline.WithModel(smallModel(t)))
	require.NoError(t, err)
	t.Cleanup(func() { clf.Close() })
	a, err := newAdapter(clf, "")
	require.NoError(t, err)
	g := &gate{entered: make(chan struct{}, 100), release: make(chan struct{}), tok: clf.Tokenizer, next: a.forward}
	srv, url := startServer(t, clf, append(opts, func(o *options) { o.forward = g.forward })...)
	t.Cleanup(func() {
		select {
		case <-g.release:
		default:
			close(g.release)
		}
	})
	return srv, url, g
}

type result struct {
	code int
	body []byte
	err  error
}

func postAsync(ctx context.Context, url, body string) chan result {
	ch := make(chan result, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		ch <- result{code: resp.StatusCode, body: b, err: err}
	}()
	return ch
}

func teiError(t *testing.T, body []byte) ErrorResponse {
	t.Helper()
	var e ErrorResponse
	require.NoError(t, json.Unmarshal(body, &e), "not TEI's error JSON: %s", body)
	require.NotEmpty(t, e.Error)
	require.NotEmpty(t, e.ErrorType)
	return e
}

func TestMalformedBodies(t *testing.T) {
	clf, err := pipeline.NewTextClassification(context.Background(), pipeline.WithModel(smallModel(t)))
	require.NoError(t, err)
	defer clf.Close()
	srv, url := startServer(t, clf, WithMaxClientBatchSize(4))
	many := `{"inputs": [["a"],["b"],["c"],["d"],["e"]]}`
	cases := []struct {
		path, body string
		code       int
		typ        ErrorType
		contains   string
	}{
		{"/predict", `{"inputs":`, 422, ErrValidation, "not valid JSON"},
		{"/predict", `not json at all`, 422, ErrValidation, "not valid JSON"},
		{"/predict", ``, 422, ErrValidation, "body is empty"},
		{"/predict", `{"inputs": 5}`, 422, ErrValidation, "inputs"},
		{"/predict", `{"text": "a"}`, 422, ErrValidation, "missing field `inputs`"},
		{"/predict", `{"inputs": "a", "raw_scores": "yes"}`, 422, ErrValidation, "raw_scores"},
		{"/predict", `{"inputs": []}`, 422, ErrValidation, "inputs"},
		{"/predict", `{"inputs": ["a","b","c"]}`, 422, ErrValidation, "inputs"},
		{"/predict", `{"inputs": ""}`, 400, ErrEmpty, "cannot be empty"},
		{"/predict", many, 422, ErrValidation, "batch size 5 > maximum allowed batch size 4"},
		{"/", `{"inputs": "a", "parameters": {"function_to_apply": "relu"}}`, 422, ErrValidation, "function_to_apply"},
		{"/", `{"inputs": "a", "parameters": {"top_k": 0}}`, 422, ErrValidation, "top_k"},
		{"/tokenize", `{"inputs": 3}`, 422, ErrValidation, "inputs"},
		{"/decode", `{"ids": "a"}`, 422, ErrValidation, "ids"},
		{"/decode", `{"ids": [-1]}`, 422, ErrValidation, "ids"},
		{"/rerank", `{"query": 1, "texts": ["a"]}`, 422, ErrValidation, "query"},
		{"/predict", "{\"inputs\": \"\xff\xfe\"}", 200, "", ""}, // invalid UTF-8 in a string is read as U+FFFD
	}
	for _, c := range cases {
		code, body := post(t, url+c.path, c.body)
		assert.Equal(t, c.code, code, "%s %q: %s", c.path, c.body, body)
		if c.code == 200 {
			continue
		}
		e := teiError(t, body)
		assert.Equal(t, c.typ, e.ErrorType, "%s %q", c.path, c.body)
		assert.Contains(t, e.Error, c.contains, "%s %q", c.path, c.body)
	}
	// Wrong method and unknown path are the mux's.
	code, _ := getBody(t, url+"/predict")
	assert.Equal(t, 405, code)
	code, _ = post(t, url+"/nope", `{}`)
	assert.Equal(t, 404, code)
	assert.Equal(t, 0, srv.inFlight)
}

func TestBodyLimit(t *testing.T) {
	clf, err := pipeline.NewTextClassification(context.Background(), pipeline.WithModel(smallModel(t)))
	require.NoError(t, err)
	defer clf.Close()
	_, url := startServer(t, clf, WithPayloadLimit(1000))
	big := fmt.Sprintf(`{"inputs": %q}`, strings.Repeat("a ", 600))
	code, body := post(t, url+"/predict", big)
	assert.Equal(t, 413, code)
	e := teiError(t, body)
	assert.Contains(t, e.Error, "1000-byte payload limit")
	// Without a Content-Length (chunked), the limit holds as the body streams in.
	req, _ := http.NewRequest("POST", url+"/embed", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 413, resp.StatusCode)
	code, _ = post(t, url+"/predict", fmt.Sprintf(`{"inputs": %q}`, strings.Repeat("a ", 400)))
	assert.Equal(t, 200, code, "a body under the limit")
}

func TestOverloadedGives429(t *testing.T) {
	srv, url, g := gatedServer(t, WithMaxConcurrentRequests(3))
	a := postAsync(context.Background(), url+"/predict", `{"inputs": "first"}`)
	<-g.entered // A is in a forward pass
	b := postAsync(context.Background(), url+"/predict", `{"inputs": [["second"], ["third"]]}`)
	waitFor(t, 5*time.Second, func() bool { return srv.m.queueSize.value() == 2 })
	code, body := post(t, url+"/predict", `{"inputs": "fourth"}`)
	assert.Equal(t, 429, code)
	assert.Equal(t, ErrorResponse{Error: "Model is overloaded", ErrorType: ErrOverloaded}, teiError(t, body))
	close(g.release)
	for _, ch := range []chan result{a, b} {
		r := <-ch
		require.NoError(t, r.err)
		assert.Equal(t, 200, r.code, "%s", r.body)
	}
	assert.Equal(t, [][]string{{"first"}, {"second", "third"}}, g.ran())
	code, _ = post(t, url+"/predict", `{"inputs": "fifth"}`)
	assert.Equal(t, 200, code, "admitted again once the others are answered")
	assert.Equal(t, float64(1), srv.m.requestFailure.get("overloaded"))
}

func TestClientDisconnectLeavesQueue(t *testing.T) {
	srv, url, g := gatedServer(t)
	a := postAsync(context.Background(), url+"/predict", `{"inputs": "first"}`)
	<-g.entered
	ctx, cancel := context.WithCancel(context.Background())
	b := postAsync(ctx, url+"/predict", `{"inputs": [["gone one"], ["gone two"]]}`)
	waitFor(t, 5*time.Second, func() bool { return srv.m.queueSize.value() == 2 })
	cancel() // the client goes away while its rows wait
	r := <-b
	require.ErrorIs(t, r.err, context.Canceled)
	// The server notices, takes the rows out of the queue and frees their
	// admission before the batch in progress ends.
	waitFor(t, 5*time.Second, func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return srv.inFlight == 1
	})
	assert.Equal(t, float64(0), srv.m.queueSize.value())
	assert.Equal(t, float64(2), srv.m.cancelledRows.value())
	c := postAsync(context.Background(), url+"/predict", `{"inputs": "third"}`)
	waitFor(t, 5*time.Second, func() bool { return srv.m.queueSize.value() == 1 })
	close(g.release)
	for _, ch := range []chan result{a, c} {
		r := <-ch
		require.NoError(t, r.err)
		assert.Equal(t, 200, r.code)
	}
	assert.Equal(t, [][]string{{"first"}, {"third"}}, g.ran(), "the cancelled rows never ran")
	assert.Equal(t, float64(1), srv.m.requestFailure.get("cancelled"))
}

func TestRequestTimeout(t *testing.T) {
	srv, url, g := gatedServer(t, WithRequestTimeout(300*time.Millisecond))
	a := postAsync(context.Background(), url+"/predict", `{"inputs": "held"}`)
	<-g.entered
	b := postAsync(context.Background(), url+"/predict", `{"inputs": "waits"}`)
	for _, ch := range []chan result{a, b} {
		r := <-ch
		require.NoError(t, r.err)
		assert.Equal(t, 504, r.code)
		e := teiError(t, r.body)
		assert.Contains(t, e.Error, "took over 300ms")
	}
	assert.Equal(t, float64(0), srv.m.queueSize.value(), "the waiting request left the queue")
	close(g.release)
}

func TestReadHeaderTimeout(t *testing.T) {
	clf, err := pipeline.NewTextClassification(context.Background(), pipeline.WithModel(smallModel(t)))
	require.NoError(t, err)
	defer clf.Close()
	_, url := startServer(t, clf, WithReadHeaderTimeout(200*time.Millisecond))
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("POST /predict HTTP/1.1\r\nHost: x\r\n")) // and then nothing
	require.NoError(t, err)
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.ReadAll(conn) // the server closes the connection
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 3*time.Second)
}

func TestGracefulShutdownAnswersAccepted(t *testing.T) {
	clf, err := pipeline.NewTextClassification(context.Background(), pipeline.WithModel(smallModel(t)))
	require.NoError(t, err)
	defer clf.Close()
	a0, err := newAdapter(clf, "")
	require.NoError(t, err)
	g := &gate{entered: make(chan struct{}, 100), release: make(chan struct{}), tok: clf.Tokenizer, next: a0.forward}
	srv, err := New(clf, func(o *options) { o.forward = g.forward })
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	a := postAsync(context.Background(), url+"/predict", `{"inputs": "in a pass"}`)
	<-g.entered
	b := postAsync(context.Background(), url+"/predict", `{"inputs": "queued"}`)
	waitFor(t, 5*time.Second, func() bool { return srv.m.queueSize.value() == 1 })
	cancel() // as SIGTERM does in hfpipe serve
	waitFor(t, 5*time.Second, func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return srv.draining
	})
	select {
	case err := <-done:
		t.Fatalf("Serve returned (%v) with requests unanswered", err)
	case <-time.After(100 * time.Millisecond):
	}
	_, err = http.Post(url+"/predict", "application/json", strings.NewReader(`{"inputs": "new"}`))
	assert.Error(t, err, "new connections are refused")
	close(g.release)
	for _, ch := range []chan result{a, b} {
		r := <-ch
		require.NoError(t, r.err)
		assert.Equal(t, 200, r.code, "%s", r.body)
	}
	require.NoError(t, <-done)
	assert.Equal(t, [][]string{{"in a pass"}, {"queued"}}, g.ran())
}
