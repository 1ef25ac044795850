package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/torch"
)

var courseSentences = []string{"I've been waiting for a HuggingFace course my whole life.", "I hate this so much!"}

// fullModel is the random-initialised model of the real
// distilbert-base-uncased-finetuned-sst-2-english shape (6 layers, 66M
// parameters) with the real vocabulary.
func fullModel(t *testing.T) string {
	return testenv.Model(t, testenv.ModelSpec{Name: "distilbert-sst2"})
}

// TestCourseWalkthrough follows "behind the pipeline" stage by stage on the
// full-size model and checks every stage against Python in the same run.
func TestCourseWalkthrough(t *testing.T) {
	ctx := context.Background()
	dir := fullModel(t)
	require.NoError(t, torch.SetNumThreads(parityThreads))

	var ref struct {
		Texts struct {
			Tokenizer struct {
				Padded struct {
					InputIDs      [][]int64 `json:"input_ids"`
					AttentionMask [][]int64 `json:"attention_mask"`
				} `json:"padded"`
			} `json:"tokenizer"`
			PaddedBatch refBatch   `json:"padded_batch"`
			Pipeline    []refEntry `json:"pipeline"`
		} `json:"texts"`
	}
	out := filepath.Join(t.TempDir(), "ref.json")
	testenv.RunPython(t, "export.py", "reference", "--model", dir, "--head", "sequence-classification",
		"--text", courseSentences[0], "--text", courseSentences[1], "--threads", fmt.Sprint(parityThreads), "--out", out)
	readJSON(t, out, &ref)

	// 1. Tokenizer: padding=True, truncation=True.
	tok, err := hf.AutoTokenizer.FromPretrained(ctx, dir)
	require.NoError(t, err)
	batch, err := tok.EncodeBatch(ctx, courseSentences, tokenizer.Options{Padding: tokenizer.PadLongest, Truncation: tokenizer.LongestFirst})
	require.NoError(t, err)
	assert.Equal(t, [2]int{2, 16}, [2]int{batch.Size, batch.SeqLen})
	want := ref.Texts.Tokenizer.Padded
	for r := 0; r < 2; r++ {
		assert.Equal(t, want.InputIDs[r], batch.InputIDs[r*16:(r+1)*16], "input_ids row %d", r)
		assert.Equal(t, want.AttentionMask[r], batch.AttentionMask[r*16:(r+1)*16], "attention_mask row %d", r)
	}
	assert.Equal(t, int64(0), batch.InputIDs[31], "padding id 0")

	// 2. Model: AutoModel -> last_hidden_state; the classifier -> logits.
	base, err := hf.AutoModel.FromPretrained(ctx, dir)
	require.NoError(t, err)
	defer base.Close()
	hidden, err := base.Forward(ctx, batch)
	require.NoError(t, err)
	assert.Equal(t, []int64{2, 16, 768}, hidden.LastHiddenState.Shape())
	hidden.Close()

	clf, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, dir)
	require.NoError(t, err)
	defer clf.Close()
	out2, err := clf.Forward(ctx, batch)
	require.NoError(t, err)
	defer out2.Close()
	assert.Equal(t, []int64{2, 2}, out2.Logits.Shape())
	logits, err := torch.ToSlice[float32](out2.Logits)
	require.NoError(t, err)
	assert.Equal(t, ref.Texts.PaddedBatch.TorchScript.floats(t), logits, "logits bit for bit against Python's TorchScript run")
	assert.Equal(t, ref.Texts.PaddedBatch.Eager.floats(t), logits, "logits bit for bit against eager transformers (same kernels, same weight placement)")

	// 3. Post-processing: softmax and id2label, as the pipeline does (one
	// text at a time, its default).
	p, err := NewTextClassification(ctx, WithModel(dir), WithBatchSize(1))
	require.NoError(t, err)
	defer p.Close()
	res, err := p.Run(ctx, courseSentences...)
	require.NoError(t, err)
	require.Len(t, ref.Texts.Pipeline, 2)
	for i, w := range ref.Texts.Pipeline {
		assert.Equal(t, w.Label, res[i][0].Label)
		assert.Equal(t, w.ScoreHex, f32hex(res[i][0].Score), "score of %q bit for bit (%v vs %v)", courseSentences[i], res[i][0].Score, w.Score)
	}
	t.Logf("logits %v -> %v", logits, res)
}
