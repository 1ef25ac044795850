package pipeline

import (
	"sort"
)

// Result is one label of a classification with its score.
type Result struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// ChooseFunction picks the function transformers' text-classification
// pipeline applies when none is given: none for regression, sigmoid for
// multi-label problems or a single logit, softmax otherwise.
func ChooseFunction(problemType string, numLabels int) Function {
	switch {
	case problemType == "regression":
		return FunctionNone
	case problemType == "multi_label_classification" || numLabels == 1:
		return FunctionSigmoid
	}
	return FunctionSoftmax
}

// Postprocess turns logits ([rows, numLabels] row-major) into results: the
// function is applied per row, then the topK best labels are kept
// (AllLabels: all, sorted by score). It follows transformers' postprocess,
// which works in float32 numpy after .float(): scores are computed in
// float32, so they match Python's to the last bit where the exponentials do.
func Postprocess(logits []float32, numLabels int, label func(int) string, fn Function, topK int) [][]Result {
	scores := Scores(logits, numLabels, fn)
	if scores == nil {
		return nil
	}
	out := make([][]Result, len(scores)/numLabels)
	for r := range out {
		out[r] = topResults(scores[r*numLabels:(r+1)*numLabels], label, topK)
	}
	return out
}

// Scores applies fn to each row of logits ([rows, numLabels] row-major) in
// float32, as transformers' postprocess does, and returns the scores in the
// same layout (FunctionAuto means softmax here; pipelines resolve it first).
func Scores(logits []float32, numLabels int, fn Function) []float32 {
	if numLabels <= 0 {
		return nil
	}
	scores := make([]float32, len(logits)/numLabels*numLabels)
	for r := 0; r < len(scores)/numLabels; r++ {
		row, dst := logits[r*numLabels:(r+1)*numLabels], scores[r*numLabels:(r+1)*numLabels]
		switch fn {
		case FunctionSigmoid:
			sigmoid(row, dst)
		case FunctionNone:
			copy(dst, row)
		default:
			softmax(row, dst)
		}
	}
	return scores
}

func topResults(scores []float32, label func(int) string, topK int) []Result {
	if topK == 1 {
		// transformers' legacy path: argmax, first index on ties.
		best := 0
		for i, s := range scores {
			if s > scores[best] {
				best = i
			}
		}
		return []Result{{Label: label(best), Score: float64(scores[best])}}
	}
	res := make([]Result, len(scores))
	for i, s := range scores {
		res[i] = Result{Label: label(i), Score: float64(s)}
	}
	// Python's sort(reverse=True) is stable: ties keep label order.
	sort.SliceStable(res, func(i, j int) bool { return res[i].Score > res[j].Score })
	if topK > 0 && topK < len(res) {
		res = res[:topK]
	}
	return res
}

// softmax is transformers' numpy softmax on float32, step for step
// (npSoftmax32: numpy's vectorised exp and pairwise sum), so scores are
// bitwise equal to Python's wherever the logits are.
func softmax(x, out []float32) { npSoftmax32(x, out) }

// sigmoid mirrors 1.0 / (1.0 + np.exp(-x)) on float32, with numpy's exp.
func sigmoid(x, out []float32) {
	for i, v := range x {
		out[i] = 1 / (1 + npExp32(-v))
	}
}
