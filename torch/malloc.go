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
// as large blocks are freed, and importing transformers frees many); a Go
// program gets them on purpose, with SetMemoryReuse.
//
// Blocks of 32 MiB and more are always mapped afresh by glibc, and those of
// a large batch come to gigabytes per pass (1.4 million page faults at batch
// 32 x 512 tokens): the shim's caching CPU allocator (csrc/cpu_cache.cpp)
// keeps freed blocks from 1 MiB up and hands them out again.
const (
	mallocMmapThreshold = 32 << 20  // glibc's ceiling for heap-served blocks
	mallocTrimThreshold = 256 << 20 // freed memory kept for the next pass
	glibcThreshold      = 128 << 10 // glibc's default for both
	cpuCacheMinBlock    = 1 << 20
	cpuCacheMaxBytes    = 1 << 30 // default for SetCPUCacheLimit
)

var (
	reuseMu       sync.Mutex // serialises SetMemoryReuse and SetCPUCacheLimit
	reuseOn       atomic.Bool
	mallocTuned   atomic.Bool
	cpuCacheLimit atomic.Int64
)

func init() { cpuCacheLimit.Store(cpuCacheMaxBytes) }

// SetMemoryReuse turns memory reuse on or off for the whole process. On,
// freed tensor memory is kept for the next forward pass instead of being
// returned to the OS and faulted in, zeroed, again: glibc malloc serves
// blocks under 32 MiB from its heaps and keeps up to 256 MiB of freed
// memory there (mallopt), and a caching allocator replaces libtorch's CPU
// allocator, keeping freed blocks from 1 MiB up (1 GiB in all, see
// SetCPUCacheLimit) for the next allocation of the same rounded size.
// Forward passes get faster (measured with DistilBERT on 2 cores: page
// faults took 8% of a 128-token pass, and a pass at batch 32 x 512 tokens
// went from 6.9-7.5 s to 5.8 s) at the cost of resident memory: freed
// blocks stay mapped until ReleaseMemory or SetMemoryReuse(false).
//
// The binding never turns it on by itself (loading a module leaves malloc
// and libtorch's allocator alone): a program that wants the speed calls
// SetMemoryReuse(true), as cmd/hfpipe and the benchmarks do. It may be
// called at any time, also while forward passes run: each tensor's memory
// goes back to the allocator that gave it, whichever is installed by then.
// Off restores libtorch's allocator and glibc's default thresholds (128
// KiB, without glibc's own raising of them as large blocks are freed) and
// frees the cache's idle blocks.
//
// The environment has the last word: with HFPIPE_MALLOC=system, or malloc
// configured there (MALLOC_*_ variables, glibc.malloc tunables in
// GLIBC_TUNABLES, a preloaded jemalloc or tcmalloc), SetMemoryReuse(true)
// changes nothing and MemoryReuse stays false.
func SetMemoryReuse(on bool) error {
	reuseMu.Lock()
	defer reuseMu.Unlock()
	if on == reuseOn.Load() {
		return nil
	}
	if on {
		if !mallocTuningWanted(os.Getenv) {
			return nil
		}
		if err := check("enable the CPU cache", C.hp_cpu_cache_enable(cpuCacheMinBlock, C.size_t(cpuCacheLimit.Load()))); err != nil {
			return err
		}
		mallocTuned.Store(C.hp_malloc_keep_freed(mallocMmapThreshold, mallocTrimThreshold) == 1)
		reuseOn.Store(true)
		return nil
	}
	err := check("disable the CPU cache", C.hp_cpu_cache_disable())
	if mallocTuned.Load() {
		C.hp_malloc_keep_freed(glibcThreshold, glibcThreshold)
		mallocTuned.Store(false)
	}
	reuseOn.Store(false)
	return err
}

// MemoryReuse reports whether memory reuse is on (SetMemoryReuse).
func MemoryReuse() bool { return reuseOn.Load() }

// mallocTuningWanted reports whether the environment leaves malloc to the
// binding: not HFPIPE_MALLOC=system, glibc's own variables, or a preloaded
// allocator (which ignores mallopt anyway).
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

// MallocTuned reports whether glibc malloc's thresholds are set now so that
// freed tensor memory is kept for reuse rather than returned to the OS
// between forward passes: SetMemoryReuse(true) sets them, where glibc
// provides mallopt. The cost is resident memory: freed blocks stay mapped
// (up to 256 MiB per malloc arena) until ReleaseMemory or the binding's
// own collection under memory pressure.
func MallocTuned() bool { return mallocTuned.Load() }

// CPUCacheStats describes the binding's caching CPU allocator, which keeps
// the large blocks libtorch frees (from 1 MiB up, 1 GiB in all unless
// SetCPUCacheLimit says otherwise) for the next allocation of the same
// rounded size, so that successive forward passes reuse memory instead of
// having the kernel map and zero it again. SetMemoryReuse installs and
// removes it.
type CPUCacheStats struct {
	Enabled     bool  // installed as libtorch's CPU allocator
	Limit       int64 // most idle bytes kept
	CachedBytes int64 // idle blocks held now
	Hits        int64 // large allocations served from the cache
	Misses      int64 // large allocations that went to malloc
}

// CPUCache returns the caching CPU allocator's counters (Enabled false and
// zeros where it was never installed; the counters last from one
// SetMemoryReuse(true) to the next).
func CPUCache() CPUCacheStats {
	var enabled C.int
	var cached, hits, misses C.size_t
	if check("CPU cache stats", C.hp_cpu_cache_stats(&enabled, &cached, &hits, &misses)) != nil {
		return CPUCacheStats{}
	}
	return CPUCacheStats{Enabled: enabled != 0, Limit: cpuCacheLimit.Load(), CachedBytes: int64(cached), Hits: int64(hits), Misses: int64(misses)}
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
// caching off. It can be called at any time, before or after
// SetMemoryReuse.
func SetCPUCacheLimit(bytes int64) error {
	if bytes < 0 {
		return fmt.Errorf("torch: CPU cache limit %d is negative: use 0 to turn caching off", bytes)
	}
	reuseMu.Lock()
	defer reuseMu.Unlock()
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
