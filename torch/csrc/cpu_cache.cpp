// A caching CPU allocator for libtorch, installed by hp_cpu_cache_enable
// and removed by hp_cpu_cache_disable.
//
// A forward pass allocates and frees the same large activations every time.
// Through malloc, each pass maps them afresh and the kernel zeroes and faults
// every page in again (1.4 million page faults per pass at batch 32 x 512
// tokens on DistilBERT). Keeping freed large blocks and handing them out
// again for the same rounded size makes later passes reuse warm pages, as
// PyTorch's CUDA caching allocator does on the GPU.
#include "hfpipe_torch.h"
#include "hp_internal.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

namespace {

static_assert(sizeof(size_t) == 8, "the size classes assume 64-bit sizes");

constexpr size_t kAlignment = 64;  // c10's gAlignment: what vectorised kernels expect

// Requests above this go to malloc unrounded and uncached: no machine has
// that much memory, and rounding them up could overflow.
constexpr size_t kMaxRounded = size_t(1) << 62;

// The exponent of the smallest power of two >= n (n >= 1).
unsigned ceil_log2(size_t n) { return n <= 1 ? 0 : 64 - __builtin_clzll(static_cast<unsigned long long>(n - 1)); }

// The spacing of block sizes between 2^(e-1) and 2^e: an eighth of 2^e, and
// at least the alignment.
size_t step_for(unsigned e) { return e >= 9 ? size_t(1) << (e - 3) : kAlignment; }

// Sizes round up to a multiple of 1/8 of the next power of two, so that the
// blocks of one shape fit the next pass of a slightly different one. From
// 512 bytes up, a block exceeds its request by less than 25% of the request:
// a request n in (2^(e-1), 2^e] rounds up by less than 2^(e-3) < n/4, the
// worst case being just above a power of two (2^k + 1 rounds to
// 2^k + 2^(k-2)). n must be in [1, kMaxRounded].
size_t round_size(size_t n) {
  size_t step = step_for(ceil_log2(n));
  return (n + step - 1) & ~(step - 1);
}

// Rounded sizes in (2^(e-1), 2^e] are k * step_for(e) with k <= 8, so
// (e, k) numbers them; e <= 62.
constexpr size_t kClasses = 63 * 8;
size_t size_class(size_t rounded) {
  unsigned e = ceil_log2(rounded);
  return e * 8 + rounded / step_for(e) - 1;
}

// An idle block starts with the link to the next idle block of its size,
// so keeping a freed block allocates nothing.
struct Idle {
  Idle *next;
};

class CachingCPUAllocator final : public c10::Allocator {
 public:
  CachingCPUAllocator(size_t min_bytes, size_t max_cached)
      : min_bytes_(std::max(min_bytes, kAlignment)), max_cached_(max_cached) {}

  c10::DataPtr allocate(size_t n) override {
    const c10::Device cpu(c10::DeviceType::CPU);
    if (n == 0) return {nullptr, nullptr, &CachingCPUAllocator::free_block, cpu};
    if (n < min_bytes_ || n > kMaxRounded || max_cached_.load(std::memory_order_relaxed) == 0) {
      // Straight from malloc, and back to it: put finds these in no table.
      void *p = nullptr;
      if (posix_memalign(&p, kAlignment, n) != 0) oom(n);
      return {p, p, &CachingCPUAllocator::free_block, cpu};
    }
    const size_t size = round_size(n);
    Idle *&head = idle_[size_class(size)];
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (Idle *b = head) {
        live_.emplace(b, size);  // may throw: then b is still idle
        head = b->next;
        cached_ -= size;
        hits_++;
        return {b, b, &CachingCPUAllocator::free_block, cpu};
      }
      misses_++;
    }
    void *p = nullptr;
    if (posix_memalign(&p, kAlignment, size) != 0) {
      // Memory held in the cache may be what stands in the way.
      release();
      if (posix_memalign(&p, kAlignment, size) != 0) oom(n);
    }
    try {
      std::lock_guard<std::mutex> lock(mu_);
      live_.emplace(p, size);
    } catch (...) {
      std::free(p);
      throw;
    }
    return {p, p, &CachingCPUAllocator::free_block, cpu};
  }

  // Some kernels allocate scratch memory through raw_allocate and free it
  // through raw_deallocate, which needs the deleter of every DataPtr this
  // allocator hands out, small blocks included.
  c10::DeleterFnPtr raw_deleter() const override { return &CachingCPUAllocator::free_block; }

  void copy_data(void *dest, const void *src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }

  // Frees every cached block.
  void release() { set_limit_and_trim(nullptr); }

  // Sets the most idle bytes kept and frees what is over it.
  void set_limit(size_t max_cached) { set_limit_and_trim(&max_cached); }

  void stats(size_t *cached, size_t *hits, size_t *misses) {
    std::lock_guard<std::mutex> lock(mu_);
    *cached = cached_;
    *hits = hits_;
    *misses = misses_;
  }

  // The allocator whose blocks free_block returns; set before it is
  // installed, never reset (blocks may outlive any owner we could give it).
  static std::atomic<CachingCPUAllocator *> instance;

 private:
  [[noreturn]] static void oom(size_t n) {
    TORCH_CHECK_WITH(OutOfMemoryError, false, "CPU out of memory: tried to allocate ", n, " bytes");
    std::abort();  // not reached
  }

  // The deleter of every DataPtr handed out. It never allocates (a deleter
  // must not throw): the block joins an intrusive list.
  static void free_block(void *p) {
    if (p == nullptr) return;
    CachingCPUAllocator *a = instance.load(std::memory_order_acquire);
    if (a == nullptr) {  // cannot happen: blocks exist only once it is set
      std::free(p);
      return;
    }
    a->put(p);
  }

