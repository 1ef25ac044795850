package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hfpipe/hfpipe/pipeline"
	"github.com/hfpipe/hfpipe/torch"
)

// streamFlags are the flags the streaming task subcommands (embed,
// zero-shot, rerank) share with the main
// command (model, device, dtype, batching, threads, input file).
func streamFlags(fs *flag.FlagSet, c *config, defaultModel string, defaultBatch int) {
	fs.StringVar(&c.model, "model", envOr("HFPIPE_MODEL", defaultModel), "Hub repo id or local model folder ($HFPIPE_MODEL)")
	fs.StringVar(&c.device, "device", "cpu", "cpu, cuda or cuda:N")
	fs.StringVar(&c.dtype, "dtype", "float32", "float32, float16 or bfloat16")
	fs.StringVar(&c.attention, "attention", "", "native models' attention: sdpa or eager")
	fs.BoolVar(&c.fast, "fast", false, fastUsage)
	fs.IntVar(&c.batchSize, "batch-size", defaultBatch, "inputs per forward pass")
	fs.IntVar(&c.maxLength, "max-length", 0, "truncate inputs to this many tokens (default: the model's)")
	fs.StringVar(&c.file, "file", "", "read inputs from a JSONL file (or plain text lines); - is stdin (the default without arguments)")
	fs.IntVar(&c.threads, "threads", 0, "libtorch intra-op threads (default: libtorch's choice)")
	fs.BoolVar(&c.noBucketing, "no-bucketing", false, "batch inputs in input order instead of by length")
}

// taskOptions are the pipeline options of the shared flags.
func (c *config) taskOptions() ([]pipeline.Option, error) {
	dev, err := torch.ParseDevice(c.device)
	if err != nil {
		return nil, err
	}
	dt, err := torch.ParseDType(c.dtype)
	if err != nil {
		return nil, err
	}
	if c.batchSize < 1 {
		return nil, fmt.Errorf("--batch-size %d: want at least 1", c.batchSize)
	}
	opts := []pipeline.Option{pipeline.WithModel(c.model), pipeline.WithDevice(dev), pipeline.WithDType(dt),
		pipeline.WithBatchSize(c.batchSize), pipeline.WithMaxLength(c.maxLength)}
	if c.noBucketing {
		opts = append(opts, pipeline.WithoutBucketing())
	}
	if h := c.hfOptions(); len(h) > 0 {
		opts = append(opts, pipeline.WithHF(h...))
	}
	if c.threads > 0 {
		if err := torch.SetNumThreads(c.threads); err != nil {
			return nil, err
		}
	}
	return opts, torch.SetMemoryReuse(true)
}

// parseTask parses a subcommand's flags; flag.ErrHelp comes back as is.
func parseTask(name, usage string, fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: hfpipe %s [flags] [input ...]\n\n%s\n\n", name, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}

// chunkLines is how many input lines a subcommand reads before running
// them: memory stays bounded whatever the input's size.
const chunkLines = 256

// line is one input line: its number and raw text.
type line struct {
	n    int
	text string
}

// eachChunk calls run with the input lines chunk by chunk: the arguments
// if any, else --file, else stdin; blank lines are skipped.
func eachChunk(file string, args []string, stdin io.Reader, run func([]line) error) error {
	if len(args) > 0 {
		if file != "" {
			return errors.New("give inputs as arguments or with --file, not both")
		}
		ls := make([]line, len(args))
		for i, a := range args {
			ls[i] = line{i + 1, a}
		}
		return run(ls)
	}
	r, name := stdin, "stdin"
	if file != "" && file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("reading inputs: %w", err)
		}
		defer f.Close()
		r, name = f, file
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	buf := make([]line, 0, chunkLines)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		buf = append(buf, line{n, sc.Text()})
		if len(buf) == chunkLines {
			if err := run(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	if len(buf) > 0 {
		return run(buf)
	}
	return nil
}

// decodeLine reads a JSON object line into v, or, for a line that is not
// an object, gives it to plain (plain text input); plain nil refuses it.
func decodeLine(l line, v any, plain func(string)) error {
	t := strings.TrimSpace(l.text)
	if strings.HasPrefix(t, "{") {
		if err := json.Unmarshal([]byte(t), v); err != nil {
			return fmt.Errorf("line %d: %v", l.n, err)
		}
		return nil
	}
	if plain == nil {
		return fmt.Errorf("line %d: want a JSON object", l.n)
	}
	plain(l.text)
	return nil
}

// jsonlWriter writes results as JSON lines and, on a terminal, progress to
// stderr.
type jsonlWriter struct {
	w        *bufio.Writer
	enc      *json.Encoder
	stderr   io.Writer
	progress bool
	done     int
	start    time.Time
}

func newJSONLWriter(stdout, stderr io.Writer) *jsonlWriter {
	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &jsonlWriter{w: w, enc: enc, stderr: stderr, progress: isTerminal(stderr) && !isTerminal(stdout), start: time.Now()}
}

func (j *jsonlWriter) write(v any) error {
	j.done++
	return j.enc.Encode(v)
}

// chunkDone flushes the output and updates the progress line.
func (j *jsonlWriter) chunkDone() error {
	if j.progress {
		fmt.Fprintf(j.stderr, "\r%d done (%.0f/s)", j.done, float64(j.done)/time.Since(j.start).Seconds())
	}
	return j.w.Flush()
}

func (j *jsonlWriter) close() error {
	if j.progress {
		fmt.Fprintln(j.stderr)
	}
	return j.w.Flush()
}
