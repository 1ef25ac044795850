// Package wordpiece is tokenizers' WordPiece model for pipelines other than
// BERT's own (which package tokenizer runs on a faster dedicated path):
// greedy longest match with a continuation prefix, unk for words it cannot
// cover or longer than max_input_chars_per_word.
package wordpiece

import (
	"fmt"
	"unicode/utf8"

	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/model"
)

// Model is a loaded WordPiece model.
type Model struct {
	vocab    map[string]int64
	unk      string
	prefix   string
	maxChars int
}

// New builds the model.
func New(vocab map[string]int64, unk, prefix string, maxChars int) *Model {
	return &Model{vocab, unk, prefix, maxChars}
}

// Vocab implements model.Model.
func (m *Model) Vocab() map[string]int64 { return m.vocab }

func (m *Model) unkTok(s string, dst []model.Token) ([]model.Token, error) {
	id, ok := m.vocab[m.unk]
	if !ok {
		return dst, fmt.Errorf("WordPiece: unk_token %q is not in the vocabulary", m.unk)
	}
	return append(dst, model.Token{ID: id, Value: m.unk, Start: 0, End: len(s)}), nil
}

// Tokenize implements model.Model.
func (m *Model) Tokenize(s string, dst []model.Token) ([]model.Token, error) {
	if utf8.RuneCountInString(s) > m.maxChars {
		return m.unkTok(s, dst)
	}
	mark := len(dst)
	for start := 0; start < len(s); {
		end := len(s)
		found := false
		for start < end {
			sub := s[start:end]
			if start > 0 {
				sub = m.prefix + sub
			}
			if id, ok := m.vocab[sub]; ok {
				dst = append(dst, model.Token{ID: id, Value: sub, Start: start, End: end})
				found = true
				break
			}
			_, size := utf8.DecodeLastRuneInString(sub)
			end -= size
		}
		if !found {
			return m.unkTok(s, dst[:mark])
		}
		start = end
	}
	return dst, nil
}
