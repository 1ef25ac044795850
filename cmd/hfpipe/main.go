// Command hfpipe runs Hugging Face pipelines from the command line: texts
// from arguments, stdin lines, or a text/JSONL file, results as JSON lines.
//
//	hfpipe --model DIR "I love this!" "I hate this so much!"
//	hfpipe --model DIR --file reviews.jsonl > results.jsonl
//	hfpipe --model DIR --explain "I've been waiting for a HuggingFace course my whole life." "I hate this so much!"
//
// --explain walks through the three stages of the Hugging Face course's
// "behind the pipeline": tokenizer, model, post-processing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/pipeline"
	"github.com/hfpipe/hfpipe/torch"
)

type config struct {
	task, model, device, dtype, function, file, topK, attention string
	batchSize, threads, maxLength                               int
	explain, noBucketing, torchScript, autoExport, fast         bool
}

// fastUsage is the --fast flag's help, the same in every command.
const fastUsage = "fast mode on the CPU: bfloat16 feed-forward layers over packed weights, float32 elsewhere (about 1.5x the speed; scores change slightly, labels can flip on near-ties)"

// hfOptions are the model-loading choices the flags make.
func (c *config) hfOptions() []hf.Option {
	return modelOptions(c.attention, c.torchScript, c.autoExport, c.fast)
}

// modelOptions are the hf options of the model-loading flags the commands
// share (--attention, --torchscript, --auto-export, --fast; a command
// without one of them passes its zero value).
func modelOptions(attention string, torchScript, autoExport, fast bool) []hf.Option {
	var o []hf.Option
	if attention != "" {
		o = append(o, hf.WithAttention(attention))
	}
	if torchScript {
		o = append(o, hf.WithTorchScript())
	}
	if autoExport {
		o = append(o, hf.WithAutoExport())
	}
	if fast {
		o = append(o, hf.WithFast())
	}
	return o
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hfpipe:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (*config, []string, error) {
	c := &config{}
	fs := flag.NewFlagSet("hfpipe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.task, "task", "sentiment-analysis", "task: "+strings.Join(pipeline.Tasks(), ", "))
	fs.StringVar(&c.model, "model", envOr("HFPIPE_MODEL", pipeline.DefaultModel), "Hub repo id or local model folder ($HFPIPE_MODEL)")
	fs.StringVar(&c.device, "device", "cpu", "cpu, cuda or cuda:N")
	fs.StringVar(&c.dtype, "dtype", "float32", "float32, float16 or bfloat16")
	fs.StringVar(&c.attention, "attention", "", "native models' attention: sdpa or eager (default: transformers' default for the architecture)")
	fs.BoolVar(&c.torchScript, "torchscript", false, "run the model's TorchScript export (hfpipe-*.pt) instead of its weights")
	fs.BoolVar(&c.fast, "fast", false, fastUsage)
	fs.BoolVar(&c.autoExport, "auto-export", false, "with --torchscript (or a model type without native code): make a missing export with Python")
	fs.IntVar(&c.batchSize, "batch-size", 8, "inputs per forward pass")
	fs.StringVar(&c.topK, "top-k", "1", "labels per input: a number, or all")
	fs.StringVar(&c.function, "function", "auto", "function_to_apply: auto, softmax, sigmoid or none")
	fs.IntVar(&c.maxLength, "max-length", 0, "truncate inputs to this many tokens (default: the model's maximum)")
	fs.StringVar(&c.file, "file", "", "read inputs from a text file (one per line) or .jsonl ({\"text\": ..., \"text_pair\": ...}); - is stdin")
	fs.IntVar(&c.threads, "threads", 0, "libtorch intra-op threads (default: libtorch's choice)")
	fs.BoolVar(&c.explain, "explain", false, "walk through tokenizer, model and post-processing for the given texts")
	fs.BoolVar(&c.noBucketing, "no-bucketing", false, "batch inputs in file order instead of by length")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hfpipe [flags] [text ...]\n       hfpipe <task> [flags] [input ...]\n\nWith no texts and no --file, reads one text per line from stdin.\n\nTask subcommands (hfpipe <task> -h for their flags):\n"+subcommandList())
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	return c, fs.Args(), nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func (c *config) options() ([]pipeline.Option, error) {
	dev, err := torch.ParseDevice(c.device)
	if err != nil {
		return nil, err
	}
	dt, err := torch.ParseDType(c.dtype)
	if err != nil {
		return nil, err
	}
	fn, err := pipeline.ParseFunction(c.function)
	if err != nil {
		return nil, err
	}
	k := pipeline.AllLabels
	if c.topK != "all" {
		if k, err = strconv.Atoi(c.topK); err != nil || k < 1 {
			return nil, fmt.Errorf("--top-k %q: want a number >= 1 or all", c.topK)
		}
	}
	opts := []pipeline.Option{pipeline.WithModel(c.model), pipeline.WithDevice(dev), pipeline.WithDType(dt),
		pipeline.WithBatchSize(c.batchSize), pipeline.WithTopK(k), pipeline.WithFunction(fn), pipeline.WithMaxLength(c.maxLength)}
	if c.noBucketing {
		opts = append(opts, pipeline.WithoutBucketing())
	}
	if h := c.hfOptions(); len(h) > 0 {
		opts = append(opts, pipeline.WithHF(h...))
	}
	return opts, nil
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "serve" {
		return serveCommand(ctx, args[1:], stderr)
	}
	if len(args) > 0 {
		if sc, ok := subcommands[args[0]]; ok {
			err := sc.run(ctx, args[1:], stdin, stdout, stderr)
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
	}
	c, texts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.threads > 0 {
		if err := torch.SetNumThreads(c.threads); err != nil {
			return err
		}
	}
	// Keep freed tensor memory for the next forward pass (HFPIPE_MALLOC=system opts out).
	if err := torch.SetMemoryReuse(true); err != nil {
		return err
	}
	opts, err := c.options()
	if err != nil {
		return err
	}
	if c.explain {
		if len(texts) == 0 {
			return errors.New("--explain needs the texts as arguments")
		}
		return explain(ctx, c, texts, stdout)
	}
	inputs, err := readInputs(c.file, texts, stdin)
	if err != nil {
		return err
	}
	if _, ok := subcommands[c.task]; ok {
		return fmt.Errorf("--task %s: run it as a subcommand, `hfpipe %s --model DIR ...` (hfpipe %s -h lists its flags)", c.task, c.task, c.task)
	}
	p, err := pipeline.New(ctx, c.task, opts...)
	if err != nil {
		return err
	}
	defer p.Close()
	return classifyAll(ctx, p, inputs, stdout, stderr, c.file != "" && isTerminal(stdout))
}
