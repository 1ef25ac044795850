package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hfpipe/hfpipe/bench"
	"github.com/hfpipe/hfpipe/pipeline"
)

// TestFastLinesAndTargets checks fast mode's ratio lines, agreement,
// targets and table on a cell whose numbers are known, and that a cell
// without fast mode (a run before it) prints none of them.
func TestFastLinesAndTargets(t *testing.T) {
	c := &cellOut{BS: 1, Len: 16, Threads: 2}
	c.Go.E2E = []bench.Rep{rep(30, 1)}
	c.Go.FirstResults = []pipeline.Result{{Label: "POSITIVE", Score: 0.75}, {Label: "NEGATIVE", Score: 0.51}}
	c.Py.E2E = []bench.Rep{rep(25, 1)}
	c.Peer = &peerResult{E2E: []bench.Rep{rep(40, 1)}, FirstCallSeconds: 0.014}
	c.Fast = &cellResult{Kernels: "bf16-ffn", E2E: []bench.Rep{rep(60, 1)}, FirstCallSeconds: 0.03, SecondCallSeconds: 0.02,
		FirstResults: []pipeline.Result{{Label: "POSITIVE", Score: 0.74}, {Label: "POSITIVE", Score: 0.505}}}
	data, err := json.Marshal(&report{Cells: []*cellOut{c}})
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Join(r.ratioLines(), "\n")
	for _, want := range []string{
		"ratio hfpipe-fast/hugot=1.500 bs=1 len=16 threads=2 (hfpipe fast 60.0 seq/s, hugot 40.0 seq/s; first call 30.0/14.0 ms",
		"ratio hfpipe-fast/python=2.400 bs=1 len=16 threads=2 (hfpipe fast 60.0 seq/s, python 25.0 seq/s",
		"ratio hfpipe-fast/exact=2.000 bs=1 len=16 threads=2 (fast 60.0 seq/s, exact 30.0 seq/s; labels 1/2 equal, max |Δscore| 0.01",
	} {
		if !strings.Contains(lines, want) {
			t.Errorf("ratio lines lack %q:\n%s", want, lines)
		}
	}
	verdicts := map[string]string{}
	for _, row := range r.fastTargets() {
		verdicts[row[0]] = row[2]
	}
	if got := verdicts["hfpipe fast mode ≥ 1.2× hugot at batch 1 × 16 tokens"]; got != "**holds**" {
		t.Errorf("fast target at 1×16: %q, want holds", got)
	}
	if md := r.markdown(); !strings.Contains(md, "## Fast mode (hf.WithFast)") || !strings.Contains(md, "| 2 | 1 | 16 | 60.0 (60.0–60.0) | 30.0 (30.0–30.0) | 40.0 (40.0–40.0) | 25.0 (25.0–25.0) | **2.00** | **1.50** | **2.40** |") {
		t.Errorf("report lacks the fast-mode table:\n%s", md)
	}
	// The section names the kernel set the fast process recorded, and a
	// run from before the record, when WithFast was bf16, says bf16.
	if md := r.markdown(); !strings.Contains(md, "Fast mode, kernel set `bf16-ffn`: the feed-forward layers multiply in bfloat16") {
		t.Errorf("the fast-mode section does not name kernel set bf16-ffn:\n%s", md)
	}
	r.Cells[0].Fast.Kernels = ""
	if md := r.markdown(); !strings.Contains(md, "Fast mode, kernel set `bf16`: the linear layers multiply in bfloat16") {
		t.Errorf("the fast-mode section of an older run does not say bf16:\n%s", md)
	}

	c.Fast = nil
	if l := strings.Join(r.cellRatioLines(c), "\n"); strings.Contains(l, "hfpipe-fast") {
		t.Errorf("a cell without fast mode prints fast lines:\n%s", l)
	}
}
