package pipeline

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSpanTasksBadInput: each failure a user can cause names its cause.
func TestSpanTasksBadInput(t *testing.T) {
	ctx := context.Background()
	nerDir := spanModel(t, "token-classification", "distilbert")
	qaDir := spanModel(t, "question-answering", "distilbert")
	mlmDir := spanModel(t, "fill-mask", "distilbert")

	t.Run("missing head", func(t *testing.T) {
		_, err := NewTokenClassification(ctx, WithModel(mlmDir))
		assert.ErrorContains(t, err, "no ForTokenClassification head")
		_, err = NewQuestionAnswering(ctx, WithModel(nerDir))
		assert.ErrorContains(t, err, "no ForQuestionAnswering head")
		_, err = NewFillMask(ctx, WithModel(qaDir))
		assert.ErrorContains(t, err, "no ForMaskedLM head")
		_, err = NewFillMask(ctx)
		assert.ErrorContains(t, err, "needs a model")
	})

	ner, err := NewTokenClassification(ctx, WithModel(nerDir))
	require.NoError(t, err)
	defer ner.Close()
	t.Run("token-classification", func(t *testing.T) {
		_, err := ner.Run(ctx, []string{"a"}, Stride(8))
		assert.ErrorContains(t, err, `aggregation_strategy is "none"`)
		_, err = ner.Run(ctx, []string{"a"}, AggregationStrategy(AggregateFirst), Stride(600))
		assert.ErrorContains(t, err, "stride 600 must be less than")
		_, err = ner.Run(ctx, []string{"a"}, TopK(2))
		assert.ErrorContains(t, err, "token-classification takes no top_k option")
		_, err = ner.Run(ctx, []string{"a"}, Stride(-2))
		assert.ErrorContains(t, err, "stride must be at least 0")
		_, err = NewTokenClassification(ctx, WithModel(nerDir), WithDefaults(Targets("x")))
		assert.ErrorContains(t, err, "takes no targets option")
		_, err = ner.RunAny(ctx, []int{1})
		assert.ErrorContains(t, err, "takes []string, got []int")
		_, err = ParseAggregation("mean")
		assert.ErrorContains(t, err, "unknown aggregation_strategy")
		res, err := ner.Run(ctx, []string{"", " "})
		require.NoError(t, err)
		assert.Equal(t, [][]Entity{{}, {}}, res, "texts without tokens have no entities")
	})

	qa, err := NewQuestionAnswering(ctx, WithModel(qaDir))
	require.NoError(t, err)
	defer qa.Close()
	t.Run("question-answering", func(t *testing.T) {
		_, err := qa.Run(ctx, []QAInput{{Question: "Who?", Context: ""}})
		assert.ErrorContains(t, err, "the context is empty")
		_, err = qa.Run(ctx, []QAInput{{Question: "", Context: "Text."}})
		assert.ErrorContains(t, err, "the question is empty")
		long := strings.Repeat("why ", 400)
		_, err = qa.Run(ctx, []QAInput{{Question: long, Context: "Some context here."}})
		assert.ErrorContains(t, err, "leaving no room for the context")
		_, err = qa.Run(ctx, []QAInput{{Question: "Who?", Context: strings.Repeat("word ", 600)}}, DocStride(383))
		assert.ErrorContains(t, err, "doc_stride")
		_, err = qa.Run(ctx, []QAInput{{Question: "Who?", Context: "x"}}, MaxSeqLen(1000))
		assert.ErrorContains(t, err, "exceeds the model's 512 positions")
		_, err = qa.Run(ctx, []QAInput{{Question: "Who?", Context: "x"}}, TopK(0))
		assert.ErrorContains(t, err, "top_k must be at least 1")
		_, err = qa.Run(ctx, []QAInput{{Question: "Who?", Context: "x"}}, MaxAnswerLen(0))
		assert.ErrorContains(t, err, "max_answer_len parameter should be >= 1")
	})

	fm, err := NewFillMask(ctx, WithModel(mlmDir))
	require.NoError(t, err)
	defer fm.Close()
	t.Run("fill-mask", func(t *testing.T) {
		_, err := fm.Run(ctx, []string{"This is a [MASK].", "No mask here."})
		assert.ErrorContains(t, err, "input 1 has no mask token ([MASK])")
		_, err = fm.Run(ctx, []string{"[MASK] " + strings.Repeat("word ", 600)})
		assert.ErrorContains(t, err, "more than the model's 512 positions")
		_, err = fm.Run(ctx, []string{"a [MASK]"}, Targets())
		assert.ErrorContains(t, err, "targets is empty")
		_, err = fm.Run(ctx, []string{"a [MASK]"}, AggregationStrategy(AggregateSimple))
		assert.ErrorContains(t, err, "fill-mask takes no aggregation_strategy option (it takes top_k, targets)")
		res, err := fm.Run(ctx, []string{"a [MASK] b [MASK]"}, TopK(2), Targets("good", "good", "bad", "worse"))
		require.NoError(t, err)
		require.Len(t, res[0], 2, "one list per mask")
		assert.Len(t, res[0][0], 2)
	})
}
