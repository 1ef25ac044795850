// Package model defines what tokenizers' models (BPE, Unigram, WordLevel,
// WordPiece, each in its own sub-package) give back for one pre-tokenized
// piece.
package model

// MaxID bounds token ids (exclusive): 16M, beyond any real vocabulary,
// so that a file's ids cannot make an id-indexed table exhaust memory.
const MaxID = 1 << 24

// Token is one token of a piece: its id, its string, and the byte range
// [Start, End) of the piece's normalized text it covers.
type Token struct {
	ID         int64
	Value      string
	Start, End int
}

// Model tokenizes one pre-tokenized piece.
type Model interface {
	// Tokenize appends the tokens of s to dst.
	Tokenize(s string, dst []Token) ([]Token, error)
	// Vocab returns the model's vocabulary (token to id).
	Vocab() map[string]int64
}
