package torch_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hfpipe/hfpipe/torch"
)

// TestOneForwardQueuePerGPU: "cuda" and "cuda:0" are one GPU, so modules
// loaded on either must share one forward queue (two would run passes on
// the GPU concurrently, each with all of its resources). Needs no GPU.
func TestOneForwardQueuePerGPU(t *testing.T) {
	assert.True(t, torch.SameForwardQueue(torch.CUDA(-1), torch.CUDA(0)), "cuda and cuda:0")
	assert.False(t, torch.SameForwardQueue(torch.CUDA(0), torch.CUDA(1)), "cuda:0 and cuda:1")
	assert.False(t, torch.SameForwardQueue(torch.CPU, torch.CUDA(0)), "cpu and cuda:0")
}

// TestLoadDeviceHasIndex: the shim keys its forward threads by the device
// Load passes, so "cuda" must reach it as "cuda:0".
func TestLoadDeviceHasIndex(t *testing.T) {
	assert.Equal(t, "cuda:0", torch.LoadDevice(torch.CUDA(-1)).String())
	assert.Equal(t, "cuda:0", torch.LoadDevice(torch.CUDA(0)).String())
	assert.Equal(t, "cuda:1", torch.LoadDevice(torch.CUDA(1)).String())
	assert.Equal(t, "cpu", torch.LoadDevice(torch.CPU).String())
	assert.Equal(t, torch.CPU, torch.LoadDevice(torch.Device{Type: torch.DeviceCPU, Index: 0}))
}
