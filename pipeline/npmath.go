package pipeline

// The float32 arithmetic of numpy that transformers' postprocessing runs,
// step for step, so that Go's scores equal Python's.

// npSum32 is numpy's float32 sum of x (np.sum along a contiguous axis):
// pairwise summation with eight accumulators, as numpy's
// FLOAT_pairwise_sum does, in float32.
func npSum32(x []float32) float32 {
	n := len(x)
	switch {
	case n < 8:
		var res float32 = float32(negZero)
		for _, v := range x {
			res += v
		}
		return res
	case n <= 128:
		var r [8]float32
		copy(r[:], x[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range r {
				r[j] += x[i+j]
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += x[i]
		}
		return res
	}
	n2 := n / 2
	n2 -= n2 % 8
	return npSum32(x[:n2]) + npSum32(x[n2:])
}

var negZero = func() float64 { z := 0.0; return -z }()

// npSoftmax32 is transformers' numpy softmax of one row in float32:
// e = np.exp(x - x.max()); e / e.sum().
func npSoftmax32(x, out []float32) {
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	for i, v := range x {
		out[i] = exp32(v - m)
	}
	s := npSum32(out)
	for i := range out {
		out[i] /= s
	}
}

// argmax32 is np.argmax: the first index of the largest value.
func argmax32(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// npMeanDiv is numpy's float32 mean step after the sum: the float32 total
// divided by the count in float64 and rounded back, as np.nanmean's
// _divide_by_count computes it.
func npMeanDiv(total float32, count int) float32 {
	return float32(float64(total) / float64(count))
}
