package torch

/*
#include "hfpipe_torch.h"
*/
import "C"

import (
	"fmt"
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
//
// Blocks of 32 MiB and more are always mapped afresh by glibc, and those of
// a large batch come to gigabytes per pass (1.4 million page faults at batch
// 32 x 512 tokens): the shim's caching CPU allocator (csrc/cpu_cache.cpp)
// keeps freed blocks from 1 MiB up and hands them out again.
const (
	mallocMmapThreshold = 32 << 20  // glibc's ceiling for heap-served blocks
	mallocTrimThreshold = 256 << 20 // freed memory kept for the next pass
	cpuCacheMinBlock    = 1 << 20
	cpuCacheMaxBytes    = 1 << 30 // default for SetCPUCacheLimit
)

var (
	mallocOnce    sync.Once
	mallocTuned   atomic.Bool
	cpuCacheLimit atomic.Int64
)

func init() { cpuCacheLimit.Store(cpuCacheMaxBytes) }

// tuneMalloc applies the thresholds and installs the CPU cache once, when
// the first module loads,
// unless the user chose malloc settings: HFPIPE_MALLOC=system, glibc's own
// variables, or a preloaded allocator (which ignores mallopt anyway).
func tuneMalloc() {
	mallocOnce.Do(func() {
		if !mallocTuningWanted(os.Getenv) {
			return
		}
		mallocTuned.Store(C.hp_malloc_keep_freed(mallocMmapThreshold, mallocTrimThreshold) == 1)
		// A failure leaves libtorch's own allocator in place, which only
		// costs speed; CPUCache().Enabled tells.
		_ = check("enable the CPU cache", C.hp_cpu_cache_enable(cpuCacheMinBlock, C.size_t(cpuCacheLimit.Load())))
		// A SetCPUCacheLimit racing with the install may have missed it.
		_ = check("set the CPU cache limit", C.hp_cpu_cache_set_limit(C.size_t(cpuCacheLimit.Load())))
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
// between forward passes. It does so, and installs the caching CPU allocator
// (CPUCache), when the first module loads, unless HFPIPE_MALLOC=system is set
// or the environment already configures malloc (MALLOC_*_ variables,
// glibc.malloc tunables in GLIBC_TUNABLES, a preloaded jemalloc or tcmalloc).
// The cost is resident memory: freed blocks stay mapped (up to 256 MiB per
// malloc arena, 1 GiB in the CPU cache) until ReleaseMemory or the
// binding's own collection under memory pressure.
func MallocTuned() bool { return mallocTuned.Load() }

// CPUCacheStats describes the binding's caching CPU allocator, which keeps
// the large blocks libtorch frees (from 1 MiB up, 1 GiB in all unless
// SetCPUCacheLimit says otherwise) for
// the next allocation of the same rounded size, so that successive forward
// passes reuse memory instead of having the kernel map and zero it again.
// It is installed with the malloc settings (see MallocTuned) and off under
// the same conditions.
type CPUCacheStats struct {
	Enabled     bool
	Limit       int64 // most idle bytes kept
	CachedBytes int64 // idle blocks held now
	Hits        int64 // large allocations served from the cache
	Misses      int64 // large allocations that went to malloc
}

// CPUCache returns the caching CPU allocator's counters.
func CPUCache() CPUCacheStats {
	var enabled C.int
	var cached, hits, misses C.size_t
	if check("CPU cache stats", C.hp_cpu_cache_stats(&enabled, &cached, &hits, &misses)) != nil || enabled == 0 {
		return CPUCacheStats{}
	}
	return CPUCacheStats{Enabled: true, Limit: cpuCacheLimit.Load(), CachedBytes: int64(cached), Hits: int64(hits), Misses: int64(misses)}
}

// ReleaseMemory frees the idle blocks the caching CPU allocator holds and
// returns malloc's free memory to the OS (malloc_trim), for a program that
// is done with models for a while. Blocks in use stay.
func ReleaseMemory() {
	// It can fail only for want of memory for the error message.
	_ = check("release the CPU cache", C.hp_cpu_cache_release())
	C.hp_release_free_memory()
}

// SetCPUCacheLimit sets the most idle memory the caching CPU allocator keeps
// (default 1 GiB) and frees what it holds beyond that at once; 0 turns
// caching off. It can be called before or after the first module loads.
func SetCPUCacheLimit(bytes int64) error {
	if bytes < 0 {
		return fmt.Errorf("torch: CPU cache limit %d is negative: use 0 to turn caching off", bytes)
	}
	cpuCacheLimit.Store(bytes)
	return check("set the CPU cache limit", C.hp_cpu_cache_set_limit(C.size_t(bytes)))
}

// cpuCacheBlockSize returns the size of the block the CPU cache hands out
// for a request of n bytes from its minimum up.
func cpuCacheBlockSize(n uint64) (uint64, error) {
	var out C.size_t
	err := check("cpu cache block size", C.hp_cpu_cache_block_size(C.size_t(n), &out))
	return uint64(out), err
}
