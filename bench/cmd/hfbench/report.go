package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hfpipe/hfpipe/bench"
	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/pipeline"
)

// machine describes where the run happened.
type machine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	GoVersion string `json:"go"`
	Libtorch  string `json:"libtorch"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	// Kernels is torch.CPUEnv's line: CPU, ATen capability, oneDNN ISA,
	// threads and any variable forcing them.
	Kernels string `json:"kernels,omitempty"`
}

// pyVersions is bench_python.py's versions answer.
type pyVersions struct {
	Python       string `json:"python"`
	Torch        string `json:"torch"`
	Transformers string `json:"transformers"`
	Tokenizers   string `json:"tokenizers"`
	Numpy        string `json:"numpy"`
	ParallelInfo string `json:"torch_parallel_info"`
}

// pyCellResult is bench_python.py's cell answer.
type pyCellResult struct {
	ImportSeconds float64           `json:"import_seconds"`
	LoadSeconds   float64           `json:"load_seconds"`
	Threads       int               `json:"threads"`
	E2E           []bench.Rep       `json:"e2e"`
	PeakRSSKiB    int64             `json:"peak_rss_kb"`
	FirstResults  []pipeline.Result `json:"first_results"`
	Forward       []bench.Rep       `json:"forward"`
	ForwardShape  []int             `json:"forward_shape"`
	// FirstCallSeconds is the latency of the pipeline's first call.
	FirstCallSeconds  float64 `json:"first_call_seconds"`
	SecondCallSeconds float64 `json:"second_call_seconds"`
}

// cellOut is one end-to-end cell, both sides.
type cellOut struct {
	BS  int `json:"bs"`
	Len int `json:"len"`
	// Threads is the intra-op thread count of every process of the cell;
	// 0 in the results of a run before thread counts were a list (the
	// report's Threads then).
	Threads int  `json:"threads,omitempty"`
	Forward bool `json:"forward"`
	// Go is the Go side with the native model (what hfpipe loads by
	// default): every Go/Python ratio of the report is Go's.
	Go cellResult   `json:"go"`
	Py pyCellResult `json:"python"`
	// PyB is a second Python process identical to Py (same script, same
	// job, taking turns with the others): its ratio to Py is what the
	// machine alone makes of two identical processes (an A/A test).
	PyB     *pyCellResult `json:"python_b,omitempty"`
	GoChild child         `json:"go_child"`
	PyChild child         `json:"python_child"`
	// TS is the Go side again with the folder's TorchScript export
	// (hf.WithTorchScript), in a process of its own taking turns with the
	// others; nil in the results of a run before native models.
	TS      *cellResult `json:"go_torchscript,omitempty"`
	TSChild *child      `json:"go_torchscript_child,omitempty"`
	// Peer is hugot with ONNX Runtime (bench/peer/hugot) on the model's
	// ONNX export, end to end only; nil where the run had no peer.
	Peer      *peerResult `json:"hugot,omitempty"`
	PeerChild *child      `json:"hugot_child,omitempty"`
	// Fast is the Go side with the native model in fast mode (hf.WithFast),
	// a process of its own taking turns with the others; nil in the
	// results of a run before fast mode.
	Fast      *cellResult `json:"go_fast,omitempty"`
	FastChild *child      `json:"go_fast_child,omitempty"`
}

// threadsCol is the cell's thread count as a table shows it.
func (c *cellOut) threadsCol() string {
	if c.Threads == 0 {
		return "–"
	}
	return fmt.Sprint(c.Threads)
}

// tag names the cell in ratio lines: bs=B len=N threads=T.
func (c *cellOut) tag() string {
	if c.Threads == 0 {
		return fmt.Sprintf("bs=%d len=%d", c.BS, c.Len)
	}
	return fmt.Sprintf("bs=%d len=%d threads=%d", c.BS, c.Len, c.Threads)
}

// rate is a Go process's end-to-end throughput in sequences per second.
func (g *cellResult) rate(bs int) bench.Summary {
	return bench.Summarize(bench.Rates(g.E2E, float64(bs)))
}

// forwardCost is the binding's cost in the forward-alone phase.
func (g *cellResult) forwardCost() (bindingCost, bool) {
	if g.Staged == nil {
		return bindingCost{}, false
	}
	return costOf(g.Staged.ForwardStats)
}

// e2eCost is the binding's cost in the pipeline's own forward passes.
func (g *cellResult) e2eCost() (bindingCost, bool) { return costOf(g.E2EStats) }

// hasForward says whether the process timed the forward pass alone.
func (g *cellResult) hasForward() bool { return g.Staged != nil && len(g.Staged.Forward) > 0 }

// forwardMS is the process's time per forward pass alone, median over
// repetitions (min–max): the module's call time (Module.Stats) where the
// run has it, else the staged loop's own timing of the same calls.
func (g *cellResult) forwardMS() bench.Summary {
	if bc, ok := g.forwardCost(); ok {
		return bc.CallMS
	}
	return forwardMS(g.Staged.Forward)
}

func (c *cellOut) goRate() bench.Summary { return c.Go.rate(c.BS) }
func (c *cellOut) pyRate() bench.Summary {
	return bench.Summarize(bench.Rates(c.Py.E2E, float64(c.BS)))
}

// aaE2E is Python B's end-to-end throughput over Python A's (medians);
// false when the cell has no Python B.
func (c *cellOut) aaE2E() (float64, bool) {
	if c.PyB == nil || len(c.PyB.E2E) == 0 {
		return math.NaN(), false
	}
	return bench.Summarize(bench.Rates(c.PyB.E2E, float64(c.BS))).Median / c.pyRate().Median, true
}

// aaForward is Python B's forward-pass speed over Python A's (medians of
// the mean ms per forward, A over B); false where not measured.
func (c *cellOut) aaForward() (float64, bool) {
	if c.PyB == nil || len(c.PyB.Forward) == 0 || len(c.Py.Forward) == 0 {
		return math.NaN(), false
	}
	return forwardMS(c.Py.Forward).Median / forwardMS(c.PyB.Forward).Median, true
}

// bindingCost is what the binding adds to a forward pass, from the module's
// own counters (torch.Module.Stats) over the repetitions of one phase: per
// repetition, the mean time in Module.Forward per call (CallMS), the mean
// time inside libtorch's forward (ComputeMS), their difference in µs
// (OverheadUS) and that difference over the compute time (Share).
type bindingCost struct {
	CallMS, ComputeMS, OverheadUS, Share bench.Summary
}

// costOf summarises the counters of a phase; false when there are none
// (results of a run before Module.Stats existed).
func costOf(stats []callStats) (bindingCost, bool) {
	var call, comp, us, share []float64
	for _, s := range stats {
		if s.Forwards <= 0 || s.ComputeSeconds <= 0 {
			continue
		}
		n := float64(s.Forwards)
		call = append(call, s.CallSeconds/n*1e3)
		comp = append(comp, s.ComputeSeconds/n*1e3)
		us = append(us, (s.CallSeconds-s.ComputeSeconds)/n*1e6)
		share = append(share, (s.CallSeconds-s.ComputeSeconds)/s.ComputeSeconds)
	}
	if len(call) == 0 {
		return bindingCost{}, false
	}
	return bindingCost{CallMS: bench.Summarize(call), ComputeMS: bench.Summarize(comp), OverheadUS: bench.Summarize(us), Share: bench.Summarize(share)}, true
}

// forwardCost is the binding's cost in the native forward-alone phase.
func (c *cellOut) forwardCost() (bindingCost, bool) { return c.Go.forwardCost() }

// e2eCost is the binding's cost in the native pipeline's forward passes.
func (c *cellOut) e2eCost() (bindingCost, bool) { return c.Go.e2eCost() }

// pct formats a share as a signed percentage.
func pct(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%+.2f%%", 100*x)
}

// pctSpread formats "median (min – max)" of a share in per cent, the median in bold.
func pctSpread(s bench.Summary) string {
	return fmt.Sprintf("**%s** (%s – %s)", pct(s.Median), pct(s.Min), pct(s.Max))
}

// forwardMS is the median and spread of the per-repetition mean forward latency.
func forwardMS(reps []bench.Rep) bench.Summary { return summarizeMS(bench.MeanLatencies(reps)) }

// summarizeMS summarises seconds in milliseconds (secs is left as is).
func summarizeMS(secs []float64) bench.Summary {
	ms := make([]float64, len(secs))
	for i, x := range secs {
		ms[i] = x * 1e3
	}
	return bench.Summarize(ms)
}

// hasForward says whether both sides timed the forward pass alone.
func (c *cellOut) hasForward() bool { return c.Go.hasForward() && len(c.Py.Forward) > 0 }

// goForwardMS is Go's (native) time per forward pass alone, median over
// repetitions (min–max).
func (c *cellOut) goForwardMS() bench.Summary { return c.Go.forwardMS() }

// The native/TorchScript comparisons are speed ratios, TorchScript's time
// over native's (medians): above 1 means the native model is faster. Each
// is false where the cell lacks the measurement.

// loaderE2E compares the two Go processes end to end (native seq/s over
// TorchScript's).
func (c *cellOut) loaderE2E() (float64, bool) {
	if c.TS == nil || len(c.TS.E2E) == 0 || len(c.Go.E2E) == 0 {
		return math.NaN(), false
	}
	return c.Go.rate(c.BS).Median / c.TS.rate(c.BS).Median, true
}

// loaderRun compares the forward passes inside the pipeline's Run, timed
// by each model's counters (Module.Stats call time per forward).
func (c *cellOut) loaderRun() (float64, bool) {
	if c.TS == nil {
		return math.NaN(), false
	}
	n, okN := c.Go.e2eCost()
	t, okT := c.TS.e2eCost()
	if !okN || !okT {
		return math.NaN(), false
	}
	return t.CallMS.Median / n.CallMS.Median, true
}

// loaderAlone compares the forward passes alone (the staged loop).
func (c *cellOut) loaderAlone() (float64, bool) {
	if c.TS == nil || !c.TS.hasForward() || !c.Go.hasForward() {
		return math.NaN(), false
	}
	return c.TS.forwardMS().Median / c.Go.forwardMS().Median, true
}

// loaderPaired is the pair phase's native/TorchScript ratio: TorchScript's
// total time over native's for the same calls in one process, with the
// 2.5% and 97.5% quantiles of that ratio over 2,000 bootstrap resamples of
// the calls (deterministic seed) and the number of calls.
func (c *cellOut) loaderPaired() (q, lo, hi float64, n int, ok bool) {
	p := c.Go.Paired
	if c.TS == nil || p == nil || len(p.Native) == 0 || len(p.Native) != len(p.TorchScript) {
		return math.NaN(), math.NaN(), math.NaN(), 0, false
	}
	n = len(p.Native)
	ratio := func(idx func(i int) int) float64 {
		var nat, ts float64
		for i := range n {
			j := idx(i)
			nat += p.Native[j]
			ts += p.TorchScript[j]
		}
		return ts / nat
	}
	q = ratio(func(i int) int { return i })
	r := rand.New(rand.NewPCG(1, uint64(n)))
	boot := make([]float64, 2000)
	for k := range boot {
		boot[k] = ratio(func(int) int { return r.IntN(n) })
	}
	return q, bench.Quantile(boot, 0.025), bench.Quantile(boot, 0.975), n, true
}

// loaderForward is the cell's native/TorchScript forward ratio: the pair
// phase's where the run has it, else the forward pass alone where the cell
// times it, else the forward passes inside Run; phase says which.
func (c *cellOut) loaderForward() (q float64, phase string, ok bool) {
	if q, _, _, _, ok := c.loaderPaired(); ok {
		return q, "paired in one process", true
	}
	if q, ok := c.loaderAlone(); ok {
		return q, "forward alone", true
	}
	if q, ok := c.loaderRun(); ok {
		return q, "forward in Run", true
	}
	return math.NaN(), "", false
}

// loaderAgreement compares the first batch's results of the two loaders.
func (c *cellOut) loaderAgreement() (same, n int, maxDiff float64) {
	if c.TS == nil {
		return
	}
	return prefixAgreement(c.Go.FirstResults, c.TS.FirstResults)
}

// prefixAgreement compares a and b as far as both go (see compare).
func prefixAgreement(a, b []pipeline.Result) (same, n int, maxDiff float64) {
	k := min(len(a), len(b))
	g := compare(a[:k], b[:k])
	return g.SameLabels, g.N, g.MaxDiff
}

// shareOf is the binding's cost of a process as a share of the compute:
// the forward-alone phase's where measured, else the pipeline's.
func shareOf(g *cellResult) string {
	if bc, ok := g.forwardCost(); ok {
		return pct(bc.Share.Median)
	}
	if bc, ok := g.e2eCost(); ok {
		return pct(bc.Share.Median) + " in Run"
	}
	return "n/a"
}

// loaderLine is the cell's `ratio native/torchscript=X` line; false
// without a TorchScript run.
func (c *cellOut) loaderLine() (string, bool) {
	q, phase, ok := c.loaderForward()
	if !ok {
		return "", false
	}
	var nat, ts bench.Summary
	switch phase {
	case "paired in one process":
		nat, ts = summarizeMS(c.Go.Paired.Native), summarizeMS(c.Go.Paired.TorchScript)
	case "forward alone":
		nat, ts = c.Go.forwardMS(), c.TS.forwardMS()
	default:
		n, _ := c.Go.e2eCost()
		t, _ := c.TS.e2eCost()
		nat, ts = n.CallMS, t.CallMS
	}
	l := fmt.Sprintf("ratio native/torchscript=%.3f %s (%s: native %s ms, torchscript %s ms per forward", q, c.tag(), phase, num(nat.Median), num(ts.Median))
	if _, lo, hi, n, ok := c.loaderPaired(); ok {
		l += fmt.Sprintf(", 95%% interval %.3f–%.3f over %d calls", lo, hi, n)
		if !c.Go.Paired.Same {
			l += ", logits NOT bitwise equal"
		}
		if a, ok := c.loaderAlone(); ok {
			l += fmt.Sprintf("; forward alone in two processes %.3f", a)
		}
	}
	if r, ok := c.loaderRun(); ok && phase != "forward in Run" {
		l += fmt.Sprintf("; forward in Run %.3f", r)
	}
	if e, ok := c.loaderE2E(); ok {
		l += fmt.Sprintf("; e2e %.2f: native %.1f seq/s, torchscript %.1f seq/s", e, c.Go.rate(c.BS).Median, c.TS.rate(c.BS).Median)
	}
	l += fmt.Sprintf("; binding native %s, torchscript %s", shareOf(&c.Go), shareOf(c.TS))
	if aa, ok := c.aaForward(); ok {
		l += fmt.Sprintf("; python B/A forward=%.3f", aa)
	} else if aa, ok := c.aaE2E(); ok {
		l += fmt.Sprintf("; python B/A e2e=%.3f", aa)
	}
	return l + ")", true
}

// crossOverhead is how much longer Go's forward pass takes than Python's
// in the other process (medians of the per-repetition mean).
func (c *cellOut) crossOverhead() float64 {
	return c.goForwardMS().Median/forwardMS(c.Py.Forward).Median - 1
}

// stageMS returns the median of each stage, the share of the time spent
// outside the forward pass over all timed calls, and the mean call in ms.
func stageMS(st *staged) (map[string]float64, float64, float64) {
	med := map[string]float64{}
	var total, outside float64
	for _, name := range stageNames {
		xs := st.Stages[name]
		med[name] = bench.Median(xs) * 1e3
		for _, x := range xs {
			total += x
			if name != "forward" {
				outside += x
			}
		}
	}
	return med, outside / total, total / float64(len(st.Stages["forward"])) * 1e3
}

func latMS(reps []bench.Rep, q float64) float64 {
	return bench.Quantile(bench.AllLatencies(reps), q) * 1e3
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

// labelAgreement compares the first batch's results of both sides.
func (c *cellOut) labelAgreement() (same, n int, maxDiff float64) {
	for i := range min(len(c.Go.FirstResults), len(c.Py.FirstResults)) {
		g, p := c.Go.FirstResults[i], c.Py.FirstResults[i]
		n++
		if g.Label == p.Label {
			same++
		}
		maxDiff = math.Max(maxDiff, math.Abs(g.Score-p.Score))
	}
	return
}

func (c *cellOut) ratioLines() []string {
	g, p := c.goRate(), c.pyRate()
	e2e := fmt.Sprintf("ratio e2e %s: go/python=%.2f (go %.1f seq/s, python %.1f seq/s; p50 %s/%s ms; peak rss %.0f/%.0f MiB",
		c.tag(), g.Median/p.Median, g.Median, p.Median, num(latMS(c.Go.E2E, 0.5)), num(latMS(c.Py.E2E, 0.5)), mib(c.Go.PeakRSSKiB), mib(c.Py.PeakRSSKiB))
	if aa, ok := c.aaE2E(); ok {
		e2e += fmt.Sprintf("; python B/A=%.3f", aa)
	}
	if bc, ok := c.e2eCost(); ok {
		e2e += fmt.Sprintf("; binding %s µs per forward = %s", num(bc.OverheadUS.Median), pct(bc.Share.Median))
	}
	lines := []string{e2e + ")"}
	if c.hasForward() {
		gf, pf := c.goForwardMS(), forwardMS(c.Py.Forward)
		l := fmt.Sprintf("ratio forward %s: go/python=%.3f (go %s ms, python %s ms per forward", c.tag(), pf.Median/gf.Median, num(gf.Median), num(pf.Median))
		if aa, ok := c.aaForward(); ok {
			l += fmt.Sprintf("; python B/A=%.3f", aa)
		}
		if bc, ok := c.forwardCost(); ok {
			l += fmt.Sprintf("; binding %s µs per call = %s of %s ms inside libtorch", num(bc.OverheadUS.Median), pct(bc.Share.Median), num(bc.ComputeMS.Median))
		}
		lines = append(lines, l+")")
		med, share, total := stageMS(c.Go.Staged)
		lines = append(lines, fmt.Sprintf("ratio go-outside-forward %s: share=%.2f%% of %s ms (tokenize %s, pad %s, tensors %s, output %s, postprocess %s ms)",
			c.tag(), 100*share, num(total), num(med["tokenize"]), num(med["pad"]), num(med["tensors"]), num(med["output"]), num(med["postprocess"])))
	}
	if l, ok := c.loaderLine(); ok {
		lines = append(lines, l)
	}
	return lines
}

// tokOut is the tokenizer case, both sides.
type tokOut struct {
	Go tokenizerResult `json:"go"`
	Py tokenizerResult `json:"python"`
}

func (t *tokOut) rates() (gs, ps, gb, pb bench.Summary) {
	n := float64(t.Go.Tokens)
	return bench.Summarize(bench.Rates(t.Go.Single, n)), bench.Summarize(bench.Rates(t.Py.Single, n)),
		bench.Summarize(bench.Rates(t.Go.Batch, n)), bench.Summarize(bench.Rates(t.Py.Batch, n))
}

func (t *tokOut) ratioLines() []string {
	gs, ps, gb, pb := t.rates()
	return []string{
		fmt.Sprintf("ratio tokenizer single-thread: go/python=%.2f (go %.0f tokens/s, python tokenizers %.0f tokens/s, one text at a time)", gs.Median/ps.Median, gs.Median, ps.Median),
		fmt.Sprintf("ratio tokenizer batch: go/python=%.2f (go %.0f tokens/s, python tokenizers encode_batch %.0f tokens/s)", gb.Median/pb.Median, gb.Median, pb.Median),
	}
}

// corpusOut is the bucketing case: Go, and Python's yardstick on the head
// of the corpus.
type corpusOut struct {
	BS      int          `json:"bs"`
	Go      corpusResult `json:"go"`
	GoChild child        `json:"go_child"`
	PyRef   *pyCorpusRef `json:"python_ref,omitempty"`
	// Peer is hugot's results on the same head of the corpus, in input
	// order, in batches of BS (each padded to its longest text, as Go's
	// unbucketed run); nil without the peer.
	Peer []pipeline.Result `json:"hugot_head,omitempty"`
}

// pyCorpusRef is bench_python.py's corpus-ref answer: transformers'
// pipeline on the head of the corpus in input order at the corpus batch
// size (Batched) and at batch size 1 (Single).
type pyCorpusRef struct {
	Texts          int               `json:"texts"`
	BS             int               `json:"bs"`
	Batched        []pipeline.Result `json:"batched"`
	Single         []pipeline.Result `json:"single"`
	BatchedSeconds float64           `json:"batched_seconds"`
	SingleSeconds  float64           `json:"single_seconds"`
}

// agreement compares two result lists index by index.
type agreement struct {
	N, SameLabels int
	MaxDiff       float64
}

func compare(a, b []pipeline.Result) agreement {
	var g agreement
	if len(a) != len(b) {
		return agreement{MaxDiff: math.NaN()}
	}
	for i := range a {
		g.N++
		if a[i].Label == b[i].Label {
			g.SameLabels++
		}
		g.MaxDiff = math.Max(g.MaxDiff, math.Abs(a[i].Score-b[i].Score))
	}
	return g
}

// scoreFloor is the smallest yardstick the bucketing check uses: should
// Python's own variation come out smaller (or zero), Go's scores may still
// move by this much (about 170 float32 ulps of a score near 0.5).
const scoreFloor = 1e-5

// yardstick compares the bucketed and unbucketed outputs on the head of
// the corpus with Python's own batch-size variation on the same texts:
// Go's bucketed vs unbucketed, Python's batch bs vs batch 1, Go's runs
// against Python's batched one, and the limit Go's difference is held to
// (Python's own variation, at least scoreFloor); ok is false when Python's
// reference is missing or does not cover the same texts.
func (c *corpusOut) yardstick() (goBU, pyOwn, goBPy, goUPy agreement, limit float64, ok bool) {
	g, r := c.Go, c.PyRef
	if r == nil || len(r.Batched) == 0 || len(r.Batched) != len(g.HeadBucketed) || len(r.Single) != len(r.Batched) {
		return
	}
	goBU, pyOwn = compare(g.HeadBucketed, g.HeadUnbucketed), compare(r.Batched, r.Single)
	goBPy, goUPy = compare(g.HeadBucketed, r.Batched), compare(g.HeadUnbucketed, r.Batched)
	return goBU, pyOwn, goBPy, goUPy, math.Max(pyOwn.MaxDiff, scoreFloor), true
}

// outputsHold is the bucketing case's output criterion: every label equal
// between the two runs over the whole corpus, every sampled text at its
// own index, and Go's largest score difference between the two runs, over
// the whole corpus, within the yardstick's limit.
func (c *corpusOut) outputsHold() bool {
	g := c.Go
	_, _, _, _, limit, ok := c.yardstick()
	return ok && g.LabelsEqual == g.Labels && g.OrderOK == g.OrderChecked && g.MaxScoreDiff <= limit
}

func (c *corpusOut) rates() (b, u bench.Summary) {
	n := float64(c.Go.Texts)
	return bench.Summarize(bench.Rates(c.Go.Bucketed, n)), bench.Summarize(bench.Rates(c.Go.Unbucketed, n))
}

func (c *corpusOut) ratioLines() []string {
	b, u := c.rates()
	r := c.Go
	l := fmt.Sprintf("ratio corpus bucketing bs=%d: bucketed/unbucketed=%.2f (bucketed %.1f texts/s, unbucketed %.1f texts/s; labels %d/%d identical, scores %d/%d bitwise, max diff %.2g; input order %d/%d",
		c.BS, b.Median/u.Median, b.Median, u.Median, r.LabelsEqual, r.Labels, r.ScoresBitwise, r.Labels, r.MaxScoreDiff, r.OrderOK, r.OrderChecked)
	if _, py, _, _, _, ok := c.yardstick(); ok {
		l += fmt.Sprintf("; python's own batch %d vs 1 on the first %d texts: max diff %.2g", c.BS, py.N, py.MaxDiff)
	}
	if len(c.Peer) > 0 && len(c.Peer) == len(r.HeadUnbucketed) {
		a := compare(c.Peer, r.HeadUnbucketed)
		l += fmt.Sprintf("; hugot vs hfpipe unbucketed on the first %d texts: labels %d/%d, max diff %.2g", a.N, a.SameLabels, a.N, a.MaxDiff)
	}
	return []string{l + ")"}
}

// settings are the options a report's text depends on, kept in the raw
// results so that -render can write the report again.
type settings struct {
	Quick            bool          `json:"quick"`
	WaitQuiet        time.Duration `json:"wait_quiet_ns"`
	QuietLoad        float64       `json:"quiet_load"`
	Threads          int           `json:"threads"`
	ThreadCounts     []int         `json:"thread_counts,omitempty"`
	Out              string        `json:"out"`
	Plot             string        `json:"plot"`
	ForwardMaxTokens int           `json:"forward_max_tokens"`
}

func settingsOf(c *config) settings {
	return settings{Quick: c.quick, WaitQuiet: c.waitQuiet, QuietLoad: c.quietLoad, Threads: slices.Max(c.threads), ThreadCounts: c.threads, Out: c.out, Plot: c.plot,
		ForwardMaxTokens: c.forwardMaxTokens}
}

// report is everything one run measured.
type report struct {
	Settings  settings      `json:"settings"`
	Command   string        `json:"command"`
	Started   time.Time     `json:"started"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	Quiet     bool          `json:"quiet"`
	QuietWait time.Duration `json:"quiet_wait_ns"`
	LoadStart [3]float64    `json:"load_start"`
	LoadEnd   [3]float64    `json:"load_end"`
	Machine   machine       `json:"machine"`
	Python    pyVersions    `json:"python"`
	Model     string        `json:"model"`
	Threads   int           `json:"threads"`
	Plan      bench.Plan    `json:"plan"`
	Cells     []*cellOut    `json:"cells"`
	Tokenizer *tokOut       `json:"tokenizer,omitempty"`
	// TokenizerFamilies: the tokenizer case on the other families (tokfamilies.go).
	TokenizerFamilies []*tokFamily `json:"tokenizer_families,omitempty"`
	Corpus            *corpusOut   `json:"corpus,omitempty"`
	// Peer describes the peer contender (nil: none in this run); Roofline
	// and Shape are the machine's bounds and the model's dimensions.
	Peer     *peerInfo       `json:"peer,omitempty"`
	Roofline *rooflineResult `json:"roofline,omitempty"`
	Shape    *modelShape     `json:"model_shape,omitempty"`
	PlotErr  string          `json:"plot_error,omitempty"`
}

