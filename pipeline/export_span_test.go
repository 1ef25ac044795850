package pipeline

import "github.com/hfpipe/hfpipe/internal/testenv"

// SpanTestModel is, for the examples (package pipeline_test), the test
// model folder of a task: DistilBERT with random weights and a scaled head.
// It panics when the model cannot be built (no Python set-up).
func SpanTestModel(task string) string {
	dir, err := testenv.BuildSpanModel(task, "distilbert")
	if err != nil {
		panic(err)
	}
	return dir
}
