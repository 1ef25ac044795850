package pipeline

import (
	"context"
	"fmt"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

// rowBatch builds the rectangular batch of the given rows, padding each on
// the right to the longest with the tokenizer's pad token (attention 0,
// special 1, type 0), as tokenizer.pad does. Unlike tokenizer.Pad it takes
// rows that are already padded (the chunks of one long text, which
// transformers pads to a common length when it splits the text).
func rowBatch(tok *tokenizer.Tokenizer, encs []tokenizer.Encoding, rows []int) *tokenizer.Batch {
	longest := 0
	for _, r := range rows {
		longest = max(longest, len(encs[r].IDs))
	}
	n := len(rows)
	b := &tokenizer.Batch{Size: n, SeqLen: longest, Encodings: make([]tokenizer.Encoding, n)}
	b.InputIDs = make([]int64, n*longest)
	b.AttentionMask = make([]int64, n*longest)
	b.TokenTypeIDs = make([]int64, n*longest)
	b.SpecialTokensMask = make([]int64, n*longest)
	pad := max(tok.Specials().PAD.ID, 0)
	for k, r := range rows {
		e := encs[r]
		row := k * longest
		copy(b.InputIDs[row:], e.IDs)
		copy(b.AttentionMask[row:], e.AttentionMask)
		copy(b.TokenTypeIDs[row:], e.TypeIDs)
		copy(b.SpecialTokensMask[row:], e.SpecialTokensMask)
		for j := len(e.IDs); j < longest; j++ {
			b.InputIDs[row+j], b.SpecialTokensMask[row+j] = pad, 1
		}
		b.Encodings[k] = e
	}
	return b
}

// eachRowBatch is eachBatch over rowBatch: rows in batches of o.BatchSize
// (grouped by length unless o.NoBucketing), ctx checked between batches.
func eachRowBatch(ctx context.Context, tok *tokenizer.Tokenizer, encs []tokenizer.Encoding, o *Options, run func(rows []int, b *tokenizer.Batch) error) error {
	lengths := make([]int, len(encs))
	for i := range encs {
		lengths[i] = len(encs[i].IDs)
	}
	for _, rows := range batchOrder(lengths, o.BatchSize, !o.NoBucketing) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		if err := run(rows, rowBatch(tok, encs, rows)); err != nil {
			return err
		}
	}
	return nil
}

// windows splits n tokens into the parts tokenizers' Encoding.truncate
// makes with return_overflowing_tokens: [start, stop) of at most maxLen
// tokens, each starting maxLen-stride after the previous, the last ending
// at n. One part when n <= maxLen.
func windows(n, maxLen, stride int) ([][2]int, error) {
	if n <= maxLen {
		return [][2]int{{0, n}}, nil
	}
	if maxLen <= 0 {
		return nil, fmt.Errorf("no room for any token of the text (max_len %d)", maxLen)
	}
	if stride >= maxLen {
		return nil, fmt.Errorf("stride %d must be less than the %d tokens left for the text in each chunk", stride, maxLen)
	}
	var out [][2]int
	for start := 0; ; start += maxLen - stride {
		stop := min(start+maxLen, n)
		out = append(out, [2]int{start, stop})
		if stop == n {
			return out, nil
		}
	}
}

// spliceWindow returns e (one encoding of the whole input, special tokens
// included, not truncated) with its tokens [from, to) replaced by the
// tokens [from+a, from+b): the chunk of the content tokens at [from, to)
// that keeps their part [a, b), as tokenizers builds an overflowing
// encoding (the post-processor's tokens around it unchanged).
func spliceWindow(e tokenizer.Encoding, from, to, a, b int) tokenizer.Encoding {
	keep := func(s []int64) []int64 {
		out := make([]int64, 0, len(s)-(to-from)+(b-a))
		out = append(out, s[:from]...)
		out = append(out, s[from+a:from+b]...)
		return append(out, s[to:]...)
	}
	keepStr := func(s []string) []string {
		out := make([]string, 0, len(s)-(to-from)+(b-a))
		out = append(out, s[:from]...)
		out = append(out, s[from+a:from+b]...)
		return append(out, s[to:]...)
	}
	keepOff := func(s []tokenizer.Offset) []tokenizer.Offset {
		out := make([]tokenizer.Offset, 0, len(s)-(to-from)+(b-a))
		out = append(out, s[:from]...)
		out = append(out, s[from+a:from+b]...)
		return append(out, s[to:]...)
	}
	return tokenizer.Encoding{
		IDs: keep(e.IDs), TypeIDs: keep(e.TypeIDs), AttentionMask: keep(e.AttentionMask),
		SpecialTokensMask: keep(e.SpecialTokensMask), Tokens: keepStr(e.Tokens),
		Offsets: keepOff(e.Offsets), ByteOffsets: keepOff(e.ByteOffsets),
	}
}

// padEncoding pads e on the right to n tokens (pad id, attention 0, special 1).
func padEncoding(tok *tokenizer.Tokenizer, e tokenizer.Encoding, n int) tokenizer.Encoding {
	pad := max(tok.Specials().PAD.ID, 0)
	padTok := tok.Specials().PAD.Token
	for len(e.IDs) < n {
		e.IDs = append(e.IDs, pad)
		e.TypeIDs = append(e.TypeIDs, 0)
		e.AttentionMask = append(e.AttentionMask, 0)
		e.SpecialTokensMask = append(e.SpecialTokensMask, 1)
		e.Tokens = append(e.Tokens, padTok)
		e.Offsets = append(e.Offsets, tokenizer.Offset{})
		e.ByteOffsets = append(e.ByteOffsets, tokenizer.Offset{})
	}
	return e
}

// contentRange returns where the input's own tokens lie in e (those not
// added by the post-processor): [first, end). For a pair it spans both
// sequences and what lies between them.
func contentRange(e tokenizer.Encoding) (int, int) {
	first, end := -1, -1
	for i, m := range e.SpecialTokensMask {
		if m == 0 && e.AttentionMask[i] == 1 {
			if first < 0 {
				first = i
			}
			end = i + 1
		}
	}
	if first < 0 {
		return 0, 0
	}
	return first, end
}
