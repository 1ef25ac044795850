package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/hfpipe/hfpipe/bench"
	"github.com/hfpipe/hfpipe/pipeline"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestCostOf(t *testing.T) {
	// Two repetitions: 10 calls of 10.1 ms with 10 ms inside libtorch
	// (100 µs, 1%), and 4 calls of 20.4 ms with 20 ms inside (400 µs, 2%);
	// a repetition without calls is skipped.
	bc, ok := costOf([]callStats{
		{Forwards: 10, ComputeSeconds: 0.100, CallSeconds: 0.101},
		{},
		{Forwards: 4, ComputeSeconds: 0.080, CallSeconds: 0.0816},
	})
	if !ok {
		t.Fatal("costOf found no repetitions")
	}
	if bc.CallMS.N != 2 || !near(bc.CallMS.Min, 10.1) || !near(bc.CallMS.Max, 20.4) {
		t.Errorf("CallMS = %+v", bc.CallMS)
	}
	if !near(bc.ComputeMS.Median, 15) || !near(bc.OverheadUS.Min, 100) || !near(bc.OverheadUS.Max, 400) {
		t.Errorf("ComputeMS = %+v, OverheadUS = %+v", bc.ComputeMS, bc.OverheadUS)
	}
	if !near(bc.Share.Median, 0.015) || !near(bc.Share.Min, 0.01) || !near(bc.Share.Max, 0.02) {
		t.Errorf("Share = %+v", bc.Share)
	}
	if _, ok := costOf(nil); ok {
		t.Error("costOf(nil) must report no measurement")
	}
}

func rep(calls int, seconds float64) bench.Rep {
	lat := make([]float64, calls)
	for i := range lat {
		lat[i] = seconds / float64(calls)
	}
	return bench.Rep{Calls: calls, Seconds: seconds, Latencies: lat}
}

func TestAAAndWorstCost(t *testing.T) {
	c := &cellOut{BS: 2, Len: 16, Forward: true}
	c.Go.E2E = []bench.Rep{rep(10, 1)}
	c.Go.E2EStats = []callStats{{Forwards: 10, ComputeSeconds: 0.9, CallSeconds: 0.9045}} // 0.5%
	c.Go.Staged = &staged{Forward: []bench.Rep{rep(10, 0.9)}, Stages: map[string][]float64{},
		ForwardStats: []callStats{{Forwards: 10, ComputeSeconds: 0.9, CallSeconds: 0.909}}} // 1%
	c.Py.E2E = []bench.Rep{rep(10, 1)}
	c.Py.Forward = []bench.Rep{rep(10, 0.9)}
	if _, ok := c.aaE2E(); ok {
		t.Error("A/A without a Python B")
	}
	c.PyB = &pyCellResult{E2E: []bench.Rep{rep(10, 1.25)}, Forward: []bench.Rep{rep(10, 1.8)}}
	if q, ok := c.aaE2E(); !ok || !near(q, 0.8) {
		t.Errorf("aaE2E = %v, %v; want 0.8", q, ok)
	}
	if q, ok := c.aaForward(); !ok || !near(q, 0.5) {
		t.Errorf("aaForward = %v, %v; want 0.5", q, ok)
	}
	r := &report{Cells: []*cellOut{c}}
	cell, phase, bc, ok := r.worstCost()
	if !ok || cell != c || phase != "forward alone" || !near(bc.Share.Median, 0.01) {
		t.Errorf("worstCost = %v %q %+v %v", cell, phase, bc.Share, ok)
	}
	if got := c.goForwardMS().Median; !near(got, 90.9) {
		t.Errorf("goForwardMS = %v, want the call time 90.9 ms", got)
	}
	rows := r.targets()
	found := false
	for _, row := range rows {
		if strings.HasPrefix(row[0], "binding adds") {
			found = true
			if row[2] != "**holds**" || !strings.Contains(row[1], "+1.00%") || !strings.Contains(row[1], "noise floor") {
				t.Errorf("binding row = %q", row)
			}
		}
	}
	if !found {
		t.Errorf("no binding row in %q", rows)
	}
}

func results(scores ...float64) []pipeline.Result {
	out := make([]pipeline.Result, len(scores))
	for i, s := range scores {
		out[i] = pipeline.Result{Label: "POSITIVE", Score: s}
	}
	return out
}

