package tokenizer

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Pair is one sentence pair of [Tokenizer.EncodePairBatch].
type Pair struct{ A, B string }

// Batch is the result of a batch encode.
//
// The flat fields hold the batch row-major, row i at [i*SeqLen, (i+1)*SeqLen),
// ready to become a [Size, SeqLen] int64 tensor without copying. They are set
// when all rows have the same length, which any padding strategy that covers
// every row guarantees (PadLongest always does). Otherwise (ragged rows, e.g.
// NoPadding) SeqLen is 0, the flat fields are nil and only Encodings is set.
//
// Encodings[i] slices alias the flat fields: writing one writes the other.
type Batch struct {
	// Size is the number of rows.
	Size int
	// SeqLen is the common row length, 0 when rows differ in length.
	SeqLen int
	// InputIDs are the token ids, Size*SeqLen of them.
	InputIDs []int64
	// AttentionMask is 1 for real tokens, 0 for padding.
	AttentionMask []int64
	// TokenTypeIDs are the segment ids.
	TokenTypeIDs []int64
	// SpecialTokensMask is 1 for special and pad tokens.
	SpecialTokensMask []int64
	// Encodings are the rows, with tokens and offsets.
	Encodings []Encoding
}

// Workers claim rows in chunks of about chunkBytes of input (at most
// chunkRows rows): a count of rows alone would hand one worker all the long
// texts of a batch where they sit together.
const (
	chunkBytes = 4 << 10
	chunkRows  = 64
)

// EncodeBatch encodes texts in parallel (at most GOMAXPROCS goroutines) with
// the same options, padding across the batch as transformers does for a list
// input. An empty batch gives an empty Batch. It stops early and returns
// ctx.Err() when ctx is cancelled; a truncation error names the row.
func (t *Tokenizer) EncodeBatch(ctx context.Context, texts []string, o Options) (*Batch, error) {
	return t.encodeBatch(ctx, len(texts), func(i int) (string, *string) { return texts[i], nil },
		func(i int) int { return len(texts[i]) }, o)
}

// EncodePairBatch is [Tokenizer.EncodeBatch] for sentence pairs.
func (t *Tokenizer) EncodePairBatch(ctx context.Context, pairs []Pair, o Options) (*Batch, error) {
	return t.encodeBatch(ctx, len(pairs), func(i int) (string, *string) { return pairs[i].A, &pairs[i].B },
		func(i int) int { return len(pairs[i].A) + len(pairs[i].B) }, o)
}

type rowRef struct {
	blk    *rowBuf
	off, n int
}

// arenaBlock is the token capacity of the blocks rows are parked in between
// encoding and the final copy. Fixed blocks (pooled per tokenizer) instead of
// one growing slice avoid re-copying rows, which for the pointer-holding
// token strings also means GC write barriers.
const arenaBlock = 1 << 14

type rowArena struct {
	t      *Tokenizer
	cur    *rowBuf
	blocks []*rowBuf
}

func (a *rowArena) put(r *rowBuf) rowRef {
	n := len(r.ids)
	if a.cur == nil || cap(a.cur.ids)-len(a.cur.ids) < n {
		a.cur = a.t.getBlock(n)
		a.blocks = append(a.blocks, a.cur)
	}
	b := a.cur
	off := len(b.ids)
	b.ids = append(b.ids, r.ids...)
	b.types = append(b.types, r.types...)
	b.special = append(b.special, r.special...)
	b.toks = append(b.toks, r.toks...)
	b.roff = append(b.roff, r.roff...)
	b.boff = append(b.boff, r.boff...)
	return rowRef{b, off, n}
}

func (t *Tokenizer) getBlock(n int) *rowBuf {
	if n <= arenaBlock {
		if b, ok := t.blocks.Get().(*rowBuf); ok {
			return b
		}
		n = arenaBlock
	}
	return &rowBuf{ids: make([]int64, 0, n), types: make([]int64, 0, n), special: make([]int64, 0, n),
		toks: make([]string, 0, n), roff: make([]Offset, 0, n), boff: make([]Offset, 0, n)}
}