  void put(void *p) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = live_.find(p);
      if (it != live_.end()) {  // else a small or unrounded block, or not ours
        const size_t size = it->second;
        live_.erase(it);
        if (cached_ + size <= max_cached_.load(std::memory_order_relaxed) && holds(p, size)) {
          Idle *&head = idle_[size_class(size)];
          auto *b = static_cast<Idle *>(p);
          b->next = head;
          head = b;
          cached_ += size;
          return;
        }
      }
    }
    std::free(p);
  }

  // Sets the limit (when max_cached is given, else frees everything) and
  // frees the idle blocks over it, outside the lock.
  void set_limit_and_trim(const size_t *max_cached) {
    Idle *drop = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (max_cached != nullptr) max_cached_.store(*max_cached, std::memory_order_relaxed);
      const size_t keep = max_cached == nullptr ? 0 : *max_cached;
      for (size_t c = kClasses; c-- > 0 && cached_ > keep;) {
        const size_t size = class_size(c);
        while (idle_[c] != nullptr && cached_ > keep) {
          Idle *b = idle_[c];
          idle_[c] = b->next;
          b->next = drop;
          drop = b;
          cached_ -= size;
        }
      }
    }
    while (drop != nullptr) {
      Idle *next = drop->next;
      std::free(drop);
      drop = next;
    }
  }

  // Whether p is a malloc block of at least size bytes. Ours always are; the
  // check covers a block of ours that another deleter freed (raw_deallocate
  // through c10's allocator after a switch), whose address malloc then gave
  // to a smaller block that reached this deleter the same way.
  static bool holds(void *p, size_t size) {
#if defined(__GLIBC__)
    return malloc_usable_size(p) >= size;
#else
    return true;
#endif
  }

  // The block size of size class c (the inverse of size_class).
  static size_t class_size(size_t c) { return (c % 8 + 1) * step_for(static_cast<unsigned>(c / 8)); }

  const size_t min_bytes_;
  std::mutex mu_;
  std::atomic<size_t> max_cached_;         // written under mu_; 0: no caching
  std::array<Idle *, kClasses> idle_{};    // guarded by mu_: idle blocks per size class
  std::unordered_map<void *, size_t> live_;  // guarded by mu_: rounded block -> its size
  size_t cached_ = 0, hits_ = 0, misses_ = 0;  // guarded by mu_
};

std::atomic<CachingCPUAllocator *> CachingCPUAllocator::instance{nullptr};

// Installing and removing the cache: under install_mu.
std::mutex install_mu;
std::atomic<bool> installed{false};
c10::Allocator *previous = nullptr;  // libtorch's allocator before ours
constexpr uint8_t kPriority = 1;     // above c10's default allocator

}  // namespace

// Switching allocators while other threads allocate: c10 keeps the CPU
// allocator in a pointer slot that every allocation reads afresh, both
// allocators live for the whole process, and every block carries the
// deleter of the allocator that made it (c10::DataPtr), so each block goes
// back where it came from whenever it is freed. Blocks of the two
// allocators are posix_memalign'd and freed with free(), so even a
// raw_deallocate through the other allocator's raw_deleter frees them
// correctly.
extern "C" {

char *hp_cpu_cache_enable(size_t min_bytes, size_t max_cached) {
  HP_TRY
  std::lock_guard<std::mutex> lock(install_mu);
  auto *a = CachingCPUAllocator::instance.load();
  if (a == nullptr) {
    // Never freed: tensors allocated here may outlive any owner we could give it.
    a = new CachingCPUAllocator(min_bytes, max_cached);
    CachingCPUAllocator::instance.store(a, std::memory_order_release);
  }
  a->set_limit(max_cached);
  c10::Allocator *current = c10::GetCPUAllocator();
  if (current != a) {
    previous = current;
    c10::SetCPUAllocator(a, kPriority);
    if (c10::GetCPUAllocator() != a) {
      a->set_limit(0);
      return hfpipe::error_msg(
          "another library installed a CPU allocator of higher priority in libtorch; the binding's caching allocator "
          "cannot replace it (leave memory reuse off)");
    }
  }
  installed.store(true);
  HP_CATCH
}

char *hp_cpu_cache_disable(void) {
  HP_TRY
  std::lock_guard<std::mutex> lock(install_mu);
  auto *a = CachingCPUAllocator::instance.load();
  if (a == nullptr || !installed.load()) return nullptr;
  // Leave an allocator installed after ours alone.
  if (c10::GetCPUAllocator() == a && previous != nullptr) c10::SetCPUAllocator(previous, kPriority);
  installed.store(false);
  // Our blocks still in use come back to free_block, which now frees them.
  a->set_limit(0);
  HP_CATCH
}

char *hp_cpu_cache_set_limit(size_t max_cached) {
  HP_TRY
  std::lock_guard<std::mutex> lock(install_mu);
  auto *a = CachingCPUAllocator::instance.load();
  if (a != nullptr && installed.load()) a->set_limit(max_cached);
  HP_CATCH
}

char *hp_cpu_cache_release(void) {
  HP_TRY
  if (auto *a = CachingCPUAllocator::instance.load(std::memory_order_acquire)) a->release();
  HP_CATCH
}

char *hp_cpu_cache_block_size(size_t n, size_t *out) {
  HP_TRY
  *out = n == 0 || n > kMaxRounded ? n : round_size(n);
  HP_CATCH
}

char *hp_cpu_cache_stats(int *enabled, size_t *cached, size_t *hits, size_t *misses) {
  HP_TRY
  auto *a = CachingCPUAllocator::instance.load(std::memory_order_acquire);
  *enabled = installed.load() ? 1 : 0;
  *cached = *hits = *misses = 0;
  if (a != nullptr) a->stats(cached, hits, misses);
  HP_CATCH
}

}  // extern "C"
