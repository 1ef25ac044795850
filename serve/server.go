package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/pipeline"
)

// Server serves one pipeline over HTTP with dynamic batching. Make it with
// New, mount its handlers with Register (or use Handler), run it with Serve
// or an http.Server of your own, and Close it when done.
type Server struct {
	a   *adapter
	b   *batcher
	m   *metrics
	o   options
	log *slog.Logger

	mu       sync.Mutex
	inFlight int  // admitted inputs
	draining bool // shutting down: new work is refused, /health fails
	active   sync.WaitGroup
}

// New makes a server for p: a *pipeline.TextClassification (served on
// /predict, and on /rerank when its model has one label) or a
// *pipeline.FeatureExtraction (served on /embed). It starts the batching
// goroutine; Close stops it. The server does not close p.
func New(p pipeline.Pipeline, opts ...Option) (*Server, error) {
	o := defaults()
	for _, opt := range opts {
		opt(&o)
	}
	a, err := newAdapter(p, o.pooling)
	if err != nil {
		return nil, err
	}
	switch {
	case o.maxConcurrent < 1:
		return nil, fmt.Errorf("serve: max concurrent requests %d: want at least 1", o.maxConcurrent)
	case o.maxClientBatch < 1:
		return nil, fmt.Errorf("serve: max client batch size %d: want at least 1", o.maxClientBatch)
	case o.maxBatchTokens < a.maxInput:
		return nil, fmt.Errorf("serve: max batch tokens %d is below the model's maximum input length %d: raise it so that every input fits a batch", o.maxBatchTokens, a.maxInput)
	case o.maxBatchRequests < 0, o.payloadLimit < 1, o.requestTimeout <= 0:
		return nil, fmt.Errorf("serve: max batch requests, payload limit and request timeout must be positive")
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.modelID == "" {
		o.modelID = a.dir
	}
	s := &Server{a: a, o: o, log: o.logger, m: newMetrics(a.maxInput)}
	run := a.forward
	if o.forward != nil {
		run = o.forward
	}
	s.b = newBatcher(run, o.maxBatchTokens, o.maxBatchRequests, s.m)
	return s, nil
}

// Register mounts the routes on mux: TEI's POST /predict, /rerank, /embed,
// /tokenize, /decode, GET /info, /health, /metrics, and the inference
// API's POST / (GET / is a health check, as in TEI). Routes for another
// kind of model answer 424 as TEI's do.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /predict", s.handlePredict)
	mux.HandleFunc("POST /rerank", s.handleRerank)
	mux.HandleFunc("POST /embed", s.handleEmbed)
	mux.HandleFunc("POST /tokenize", s.handleTokenize)
	mux.HandleFunc("POST /decode", s.handleDecode)
	mux.HandleFunc("POST /{$}", s.handleInference)
	mux.HandleFunc("GET /info", s.handleInfo)
	mux.HandleFunc("GET /health", s.handleHealth)
	mux.HandleFunc("GET /{$}", s.handleHealth)
	mux.HandleFunc("GET /metrics", s.handleMetrics)
}

// Handler returns a new mux with the routes of Register.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Register(mux)
	return mux
}

// HTTPServer returns an http.Server for the handler with the limits a
// server facing untrusted clients needs: ReadHeaderTimeout (slow headers),
// a read timeout as long as the request timeout (slow bodies), an idle
// timeout for keep-alive connections.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.o.readHeaderTimeout,
		ReadTimeout:       s.o.requestTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Serve answers requests on ln until ctx ends, then shuts down gracefully:
// /health turns 503 and new requests are refused, the listener closes,
// every accepted request is answered (for up to WithShutdownTimeout), and
// the batching goroutine stops. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := s.HTTPServer(ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	s.mu.Lock()
	inFlight := s.inFlight
	s.mu.Unlock()
	s.log.Info("shutting down: finishing accepted requests", "in_flight", inFlight, "queued_rows", s.b.queued(), "timeout", s.o.shutdownTimeout)
	s.setDraining()
	sctx, cancel := context.WithTimeout(context.Background(), s.o.shutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		// Out of time: rows still queued are answered "shutting down" now
		// rather than after their own timeouts.
		s.log.Warn("shutdown timeout reached with requests unanswered", "err", err)
		s.setDraining()
		s.b.close()
	}
	s.Close()
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	if err == nil {
		s.log.Info("shut down cleanly", "answered", s.m.answered())
	}
	return err
}

func (s *Server) setDraining() {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
}

// Close refuses new work, waits for the requests being answered, and stops
// the batching goroutine. It does not close the pipeline.
func (s *Server) Close() error {
	s.setDraining()
	s.active.Wait()
	s.b.close()
	return nil
}

// acquire admits n inputs, or reports why not (overloaded, draining).
func (s *Server) acquire(n int) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return newError(ErrUnhealthy, "shutdown", "the server is shutting down: retry on another replica").withStatus(http.StatusServiceUnavailable)
	}
	if s.inFlight+n > s.o.maxConcurrent {
		return newError(ErrOverloaded, "overloaded", "Model is overloaded")
	}
	s.inFlight += n
	s.active.Add(1)
	s.m.inFlight.Add(float64(n))
	return nil
}

