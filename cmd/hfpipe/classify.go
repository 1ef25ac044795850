package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/pipeline"
)

// chunk is how many inputs go to the pipeline at once: large enough for
// length bucketing to pay, small enough for steady progress and output.
const chunk = 1024

func classifyAll(ctx context.Context, p pipeline.Pipeline, inputs []input, stdout, stderr io.Writer, progress bool) error {
	return runChunks(inputs, func(part []input) ([]any, error) {
		switch pp := p.(type) {
		case *pipeline.TextClassification:
			return classifyChunk(ctx, pp, part)
		case *pipeline.FeatureExtraction:
			return extractChunk(ctx, pp, part)
		}
		return nil, fmt.Errorf("task %s has no command-line output yet", p.Task())
	}, stdout, stderr, progress)
}

func bar(done, total, width int) string {
	n := width
	if total > 0 {
		n = done * width / total
	}
	b := make([]byte, width)
	for i := range b {
		b[i] = '.'
		if i < n {
			b[i] = '#'
		}
	}
	return "[" + string(b) + "]"
}

type classified struct {
	Text     string            `json:"text"`
	TextPair *string           `json:"text_pair,omitempty"`
	Results  []pipeline.Result `json:"results"`
}

func classifyChunk(ctx context.Context, p *pipeline.TextClassification, part []input) ([]any, error) {
	var res [][]pipeline.Result
	var err error
	if part[0].TextPair != nil {
		pairs := make([]tokenizer.Pair, len(part))
		for i, in := range part {
			if in.TextPair == nil {
				return nil, fmt.Errorf("%s: text_pair missing (the first input had one; pairs and single texts cannot be mixed)", in.at)
			}
			pairs[i] = tokenizer.Pair{A: in.Text, B: *in.TextPair}
		}
		res, err = p.RunPairs(ctx, pairs)
	} else {
		texts := make([]string, len(part))
		for i, in := range part {
			texts[i] = in.Text
		}
		res, err = p.Run(ctx, texts...)
	}
	if err != nil {
		return nil, err
	}
	out := make([]any, len(part))
	for i, in := range part {
		out[i] = classified{Text: in.Text, TextPair: in.TextPair, Results: res[i]}
	}
	return out, nil
}

type extracted struct {
	Text     string      `json:"text"`
	Features [][]float32 `json:"features"`
}

func extractChunk(ctx context.Context, p *pipeline.FeatureExtraction, part []input) ([]any, error) {
	texts := make([]string, len(part))
	for i, in := range part {
		texts[i] = in.Text
	}
	res, err := p.Run(ctx, texts...)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(part))
	for i := range part {
		out[i] = extracted{Text: texts[i], Features: res[i]}
	}
	return out, nil
}