func (r *report) ratioLines() []string {
	var out []string
	if r.Roofline != nil {
		out = append(out, r.Roofline.lines()...)
	}
	for _, c := range r.Cells {
		out = append(out, r.cellRatioLines(c)...)
	}
	if r.Tokenizer != nil {
		out = append(out, r.Tokenizer.ratioLines()...)
	}
	for _, f := range r.TokenizerFamilies {
		out = append(out, f.ratioLines()...)
	}
	if r.Corpus != nil {
		out = append(out, r.Corpus.ratioLines()...)
	}
	return out
}

// num formats a value with about three significant digits.
func num(x float64) string {
	switch ax := math.Abs(x); {
	case math.IsNaN(x):
		return "n/a"
	case ax >= 100:
		return fmt.Sprintf("%.0f", x)
	case ax >= 10:
		return fmt.Sprintf("%.1f", x)
	case ax >= 1:
		return fmt.Sprintf("%.2f", x)
	default:
		return fmt.Sprintf("%.3g", x)
	}
}

// spread formats "median (min–max)".
func spread(s bench.Summary) string {
	return fmt.Sprintf("%s (%s–%s)", num(s.Median), num(s.Min), num(s.Max))
}

func yesNo(ok bool) string {
	if ok {
		return "**holds**"
	}
	return "**fails**"
}

