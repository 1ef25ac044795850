package pipeline

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/internal/testenv"
)

// TestNumpyExpParity: npExp32 against numpy's np.exp on float32, run in
// the test: every softmax input range transformers' postprocessing meets
// (x - max <= 0, with -10000 for masked tokens), and the rest of the range.
func TestNumpyExpParity(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	xs := []float32{0, -0.0, 1, -1, 88.72283, 88.72284, -103.97208, -103.97209, -10000, 1e-30, -1e-30, float32(math.Ln2), -87.33655}
	for len(xs) < 200000 {
		switch r.IntN(3) {
		case 0:
			xs = append(xs, -r.Float32()*30)
		case 1:
			xs = append(xs, (r.Float32()-0.8)*200)
		default:
			xs = append(xs, math.Float32frombits(r.Uint32()))
		}
	}
	tmp := t.TempDir()
	in, out := filepath.Join(tmp, "x.f32"), filepath.Join(tmp, "y.f32")
	buf := make([]byte, 4*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
	}
	require.NoError(t, os.WriteFile(in, buf, 0o644))
	testenv.RunPython(t, "numpy_exp.py", in, out)
	ys, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Len(t, ys, len(buf))
	same, rounded := 0, 0
	for i, x := range xs {
		want := math.Float32frombits(binary.LittleEndian.Uint32(ys[4*i:]))
		got := npExp32(x)
		if math.Float32bits(got) == math.Float32bits(want) || got != got && want != want {
			same++
		} else if len(xs)-same < 20 {
			t.Logf("exp(%g): numpy %g (%08x), Go %g (%08x)", x, want, math.Float32bits(want), got, math.Float32bits(got))
		}
		if float32(math.Exp(float64(x))) == want {
			rounded++
		}
	}
	t.Logf("numpy exp: Go's npExp32 bitwise on %d/%d values; the correctly rounded exp on %d", same, len(xs), rounded)
	assert.Equal(t, len(xs), same, "npExp32 must equal numpy's float32 exp bit for bit")
}
