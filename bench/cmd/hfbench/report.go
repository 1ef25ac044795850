package main

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/hfpipe/hfpipe/bench"
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
}

// cellOut is one end-to-end cell, both sides.
type cellOut struct {
	BS      int          `json:"bs"`
	Len     int          `json:"len"`
	Forward bool         `json:"forward"`
	Go      cellResult   `json:"go"`
	GoPin   *cellResult  `json:"go_pinned,omitempty"` // the what-if run, goroutine locked to one OS thread
	Py      pyCellResult `json:"python"`
	GoChild child        `json:"go_child"`
	PyChild child        `json:"python_child"`
}

func (c *cellOut) goRate() bench.Summary {
	return bench.Summarize(bench.Rates(c.Go.E2E, float64(c.BS)))
}
func (c *cellOut) pyRate() bench.Summary {
	return bench.Summarize(bench.Rates(c.Py.E2E, float64(c.BS)))
}

// pinRate is the throughput of the what-if run with the thread pinned.
func (c *cellOut) pinRate() bench.Summary {
	return bench.Summarize(bench.Rates(c.GoPin.E2E, float64(c.BS)))
}

// forwardMS is the median and spread of the per-repetition mean forward latency.
func forwardMS(reps []bench.Rep) bench.Summary {
	ms := bench.MeanLatencies(reps)
	for i := range ms {
		ms[i] *= 1e3
	}
	return bench.Summarize(ms)
}

// hasForward says whether both sides timed the forward pass alone.
func (c *cellOut) hasForward() bool {
	return c.Go.Staged != nil && len(c.Go.Staged.Forward) > 0 && len(c.Py.Forward) > 0
}