// cell is the cell of batch bs and n tokens at the run's largest thread
// count; nil where the run has none.
func (r *report) cell(bs, n int) *cellOut {
	var out *cellOut
	for _, c := range r.Cells {
		if c.BS == bs && c.Len == n && (out == nil || c.Threads > out.Threads) {
			out = c
		}
	}
	return out
}

// aaRange is the lowest and highest Python B/Python A ratio over the
// cells (f: aaE2E or aaForward); ok is false when no cell has one.
func (r *report) aaRange(f func(*cellOut) (float64, bool)) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, c := range r.Cells {
		if q, has := f(c); has {
			lo, hi, ok = math.Min(lo, q), math.Max(hi, q), true
		}
	}
	return
}

// worstCost is the cell and phase where the binding's direct cost, as a
// share of libtorch's compute (median over repetitions), is highest.
func (r *report) worstCost() (cell *cellOut, phase string, cost bindingCost, ok bool) {
	for _, c := range r.Cells {
		for _, ph := range []struct {
			name string
			f    func() (bindingCost, bool)
		}{{"forward alone", c.forwardCost}, {"in `Run`", c.e2eCost}} {
			bc, has := ph.f()
			if has && (!ok || bc.Share.Median > cost.Share.Median) {
				cell, phase, cost, ok = c, ph.name, bc, true
			}
		}
	}
	return
}

