package main

import (
	"encoding/json"
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
		"µs (+0.11%)", "Python's own batch-size variation", "Notes: the binding's forward thread", "| length-bucketing ≥ 1.5×"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, gone := range []string{"what-if", "pinned", "Proposed change"} {
		if strings.Contains(strings.ToLower(md), strings.ToLower(gone)) {
			t.Errorf("report still mentions %q", gone)
		}
	}
}
