package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/pipeline"
	"github.com/hfpipe/hfpipe/torch"
)

var course = []string{"I've been waiting for a HuggingFace course my whole life.", "I hate this so much!"}

func model(t *testing.T) string {
	return testenv.Model(t, testenv.SmallModel)
}

func runCLI(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), err
}

func decodeLines(t *testing.T, s string) []classified {
	t.Helper()
	var out []classified
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		var c classified
		require.NoError(t, json.Unmarshal([]byte(line), &c), line)
		out = append(out, c)
	}
	return out
}

func TestClassifyArgsStdinAndFiles(t *testing.T) {
	dir := model(t)
	ctx := context.Background()
	p, err := pipeline.NewTextClassification(ctx, pipeline.WithModel(dir))
	require.NoError(t, err)
	defer p.Close()
	want, err := p.Run(ctx, course...)
	require.NoError(t, err)

	out, err := runCLI(t, "", "--model", dir, course[0], course[1])
	require.NoError(t, err)
	got := decodeLines(t, out)
	require.Len(t, got, 2)
	for i := range course {
		assert.Equal(t, course[i], got[i].Text)
		assert.Equal(t, want[i], got[i].Results)
	}

	out, err = runCLI(t, course[0]+"\n\n"+course[1]+"\n", "--model", dir)
	require.NoError(t, err)
	assert.Len(t, decodeLines(t, out), 2, "stdin lines, blank ones skipped")

	jsonl := filepath.Join(t.TempDir(), "in.jsonl")
	require.NoError(t, os.WriteFile(jsonl, []byte(`{"text": "a good day", "text_pair": "a bad day"}`+"\n"+`{"text": "x", "text_pair": "y"}`+"\n"), 0o644))
	out, err = runCLI(t, "", "--model", dir, "--file", jsonl, "--top-k", "all")
	require.NoError(t, err)
	got = decodeLines(t, out)
	require.Len(t, got, 2)
	require.NotNil(t, got[0].TextPair)
	assert.Equal(t, "a bad day", *got[0].TextPair)
	assert.Len(t, got[0].Results, 2, "--top-k all")
}

func TestExplainWalksThroughTheCourse(t *testing.T) {
	out, err := runCLI(t, "", append([]string{"--model", model(t), "--explain"}, course...)...)
	require.NoError(t, err)
	for _, s := range []string{
		"input_ids: shape [2, 16]",
		"[101, 1045, 5223, 2023, 2061, 2172, 999, 102, 0, 0, 0, 0, 0, 0, 0, 0]",
		"attention_mask: shape [2, 16]",
		"last_hidden_state: shape [2, 16, 768]",
		"logits: shape [2, 2]",
		"softmax:",
		"RANDOM weights",
		"kernels: cpu=",
		"aten=" + torch.CPUEnv().ATenCapability,
	} {
		assert.Contains(t, out, s)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var res []pipeline.Result
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &res), "the last line is the results as JSON")
	assert.Len(t, res, 2)
}

func TestCLIErrors(t *testing.T) {
	dir := model(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", dir, "--device", "tpu", "x"}, `unknown device "tpu"`},
		{[]string{"--model", dir, "--top-k", "0", "x"}, "--top-k"},
		{[]string{"--model", dir, "--function", "relu", "x"}, "function_to_apply"},
		{[]string{"--model", dir, "--file", "/nonexistent/in.txt"}, "no such file"},
		{[]string{"--model", dir, "--file", "x.txt", "text"}, "not both"},
		{[]string{"--model", dir, "--explain"}, "needs the texts"},
		{[]string{"--model", dir, "--task", "translation", "x"}, `unknown task "translation"`},
		{[]string{"--bogus"}, "flag provided but not defined"},
	} {
		_, err := runCLI(t, "", c.args...)
		require.Error(t, err, c.args)
		assert.Contains(t, err.Error(), c.want, c.args)
	}
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte("{\"text\": 1}\n"), 0o644))
	_, err := runCLI(t, "", "--model", dir, "--file", bad)
	require.ErrorContains(t, err, "bad.jsonl:1")
}
