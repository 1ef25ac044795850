package serve

import (
	"bytes"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cost is the padded work of a split, as buckets minimises it.
func cost(lengths []int, passes [][]int) int {
	c := 0
	for _, p := range passes {
		longest := 0
		for _, i := range p {
			longest = max(longest, lengths[i])
		}
		c += len(p)*longest + passOverhead
	}
	return c
}

// bruteBest is the least cost over every split of the sorted lengths into
// contiguous runs.
func bruteBest(lengths []int) int {
	s := append([]int(nil), lengths...)
	sort.Sort(sort.Reverse(sort.IntSlice(s)))
	n := len(s)
	best := -1
	for mask := 0; mask < 1<<(n-1); mask++ {
		c, start := 0, 0
		for i := 1; i <= n; i++ {
			if i == n || mask&(1<<(i-1)) != 0 {
				c += (i-start)*s[start] + passOverhead
				start = i
			}
		}
		if best < 0 || c < best {
			best = c
		}
	}
	return best
}

func TestBucketsOptimalAndComplete(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		n := 1 + r.IntN(10)
		lengths := make([]int, n)
		for i := range lengths {
			lengths[i] = 2 + r.IntN(120)
		}
		passes := buckets(lengths, 0)
		seen := make([]int, n)
		for _, p := range passes {
			for _, i := range p {
				seen[i]++
			}
		}
		for i := range seen {
			require.Equal(t, 1, seen[i], "row %d in %d passes", i, seen[i])
		}
		assert.Equal(t, bruteBest(lengths), cost(lengths, passes), "lengths %v", lengths)
	}
	// Equal lengths: one pass. Very different ones: split.
	assert.Len(t, buckets([]int{10, 10, 10, 10}, 0), 1)
	assert.Len(t, buckets([]int{500, 500, 8, 8, 8, 8, 8, 8}, 0), 2)
	// maxRows caps a pass.
	for _, p := range buckets([]int{5, 5, 5, 5, 5}, 2) {
		assert.LessOrEqual(t, len(p), 2)
	}
}

func TestMetricsText(t *testing.T) {
	m := newMetrics(512)
	m.requestDuration.Observe(0.01)
	m.requestDuration.Observe(100)
	m.requestCount.Inc("single")
	m.requestFailure.Inc(`we"ird`)
	m.queueSize.Add(3)
	var b bytes.Buffer
	m.write(&b)
	out := b.String()
	assert.Contains(t, out, "# TYPE te_request_duration histogram\n")
	assert.Contains(t, out, "te_request_duration_bucket{le=\"+Inf\"} 2\n")
	assert.Contains(t, out, "te_request_duration_count 2\n")
	assert.Contains(t, out, "te_request_count{method=\"single\"} 1\n")
	assert.Contains(t, out, `te_request_failure{err="we\"ird"} 1`)
	assert.Contains(t, out, "te_queue_size 3\n")
	// Buckets are cumulative and end at the count.
	var last string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "te_request_duration_bucket") {
			last = l
		}
	}
	assert.True(t, strings.HasSuffix(last, " 2"))
	assert.Contains(t, out, "te_request_input_length_bucket{le=\"512\"}")
	assert.NotContains(t, out, "te_request_input_length_bucket{le=\"1024\"}")
}