// overhead is how much longer Go's forward pass (of st) takes than Python's.
func (c *cellOut) overhead(st *staged) float64 {
	return forwardMS(st.Forward).Median/forwardMS(c.Py.Forward).Median - 1
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
	lines := []string{fmt.Sprintf("ratio e2e bs=%d len=%d: go/python=%.2f (go %.1f seq/s, python %.1f seq/s; p50 %s/%s ms; peak rss %.0f/%.0f MiB)",
		c.BS, c.Len, g.Median/p.Median, g.Median, p.Median, num(latMS(c.Go.E2E, 0.5)), num(latMS(c.Py.E2E, 0.5)), mib(c.Go.PeakRSSKiB), mib(c.Py.PeakRSSKiB))}
	if c.hasForward() {
		gf, pf := forwardMS(c.Go.Staged.Forward), forwardMS(c.Py.Forward)
		lines = append(lines, fmt.Sprintf("ratio forward bs=%d len=%d: go/python=%.3f (go %s ms, python %s ms per forward; binding overhead %+.1f%%)",
			c.BS, c.Len, pf.Median/gf.Median, num(gf.Median), num(pf.Median), 100*c.overhead(c.Go.Staged)))
		med, share, total := stageMS(c.Go.Staged)
		lines = append(lines, fmt.Sprintf("ratio go-outside-forward bs=%d len=%d: share=%.2f%% of %s ms (tokenize %s, pad %s, tensors %s, output %s, postprocess %s ms)",
			c.BS, c.Len, 100*share, num(total), num(med["tokenize"]), num(med["pad"]), num(med["tensors"]), num(med["output"]), num(med["postprocess"])))
	}
	if c.GoPin != nil && c.GoPin.Staged != nil && len(c.Py.Forward) > 0 {
		q := c.pinRate()
		lines = append(lines, fmt.Sprintf("ratio whatif-pinned e2e bs=%d len=%d: go/python=%.2f (go %.1f seq/s with libtorch calls on one locked OS thread, python %.1f seq/s; forward overhead %+.1f%%)",
			c.BS, c.Len, q.Median/p.Median, q.Median, p.Median, 100*c.overhead(c.GoPin.Staged)))
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

// corpusOut is the bucketing case (Go only).
type corpusOut struct {
	BS      int          `json:"bs"`
	Go      corpusResult `json:"go"`
	GoChild child        `json:"go_child"`
}

func (c *corpusOut) rates() (b, u bench.Summary) {
	n := float64(c.Go.Texts)
	return bench.Summarize(bench.Rates(c.Go.Bucketed, n)), bench.Summarize(bench.Rates(c.Go.Unbucketed, n))
}

func (c *corpusOut) ratioLines() []string {
	b, u := c.rates()
	r := c.Go
	return []string{fmt.Sprintf("ratio corpus bucketing bs=%d: bucketed/unbucketed=%.2f (bucketed %.1f texts/s, unbucketed %.1f texts/s; labels %d/%d identical, scores %d/%d bitwise, max diff %.2g; input order %d/%d)",
		c.BS, b.Median/u.Median, b.Median, u.Median, r.LabelsEqual, r.Labels, r.ScoresBitwise, r.Labels, r.MaxScoreDiff, r.OrderOK, r.OrderChecked)}
}

// settings are the options a report's text depends on, kept in the raw
// results so that -render can write the report again.
type settings struct {
	Quick            bool          `json:"quick"`
	WaitQuiet        time.Duration `json:"wait_quiet_ns"`
	QuietLoad        float64       `json:"quiet_load"`
	Threads          int           `json:"threads"`
	Out              string        `json:"out"`
	Plot             string        `json:"plot"`
	ForwardMaxTokens int           `json:"forward_max_tokens"`
	PinnedMaxTokens  int           `json:"pinned_max_tokens"`
	PinnedGOMAXPROCS int           `json:"pinned_gomaxprocs"`
}

func settingsOf(c *config) settings {
	return settings{Quick: c.quick, WaitQuiet: c.waitQuiet, QuietLoad: c.quietLoad, Threads: c.threads, Out: c.out, Plot: c.plot,
		ForwardMaxTokens: c.forwardMaxTokens, PinnedMaxTokens: c.pinnedMaxTokens, PinnedGOMAXPROCS: c.pinnedGOMAXPROCS}
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
	Corpus    *corpusOut    `json:"corpus,omitempty"`
	PlotErr   string        `json:"plot_error,omitempty"`
}

func (r *report) ratioLines() []string {
	var out []string
	for _, c := range r.Cells {
		out = append(out, c.ratioLines()...)
	}
	if r.Tokenizer != nil {
		out = append(out, r.Tokenizer.ratioLines()...)
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

func (r *report) cell(bs, n int) *cellOut {
	for _, c := range r.Cells {
		if c.BS == bs && c.Len == n {
			return c
		}
	}
	return nil
}

// targets returns the targets as table rows: target, measured,
// verdict, and what the pinned-thread what-if measured ("" where not run).
func (r *report) targets() [][4]string {
	var rows [][4]string
	if len(r.Cells) > 0 {
		short := r.Cells[0]
		for _, c := range r.Cells {
			if c.BS == 1 && c.Len < short.Len || short.BS != 1 && c.BS == 1 {
				short = c
			}
		}
		ratio := func(c *cellOut) float64 { return c.goRate().Median / c.pyRate().Median }
		pinRatio := func(c *cellOut) float64 { return c.pinRate().Median / c.pyRate().Median }
		pinned := func(c *cellOut) bool { return c.GoPin != nil }
		var worst, worstPin *cellOut
		for _, c := range r.Cells {
			if c == short {
				continue
			}
			if worst == nil || ratio(c) < ratio(worst) {
				worst = c
			}
			if pinned(c) && (worstPin == nil || pinRatio(c) < pinRatio(worstPin)) {
				worstPin = c
			}
		}
		whatif := ""
		if pinned(short) {
			whatif = fmt.Sprintf("%.2f×", pinRatio(short))
		}
		rows = append(rows, [4]string{fmt.Sprintf("end to end ≥ 1.1× Python at batch 1, short texts (bs=%d len=%d)", short.BS, short.Len),
			fmt.Sprintf("%.2f×", ratio(short)), yesNo(ratio(short) >= 1.1), whatif})
		if worst != nil {
			whatif = ""
			if worstPin != nil {
				whatif = fmt.Sprintf("lowest %.2f× (bs=%d len=%d) over the cells it ran in", pinRatio(worstPin), worstPin.BS, worstPin.Len)
			}
			rows = append(rows, [4]string{"end to end ≥ 1.0× Python in every other cell",
				fmt.Sprintf("lowest %.2f× (bs=%d len=%d)", ratio(worst), worst.BS, worst.Len), yesNo(ratio(worst) >= 1.0), whatif})
		}
		var over, overPin []string
		maxO, maxP := math.Inf(-1), math.Inf(-1)
		for _, c := range r.Cells {
			if c.hasForward() {
				o := c.overhead(c.Go.Staged)
				maxO = math.Max(maxO, o)
				over = append(over, fmt.Sprintf("%+.1f%%", 100*o))
			}
			if c.GoPin != nil && c.GoPin.Staged != nil && len(c.Py.Forward) > 0 {
				o := c.overhead(c.GoPin.Staged)
				maxP = math.Max(maxP, o)
				overPin = append(overPin, fmt.Sprintf("%+.1f%%", 100*o))
			}
		}
		if len(over) > 0 {
			whatif = ""
			if len(overPin) > 0 {
				whatif = "per cell " + strings.Join(overPin, ", ") + fmt.Sprintf("; worst %+.1f%%", 100*maxP)
			}
			rows = append(rows, [4]string{"binding adds ≤ 2% to the forward pass", "per cell " + strings.Join(over, ", ") + fmt.Sprintf("; worst %+.1f%%", 100*maxO), yesNo(maxO <= 0.02), whatif})
		}
		if c := r.cell(32, 128); c != nil && c.Go.Staged != nil {
			_, share, _ := stageMS(c.Go.Staged)
			whatif = ""
			if c.GoPin != nil && c.GoPin.Staged != nil {
				_, sp, _ := stageMS(c.GoPin.Staged)
				whatif = fmt.Sprintf("%.2f%%", 100*sp)
			}
			rows = append(rows, [4]string{"Go's time outside forward ≤ 5% of the total (bs=32 len=128)", fmt.Sprintf("%.2f%%", 100*share), yesNo(share <= 0.05), whatif})
		}
	}
	if r.Corpus != nil {
		b, u := r.Corpus.rates()
		g := r.Corpus.Go
		q := b.Median / u.Median
		same := g.LabelsEqual == g.Labels && g.MaxScoreDiff <= 1e-6 && g.OrderOK == g.OrderChecked
		rows = append(rows, [4]string{"length-bucketing ≥ 1.5× on the mixed corpus, outputs identical (labels; scores equal or within 1e-6)",
			fmt.Sprintf("%.2f×; labels %d/%d, scores %d/%d bitwise, %d/%d within 1e-6 (max diff %.2g), order %d/%d", q, g.LabelsEqual, g.Labels, g.ScoresBitwise, g.Labels, g.ScoresWithin, g.Labels, g.MaxScoreDiff, g.OrderOK, g.OrderChecked),
			verdict(q >= 1.5, same), ""})
	}
	if r.Tokenizer != nil {
		gs, ps, _, _ := r.Tokenizer.rates()
		q := gs.Median / ps.Median
		rows = append(rows, [4]string{"Go tokenizer ≥ 1.0× Python tokenizers, single thread", fmt.Sprintf("%.2f×", q), yesNo(q >= 1.0), ""})
	}
	return rows
}

// verdict is the bucketing verdict: speed and output equality apart.
func verdict(fast, same bool) string {
	switch {
	case fast && same:
		return "**holds**"
	case fast:
		return "speed **holds**; identical outputs **fail** (see below)"
	case same:
		return "speed **fails**; outputs hold"
	}
	return "**fails**"
}

func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	c := r.Settings
	w("# hfpipe benchmarks: Go vs Python\n\n")
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
	w("\n- **Versions:** Go %s, libtorch %s (the venv's torch wheel, shared by both sides), Python %s, torch %s, transformers %s, tokenizers %s, numpy %s\n",
		r.Machine.GoVersion, r.Machine.Libtorch, r.Python.Python, r.Python.Torch, r.Python.Transformers, r.Python.Tokenizers, r.Python.Numpy)
	w("- **Threads:** %d libtorch intra-op threads on both sides (`torch.SetNumThreads(%d)` / `torch.set_num_threads(%d)`); Go GOMAXPROCS %d\n", c.Threads, c.Threads, c.Threads, r.Machine.Cores)
	w("- **Model:** random-initialised distilbert-base-uncased-finetuned-sst-2-english shape (6 layers, dim 768, 66M parameters, real uncased vocabulary) from `third_party/tools/make_model.py` (default arguments) + `export.py --head sequence-classification`, in `%s`\n", relPath(r.Model))
	w("- **Timing:** every case runs in its own process per side (Go: a child of hfbench; Python: third_party/tools/bench_python.py). The processes of one end-to-end cell (Go, the Go what-if where run, Python) live side by side and take turns, repetition by repetition, each repetition starting with another process, so that background load on a busy machine hits them alike; a process waiting for its turn is idle. Each first makes %d untimed warm-up calls of the exact shape (TorchScript's profiling executor specialises on its first calls of a shape; the Python pipeline warms the same way), then %d repetitions, each of at least %.2g s and one call, starting with one untimed call when calls are shorter than 0.5 s (the other processes ran in between). Throughputs are the median over repetitions with the min–max range in brackets; latency percentiles pool every timed call (with few calls, p99 is close to the maximum). Peak RSS is VmHWM/`ru_maxrss` of each side's process right after its end-to-end phase.\n",
		r.Plan.Warmup, r.Plan.Reps, r.Plan.RepSeconds)
	w("- **Ratios** are speed ratios: above 1 means Go is faster.\n\n")

	if rows := r.targets(); len(rows) > 0 {
		w("## Targets\n\n")
		w("*Measured* is hfpipe as it is. *What-if* is the same Go code in a process of its own whose goroutine is locked to its OS thread from the start (`runtime.LockOSThread`), so that every libtorch call comes from one thread and so one OpenMP thread pool: what the proposed binding change (see the notes at the end) would give.\n\n")
		w("| target | measured | verdict | what-if: one libtorch thread |\n| --- | --- | --- | --- |\n")
		for _, row := range rows {
			w("| %s | %s | %s | %s |\n", row[0], row[1], row[2], row[3])
		}
		w("\n")
	}

	if len(r.Cells) > 0 {
		w("## Sentiment analysis end to end\n\n")
		w("Go: `pipeline.NewTextClassification(WithModel(dir), WithBatchSize(bs)).Run(ctx, texts...)`, one call per batch (TorchScript through the binding). ")
		w("Python: `transformers.pipeline(\"sentiment-analysis\", model=dir)(texts, batch_size=bs, truncation=True)` (eager PyTorch, what users run). ")
		w("Every text of a cell has exactly `tokens` tokens, so neither side pads. Latencies are per batch call. ")
		w("*Go pinned* is the what-if run (a Go process of its own whose goroutine is locked to one OS thread from the start), measured in cells of at most %d tokens per batch.\n\n", c.PinnedMaxTokens)
		w("| batch | tokens | Go seq/s | Python seq/s | Go/Python | Go p50 / p99 ms | Python p50 / p99 ms | Go peak RSS MiB | Python peak RSS MiB | Go pinned seq/s | pinned/Python | labels Go = Python |\n")
		w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, cl := range r.Cells {
			g, p := cl.goRate(), cl.pyRate()
			same, n, d := cl.labelAgreement()
			pin, pinQ := "", ""
			if cl.GoPin != nil {
				q := cl.pinRate()
				pin, pinQ = spread(q), fmt.Sprintf("%.2f", q.Median/p.Median)
			}
			w("| %d | %d | %s | %s | **%.2f** | %s / %s | %s / %s | %.0f | %.0f | %s | %s | %d/%d (max score diff %.2g) |\n", cl.BS, cl.Len, spread(g), spread(p), g.Median/p.Median,
				num(latMS(cl.Go.E2E, 0.5)), num(latMS(cl.Go.E2E, 0.99)), num(latMS(cl.Py.E2E, 0.5)), num(latMS(cl.Py.E2E, 0.99)),
				mib(cl.Go.PeakRSSKiB), mib(cl.Py.PeakRSSKiB), pin, pinQ, same, n, d)
		}
		w("\n![throughput](%s)\n\n", relTo(c.Out, c.Plot))

		w("## Forward pass alone (binding overhead)\n\n")
		w("The same TorchScript file on both sides: Go `torch.Module.Forward` (cgo, IValue in/out, under `c10::InferenceMode`) vs Python `torch.jit.load(...)(*inputs)` under `torch.inference_mode()`; mean ms per forward, median over repetitions (min–max). Measured in cells of at most %d tokens per batch (the binding's own cost is per call, so small cells show it best).\n\n", c.ForwardMaxTokens)
		w("| batch | tokens | Go ms | Python ms | Go/Python speed | binding overhead | Go pinned ms | overhead pinned |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, cl := range r.Cells {
			if !cl.hasForward() {
				continue
			}
			gf, pf := forwardMS(cl.Go.Staged.Forward), forwardMS(cl.Py.Forward)
			pin, pinO := "", ""
			if cl.GoPin != nil && cl.GoPin.Staged != nil {
				pin, pinO = spread(forwardMS(cl.GoPin.Staged.Forward)), fmt.Sprintf("%+.1f%%", 100*cl.overhead(cl.GoPin.Staged))
			}
			w("| %d | %d | %s | %s | %.3f | **%+.1f%%** | %s | %s |\n", cl.BS, cl.Len, spread(gf), spread(pf), pf.Median/gf.Median, 100*cl.overhead(cl.Go.Staged), pin, pinO)
		}
		w("\n## Where Go's time goes\n\n")
		w("The pipeline's steps run one by one (same code as `Run`): tokenize (`pipeline.Preprocess`), pad (`Tokenizer.Pad`), tensors (`torch.FromSlice` of ids and mask), forward (`Module.Forward`), output (`torch.ToSlice` of the logits, Close), postprocess (`Postprocess`). Median ms per call; the share outside forward is summed over all timed calls.\n\n")
		w("| batch | tokens | tokenize | pad | tensors | forward | output | postprocess | outside forward | `Run` p50 ms |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, cl := range r.Cells {
			if cl.Go.Staged == nil {
				continue
			}
			med, share, _ := stageMS(cl.Go.Staged)
			w("| %d | %d | %s | %s | %s | %s | %s | %s | **%.2f%%** | %s |\n", cl.BS, cl.Len, num(med["tokenize"]), num(med["pad"]), num(med["tensors"]), num(med["forward"]),
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

	if co := r.Corpus; co != nil {
		g := co.Go
		bu, un := co.rates()
		w("## Mixed-length corpus: length-bucketing\n\n")
		w("%d review-like texts (%d tokens; %s, in random order) read from a file, one a line, and classified by one `Run` call at batch size %d, with bucketing (default: sorted by length, longest first, results put back in input order) and with `WithoutBucketing()`; %d repetition(s), the two alternating, after a warm-up of both on the head of the file. Go only (transformers' pipeline does not sort by length).\n\n",
			g.Texts, g.Tokens, bench.CorpusMix, co.BS, len(g.Bucketed))
		w("| run | texts/s | tokens computed (padding included) |\n| --- | ---: | ---: |\n")
		w("| bucketed | %s | %d |\n| unbucketed | %s | %d |\n| **bucketed/unbucketed** | **%.2f** | %.2f |\n\n", spread(bu), g.PaddedBucketed, spread(un), g.PaddedUnbucketed, bu.Median/un.Median, float64(g.PaddedUnbucketed)/float64(g.PaddedBucketed))
		w("Outputs: labels %d/%d identical; scores %d/%d bitwise identical, max |diff| %.2g (a row padded to another length goes through other matrix shapes, so the last bits may move); input order: %d/%d sampled texts classified alone match the result at their index in both runs (max |diff| %.2g).\n\n",
			g.LabelsEqual, g.Labels, g.ScoresBitwise, g.Labels, g.MaxScoreDiff, g.OrderOK, g.OrderChecked, g.OrderMaxDiff)
	}

	if len(r.Cells) > 0 {
		w("## Notes: where the Go side loses\n\n")
		w("Everything outside the forward pass costs well under 1%% of a call (table above), and the binding's own work per call is a few microseconds, so the end-to-end ratios follow the forward-pass ratios: some per cent of overhead on small shapes, none measurable on large ones. Both causes found are about threads:\n\n")
		w("1. **OpenMP pools.** libtorch parallelises with OpenMP (the torch wheel's libgomp), which keeps one pool of worker threads per calling thread. Python always calls from its main thread; a goroutine may resume on another OS thread after any blocking point (a channel, I/O, the tokenizer's worker goroutines), so successive forward passes start their parallel regions from different threads and the process accumulates pools whose idle workers compete with the active ones for the cores. The *pinned* what-if (goroutine locked to one OS thread from the start) removes this part")
		if c.PinnedGOMAXPROCS > 0 {
			w(" (in this run the what-if process also had GOMAXPROCS=%d, see 2)", c.PinnedGOMAXPROCS)
		}
		w(".\n")
		w("2. **The Go runtime waking up during the forward pass.** While a goroutine sits in a long cgo call its P stays in the syscall state; with another P idle, the scheduler's monitor thread (sysmon) does not take it back for 10 ms but keeps polling, every 20 µs at first; with every core busy in libtorch, each wake-up preempts a compute thread in the middle of a parallel region while the other waits at the barrier. Python has no such thread. Running the what-if with GOMAXPROCS=1 (`hfbench -pinned-gomaxprocs 1`: sysmon takes the only P back at once and then sleeps) brings the forward pass level with Python's.\n\n")
		w("Proposed change (torch package and C shim, outside bench/): run libtorch's compute on one persistent thread owned by the shim (fixes 1), and let the calling goroutine wait for it through the netpoller (the shim signals an eventfd that Go reads through an `os.File`) rather than inside a blocking cgo call, so that no P is held while libtorch computes (addresses 2). A smaller first step that fixes 1 alone: one executor goroutine, locked to its OS thread for its lifetime, running every libtorch call that can start parallel work (`Module.Forward`, `Tensor.To`/`ToDType`/`Contiguous`, and `SetNumThreads` so that it applies to that thread), fed through a channel.\n\n")
	}
	w("## Ratio lines\n\n```\n%s\n```\n", strings.Join(r.ratioLines(), "\n"))
	if r.PlotErr != "" {
		w("\nThe plot failed: %s\n", r.PlotErr)
	}
	return b.String()
}

// relPath shows p relative to the repository root where it lies inside it.
func relPath(p string) string {
	if rel, err := filepath.Rel(bench.RepoRoot(), p); err == nil && !strings.HasPrefix(rel, "..") {
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
