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

// TestFastFlag checks that --fast loads the model in fast mode (the
// pipeline's WithFast: the same kernels, so the same outputs as the API
// gives) in the main command, a task subcommand and a streaming one, that
// serve takes it, and that it refuses what fast mode cannot run.
func TestFastFlag(t *testing.T) {
	ctx := context.Background()

	dir := model(t)
	p, err := pipeline.NewTextClassification(ctx, pipeline.WithModel(dir), pipeline.WithFast(), pipeline.WithTopK(pipeline.AllLabels))
	require.NoError(t, err)
	defer p.Close()
	want, err := p.Run(ctx, course...)
	require.NoError(t, err)
	exact, err := runCLI(t, "", "--model", dir, "--top-k", "all", course[0], course[1])
	require.NoError(t, err)
	out, err := runCLI(t, "", "--model", dir, "--top-k", "all", "--fast", course[0], course[1])
	require.NoError(t, err)
	got := decodeLines(t, out)
	require.Len(t, got, 2)
	for i := range course {
		assert.Equal(t, want[i], got[i].Results, "text %d", i)
	}
	assert.NotEqual(t, exact, out, "--fast changes the scores' last digits: the flag reached the model")

	nerDir := testenv.SpanModel(t, "token-classification", "distilbert")
	ner, err := pipeline.NewTokenClassification(ctx, pipeline.WithModel(nerDir), pipeline.WithBatchSize(1), pipeline.WithFast())
	require.NoError(t, err)
	defer ner.Close()
	text := "My name is Wolfgang and I live in Berlin"
	wantE, err := ner.Run(ctx, []string{text})
	require.NoError(t, err)
	out, err = runCLI(t, "", "ner", "--model", nerDir, "--fast", text)
	require.NoError(t, err)
	var row struct {
		Entities []pipeline.Entity `json:"entities"`
	}
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(out)), &row), out)
	assert.Equal(t, wantE[0], row.Entities)

	embDir := taskModel(t, "st-max")
	emb, err := pipeline.NewSentenceEmbedding(ctx, pipeline.WithModel(embDir), pipeline.WithFast())
	require.NoError(t, err)
	defer emb.Close()
	wantV, err := emb.Run(ctx, []string{"I love this phone"})
	require.NoError(t, err)
	out, err = runCLI(t, "", "embed", "--model", embDir, "--fast", "I love this phone")
	require.NoError(t, err)
	gotV := jsonLines[embedOutput](t, out)
	require.Len(t, gotV, 1)
	assert.Equal(t, wantV[0], gotV[0].Embedding)

	c, err := parseServeFlags([]string{"--fast"}, &strings.Builder{})
	require.NoError(t, err)
	assert.True(t, c.fast, "serve --fast")

	_, err = runCLI(t, "", "--model", dir, "--fast", "--dtype", "bfloat16", "x")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fast mode", "--fast with another dtype says fast mode needs float32")
}
