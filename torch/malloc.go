package torch

/*
#include "hfpipe_torch.h"
*/
import "C"

import (
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// libtorch's CPU tensors come from malloc. With glibc's defaults, a forward
// pass's activations of more than 128 KiB are mmapped and unmapped again,
// and freed heap memory above a few MiB goes back to the OS, so every pass
// faults its working set in afresh: about 1,700 page faults and 8% of the
// time of a 128-token DistilBERT pass on 2 cores (measured). A Python
// process warms into other settings by chance (glibc raises its thresholds
// as large blocks are freed, and importing transformers frees many); the
// Go process gets them on purpose.
const (
	mallocMmapThreshold = 32 << 20  // glibc's ceiling for heap-served blocks
	mallocTrimThreshold = 256 << 20 // freed memory kept for the next pass
)

var (
	mallocOnce  sync.Once
	mallocTuned atomic.Bool
)

// tuneMalloc applies the thresholds once, when the first module loads,
// unless the user chose malloc settings: HFPIPE_MALLOC=system, glibc's own
// variables, or a preloaded allocator (which ignores mallopt anyway).
func tuneMalloc() {
	mallocOnce.Do(func() {
		if !mallocTuningWanted(os.Getenv) {
			return
		}
		mallocTuned.Store(C.hp_malloc_keep_freed(mallocMmapThreshold, mallocTrimThreshold) == 1)
	})
}

func mallocTuningWanted(getenv func(string) string) bool {
	if getenv("HFPIPE_MALLOC") == "system" {
		return false
	}
	for _, v := range []string{"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_ARENA_MAX"} {
		if getenv(v) != "" {
			return false
		}
	}
	return !strings.Contains(getenv("GLIBC_TUNABLES"), "glibc.malloc.") && !strings.Contains(getenv("LD_PRELOAD"), "malloc")
}

// MallocTuned reports whether the binding has set glibc malloc's thresholds so
// that freed tensor memory is kept for reuse rather than returned to the OS
// between forward passes. It does so when the first module loads, unless
// HFPIPE_MALLOC=system is set or the environment already configures malloc
// (MALLOC_*_ variables, glibc.malloc tunables in GLIBC_TUNABLES, a
// preloaded jemalloc or tcmalloc). The cost is resident memory: up to
// 256 MiB of freed blocks stay mapped per malloc arena.
func MallocTuned() bool { return mallocTuned.Load() }
