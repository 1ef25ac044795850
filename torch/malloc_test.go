package torch

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMallocTuningWanted(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	assert.True(t, mallocTuningWanted(env()))
	assert.True(t, mallocTuningWanted(env("GLIBC_TUNABLES", "glibc.pthread.rseq=0", "LD_PRELOAD", "libfoo.so")))
	assert.False(t, mallocTuningWanted(env("HFPIPE_MALLOC", "system")))
	assert.False(t, mallocTuningWanted(env("MALLOC_TRIM_THRESHOLD_", "1000000")))
	assert.False(t, mallocTuningWanted(env("MALLOC_ARENA_MAX", "2")))
	assert.False(t, mallocTuningWanted(env("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=1048576")))
	assert.False(t, mallocTuningWanted(env("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")))
	assert.False(t, mallocTuningWanted(env("LD_PRELOAD", "libtcmalloc_minimal.so.4")))
}
