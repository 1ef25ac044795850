// Package wordlevel is tokenizers' WordLevel model: each piece is one token
// of the vocabulary or the unk token.
package wordlevel

import (
	"fmt"

	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/model"
)

// Model is a loaded WordLevel model.
type Model struct {
	vocab map[string]int64
	unk   string
}

// New builds the model.
func New(vocab map[string]int64, unk string) *Model { return &Model{vocab, unk} }

// Vocab implements model.Model.
func (m *Model) Vocab() map[string]int64 { return m.vocab }

// Tokenize implements model.Model.
func (m *Model) Tokenize(s string, dst []model.Token) ([]model.Token, error) {
	if id, ok := m.vocab[s]; ok {
		return append(dst, model.Token{ID: id, Value: s, Start: 0, End: len(s)}), nil
	}
	if id, ok := m.vocab[m.unk]; ok {
		return append(dst, model.Token{ID: id, Value: m.unk, Start: 0, End: len(s)}), nil
	}
	return dst, fmt.Errorf("WordLevel: %q is not in the vocabulary and unk_token %q is missing", s, m.unk)
}
