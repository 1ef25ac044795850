package pipeline

import (
	"context"
	"fmt"
	"sort"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

// batchOrder returns the input indices grouped into batches of at most size.
// With bucketing, inputs are sorted by token count first (longest first) so
// that each batch pads to a length close to its rows' own: on mixed-length
// inputs most of the padding, and so most of the wasted compute, goes away.
// Callers put results back at the original indices.
func batchOrder(lengths []int, size int, bucket bool) [][]int {
	// Options are checked before they get here; a size below 1 would never
	// advance the loop below, so it cannot be let through.
	size = max(size, 1)
	idx := make([]int, len(lengths))
	for i := range idx {
		idx[i] = i
	}
	if bucket && len(lengths) > size {
		sort.SliceStable(idx, func(a, b int) bool { return lengths[idx[a]] > lengths[idx[b]] })
	}
	var out [][]int
	for start := 0; start < len(idx); start += size {
		out = append(out, idx[start:min(start+size, len(idx))])
	}
	return out
}

// padRows builds the rectangular batch of the given rows, as the pipeline's
// collate step (tokenizer.pad) does.
func padRows(tok *tokenizer.Tokenizer, encs []tokenizer.Encoding, rows []int) (*tokenizer.Batch, error) {
	sel := make([]tokenizer.Encoding, len(rows))
	for i, r := range rows {
		sel[i] = encs[r]
	}
	return tok.Pad(sel, tokenizer.Options{})
}

// eachBatch pads the encodings batch by batch (bucketed by length unless
// o.NoBucketing) and calls run with each batch and the input indices of its
// rows, checking ctx between batches.
func eachBatch(ctx context.Context, tok *tokenizer.Tokenizer, encs []tokenizer.Encoding, o *Options, run func(rows []int, b *tokenizer.Batch) error) error {
	lengths := make([]int, len(encs))
	for i := range encs {
		lengths[i] = len(encs[i].IDs)
	}
	for _, rows := range batchOrder(lengths, o.BatchSize, !o.NoBucketing) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		b, err := padRows(tok, encs, rows)
		if err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		if err := run(rows, b); err != nil {
			return err
		}
	}
	return nil
}
