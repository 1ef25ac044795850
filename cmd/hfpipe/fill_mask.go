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
	return runTextTask(ctx, c, fs.Args(), stdin, stdout, stderr, defaults, pipeline.NewFillMask,
		func(text string, r [][]pipeline.Fill) any { return fillMaskRow{Text: text, Masks: r} })
}
