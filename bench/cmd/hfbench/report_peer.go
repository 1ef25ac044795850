package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// cellRatioLines are a cell's ratio lines: the existing ones, then
// `ratio hfpipe/hugot=…` and `ratio hfpipe/python=…`, each with both
// contenders' throughput, first-call latency, peak RSS, agreement and
// fraction of the roofline bound.
func (r *report) cellRatioLines(c *cellOut) []string {
	lines := c.ratioLines()
	g := c.goRate()
	frac := func(rate float64) string {
		if f, ok := r.fraction(c, rate); ok {
			return fmt.Sprintf("%.2f", f)
		}
		return "n/a"
	}
	if p, ok := c.peerRate(); ok {
		same, n, d := c.peerAgreement()
		lines = append(lines, fmt.Sprintf("ratio hfpipe/hugot=%.3f %s (hfpipe %.1f seq/s, hugot %.1f seq/s; first call %s/%s ms; peak rss %.0f/%.0f MiB; labels %d/%d, max |Δscore| %.2g; roofline fraction %s/%s)",
			g.Median/p.Median, c.tag(), g.Median, p.Median, num(1e3*c.Go.FirstCallSeconds), num(1e3*c.Peer.FirstCallSeconds),
			mib(c.Go.PeakRSSKiB), mib(c.Peer.PeakRSSKiB), same, n, d, frac(g.Median), frac(p.Median)))
	}
	p := c.pyRate()
	same, n, d := c.labelAgreement()
	l := fmt.Sprintf("ratio hfpipe/python=%.3f %s (hfpipe %.1f seq/s, python %.1f seq/s; first call %s/%s ms; peak rss %.0f/%.0f MiB; labels %d/%d, max |Δscore| %.2g; roofline fraction %s/%s",
		g.Median/p.Median, c.tag(), g.Median, p.Median, num(1e3*c.Go.FirstCallSeconds), num(1e3*c.Py.FirstCallSeconds),
		mib(c.Go.PeakRSSKiB), mib(c.Py.PeakRSSKiB), same, n, d, frac(g.Median), frac(p.Median))
	if aa, ok := c.aaE2E(); ok {
		l += fmt.Sprintf("; python B/A=%.3f", aa)
	}
	return append(append(lines, l+")"), r.fastRatioLines(c)...)
}

// hasPeer says whether any cell ran the peer.
func (r *report) hasPeer() bool {
	return slices.ContainsFunc(r.Cells, func(c *cellOut) bool { _, ok := c.peerRate(); return ok })
}

// peerTargets are issue 15's rows against the peer: hfpipe (the native
// model, exact: what it loads by default) ≥ 1.0× hugot in every cell,
// ≥ 1.2× at batch 1 × 16 tokens, and ≥ 1.1× Python everywhere; and its
// first call within 2× of its second.
func (r *report) peerTargets() [][3]string {
	var rows [][3]string
	if r.hasPeer() {
		var worst *cellOut
		lo := math.Inf(1)
		for _, c := range r.Cells {
			if q, ok := c.peerRatio(); ok && q < lo {
				worst, lo = c, q
			}
		}
		rows = append(rows, [3]string{"hfpipe ≥ 1.0× hugot (ONNX Runtime) end to end in every cell",
			fmt.Sprintf("lowest %.2f× (%s)", lo, worst.tag()), yesNo(lo >= 1.0)})
		var short []string
		okShort, have := true, false
		for _, c := range r.Cells {
			if q, ok := c.peerRatio(); ok && c.BS == 1 && c.Len == 16 {
				short = append(short, fmt.Sprintf("%.2f× (%s)", q, c.tag()))
				okShort, have = okShort && q >= 1.2, true
			}
		}
		if have {
			rows = append(rows, [3]string{"hfpipe ≥ 1.2× hugot at batch 1 × 16 tokens", strings.Join(short, ", "), yesNo(okShort)})
		}
	}
	if len(r.Cells) > 0 {
		lo, worst := math.Inf(1), (*cellOut)(nil)
		for _, c := range r.Cells {
			if q := c.goRate().Median / c.pyRate().Median; q < lo {
				worst, lo = c, q
			}
		}
		rows = append(rows, [3]string{"hfpipe ≥ 1.1× Python end to end in every cell", fmt.Sprintf("lowest %.2f× (%s)", lo, worst.tag()), yesNo(lo >= 1.1)})
		hi, worst := 0.0, (*cellOut)(nil)
		for _, c := range r.Cells {
			if c.Go.FirstCallSeconds > 0 && c.Go.SecondCallSeconds > 0 {
				if q := c.Go.FirstCallSeconds / c.Go.SecondCallSeconds; q > hi {
					worst, hi = c, q
				}
			}
		}
		if worst != nil {
			rows = append(rows, [3]string{"hfpipe's first call within 2× of its second (each cell's first two `Run` calls after the load)",
				fmt.Sprintf("highest %.2f× (%s: %s ms, then %s ms)", hi, worst.tag(), num(1e3*worst.Go.FirstCallSeconds), num(1e3*worst.Go.SecondCallSeconds)), yesNo(hi <= 2)})
		}
	}
	return rows
}