// targets returns the targets as table rows: target, measured,
// verdict.
func (r *report) targets() [][3]string {
	var rows [][3]string
	if len(r.Cells) > 0 {
		short := r.shortCell()
		ratio := func(c *cellOut) float64 { return c.goRate().Median / c.pyRate().Median }
		var worst *cellOut
		for _, c := range r.Cells {
			if c != short && (worst == nil || ratio(c) < ratio(worst)) {
				worst = c
			}
		}
		m := fmt.Sprintf("%.2f×", ratio(short))
		if aa, ok := short.aaE2E(); ok {
			m += fmt.Sprintf(" (A/A: Python B/Python A %.2f× in this cell)", aa)
		}
		rows = append(rows, [3]string{fmt.Sprintf("end to end ≥ 1.1× Python at batch 1, short texts (%s)", short.tag()), m, yesNo(ratio(short) >= 1.1)})
		if worst != nil {
			m := fmt.Sprintf("lowest %.2f× (%s)", ratio(worst), worst.tag())
			if lo, hi, ok := r.aaRange((*cellOut).aaE2E); ok {
				m += fmt.Sprintf("; A/A: Python B/Python A %.2f–%.2f× over all cells", lo, hi)
			}
			rows = append(rows, [3]string{"end to end ≥ 1.0× Python in every other cell", m, yesNo(ratio(worst) >= 1.0)})
		}
		// The binding's cost: judged on the direct measurement where the
		// run has it, with the cross-process comparison beside it.
		loX, hiX, haveX := math.Inf(1), math.Inf(-1), false
		for _, c := range r.Cells {
			if c.hasForward() {
				o := c.crossOverhead()
				loX, hiX, haveX = math.Min(loX, o), math.Max(hiX, o), true
			}
		}
		cross := ""
		if haveX {
			cross = fmt.Sprintf("cross-process (Go's forward vs Python's in the other process): %+.1f%% to %+.1f%% over the cells", 100*loX, 100*hiX)
			if lo, hi, ok := r.aaRange((*cellOut).aaForward); ok {
				cross += fmt.Sprintf(", against an A/A noise floor of %+.1f%% to %+.1f%% (Python B's forward vs Python A's)", 100*(1/hi-1), 100*(1/lo-1))
			}
		}
		if c, phase, bc, ok := r.worstCost(); ok {
			m := fmt.Sprintf("direct (time in `Module.Forward` beyond libtorch's own, same calls): worst %s, %s µs per call (%s, %s)", pct(bc.Share.Median), num(bc.OverheadUS.Median), c.tag(), phase)
			if cross != "" {
				m += "; " + cross
			}
			rows = append(rows, [3]string{"binding adds ≤ 2% to the forward pass", m, yesNo(bc.Share.Median <= 0.02)})
		} else if haveX {
			rows = append(rows, [3]string{"binding adds ≤ 2% to the forward pass", cross + " (no direct measurement in this run)", yesNo(hiX <= 0.02)})
		}
		rows = append(rows, r.peerTargets()...)
		rows = append(rows, r.fastTargets()...)
		rows = append(rows, r.loaderTargets()...)
		if c := r.cell(32, 128); c != nil && c.Go.Staged != nil {
			_, share, _ := stageMS(c.Go.Staged)
			rows = append(rows, [3]string{"Go's time outside forward ≤ 5% of the total (bs=32 len=128)", fmt.Sprintf("%.2f%%", 100*share), yesNo(share <= 0.05)})
		}
	}
	if co := r.Corpus; co != nil {
		b, u := co.rates()
		g := co.Go
		q := b.Median / u.Median
		if goBU, py, _, _, limit, ok := co.yardstick(); ok {
			rows = append(rows, [3]string{"length-bucketing ≥ 1.5× on the mixed corpus against unsorted batches, outputs in input order and identical to unsorted (labels identical; scores no further apart than Python's own outputs at two batch sizes, rule below)",
				fmt.Sprintf("%.2f×; labels %d/%d identical, order %d/%d; max \\|Δscore\\| %.2g over the corpus, limit %.2g (Python's own batch %d vs batch 1: %.2g on the first %d texts, where Go's bucketed vs unbucketed: %.2g; floor %.0e)",
					q, g.LabelsEqual, g.Labels, g.OrderOK, g.OrderChecked, g.MaxScoreDiff, limit, co.BS, py.MaxDiff, py.N, goBU.MaxDiff, scoreFloor),
				verdict(q >= 1.5, co.outputsHold())})
		} else {
			same := g.LabelsEqual == g.Labels && g.MaxScoreDiff <= 1e-6 && g.OrderOK == g.OrderChecked
			rows = append(rows, [3]string{"length-bucketing ≥ 1.5× on the mixed corpus, outputs identical (no Python yardstick in this run: labels; scores equal or within 1e-6)",
				fmt.Sprintf("%.2f×; labels %d/%d, scores %d/%d bitwise, %d/%d within 1e-6 (max diff %.2g), order %d/%d", q, g.LabelsEqual, g.Labels, g.ScoresBitwise, g.Labels, g.ScoresWithin, g.Labels, g.MaxScoreDiff, g.OrderOK, g.OrderChecked),
				verdict(q >= 1.5, same)})
		}
	}
	if r.Tokenizer != nil {
		gs, ps, _, _ := r.Tokenizer.rates()
		q := gs.Median / ps.Median
		rows = append(rows, [3]string{"Go tokenizer ≥ 1.0× Python tokenizers, single thread", fmt.Sprintf("%.2f×", q), yesNo(q >= 1.0)})
	}
	return rows
}

