// Command hfbench benchmarks hfpipe against Python transformers and the
// peer hugot (ONNX Runtime) on one machine, with one libtorch and one
// model, at each thread count of -threads, and writes a Markdown report, a
// throughput plot and `ratio` lines per case (`ratio hfpipe/hugot=…`,
// `ratio hfpipe/python=…` per cell):
//
//	make bench-peer                                           # the peer's set-up, once (bench/peer/setup.sh)
//	go run ./bench/cmd/hfbench -out bench/results.md          # make bench: about 65 minutes on 2 cores (1 and 2 threads)
//	go run ./bench/cmd/hfbench -threads 2 -out bench/results.md   # one thread count: about 30 minutes
//	go run ./bench/cmd/hfbench -wait-quiet 10m -out bench/results.md
//	go run ./bench/cmd/hfbench -quick -out /tmp/quick.md      # smoke run
//	go run ./bench/cmd/hfbench -peer none ...                 # without the peer
//	go run ./bench/cmd/hfbench -render bench/tmp/results.json # the report again from raw results
//
// Before the cells, the run measures the machine's memory bandwidth and
// float32 GEMM peak per thread count (bench_python.py roofline), and the
// report gives every cell's fraction of that roofline per contender.
//
// Cases: sentiment-analysis end to end (pipeline.TextClassification.Run vs
// transformers.pipeline) over batch sizes and text lengths, with latency
// percentiles and peak RSS; the forward pass alone (Module.Forward vs
// torch.jit.load of the TorchScript export) with the binding's own cost
// per call (hf.Model.Stats: time in Forward against time inside the
// forward); Go's time outside the forward pass; tokenizer throughput (Go
// vs Hugging Face tokenizers); and a mixed-length corpus classified from a
// file with and without length-bucketing, against Python's own batch-size
// variation on its head.
//
// The Go side of every end-to-end cell (both phases) runs twice: with the
// native model (the default loader, and the Go side of every Go/Python
// ratio) and with the folder's TorchScript export (hf.WithTorchScript);
// each cell prints a `ratio native/torchscript=X` line, X being
// TorchScript's time per forward over native's.
//
// Each Go case runs in a child process of hfbench (-worker), each Python
// case in third_party/tools/bench_python.py, the peer in hugotcell
// (bench/peer/hugot, built into bench/tmp/peer), one process per side,
// loader and case, so peak RSS and warm-up are per case and side; the
// processes of a cell (Go native, Go TorchScript, Go fast mode, two identical Python
// ones, the second an A/A noise floor, and hugot) take turns repetition by
// repetition (see serveCell).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hfpipe/hfpipe/bench"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/pipeline"
	"github.com/hfpipe/hfpipe/torch"
)

