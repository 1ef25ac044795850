package pipeline

import "math"

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
		out[i] = npExp32(v - m)
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

// npExp32 is numpy's float32 exp as its AVX2/AVX512F loops compute it (the
// x86-64 machines with FMA3 that transformers runs on): Cody-Waite range
// reduction, a rational minimax polynomial with fused multiply-adds, then
// scaling by 2^k. It differs from the correctly rounded exp in the last bit
// on about 2 values in 5, so matching it is what makes scores bitwise.
// (numpy built without those loops uses the C library's expf instead.)
func npExp32(x float32) float32 {
	const (
		xmax  = float32(88.72283935546875)
		xmin  = float32(-103.97208404541015625)
		log2e = float32(1.442695040888963407359924681001892137)
		c1    = float32(-6.93145752e-1)
		c2    = float32(-1.42860677e-6)
		p0    = float32(9.999999999980870924916e-01)
		p1    = float32(7.257664613233124478488e-01)
		p2    = float32(2.473615434895520810817e-01)
		p3    = float32(5.114512081637298353406e-02)
		p4    = float32(6.757896990527504603057e-03)
		p5    = float32(5.082762527590693718096e-04)
		q0    = float32(1)
		q1    = float32(-2.742335390411667452936e-01)
		q2    = float32(2.159509375685829852307e-02)
	)
	switch {
	case x != x:
		return x
	case x >= xmax:
		return float32(math.Inf(1))
	case x <= xmin:
		return 0
	}
	k := float32(math.RoundToEven(float64(float32(x * log2e))))
	y := fma32(k, c1, x)
	y = fma32(k, c2, y)
	n := fma32(p5, y, p4)
	n = fma32(n, y, p3)
	n = fma32(n, y, p2)
	n = fma32(n, y, p1)
	n = fma32(n, y, p0)
	d := fma32(q2, y, q1)
	d = fma32(d, y, q0)
	return float32(math.Ldexp(float64(float32(n/d)), int(k)))
}

// fma32 is a*b+c rounded once to float32, as a float32 FMA instruction.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b) // exact: 24+24 bits
	s := p + float64(c)
	t := s - p
	e := (p - (s - t)) + (float64(c) - t) // s+e is a*b+c exactly
	r := float32(s)
	if e == 0 || float64(r) == s {
		return r
	}
	// Rounding s to float32 can differ from rounding s+e only when s is
	// exactly halfway between two float32 values.
	lo, hi := r, r
	if float64(r) < s {
		hi = math.Nextafter32(r, float32(math.Inf(1)))
	} else {
		lo = math.Nextafter32(r, float32(math.Inf(-1)))
	}
	if s != (float64(lo)+float64(hi))/2 {
		return r
	}
	if e > 0 {
		return hi
	}
	return lo
}
