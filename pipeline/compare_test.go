package pipeline

import (
	"fmt"
	"math"
)

// comparison counts how one side's output rows compare with another's:
// bitwise, and where not, by how much, in ulps of the row's magnitude (as
// hfpipe_tools.exporting.max_ulps reckons them) and absolutely.
type comparison struct {
	name          string // "go=torchscript"
	rows, bitwise int
	maxULPs       float64
	maxAbs        float64
}

// add compares got with want row by row (rowLen values each).
func (c *comparison) add(got, want []float32, rowLen int) {
	for r := 0; r*rowLen < len(want); r++ {
		g, w := got[r*rowLen:(r+1)*rowLen], want[r*rowLen:(r+1)*rowLen]
		same := true
		diff, mag := 0.0, 0.0
		for i := range w {
			same = same && math.Float32bits(g[i]) == math.Float32bits(w[i])
			diff = math.Max(diff, math.Abs(float64(g[i])-float64(w[i])))
			mag = math.Max(mag, math.Abs(float64(w[i])))
		}
		c.rows++
		if same {
			c.bitwise++
		}
		c.maxAbs = math.Max(c.maxAbs, diff)
		c.maxULPs = math.Max(c.maxULPs, diff/ulp32(mag))
	}
}

// ulp32 is the spacing of float32 values at x (x >= 0).
func ulp32(x float64) float64 {
	x = math.Max(x, math.SmallestNonzeroFloat32*(1<<23)) // float32's smallest normal
	_, e := math.Frexp(x)                                // x = f * 2^e, f in [0.5, 1)
	return math.Ldexp(1, e-24)
}

func (c comparison) allBitwise() bool { return c.rows == c.bitwise }

func (c comparison) String() string {
	return fmt.Sprintf("%s bitwise=%d/%d max_ulps=%.3g max_abs_diff=%.3g", c.name, c.bitwise, c.rows, c.maxULPs, c.maxAbs)
}
