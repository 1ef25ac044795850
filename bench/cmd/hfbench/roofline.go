package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// The roofline: the fastest a forward pass of a cell could possibly go on
// this machine, from two measurements made in the same run
// (bench_python.py roofline, per thread count): the memory bandwidth
// (STREAM-like copy and triad over 256 MiB float32 arrays with torch's
// parallel kernels, the faster of the two) and the float32 GEMM peak
// (torch.mm of large square matrices). A pass must read the weights it
// uses once and do the model's multiply-adds; its time is at least the
// larger of weight bytes / bandwidth and FLOPs / GEMM peak. Each cell is
// reported as that bound over the measured time per batch: the fraction
// of the machine's limit a contender reaches (activations, softmax, layer
// norm and the tokenizer are left out of the bound, so 1.0 is out of reach).

// rooflineResult is bench_python.py's roofline answer.
type rooflineResult struct {
	Rows []rooflineRow `json:"rows"`
	// ArrayMiB is the size of each array of the bandwidth test.
	ArrayMiB float64 `json:"array_mib"`
}

// rooflineRow is what one thread count measured.
type rooflineRow struct {
	Threads  int     `json:"threads"`
	CopyGBs  float64 `json:"copy_gbs"`  // 2 arrays moved per element (read + write), GB/s (1e9 bytes)
	TriadGBs float64 `json:"triad_gbs"` // 3 arrays per element (a = b + s·c)
	// GEMM is the best float32 torch.mm rate over the sizes tried, GFLOP/s
	// (2·n³ per product), and the size that reached it.
	GEMMGFlops float64 `json:"gemm_gflops"`
	GEMMN      int     `json:"gemm_n"`
}

// bandwidth is the row's memory bandwidth in bytes/s: the faster test.
func (r rooflineRow) bandwidth() float64 { return math.Max(r.CopyGBs, r.TriadGBs) * 1e9 }

func (r *rooflineResult) row(threads int) (rooflineRow, bool) {
	if r == nil {
		return rooflineRow{}, false
	}
	for _, x := range r.Rows {
		if x.Threads == threads {
			return x, true
		}
	}
	return rooflineRow{}, false
}

func (r *rooflineResult) lines() []string {
	var out []string
	for _, x := range r.Rows {
		out = append(out, fmt.Sprintf("roofline threads=%d: memory bandwidth %.1f GB/s (copy %.1f, triad %.1f), float32 GEMM peak %.1f GFLOP/s (n=%d)",
			x.Threads, x.bandwidth()/1e9, x.CopyGBs, x.TriadGBs, x.GEMMGFlops, x.GEMMN))
	}
	return out
}

// modelShape is what the bound needs of the benchmark model (DistilBERT's
// config.json names).
type modelShape struct {
	Dim       int `json:"dim"`
	Hidden    int `json:"hidden_dim"`
	Layers    int `json:"n_layers"`
	Vocab     int `json:"vocab_size"`
	Positions int `json:"max_position_embeddings"`
	Labels    int `json:"labels"`
}

func modelShapeOf(dir string) (*modelShape, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	var m struct {
		modelShape
		ModelType string            `json:"model_type"`
		ID2Label  map[string]string `json:"id2label"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	s := m.modelShape
	s.Labels = len(m.ID2Label)
	if m.ModelType != "distilbert" || s.Dim <= 0 || s.Hidden <= 0 || s.Layers <= 0 || s.Labels <= 0 {
		return nil, fmt.Errorf("%s: the roofline bound knows DistilBERT classifiers; config.json says model_type %q, dim %d, hidden_dim %d, n_layers %d, %d labels",
			dir, m.ModelType, s.Dim, s.Hidden, s.Layers, s.Labels)
	}
	return &s, nil
}

// work is what one forward pass of bs sequences of n tokens must do at
// least: the weight bytes it reads (every layer's matrices, biases and
// norms, the head, and the embedding rows of its tokens and positions,
// float32) and its multiply-add FLOPs (the linear layers on every token,
// attention's two products, the head on the first token of each sequence).
func (m *modelShape) work(bs, n int) (bytes, flops float64) {
	d, h, k := float64(m.Dim), float64(m.Hidden), float64(m.Labels)
	tokens := float64(bs * n)
	perLayer := 4*d*d + 2*d*h // q, k, v, out; the two FFN matrices
	layerSmall := 4*d + h + d + 4*d
	params := float64(m.Layers)*(perLayer+layerSmall) + 2*d + (d*d + d) + (d*k + k) +
		math.Min(tokens, float64(m.Vocab))*d + float64(n)*d
	flops = 2*tokens*float64(m.Layers)*perLayer + float64(m.Layers)*float64(bs)*4*float64(n)*float64(n)*d + 2*float64(bs)*(d*d+d*k)
	return 4 * params, flops
}

// bound is the least time a pass of the cell can take on the row's
// machine, and which limit sets it ("memory" or "compute").
func (m *modelShape) bound(bs, n int, r rooflineRow) (seconds float64, limit string) {
	bytes, flops := m.work(bs, n)
	mem, comp := bytes/r.bandwidth(), flops/(r.GEMMGFlops*1e9)
	if mem >= comp {
		return mem, "memory"
	}
	return comp, "compute"
}

// fraction is the bound over a contender's time per batch (bs over its
// median throughput); false where the run lacks either.
func (r *report) fraction(c *cellOut, seqPerSec float64) (float64, bool) {
	row, ok := r.Roofline.row(c.Threads)
	if !ok || r.Shape == nil || !(seqPerSec > 0) {
		return math.NaN(), false
	}
	b, _ := r.Shape.bound(c.BS, c.Len, row)
	return b / (float64(c.BS) / seqPerSec), true
}