func TestBucketingYardstick(t *testing.T) {
	co := &corpusOut{BS: 8}
	co.Go = corpusResult{Texts: 3, Labels: 3, LabelsEqual: 3, OrderChecked: 2, OrderOK: 2, MaxScoreDiff: 3e-5,
		HeadBucketed: results(0.5, 0.6), HeadUnbucketed: results(0.5, 0.6+2e-5),
		Bucketed: []bench.Rep{rep(1, 1)}, Unbucketed: []bench.Rep{rep(1, 2)}}
	if co.outputsHold() {
		t.Error("outputs hold without a Python reference")
	}
	co.PyRef = &pyCorpusRef{BS: 8, Batched: results(0.5+1e-6, 0.6), Single: results(0.5, 0.6+4e-5)}
	goBU, py, goBPy, _, limit, ok := co.yardstick()
	if !ok || !near(goBU.MaxDiff, 2e-5) || !near(py.MaxDiff, 4e-5) || !near(goBPy.MaxDiff, 1e-6) || !near(limit, 4e-5) || py.N != 2 {
		t.Fatalf("yardstick = %+v %+v %+v %v %v", goBU, py, goBPy, limit, ok)
	}
	if !co.outputsHold() {
		t.Error("3e-5 over the corpus within Python's own 4e-5 must hold")
	}
	co.Go.MaxScoreDiff = 5e-5
	if co.outputsHold() {
		t.Error("5e-5 over the corpus beyond Python's own 4e-5 must fail")
	}
	// Python's batchings agreeing to the bit: the floor applies.
	co.PyRef = &pyCorpusRef{BS: 8, Batched: results(0.5, 0.6), Single: results(0.5, 0.6)}
	co.Go.MaxScoreDiff = 7e-6
	if _, _, _, _, limit, _ := co.yardstick(); limit != scoreFloor || !co.outputsHold() {
		t.Errorf("limit %v: want the floor %v to apply", limit, scoreFloor)
	}
	co.Go.LabelsEqual = 2
	if co.outputsHold() {
		t.Error("a changed label must fail")
	}
	co.Go.LabelsEqual = 3
	co.Go.OrderOK = 1
	if co.outputsHold() {
		t.Error("a text out of place must fail")
	}
	co.Go.OrderOK = 2
	co.PyRef.Single = co.PyRef.Single[:1]
	if _, _, _, _, _, ok := co.yardstick(); ok {
		t.Error("a reference of other texts must not be used")
	}
}

