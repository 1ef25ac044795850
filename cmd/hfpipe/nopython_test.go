package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/pipeline"
	"github.com/hfpipe/hfpipe/torch"
)

// bareModel copies what a Hub repo of a fine-tuned model holds (no export,
// no hfpipe file) out of the test model folder.
func bareModel(t *testing.T) string {
	t.Helper()
	src := model(t)
	dst := filepath.Join(t.TempDir(), "bare-model")
	require.NoError(t, os.MkdirAll(dst, 0o755))
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if os.IsNotExist(err) && f != "config.json" && f != "model.safetensors" {
			continue
		}
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, f), b, 0o644))
	}
	return dst
}

type pyEntry struct {
	Label    string `json:"label"`
	ScoreHex string `json:"score_f32_hex"`
}

// TestRunsWithoutPython: on a folder holding only config.json, the
// tokenizer files and model.safetensors, the CLI (a built binary whose
// PATH has no python and whose HFPIPE_PYTHON points nowhere) and the
// pipeline API give transformers.pipeline's labels and scores, bit for bit.
func TestRunsWithoutPython(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI and runs the Python reference")
	}
	dir := bareModel(t)
	texts := append([]string{}, course...)
	texts = append(texts, "The food was surprisingly good.", "Terrible service, never again!", "a", "Café déjà vu, naïve résumé 👍🏽")

	// The reference first, while Python is reachable.
	in := filepath.Join(t.TempDir(), "in.json")
	b, _ := json.Marshal(map[string]any{"texts": texts})
	require.NoError(t, os.WriteFile(in, b, 0o644))
	refPath := filepath.Join(t.TempDir(), "ref.json")
	testenv.RunPython(t, "pipeline_reference.py", "--model", dir, "--task", "text-classification", "--inputs", in, "--out", refPath,
		"--threads", strconv.Itoa(torch.NumThreads()))
	var ref struct {
		Texts [][]pyEntry `json:"texts"`
	}
	rb, err := os.ReadFile(refPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(rb, &ref))
	require.Len(t, ref.Texts, len(texts))
	check := func(who string, i int, got []pipeline.Result) {
		require.Len(t, got, 1, who)
		assert.Equal(t, ref.Texts[i][0].Label, got[0].Label, "%s: label of %q", who, texts[i])
		assert.Equal(t, ref.Texts[i][0].ScoreHex, fmt.Sprintf("%08x", math.Float32bits(float32(got[0].Score))), "%s: score bits of %q", who, texts[i])
	}

	bin := filepath.Join(t.TempDir(), "hfpipe")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	// No python anywhere: an empty PATH, HFPIPE_PYTHON at a missing file,
	// and a HOME without caches.
	empty := t.TempDir()
	cmd := exec.Command(bin, append([]string{"--model", dir, "--batch-size", "1", "--threads", strconv.Itoa(torch.NumThreads())}, texts...)...)
	cmd.Env = []string{"PATH=" + empty, "HFPIPE_PYTHON=" + filepath.Join(empty, "no-python"), "HOME=" + empty, "HF_HUB_OFFLINE=1"}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	require.NoError(t, cmd.Run(), errOut.String())
	got := decodeLines(t, out.String())
	require.Len(t, got, len(texts))
	for i := range texts {
		check("CLI", i, got[i].Results)
	}

	// The pipeline API in this process, under the same environment.
	t.Setenv("PATH", empty)
	t.Setenv("HFPIPE_PYTHON", filepath.Join(empty, "no-python"))
	ctx := context.Background()
	p, err := pipeline.NewTextClassification(ctx, pipeline.WithModel(dir), pipeline.WithBatchSize(1))
	require.NoError(t, err)
	defer p.Close()
	res, err := p.Run(ctx, texts...)
	require.NoError(t, err)
	for i := range texts {
		check("pipeline", i, res[i])
	}
	_, err = os.Stat(filepath.Join(dir, "hfpipe-export.json"))
	assert.True(t, os.IsNotExist(err), "nothing was exported into the folder")
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.NotContains(t, strings.Join(names, " "), "hfpipe-", "no export was made")
}
