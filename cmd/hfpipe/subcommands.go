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
	"sort"
	"strings"
	"time"

	"github.com/hfpipe/hfpipe/pipeline"
	"github.com/hfpipe/hfpipe/torch"
)

// A subcommand runs one task: `hfpipe <name> --model DIR [flags] [inputs]`,
// JSON lines in and out. Each task's subcommand lives in its own file and
// registers itself from init with registerSubcommand; run dispatches on the
// first argument.
type subcommand struct {
	// name is the first argument that selects it ("ner").
	name string
	// summary is one line for the command list.
	summary string
	// run parses the subcommand's own arguments and runs it.
	run func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

var subcommands = map[string]*subcommand{}

func registerSubcommand(s *subcommand) { subcommands[s.name] = s }

// subcommandList is the usage text's list of subcommands.
func subcommandList() string {
	var names []string
	for n := range subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "  %-22s %s\n", n, subcommands[n].summary)
	}
	// serve is dispatched before the task subcommands (serve.go)
	fmt.Fprintf(&b, "  %-22s %s\n", "serve", "a TEI-compatible HTTP server with dynamic batching (hfpipe serve -h)")
	return b.String()
}

// taskFlags are the flags every task subcommand takes.
type taskFlags struct {
	model, device, dtype, attention, file string
	batchSize, threads                    int
	fast                                  bool
}

