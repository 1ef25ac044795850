package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/pipeline"
)

func taskModel(t *testing.T, name string) string {
	t.Helper()
	dir, err := testenv.TaskModels()
	require.NoError(t, err)
	return filepath.Join(dir, name)
}

func jsonLines[T any](t *testing.T, s string) []T {
	t.Helper()
	var out []T
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		var v T
		require.NoError(t, json.Unmarshal([]byte(l), &v), l)
		out = append(out, v)
	}
	return out
}

// The task subcommands give what the library gives, from arguments,
// JSONL and plain lines, and refuse bad input with a message naming it.
func TestEmbedZeroShotRerankSubcommands(t *testing.T) {
	ctx := context.Background()
	texts := []string{"I love this phone", "The food was awful.", "日本語のテキストです。"}

	t.Run("embed", func(t *testing.T) {
		dir := taskModel(t, "st-max")
		p, err := pipeline.NewSentenceEmbedding(ctx, pipeline.WithModel(dir))
		require.NoError(t, err)
		defer p.Close()
		want, err := p.Run(ctx, texts)
		require.NoError(t, err)
		out, err := runCLI(t, `{"text": "I love this phone"}`+"\nThe food was awful.\n\n"+`{"text": "日本語のテキストです。"}`, "embed", "--model", dir)
		require.NoError(t, err)
		got := jsonLines[embedOutput](t, out)
		require.Len(t, got, 3)
		for i := range texts {
			assert.Equal(t, texts[i], got[i].Text)
			assert.Equal(t, want[i], got[i].Embedding)
		}
		_, err = runCLI(t, "", "embed", "--model", dir, "--prompt-name", "query", "x")
		assert.ErrorContains(t, err, `prompt name "query"`)
	})

	t.Run("zero-shot", func(t *testing.T) {
		dir := taskModel(t, "nli")
		p, err := pipeline.NewZeroShotClassification(ctx, pipeline.WithModel(dir))
		require.NoError(t, err)
		defer p.Close()
		want, err := p.Run(ctx, texts, pipeline.CandidateLabels("tech", "food"), pipeline.HypothesisTemplate("About {}."))
		require.NoError(t, err)
		out, err := runCLI(t, "", append([]string{"zero-shot", "--model", dir, "--labels", "tech, food", "--template", "About {}."}, texts...)...)
		require.NoError(t, err)
		assert.Equal(t, want, jsonLines[pipeline.ZeroShotResult](t, out))
		// Per-line labels override the flag.
		want2, err := p.Run(ctx, texts[:1], pipeline.CandidateLabels("a", "b", "c"), pipeline.MultiLabel(true))
		require.NoError(t, err)
		out, err = runCLI(t, `{"text": "I love this phone", "candidate_labels": ["a", "b", "c"], "multi_label": true}`+"\n"+texts[1], "zero-shot", "--model", dir, "--labels", "tech,food")
		require.NoError(t, err)
		got := jsonLines[pipeline.ZeroShotResult](t, out)
		require.Len(t, got, 2)
		assert.Equal(t, want2[0], got[0])
		assert.Equal(t, []string{"food", "tech"}, slices.Sorted(slices.Values(got[1].Labels)))
		_, err = runCLI(t, "", "zero-shot", "--model", dir, "some text")
		assert.ErrorContains(t, err, "no candidate labels")
	})

	t.Run("rerank", func(t *testing.T) {
		dir := taskModel(t, "cross-encoder")
		p, err := pipeline.NewReranker(ctx, pipeline.WithModel(dir))
		require.NoError(t, err)
		defer p.Close()
		want, err := p.Rank(ctx, "phones", texts, pipeline.TopK(2), pipeline.ReturnDocuments(true))
		require.NoError(t, err)
		in, _ := json.Marshal(map[string]any{"query": "phones", "documents": texts})
		out, err := runCLI(t, string(in)+"\n", "rerank", "--model", dir, "--top-k", "2", "--return-documents")
		require.NoError(t, err)
		got := jsonLines[rerankOutput](t, out)
		require.Len(t, got, 1)
		assert.Equal(t, want, got[0].Results)
		out, err = runCLI(t, "", append([]string{"rerank", "--model", dir, "--query", "phones", "--top-k", "2", "--return-documents"}, texts...)...)
		require.NoError(t, err)
		assert.Equal(t, want, jsonLines[rerankOutput](t, out)[0].Results)
		_, err = runCLI(t, `{"query": "q", "documents": []}`, "rerank", "--model", dir)
		assert.ErrorContains(t, err, "no documents")
	})
}
