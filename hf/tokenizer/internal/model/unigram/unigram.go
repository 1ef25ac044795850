// Package unigram is tokenizers' Unigram model (SentencePiece's): the
// best-scoring segmentation by Viterbi over the vocabulary's pieces, unknown
// characters fused into one unk token, optional byte fallback.
package unigram

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/model"
)

// unkPenalty is K_UNK_PENALTY: an unknown character scores the lowest
// piece score minus this.
const unkPenalty = 10.0

// Piece is one vocabulary entry and its log probability.
type Piece struct {
	Token string
	Score float64
}

// Model is a loaded Unigram model; safe for concurrent use.
type Model struct {
	pieces   []Piece
	ids      map[string]int64
	trie     trie
	minScore float64
	unkID    int64 // -1 when none
	byteFB   bool
	byteIDs  [256]int64
	cache    model.Cache
}

// New builds the model as Unigram::from does.
func New(pieces []Piece, unkID *int, byteFallback bool) (*Model, error) {
	m := &Model{pieces: pieces, ids: make(map[string]int64, len(pieces)), unkID: -1, byteFB: byteFallback,
		minScore: math.Inf(1)}
	if unkID != nil {
		if len(pieces) == 0 {
			return nil, errors.New("Unigram: empty vocabulary")
		}
		if *unkID < 0 || *unkID >= len(pieces) {
			return nil, fmt.Errorf("Unigram: unk_id %d is not in the vocabulary (%d pieces)", *unkID, len(pieces))
		}
		m.unkID = int64(*unkID)
	}
	for i, p := range pieces {
		m.ids[p.Token] = int64(i)
		if p.Score < m.minScore {
			m.minScore = p.Score
		}
	}
	m.trie = buildTrie(pieces, m.ids)
	for b := range 256 {
		m.byteIDs[b] = -1
		if id, ok := m.ids[fmt.Sprintf("<0x%02X>", b)]; ok {
			m.byteIDs[b] = id
		}
	}
	return m, nil
}

// Vocab implements model.Model.
func (m *Model) Vocab() map[string]int64 { return m.ids }

type node struct {
	id    int64
	score float64
	start int // -1: not reached
}

// ErrMissingUnk is returned when a character has no piece and the model no unk.
var ErrMissingUnk = errors.New("Unigram: a character has no piece and the model has no unk_id")

// encode is Unigram::encode_optimized: the pieces of s as strings.
func (m *Model) encode(s string, out []string) ([]string, error) {
	unkScore := m.minScore - unkPenalty
	best := make([]node, len(s)+1)
	for i := 1; i <= len(s); i++ {
		best[i].start = -1
	}
	for at := 0; at < len(s); {
		here := best[at].score
		_, mblen := utf8.DecodeRuneInString(s[at:])
		single := false
		var err error
		m.trie.prefixes(s[at:], func(n int, id int64) {
			t := &best[at+n]
			cand := m.pieces[id].Score + here
			if t.start < 0 || cand > t.score {
				t.score, t.start, t.id = cand, at, id
			}
			if n == mblen {
				single = true
			}
		})
		if !single {
			t := &best[at+mblen]
			cand := unkScore + here
			if t.start < 0 || cand > t.score {
				if m.unkID < 0 {
					err = ErrMissingUnk
				}
				t.score, t.start, t.id = cand, at, m.unkID
			}
		}
		if err != nil {
			return out, err
		}
		at += mblen
	}
	// Backtrack, fusing consecutive unknowns.
	var rev []string
	fusedEnd := -1
	for end := len(s); end > 0; {
		n := best[end]
		if n.id == m.unkID && m.unkID >= 0 {
			if fusedEnd < 0 {
				fusedEnd = end
			}
		} else {
			if fusedEnd >= 0 {
				rev = append(rev, s[end:fusedEnd])
				fusedEnd = -1
			}
			rev = append(rev, s[n.start:end])
		}
		end = n.start
	}
	if fusedEnd >= 0 {
		rev = append(rev, s[0:fusedEnd])
	}
	for i := len(rev) - 1; i >= 0; i-- {
		out = append(out, rev[i])
	}
	return out, nil
}

// Tokenize implements model.Model (Unigram::tokenize).
func (m *Model) Tokenize(s string, dst []model.Token) ([]model.Token, error) {
	if s == "" {
		return dst, nil
	}
	if out, ok := m.cache.Get(s, dst); ok {
		return out, nil
	}
	mark := len(dst)
	dst, err := m.tokenize(s, dst)
	if err == nil {
		m.cache.Put(s, dst[mark:])
	}
	return dst, err
}

func (m *Model) tokenize(s string, dst []model.Token) ([]model.Token, error) {
	strs, err := m.encode(s, nil)
	if err != nil {
		return dst, err
	}
	off := 0
	for _, str := range strs {
		l := len(str)
		id, ok := m.ids[str]
		if !ok {
			if m.byteFB {
				all := true
				for k := 0; k < l; k++ {
					if m.byteIDs[str[k]] < 0 {
						all = false
						break
					}
				}
				if all {
					for k := 0; k < l; k++ {
						id := m.byteIDs[str[k]]
						dst = append(dst, model.Token{ID: id, Value: m.pieces[id].Token, Start: off, End: off + l})
					}
					off += l
					continue
				}
			}
			if m.unkID < 0 {
				return dst, ErrMissingUnk
			}
			id = m.unkID
		}
		dst = append(dst, model.Token{ID: id, Value: str, Start: off, End: off + l})
		off += l
	}
	return dst, nil
}

// trie is a byte trie over the pieces: one map from (node, byte) to child.
type trie struct {
	next  map[uint64]int32
	value []int64 // piece id ending at the node, -1 if none
}

func buildTrie(pieces []Piece, ids map[string]int64) trie {
	t := trie{next: make(map[uint64]int32), value: []int64{-1}}
	for _, p := range pieces {
		cur := int32(0)
		for i := 0; i < len(p.Token); i++ {
			k := uint64(cur)<<8 | uint64(p.Token[i])
			nx, ok := t.next[k]
			if !ok {
				nx = int32(len(t.value))
				t.value = append(t.value, -1)
				t.next[k] = nx
			}
			cur = nx
		}
		if cur != 0 {
			t.value[cur] = ids[p.Token]
		}
	}
	return t
}

// prefixes calls f for every piece that is a prefix of s, shortest first.
func (t *trie) prefixes(s string, f func(n int, id int64)) {
	cur := int32(0)
	for i := 0; i < len(s); i++ {
		nx, ok := t.next[uint64(cur)<<8|uint64(s[i])]
		if !ok {
			return
		}
		cur = nx
		if v := t.value[cur]; v >= 0 {
			f(i+1, v)
		}
	}
}
