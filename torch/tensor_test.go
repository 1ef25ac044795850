package torch_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/torch"
)

func roundTrip[T torch.Element](t *testing.T, data []T, shape ...int64) []T {
	t.Helper()
	x, err := torch.FromSlice(data, shape...)
	require.NoError(t, err)
	defer x.Close()
	assert.Equal(t, torch.DTypeOf[T](), x.DType())
	assert.Equal(t, torch.CPU, x.Device())
	got, err := torch.ToSlice[T](x)
	require.NoError(t, err)
	return got
}

func TestRoundTripEveryDType(t *testing.T) {
	f32 := []float32{0, float32(math.Copysign(0, -1)), 1.5, -3.25e-38, 1e-45, math.MaxFloat32, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.Float32frombits(0x7fc00123)}
	got32 := roundTrip(t, f32, 2, 5)
	for i := range f32 {
		assert.Equal(t, math.Float32bits(f32[i]), math.Float32bits(got32[i]), "float32 element %d", i)
	}
	f64 := []float64{0, math.Copysign(0, -1), math.Pi, math.SmallestNonzeroFloat64, math.MaxFloat64, math.Inf(-1), math.NaN(), math.Float64frombits(0x7ff8000000000abc)}
	got64 := roundTrip(t, f64, 8)
	for i := range f64 {
		assert.Equal(t, math.Float64bits(f64[i]), math.Float64bits(got64[i]), "float64 element %d", i)
	}
	i64 := []int64{math.MinInt64, -1, 0, 1, math.MaxInt64, 30522}
	assert.Equal(t, i64, roundTrip(t, i64, 3, 2))
	i32 := []int32{math.MinInt32, -1, 0, 1, math.MaxInt32, 7}
	assert.Equal(t, i32, roundTrip(t, i32, 2, 3))
	i16 := []int16{math.MinInt16, 0, math.MaxInt16}
	assert.Equal(t, i16, roundTrip(t, i16))
	i8 := []int8{math.MinInt8, 0, math.MaxInt8}
	assert.Equal(t, i8, roundTrip(t, i8))
	u8 := []uint8{0, 1, 255}
	assert.Equal(t, u8, roundTrip(t, u8))
	b := []bool{true, false, false, true}
	assert.Equal(t, b, roundTrip(t, b, 2, 2))
}

func TestShapes(t *testing.T) {
	for _, shape := range [][]int64{{0}, {2, 0, 3}, {0, 0}, {1}, {2, 3, 4, 5}, {1, 1, 1, 1, 1, 7}} {
		n := int64(1)
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(i) * 0.5
		}
		x, err := torch.FromSlice(data, shape...)
		require.NoError(t, err, "shape %v", shape)
		assert.Equal(t, shape, x.Shape())
		assert.Equal(t, len(shape), x.Dim())
		assert.Equal(t, n, x.Numel())
		got, err := torch.ToSlice[float32](x)
		require.NoError(t, err)
		assert.Equal(t, data, got)
		require.NoError(t, x.Close())
	}
	x, err := torch.FromSlice([]int64{1, 2, 3})
	require.NoError(t, err)
	assert.Equal(t, []int64{3}, x.Shape(), "no shape means 1-D")
	x.Close()
}

func TestTensorErrors(t *testing.T) {
	_, err := torch.FromSlice([]float32{1, 2, 3}, 2, 2)
	require.ErrorContains(t, err, "shape [2 2] holds 4 elements but the slice has 3")
	_, err = torch.FromSlice([]float32{}, -1)
	require.ErrorContains(t, err, "negative dimension")

	x, err := torch.FromSlice([]int64{1, 2, 3, 4}, 2, 2)
	require.NoError(t, err)
	_, err = torch.ToSlice[float32](x)
	require.ErrorContains(t, err, "tensor is int64, not float32")
	err = torch.CopyTo(x, make([]int64, 3))
	require.ErrorContains(t, err, "has 4 elements, destination has 3")

	require.NoError(t, x.Close())
	require.NoError(t, x.Close(), "double Close is safe")
	_, err = torch.ToSlice[int64](x)
	require.ErrorIs(t, err, torch.ErrClosed)
	_, err = x.ToDType(torch.Float32)
	require.ErrorIs(t, err, torch.ErrClosed)
	var nilT *torch.Tensor
	require.NoError(t, nilT.Close())
}

func TestConversions(t *testing.T) {
	x, err := torch.FromSlice([]float32{1, 2.5, -0.125, 3, 4, 5}, 2, 3)
	require.NoError(t, err)
	defer x.Close()
	h, err := x.ToDType(torch.Float16)
	require.NoError(t, err)
	defer h.Close()
	assert.Equal(t, torch.Float16, h.DType())
	back, err := h.ToDType(torch.Float32)
	require.NoError(t, err)
	defer back.Close()
	got, err := torch.ToSlice[float32](back)
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 2.5, -0.125, 3, 4, 5}, got, "values exact in float16 survive the round trip")

	i, err := x.ToDType(torch.Int64)
	require.NoError(t, err)
	defer i.Close()
	gi, err := torch.ToSlice[int64](i)
	require.NoError(t, err)
	assert.Equal(t, []int64{1, 2, 0, 3, 4, 5}, gi)

	c, err := x.Contiguous()
	require.NoError(t, err)
	defer c.Close()
	gc, err := torch.ToSlice[float32](c)
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 2.5, -0.125, 3, 4, 5}, gc)

	same, err := x.To(torch.CPU)
	require.NoError(t, err)
	defer same.Close()
	assert.Equal(t, x.Shape(), same.Shape())
}

func TestDevicesAndDTypes(t *testing.T) {
	for in, want := range map[string]torch.Device{"cpu": torch.CPU, "cuda": torch.CUDA(-1), "cuda:1": torch.CUDA(1), "CUDA:0": torch.CUDA(0)} {
		d, err := torch.ParseDevice(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, d)
	}
	assert.Equal(t, "cuda:3", torch.CUDA(3).String())
	for _, bad := range []string{"tpu", "cuda:x", "cuda:-1"} {
		_, err := torch.ParseDevice(bad)
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), bad)
	}
	for _, s := range []string{"float32", "float16", "bfloat16", "int64", "bool", "uint8"} {
		d, err := torch.ParseDType(s)
		require.NoError(t, err)
		assert.Equal(t, s, d.String())
	}
	_, err := torch.ParseDType("complex7")
	require.ErrorContains(t, err, `unknown dtype "complex7"`)
}

func TestRuntimeSettings(t *testing.T) {
	assert.Regexp(t, `^\d+\.\d+\.\d+`, torch.Version())
	old := torch.NumThreads()
	require.NoError(t, torch.SetNumThreads(1))
	assert.Equal(t, 1, torch.NumThreads())
	require.NoError(t, torch.SetNumThreads(old))
	require.ErrorContains(t, torch.SetNumThreads(0), "at least 1")
	require.NoError(t, torch.ManualSeed(42))
	assert.Equal(t, torch.CUDADeviceCount() > 0, torch.CUDAIsAvailable())
}
