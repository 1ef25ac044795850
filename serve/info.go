package serve

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

// Info is TEI's GET /info answer.
type Info struct {
	ModelID               string         `json:"model_id"`
	ModelSHA              *string        `json:"model_sha"`
	ModelDType            string         `json:"model_dtype"`
	ServedModelName       string         `json:"served_model_name"`
	ModelType             map[string]any `json:"model_type"`
	MaxConcurrentRequests int            `json:"max_concurrent_requests"`
	MaxInputLength        int            `json:"max_input_length"`
	MaxBatchTokens        int            `json:"max_batch_tokens"`
	MaxBatchRequests      *int           `json:"max_batch_requests"`
	MaxClientBatchSize    int            `json:"max_client_batch_size"`
	AutoTruncate          bool           `json:"auto_truncate"`
	TokenizationWorkers   int            `json:"tokenization_workers"`
	Version               string         `json:"version"`
	SHA                   *string        `json:"sha"`
	DockerLabel           *string        `json:"docker_label"`
}

// Info describes the served model and the server's limits.
func (s *Server) Info() Info {
	var mt map[string]any
	if s.a.kind == kindEmbedding {
		mt = map[string]any{"embedding": map[string]string{"pooling": string(s.a.pooling)}}
	} else {
		id2label := map[string]string{}
		label2id := map[string]int{}
		for i, l := range s.a.labels {
			id2label[strconv.Itoa(i)] = l
			label2id[l] = i
		}
		mt = map[string]any{s.a.kind.String(): map[string]any{"id2label": id2label, "label2id": label2id}}
	}
	var mbr *int
	if s.o.maxBatchRequests > 0 {
		n := s.o.maxBatchRequests
		mbr = &n
	}
	return Info{ModelID: s.o.modelID, ModelDType: s.a.dtype, ServedModelName: s.o.modelID, ModelType: mt,
		MaxConcurrentRequests: s.o.maxConcurrent, MaxInputLength: s.a.maxInput, MaxBatchTokens: s.o.maxBatchTokens,
		MaxBatchRequests: mbr, MaxClientBatchSize: s.o.maxClientBatch, AutoTruncate: s.o.autoTruncate,
		TokenizationWorkers: 0, Version: "hfpipe"}
}

func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Info())
}

// healthFresh is how recent a successful batch must be for /health to
// trust it instead of running a pass of its own.
const healthFresh = 5 * time.Second

// handleHealth answers 200 when the model runs: a batch succeeded in the
// last few seconds, or a one-row pass (an empty text) queued now
// succeeds. It answers 503 while the server shuts down, so that a load
// balancer's readiness check takes the replica out first.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	unhealthy := newError(ErrUnhealthy, "unhealthy", "unhealthy")
	if draining {
		writeError(w, unhealthy)
		return
	}
	if !s.b.recentlyOK(healthFresh) {
		ctx, cancel := context.WithTimeout(r.Context(), s.o.requestTimeout)
		defer cancel()
		encs, e := s.a.encode(ctx, []sequence{{A: ""}}, true, false)
		if e != nil {
			writeError(w, unhealthy)
			return
		}
		j := &job{ctx: ctx, encs: []tokenizer.Encoding{encs[0]}}
		s.b.submit(j)
		select {
		case <-j.done:
		case <-ctx.Done():
			s.b.cancel(j)
			writeError(w, unhealthy)
			return
		}
		if j.err != nil {
			s.log.Warn("health check failed", "err", j.err)
			writeError(w, unhealthy)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.m.write(w)
}