func (t *Tokenizer) putBlocks(bs []*rowBuf) {
	for _, b := range bs {
		if cap(b.ids) == arenaBlock {
			b.reset()
			t.blocks.Put(b)
		}
	}
}

func (t *Tokenizer) encodeBatch(ctx context.Context, n int, get func(int) (string, *string), size func(int) int, o Options) (*Batch, error) {
	p, err := t.plan(o)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if n == 0 {
		return &Batch{}, nil
	}
	chunks := []int{0} // chunk k is rows [chunks[k], chunks[k+1])
	for i, bytes := 0, 0; i < n; i++ {
		bytes += size(i) + 16
		if bytes >= chunkBytes || i+1-chunks[len(chunks)-1] >= chunkRows || i == n-1 {
			chunks = append(chunks, i+1)
			bytes = 0
		}
	}
	nchunks := len(chunks) - 1
	workers := min(runtime.GOMAXPROCS(0), nchunks)
	arenas := make([]rowArena, workers)
	for w := range arenas {
		arenas[w].t = t
	}
	defer func() {
		for w := range arenas {
			t.putBlocks(arenas[w].blocks)
		}
	}()
	refs := make([]rowRef, n)
	var (
		next    atomic.Int64
		failed  atomic.Bool
		errMu   sync.Mutex
		errRow  = n
		errWhat error
	)
	work := func(w int) {
		sc := t.pool.Get().(*scratch)
		defer t.pool.Put(sc)
		ar := &arenas[w]
		for !failed.Load() && ctx.Err() == nil {
			k := int(next.Add(1)) - 1
			if k >= nchunks {
				return
			}
			for i := chunks[k]; i < chunks[k+1]; i++ {
				a, b := get(i)
				if err := t.encodeRow(sc, &p, a, b); err != nil {
					errMu.Lock()
					if i < errRow {
						errRow, errWhat = i, err
					}
					errMu.Unlock()
					failed.Store(true)
					return
				}
				refs[i] = ar.put(&sc.row)
			}
		}
	}
	parallel(workers, work)
	if errWhat != nil {
		return nil, fmt.Errorf("tokenizer: batch row %d: %w", errRow, errWhat)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	longest, shortest := 0, int(^uint(0)>>1)
	for _, r := range refs {
		longest, shortest = max(longest, r.n), min(shortest, r.n)
	}
	target := p.padTarget(longest)
	starts := make([]int, n+1)
	rect := true
	for i, r := range refs {
		l := max(r.n, target)
		starts[i+1] = starts[i] + l
		rect = rect && l == starts[1]
	}
	total := starts[n]
	ints := make([]int64, 4*total)
	toks := make([]string, total)
	offs := make([]Offset, 2*total)
	b := &Batch{Size: n, Encodings: make([]Encoding, n)}
	ids, attn, types, special := ints[:total], ints[total:2*total], ints[2*total:3*total], ints[3*total:]
	if rect {
		b.SeqLen = starts[1]
		b.InputIDs, b.AttentionMask, b.TokenTypeIDs, b.SpecialTokensMask = ids, attn, types, special
	}
	parallel(workers, func(w int) {
		for i := w; i < n; i += workers {
			s, e := starts[i], starts[i+1]
			enc := Encoding{
				IDs:               ids[s:e:e],
				AttentionMask:     attn[s:e:e],
				TypeIDs:           types[s:e:e],
				SpecialTokensMask: special[s:e:e],
				Tokens:            toks[s:e:e],
				Offsets:           offs[s:e:e],
				ByteOffsets:       offs[total+s : total+e : total+e],
			}
			r := refs[i]
			lo, hi := r.off, r.off+r.n
			view := rowBuf{ids: r.blk.ids[lo:hi], types: r.blk.types[lo:hi], special: r.blk.special[lo:hi],
				toks: r.blk.toks[lo:hi], roff: r.blk.roff[lo:hi], boff: r.blk.boff[lo:hi]}
			t.fill(&enc, &view, p.padLeft)
			b.Encodings[i] = enc
		}
	})
	return b, nil
}

// parallel runs f(0..workers-1), inline when there is a single worker.
func parallel(workers int, f func(int)) {
	if workers <= 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(w)
		}()
	}
	wg.Wait()
}
