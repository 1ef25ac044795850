package torch

/*
#include "hfpipe_torch.h"
*/
import "C"

import (
	"fmt"
	"strconv"
	"strings"
)

// DeviceType is the kind of device a tensor or module lives on.
type DeviceType int

// Device types.
const (
	DeviceCPU DeviceType = iota
	DeviceCUDA
	deviceOther
)

// Device is a libtorch device: CPU, or a CUDA device with an index.
// Index -1 ("cuda") means the current CUDA device, as in PyTorch, which is
// device 0: the binding never changes it (and goroutines move between OS
// threads, each with its own current device, so it could not follow
// changes made elsewhere). Modules loaded on CUDA(-1) report CUDA(0).
type Device struct {
	Type  DeviceType
	Index int
}

// CPU is the host device.
var CPU = Device{Type: DeviceCPU, Index: -1}

// CUDA returns the CUDA device with the given index.
func CUDA(index int) Device { return Device{Type: DeviceCUDA, Index: index} }

// String returns the PyTorch spelling: "cpu", "cuda" or "cuda:N".
func (d Device) String() string {
	switch d.Type {
	case DeviceCPU:
		return "cpu"
	case DeviceCUDA:
		if d.Index < 0 {
			return "cuda"
		}
		return "cuda:" + strconv.Itoa(d.Index)
	}
	return fmt.Sprintf("device(%d:%d)", int(d.Type), d.Index)
}

// IsCUDA reports whether d is a CUDA device.
func (d Device) IsCUDA() bool { return d.Type == DeviceCUDA }

// ParseDevice parses "cpu", "cuda" or "cuda:N". It does not check that the
// device exists; Load, To and CheckDevice do.
func ParseDevice(s string) (Device, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	switch {
	case s == "cpu" || s == "":
		return CPU, nil
	case s == "cuda" || s == "gpu":
		return CUDA(-1), nil
	case strings.HasPrefix(s, "cuda:"):
		i, err := strconv.Atoi(s[len("cuda:"):])
		if err != nil || i < 0 {
			return Device{}, fmt.Errorf("torch: bad device %q: the CUDA index must be a number >= 0, as in cuda:0", s)
		}
		return CUDA(i), nil
	}
	return Device{}, fmt.Errorf("torch: unknown device %q (want cpu, cuda or cuda:N)", s)
}

// CheckDevice returns nil if d can be used: always for the CPU, and for CUDA
// when libtorch sees a device with that index. The error wraps ErrNoCUDA
// when no CUDA device is visible at all.
func CheckDevice(d Device) error {
	switch d.Type {
	case DeviceCPU:
		return nil
	case DeviceCUDA:
		n := CUDADeviceCount()
		if n == 0 {
			return fmt.Errorf("torch: device %s requested but %w (no GPU or driver visible to libtorch %s): use device cpu, or run on a machine with an NVIDIA GPU", d, ErrNoCUDA, Version())
		}
		if d.Index >= n {
			return fmt.Errorf("torch: device %s requested but only %d CUDA device(s) exist (cuda:0 to cuda:%d)", d, n, n-1)
		}
		return nil
	}
	return fmt.Errorf("torch: unsupported device %s", d)
}

// canonicalDevice returns the device d names with its index made
// explicit (CUDA(-1) is CUDA(0)), so that one device has one spelling: the
// key of its forward thread and executor, and what a module reports.
func canonicalDevice(d Device) Device {
	switch {
	case d.Type == DeviceCPU:
		return CPU
	case d.Type == DeviceCUDA && d.Index < 0:
		return CUDA(0)
	}
	return d
}

func deviceFromC(typ, index C.int) Device {
	switch typ {
	case 0:
		return Device{Type: DeviceCPU, Index: -1}
	case 1:
		return Device{Type: DeviceCUDA, Index: int(index)}
	}
	return Device{Type: deviceOther, Index: int(index)}
}
