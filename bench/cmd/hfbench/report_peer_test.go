package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hfpipe/hfpipe/bench"
	"github.com/hfpipe/hfpipe/pipeline"
)

// distilbert is the benchmark model's shape (make_model.py's defaults).
var distilbert = &modelShape{Dim: 768, Hidden: 3072, Layers: 6, Vocab: 30522, Positions: 512, Labels: 2}

// TestRooflineWork checks the bound's arithmetic against counts made by
// hand for DistilBERT-base with a 2-label head.
func TestRooflineWork(t *testing.T) {
	bytes, flops := distilbert.work(1, 16)
	// Per layer: 4·768² + 2·768·3072 = 7,077,888 matrix weights and
	// 4·768 + 3072 + 768 + 4·768 = 9,984 biases and norm parameters; the
	// embedding norm 1,536; pre_classifier 768² + 768; classifier
	// 768·2 + 2; 16 word rows and 16 position rows of 768.
	params := 6*(7077888+9984) + 1536 + (589824 + 768) + (1536 + 2) + 16*768 + 16*768
	if want := 4 * float64(params); !near(bytes, want) {
		t.Errorf("bytes = %.0f, want %.0f", bytes, want)
	}
	// 2·16·6·7,077,888 in the linear layers, 6·1·4·16²·768 in attention,
	// 2·(768² + 768·2) in the head.
	if want := 2*16*6*7077888.0 + 6*4*256*768.0 + 2*(589824+1536.0); !near(flops, want) {
		t.Errorf("flops = %.0f, want %.0f", flops, want)
	}
	// Every word row is read at most once: a batch longer than the
	// vocabulary reads the table, not more.
	if b1, _ := distilbert.work(64, 512); b1 >= 4*float64(6*(7077888+9984)+1536+590592+1538+30522*768+512*768)+1 {
		t.Errorf("work(64, 512) reads %.0f bytes: more than the whole model", b1)
	}

	row := rooflineRow{Threads: 1, CopyGBs: 10, TriadGBs: 12, GEMMGFlops: 100}
	if s, limit := distilbert.bound(1, 16, row); limit != "memory" || !near(s, bytes/12e9) {
		t.Errorf("bound(1, 16) = %v %q, want %v memory (the triad's 12 GB/s)", s, limit, bytes/12e9)
	}
	_, f := distilbert.work(32, 512)
	if s, limit := distilbert.bound(32, 512, row); limit != "compute" || !near(s, f/100e9) {
		t.Errorf("bound(32, 512) = %v %q, want %v compute", s, limit, f/100e9)
	}

	r := &report{Shape: distilbert, Roofline: &rooflineResult{Rows: []rooflineRow{row}}}
	c := &cellOut{BS: 1, Len: 16, Threads: 1}
	// A contender at 10 seq/s takes 100 ms a batch.
	if q, ok := r.fraction(c, 10); !ok || !near(q, bytes/12e9/0.1) {
		t.Errorf("fraction = %v, %v; want %v", q, ok, bytes/12e9/0.1)
	}
	if _, ok := r.fraction(&cellOut{BS: 1, Len: 16, Threads: 2}, 10); ok {
		t.Error("fraction for a thread count the roofline did not measure")
	}
}