func newTaskFlags(name string, stderr io.Writer, usage string) (*flag.FlagSet, *taskFlags) {
	fs := flag.NewFlagSet("hfpipe "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &taskFlags{}
	fs.StringVar(&c.model, "model", os.Getenv("HFPIPE_MODEL"), "Hub repo id or local model folder ($HFPIPE_MODEL); required")
	fs.StringVar(&c.device, "device", "cpu", "cpu, cuda or cuda:N")
	fs.StringVar(&c.dtype, "dtype", "float32", "float32, float16 or bfloat16")
	fs.StringVar(&c.attention, "attention", "", "native models' attention: sdpa or eager")
	fs.BoolVar(&c.fast, "fast", false, fastUsage)
	fs.StringVar(&c.file, "file", "", "read inputs from this file (JSON lines, or text lines where the task takes texts); - is stdin")
	fs.IntVar(&c.batchSize, "batch-size", 1, "inputs per forward pass (transformers' pipeline default is 1)")
	fs.IntVar(&c.threads, "threads", 0, "libtorch intra-op threads (default: libtorch's choice)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: hfpipe %s [flags] [input ...]\n\n%s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs, c
}

// options are the pipeline options the common flags make; the model's
// runtime is set up (threads, memory reuse) on the way.
func (c *taskFlags) options(defaults ...pipeline.CallOption) ([]pipeline.Option, error) {
	if c.model == "" {
		return nil, errors.New("--model is required (a Hub repo id or a local model folder)")
	}
	dev, err := torch.ParseDevice(c.device)
	if err != nil {
		return nil, err
	}
	dt, err := torch.ParseDType(c.dtype)
	if err != nil {
		return nil, err
	}
	if c.threads > 0 {
		if err := torch.SetNumThreads(c.threads); err != nil {
			return nil, err
		}
	}
	if err := torch.SetMemoryReuse(true); err != nil {
		return nil, err
	}
	opts := []pipeline.Option{pipeline.WithModel(c.model), pipeline.WithDevice(dev), pipeline.WithDType(dt),
		pipeline.WithBatchSize(c.batchSize), pipeline.WithDefaults(defaults...)}
	if h := modelOptions(c.attention, false, false, c.fast); len(h) > 0 {
		opts = append(opts, pipeline.WithHF(h...))
	}
	return opts, nil
}

// inputLine is one input line and where it came from.
type inputLine struct {
	data []byte
	text bool // a plain text line (not JSON)
	at   string
}

// readLines returns the inputs: the arguments (as text), else the lines of
// --file or stdin; lines starting with '{' are JSON (every line of a .jsonl
// file is), others text; empty lines are skipped.
func readLines(file string, args []string, stdin io.Reader) ([]inputLine, error) {
	if len(args) > 0 {
		if file != "" {
			return nil, errors.New("give inputs as arguments or with --file, not both")
		}
		out := make([]inputLine, len(args))
		for i, a := range args {
			out[i] = inputLine{data: []byte(a), text: true, at: fmt.Sprintf("argument %d", i+1)}
		}
		return out, nil
	}
	r, name := stdin, "stdin"
	if file != "" && file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("reading inputs: %w", err)
		}
		defer f.Close()
		r, name = f, file
	}
	jsonl := strings.HasSuffix(file, ".jsonl")
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var out []inputLine
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		isJSON := jsonl || strings.HasPrefix(strings.TrimSpace(line), "{")
		out = append(out, inputLine{data: []byte(line), text: !isJSON, at: fmt.Sprintf("%s:%d", name, n)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return out, nil
}

// textOf reads a text input: a text line, or a JSON object's "text".
func textOf(l inputLine) (string, error) {
	if l.text {
		return string(l.data), nil
	}
	var v struct {
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(l.data, &v); err != nil || v.Text == nil {
		return "", fmt.Errorf("%s: want a JSON object with a \"text\" string, or a plain text line", l.at)
	}
	return *v.Text, nil
}

// readTexts reads the text inputs of a subcommand (file, arguments or
// stdin; see readLines), one text per line or JSON object.
func readTexts(file string, args []string, stdin io.Reader) ([]string, error) {
	lines, err := readLines(file, args, stdin)
	if err != nil {
		return nil, err
	}
	texts := make([]string, len(lines))
	for i, l := range lines {
		if texts[i], err = textOf(l); err != nil {
			return nil, err
		}
	}
	return texts, nil
}

// textTask is a pipeline that maps texts to one result each.
type textTask[R any] interface {
	Run(ctx context.Context, texts []string, opts ...pipeline.CallOption) ([]R, error)
	Close() error
}

// runTextTask is the body of a subcommand whose inputs are texts: it reads
// them (readTexts), opens the pipeline with the flags' options and the
// task's per-call defaults, and writes row(text, result) per input.
func runTextTask[P textTask[R], R any](ctx context.Context, c *taskFlags, args []string, stdin io.Reader, stdout, stderr io.Writer,
	defaults []pipeline.CallOption, open func(context.Context, ...pipeline.Option) (P, error), row func(string, R) any) error {
	opts, err := c.options(defaults...)
	if err != nil {
		return err
	}
	texts, err := readTexts(c.file, args, stdin)
	if err != nil {
		return err
	}
	p, err := open(ctx, opts...)
	if err != nil {
		return err
	}
	defer p.Close()
	return runChunks(texts, func(part []string) ([]any, error) {
		res, err := p.Run(ctx, part)
		if err != nil {
			return nil, err
		}
		rows := make([]any, len(part))
		for i := range part {
			rows[i] = row(part[i], res[i])
		}
		return rows, nil
	}, stdout, stderr, c.file != "" && isTerminal(stdout))
}

// runChunks runs inputs through run chunk by chunk, writing each result as
// a JSON line, with a progress bar on stderr when stdout is a terminal and
// the inputs come from a file.
func runChunks[In any](inputs []In, run func([]In) ([]any, error), stdout, stderr io.Writer, progress bool) error {
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	start := time.Now()
	for lo := 0; lo < len(inputs); lo += chunk {
		part := inputs[lo:min(lo+chunk, len(inputs))]
		rows, err := run(part)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		if progress {
			done := lo + len(part)
			fmt.Fprintf(stderr, "\r%s %d/%d (%.0f/s)", bar(done, len(inputs), 30), done, len(inputs), float64(done)/time.Since(start).Seconds())
		}
	}
	if progress {
		fmt.Fprintln(stderr)
	}
	return nil
}
