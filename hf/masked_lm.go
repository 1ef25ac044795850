package hf

import (
	"context"
	"fmt"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/torch"
)

// MaskedLMOutput is the output of AutoModelForMaskedLM: logits over the
// vocabulary, [batch, sequence, vocab_size] on the model's device.
type MaskedLMOutput struct {
	Logits *torch.Tensor
}

// Close frees the output tensors.
func (o *MaskedLMOutput) Close() error { return o.Logits.Close() }

// ModelForMaskedLM is a model with a masked-language-modelling head
// (transformers' AutoModelForMaskedLM), as fill-mask uses.
type ModelForMaskedLM struct{ *Model }

// Forward returns the vocabulary logits for a padded batch.
func (m *ModelForMaskedLM) Forward(ctx context.Context, b *tokenizer.Batch) (*MaskedLMOutput, error) {
	t, err := m.Run(ctx, b)
	if err != nil {
		return nil, err
	}
	if s := t.Shape(); len(s) != 3 || s[0] != int64(b.Size) || s[1] != int64(b.SeqLen) {
		t.Close()
		return nil, fmt.Errorf("hf: %s returned masked-LM logits of shape %v for a %dx%d batch", m.source, s, b.Size, b.SeqLen)
	}
	return &MaskedLMOutput{Logits: t}, nil
}

// AutoModelForMaskedLMLoader loads masked language models; use the
// AutoModelForMaskedLM value.
type AutoModelForMaskedLMLoader struct{}

// AutoModelForMaskedLM loads a masked language model, as transformers'
// class of that name does.
var AutoModelForMaskedLM AutoModelForMaskedLMLoader

// FromPretrained loads the masked-LM model from a local folder or a Hub
// repo id. A checkpoint whose architectures have no ForMaskedLM head is
// refused.
func (AutoModelForMaskedLMLoader) FromPretrained(ctx context.Context, idOrPath string, opts ...Option) (*ModelForMaskedLM, error) {
	m, err := loadModel(ctx, idOrPath, HeadMaskedLM, opts)
	if err != nil {
		return nil, err
	}
	return &ModelForMaskedLM{m}, nil
}
