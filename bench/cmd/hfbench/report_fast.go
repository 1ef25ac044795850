package main

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/hfpipe/hfpipe/bench"
	"github.com/hfpipe/hfpipe/torch"
)

// Fast mode (hf.WithFast) in the report: a third Go process per cell runs
// the native model in fast mode, taking turns with the others; its lines
// and table stand beside exact mode's, with the same ratios against hugot
// and Python.

// fastRate is fast mode's end-to-end throughput; false where the cell has
// no fast-mode process (a run before fast mode).
func (c *cellOut) fastRate() (bench.Summary, bool) {
	if c.Fast == nil || len(c.Fast.E2E) == 0 {
		return bench.Summary{}, false
	}
	return c.Fast.rate(c.BS), true
}

// fastAgreement compares the first batch's results of fast mode with exact
// mode's (the native model).
func (c *cellOut) fastAgreement() (same, n int, maxDiff float64) {
	if c.Fast == nil {
		return
	}
	return prefixAgreement(c.Go.FirstResults, c.Fast.FirstResults)
}

// fastRatioLines are a cell's fast-mode lines: `ratio hfpipe-fast/hugot=…`,
// `ratio hfpipe-fast/python=…` and `ratio hfpipe-fast/exact=…`.
func (r *report) fastRatioLines(c *cellOut) []string {
	f, ok := c.fastRate()
	if !ok {
		return nil
	}
	frac := func(rate float64) string {
		if x, ok := r.fraction(c, rate); ok {
			return fmt.Sprintf("%.2f", x)
		}
		return "n/a"
	}
	var lines []string
	if p, ok := c.peerRate(); ok {
		lines = append(lines, fmt.Sprintf("ratio hfpipe-fast/hugot=%.3f %s (hfpipe fast %.1f seq/s, hugot %.1f seq/s; first call %s/%s ms; peak rss %.0f/%.0f MiB; roofline fraction %s/%s)",
			f.Median/p.Median, c.tag(), f.Median, p.Median, num(1e3*c.Fast.FirstCallSeconds), num(1e3*c.Peer.FirstCallSeconds),
			mib(c.Fast.PeakRSSKiB), mib(c.Peer.PeakRSSKiB), frac(f.Median), frac(p.Median)))
	}
	p := c.pyRate()
	lines = append(lines, fmt.Sprintf("ratio hfpipe-fast/python=%.3f %s (hfpipe fast %.1f seq/s, python %.1f seq/s; first call %s/%s ms; peak rss %.0f/%.0f MiB; roofline fraction %s/%s)",
		f.Median/p.Median, c.tag(), f.Median, p.Median, num(1e3*c.Fast.FirstCallSeconds), num(1e3*c.Py.FirstCallSeconds),
		mib(c.Fast.PeakRSSKiB), mib(c.Py.PeakRSSKiB), frac(f.Median), frac(p.Median)))
	g := c.goRate()
	same, n, d := c.fastAgreement()
	lines = append(lines, fmt.Sprintf("ratio hfpipe-fast/exact=%.3f %s (fast %.1f seq/s, exact %.1f seq/s; labels %d/%d equal, max |Δscore| %.2g on the first batch)",
		f.Median/g.Median, c.tag(), f.Median, g.Median, same, n, d))
	return lines
}

// hasFast says whether any cell ran fast mode.
func (r *report) hasFast() bool {
	return slices.ContainsFunc(r.Cells, func(c *cellOut) bool { _, ok := c.fastRate(); return ok })
}