// shortCell is the cell of batch 1 with the shortest texts (batch 1 × 16
// tokens in a full run), else the first; nil without cells.
func (r *report) shortCell() *cellOut {
	if len(r.Cells) == 0 {
		return nil
	}
	short := r.Cells[0]
	for _, c := range r.Cells {
		if c.BS == 1 && c.Len < short.Len || short.BS != 1 && c.BS == 1 {
			short = c
		}
	}
	return short
}

// loaderTargets are the native model's rows: native at least as fast as
// TorchScript in every cell, and the binding's cost of the native forward
// pass at batch 1 × 16 tokens. None for a run without TorchScript
// processes.
func (r *report) loaderTargets() [][3]string {
	var worst, worstE2E *cellOut
	var q, qE2E float64
	phase := ""
	for _, c := range r.Cells {
		if x, ph, ok := c.loaderForward(); ok && (worst == nil || x < q) {
			worst, q, phase = c, x, ph
		}
		if x, ok := c.loaderE2E(); ok && (worstE2E == nil || x < qE2E) {
			worstE2E, qE2E = c, x
		}
	}
	if worst == nil {
		return nil
	}
	var rows [][3]string
	m := fmt.Sprintf("lowest %.3f× (%s, %s)", q, worst.tag(), phase)
	_, plo, phi, pn, pok := worst.loaderPaired()
	if pok {
		m += fmt.Sprintf(" [95%% interval %.3f–%.3f over %d calls]", plo, phi, pn)
	}
	if worstE2E != nil {
		m += fmt.Sprintf("; end to end lowest %.2f× (%s)", qE2E, worstE2E.tag())
	}
	lo, hi, ok := r.aaRange((*cellOut).aaForward)
	if !ok {
		lo, hi, ok = r.aaRange((*cellOut).aaE2E)
	}
	v := yesNo(q >= 1.0)
	if pok {
		// The paired ratio's own interval is its noise floor.
		if q < 1.0 && phi >= 1.0 {
			v += " (1 inside its 95% interval)"
		}
		if ok {
			m += fmt.Sprintf("; two processes' noise floor for comparison: Python B/Python A %.3f–%.3f×", lo, hi)
		}
	} else if ok {
		m += fmt.Sprintf("; A/A noise floor: Python B/Python A %.3f–%.3f×", lo, hi)
		if q < 1.0 && 1/q <= math.Max(hi, 1/lo) {
			v += " (within the A/A noise floor)"
		}
	}
	rows = append(rows, [3]string{"native forward ≥ TorchScript in every cell (native/TorchScript: TorchScript's time per forward over native's; paired in one process where the run has it, else forward alone where the cell times it, else the forward passes in `Run`)", m, v})

	if c := r.shortCell(); c != nil {
		bc, ok := c.Go.forwardCost()
		where := "forward alone"
		if !ok {
			bc, ok = c.Go.e2eCost()
			where = "in `Run`"
		}
		if ok {
			m := fmt.Sprintf("%s, %s µs per call of %s ms inside libtorch (%s; (CallTime − ComputeTime)/ComputeTime of `Model.Stats()`, median over repetitions, range %s – %s)",
				pct(bc.Share.Median), num(bc.OverheadUS.Median), num(bc.ComputeMS.Median), where, pct(bc.Share.Min), pct(bc.Share.Max))
			if e, ok := c.Go.e2eCost(); ok && where != "in `Run`" {
				m += fmt.Sprintf("; in `Run`: %s", pct(e.Share.Median))
			}
			if c.TS != nil {
				m += fmt.Sprintf("; TorchScript: %s", shareOf(c.TS))
			}
			rows = append(rows, [3]string{fmt.Sprintf("binding adds ≤ 2%% to the native forward pass at batch %d × %d tokens", c.BS, c.Len), m, yesNo(bc.Share.Median <= 0.02)})
		}
	}
	return rows
}

// verdict is the bucketing verdict: speed and output equality apart.
func verdict(fast, same bool) string {
	switch {
	case fast && same:
		return "**holds**"
	case fast:
		return "speed **holds**; outputs **fail** (see below)"
	case same:
		return "speed **fails**; outputs hold"
	}
	return "**fails**"
}

