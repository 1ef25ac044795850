package serve

import "sort"

// passOverhead is the cost of one forward pass beyond its tokens, in
// tokens: the fixed work (kernel launches, the head, copying out) that
// makes one pass of 2n rows cheaper than two passes of n. It is an
// estimate (a few short rows' worth), not a tuned figure: it only decides
// when splitting a batch by length pays.
const passOverhead = 16

// buckets splits rows of the given lengths into forward passes so that the
// padded work, sum over passes of rows*longest + passOverhead, is least:
// rows are sorted by length (longest first) and cut into contiguous runs
// by dynamic programming, which is exact for this cost because an optimal
// split never interleaves lengths. maxRows > 0 caps the rows of a pass.
// It returns the row indices of each pass.
func buckets(lengths []int, maxRows int) [][]int {
	n := len(lengths)
	if n == 0 {
		return nil
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return lengths[idx[a]] > lengths[idx[b]] })
	if maxRows <= 0 {
		maxRows = n
	}
	// best[i]: least cost of the first i sorted rows; cut[i]: where the
	// last pass of that split starts.
	best := make([]int, n+1)
	cut := make([]int, n+1)
	for i := 1; i <= n; i++ {
		best[i] = -1
		for j := max(0, i-maxRows); j < i; j++ {
			c := best[j] + (i-j)*lengths[idx[j]] + passOverhead
			if best[i] < 0 || c < best[i] {
				best[i], cut[i] = c, j
			}
		}
	}
	var out [][]int
	for i := n; i > 0; i = cut[i] {
		out = append(out, idx[cut[i]:i])
	}
	// Longest pass first, as they were sorted.
	for l, r := 0, len(out)-1; l < r; l, r = l+1, r-1 {
		out[l], out[r] = out[r], out[l]
	}
	return out
}
