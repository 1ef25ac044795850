package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/pipeline"
)

// TestTaskSubcommands: each subcommand's JSON lines carry what the
// pipeline's Run returns for the same inputs and options.
func TestTaskSubcommands(t *testing.T) {
	ctx := context.Background()
	text := "My name is Wolfgang and I live in Berlin"

	nerDir := testenv.SpanModel(t, "token-classification", "distilbert")
	// Batch size 1, the CLI's default: a row's scores change in their last
	// bits with the padding of the batch it runs in (measured on AMD EPYC:
	// 0.52352685 alone, 0.5235269 padded beside a longer text).
	ner, err := pipeline.NewTokenClassification(ctx, pipeline.WithModel(nerDir), pipeline.WithBatchSize(1))
	require.NoError(t, err)
	defer ner.Close()
	want, err := ner.Run(ctx, []string{text, "Hugging Face Inc."}, pipeline.AggregationStrategy(pipeline.AggregateFirst))
	require.NoError(t, err)
	out, err := runCLI(t, text+"\n"+`{"text": "Hugging Face Inc."}`+"\n", "ner", "--model", nerDir, "--aggregation-strategy", "first")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	for i, l := range lines {
		var row struct {
			Text     string            `json:"text"`
			Entities []pipeline.Entity `json:"entities"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &row))
		assert.Equal(t, want[i], row.Entities)
	}

	qaDir := testenv.SpanModel(t, "question-answering", "distilbert")
	qa, err := pipeline.NewQuestionAnswering(ctx, pipeline.WithModel(qaDir))
	require.NoError(t, err)
	defer qa.Close()
	in := pipeline.QAInput{Question: "Where do I live?", Context: text}
	wantA, err := qa.Run(ctx, []pipeline.QAInput{in}, pipeline.TopK(2))
	require.NoError(t, err)
	out, err = runCLI(t, "", "qa", "--model", qaDir, "--top-k", "2", "--question", in.Question, "--context", in.Context)
	require.NoError(t, err)
	var qaRow struct {
		Answers []pipeline.Answer `json:"answers"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &qaRow))
	assert.Equal(t, wantA[0], qaRow.Answers)
	_, err = runCLI(t, "not json\n", "question-answering", "--model", qaDir)
	assert.ErrorContains(t, err, `stdin:1: want a JSON object {"question": ..., "context": ...}`)

	mlmDir := testenv.SpanModel(t, "fill-mask", "distilbert")
	out, err = runCLI(t, "", "fill-mask", "--model", mlmDir, "--top-k", "2", "Paris is the [MASK] of [MASK].")
	require.NoError(t, err)
	var fmRow struct {
		Masks [][]pipeline.Fill `json:"masks"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &fmRow))
	require.Len(t, fmRow.Masks, 2)
	assert.Len(t, fmRow.Masks[0], 2)
	_, err = runCLI(t, "", "fill-mask", "--model", mlmDir, "no mask")
	assert.ErrorContains(t, err, "no mask token")
	_, err = runCLI(t, "", "ner", "x")
	assert.ErrorContains(t, err, "--model is required")
	_, err = runCLI(t, "", "--task", "ner", "--model", nerDir, "x")
	assert.ErrorContains(t, err, "run it as a subcommand")
}