// loaderSection writes the native vs TorchScript section; nothing for a
// run without TorchScript processes.
func (r *report) loaderSection(w func(string, ...any)) {
	has := false
	for _, c := range r.Cells {
		has = has || c.TS != nil
	}
	if !has {
		return
	}
	w("## Native model vs TorchScript export (Go)\n\n")
	w("Every cell runs the Go side twice, in two processes that take turns with the Python ones: with the native model (`model.safetensors` run in place by the shim's C++ over ATen; the default, and the Go side everywhere else in this report) and with the folder's TorchScript export (`pipeline.WithHF(hf.WithTorchScript())`), both phases each: end to end (`Run`) and, in cells of at most %d tokens per batch, the forward pass alone. ", r.Settings.ForwardMaxTokens)
	w("Ratios are native/TorchScript speed ratios (TorchScript's time over native's; above 1: native is faster). *Paired in one process* (in the cells that time the forward pass alone): the native process also loads the export and runs both forward passes back to back on each batch, in alternating order, for as many repetitions as the other phases, each %d times as long (at least one pair); the ratio is TorchScript's total time over native's, with the 95%% bootstrap interval over the calls. Two processes differ by more than the two loaders do (see *Python B/A*), so the paired ratio is the one the `ratio native/torchscript=` lines and the targets use where the run has it. *Forward in `Run`* is the time per call in `Module.Forward` during the end-to-end phase (`Model.Stats`), so every cell has a forward comparison; *forward alone* the staged loop's. *Binding* is (CallTime − ComputeTime)/ComputeTime of `Model.Stats()`, forward alone where measured, else in `Run`. *Python B/A* is the noise floor of a comparison between two processes (forward alone where measured, else end to end).\n\n", pairRepFactor)
	w("| threads | batch | tokens | native seq/s | TorchScript seq/s | end to end native/TS | forward in `Run` ms native / TS | native/TS | forward alone ms native / TS | native/TS | paired in one process native/TS [95%% interval] | binding native / TS | peak RSS MiB native / TS | labels native = TS | Python B/A |\n")
	w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, c := range r.Cells {
		if c.TS == nil {
			continue
		}
		e2e, run, alone, inRun, fwd, aa := "n/a", "n/a", "", "n/a", "", ""
		if q, ok := c.loaderE2E(); ok {
			e2e = fmt.Sprintf("**%.2f**", q)
		}
		n, okN := c.Go.e2eCost()
		t, okT := c.TS.e2eCost()
		if okN && okT {
			inRun = fmt.Sprintf("%s / %s", num(n.CallMS.Median), num(t.CallMS.Median))
		}
		if q, ok := c.loaderRun(); ok {
			run = fmt.Sprintf("**%.3f**", q)
		}
		if q, ok := c.loaderAlone(); ok {
			fwd = fmt.Sprintf("%s / %s", num(c.Go.forwardMS().Median), num(c.TS.forwardMS().Median))
			alone = fmt.Sprintf("**%.3f**", q)
		}
		if q, ok := c.aaForward(); ok {
			aa = fmt.Sprintf("%.3f", q)
		} else if q, ok := c.aaE2E(); ok {
			aa = fmt.Sprintf("%.3f (end to end)", q)
		}
		pair := "n/a"
		if q, lo, hi, _, ok := c.loaderPaired(); ok {
			pair = fmt.Sprintf("**%.3f** [%.3f–%.3f]", q, lo, hi)
		}
		same, cnt, d := c.loaderAgreement()
		w("| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %.0f / %.0f | %d/%d (max score diff %.2g) | %s |\n", c.threadsCol(), c.BS, c.Len,
			spread(c.Go.rate(c.BS)), spread(c.TS.rate(c.BS)), e2e, inRun, run, fwd, alone, pair, shareOf(&c.Go), shareOf(c.TS),
			mib(c.Go.PeakRSSKiB), mib(c.TS.PeakRSSKiB), same, cnt, d, aa)
	}
	w("\n")
}

