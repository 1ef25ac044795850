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
	registerSubcommand(&subcommand{name: "ner", summary: "token classification (named entities): texts in, entities out", run: runNER})
	registerSubcommand(&subcommand{name: "token-classification", summary: "the same as ner", run: runNER})
}

type nerRow struct {
	Text     string            `json:"text"`
	Entities []pipeline.Entity `json:"entities"`
}

func runNER(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, c := newTaskFlags("ner", stderr, "Labels the tokens of each text (arguments, or lines: text, or JSON {\"text\": ...}) and writes\n{\"text\": ..., \"entities\": [...]} per input, as transformers' token-classification pipeline.")
	agg := fs.String("aggregation-strategy", "none", "none, simple, first, average or max")
	ignore := fs.String("ignore-labels", "O", "comma-separated labels to leave out (empty: none)")
	stride := fs.Int("stride", pipeline.NoStride, "split texts longer than the model into chunks overlapping by this many tokens (needs an aggregation strategy)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	a, err := pipeline.ParseAggregation(*agg)
	if err != nil {
		return err
	}
	labels := []string{}
	if *ignore != "" {
		labels = strings.Split(*ignore, ",")
	}
	defaults := []pipeline.CallOption{pipeline.AggregationStrategy(a), pipeline.IgnoreLabels(labels...)}
	if *stride != pipeline.NoStride {
		defaults = append(defaults, pipeline.Stride(*stride))
	}
	return runTextTask(ctx, c, fs.Args(), stdin, stdout, stderr, defaults, pipeline.NewTokenClassification,
		func(text string, r []pipeline.Entity) any { return nerRow{Text: text, Entities: r} })
}
