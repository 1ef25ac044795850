package torch_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/torch"
)

func TestAlignParameters(t *testing.T) {
	m, inputs, want := tensorModule(t)
	forward := func() []byte {
		out, err := m.Forward(context.Background(), inputs[0], inputs[1], inputs[2])
		require.NoError(t, err)
		defer torch.CloseValue(out)
		return tensorBytes(t, out.(*torch.Tensor))
	}

	// Fresh memory is 64-byte aligned: offset 8 moves every tensor, offset 0 none.
	offsets := map[string]int{"emb.weight": 8, "lin.weight": 8, "lin.bias": 40}
	n, err := m.AlignParameters(offsets, 64)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	n, err = m.AlignParameters(offsets, 64)
	require.NoError(t, err)
	assert.Zero(t, n, "already placed: nothing to move")
	// The values moved with their tensors: the module still computes Python's output.
	assert.Equal(t, want, forward())
	n, err = m.AlignParameters(map[string]int{"emb.weight": 0, "lin.weight": 0, "lin.bias": 0}, 64)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, want, forward())

	for _, tc := range []struct {
		offsets map[string]int
		modulus int
		msg     string
	}{
		{map[string]int{"nope.weight": 0}, 64, "no parameter or buffer named nope.weight"},
		{map[string]int{"lin.weight": 6}, 64, "not a multiple of its element size 4"},
		{map[string]int{"lin.weight": 64}, 64, "in 0..63"},
		{map[string]int{"lin.weight": 8}, 48, "not a power of two"},
		// one bad name moves nothing, the good ones included
		{map[string]int{"emb.weight": 16, "nope": 0}, 64, "no parameter or buffer named nope"},
	} {
		_, err := m.AlignParameters(tc.offsets, tc.modulus)
		require.Error(t, err, "%v", tc.offsets)
		assert.Contains(t, err.Error(), tc.msg)
		assert.Contains(t, err.Error(), "re-export")
	}
	n, err = m.AlignParameters(map[string]int{"emb.weight": 16}, 64)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the failed call above must not have moved emb.weight")

	require.NoError(t, m.Close())
	_, err = m.AlignParameters(offsets, 64)
	assert.ErrorIs(t, err, torch.ErrClosed)
}