func TestModelShapeOf(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"model_type": "distilbert", "dim": 768, "hidden_dim": 3072, "n_layers": 6, "vocab_size": 30522, "max_position_embeddings": 512, "id2label": {"0": "NEGATIVE", "1": "POSITIVE"}}`)
	m, err := modelShapeOf(dir)
	if err != nil || *m != *distilbert {
		t.Fatalf("modelShapeOf = %+v, %v; want %+v", m, err, distilbert)
	}
	write(`{"model_type": "bert", "hidden_size": 768}`)
	if _, err := modelShapeOf(dir); err == nil || !strings.Contains(err.Error(), "DistilBERT") {
		t.Errorf("a BERT config: err = %v, want one naming what the bound knows", err)
	}
	write(`{`)
	if _, err := modelShapeOf(dir); err == nil {
		t.Error("broken config.json: no error")
	}
}

// TestPeerLinesAndTargets checks the hugot ratio line, the agreement and
// the peer targets on a cell whose numbers are known.
func TestPeerLinesAndTargets(t *testing.T) {
	c := &cellOut{BS: 1, Len: 16, Threads: 2}
	c.Go.E2E = []bench.Rep{rep(30, 1)} // 30 seq/s
	c.Go.FirstCallSeconds, c.Go.SecondCallSeconds = 0.1, 0.04
	c.Go.FirstResults = []pipeline.Result{{Label: "POSITIVE", Score: 0.75}}
	c.Py.E2E = []bench.Rep{rep(25, 1)}
	c.Py.FirstResults = []pipeline.Result{{Label: "POSITIVE", Score: 0.75}}
	c.Peer = &peerResult{E2E: []bench.Rep{rep(40, 1)}, FirstCallSeconds: 0.014, SecondCallSeconds: 0.012,
		FirstResults: []pipeline.Result{{Label: "POSITIVE", Score: 0.75001}}}
	data, err := json.Marshal(&report{Cells: []*cellOut{c}, Shape: distilbert,
		Roofline: &rooflineResult{Rows: []rooflineRow{{Threads: 2, CopyGBs: 10, TriadGBs: 10, GEMMGFlops: 100}}}})
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	c = r.Cells[0]
	if q, ok := c.peerRatio(); !ok || !near(q, 0.75) {
		t.Errorf("peerRatio = %v, %v; want 0.75", q, ok)
	}
	if same, n, d := c.peerAgreement(); same != 1 || n != 1 || math.Abs(d-1e-5) > 1e-12 {
		t.Errorf("peerAgreement = %d/%d, %g", same, n, d)
	}
	lines := strings.Join(r.ratioLines(), "\n")
	bytes, _ := distilbert.work(1, 16)
	for _, want := range []string{
		"ratio hfpipe/hugot=0.750 bs=1 len=16 threads=2 (hfpipe 30.0 seq/s, hugot 40.0 seq/s; first call 100/14.0 ms",
		"labels 1/1, max |Δscore| 1e-05",
		"ratio hfpipe/python=1.200 bs=1 len=16 threads=2 (hfpipe 30.0 seq/s, python 25.0 seq/s",
		"roofline threads=2: memory bandwidth 10.0 GB/s",
		fmt.Sprintf("roofline fraction %.2f/%.2f", bytes/10e9*30, bytes/10e9*40),
	} {
		if !strings.Contains(lines, want) {
			t.Errorf("ratio lines lack %q:\n%s", want, lines)
		}
	}
	verdicts := map[string]string{}
	for _, row := range r.targets() {
		verdicts[row[0]] = row[2]
	}
	for target, want := range map[string]string{
		"hfpipe ≥ 1.0× hugot (ONNX Runtime) end to end in every cell":                                    "**fails**",
		"hfpipe ≥ 1.2× hugot at batch 1 × 16 tokens":                                                     "**fails**",
		"hfpipe ≥ 1.1× Python end to end in every cell":                                                  "**holds**",
		"hfpipe's first call within 2× of its second (each cell's first two `Run` calls after the load)": "**fails**",
	} {
		if got := verdicts[target]; got != want {
			t.Errorf("target %q: %q, want %q", target, got, want)
		}
	}
	md := r.markdown()
	for _, want := range []string{"## hfpipe vs hugot (ONNX Runtime) vs Python", "| 2 | 1 | 16 | 30.0 (30.0–30.0) | 40.0 (40.0–40.0) | 25.0 (25.0–25.0) | **0.75** | **1.20** |",
		"## Roofline", "| 2 | 10.0 | 10.0 | 100.0 (0) |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestCorpusPeerAgreement checks the corpus rows that compare hugot's
// results on the head of the corpus with hfpipe's and Python's.
func TestCorpusPeerAgreement(t *testing.T) {
	co := &corpusOut{BS: 8, PyRef: &pyCorpusRef{BS: 8, Batched: results(0.5, 0.9), Single: results(0.5, 0.9)}}
	co.Go = corpusResult{Texts: 2, Labels: 2, LabelsEqual: 2, HeadBucketed: results(0.5, 0.9), HeadUnbucketed: results(0.5, 0.9),
		Bucketed: []bench.Rep{rep(1, 1)}, Unbucketed: []bench.Rep{rep(1, 2)}}
	co.Peer = []pipeline.Result{{Label: "POSITIVE", Score: 0.5 + 3e-6}, {Label: "NEGATIVE", Score: 0.6}}
	r := &report{Corpus: co}
	md := r.markdown()
	for _, want := range []string{"| hugot (ONNX Runtime, batch 8) vs Go unbucketed | 1/2 | 0.3 |", "| hugot (ONNX Runtime, batch 8) vs Python batch 8 | 1/2 | 0.3 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if l := strings.Join(co.ratioLines(), "\n"); !strings.Contains(l, "hugot vs hfpipe unbucketed on the first 2 texts: labels 1/2, max diff 0.3") {
		t.Errorf("corpus line lacks the hugot agreement: %s", l)
	}
}