// config is what the flags set.
type config struct {
	out, plot, jsonOut, model string
	threads                   []int // one pass over the cells per count
	peer                      string
	quick                     bool
	reps, warmup              int
	repSeconds                float64
	batches, lengths          []int
	poolTexts                 int
	forwardMaxTokens          int
	corpusSize, corpusBS      int
	corpusReps                int
	corpusRefTexts            int
	budget                    time.Duration
	tokTexts                  int
	cases                     map[string]bool
	waitQuiet                 time.Duration
	quietLoad                 float64
	args                      []string
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad list %q: want positive integers separated by commas", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func main() {
	worker := flag.String("worker", "", "internal: run one Go case (cell, tokenizer, corpus) in this process")
	job := flag.String("job", "", "internal: the worker's job file")
	result := flag.String("result", "", "internal: the worker's result file")

	var c config
	flag.StringVar(&c.out, "out", "bench/results.md", "Markdown report to write")
	flag.StringVar(&c.plot, "plot", "", "throughput plot (PNG) to write (default: throughput.png beside -out)")
	flag.StringVar(&c.jsonOut, "json", "", "raw results (JSON) to write (default: bench/tmp/results.json)")
	flag.StringVar(&c.model, "model", "", "benchmark model folder, built when missing (default: bench/tmp/model)")
	threads := flag.String("threads", "1,2", "intra-op thread counts, each a pass over the cells: libtorch's on the hfpipe and Python sides (torch.SetNumThreads / torch.set_num_threads), ONNX Runtime's on hugot's; the tokenizer and corpus cases run at the largest")
	flag.StringVar(&c.peer, "peer", "", "folder of the peer contender (hugot with ONNX Runtime) that make bench-peer builds (default: bench/tmp/peer); \"none\": run without it")
	flag.BoolVar(&c.quick, "quick", false, "smoke run of about 2 minutes: fewer repetitions, shorter corpus")
	flag.IntVar(&c.reps, "reps", 0, "timed repetitions per case (default 5, quick 2)")
	flag.IntVar(&c.warmup, "warmup", 0, "untimed warm-up calls per case and shape (default 3, quick 2)")
	flag.Float64Var(&c.repSeconds, "rep-seconds", 0, "minimum length of one repetition in seconds (default 0.75, quick 0.3)")
	batches := flag.String("batch-sizes", "", "end-to-end batch sizes (default 1,8,32; quick 1,8)")
	lengths := flag.String("lengths", "", "end-to-end text lengths in tokens, [CLS] and [SEP] included (default 16,128,512; quick 16,128)")
	flag.IntVar(&c.forwardMaxTokens, "forward-max-tokens", 4096, "time the forward pass alone and the Go stages only in cells of at most this many tokens per batch")
	flag.IntVar(&c.corpusSize, "corpus", 0, "texts in the mixed-length corpus (default 10000, quick 500)")
	flag.IntVar(&c.corpusBS, "corpus-batch-size", 8, "batch size of the corpus runs (8: the pipeline's default)")
	flag.IntVar(&c.corpusReps, "corpus-reps", 0, "repetitions of each corpus run (default 2, quick 1); repetitions after the first only while -budget allows")
	flag.IntVar(&c.corpusRefTexts, "corpus-ref-texts", 400, "texts at the head of the corpus that Python classifies at the corpus batch size and at batch size 1, the yardstick of the bucketing outputs (0: skip)")
	flag.DurationVar(&c.budget, "budget", 70*time.Minute, "time budget of the whole run: later corpus repetitions are skipped when they would overrun it (0: no limit)")
	flag.IntVar(&c.tokTexts, "tokenizer-texts", 2000, "texts of the tokenizer benchmark (the head of the corpus)")
	render := flag.String("render", "", "write the report (-out) and plot (-plot) again from the raw results of an earlier run (its -json file), measuring nothing")
	only := flag.String("only", "e2e,tokenizer,corpus", "cases to run: e2e (with forward and stages), tokenizer, corpus")
	flag.DurationVar(&c.waitQuiet, "wait-quiet", 0, "before starting, wait up to this long for the 1-minute load average to drop below -quiet-load")
	flag.Float64Var(&c.quietLoad, "quiet-load", 0.5, "load average counted as quiet")
	flag.Parse()

	ctx := context.Background()
	if *render != "" {
		if err := rerender(ctx, *render, c.out, c.plot); err != nil {
			fatal(err)
		}
		return
	}
	if *worker != "" {
		if err := runWorker(ctx, *worker, *job, *result); err != nil {
			fmt.Fprintln(os.Stderr, "hfbench:", err)
			os.Exit(1)
		}
		return
	}

	if *batches == "" {
		*batches = "1,8,32"
		if c.quick {
			*batches = "1,8"
		}
	}
	if *lengths == "" {
		*lengths = "16,128,512"
		if c.quick {
			*lengths = "16,128"
		}
	}
	var err error
	if c.batches, err = parseInts(*batches); err == nil {
		if c.lengths, err = parseInts(*lengths); err == nil {
			c.threads, err = parseInts(*threads)
		}
	}
	if err != nil {
		fatal(err)
	}
	c.cases = map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		c.cases[strings.TrimSpace(s)] = true
	}
	def := func(p *int, full, quick int) {
		if *p == 0 {
			*p = full
			if c.quick {
				*p = quick
			}
		}
	}
	def(&c.reps, 5, 2)
	def(&c.warmup, 3, 2)
	def(&c.corpusSize, 10000, 500)
	def(&c.corpusReps, 2, 1)
	if c.repSeconds == 0 {
		c.repSeconds = 0.75
		if c.quick {
			c.repSeconds = 0.3
		}
	}
	c.poolTexts = slices.Max(c.batches)
	if c.plot == "" {
		c.plot = filepath.Join(filepath.Dir(c.out), "throughput.png")
	}
	if c.jsonOut == "" {
		c.jsonOut = filepath.Join(testenv.RepoRoot(), "bench", "tmp", "results.json")
	}
	if c.model == "" {
		c.model = bench.DefaultModelDir()
	}
	if c.peer == "" {
		c.peer = filepath.Join(testenv.RepoRoot(), "bench", "tmp", "peer")
	}
	c.args = os.Args[1:]
	if err := run(ctx, &c); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "hfbench:", err)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "hfbench: "+format+"\n", args...)
}

