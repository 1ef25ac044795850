package hf

import (
	"context"
	"fmt"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/torch"
)

// TokenClassifierOutput is the output of AutoModelForTokenClassification:
// logits [batch, sequence, num_labels] on the model's device.
type TokenClassifierOutput struct {
	Logits *torch.Tensor
}

// Close frees the output tensors.
func (o *TokenClassifierOutput) Close() error { return o.Logits.Close() }

// ModelForTokenClassification is a model with a token classification head
// (transformers' AutoModelForTokenClassification), as NER models have.
type ModelForTokenClassification struct{ *Model }

// Forward returns the per-token logits for a padded batch.
func (m *ModelForTokenClassification) Forward(ctx context.Context, b *tokenizer.Batch) (*TokenClassifierOutput, error) {
	t, err := m.Run(ctx, b)
	if err != nil {
		return nil, err
	}
	if s := t.Shape(); len(s) != 3 || (m.Config.NumLabels() > 0 && s[2] != int64(m.Config.NumLabels())) {
		t.Close()
		return nil, fmt.Errorf("hf: %s returned token logits of shape %v but config.json has %d labels: the weights and the config do not belong together", m.source, s, m.Config.NumLabels())
	}
	return &TokenClassifierOutput{Logits: t}, nil
}

// AutoModelForTokenClassificationLoader loads token classifiers; use the
// AutoModelForTokenClassification value.
type AutoModelForTokenClassificationLoader struct{}

// AutoModelForTokenClassification loads a token classifier (NER, POS
// tagging), as transformers' class of that name does.
var AutoModelForTokenClassification AutoModelForTokenClassificationLoader

// FromPretrained loads the token-classification model from a local folder
// or a Hub repo id. A checkpoint whose architectures have no
// ForTokenClassification head is refused.
func (AutoModelForTokenClassificationLoader) FromPretrained(ctx context.Context, idOrPath string, opts ...Option) (*ModelForTokenClassification, error) {
	m, err := loadModel(ctx, idOrPath, HeadTokenClassification, opts)
	if err != nil {
		return nil, err
	}
	return &ModelForTokenClassification{m}, nil
}
