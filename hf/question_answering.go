package hf

import (
	"context"
	"fmt"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/torch"
)

// QuestionAnsweringOutput is the output of
// AutoModelForQuestionAnswering: the span start and end logits, each
// [batch, sequence] on the model's device.
type QuestionAnsweringOutput struct {
	StartLogits, EndLogits *torch.Tensor
}

// Close frees the output tensors.
func (o *QuestionAnsweringOutput) Close() error {
	torch.CloseValue(torch.Tuple{o.StartLogits, o.EndLogits})
	return nil
}

// ModelForQuestionAnswering is a model with an extractive
// question-answering head (transformers' AutoModelForQuestionAnswering).
type ModelForQuestionAnswering struct{ *Model }

// Forward returns the start and end logits for a padded batch.
func (m *ModelForQuestionAnswering) Forward(ctx context.Context, b *tokenizer.Batch) (*QuestionAnsweringOutput, error) {
	inputs, err := m.Inputs(b)
	if err != nil {
		return nil, err
	}
	defer torch.CloseValue(torch.Tuple(inputs))
	out, err := m.ForwardTensors(ctx, inputs...)
	if err != nil {
		return nil, err
	}
	tup, ok := out.(torch.Tuple)
	if ok && len(tup) == 2 {
		start, ok1 := tup[0].(*torch.Tensor)
		end, ok2 := tup[1].(*torch.Tensor)
		want := []int64{int64(b.Size), int64(b.SeqLen)}
		if ok1 && ok2 && sameShape(start.Shape(), want) && sameShape(end.Shape(), want) {
			return &QuestionAnsweringOutput{StartLogits: start, EndLogits: end}, nil
		}
	}
	desc := describeValue(out)
	torch.CloseValue(out)
	return nil, fmt.Errorf("hf: %s returned %s for a %dx%d batch, want start and end logits of that shape", m.source, desc, b.Size, b.SeqLen)
}

func sameShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// describeValue names a forward pass's output for messages.
func describeValue(v torch.Value) string {
	switch x := v.(type) {
	case *torch.Tensor:
		return fmt.Sprintf("a tensor of shape %v", x.Shape())
	case torch.Tuple:
		return fmt.Sprintf("a tuple of %d values", len(x))
	}
	return fmt.Sprintf("%T", v)
}

// AutoModelForQuestionAnsweringLoader loads extractive question-answering
// models; use the AutoModelForQuestionAnswering value.
type AutoModelForQuestionAnsweringLoader struct{}

// AutoModelForQuestionAnswering loads an extractive question-answering
// model, as transformers' class of that name does.
var AutoModelForQuestionAnswering AutoModelForQuestionAnsweringLoader

// FromPretrained loads the question-answering model from a local folder or
// a Hub repo id. A checkpoint whose architectures have no
// ForQuestionAnswering head is refused.
func (AutoModelForQuestionAnsweringLoader) FromPretrained(ctx context.Context, idOrPath string, opts ...Option) (*ModelForQuestionAnswering, error) {
	m, err := loadModel(ctx, idOrPath, HeadQuestionAnswering, opts)
	if err != nil {
		return nil, err
	}
	return &ModelForQuestionAnswering{m}, nil
}
