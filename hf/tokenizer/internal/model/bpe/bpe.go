// Package bpe is tokenizers' BPE model: merges applied by rank over a word's
// characters, with continuing_subword_prefix, end_of_word_suffix,
// byte_fallback, fuse_unk, ignore_merges and an unk token.
package bpe

import (
	"container/heap"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/model"
)

// Config is the BPE section of tokenizer.json.
type Config struct {
	Vocab        map[string]int64
	Merges       [][2]string
	Unk          *string
	Prefix       *string // continuing_subword_prefix
	Suffix       *string // end_of_word_suffix
	FuseUnk      bool
	ByteFallback bool
	IgnoreMerges bool
}

type merge struct {
	rank  int32
	newID int32
}

// Model is a loaded BPE model; safe for concurrent use.
type Model struct {
	vocab   map[string]int64
	vocabR  []string
	merges  map[uint64]merge
	unk     string
	hasUnk  bool
	prefix  string
	suffix  string
	fuseUnk bool
	byteFB  bool
	ignore  bool
	byteIDs [256]int64 // <0xXX> ids for byte_fallback, -1 when absent
	cache   model.Cache
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// New builds the model, checking what tokenizers' BpeBuilder::build checks.
func New(c Config) (*Model, error) {
	m := &Model{vocab: c.Vocab, merges: make(map[uint64]merge, len(c.Merges)),
		fuseUnk: c.FuseUnk, byteFB: c.ByteFallback, ignore: c.IgnoreMerges}
	var maxID int64 = -1
	for tok, id := range c.Vocab {
		if id < 0 || id >= model.MaxID {
			return nil, fmt.Errorf("BPE vocab: token %q has id %d, outside [0, %d)", tok, id, model.MaxID)
		}
		maxID = max(maxID, id)
	}
	m.vocabR = make([]string, maxID+1)
	for tok, id := range c.Vocab {
		if m.vocabR[id] == "" || tok < m.vocabR[id] {
			m.vocabR[id] = tok
		}
	}
	if c.Unk != nil {
		m.unk, m.hasUnk = *c.Unk, true
	}
	if c.Prefix != nil {
		m.prefix = *c.Prefix
	}
	if c.Suffix != nil {
		m.suffix = *c.Suffix
	}
	for i, p := range c.Merges {
		a, ok := c.Vocab[p[0]]
		if !ok {
			return nil, fmt.Errorf("BPE merge %d: %q is not in the vocabulary", i+1, p[0])
		}
		b, ok := c.Vocab[p[1]]
		if !ok {
			return nil, fmt.Errorf("BPE merge %d: %q is not in the vocabulary", i+1, p[1])
		}
		if len(p[1]) < len(m.prefix) {
			return nil, fmt.Errorf("BPE merge %d: %q is shorter than continuing_subword_prefix %q", i+1, p[1], m.prefix)
		}
		nt := p[0] + p[1][len(m.prefix):]
		n, ok := c.Vocab[nt]
		if !ok {
			return nil, fmt.Errorf("BPE merge %d: merged token %q is not in the vocabulary", i+1, nt)
		}
		m.merges[pairKey(int32(a), int32(b))] = merge{int32(i), int32(n)}
	}
	for b := range 256 {
		m.byteIDs[b] = -1
		if id, ok := c.Vocab[fmt.Sprintf("<0x%02X>", b)]; ok {
			m.byteIDs[b] = id
		}
	}
	return m, nil
}

// Vocab implements model.Model.
func (m *Model) Vocab() map[string]int64 { return m.vocab }

type symbol struct {
	c          int32
	prev, next int32
	len        int32
}

type qitem struct {
	pos   int32
	rank  int32
	newID int32
}

// queue is tokenizers' Merge ordering: lowest rank, then lowest position.
type queue []qitem

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].rank != q[j].rank {
		return q[i].rank < q[j].rank
	}
	return q[i].pos < q[j].pos
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(qitem)) }
func (q *queue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// Tokenize implements model.Model (BPE::tokenize without dropout).
func (m *Model) Tokenize(w string, dst []model.Token) ([]model.Token, error) {
	if w == "" {
		return dst, nil
	}
	if m.ignore {
		if id, ok := m.vocab[w]; ok {
			return append(dst, model.Token{ID: id, Value: w, Start: 0, End: len(w)}), nil
		}
	}
	if out, ok := m.cache.Get(w, dst); ok {
		return out, nil
	}
	mark := len(dst)
	dst, err := m.tokenize(w, dst)
	if err == nil {
		m.cache.Put(w, dst[mark:])
	}
	return dst, err
}

func (m *Model) tokenize(w string, dst []model.Token) ([]model.Token, error) {
	syms := make([]symbol, 0, len(w))
	add := func(c int64, l int) {
		n := int32(len(syms))
		prev := int32(-1)
		if n > 0 {
			syms[n-1].next = n
			prev = n - 1
		}
		syms = append(syms, symbol{c: int32(c), prev: prev, next: -1, len: int32(l)})
	}
	unkID, unkLen, haveUnk := int64(0), 0, false
	var sb strings.Builder
	for i := 0; i < len(w); {
		_, size := utf8.DecodeRuneInString(w[i:])
		first, last := i == 0, i+size == len(w)
		piece := w[i : i+size]
		if (!first && m.prefix != "") || (last && m.suffix != "") {
			sb.Reset()
			if !first {
				sb.WriteString(m.prefix)
			}
			sb.WriteString(piece)
			if last {
				sb.WriteString(m.suffix)
			}
			piece = sb.String()
		}
		i += size
		if id, ok := m.vocab[piece]; ok {
			if haveUnk {
				add(unkID, unkLen)
				haveUnk = false
			}
			add(id, size)
			continue
		}
		if m.byteFB {
			all := true
			for k := 0; k < len(piece); k++ {
				if m.byteIDs[piece[k]] < 0 {
					all = false
					break
				}
			}
			if all {
				for k := 0; k < len(piece); k++ {
					add(m.byteIDs[piece[k]], 1)
				}
				continue
			}
		}
		if m.hasUnk {
			id, ok := m.vocab[m.unk]
			if !ok {
				return dst, fmt.Errorf("BPE: unk_token %q is not in the vocabulary", m.unk)
			}
			switch {
			case haveUnk && m.fuseUnk:
				unkLen += size
			case haveUnk:
				add(unkID, unkLen)
				unkID, unkLen = id, size
			default:
				unkID, unkLen, haveUnk = id, size, true
			}
		}
	}
	if haveUnk {
		add(unkID, unkLen)
	}
	m.mergeAll(syms)
	pos := 0
	for _, s := range syms {
		if s.len == 0 {
			continue
		}
		dst = append(dst, model.Token{ID: int64(s.c), Value: m.vocabR[s.c], Start: pos, End: pos + int(s.len)})
		pos += int(s.len)
	}
	return dst, nil
}

// mergeAll is Word::merge_all without dropout.
func (m *Model) mergeAll(syms []symbol) {
	q := make(queue, 0, len(syms))
	for i := 0; i+1 < len(syms); i++ {
		if mg, ok := m.merges[pairKey(syms[i].c, syms[i+1].c)]; ok {
			q = append(q, qitem{int32(i), mg.rank, mg.newID})
		}
	}
	heap.Init(&q)
	for q.Len() > 0 {
		top := heap.Pop(&q).(qitem)
		cur := &syms[top.pos]
		if cur.len == 0 || cur.next == -1 {
			continue
		}
		nextPos := cur.next
		right := syms[nextPos]
		if mg, ok := m.merges[pairKey(cur.c, right.c)]; !ok || mg.newID != top.newID {
			continue
		}
		cur.c = top.newID
		cur.len += right.len
		cur.next = right.next
		syms[nextPos].len = 0
		if right.next > -1 && int(right.next) < len(syms) {
			syms[right.next].prev = top.pos
		}
		if cur.prev >= 0 {
			if mg, ok := m.merges[pairKey(syms[cur.prev].c, cur.c)]; ok {
				heap.Push(&q, qitem{cur.prev, mg.rank, mg.newID})
			}
		}
		if n := cur.next; n >= 0 && int(n) < len(syms) {
			if mg, ok := m.merges[pairKey(cur.c, syms[n].c)]; ok {
				heap.Push(&q, qitem{top.pos, mg.rank, mg.newID})
			}
		}
	}
}
