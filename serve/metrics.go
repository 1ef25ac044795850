package serve

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// metrics are the server's Prometheus metrics, named as TEI names them
// (te_*), written in Prometheus' text exposition format (version 0.0.4).
type metrics struct {
	requestDuration, tokenizationDuration, queueDuration, inferenceDuration *histogram
	inputLength, batchSize, batchTokens, passSize, passDuration             *histogram
	queueSize, inFlight                                                     *gauge
	cancelledRows, backendErrors                                            *gauge // counters, kept as float
	requestCount, requestSuccess, requestFailure                            *counterVec
}

func newMetrics(maxInput int) *metrics {
	// TEI's buckets: durations 1.5^k*1e-5 s (35 of them), input lengths
	// powers of two up to the longest input, batch sizes 2^0..2^12, batch
	// tokens 2^0..2^20.
	var dur []float64
	v := 0.00001
	for range 35 {
		v *= 1.5
		dur = append(dur, v)
	}
	var inLen []float64
	for x := 0; x < 20 && 1<<x <= maxInput; x++ {
		inLen = append(inLen, float64(int(1)<<x))
	}
	pow2 := func(n int) []float64 {
		var b []float64
		for x := range n {
			b = append(b, float64(int(1)<<x))
		}
		return b
	}
	return &metrics{
		requestDuration:      newHistogram("te_request_duration", "Time from the request's arrival to its response, seconds.", dur),
		tokenizationDuration: newHistogram("te_request_tokenization_duration", "Time a request spent tokenizing, seconds.", dur),
		queueDuration:        newHistogram("te_request_queue_duration", "Time a request's rows waited in the queue, seconds.", dur),
		inferenceDuration:    newHistogram("te_request_inference_duration", "Time from a request's batch start to its last output, seconds.", dur),
		inputLength:          newHistogram("te_request_input_length", "Tokens per input.", inLen),
		batchSize:            newHistogram("te_batch_next_size", "Rows per batch taken from the queue.", pow2(13)),
		batchTokens:          newHistogram("te_batch_next_tokens", "Tokens (unpadded) per batch taken from the queue.", pow2(21)),
		passSize:             newHistogram("hfpipe_forward_pass_size", "Rows per forward pass (a batch split by length).", pow2(13)),
		passDuration:         newHistogram("hfpipe_forward_pass_duration", "Time of one forward pass, seconds.", dur),
		queueSize:            &gauge{name: "te_queue_size", help: "Rows waiting in the queue: scale replicas on this."},
		inFlight:             &gauge{name: "hfpipe_inputs_in_flight", help: "Inputs admitted and not yet answered (at most --max-concurrent-requests)."},
		cancelledRows:        &gauge{name: "hfpipe_cancelled_rows", help: "Rows that left the queue because their request ended (client gone or timeout).", counter: true},
		backendErrors:        &gauge{name: "hfpipe_forward_errors", help: "Forward passes that failed.", counter: true},
		requestCount:         newCounterVec("te_request_count", "Requests received, by method (single, batch).", "method"),
		requestSuccess:       newCounterVec("te_request_success", "Requests answered with 200, by method.", "method"),
		requestFailure:       newCounterVec("te_request_failure", "Requests that failed, by error (validation, overloaded, ...).", "err"),
	}
}

// write renders every metric.
func (m *metrics) write(w io.Writer) {
	for _, h := range []*histogram{m.requestDuration, m.tokenizationDuration, m.queueDuration, m.inferenceDuration,
		m.inputLength, m.batchSize, m.batchTokens, m.passSize, m.passDuration} {
		h.write(w)
	}
	for _, g := range []*gauge{m.queueSize, m.inFlight, m.cancelledRows, m.backendErrors} {
		g.write(w)
	}
	for _, c := range []*counterVec{m.requestCount, m.requestSuccess, m.requestFailure} {
		c.write(w)
	}
}

func fmtFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

type gauge struct {
	name, help string
	counter    bool
	mu         sync.Mutex
	v          float64
}

func (g *gauge) Add(d float64) {
	g.mu.Lock()
	g.v += d
	g.mu.Unlock()
}

func (g *gauge) value() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.v
}

func (g *gauge) write(w io.Writer) {
	typ := "gauge"
	if g.counter {
		typ = "counter"
	}
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", g.name, g.help, g.name, typ, g.name, fmtFloat(g.value()))
}

type histogram struct {
	name, help string
	bounds     []float64
	mu         sync.Mutex
	counts     []uint64 // per bucket (not cumulative), last is +Inf
	sum        float64
	n          uint64
}

func newHistogram(name, help string, bounds []float64) *histogram {
	return &histogram{name: name, help: help, bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) Observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v) // first bound >= v: le is inclusive
	h.mu.Lock()
	h.counts[i]++
	h.sum += v
	h.n++
	h.mu.Unlock()
}

func (h *histogram) write(w io.Writer) {
	h.mu.Lock()
	counts := append([]uint64(nil), h.counts...)
	sum, n := h.sum, h.n
	h.mu.Unlock()
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", h.name, h.help, h.name)
	var cum uint64
	for i, b := range h.bounds {
		cum += counts[i]
		fmt.Fprintf(w, "%s_bucket{le=\"%s\"} %d\n", h.name, fmtFloat(b), cum)
	}
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %s\n%s_count %d\n", h.name, n, h.name, fmtFloat(sum), h.name, n)
}

type counterVec struct {
	name, help, label string
	mu                sync.Mutex
	v                 map[string]float64
}

func newCounterVec(name, help, label string) *counterVec {
	return &counterVec{name: name, help: help, label: label, v: map[string]float64{}}
}

func (c *counterVec) Inc(value string) {
	c.mu.Lock()
	c.v[value]++
	c.mu.Unlock()
}

func (c *counterVec) get(value string) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.v[value]
}

func (c *counterVec) write(w io.Writer) {
	c.mu.Lock()
	keys := make([]string, 0, len(c.v))
	for k := range c.v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", c.name, c.help, c.name)
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	for _, k := range keys {
		fmt.Fprintf(w, "%s{%s=\"%s\"} %s\n", c.name, c.label, r.Replace(k), fmtFloat(c.v[k]))
	}
	c.mu.Unlock()
}

// answered is how many requests got an answer: every success and every
// failure except those whose client had gone.
func (m *metrics) answered() int {
	n := m.requestSuccess.total() + m.requestFailure.total() - m.requestFailure.get("cancelled")
	return int(n)
}

func (c *counterVec) total() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var t float64
	for _, v := range c.v {
		t += v
	}
	return t
}