// TestMarkdownRender renders a report through JSON, as -render does, and
// checks the new columns and that the what-if is gone.
func TestMarkdownRender(t *testing.T) {
	c := &cellOut{BS: 1, Len: 16, Forward: true}
	c.Go.E2E = []bench.Rep{rep(10, 1), rep(11, 1)}
	c.Go.E2EStats = []callStats{{Forwards: 10, ComputeSeconds: 0.9, CallSeconds: 0.901}, {Forwards: 11, ComputeSeconds: 0.9, CallSeconds: 0.901}}
	c.Go.Staged = &staged{Forward: []bench.Rep{rep(10, 0.9)}, ForwardStats: []callStats{{Forwards: 10, ComputeSeconds: 0.9, CallSeconds: 0.901}},
		Stages: map[string][]float64{"tokenize": {1e-5}, "pad": {1e-6}, "tensors": {1e-6}, "forward": {0.09}, "output": {1e-6}, "postprocess": {1e-6}}}
	c.Py.E2E = []bench.Rep{rep(9, 1), rep(9, 1)}
	c.Py.Forward = []bench.Rep{rep(10, 0.95)}
	c.PyB = &pyCellResult{E2E: []bench.Rep{rep(9, 1), rep(9, 1)}, Forward: []bench.Rep{rep(10, 0.95)}}
	c.Go.Loader, c.Go.Source = loaderNative, "native distilbert (sdpa attention)"
	c.TS = &cellResult{Loader: loaderTorchScript, Source: "TorchScript export " + bench.ExportFile,
		E2E: []bench.Rep{rep(9, 1), rep(10, 1)}, PeakRSSKiB: 2048 << 10,
		E2EStats: []callStats{{Forwards: 9, ComputeSeconds: 0.9, CallSeconds: 0.909}, {Forwards: 10, ComputeSeconds: 1, CallSeconds: 1.01}},
		Staged: &staged{Forward: []bench.Rep{rep(10, 0.99)}, ForwardStats: []callStats{{Forwards: 10, ComputeSeconds: 0.98, CallSeconds: 0.99}},
			Stages: map[string][]float64{"forward": {0.099}}}}
	c.TSChild = &child{}
	co := &corpusOut{BS: 8, PyRef: &pyCorpusRef{BS: 8, Batched: results(0.5), Single: results(0.5 + 2e-6)}}
	co.Go = corpusResult{Texts: 1, Labels: 1, LabelsEqual: 1, MaxScoreDiff: 1e-6, HeadBucketed: results(0.5), HeadUnbucketed: results(0.5),
		Bucketed: []bench.Rep{rep(1, 1)}, Unbucketed: []bench.Rep{rep(1, 2)}}
	data, err := json.Marshal(&report{Cells: []*cellOut{c}, Corpus: co, Plan: bench.Plan{Reps: 2}})
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	md := r.markdown()
	for _, want := range []string{"| binding adds ≤ 2% to the forward pass | direct", "libtorch compute ms", "Python B/A", "**+0.11%**",
		"µs (+0.11%)", "Python's own batch-size variation", "Notes: the binding's forward thread", "| length-bucketing ≥ 1.5×",
		// the native/TorchScript comparison, side by side
		"## Native model vs TorchScript export (Go)", "| native forward ≥ TorchScript in every cell", "lowest 1.099× (bs=1 len=16, forward alone)",
		"| binding adds ≤ 2% to the native forward pass at batch 1 × 16 tokens | +0.11%", "; TorchScript: +1.02% | **holds** |",
		"| 1 | 16 | 10.5 (10.0–11.0) | 9.50 (9.00–10.0) | **1.11** | 86.0 / 101 | **1.174** | 90.1 / 99.0 | **1.099** | n/a | +0.11% / +1.02% | 0 / 2048 | 0/0 (max score diff 0) | 1.000 |",
		"| Go TorchScript/Python |", "ratio native/torchscript=1.099 bs=1 len=16 (forward alone: native 90.1 ms, torchscript 99.0 ms per forward; forward in Run 1.174; e2e 1.11: native 10.5 seq/s, torchscript 9.5 seq/s; binding native +0.11%, torchscript +1.02%; python B/A forward=1.000)",
		"Go means the native model"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, gone := range []string{"what-if", "pinned", "Proposed change", "TorchScript through the binding"} {
		if strings.Contains(strings.ToLower(md), strings.ToLower(gone)) {
			t.Errorf("report still mentions %q", gone)
		}
	}
}

// TestLoaderComparison checks the native/TorchScript ratios: TorchScript's
// time over native's, from the forward pass alone where the cell has it,
// else from the forward passes in Run, and the verdicts.
func TestLoaderComparison(t *testing.T) {
	native := cellResult{Loader: loaderNative, E2E: []bench.Rep{rep(20, 1)},
		E2EStats: []callStats{{Forwards: 20, ComputeSeconds: 0.8, CallSeconds: 0.808}}} // 40.4 ms per forward, +1%
	ts := &cellResult{Loader: loaderTorchScript, E2E: []bench.Rep{rep(16, 1)},
		E2EStats: []callStats{{Forwards: 16, ComputeSeconds: 0.8, CallSeconds: 0.8}}} // 50 ms per forward
	big := &cellOut{BS: 32, Len: 512, Go: native, TS: ts} // no forward-alone phase
	if q, ok := big.loaderE2E(); !ok || !near(q, 20.0/16) {
		t.Errorf("loaderE2E = %v, %v; want 1.25", q, ok)
	}
	if q, phase, ok := big.loaderForward(); !ok || phase != "forward in Run" || !near(q, 50/40.4) {
		t.Errorf("loaderForward = %v, %q, %v; want 50/40.4 in Run", q, phase, ok)
	}
	l, ok := big.loaderLine()
	if !ok || !strings.HasPrefix(l, "ratio native/torchscript=1.238 bs=32 len=512 (forward in Run: native 40.4 ms, torchscript 50.0 ms per forward; e2e 1.25") ||
		!strings.Contains(l, "binding native +1.00% in Run, torchscript +0.00% in Run") {
		t.Errorf("loader line = %q", l)
	}
	if strings.Contains(l, "forward in Run 1.") {
		t.Errorf("the Run ratio twice in %q", l)
	}

	// The short cell: forward alone, where native is slower.
	small := &cellOut{BS: 1, Len: 16, Forward: true}
	small.Go = cellResult{E2E: []bench.Rep{rep(10, 1)}, E2EStats: []callStats{{Forwards: 10, ComputeSeconds: 0.5, CallSeconds: 0.5075}},
		Staged: &staged{Forward: []bench.Rep{rep(10, 0.5)}, ForwardStats: []callStats{{Forwards: 10, ComputeSeconds: 0.5, CallSeconds: 0.515}}}} // 51.5 ms, +3%
	small.TS = &cellResult{E2E: []bench.Rep{rep(10, 1)}, E2EStats: []callStats{{Forwards: 10, ComputeSeconds: 0.5, CallSeconds: 0.505}},
		Staged: &staged{Forward: []bench.Rep{rep(10, 0.5)}, ForwardStats: []callStats{{Forwards: 10, ComputeSeconds: 0.5, CallSeconds: 0.5}}}} // 50 ms
	small.Py.E2E, small.Py.Forward = []bench.Rep{rep(10, 1)}, []bench.Rep{rep(10, 0.5)}
	small.PyB = &pyCellResult{E2E: []bench.Rep{rep(10, 1)}, Forward: []bench.Rep{rep(10, 0.485)}} // A/A 1.031
	if q, phase, ok := small.loaderForward(); !ok || phase != "forward alone" || !near(q, 50/51.5) {
		t.Errorf("loaderForward = %v, %q, %v; want 50/51.5 alone", q, phase, ok)
	}
	if q, ok := small.loaderRun(); !ok || !near(q, 50.5/50.75) {
		t.Errorf("loaderRun = %v, %v", q, ok)
	}
	r := &report{Cells: []*cellOut{small, big}}
	rows := r.loaderTargets()
	if len(rows) != 2 {
		t.Fatalf("loader targets = %q", rows)
	}
	if !strings.Contains(rows[0][1], "lowest 0.971× (bs=1 len=16, forward alone); end to end lowest 1.00× (bs=1 len=16)") ||
		rows[0][2] != "**fails** (within the A/A noise floor)" {
		t.Errorf("native ≥ TorchScript row = %q", rows[0])
	}
	if !strings.HasPrefix(rows[1][0], "binding adds ≤ 2% to the native forward pass at batch 1 × 16 tokens") ||
		!strings.HasPrefix(rows[1][1], "+3.00%, 1500 µs per call of 50.0 ms inside libtorch (forward alone;") ||
		!strings.Contains(rows[1][1], "in `Run`: +1.50%; TorchScript: +0.00%") || rows[1][2] != "**fails**" {
		t.Errorf("binding row = %q", rows[1])
	}
	// Beyond the noise floor.
	small.PyB.Forward = []bench.Rep{rep(10, 0.495)} // A/A 1.010
	if v := r.loaderTargets()[0][2]; v != "**fails**" {
		t.Errorf("verdict %q beyond the noise floor", v)
	}
	// Native at least as fast everywhere holds.
	small.Go.Staged.ForwardStats[0].CallSeconds = 0.5
	if v := r.loaderTargets()[0][2]; v != "**holds**" {
		t.Errorf("verdict %q with native as fast", v)
	}

	// The pair phase, where the run has it, is the ratio that counts: 40
	// calls, TorchScript 2% slower on every one but one, which is slower on
	// native's side.
	small.Go.Paired = &paired{Same: true}
	for i := range 40 {
		nat, ts := 0.050, 0.051
		if i == 7 {
			nat = 0.060
		}
		small.Go.Paired.Native = append(small.Go.Paired.Native, nat)
		small.Go.Paired.TorchScript = append(small.Go.Paired.TorchScript, ts)
	}
	q, lo, hi, n, ok := small.loaderPaired()
	if want := 40 * 0.051 / (39*0.050 + 0.060); !ok || n != 40 || !near(q, want) || lo > q || hi < q || lo >= hi {
		t.Errorf("loaderPaired = %v [%v, %v] over %d, %v; want %v inside its interval", q, lo, hi, n, ok, want)
	}
	if _, phase, _ := small.loaderForward(); phase != "paired in one process" {
		t.Errorf("loaderForward's phase with a pair phase = %q", phase)
	}
	l, _ = small.loaderLine()
	if !strings.HasPrefix(l, fmt.Sprintf("ratio native/torchscript=%.3f bs=1 len=16 (paired in one process: native 50.0 ms, torchscript 51.0 ms per forward, 95%% interval", q)) ||
		!strings.Contains(l, "over 40 calls; forward alone in two processes 1.000") || strings.Contains(l, "NOT bitwise") {
		t.Errorf("paired loader line = %q", l)
	}
	// Slower than TorchScript by less than the interval: fails, and says so
	// (one call of 40 much faster on native's side puts 1 inside it).
	for i := range small.Go.Paired.Native {
		small.Go.Paired.Native[i] = 0.0515
	}
	small.Go.Paired.Native[3] = 0.040
	row := r.loaderTargets()[0]
	if q, _, hi, _, _ := small.loaderPaired(); q >= 1 || hi < 1 {
		t.Fatalf("test data: paired ratio %v, upper bound %v", q, hi)
	}
	if row[2] != "**fails** (1 inside its 95% interval)" || !strings.Contains(row[1], "paired in one process) [95% interval") {
		t.Errorf("paired verdict row = %q", row)
	}
	// A run without TorchScript processes (older results) has no rows,
	// no section and no native/torchscript lines.
	small.TS, big.TS = nil, nil
	if rows := r.loaderTargets(); rows != nil {
		t.Errorf("rows without TorchScript: %q", rows)
	}
	if md := r.markdown(); strings.Contains(md, "Native model vs TorchScript") || strings.Contains(md, "native/torchscript=") {
		t.Error("a run without TorchScript processes reports the comparison")
	}
}