// peerSection is the report's three-contender table: hfpipe (the native
// model), hugot with ONNX Runtime, and Python's pipeline, per cell.
func (r *report) peerSection(w func(string, ...any)) {
	if !r.hasPeer() {
		return
	}
	info := peerInfo{Name: "hugot", ORT: "ONNX Runtime", ONNXExport: "(not recorded)"}
	if r.Peer != nil {
		info = *r.Peer
	}
	w("## hfpipe vs hugot (ONNX Runtime) vs Python\n\n")
	w("hugot: `hugot.NewPipeline(session, TextClassificationConfig{ModelPath: dir, OnnxFilename: %q, Options: {pipelines.WithSoftmax(), pipelines.WithSingleLabel()}})` with `hugot.NewORTSession(WithIntraOpNumThreads(threads), WithInterOpNumThreads(1))`, `RunPipeline(texts)` one call per batch (%s; %s; the ONNX file exported in the run's set-up by `bench/peer/export_onnx.py`: %s). ", onnxFile, info.Name, info.ORT, info.ONNXExport)
	w("hugot's own Rust tokenizer reads the same tokenizer.json; its scores are a softmax of the logits, as transformers' and hfpipe's (hugot's default for this head is a sigmoid). ")
	w("The hugot process takes its turns with the others (end to end only). Ratios are speed ratios, above 1: hfpipe is faster. *First call* is the latency of the first call after the load (a batch of the cell's shape), then the second. *Roofline* is each contender's time per batch against the cell's bound (see the next section). Agreement compares the first batch's results of hfpipe with hugot's.\n\n")
	w("| threads | batch | tokens | hfpipe seq/s | hugot seq/s | Python seq/s | hfpipe/hugot | hfpipe/Python | first + second call ms hfpipe / hugot / Python | load s hfpipe / hugot / Python | peak RSS MiB hfpipe / hugot / Python | roofline hfpipe / hugot / Python | labels hfpipe = hugot |\n")
	w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, c := range r.Cells {
		p, ok := c.peerRate()
		if !ok {
			continue
		}
		g, py := c.goRate(), c.pyRate()
		f := func(rate float64) string {
			if x, ok := r.fraction(c, rate); ok {
				return fmt.Sprintf("%.2f", x)
			}
			return "n/a"
		}
		fc := func(a, b float64) string { return num(1e3*a) + " + " + num(1e3*b) }
		same, n, d := c.peerAgreement()
		w("| %s | %d | %d | %s | %s | %s | **%.2f** | **%.2f** | %s / %s / %s | %.2f / %.2f / %.2f | %.0f / %.0f / %.0f | %s / %s / %s | %d/%d (max \\|Δscore\\| %.2g) |\n",
			c.threadsCol(), c.BS, c.Len, spread(g), spread(p), spread(py), g.Median/p.Median, g.Median/py.Median,
			fc(c.Go.FirstCallSeconds, c.Go.SecondCallSeconds), fc(c.Peer.FirstCallSeconds, c.Peer.SecondCallSeconds), fc(c.Py.FirstCallSeconds, c.Py.SecondCallSeconds),
			c.Go.LoadSeconds, c.Peer.LoadSeconds, c.Py.LoadSeconds,
			mib(c.Go.PeakRSSKiB), mib(c.Peer.PeakRSSKiB), mib(c.Py.PeakRSSKiB), f(g.Median), f(p.Median), f(py.Median), same, n, d)
	}
	w("\n")
}

// rooflineSection shows the machine's bounds and each cell's.
func (r *report) rooflineSection(w func(string, ...any)) {
	if r.Roofline == nil || r.Shape == nil || len(r.Roofline.Rows) == 0 {
		return
	}
	w("## Roofline\n\n")
	w("Measured in this run (`bench_python.py roofline`, before the cells): memory bandwidth, STREAM-like copy and triad over float32 arrays of %.0f MiB with torch's parallel kernels (best of 7; STREAM's byte counts, 2 and 3 arrays per element; the faster of the two is the bound), and the float32 GEMM peak, `torch.mm` of n × n matrices (best of 5 over n = 1024, 2048, 3072; 2n³ FLOPs).\n\n", r.Roofline.ArrayMiB)
	w("| threads | copy GB/s | triad GB/s | GEMM GFLOP/s (n) |\n| ---: | ---: | ---: | ---: |\n")
	for _, x := range r.Roofline.Rows {
		w("| %d | %.1f | %.1f | %.1f (%d) |\n", x.Threads, x.CopyGBs, x.TriadGBs, x.GEMMGFlops, x.GEMMN)
	}
	m := r.Shape
	w("\nA forward pass of b sequences of n tokens (DistilBERT, %d layers, dim %d, FFN %d) must at least read the weights it uses once, float32: every layer's matrices, biases and norms, the head, and the embedding rows of its tokens and positions (the unused rows of the %d-word table are not read); and do its multiply-adds: 2·b·n·%d·(4·d² + 2·d·FFN) in the linear layers, %d·b·4·n²·d in attention's two products, and the head's. ", m.Layers, m.Dim, m.Hidden, m.Vocab, m.Layers, m.Layers)
	w("Its time is at least the larger of bytes / bandwidth and FLOPs / GEMM peak (activations, softmax, GELU, layer norm and tokenization are left out, so a fraction of 1.0 cannot be reached). Each contender's fraction is that bound over its time per batch (batch size over its median throughput).\n\n")
	w("| threads | batch | tokens | weight MB read | GFLOP | bound ms | limit | hfpipe | hugot | Python |\n| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |\n")
	for _, c := range r.Cells {
		row, ok := r.Roofline.row(c.Threads)
		if !ok {
			continue
		}
		bytes, flops := m.work(c.BS, c.Len)
		b, limit := m.bound(c.BS, c.Len, row)
		f := func(rate float64) string {
			if x, ok := r.fraction(c, rate); ok {
				return fmt.Sprintf("%.2f", x)
			}
			return ""
		}
		hugot := ""
		if p, ok := c.peerRate(); ok {
			hugot = f(p.Median)
		}
		w("| %s | %d | %d | %.0f | %.2f | %s | %s | %s | %s | %s |\n", c.threadsCol(), c.BS, c.Len, bytes/1e6, flops/1e9, num(1e3*b), limit, f(c.goRate().Median), hugot, f(c.pyRate().Median))
	}
	w("\n")
}
