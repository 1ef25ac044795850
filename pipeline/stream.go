package pipeline

import "iter"

// streamBatches is how many batches one chunk of a stream holds: enough for
// length bucketing to pay off within the chunk, few enough that memory
// stays small.
const streamBatches = 8

// streamChunk is the number of inputs a stream gathers before running them.
func streamChunk(o *Options) int { return max(o.BatchSize, 1) * streamBatches }

// streamChunks reads seq chunk inputs at a time, runs each chunk and yields
// its results in input order. An error is yielded once, with the zero
// result, and ends the stream; so does the consumer breaking out of its
// loop, which also stops reading seq. Memory is bounded by one chunk's
// inputs and results.
func streamChunks[In, Out any](seq iter.Seq[In], chunk int, run func([]In) ([]Out, error)) iter.Seq2[Out, error] {
	return func(yield func(Out, error) bool) {
		buf := make([]In, 0, chunk)
		// flush runs buf and yields its results; false stops the stream.
		flush := func() bool {
			if len(buf) == 0 {
				return true
			}
			res, err := run(buf)
			clear(buf) // drop references to the inputs
			buf = buf[:0]
			if err != nil {
				var zero Out
				yield(zero, err)
				return false
			}
			for _, r := range res {
				if !yield(r, nil) {
					return false
				}
			}
			return true
		}
		stopped := false
		for in := range seq {
			buf = append(buf, in)
			if len(buf) == chunk && !flush() {
				stopped = true
				break
			}
		}
		if !stopped {
			flush()
		}
	}
}
