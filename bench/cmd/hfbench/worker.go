package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/hfpipe/hfpipe/bench"
	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/pipeline"
	"github.com/hfpipe/hfpipe/torch"
)

// The Go side runs in child processes of hfbench (`hfbench -worker MODE
// -job JOB.json -result OUT.json`), one per case, so that each has a clean
// peak RSS and its own libtorch state, as each Python run has.

// The loaders a Go cell process can run the model with (cellJob.Loader).
const (
	// loaderNative: the model's safetensors run natively (C++ over ATen in
	// the shim), what hf and pipeline load by default.
	loaderNative = "native"
	// loaderTorchScript: the folder's TorchScript export (hf.WithTorchScript).
	loaderTorchScript = "torchscript"
	// loaderFast: the native model in fast mode (hf.WithFast).
	loaderFast = "fast"
)

// loaderOptions are the hf options that select loader; an error for an
// unknown one.
func loaderOptions(loader string) ([]hf.Option, error) {
	switch loader {
	case loaderNative, "":
		return nil, nil
	case loaderTorchScript:
		return []hf.Option{hf.WithTorchScript()}, nil
	case loaderFast:
		return []hf.Option{hf.WithFast()}, nil
	}
	return nil, fmt.Errorf("unknown loader %q (want %s, %s or %s)", loader, loaderNative, loaderTorchScript, loaderFast)
}

// cellJob is one (batch size, text length) cell of the end-to-end grid.
type cellJob struct {
	Model   string `json:"model"`
	Threads int    `json:"threads"`
	// Loader is how the Go side loads the model: loaderNative ("" too) or
	// loaderTorchScript. Both phases (end to end and forward alone) use it.
	Loader string     `json:"loader"`
	BS     int        `json:"bs"`
	Texts  []string   `json:"texts"` // a multiple of BS; call k takes batch k mod (len/BS)
	Plan   bench.Plan `json:"plan"`
	// RewarmBelow: a repetition starts with one untimed call when the
	// previous calls took less than this many seconds, since the other
	// processes of the cell ran in between and left the caches cold.
	RewarmBelow float64 `json:"rewarm_below"`
}

// callStats is what a module's forward counters (torch.Module.Stats) grew
// by during one timed repetition: the time inside libtorch's forward
// (measured by the shim around the module's forward) and the time the Go
// caller spent in Module.Forward, for the same calls.
type callStats struct {
	Forwards       int64   `json:"forwards"`
	ComputeSeconds float64 `json:"compute_seconds"`
	CallSeconds    float64 `json:"call_seconds"`
}

func statsDelta(before, after torch.ModuleStats) callStats {
	return callStats{Forwards: after.Forwards - before.Forwards,
		ComputeSeconds: (after.ComputeTime - before.ComputeTime).Seconds(),
		CallSeconds:    (after.CallTime - before.CallTime).Seconds()}
}

// stageNames are the steps of one pipeline call, as the staged loop times them.
var stageNames = []string{"tokenize", "pad", "tensors", "forward", "output", "postprocess"}

// staged is what the staged loop measured.
type staged struct {
	Forward []bench.Rep `json:"forward"` // the forward stage's latencies, per repetition
	// ForwardStats is the forward module's counters per repetition, as Forward.
	ForwardStats []callStats          `json:"forward_stats"`
	Stages       map[string][]float64 `json:"stages"` // seconds per timed call
	Same         bool                 `json:"same"`   // its first results equal Run's
}

