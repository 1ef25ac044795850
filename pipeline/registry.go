package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Pipeline is what every task's pipeline offers beyond its typed Run.
type Pipeline interface {
	// Task is the canonical task name.
	Task() string
	// Close frees the model.
	Close() error
}

// tasks maps task names and aliases to constructors, as transformers'
// SUPPORTED_TASKS and TASK_ALIASES do.
var tasks = map[string]func(context.Context, ...Option) (Pipeline, error){
	"text-classification": func(ctx context.Context, o ...Option) (Pipeline, error) { return NewTextClassification(ctx, o...) },
	"feature-extraction":  func(ctx context.Context, o ...Option) (Pipeline, error) { return NewFeatureExtraction(ctx, o...) },
}

var aliases = map[string]string{"sentiment-analysis": "text-classification"}

// Tasks lists the task names New accepts, aliases included.
func Tasks() []string {
	var out []string
	for t := range tasks {
		out = append(out, t)
	}
	for a := range aliases {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// New makes the pipeline of a task ("sentiment-analysis" and
// "text-classification" give a *TextClassification, "feature-extraction" a
// *FeatureExtraction), as transformers.pipeline(task, ...) does.
func New(ctx context.Context, task string, opts ...Option) (Pipeline, error) {
	name := task
	if a, ok := aliases[name]; ok {
		name = a
	}
	mk, ok := tasks[name]
	if !ok {
		return nil, fmt.Errorf("pipeline: unknown task %q (available: %s)", task, strings.Join(Tasks(), ", "))
	}
	return mk(ctx, opts...)
}
