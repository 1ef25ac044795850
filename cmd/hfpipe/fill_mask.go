package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"strings"

	"github.com/hfpipe/hfpipe/pipeline"
)

func init() {
	registerSubcommand(&subcommand{name: "fill-mask", summary: "masked-token prediction: texts with [MASK] in, predictions per mask out", run: runFillMask})
}

type fillMaskRow struct {
	Text  string            `json:"text"`
	Masks [][]pipeline.Fill `json:"masks"`
}

func runFillMask(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, c := newTaskFlags("fill-mask", stderr, "Predicts each mask token of each text (arguments, or lines: text, or JSON {\"text\": ...}) and writes\n{\"text\": ..., \"masks\": [[...], ...]} (one list per mask), as transformers' fill-mask pipeline.")
	topK := fs.Int("top-k", 5, "predictions per mask")
	targets := fs.String("targets", "", "comma-separated tokens to limit the predictions to")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	defaults := []pipeline.CallOption{pipeline.TopK(*topK)}
	if *targets != "" {
		defaults = append(defaults, pipeline.Targets(strings.Split(*targets, ",")...))
	}
	opts, err := c.options(defaults...)
	if err != nil {
		return err
	}
	texts, err := readTexts(c.file, fs.Args(), stdin)
	if err != nil {
		return err
	}
	p, err := pipeline.NewFillMask(ctx, opts...)
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
			rows[i] = fillMaskRow{Text: part[i], Masks: res[i]}
		}
		return rows, nil
	}, stdout, stderr, c.file != "" && isTerminal(stdout))
}