// cellResult is what the Go side of a cell measured, with one loader.
type cellResult struct {
	// Loader is the job's loader; Source what ran (hf.Model.Source: "native
	// distilbert (sdpa attention)", "TorchScript export ..."). Both are
	// empty in the results of a run before native models.
	Loader string `json:"loader,omitempty"`
	Source string `json:"source,omitempty"`
	// Kernels is the fast-mode kernel set the model ran (hf.Model.Fast;
	// empty: exact mode, or a run from before it was recorded).
	Kernels     string      `json:"kernels,omitempty"`
	Threads     int         `json:"threads"`
	LoadSeconds float64     `json:"load_seconds"`
	E2E         []bench.Rep `json:"e2e"`
	E2EStats    []callStats `json:"e2e_stats"`    // the pipeline model's counters per repetition, as E2E
	PeakRSSKiB  int64       `json:"peak_rss_kb"`  // at "mark": after the end-to-end loop, before anything else loads
	MallocTuned bool        `json:"malloc_tuned"` // torch.MallocTuned after SetMemoryReuse and the model load
	// FirstCallSeconds is the latency of the pipeline's first Run, right
	// after the load (the first warm-up call).
	FirstCallSeconds float64 `json:"first_call_seconds"`
	// SecondCallSeconds is the second Run's latency (same shape).
	SecondCallSeconds float64           `json:"second_call_seconds"`
	FirstResults      []pipeline.Result `json:"first_results"`
	Staged            *staged           `json:"staged,omitempty"`
	// Paired is the native process's in-process comparison with the
	// TorchScript export (the "pair" phase); nil in the other processes.
	Paired *paired `json:"paired,omitempty"`
}

// paired is what the pair phase measured: one process holding the native
// model and the TorchScript export, the two forward passes of each call
// on the same batch back to back, in alternating order, so that what the
// machine does meanwhile falls on both alike; seconds per forward pass,
// index i of both slices from the same call.
type paired struct {
	Native      []float64 `json:"native"`
	TorchScript []float64 `json:"torchscript"`
	Same        bool      `json:"same"` // the first batch's logits bit for bit equal
}

// The cell protocol. hfbench drives the processes of one cell (Go and two
// identical Python ones: bench_python.py speaks the same protocol) in step, so
// that they take turns repetition by repetition and background load on a
// busy machine hits them alike. Commands come one a line on stdin, each
// answered by one line on stdout, "ok" or "error: ...":
//
//	(the child says "ready" once loaded)
//	warm PHASE   Plan.Warmup untimed calls; PHASE is e2e (the pipeline)
//	             or fwd (the forward pass alone: Go times the pipeline's
//	             steps one by one, with a second model of the job's
//	             loader; Python the TorchScript module)
//	rep PHASE    one timed repetition
//	             (Go's native process also has the phase pair: its native
//	             model and the TorchScript export, forward passes alone,
//	             back to back on each batch in alternating order)
//	mark         record the peak RSS (after the e2e phase)
//	done         write the result file; the child then exits
type cellServer struct {
	ctx     context.Context
	job     cellJob
	p       *pipeline.TextClassification
	opts    []hf.Option  // the loader's
	mod     *hf.Model    // the forward-alone phase's model, loaded on its first call
	pair    [2]*hf.Model // the pair phase's native model and TorchScript export, loaded on its first call
	batches [][]string
	res     *cellResult
	k       map[string]int
	last    map[string]float64 // latency of the last call per phase
	// recording is set during timed repetitions, when stage times are kept.
	recording bool
}