// child is one finished child process.
type child struct {
	Wall      float64 `json:"wall_seconds"`
	MaxRSSKiB int64   `json:"maxrss_kb"` // the whole process (getrusage of the child)
}

// runChild runs a command whose result lands in resultPath, and decodes it.
func runChild(ctx context.Context, cmd *exec.Cmd, resultPath string, into any) (child, error) {
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.Env = append(os.Environ(), "HF_HUB_OFFLINE=1", "TRANSFORMERS_OFFLINE=1", "PYTHONHASHSEED=0")
	os.Remove(resultPath)
	start := time.Now()
	err := cmd.Run()
	ch := child{Wall: time.Since(start).Seconds()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			ch.MaxRSSKiB = ru.Maxrss
		}
	}
	if err != nil {
		return ch, fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
	}
	data, err := os.ReadFile(resultPath)
	if err != nil {
		return ch, err
	}
	return ch, json.Unmarshal(data, into)
}

// runner starts the children of one hfbench run.
type runner struct {
	self, py, script, dir string
	n                     int
}

func (r *runner) files(name string, job any) (string, string, error) {
	r.n++
	base := filepath.Join(r.dir, fmt.Sprintf("%02d-%s", r.n, name))
	data, err := json.Marshal(job)
	if err != nil {
		return "", "", err
	}
	return base + ".job.json", base + ".result.json", os.WriteFile(base+".job.json", data, 0o644)
}

func (r *runner) goChild(ctx context.Context, mode string, job, into any) (child, error) {
	jp, rp, err := r.files("go-"+mode, job)
	if err != nil {
		return child{}, err
	}
	return runChild(ctx, exec.CommandContext(ctx, r.self, "-worker", mode, "-job", jp, "-result", rp), rp, into)
}

func (r *runner) pyChild(ctx context.Context, command string, job, into any) (child, error) {
	jp, rp, err := r.files("py-"+command, job)
	if err != nil {
		return child{}, err
	}
	return runChild(ctx, exec.CommandContext(ctx, r.py, r.script, command, "--job", jp, "--out", rp), rp, into)
}

// proc is a child process that speaks the cell protocol (see serveCell).
type proc struct {
	name    string
	e2eOnly bool // speaks the e2e phase only (the peer)
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Reader
	result  string
	start   time.Time
}

func (r *runner) startProc(ctx context.Context, name string, cmd *exec.Cmd, resultPath string, env ...string) (*proc, error) {
	p := &proc{name: name, cmd: cmd, result: resultPath, start: time.Now()}
	cmd.Stderr = os.Stderr
	cmd.Env = append(append(os.Environ(), "HF_HUB_OFFLINE=1", "TRANSFORMERS_OFFLINE=1", "PYTHONHASHSEED=0"), env...)
	var err error
	if p.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.out = bufio.NewReader(out)
	os.Remove(resultPath)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// expect reads the child's next reply: nil for "ok" or "ready".
func (p *proc) expect() error {
	line, err := p.out.ReadString('\n')
	line = strings.TrimSpace(line)
	switch {
	case line == "ok" || line == "ready":
		return nil
	case err != nil:
		return fmt.Errorf("%s: %w (child gone?)", p.name, err)
	}
	return fmt.Errorf("%s: %s", p.name, line)
}

// do sends one command and waits for its reply.
func (p *proc) do(command string) error {
	if _, err := fmt.Fprintln(p.in, command); err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	return p.expect()
}

// finish ends the child and decodes its result.
func (p *proc) finish(into any) (child, error) {
	err := p.do("done")
	p.in.Close()
	werr := p.cmd.Wait()
	ch := child{Wall: time.Since(p.start).Seconds()}
	if p.cmd.ProcessState != nil {
		if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			ch.MaxRSSKiB = ru.Maxrss
		}
	}
	if err == nil {
		err = werr
	}
	if err != nil {
		return ch, err
	}
	data, err := os.ReadFile(p.result)
	if err != nil {
		return ch, err
	}
	return ch, json.Unmarshal(data, into)
}

