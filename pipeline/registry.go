package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Pipeline is what every task's pipeline offers: its typed Run is on the
// concrete type (get it without a type assertion from the task's
// constructor, or from [NewAs]); RunAny runs any task with untyped values,
// for code that picks the task at run time (the CLI, a server).
type Pipeline interface {
	// Task is the canonical task name.
	Task() string
	// RunAny runs the task's Run: inputs must be of the type Run takes
	// (e.g. []string, []QAInput), and the result is what Run returns
	// (e.g. [][]Entity), as an any.
	RunAny(ctx context.Context, inputs any, opts ...CallOption) (any, error)
	// Close frees the model.
	Close() error
}

// tasks maps task names and aliases to constructors, as transformers'
// SUPPORTED_TASKS and TASK_ALIASES do.
var tasks = map[string]func(context.Context, ...Option) (Pipeline, error){
	"text-classification":  func(ctx context.Context, o ...Option) (Pipeline, error) { return NewTextClassification(ctx, o...) },
	"feature-extraction":   func(ctx context.Context, o ...Option) (Pipeline, error) { return NewFeatureExtraction(ctx, o...) },
	"token-classification": func(ctx context.Context, o ...Option) (Pipeline, error) { return NewTokenClassification(ctx, o...) },
	"question-answering":   func(ctx context.Context, o ...Option) (Pipeline, error) { return NewQuestionAnswering(ctx, o...) },
	"fill-mask":            func(ctx context.Context, o ...Option) (Pipeline, error) { return NewFillMask(ctx, o...) },
	"sentence-embeddings":  func(ctx context.Context, o ...Option) (Pipeline, error) { return NewSentenceEmbedding(ctx, o...) },
	"zero-shot-classification": func(ctx context.Context, o ...Option) (Pipeline, error) {
		return NewZeroShotClassification(ctx, o...)
	},
	"text-ranking": func(ctx context.Context, o ...Option) (Pipeline, error) { return NewReranker(ctx, o...) },
}

var aliases = map[string]string{"sentiment-analysis": "text-classification", "ner": "token-classification",
	"rerank": "text-ranking", "sentence-similarity": "sentence-embeddings"}

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

// NewAs is New returning the task's concrete pipeline type, so that its
// typed Run needs no type assertion:
//
//	ner, err := pipeline.NewAs[*pipeline.TokenClassification](ctx, "ner", pipeline.WithModel(dir))
//
// It returns an error when the task's pipeline is not a P.
func NewAs[P Pipeline](ctx context.Context, task string, opts ...Option) (P, error) {
	var zero P
	p, err := New(ctx, task, opts...)
	if err != nil {
		return zero, err
	}
	typed, ok := p.(P)
	if !ok {
		p.Close()
		return zero, fmt.Errorf("pipeline: task %q makes a %T, not a %T", task, p, zero)
	}
	return typed, nil
}