func (s *Server) release(n int) {
	s.mu.Lock()
	s.inFlight -= n
	s.mu.Unlock()
	s.m.inFlight.Add(-float64(n))
	s.active.Done()
}

// timings are a request's TEI response metadata.
type timings struct {
	start                      time.Time
	chars, tokens              int
	tokenize, queue, inferTime time.Duration
}

func (t *timings) header(w http.ResponseWriter) {
	h := w.Header()
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	total := time.Since(t.start)
	h.Set("x-compute-type", "cpu+hfpipe")
	h.Set("x-compute-time", ms(total))
	h.Set("x-compute-characters", strconv.Itoa(t.chars))
	h.Set("x-compute-tokens", strconv.Itoa(t.tokens))
	h.Set("x-total-time", ms(total))
	h.Set("x-tokenization-time", ms(t.tokenize))
	h.Set("x-queue-time", ms(t.queue))
	h.Set("x-inference-time", ms(t.inferTime))
}

// run admits n inputs, tokenizes them with encode, queues the rows and
// waits for their outputs, one vector per input in input order.
func (s *Server) run(r *http.Request, n int, t *timings, encode func(context.Context) ([]tokenizer.Encoding, *apiError)) ([][]float32, *apiError) {
	if e := s.acquire(n); e != nil {
		return nil, e
	}
	defer s.release(n)
	ctx, cancel := context.WithTimeout(r.Context(), s.o.requestTimeout)
	defer cancel()
	t0 := time.Now()
	encs, e := encode(ctx)
	t.tokenize = time.Since(t0)
	if e != nil {
		return nil, e
	}
	for _, enc := range encs {
		t.tokens += len(enc.IDs)
		s.m.inputLength.Observe(float64(len(enc.IDs)))
	}
	j := &job{ctx: ctx, encs: encs}
	s.b.submit(j)
	select {
	case <-j.done:
	case <-ctx.Done():
		s.b.cancel(j)
		if r.Context().Err() != nil {
			return nil, newError(ErrBackend, "cancelled", "the client went away").withStatus(499)
		}
		return nil, newError(ErrOverloaded, "timeout", fmt.Sprintf("the request took over %s (queue and inference): retry later, or raise the request timeout", s.o.requestTimeout)).withStatus(http.StatusGatewayTimeout)
	}
	if j.err != nil {
		s.b.cancel(j)
		if errors.Is(j.err, errClosed) {
			return nil, newError(ErrUnhealthy, "shutdown", j.err.Error())
		}
		s.log.Error("forward pass failed", "err", j.err)
		return nil, newError(ErrBackend, "backend", "Backend error: "+j.err.Error())
	}
	t.queue, t.inferTime = j.queue, j.infer
	return j.out, nil
}

// readBody reads the body within the payload limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.o.payloadLimit))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, validation(fmt.Sprintf("the request body is over the %d-byte payload limit: send fewer or shorter inputs, or raise --payload-limit", s.o.payloadLimit)).withStatus(http.StatusRequestEntityTooLarge)
		}
		return nil, validation("could not read the request body: " + err.Error())
	}
	return body, nil
}

// fail answers an error and counts it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, e *apiError) {
	s.m.requestFailure.Inc(e.metric)
	lvl := slog.LevelDebug
	if e.status >= 500 && e.status != http.StatusServiceUnavailable {
		lvl = slog.LevelWarn
	}
	s.log.Log(r.Context(), lvl, "request failed", "path", r.URL.Path, "status", e.status, "error_type", e.typ, "err", e.msg)
	if e.status == 499 { // nobody to answer
		return
	}
	writeError(w, e)
}

// succeed answers v with the TEI headers and records the request's metrics.
func (s *Server) succeed(w http.ResponseWriter, r *http.Request, method string, t *timings, v any) {
	t.header(w)
	s.m.requestSuccess.Inc(method)
	s.m.requestDuration.Observe(time.Since(t.start).Seconds())
	s.m.tokenizationDuration.Observe(t.tokenize.Seconds())
	s.m.queueDuration.Observe(t.queue.Seconds())
	s.m.inferenceDuration.Observe(t.inferTime.Seconds())
	s.log.Debug("request", "path", r.URL.Path, "tokens", t.tokens, "total", time.Since(t.start), "queue", t.queue, "inference", t.inferTime)
	writeJSON(w, http.StatusOK, v)
}

func methodOf(batch bool) string {
	if batch {
		return "batch"
	}
	return "single"
}

// checkBatch applies TEI's empty-batch and client batch size rules.
func (s *Server) checkBatch(n int, what string) *apiError {
	if n == 0 {
		return newError(ErrEmpty, "validation", "Input validation error: `"+what+"` cannot be empty")
	}
	if n > s.o.maxClientBatch {
		return newError(ErrValidation, "batch_size", fmt.Sprintf("batch size %d > maximum allowed batch size %d", n, s.o.maxClientBatch))
	}
	return nil
}
