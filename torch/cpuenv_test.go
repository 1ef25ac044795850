package torch

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOneDNNISA(t *testing.T) {
	flags := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, f := range strings.Fields(s) {
			m[f] = true
		}
		return m
	}
	const base = "sse4_1 avx avx2 avx512f avx512bw avx512vl avx512dq avx512_vnni"
	epyc := flags(base + " avx512_bf16")                                                 // Zen 4: no AVX-VNNI, no AMX
	xeon := flags(base + " avx512_bf16 avx512_fp16 avx_vnni amx_tile amx_int8 amx_bf16") // Sapphire Rapids
	for _, tc := range []struct {
		flags map[string]bool
		max   string
		want  string
	}{
		{epyc, "", "AVX512_CORE_BF16"},
		{epyc, "AVX2", "AVX2"},
		{epyc, "avx512_core", "AVX512_CORE"},
		{epyc, "AVX2_VNNI", "AVX2"}, // capped below AVX-512, and no AVX-VNNI
		{epyc, "AVX512_CORE_AMX", "AVX512_CORE_BF16"},
		{epyc, "bogus", "AVX512_CORE_BF16"},
		{xeon, "", "AVX10_1_512_AMX"},
		{xeon, "AVX2_VNNI", "AVX2_VNNI"},
		{xeon, "AVX512_CORE_FP16", "AVX10_1_512"},
		{flags("sse4_1 avx avx2"), "", "AVX2"},
		{flags(""), "", "none"},
	} {
		assert.Equal(t, tc.want, oneDNNISA(tc.flags, tc.max), "max %q", tc.max)
	}
}

func TestCPUEnv(t *testing.T) {
	e := CPUEnv()
	assert.NotEmpty(t, e.CPU)
	assert.Contains(t, []string{"DEFAULT", "AVX2", "AVX512"}, e.ATenCapability)
	if os.Getenv("ATEN_CPU_CAPABILITY") == "avx2" {
		assert.Equal(t, "AVX2", e.ATenCapability)
	}
	assert.Equal(t, NumThreads(), e.Threads)
	assert.True(t, strings.HasPrefix(e.String(), "cpu="), e.String())
	assert.Contains(t, e.String(), "aten="+e.ATenCapability)
}