// fastTargets are issue 15's rows for fast mode: ≥ 1.0× hugot in every
// cell and ≥ 1.2× at batch 1 × 16 tokens.
func (r *report) fastTargets() [][3]string {
	if !r.hasFast() || !r.hasPeer() {
		return nil
	}
	var rows [][3]string
	lo, worst := math.Inf(1), (*cellOut)(nil)
	var short []string
	okShort, have := true, false
	for _, c := range r.Cells {
		f, ok1 := c.fastRate()
		p, ok2 := c.peerRate()
		if !ok1 || !ok2 {
			continue
		}
		q := f.Median / p.Median
		if q < lo {
			lo, worst = q, c
		}
		if c.BS == 1 && c.Len == 16 {
			short = append(short, fmt.Sprintf("%.2f× (%s)", q, c.tag()))
			okShort, have = okShort && q >= 1.2, true
		}
	}
	if worst != nil {
		rows = append(rows, [3]string{"hfpipe fast mode ≥ 1.0× hugot (ONNX Runtime) end to end in every cell",
			fmt.Sprintf("lowest %.2f× (%s)", lo, worst.tag()), yesNo(lo >= 1.0)})
	}
	if have {
		rows = append(rows, [3]string{"hfpipe fast mode ≥ 1.2× hugot at batch 1 × 16 tokens", strings.Join(short, ", "), yesNo(okShort)})
	}
	return rows
}

// fastKernels says what the fast-mode processes of the run multiplied
// with: hf.WithFast's kernel set, recorded by each process.
func (r *report) fastKernels() string {
	var sets []string
	for _, c := range r.Cells {
		if c.Fast != nil && !slices.Contains(sets, c.Fast.Kernels) {
			sets = append(sets, c.Fast.Kernels)
		}
	}
	var says []string
	for _, k := range sets {
		switch torch.FastKernels(k) {
		case torch.FastBFloat16FFN:
			says = append(says, "kernel set `bf16-ffn`: the feed-forward layers multiply in bfloat16, the other linear layers in float32, both over oneDNN-packed weights (converted once at load)")
		case torch.FastBFloat16, "": // "": a run from before the kernel set was recorded, when WithFast was bf16
			says = append(says, "kernel set `bf16`: the linear layers multiply in bfloat16 over oneDNN-packed bfloat16 weights (converted once at load)")
		default:
			says = append(says, fmt.Sprintf("kernel set `%s`", k))
		}
	}
	return strings.Join(says, "; in other cells, ")
}

// fastSection is the fast-mode table.
func (r *report) fastSection(w func(string, ...any)) {
	if !r.hasFast() {
		return
	}
	w("## Fast mode (hf.WithFast) vs exact mode, hugot and Python\n\n")
	w("Fast mode, %s; embeddings, layer norm, softmax, attention and activations stay float32. Its numbers differ slightly from exact mode's (which is bitwise transformers'); `go test ./bench -run TestFastAgreement` reports its agreement over 2,000 texts. A process of its own, taking turns with the others. Ratios above 1: fast mode is faster. Agreement compares the first batch's results with exact mode's.\n\n", r.fastKernels())
	w("| threads | batch | tokens | fast seq/s | exact seq/s | hugot seq/s | Python seq/s | fast/exact | fast/hugot | fast/Python | first + second call ms | peak RSS MiB | roofline | labels fast = exact |\n")
	w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, c := range r.Cells {
		f, ok := c.fastRate()
		if !ok {
			continue
		}
		g, py := c.goRate(), c.pyRate()
		peer, vsPeer := "–", "–"
		if p, ok := c.peerRate(); ok {
			peer, vsPeer = spread(p), fmt.Sprintf("**%.2f**", f.Median/p.Median)
		}
		roof := "n/a"
		if x, ok := r.fraction(c, f.Median); ok {
			roof = fmt.Sprintf("%.2f", x)
		}
		same, n, d := c.fastAgreement()
		w("| %s | %d | %d | %s | %s | %s | %s | **%.2f** | %s | **%.2f** | %s + %s | %.0f | %s | %d/%d (max \\|Δscore\\| %.2g) |\n",
			c.threadsCol(), c.BS, c.Len, spread(f), spread(g), peer, spread(py), f.Median/g.Median, vsPeer, f.Median/py.Median,
			num(1e3*c.Fast.FirstCallSeconds), num(1e3*c.Fast.SecondCallSeconds), mib(c.Fast.PeakRSSKiB), roof, same, n, d)
	}
	w("\n")
}
