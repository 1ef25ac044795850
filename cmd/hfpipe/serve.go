package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/pipeline"
	"github.com/hfpipe/hfpipe/serve"
	"github.com/hfpipe/hfpipe/torch"
)

type serveConfig struct {
	model, task, device, dtype, hostname, pooling, servedName, attention, logFormat, logLevel string
	port, threads, maxBatchTokens, maxBatchRequests, maxConcurrent, maxClientBatch            int
	payloadLimit                                                                              int64
	requestTimeout, readHeaderTimeout, shutdownTimeout                                        time.Duration
	autoTruncate, torchScript, fast                                                           bool
}

func parseServeFlags(args []string, stderr io.Writer) (*serveConfig, error) {
	c := &serveConfig{}
	fs := flag.NewFlagSet("hfpipe serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.model, "model", envOr("HFPIPE_MODEL", pipeline.DefaultModel), "Hub repo id or local model folder ($HFPIPE_MODEL)")
	fs.StringVar(&c.task, "task", "auto", "auto (from config.json's architectures), text-classification (also re-ranking, for one-label models) or feature-extraction (embeddings)")
	fs.StringVar(&c.device, "device", "cpu", "cpu, cuda or cuda:N")
	fs.StringVar(&c.dtype, "dtype", "float32", "float32, float16 or bfloat16")
	fs.StringVar(&c.attention, "attention", "", "native models' attention: sdpa or eager (default: transformers' default)")
	fs.BoolVar(&c.torchScript, "torchscript", false, "run the model's TorchScript export instead of its weights")
	fs.BoolVar(&c.fast, "fast", false, fastUsage)
	fs.StringVar(&c.hostname, "hostname", "0.0.0.0", "address to listen on")
	fs.IntVar(&c.port, "port", 3000, "port to listen on (0: any free port; the log says which)")
	fs.IntVar(&c.maxBatchTokens, "max-batch-tokens", serve.DefaultMaxBatchTokens, "tokens (unpadded) per batch")
	fs.IntVar(&c.maxBatchRequests, "max-batch-requests", 0, "rows per batch (0: only the token budget counts)")
	fs.IntVar(&c.maxConcurrent, "max-concurrent-requests", serve.DefaultMaxConcurrentRequests, "inputs admitted at a time; more get 429")
	fs.IntVar(&c.maxClientBatch, "max-client-batch-size", serve.DefaultMaxClientBatchSize, "inputs per request; more get 422")
	fs.Int64Var(&c.payloadLimit, "payload-limit", serve.DefaultPayloadLimit, "request body limit in bytes; more get 413")
	fs.DurationVar(&c.requestTimeout, "request-timeout", serve.DefaultRequestTimeout, "per-request limit (queue and inference); past it 504")
	fs.DurationVar(&c.readHeaderTimeout, "read-header-timeout", serve.DefaultReadHeaderTimeout, "how long a client may take to send its headers")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", serve.DefaultShutdownTimeout, "on SIGTERM, how long to finish accepted requests")
	fs.BoolVar(&c.autoTruncate, "auto-truncate", false, "truncate too-long inputs when a request does not say (else 422)")
	fs.StringVar(&c.pooling, "pooling", "mean", "embedding pooling: mean or cls (feature-extraction only)")
	fs.StringVar(&c.servedName, "served-model-name", "", "model_id reported by /info (default: --model)")
	fs.IntVar(&c.threads, "threads", 0, "libtorch intra-op threads (default: libtorch's choice)")
	fs.StringVar(&c.logFormat, "log-format", "text", "text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hfpipe serve --model M [--task T] [--device D] [--port P] [flags]\n\nServes the model over TEI's HTTP API (/predict, /rerank, /embed, /tokenize, /decode, /info, /health, /metrics) and the Hugging Face inference API (POST /).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("serve: unexpected argument %q (texts come in HTTP requests)", fs.Arg(0))
	}
	return c, nil
}

func (c *serveConfig) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.logLevel)
	}
	o := &slog.HandlerOptions{Level: lvl}
	switch c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", c.logFormat)
}

// serveTask resolves --task auto from the model's config.json: a model
// saved with a *ForSequenceClassification head is served as a classifier,
// any other as an embedding model.
func serveTask(ctx context.Context, c *serveConfig, hfOpts []hf.Option) (string, error) {
	switch c.task {
	case "text-classification", "sentiment-analysis", "feature-extraction":
		return c.task, nil
	case "auto":
	default:
		return "", fmt.Errorf("--task %q: want auto, text-classification or feature-extraction", c.task)
	}
	cfg, err := hf.AutoConfig.FromPretrained(ctx, c.model, hfOpts...)
	if err != nil {
		return "", fmt.Errorf("--task auto reads the model's config.json: %w (or give --task)", err)
	}
	for _, a := range cfg.Architectures {
		if strings.HasSuffix(a, "ForSequenceClassification") {
			return "text-classification", nil
		}
	}
	return "feature-extraction", nil
}

func serveCommand(ctx context.Context, args []string, stderr io.Writer) error {
	c, err := parseServeFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	if c.threads > 0 {
		if err := torch.SetNumThreads(c.threads); err != nil {
			return err
		}
	}
	if err := torch.SetMemoryReuse(true); err != nil {
		return err
	}
	dev, err := torch.ParseDevice(c.device)
	if err != nil {
		return err
	}
	dt, err := torch.ParseDType(c.dtype)
	if err != nil {
		return err
	}
	hfOpts := modelOptions(c.attention, c.torchScript, false, c.fast)
	task, err := serveTask(ctx, c, hfOpts)
	if err != nil {
		return err
	}
	opts := []pipeline.Option{pipeline.WithModel(c.model), pipeline.WithDevice(dev), pipeline.WithDType(dt)}
	if len(hfOpts) > 0 {
		opts = append(opts, pipeline.WithHF(hfOpts...))
	}
	start := time.Now()
	p, err := pipeline.New(ctx, task, opts...)
	if err != nil {
		return err
	}
	defer p.Close()
	sopts := []serve.Option{serve.WithLogger(log), serve.WithMaxBatchTokens(c.maxBatchTokens),
		serve.WithMaxBatchRequests(c.maxBatchRequests), serve.WithMaxConcurrentRequests(c.maxConcurrent),
		serve.WithMaxClientBatchSize(c.maxClientBatch), serve.WithPayloadLimit(c.payloadLimit),
		serve.WithRequestTimeout(c.requestTimeout), serve.WithReadHeaderTimeout(c.readHeaderTimeout),
		serve.WithShutdownTimeout(c.shutdownTimeout), serve.WithAutoTruncate(c.autoTruncate)}
	if task == "feature-extraction" {
		pool, err := serve.ParsePooling(c.pooling)
		if err != nil {
			return err
		}
		sopts = append(sopts, serve.WithPooling(pool))
	}
	name := c.servedName
	if name == "" {
		name = c.model
	}
	sopts = append(sopts, serve.WithModelID(name))
	srv, err := serve.New(p, sopts...)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(c.hostname, strconv.Itoa(c.port)))
	if err != nil {
		srv.Close()
		return fmt.Errorf("serve: %w", err)
	}
	info := srv.Info()
	log.Info("ready", "addr", "http://"+ln.Addr().String(), "model", c.model, "task", task,
		"model_type", fmt.Sprint(keys(info.ModelType)), "max_input_length", info.MaxInputLength, "load_time", time.Since(start).Round(time.Millisecond))
	return srv.Serve(ctx, ln)
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
