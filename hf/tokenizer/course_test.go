package tokenizer

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCourseSentences is the Hugging Face course example: two sentences,
// padding="longest", truncation=True, compared with what Python gives in
// the same run.
func TestCourseSentences(t *testing.T) {
	texts := []string{
		"I've been waiting for a HuggingFace course my whole life.",
		"I hate this so much!",
	}
	s := setting{Name: "course", Input: "single", Batch: 2, Padding: "longest", Truncation: true, AddSpecialTokens: true}
	ref := runReference(t, []corpusItem{{"course", texts[0]}, {"course", texts[1]}}, nil, []refRun{{"uncased", s}})

	tk := loadFolder(t, "uncased")
	b, err := tk.EncodeBatch(context.Background(), texts, Options{Padding: PadLongest, Truncation: LongestFirst})
	require.NoError(t, err)
	require.Equal(t, 2, b.Size)
	require.Equal(t, 16, b.SeqLen)
	rows := ref.Runs[0].Rows
	require.Len(t, rows, 2)
	var wantIDs, wantMask []int64
	for _, r := range rows {
		require.Len(t, r.IDs, 16)
		wantIDs = append(wantIDs, r.IDs...)
		wantMask = append(wantMask, r.AM...)
	}
	require.Equal(t, wantIDs, b.InputIDs)
	require.Equal(t, wantMask, b.AttentionMask)
	// The short sentence is padded with [PAD] = 0.
	require.Equal(t, int64(0), b.InputIDs[31])
	require.Equal(t, int64(0), b.AttentionMask[31])
}
