package pipeline

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// CallOption sets one per-call setting of a task, as a keyword argument of
// transformers' pipeline call does (pipe(texts, top_k=3) is
// p.Run(ctx, texts, pipeline.TopK(3))). Give call options to Run, or to a
// constructor through [WithDefaults] to change what the pipeline does when a
// call gives none. An option the task does not take, or a value it refuses,
// makes the call return an error that names the option.
//
// The zero CallOption is invalid.
type CallOption struct {
	name  string                  // transformers' keyword, for messages
	apply func(settings any) bool // sets the value; false: the task does not take it
	err   error                   // a value refused when the option was made
}

// Name is the transformers keyword the option sets ("top_k").
func (o CallOption) Name() string { return o.name }

// callOption makes a CallOption that applies to the settings type S only.
func callOption[S any](name string, set func(*S)) CallOption {
	return CallOption{name: name, apply: func(s any) bool {
		p, ok := s.(*S)
		if ok {
			set(p)
		}
		return ok
	}}
}

// badOption is a CallOption whose value was refused when it was made.
func badOption(name string, err error) CallOption {
	return CallOption{name: name, apply: func(any) bool { return true }, err: err}
}

// topKSetter is implemented by the settings of every task that takes top_k.
type topKSetter interface{ setTopK(int) }

// TopK sets how many results a call returns per input (per mask for
// fill-mask), best first, as transformers' top_k: text-classification
// (where AllLabels is top_k=None), fill-mask and question-answering take it.
func TopK(k int) CallOption {
	if k == 0 || k < AllLabels {
		return badOption("top_k", fmt.Errorf("top_k must be at least 1, got %d", k))
	}
	return CallOption{name: "top_k", apply: func(s any) bool {
		t, ok := s.(topKSetter)
		if ok {
			t.setTopK(k)
		}
		return ok
	}}
}

// settingsChecker is implemented by settings that check their values after
// the options are applied.
type settingsChecker interface{ check() error }

// applyCall returns base with opts applied, checked; base itself is not
// changed. takes lists the options of the task, for the error message.
func applyCall[S any](task string, base S, opts []CallOption, takes []string) (S, error) {
	s := base
	for _, o := range opts {
		if o.apply == nil {
			return s, fmt.Errorf("pipeline: %s: a zero CallOption: make call options with their functions (pipeline.TopK, ...)", task)
		}
		if !o.apply(&s) {
			return s, fmt.Errorf("pipeline: %s takes no %s option (it takes %s)", task, o.name, strings.Join(takes, ", "))
		}
		if o.err != nil {
			return s, fmt.Errorf("pipeline: %s: %w", task, o.err)
		}
	}
	if c, ok := any(&s).(settingsChecker); ok {
		if err := c.check(); err != nil {
			return s, fmt.Errorf("pipeline: %s: %w", task, err)
		}
	}
	return s, nil
}

// WithDefaults sets call options at construction: they become the
// pipeline's defaults, which each call's own options override, as
// transformers' pipeline(task, top_k=3) does. The constructor returns an
// error for an option the task does not take.
func WithDefaults(opts ...CallOption) Option {
	return func(o *Options) { o.Defaults = append(slices.Clone(o.Defaults), opts...) }
}

// errInputType is wrapped by RunAny's error for inputs of the wrong type.
var errInputType = errors.New("pipeline: RunAny: inputs of the wrong type")

// inputTypeError says which input type a task's RunAny takes.
func inputTypeError(task string, got any, want string) error {
	return fmt.Errorf("%w: %s takes %s, got %T", errInputType, task, want, got)
}