func serveCell(ctx context.Context, job cellJob, in io.Reader, out io.Writer, resultPath string) error {
	if err := torch.SetNumThreads(job.Threads); err != nil {
		return err
	}
	if err := torch.SetMemoryReuse(true); err != nil {
		return err
	}
	if len(job.Texts) == 0 || len(job.Texts)%job.BS != 0 {
		return fmt.Errorf("cell: %d texts is not a positive multiple of batch size %d", len(job.Texts), job.BS)
	}
	opts, err := loaderOptions(job.Loader)
	if err != nil {
		return err
	}
	s := &cellServer{ctx: ctx, job: job, opts: opts, k: map[string]int{}, last: map[string]float64{}}
	for i := 0; i < len(job.Texts); i += job.BS {
		s.batches = append(s.batches, job.Texts[i:i+job.BS])
	}
	t0 := time.Now()
	s.p, err = pipeline.NewTextClassification(ctx, pipeline.WithModel(job.Model), pipeline.WithBatchSize(job.BS), pipeline.WithHF(opts...))
	if err != nil {
		return err
	}
	defer s.p.Close()
	defer func() { s.mod.Close() }() // nil-safe
	defer func() {
		for _, m := range s.pair {
			m.Close()
		}
	}()
	if err := checkLoader(s.p.Model.Model, job.Loader); err != nil {
		return err
	}
	s.res = &cellResult{Loader: job.Loader, Source: s.p.Model.Source(), Kernels: string(s.p.Model.Fast()), Threads: torch.NumThreads(), LoadSeconds: time.Since(t0).Seconds(), MallocTuned: torch.MallocTuned()}
	fmt.Fprintln(out, "ready")
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		var err error
		switch {
		case f[0] == "warm" && len(f) == 2:
			err = s.warm(f[1])
		case f[0] == "rep" && len(f) == 2:
			err = s.rep(f[1])
		case f[0] == "mark":
			s.res.PeakRSSKiB = bench.PeakRSSKiB()
		case f[0] == "done":
			data, err := json.Marshal(s.res)
			if err == nil {
				err = os.WriteFile(resultPath, data, 0o644)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(out, "ok")
			return nil
		default:
			err = fmt.Errorf("unknown command %q", sc.Text())
		}
		if err != nil {
			fmt.Fprintln(out, "error:", strings.ReplaceAll(err.Error(), "\n", " "))
			return err
		}
		fmt.Fprintln(out, "ok")
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return errors.New("cell: stdin closed before done")
}

// checkLoader makes sure m is what loader asks for, so that a model that
// falls back to the other loader is not timed under the wrong name.
func checkLoader(m *hf.Model, loader string) error {
	if want := loader != loaderTorchScript; m.Native() != want {
		return fmt.Errorf("cell: loader %q, but the model runs %s", loader, m.Source())
	}
	if want := loader == loaderFast; (m.Fast() != torch.FastOff) != want {
		return fmt.Errorf("cell: loader %q, but the model runs fast-mode kernels %q", loader, m.Fast())
	}
	return nil
}

// call makes one call of a phase and returns the latency that phase times.
func (s *cellServer) call(phase string) (float64, error) {
	batch := s.batches[s.k[phase]%len(s.batches)]
	first := s.k[phase] == 0
	s.k[phase]++
	var lat float64
	switch phase {
	case "e2e":
		t0 := time.Now()
		out, err := s.p.Run(s.ctx, batch...)
		lat = time.Since(t0).Seconds()
		if err != nil {
			return 0, err
		}
		if len(out) != s.job.BS {
			return 0, fmt.Errorf("cell: %d results for %d texts", len(out), s.job.BS)
		}
		if s.k[phase] == 2 {
			s.res.SecondCallSeconds = lat
		}
		if first {
			s.res.FirstCallSeconds = lat
			for _, r := range out {
				s.res.FirstResults = append(s.res.FirstResults, r[0])
			}
		}
	case "fwd":
		if s.mod == nil {
			// The forward pass through the binding's Module.Forward, of
			// the same loader as the pipeline's: a model of its own
			// (counters of its own), warmed like the pipeline's.
			m, err := hf.LoadModel(s.ctx, s.p.Model.Dir, s.p.Model.Head(), s.opts...)
			if err != nil {
				return 0, err
			}
			s.mod = m
			if err := checkLoader(m, s.job.Loader); err != nil {
				return 0, err
			}
			s.res.Staged = &staged{Stages: map[string][]float64{}}
		}
		d, results, err := stagedCall(s.ctx, s.p, s.mod, batch)
		if err != nil {
			return 0, err
		}
		if first {
			st := s.res.Staged
			st.Same = len(results) == len(s.res.FirstResults)
			for i := range results {
				st.Same = st.Same && results[i][0] == s.res.FirstResults[i]
			}
		}
		if s.recording {
			for i, name := range stageNames {
				s.res.Staged.Stages[name] = append(s.res.Staged.Stages[name], d[i])
			}
		}
		lat = d[3]
	case "pair":
		d, err := s.pairCall(batch, first)
		if err != nil {
			return 0, err
		}
		lat = d[0] + d[1]
	default:
		return 0, fmt.Errorf("unknown phase %q", phase)
	}
	s.last[phase] = lat
	return lat, nil
}

func (s *cellServer) warm(phase string) error {
	for range s.job.Plan.Warmup {
		if _, err := s.call(phase); err != nil {
			return err
		}
	}
	return nil
}

func (s *cellServer) rep(phase string) error {
	if s.last[phase] < s.job.RewarmBelow {
		if _, err := s.call(phase); err != nil {
			return err
		}
	}
	if phase == "pair" {
		// A pair is two forward passes and its ratio is the figure the
		// phase is for: three times the other phases' repetition length,
		// so that cells of one or two pairs per repetition get more.
		plan := s.job.Plan
		plan.RepSeconds *= pairRepFactor
		s.recording = true
		_, err := bench.RunRep(plan, func() (float64, error) { return s.call(phase) })
		s.recording = false
		return err
	}
	stats := func() torch.ModuleStats {
		if phase == "fwd" {
			if s.mod == nil { // loaded by the first call: its counters start at zero
				return torch.ModuleStats{}
			}
			return s.mod.Stats()
		}
		return s.p.Model.Stats()
	}
	before := stats()
	s.recording = true
	r, err := bench.RunRep(s.job.Plan, func() (float64, error) { return s.call(phase) })
	s.recording = false
	if err != nil {
		return err
	}
	d := statsDelta(before, stats())
	if d.Forwards != int64(r.Calls) {
		return fmt.Errorf("cell: %d forward passes counted in a repetition of %d calls", d.Forwards, r.Calls)
	}
	switch phase {
	case "e2e":
		s.res.E2E = append(s.res.E2E, r)
		s.res.E2EStats = append(s.res.E2EStats, d)
	case "fwd":
		s.res.Staged.Forward = append(s.res.Staged.Forward, r)
		s.res.Staged.ForwardStats = append(s.res.Staged.ForwardStats, d)
	}
	return nil
}

// pairRepFactor is the pair phase's repetition length over the other
// phases'.
const pairRepFactor = 3

// pairCall runs batch through the pair phase's native model and
// TorchScript export, forward passes alone, native first on even calls,
// and returns their seconds (native, TorchScript); while recording, it
// keeps them in the result. The first call loads both and records whether
// their logits agree bit for bit (the same ATen operations on the same
// weights: a difference would mean the timing compares different work).
func (s *cellServer) pairCall(batch []string, first bool) ([2]float64, error) {
	var d [2]float64
	if s.job.Loader != loaderNative && s.job.Loader != "" {
		return d, fmt.Errorf("cell: the pair phase runs in the native process, not the %s one", s.job.Loader)
	}
	if s.pair[0] == nil {
		for i, opts := range [][]hf.Option{nil, {hf.WithTorchScript()}} {
			m, err := hf.LoadModel(s.ctx, s.job.Model, s.p.Model.Head(), opts...)
			if err != nil {
				return d, err
			}
			s.pair[i] = m
		}
		if err := checkLoader(s.pair[0], loaderNative); err != nil {
			return d, err
		}
		if err := checkLoader(s.pair[1], loaderTorchScript); err != nil {
			return d, err
		}
		s.res.Paired = &paired{}
	}
	maxLen := min(s.p.Tokenizer.ModelMaxLength(), s.p.Model.MaxLength())
	encs, err := pipeline.Preprocess(s.ctx, s.p.Tokenizer, batch, nil, maxLen)
	if err != nil {
		return d, err
	}
	b, err := s.p.Tokenizer.Pad(encs, tokenizer.Options{})
	if err != nil {
		return d, err
	}
	var logits [2][]float32
	order := []int{0, 1}
	if s.k["pair"]%2 == 0 { // s.k counts this call already
		order = []int{1, 0}
	}
	for _, i := range order {
		inputs, err := s.pair[i].Inputs(b)
		if err != nil {
			return d, err
		}
		t0 := time.Now()
		o, err := s.pair[i].ForwardTensors(s.ctx, inputs...)
		d[i] = time.Since(t0).Seconds()
		torch.CloseValue(torch.Tuple(inputs))
		if err != nil {
			return d, err
		}
		if logits[i], err = logitsOf(s.pair[i], o); err != nil {
			return d, err
		}
	}
	if first {
		s.res.Paired.Same = slices.Equal(logits[0], logits[1])
	}
	if s.recording {
		s.res.Paired.Native = append(s.res.Paired.Native, d[0])
		s.res.Paired.TorchScript = append(s.res.Paired.TorchScript, d[1])
	}
	return d, nil
}

// logitsOf returns the values of mod's forward output o, which must be one
// tensor, and frees o.
func logitsOf(mod *hf.Model, o torch.Value) ([]float32, error) {
	lt, ok := o.(*torch.Tensor)
	if !ok {
		torch.CloseValue(o)
		return nil, fmt.Errorf("cell: %s returned %T, want a tensor", mod.Source(), o)
	}
	defer lt.Close()
	return torch.ToSlice[float32](lt)
}

// stagedCall runs the pipeline's steps one by one, as Run does, and returns
// the seconds of each (stageNames order: tokenize, pad, tensors, forward
// through mod's Module.Forward, output, postprocess) and the results.
func stagedCall(ctx context.Context, p *pipeline.TextClassification, mod *hf.Model, batch []string) ([]float64, [][]pipeline.Result, error) {
	maxLen := min(p.Tokenizer.ModelMaxLength(), p.Model.MaxLength())
	t := [7]time.Time{time.Now()}
	encs, err := pipeline.Preprocess(ctx, p.Tokenizer, batch, nil, maxLen)
	if err != nil {
		return nil, nil, err
	}
	t[1] = time.Now()
	b, err := p.Tokenizer.Pad(encs, tokenizer.Options{})
	if err != nil {
		return nil, nil, err
	}
	t[2] = time.Now()
	inputs, err := mod.Inputs(b)
	if err != nil {
		return nil, nil, err
	}
	defer torch.CloseValue(torch.Tuple(inputs))
	t[3] = time.Now()
	o, err := mod.ForwardTensors(ctx, inputs...)
	if err != nil {
		return nil, nil, err
	}
	t[4] = time.Now()
	logits, err := logitsOf(mod, o)
	if err != nil {
		return nil, nil, err
	}
	t[5] = time.Now()
	results := p.Postprocess(logits)
	t[6] = time.Now()
	d := make([]float64, len(stageNames))
	for i := range d {
		d[i] = t[i+1].Sub(t[i]).Seconds()
	}
	return d, results, nil
}

// tokenizerJob times the Go tokenizer on a list of texts.
type tokenizerJob struct {
	Model   string     `json:"model"`
	Threads int        `json:"threads"`
	Texts   []string   `json:"texts"`
	Plan    bench.Plan `json:"plan"`
}

type tokenizerResult struct {
	Tokens int         `json:"tokens"`
	Texts  int         `json:"texts"`
	Single []bench.Rep `json:"single"` // Encode, one text at a time, GOMAXPROCS=1
	Batch  []bench.Rep `json:"batch"`  // EncodeBatch of all texts, GOMAXPROCS=threads
}

func runTokenizer(ctx context.Context, job tokenizerJob) (*tokenizerResult, error) {
	tok, err := tokenizer.FromFolder(job.Model)
	if err != nil {
		return nil, err
	}
	res := &tokenizerResult{Texts: len(job.Texts)}
	for _, s := range job.Texts {
		res.Tokens += len(tok.Encode(s).IDs)
	}
	runtime.GOMAXPROCS(1)
	res.Single, err = bench.Measure(job.Plan, func() error {
		for _, s := range job.Texts {
			tok.Encode(s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	runtime.GOMAXPROCS(job.Threads)
	res.Batch, err = bench.Measure(job.Plan, func() error {
		_, err := tok.EncodeBatch(ctx, job.Texts, tokenizer.Options{})
		return err
	})
	for _, reps := range [][]bench.Rep{res.Single, res.Batch} {
		for i := range reps {
			reps[i].Latencies = nil
		}
	}
	return res, err
}

// corpusJob classifies a file of texts, one a line, with and without
// length-bucketing.
type corpusJob struct {
	Model       string `json:"model"`
	Threads     int    `json:"threads"`
	BS          int    `json:"bs"`
	File        string `json:"file"`
	Reps        int    `json:"reps"`
	WarmupTexts int    `json:"warmup_texts"`
	// Deadline (Unix seconds, 0: none): a repetition after the first is
	// started only if the previous one's duration fits before it.
	Deadline    float64 `json:"deadline"`
	OrderSample int     `json:"order_sample"`
	// HeadTexts: the results of this many texts at the head of the file,
	// both runs, go into the result for comparison with Python's.
	HeadTexts int `json:"head_texts"`
}

type corpusResult struct {
	Texts            int         `json:"texts"`
	Tokens           int         `json:"tokens"`
	PaddedBucketed   int         `json:"padded_bucketed"`   // tokens the model sees, padding included
	PaddedUnbucketed int         `json:"padded_unbucketed"` // same, batches in input order
	Bucketed         []bench.Rep `json:"bucketed"`
	Unbucketed       []bench.Rep `json:"unbucketed"`
	Labels           int         `json:"labels"`
	LabelsEqual      int         `json:"labels_equal"`
	ScoresBitwise    int         `json:"scores_bitwise"`
	ScoresWithin     int         `json:"scores_within_1e-6"`
	MaxScoreDiff     float64     `json:"max_score_diff"`
	OrderChecked     int         `json:"order_checked"` // texts classified alone and compared at their index
	OrderOK          int         `json:"order_ok"`
	OrderMaxDiff     float64     `json:"order_max_diff"`
	// HeadBucketed and HeadUnbucketed are the results of the first
	// HeadTexts texts in both runs (hfbench compares them with Python's).
	HeadBucketed   []pipeline.Result `json:"head_bucketed,omitempty"`
	HeadUnbucketed []pipeline.Result `json:"head_unbucketed,omitempty"`
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out, sc.Err()
}

// paddedTokens is what the model computes over when the inputs of the given
// lengths go through in batches of bs, sorted longest first or in order
// (the pipeline's batchOrder).
func paddedTokens(lengths []int, bs int, bucket bool) int {
	l := slices.Clone(lengths)
	if bucket && len(l) > bs {
		slices.SortStableFunc(l, func(a, b int) int { return b - a })
	}
	total := 0
	for s := 0; s < len(l); s += bs {
		total += slices.Max(l[s:min(s+bs, len(l))]) * (min(s+bs, len(l)) - s)
	}
	return total
}

func runCorpus(ctx context.Context, job corpusJob) (*corpusResult, error) {
	if err := torch.SetNumThreads(job.Threads); err != nil {
		return nil, err
	}
	if err := torch.SetMemoryReuse(true); err != nil {
		return nil, err
	}
	open := func(opts ...pipeline.Option) (*pipeline.TextClassification, error) {
		return pipeline.NewTextClassification(ctx, append([]pipeline.Option{pipeline.WithModel(job.Model), pipeline.WithBatchSize(job.BS)}, opts...)...)
	}
	withB, err := open()
	if err != nil {
		return nil, err
	}
	defer withB.Close()
	without, err := open(pipeline.WithoutBucketing())
	if err != nil {
		return nil, err
	}
	defer without.Close()

	texts, err := readLines(job.File)
	if err != nil {
		return nil, err
	}
	res := &corpusResult{Texts: len(texts)}
	maxLen := min(withB.Tokenizer.ModelMaxLength(), withB.Model.MaxLength())
	encs, err := pipeline.Preprocess(ctx, withB.Tokenizer, texts, nil, maxLen)
	if err != nil {
		return nil, err
	}
	lengths := make([]int, len(encs))
	for i := range encs {
		lengths[i] = len(encs[i].IDs)
		res.Tokens += lengths[i]
	}
	res.PaddedBucketed = paddedTokens(lengths, job.BS, true)
	res.PaddedUnbucketed = paddedTokens(lengths, job.BS, false)

	// Warm both modules on the head of the corpus (several shapes).
	warm := texts[:min(job.WarmupTexts, len(texts))]
	for _, p := range []*pipeline.TextClassification{withB, without} {
		if _, err := p.Run(ctx, warm...); err != nil {
			return nil, err
		}
	}
	// Classify the whole file, reading it each time; alternate the two
	// pipelines so that machine noise hits both alike.
	classify := func(p *pipeline.TextClassification) ([][]pipeline.Result, bench.Rep, error) {
		start := time.Now()
		lines, err := readLines(job.File)
		if err != nil {
			return nil, bench.Rep{}, err
		}
		out, err := p.Run(ctx, lines...)
		s := time.Since(start).Seconds()
		return out, bench.Rep{Calls: 1, Seconds: s, Latencies: []float64{s}}, err
	}
	var outB, outU [][]pipeline.Result
	for i := range job.Reps {
		if i > 0 && job.Deadline > 0 {
			prev := res.Bucketed[i-1].Seconds + res.Unbucketed[i-1].Seconds
			if float64(time.Now().UnixNano())/1e9+prev > job.Deadline {
				fmt.Fprintf(os.Stderr, "  corpus: stopping after %d repetition(s) to keep within the time budget\n", i)
				break
			}
		}
		var r bench.Rep
		if outB, r, err = classify(withB); err != nil {
			return nil, err
		}
		res.Bucketed = append(res.Bucketed, r)
		if outU, r, err = classify(without); err != nil {
			return nil, err
		}
		res.Unbucketed = append(res.Unbucketed, r)
		fmt.Fprintf(os.Stderr, "  corpus rep %d/%d: bucketed %.1fs, unbucketed %.1fs\n", i+1, job.Reps, res.Bucketed[i].Seconds, r.Seconds)
	}
	if len(outB) != len(texts) || len(outU) != len(texts) {
		return nil, fmt.Errorf("corpus: %d and %d results for %d texts", len(outB), len(outU), len(texts))
	}
	for i := range texts {
		b, u := outB[i][0], outU[i][0]
		res.Labels++
		if b.Label == u.Label {
			res.LabelsEqual++
		}
		if math.Float32bits(float32(b.Score)) == math.Float32bits(float32(u.Score)) {
			res.ScoresBitwise++
		}
		if math.Abs(b.Score-u.Score) <= 1e-6 {
			res.ScoresWithin++
		}
		res.MaxScoreDiff = math.Max(res.MaxScoreDiff, math.Abs(b.Score-u.Score))
		if i < job.HeadTexts {
			res.HeadBucketed = append(res.HeadBucketed, b)
			res.HeadUnbucketed = append(res.HeadUnbucketed, u)
		}
	}
	// Input order: texts classified alone must get (to float noise) the
	// result found at their own index in both runs.
	if n := job.OrderSample; n > 0 {
		for j := range n {
			i := j * len(texts) / n
			alone, err := withB.Run(ctx, texts[i])
			if err != nil {
				return nil, err
			}
			a := alone[0][0]
			d := math.Max(math.Abs(a.Score-outB[i][0].Score), math.Abs(a.Score-outU[i][0].Score))
			res.OrderChecked++
			if a.Label == outB[i][0].Label && a.Label == outU[i][0].Label && d <= 1e-4 {
				res.OrderOK++
			}
			res.OrderMaxDiff = math.Max(res.OrderMaxDiff, d)
		}
	}
	return res, nil
}

// runWorker runs one child job: it reads the job file, runs it and writes
// the result file.
func runWorker(ctx context.Context, mode, jobPath, resultPath string) error {
	data, err := os.ReadFile(jobPath)
	if err != nil {
		return err
	}
	var res any
	switch mode {
	case "cell":
		var j cellJob
		if err = json.Unmarshal(data, &j); err != nil {
			return err
		}
		return serveCell(ctx, j, os.Stdin, os.Stdout, resultPath)
	case "tokenizer":
		var j tokenizerJob
		if err = json.Unmarshal(data, &j); err == nil {
			res, err = runTokenizer(ctx, j)
		}
	case "corpus":
		var j corpusJob
		if err = json.Unmarshal(data, &j); err == nil {
			res, err = runCorpus(ctx, j)
		}
	default:
		return fmt.Errorf("unknown worker mode %q", mode)
	}
	if err != nil {
		return fmt.Errorf("worker %s: %w", mode, err)
	}
	out, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return os.WriteFile(resultPath, out, 0o644)
}