func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	c := r.Settings
	if r.hasPeer() {
		w("# hfpipe benchmarks: hfpipe vs Python and hugot (ONNX Runtime)\n\n")
	} else {
		w("# hfpipe benchmarks: Go vs Python\n\n")
	}
	w("Generated by `make bench` (bench/cmd/hfbench); do not edit by hand.\n\n")
	w("- **Command:** `%s`", r.Command)
	if c.Quick {
		w(" (**quick smoke run**: fewer repetitions, shorter corpus; not for conclusions)")
	}
	w("\n- **Date:** %s (took %s)\n", r.Started.Format("2006-01-02 15:04 MST"), r.Elapsed.Round(time.Second))
	w("- **Machine:** %s, %d cores (%s/%s); load average %.2f at start, %.2f at end", r.Machine.CPU, r.Machine.Cores, r.Machine.GOOS, r.Machine.GOARCH, r.LoadStart[0], r.LoadEnd[0])
	if c.WaitQuiet > 0 {
		if r.Quiet {
			w(" (waited %s for load < %.2f)", r.QuietWait.Round(time.Second), c.QuietLoad)
		} else {
			w(" (**never got quiet**: waited %s for load < %.2f, then ran anyway)", r.QuietWait.Round(time.Second), c.QuietLoad)
		}
	}
	if r.Machine.Kernels != "" {
		w("\n- **Kernels:** `%s` (ATen's CPU capability, oneDNN's ISA, libtorch threads; both sides run the same libtorch in the same environment)", r.Machine.Kernels)
	}
	w("\n- **Versions:** Go %s, libtorch %s (the venv's torch wheel, shared by both sides), Python %s, torch %s, transformers %s, tokenizers %s, numpy %s\n",
		r.Machine.GoVersion, r.Machine.Libtorch, r.Python.Python, r.Python.Torch, r.Python.Transformers, r.Python.Tokenizers, r.Python.Numpy)
	if len(c.ThreadCounts) > 1 {
		w("- **Threads:** every cell at %s intra-op threads in turn, the same count in every process of a cell (`torch.SetNumThreads` / `torch.set_num_threads`; hugot: ONNX Runtime's `IntraOpNumThreads`); the tokenizer and corpus cases at %d; Go GOMAXPROCS %d\n", intsText(c.ThreadCounts), c.Threads, r.Machine.Cores)
	} else {
		w("- **Threads:** %d libtorch intra-op threads on both sides (`torch.SetNumThreads(%d)` / `torch.set_num_threads(%d)`); Go GOMAXPROCS %d\n", c.Threads, c.Threads, c.Threads, r.Machine.Cores)
	}
	if r.Peer != nil {
		w("- **Peer:** %s with its ONNX Runtime backend (%s, the PyPI wheel's library), built by `make bench-peer` (bench/peer) in a Go module of its own; one more process per cell, taking turns with the others\n", r.Peer.Name, r.Peer.ORT)
	}
	w("- **Model:** random-initialised distilbert-base-uncased-finetuned-sst-2-english shape (6 layers, dim 768, 66M parameters, real uncased vocabulary) from `third_party/tools/make_model.py` (default arguments) + `export.py --head sequence-classification`, in `%s`. Go runs it natively (its `model.safetensors`, used in place by the shim's C++ over ATen: what `pipeline.NewTextClassification` loads by default) and, in a second process per cell, from the TorchScript export `%s` (`pipeline.WithHF(hf.WithTorchScript())`); Python's pipeline reads the safetensors (eager PyTorch), its forward-alone loop the TorchScript export\n", relPath(r.Model), bench.ExportFile)
	w("- **Timing:** every case runs in its own process per side (Go: a child of hfbench; Python: third_party/tools/bench_python.py). The processes of one end-to-end cell (two Go processes, one with the native model and one with the TorchScript export, two identical Python processes, A and B, and, where the run has the peer, hugot's, end to end only) live side by side and take turns, repetition by repetition, each repetition starting with another process, so that background load on a busy machine hits them alike; a process waiting for its turn is idle. Python B runs the same script and job as Python A: its ratio to A (*A/A*) shows what differences the machine alone produces between two identical processes, the noise floor of every Go/Python ratio. Each first makes %d untimed warm-up calls of the exact shape (TorchScript's profiling executor specialises on its first calls of a shape; the Python pipeline warms the same way), then %d repetitions, each of at least %.2g s and one call, starting with one untimed call when calls are shorter than 0.5 s (the other processes ran in between). Throughputs are the median over repetitions with the min–max range in brackets; latency percentiles pool every timed call (with few calls, p99 is close to the maximum). Peak RSS is VmHWM/`ru_maxrss` of each side's process right after its end-to-end phase.\n",
		r.Plan.Warmup, r.Plan.Reps, r.Plan.RepSeconds)
	w("- **Ratios** are speed ratios: above 1 means Go is faster (Python B/Python A: above 1 means B was faster). Go means the native model, what users get, in every Go/Python ratio and Go column; the TorchScript runs appear only where named, and *native/TorchScript* (TorchScript's time over native's) above 1 means the native model is faster.\n\n")

	if rows := r.targets(); len(rows) > 0 {
		w("## Targets\n\n")
		w("| target | measured | verdict |\n| --- | --- | --- |\n")
		for _, row := range rows {
			w("| %s | %s | %s |\n", row[0], row[1], row[2])
		}
		w("\n")
	}

	if len(r.Cells) > 0 {
		w("## Sentiment analysis end to end\n\n")
		w("Go: `pipeline.NewTextClassification(WithModel(dir), WithBatchSize(bs)).Run(ctx, texts...)`, one call per batch (the native model, the default). ")
		w("Python: `transformers.pipeline(\"sentiment-analysis\", model=dir)(texts, batch_size=bs, truncation=True)` (eager PyTorch, what users run). ")
		w("Every text of a cell has exactly `tokens` tokens, so neither side pads. Latencies are per batch call. Python columns are Python A's; *Python B/A* is the A/A ratio of the two identical Python processes. *Binding in `Run`* is the binding's direct cost in the pipeline's own forward passes (see the next section): time in `Module.Forward` beyond libtorch's compute, per call and in %% of the compute, median over repetitions.\n\n")
		w("| threads | batch | tokens | Go seq/s | Python seq/s | Go/Python | Python B/A | Go p50 / p99 ms | Python p50 / p99 ms | Go peak RSS MiB | Python peak RSS MiB | binding in `Run` | labels Go = Python |\n")
		w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, cl := range r.Cells {
			g, p := cl.goRate(), cl.pyRate()
			same, n, d := cl.labelAgreement()
			aa, bind := "", ""
			if q, ok := cl.aaE2E(); ok {
				aa = fmt.Sprintf("%.3f", q)
			}
			if bc, ok := cl.e2eCost(); ok {
				bind = fmt.Sprintf("%s µs (%s)", num(bc.OverheadUS.Median), pct(bc.Share.Median))
			}
			w("| %s | %d | %d | %s | %s | **%.2f** | %s | %s / %s | %s / %s | %.0f | %.0f | %s | %d/%d (max score diff %.2g) |\n", cl.threadsCol(), cl.BS, cl.Len, spread(g), spread(p), g.Median/p.Median, aa,
				num(latMS(cl.Go.E2E, 0.5)), num(latMS(cl.Go.E2E, 0.99)), num(latMS(cl.Py.E2E, 0.5)), num(latMS(cl.Py.E2E, 0.99)),
				mib(cl.Go.PeakRSSKiB), mib(cl.Py.PeakRSSKiB), bind, same, n, d)
		}
		w("\n![throughput](%s)\n\n", relTo(c.Out, c.Plot))
		r.peerSection(w)
		r.fastSection(w)
		r.rooflineSection(w)
		r.loaderSection(w)

		w("## Forward pass alone (binding overhead)\n\n")
		w("Go: the native model's forward through the binding, `hf.Model.ForwardTensors` → `torch.Module.Forward` (cgo, tensors in/out, under `c10::InferenceMode`), on a model of its own loaded like the pipeline's; Python: `torch.jit.load` of the TorchScript export, `(*inputs)` under `torch.inference_mode()`. Go/Python here thus also compares the native forward with TorchScript's; *Go TorchScript/Python* is the same comparison with the Go process that runs the export, the same file on both sides. Mean ms per forward, median over repetitions (min–max). Measured in cells of at most %d tokens per batch (the binding's own cost is per call, so small cells show it best).\n\n", c.ForwardMaxTokens)
		w("*Go call* is the time from entering `Module.Forward` to its return; *libtorch compute* the time inside the forward on the shim's thread (the native C++ forward over ATen; `std::chrono::steady_clock` in C++), for the same calls (`Model.Stats`, `torch.Module.Stats`); the *binding overhead* is their difference: converting the inputs, handing the call to the forward thread and waking the goroutine, converting the output. ")
		w("This is the binding's cost itself: the Go caller's time beyond libtorch's own compute, measured on the same calls in the same process, so the noise that makes two processes differ (see *Python B/A*) does not enter it. ")
		w("Python's call through pybind11 also costs something beyond the compute, so the overhead is an upper bound on what Go adds relative to Python. ")
		w("*Go/Python* compares Go's call with Python A's forward in the other process, as a speed ratio; *Python B/A* is the same comparison between the two identical Python processes, its noise floor.\n\n")
		w("| threads | batch | tokens | Go call ms | libtorch compute ms | binding overhead µs per call | binding overhead %% of compute | Python ms | Go/Python speed | Go TorchScript/Python | Python B/A |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, cl := range r.Cells {
			if !cl.hasForward() {
				continue
			}
			gf, pf := cl.goForwardMS(), forwardMS(cl.Py.Forward)
			call, comp, us, share := spread(gf), "n/a", "n/a", "n/a"
			if bc, ok := cl.forwardCost(); ok {
				call, comp, us, share = spread(bc.CallMS), spread(bc.ComputeMS), spread(bc.OverheadUS), pctSpread(bc.Share)
			}
			aa, ts := "", ""
			if q, ok := cl.aaForward(); ok {
				aa = fmt.Sprintf("%.3f", q)
			}
			if cl.TS != nil && cl.TS.hasForward() {
				ts = fmt.Sprintf("%.3f", pf.Median/cl.TS.forwardMS().Median)
			}
			w("| %s | %d | %d | %s | %s | %s | %s | %s | %.3f | %s | %s |\n", cl.threadsCol(), cl.BS, cl.Len, call, comp, us, share, spread(pf), pf.Median/gf.Median, ts, aa)
		}
		w("\n## Where Go's time goes\n\n")
		w("The pipeline's steps run one by one (same code as `Run`): tokenize (`pipeline.Preprocess`), pad (`Tokenizer.Pad`), tensors (`torch.FromSlice` of ids and mask), forward (the native model's `Module.Forward`), output (`torch.ToSlice` of the logits, Close), postprocess (`Postprocess`). Median ms per call; the share outside forward is summed over all timed calls.\n\n")
		w("| threads | batch | tokens | tokenize | pad | tensors | forward | output | postprocess | outside forward | `Run` p50 ms |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, cl := range r.Cells {
			if cl.Go.Staged == nil {
				continue
			}
			med, share, _ := stageMS(cl.Go.Staged)
			w("| %s | %d | %d | %s | %s | %s | %s | %s | %s | **%.2f%%** | %s |\n", cl.threadsCol(), cl.BS, cl.Len, num(med["tokenize"]), num(med["pad"]), num(med["tensors"]), num(med["forward"]),
				num(med["output"]), num(med["postprocess"]), 100*share, num(latMS(cl.Go.E2E, 0.5)))
		}
		w("\n")
	}

	if t := r.Tokenizer; t != nil {
		gs, ps, gb, pb := t.rates()
		w("## Tokenizer throughput\n\n")
		w("%d texts of the corpus below (%d tokens), special tokens added, no padding or truncation. Single: Go `Tokenizer.Encode` with GOMAXPROCS=1 vs Python `tokenizers.Tokenizer.from_file(tokenizer.json).encode`, one text at a time; batch: Go `EncodeBatch` with GOMAXPROCS=%d vs `encode_batch` with RAYON_NUM_THREADS=%d.\n\n", t.Go.Texts, t.Go.Tokens, c.Threads, c.Threads)
		w("| mode | Go tokens/s | Python tokens/s | Go/Python |\n| --- | ---: | ---: | ---: |\n")
		w("| single thread | %s | %s | **%.2f** |\n", spread(gs), spread(ps), gs.Median/ps.Median)
		w("| batch, %d threads | %s | %s | **%.2f** |\n\n", c.Threads, spread(gb), spread(pb), gb.Median/pb.Median)
	}
	w("%s", tokFamiliesMarkdown(r.Tokenizer, r.TokenizerFamilies, c.Threads))

	if co := r.Corpus; co != nil {
		g := co.Go
		bu, un := co.rates()
		w("## Mixed-length corpus: length-bucketing\n\n")
		w("%d review-like texts (%d tokens; %s, in random order) read from a file, one a line, and classified by one `Run` call at batch size %d, with bucketing (default: sorted by length, longest first, results put back in input order) and with `WithoutBucketing()`; %d repetition(s), the two alternating, after a warm-up of both on the head of the file. Go only (transformers' pipeline does not sort by length).\n\n",
			g.Texts, g.Tokens, bench.CorpusMix, co.BS, len(g.Bucketed))
		w("| run | texts/s | tokens computed (padding included) |\n| --- | ---: | ---: |\n")
		w("| bucketed | %s | %d |\n| unbucketed | %s | %d |\n| **bucketed/unbucketed** | **%.2f** | %.2f |\n\n", spread(bu), g.PaddedBucketed, spread(un), g.PaddedUnbucketed, bu.Median/un.Median, float64(g.PaddedUnbucketed)/float64(g.PaddedBucketed))
		w("Outputs: labels %d/%d identical; scores %d/%d bitwise identical, max |Δscore| %.2g (a row padded to another length goes through other matrix shapes, so the last bits may move); input order: %d/%d sampled texts classified alone match the result at their index in both runs (max |Δscore| %.2g).\n\n",
			g.LabelsEqual, g.Labels, g.ScoresBitwise, g.Labels, g.MaxScoreDiff, g.OrderOK, g.OrderChecked, g.OrderMaxDiff)
		if goBU, py, goBPy, goUPy, limit, ok := co.yardstick(); ok {
			w("Bitwise identity cannot be asked of two batchings, so the yardstick is measured in the same run: Python's `transformers.pipeline(\"sentiment-analysis\", model=dir)` on the first %d texts of the same file, in input order, at `batch_size=%d` (unsorted batches padded to their longest text, as Go's unbucketed run) and at `batch_size=1` (no padding) (%.1f s and %.1f s). ", py.N, co.BS, co.PyRef.BatchedSeconds, co.PyRef.SingleSeconds)
			w("**Rule:** the outputs count as identical when every label of the corpus is the same in both runs, every sampled text is at its own index, and Go's largest |Δscore| between the bucketed and unbucketed runs, over the whole corpus, is at most Python's own largest |Δscore| between batch size %d and 1 on those texts, or %.0e where that is smaller (a floor of about 170 float32 steps of a score near 0.5, should Python's batchings happen to agree to the bit). Here the limit is %.2g. The table compares like with like on the reference texts.\n\n", co.BS, scoreFloor, limit)
			w("| on the first %d texts | labels equal | max \\|Δscore\\| |\n| --- | ---: | ---: |\n", py.N)
			row := func(name string, a agreement) { w("| %s | %d/%d | %.2g |\n", name, a.SameLabels, a.N, a.MaxDiff) }
			row(fmt.Sprintf("Python batch %d vs Python batch 1 (Python's own batch-size variation)", co.BS), py)
			row("Go bucketed vs Go unbucketed", goBU)
			row(fmt.Sprintf("Go bucketed vs Python batch %d", co.BS), goBPy)
			row(fmt.Sprintf("Go unbucketed vs Python batch %d", co.BS), goUPy)
			if len(co.Peer) > 0 {
				row(fmt.Sprintf("hugot (ONNX Runtime, batch %d) vs Go unbucketed", co.BS), compare(co.Peer, g.HeadUnbucketed))
				row(fmt.Sprintf("hugot (ONNX Runtime, batch %d) vs Python batch %d", co.BS, co.BS), compare(co.Peer, co.PyRef.Batched))
			}
			w("\nGo (the native model) against Python (eager PyTorch) also includes any difference between the two forward implementations.\n\n")
		}
	}

	if len(r.Cells) > 0 {
		w("## Notes: the binding's forward thread and malloc\n\n")
		w("`Module.Forward` runs the forward pass on a persistent C++ thread of the shim, one per device, and the calling goroutine waits on an eventfd that the shim signals when the pass is done, parked in Go's netpoller rather than blocked in a cgo call. ")
		w("Why: libtorch parallelises with OpenMP (the torch wheel's libgomp), which keeps one thread team per calling OS thread, while a goroutine may resume on another OS thread after any blocking point, so forward passes called straight from goroutines started their parallel regions from changing threads and the process gathered idle teams competing for the cores; ")
		w("and while a goroutine sat in a long cgo call, Go's scheduler monitor (sysmon) kept waking up to poll it, each wake-up preempting a libtorch compute thread on a machine with every core busy (2 cores here). Python calls libtorch from one thread and has no such monitor. ")
		w("The last full run before this change (bench/results.md of commit 3dc7117) measured Go's forward pass up to 16%% slower than Python's at small shapes (+16.0%% at batch 1 × 128 tokens, +13.7%% at 1 × 16); the binding's cost now is the direct measurement in the forward table.\n\n")
		tuned := false
		for _, c := range r.Cells {
			tuned = tuned || c.Go.MallocTuned
		}
		if tuned {
			w("The Go processes ran with the binding's memory settings (`torch.MallocTuned()` true: the workers call `torch.SetMemoryReuse(true)`, as `cmd/hfpipe` does; `HFPIPE_MALLOC=system` leaves malloc alone): glibc malloc serves blocks under 32 MiB from its heaps and keeps up to 256 MiB of freed memory there, and a caching CPU allocator in the shim keeps libtorch's freed blocks from 1 MiB up (1 GiB at most) for the next allocation of the same rounded size. With glibc's defaults every pass maps its larger activations afresh and the kernel zeroes and faults them in again: measured with a Go loop over the same TorchScript file, about 1,700 page faults per pass at batch 1 × 128 tokens (52.5 ms per pass; 49-50 ms with the thresholds) and 1.4 million at batch 32 × 512 (6.9-7.5 s; 5.8 s with the cache, which keeps 0.7 GiB and raises peak RSS by about 0.2 GiB). The Python processes run with glibc's defaults, as Python users do; the thresholds part they can get with `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456`.\n\n")
		}
	}
	w("## Ratio lines\n\n```\n%s\n```\n", strings.Join(r.ratioLines(), "\n"))
	if r.PlotErr != "" {
		w("\nThe plot failed: %s\n", r.PlotErr)
	}
	return b.String()
}

// relPath shows p relative to the repository root where it lies inside it.
func relPath(p string) string {
	if rel, err := filepath.Rel(testenv.RepoRoot(), p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

// relTo is target relative to the folder of the file from.
func relTo(from, target string) string {
	af, err1 := filepath.Abs(from)
	at, err2 := filepath.Abs(target)
	if err1 != nil || err2 != nil {
		return target
	}
	if rel, err := filepath.Rel(filepath.Dir(af), at); err == nil {
		return rel
	}
	return target
}

// intsText writes 1, 2 and 4 as "1, 2 and 4".
func intsText(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