// kill stops a child that is still running (after an error).
func (p *proc) kill() {
	if p.cmd.ProcessState == nil && p.cmd.Process != nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

// runCell measures one cell: the processes (Go native, Go TorchScript, Go fast,
// Python A, Python B and, where set up, the peer hugot) take turns,
// command by command, so that a busy machine slows them alike; each
// repetition starts with a different process. The peer times the
// end-to-end phase only.
func (r *runner) runCell(ctx context.Context, cell *cellOut, model string, peer *peerSetup, texts []string, plan bench.Plan) error {
	job := cellJob{Model: model, Threads: cell.Threads, BS: cell.BS, Texts: texts, Plan: plan, RewarmBelow: 0.5}
	var procs []*proc
	defer func() {
		for _, p := range procs {
			p.kill()
		}
	}()
	goProc := func(name string, job cellJob, env ...string) error {
		jp, rp, err := r.files(name, job)
		if err != nil {
			return err
		}
		p, err := r.startProc(ctx, name, exec.CommandContext(ctx, r.self, "-worker", "cell", "-job", jp, "-result", rp), rp, env...)
		if err == nil {
			procs = append(procs, p)
		}
		return err
	}
	// Two Go processes, one per loader: the native model (what hfpipe
	// loads by default, and what every Go/Python ratio uses) and the
	// folder's TorchScript export, the same run otherwise.
	// And a third: the native model in fast mode (hf.WithFast).
	for _, loader := range []string{loaderNative, loaderTorchScript, loaderFast} {
		j := job
		j.Loader = loader
		if err := goProc("go-"+loader, j); err != nil {
			return err
		}
	}
	// Two identical Python processes: the second (B) measures nothing
	// hfpipe does; its ratio to the first (A) is the noise floor of the
	// cross-process comparison (an A/A test).
	pyJob := map[string]any{"model": model, "export": bench.ExportFile, "inputs": []string{"input_ids", "attention_mask"},
		"threads": cell.Threads, "bs": cell.BS, "texts": texts, "warmup": plan.Warmup, "reps": plan.Reps,
		"rep_seconds": plan.RepSeconds, "min_calls": plan.MinCalls, "rewarm_below": job.RewarmBelow}
	for _, name := range []string{"python", "python-b"} {
		jp, rp, err := r.files("py-cell", pyJob)
		if err != nil {
			return err
		}
		p, err := r.startProc(ctx, name, exec.CommandContext(ctx, r.py, r.script, "cell", "--job", jp, "--out", rp), rp)
		if err != nil {
			return err
		}
		procs = append(procs, p)
	}
	// The peer: hugot's pipeline with ONNX Runtime, on the ONNX export of
	// the same model, same texts, same thread count.
	if peer != nil {
		pj := peerJob{Model: model, ONNX: peer.onnx, ORTLibrary: peer.ortLib, Threads: cell.Threads, BS: cell.BS, Texts: texts, Plan: plan, RewarmBelow: job.RewarmBelow}
		jp, rp, err := r.files("hugot-cell", pj)
		if err != nil {
			return err
		}
		p, err := r.startProc(ctx, peerProc, exec.CommandContext(ctx, peer.bin, "-job", jp, "-result", rp), rp)
		if err != nil {
			return err
		}
		p.e2eOnly = true
		procs = append(procs, p)
	}
	for _, p := range procs {
		if err := p.expect(); err != nil {
			return err
		}
	}
	// Last, in the cells that time the forward pass alone, the native
	// process alone holds the native model and the TorchScript export and
	// times their forward passes back to back (pair): two processes differ
	// by more than the two loaders do (see Python B/A), one process
	// alternating between them does not.
	phases := []string{"e2e"}
	if cell.Forward {
		phases = append(phases, "fwd", "pair")
	}
	for _, phase := range phases {
		in := procs
		switch phase {
		case "pair":
			in = slices.DeleteFunc(slices.Clone(procs), func(p *proc) bool { return p.name != "go-"+loaderNative })
		case "fwd":
			in = slices.DeleteFunc(slices.Clone(procs), func(p *proc) bool { return p.e2eOnly })
		}
		for _, p := range in {
			if err := p.do("warm " + phase); err != nil {
				return err
			}
		}
		for i := range plan.Reps {
			for j := range in {
				if err := in[(i+j)%len(in)].do("rep " + phase); err != nil {
					return err
				}
			}
		}
		if phase == "e2e" {
			for _, p := range in {
				if err := p.do("mark"); err != nil {
					return err
				}
			}
		}
	}
	var errs []error
	for _, p := range procs {
		var err error
		switch p.name {
		case "go-" + loaderNative:
			cell.GoChild, err = p.finish(&cell.Go)
		case "go-" + loaderTorchScript:
			cell.TS, cell.TSChild = new(cellResult), new(child)
			*cell.TSChild, err = p.finish(cell.TS)
		case "go-" + loaderFast:
			cell.Fast, cell.FastChild = new(cellResult), new(child)
			*cell.FastChild, err = p.finish(cell.Fast)
		case "python":
			cell.PyChild, err = p.finish(&cell.Py)
		case "python-b":
			cell.PyB = new(pyCellResult)
			_, err = p.finish(cell.PyB)
		case peerProc:
			cell.Peer, cell.PeerChild = new(peerResult), new(child)
			*cell.PeerChild, err = p.finish(cell.Peer)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// waitQuiet polls the load average until it is below c.quietLoad or
// c.waitQuiet has passed, and says which.
func waitQuiet(c *config) (quiet bool, waited time.Duration) {
	start := time.Now()
	for {
		la := bench.LoadAverage()
		if la[0] < c.quietLoad {
			return true, time.Since(start)
		}
		if time.Since(start) >= c.waitQuiet {
			return false, time.Since(start)
		}
		logf("load average %.2f, waiting for < %.2f (%s left)", la[0], c.quietLoad, (c.waitQuiet - time.Since(start)).Round(time.Second))
		time.Sleep(15 * time.Second)
	}
}

func run(ctx context.Context, c *config) error {
	start := time.Now()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	py, err := testenv.PythonPath()
	if err != nil {
		return err
	}
	maxThreads := slices.Max(c.threads)
	rep := &report{Settings: settingsOf(c), Started: start, Command: commandLine(c), Threads: maxThreads}
	if c.waitQuiet > 0 {
		rep.Quiet, rep.QuietWait = waitQuiet(c)
		start = time.Now()
		rep.Started = start
	}
	rep.LoadStart = bench.LoadAverage()
	model, err := bench.EnsureModel(c.model, os.Stderr)
	if err != nil {
		return err
	}
	if abs, err := filepath.Abs(model); err == nil {
		model = abs
	}
	rep.Model = model
	var peer *peerSetup
	if c.peer != "none" && (c.cases["e2e"] || c.cases["corpus"]) {
		if peer, err = ensurePeer(c.peer, model); err != nil {
			return err
		}
		rep.Peer = peer.info
	}
	if rep.Shape, err = modelShapeOf(model); err != nil {
		return err
	}
	dir := filepath.Join(testenv.RepoRoot(), "bench", "tmp", "run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r := &runner{self: self, py: py, script: filepath.Join(testenv.RepoRoot(), "third_party", "tools", "bench_python.py"), dir: dir}

	env := torch.CPUEnv()
	env.Threads = maxThreads // what both sides' children set (the largest count)
	rep.Machine = machine{CPU: bench.CPUModel(), Cores: runtime.NumCPU(), GoVersion: runtime.Version(), Libtorch: torch.Version(),
		GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Kernels: env.String()}
	fmt.Println("cpu-environment:", rep.Machine.Kernels)
	if _, err := r.pyChild(ctx, "versions", struct{}{}, &rep.Python); err != nil {
		return err
	}
	tok, err := tokenizer.FromFolder(model)
	if err != nil {
		return err
	}
	plan := bench.Plan{Warmup: c.warmup, Reps: c.reps, RepSeconds: c.repSeconds, MinCalls: 1}
	rep.Plan = plan

	if c.cases["e2e"] {
		// The machine's bounds first, per thread count: memory bandwidth
		// and float32 GEMM peak (bench_python.py roofline).
		logf("roofline: memory bandwidth and float32 GEMM peak at %v threads", c.threads)
		rep.Roofline = new(rooflineResult)
		if _, err := r.pyChild(ctx, "roofline", map[string]any{"threads": c.threads}, rep.Roofline); err != nil {
			return err
		}
		for _, l := range rep.Roofline.lines() {
			logf("%s", l)
		}
		for _, th := range c.threads {
			for _, n := range c.lengths {
				texts, err := bench.Texts(tok, c.poolTexts, n, 1)
				if err != nil {
					return err
				}
				for _, bs := range c.batches {
					pool := texts[:len(texts)/bs*bs]
					cell := &cellOut{BS: bs, Len: n, Threads: th, Forward: bs*n <= c.forwardMaxTokens}
					logf("e2e threads=%d bs=%d len=%d", th, bs, n)
					if err := r.runCell(ctx, cell, model, peer, pool, plan); err != nil {
						return err
					}
					rep.Cells = append(rep.Cells, cell)
					for _, l := range rep.cellRatioLines(cell) {
						logf("%s", l)
					}
				}
			}
		}
	}

	if c.cases["tokenizer"] || c.cases["corpus"] {
		texts, err := bench.Corpus(tok, c.corpusSize, 2)
		if err != nil {
			return err
		}
		corpusFile := filepath.Join(dir, "corpus.txt")
		if err := os.WriteFile(corpusFile, []byte(strings.Join(texts, "\n")+"\n"), 0o644); err != nil {
			return err
		}
		if c.cases["tokenizer"] {
			tt := texts[:min(c.tokTexts, len(texts))]
			tplan := bench.Plan{Warmup: 1, Reps: c.reps, RepSeconds: c.repSeconds, MinCalls: 1}
			t := &tokOut{}
			logf("tokenizer: Go")
			if _, err := r.goChild(ctx, "tokenizer", tokenizerJob{Model: model, Threads: maxThreads, Texts: tt, Plan: tplan}, &t.Go); err != nil {
				return err
			}
			logf("tokenizer: Python")
			pyJob := map[string]any{"tokenizer_json": filepath.Join(model, "tokenizer.json"), "texts": tt, "threads": maxThreads,
				"warmup": tplan.Warmup, "reps": tplan.Reps, "rep_seconds": tplan.RepSeconds}
			if _, err := r.pyChild(ctx, "tokenizer", pyJob, &t.Py); err != nil {
				return err
			}
			if t.Go.Tokens != t.Py.Tokens {
				return fmt.Errorf("tokenizer: Go counts %d tokens, Python %d, on the same texts", t.Go.Tokens, t.Py.Tokens)
			}
			rep.Tokenizer = t
			for _, l := range t.ratioLines() {
				logf("%s", l)
			}
			if rep.TokenizerFamilies, err = r.tokenizerFamilies(ctx, tt, maxThreads, tplan); err != nil {
				return err
			}
		}
		if c.cases["corpus"] {
			logf("corpus: %d texts, batch size %d, %d repetition(s)", len(texts), c.corpusBS, c.corpusReps)
			co := &corpusOut{BS: c.corpusBS}
			job := corpusJob{Model: model, Threads: maxThreads, BS: c.corpusBS, File: corpusFile, Reps: c.corpusReps,
				WarmupTexts: 4 * c.corpusBS, OrderSample: 32, HeadTexts: min(c.corpusRefTexts, len(texts))}
			if c.budget > 0 {
				job.Deadline = float64(start.Add(c.budget-30*time.Second).UnixNano()) / 1e9
			}
			// Python's yardstick first, so that the deadline counts it.
			if job.HeadTexts > 0 {
				logf("corpus: Python reference on the first %d texts, batch size %d and 1", job.HeadTexts, c.corpusBS)
				co.PyRef = new(pyCorpusRef)
				pyJob := map[string]any{"model": model, "file": corpusFile, "texts": job.HeadTexts, "bs": c.corpusBS, "threads": maxThreads}
				if _, err := r.pyChild(ctx, "corpus-ref", pyJob, co.PyRef); err != nil {
					return err
				}
			}
			if co.GoChild, err = r.goChild(ctx, "corpus", job, &co.Go); err != nil {
				return err
			}
			// The peer on the same head of the corpus, in the same
			// batches as Go's unbucketed run: how far its outputs are
			// from hfpipe's and Python's on mixed lengths with padding.
			if peer != nil && job.HeadTexts > 0 {
				logf("corpus: hugot on the first %d texts, batch size %d", job.HeadTexts, c.corpusBS)
				var out struct {
					Results []pipeline.Result `json:"results"`
				}
				pj := peerJob{Model: model, ONNX: peer.onnx, ORTLibrary: peer.ortLib, Threads: maxThreads, BS: c.corpusBS, Texts: texts[:job.HeadTexts]}
				jp, rp, err := r.files("hugot-classify", pj)
				if err != nil {
					return err
				}
				if _, err := runChild(ctx, exec.CommandContext(ctx, peer.bin, "-classify", "-job", jp, "-result", rp), rp, &out); err != nil {
					return err
				}
				if len(out.Results) != job.HeadTexts {
					return fmt.Errorf("corpus: hugot returned %d results for %d texts", len(out.Results), job.HeadTexts)
				}
				co.Peer = out.Results
			}
			rep.Corpus = co
			for _, l := range co.ratioLines() {
				logf("%s", l)
			}
		}
	}

	rep.LoadEnd = bench.LoadAverage()
	rep.Elapsed = time.Since(start)
	if err := os.MkdirAll(filepath.Dir(c.jsonOut), 0o755); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(rep, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.jsonOut, raw, 0o644); err != nil {
		return err
	}
	if len(rep.Cells) == 0 {
		logf("plot: none (no end-to-end cells in this run)")
	} else if err := plot(ctx, py, c.jsonOut, c.plot); err != nil {
		logf("plot: %v", err)
		rep.PlotErr = err.Error()
	}
	if err := os.WriteFile(c.out, []byte(rep.markdown()), 0o644); err != nil {
		return err
	}
	logf("wrote %s, %s and %s in %s", c.out, c.plot, c.jsonOut, rep.Elapsed.Round(time.Second))
	for _, l := range rep.ratioLines() {
		fmt.Println(l)
	}
	return nil
}

// rerender writes the report and plot of an earlier run from its raw
// results; out and plot, where set, replace the paths it was written to.
func rerender(ctx context.Context, in, out, plotPath string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var rep report
	if err := json.Unmarshal(data, &rep); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if out != "" {
		rep.Settings.Out = out
	}
	if plotPath != "" {
		rep.Settings.Plot = plotPath
	}
	py, err := testenv.PythonPath()
	if err != nil {
		return err
	}
	if err := plot(ctx, py, in, rep.Settings.Plot); err != nil {
		return err
	}
	if err := os.WriteFile(rep.Settings.Out, []byte(rep.markdown()), 0o644); err != nil {
		return err
	}
	logf("wrote %s and %s from %s", rep.Settings.Out, rep.Settings.Plot, in)
	for _, l := range rep.ratioLines() {
		fmt.Println(l)
	}
	return nil
}

func plot(ctx context.Context, py, in, out string) error {
	if len(out) == 0 {
		return errors.New("no plot path")
	}
	cmd := exec.CommandContext(ctx, py, filepath.Join(testenv.RepoRoot(), "third_party", "tools", "bench_plot.py"), in, out)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.Env = append(os.Environ(), "MPLBACKEND=Agg")
	return cmd.Run()
}

// commandLine is how this run was started, for the report.
func commandLine(c *config) string {
	s := "go run ./bench/cmd/hfbench"
	if len(c.args) > 0 {
		s += " " + strings.Join(c.args, " ")
	}
	return s
}
