package torch

/*
#include "hfpipe_torch.h"
*/
import "C"

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
)

// CPUEnvironment says which CPU kernels libtorch runs in this process.
// Bitwise equality holds between runs with the same kernels: machines of
// one kind differ (an Intel Xeon with AMX, an AMD EPYC with AVX512-BF16),
// and the kernel set can be forced before the process starts with
// ATEN_CPU_CAPABILITY (default, avx2, avx512), ONEDNN_MAX_CPU_ISA (AVX2,
// AVX512_CORE, AVX512_CORE_BF16, …) and MKL_ENABLE_INSTRUCTIONS.
type CPUEnvironment struct {
	// CPU is the processor's model name (/proc/cpuinfo).
	CPU string
	// ATenCapability is the vectorised kernel set ATen dispatches to:
	// DEFAULT, AVX2 or AVX512 (ATen's own answer).
	ATenCapability string
	// OneDNNISA is the instruction set oneDNN's JIT kernels use, in
	// ONEDNN_MAX_CPU_ISA's names: the best the CPU has (its flags), capped by
	// ONEDNN_MAX_CPU_ISA. libtorch does not export oneDNN's own query, so
	// this is derived the way oneDNN decides it; the parity tests check it
	// against oneDNN's report in Python.
	OneDNNISA string
	// Threads is libtorch's intra-op thread count (NumThreads).
	Threads int
	// Env holds the variables above that are set.
	Env map[string]string
}

// CPUEnv returns the CPU environment of this process.
func CPUEnv() CPUEnvironment {
	info, _ := os.ReadFile("/proc/cpuinfo")
	model, flags := parseCPUInfo(string(info))
	e := CPUEnvironment{CPU: model, Threads: NumThreads(), Env: map[string]string{}}
	var p *C.char
	if err := check("cpu capability", C.hp_cpu_capability(&p)); err == nil {
		e.ATenCapability = cString(p)
	} else {
		e.ATenCapability = "unknown"
	}
	for _, k := range []string{"ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS", "OMP_NUM_THREADS"} {
		if v, ok := os.LookupEnv(k); ok {
			e.Env[k] = v
		}
	}
	e.OneDNNISA = oneDNNISA(flags, os.Getenv("ONEDNN_MAX_CPU_ISA"))
	return e
}

// String is one line: cpu="AMD EPYC" aten=AVX512 onednn=AVX512_CORE_BF16
// threads=2, then the forcing variables that are set. Python's
// hfpipe_tools.cpuenv.summary prints the same first four fields.
func (e CPUEnvironment) String() string {
	s := fmt.Sprintf("cpu=%q aten=%s onednn=%s threads=%d", e.CPU, e.ATenCapability, e.OneDNNISA, e.Threads)
	keys := make([]string, 0, len(e.Env))
	for k := range e.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s += fmt.Sprintf(" %s=%s", k, e.Env[k])
	}
	return s
}

func parseCPUInfo(info string) (model string, flags map[string]bool) {
	flags = map[string]bool{}
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			if model == "" {
				model = strings.TrimSpace(v)
			}
		case "flags":
			if len(flags) == 0 {
				for _, f := range strings.Fields(v) {
					flags[f] = true
				}
			}
		}
	}
	if model == "" {
		model = "unknown"
	}
	return model, flags
}

// oneDNN's x64 ISAs in its order (cpu_isa_traits.hpp, v3.7): each needs
// the CPU flags listed plus those of every AVX-512 ISA below it.
var oneDNNISAs = []struct {
	name    string
	aliases []string
	flags   []string
}{
	{"SSE41", nil, []string{"sse4_1"}},
	{"AVX", nil, []string{"avx"}},
	{"AVX2", nil, []string{"avx2"}},
	{"AVX2_VNNI", nil, []string{"avx2", "avx_vnni"}},
	{"AVX2_VNNI_2", nil, []string{"avx2", "avx_vnni", "avx_vnni_int8", "avx_ne_convert"}},
	{"AVX512_CORE", nil, []string{"avx512f", "avx512bw", "avx512vl", "avx512dq"}},
	{"AVX512_CORE_VNNI", nil, []string{"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni"}},
	{"AVX512_CORE_BF16", nil, []string{"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16"}},
	{"AVX10_1_512", []string{"AVX512_CORE_FP16"}, []string{"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16", "avx512_fp16"}},
	{"AVX10_1_512_AMX", []string{"AVX512_CORE_AMX"}, []string{"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16"}},
	{"AVX10_1_512_AMX_FP16", []string{"AVX512_CORE_AMX_FP16"}, []string{"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16", "amx_fp16"}},
}

// oneDNNISA is the best ISA the flags allow, capped by a
// ONEDNN_MAX_CPU_ISA value ("" or DEFAULT/ALL: no cap; an unknown value
// is ignored, as oneDNN ignores it).
func oneDNNISA(flags map[string]bool, max string) string {
	limit := len(oneDNNISAs) - 1
	max = strings.ToUpper(strings.TrimSpace(max))
	for i, isa := range oneDNNISAs {
		if max == isa.name || slices.Contains(isa.aliases, max) {
			limit = i
		}
	}
	best := "none"
	for i := 0; i <= limit; i++ {
		ok := true
		for _, f := range oneDNNISAs[i].flags {
			ok = ok && flags[f]
		}
		if ok {
			best = oneDNNISAs[i].name
		}
	}
	return best
}
