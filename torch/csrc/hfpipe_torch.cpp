// Implementation of the flat C API declared in hfpipe_torch.h.
//
// Every exported body runs inside HP_TRY/HP_CATCH (hp_internal.h) so that no
// C++ exception reaches Go (an exception unwinding through a cgo frame
// aborts the process).
#include "hfpipe_torch.h"
#include "hp_internal.h"
#include "native/native.h"

#include <torch/script.h>
#include <torch/torch.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <c10/core/InferenceMode.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <unordered_map>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct hp_tensor_s {
  at::Tensor t;
};
struct hp_module_s {
  torch::jit::Module m;  // a TorchScript module, unless native is set
  c10::Device device;
  std::shared_ptr<hfpipe::native::Model> native;  // a native architecture
  size_t native_nbytes = 0;
};
// A read-only memory mapping of a whole file; tensors made over it hold a
// reference, so the mapping lives as long as the last of them.
struct hp_mapping_s {
  std::shared_ptr<void> base;  // munmap on release
  int64_t size = 0;
};
struct hp_ivalue_s {
  c10::IValue v;
};
struct hp_forward_job_s {
  hp_module m;
  std::vector<c10::IValue> args;
  int fd;
  c10::IValue out;
  char *err = nullptr;  // the failure, for hp_forward_job_result to hand over
  int64_t compute_ns = 0;  // libtorch's forward alone, for Module.Stats
  int num_threads = 0;     // intra-op threads on the thread that ran it
  std::atomic<bool> cancel{false};  // native passes stop at the next layer
};


namespace {

char *dup_string(const std::string &s) {
  char *p = static_cast<char *>(std::malloc(s.size() + 1));
  if (p == nullptr) return nullptr;
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

}  // namespace

namespace hfpipe {

namespace {

// Stands in for a message there is no memory for; hp_free_error skips it.
char no_memory_message[] = HP_OOM_TAG "no memory left even for the error message";

// Whether e is an allocation failure. The TorchScript interpreter rethrows
// an operator's exception as a std::runtime_error holding the original
// message after the traceback's last "<--- HERE", so the type is lost
// there and only the message of libtorch's allocators tells.
bool is_out_of_memory(const std::exception &e, const std::string &msg) {
  if (dynamic_cast<const c10::OutOfMemoryError *>(&e) != nullptr || dynamic_cast<const std::bad_alloc *>(&e) != nullptr) {
    return true;
  }
  auto here = msg.rfind("<--- HERE");
  auto cause = here == std::string::npos ? 0 : here;
  for (const char *marker : {"CUDA out of memory", "DefaultCPUAllocator: can't allocate memory",
                             "DefaultCPUAllocator: not enough memory", "CPU out of memory: tried to allocate",
                             "std::bad_alloc"}) {
    if (msg.find(marker, cause) != std::string::npos) return true;
  }
  return false;
}

char *copy_message(const char *s, size_t n) noexcept {
  char *p = static_cast<char *>(std::malloc(n + 1));
  if (p == nullptr) return no_memory_message;
  std::memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

}  // namespace

char *error_msg(const char *msg) noexcept { return copy_message(msg, std::strlen(msg)); }

char *error_msg(const std::string &msg) noexcept { return copy_message(msg.data(), msg.size()); }

// c10::Error::what() appends a C++ backtrace ("Exception raised from ...,
// frame #0: ...") that means nothing to a Go user, but for errors inside the
// TorchScript interpreter the "backtrace" is the TorchScript traceback ending
// in the real cause ("RuntimeError: Expected tensor for argument #1 ..."),
// which what_without_backtrace() leaves out. Keep what() up to the C++ frames.
char *error_from(const std::exception &e) noexcept {
  try {
    std::string msg = e.what();
    if (dynamic_cast<const c10::Error *>(&e) != nullptr) {
      for (const char *marker : {"\nException raised from ", "Exception raised from ", "\nframe #0"}) {
        auto at = msg.find(marker);
        if (at != std::string::npos) msg.resize(at);
      }
    }
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    if (is_out_of_memory(e, msg)) msg.insert(0, HP_OOM_TAG);
    return error_msg(msg);
  } catch (...) {  // no memory to edit the message in
    return no_memory_message;
  }
}

bool is_static_message(const char *msg) noexcept { return msg == no_memory_message; }

}  // namespace hfpipe

namespace {

using hfpipe::error_from;
using hfpipe::error_msg;

#define HP_CHECK_HANDLE(h, what)                               \
  if ((h) == nullptr) return error_msg(what " handle is nil (already closed?)");

c10::Device parse_device(const char *device) {
  c10::Device d(std::string(device == nullptr ? "cpu" : device));
  if (d.is_cuda()) {
    if (!torch::cuda::is_available()) {
      throw std::runtime_error(std::string("device ") + device +
                               " requested but CUDA is not available (no CUDA device or driver visible to libtorch)");
    }
    int64_t n = static_cast<int64_t>(torch::cuda::device_count());
    if (d.has_index() && d.index() >= n) {
      throw std::runtime_error(std::string("device ") + device + " requested but only " +
                               std::to_string(n) + " CUDA device(s) exist");
    }
  }
  return d;
}

c10::ScalarType scalar_type(int dtype) {
  if (dtype < 0 || dtype >= static_cast<int>(c10::ScalarType::NumOptions)) {
    throw std::runtime_error("unknown dtype code " + std::to_string(dtype));
  }
  return static_cast<c10::ScalarType>(dtype);
}

at::IntArrayRef shape_ref(const int64_t *shape, int ndim) {
  if (ndim < 0) throw std::runtime_error("negative number of dimensions");
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) throw std::runtime_error("negative dimension size " + std::to_string(shape[i]));
  }
  return at::IntArrayRef(shape, static_cast<size_t>(ndim));
}

template <typename T>
hp_ivalue new_ivalue(T &&v) {
  return new hp_ivalue_s{c10::IValue(std::forward<T>(v))};
}

// The intra-op thread count hp_set_num_threads asked for; 0 until then.
std::atomic<int> requested_threads{0};

// The intra-op thread count this shim last set on the current thread (0:
// none yet): the forward count on forward threads, 1 on calling threads.
thread_local int threads_here = 0;

// OpenMP and MKL keep the thread count per calling thread, and libtorch
// sets a thread's count once, at its first parallel region, from the
// process-wide value: at::set_num_threads on one thread does not reach a
// thread that has already run an operator. Every forward pass calls this
// first, so a changed count reaches the forward threads before their next
// operator; without hp_set_num_threads, passes run libtorch's default.
void apply_requested_threads() {
  int n = requested_threads.load(std::memory_order_acquire);
  if (n <= 0) n = at::intraop_default_num_threads();
  if (n != threads_here) {
    at::set_num_threads(n);
    threads_here = n;
  }
}

// One intra-op thread on this thread alone: OpenMP's and MKL's per-thread
// counts, found at run time (a libtorch built without them has neither;
// MKL_Set_Num_Threads_Local is the C entry of mkl_set_num_threads_local,
// whose lower-case symbol is the Fortran one, taking a pointer).
// at::set_num_threads(1) would also set the process-wide value that
// threads take at their first operator. libtorch sets a thread's count from
// that value at the thread's first parallel region (lazily): asking for the
// count first has it do so now, so that it does not undo the 1 later.
void single_thread_here() noexcept {
  using omp_fn = void (*)(int);
  using mkl_fn = int (*)(int);
  static const auto omp_set = reinterpret_cast<omp_fn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  static const auto mkl_set = reinterpret_cast<mkl_fn>(dlsym(RTLD_DEFAULT, "MKL_Set_Num_Threads_Local"));
  try {
    (void)at::get_num_threads();
  } catch (...) {
  }
  if (omp_set != nullptr) omp_set(1);
  if (mkl_set != nullptr) mkl_set(1);
}

}  // namespace

void hfpipe::on_calling_thread() noexcept {
  if (threads_here != 1) {
    single_thread_here();
    threads_here = 1;
  }
}

extern "C" {

void hp_free_error(char *err) {
  if (!hfpipe::is_static_message(err)) std::free(err);
}

char *hp_version(char **out) {
  HP_TRY
  *out = dup_string(TORCH_VERSION);
  HP_CATCH
}

char *hp_cpu_capability(char **out) {
  HP_TRY
  *out = dup_string(at::get_cpu_capability());
  HP_CATCH
}

char *hp_set_num_threads(int n) {
  HP_TRY
  if (n < 1) return error_msg("number of threads must be at least 1, got " + std::to_string(n));
  at::set_num_threads(n);  // the process-wide value (and this thread's, until its next call)
  threads_here = n;
  requested_threads.store(n, std::memory_order_release);
  HP_CATCH
}

void hp_calling_thread_omp_threads(int *out) {
  using get_fn = int (*)();
  static const auto omp_get = reinterpret_cast<get_fn>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  *out = omp_get == nullptr ? 0 : omp_get();
}

char *hp_get_num_threads(int *out) {
  HP_TRY
  // What the next forward pass applies (apply_requested_threads), else
  // libtorch's default, which every thread starts with.
  int n = requested_threads.load(std::memory_order_acquire);
  *out = n > 0 ? n : at::intraop_default_num_threads();
  HP_CATCH
}

char *hp_manual_seed(uint64_t seed) {
  HP_TRY
  torch::manual_seed(seed);
  HP_CATCH
}

char *hp_cuda_is_available(int *out) {
  HP_TRY
  *out = torch::cuda::is_available() ? 1 : 0;
  HP_CATCH
}

char *hp_cuda_device_count(int *out) {
  HP_TRY
  *out = static_cast<int>(torch::cuda::device_count());
  HP_CATCH
}

char *hp_cuda_synchronize(int device) {
  HP_TRY
  if (!torch::cuda::is_available()) return error_msg("CUDA is not available");
  torch::cuda::synchronize(device);
  HP_CATCH
}

int hp_release_free_memory(void) {
#if defined(__GLIBC__)
  return malloc_trim(0);
#else
  return 0;
#endif
}

int hp_malloc_keep_freed(size_t mmap_threshold, size_t trim_threshold) {
#if defined(__GLIBC__)
  return mallopt(M_MMAP_THRESHOLD, static_cast<int>(mmap_threshold)) == 1 &&
         mallopt(M_TRIM_THRESHOLD, static_cast<int>(trim_threshold)) == 1;
#else
  return 0;
#endif
}

// ---- tensors ----

char *hp_tensor_from_data(const void *data, size_t nbytes, int dtype, const int64_t *shape, int ndim,
                          hp_tensor *out) {
  HP_TRY
  auto st = scalar_type(dtype);
  auto t = at::empty(shape_ref(shape, ndim), at::TensorOptions().dtype(st));
  if (t.nbytes() != nbytes) {
    return error_msg("data has " + std::to_string(nbytes) + " bytes but shape " + c10::str(t.sizes()) +
                     " of " + std::string(c10::toString(st)) + " needs " + std::to_string(t.nbytes()));
  }
  if (nbytes > 0) std::memcpy(t.data_ptr(), data, nbytes);
  *out = new hp_tensor_s{std::move(t)};
  HP_CATCH
}

void hp_tensor_free(hp_tensor t) { delete t; }

char *hp_tensor_ndim(hp_tensor t, int *out) {
  HP_TRY
  HP_CHECK_HANDLE(t, "tensor")
  *out = static_cast<int>(t->t.dim());
  HP_CATCH
}

char *hp_tensor_shape(hp_tensor t, int64_t *out) {
  HP_TRY
  HP_CHECK_HANDLE(t, "tensor")
  auto s = t->t.sizes();
  for (size_t i = 0; i < s.size(); i++) out[i] = s[i];
  HP_CATCH
}

char *hp_tensor_dtype(hp_tensor t, int *out) {
  HP_TRY
  HP_CHECK_HANDLE(t, "tensor")
  *out = static_cast<int>(t->t.scalar_type());
  HP_CATCH
}

char *hp_tensor_device(hp_tensor t, int *type, int *index) {
  HP_TRY
  HP_CHECK_HANDLE(t, "tensor")
  auto d = t->t.device();
  *type = d.is_cpu() ? 0 : d.is_cuda() ? 1 : 100 + static_cast<int>(d.type());
  *index = d.has_index() ? d.index() : -1;
  HP_CATCH
}

char *hp_tensor_nbytes(hp_tensor t, size_t *out) {
  HP_TRY
  HP_CHECK_HANDLE(t, "tensor")
  *out = t->t.nbytes();
  HP_CATCH
}

char *hp_tensor_copy_to(hp_tensor t, void *dst, size_t nbytes) {
  HP_TRY
  HP_CHECK_HANDLE(t, "tensor")
  // One copy when the tensor is already a contiguous CPU tensor; otherwise
  // libtorch makes the contiguous CPU version first.
  at::Tensor src = t->t;
  if (!src.device().is_cpu()) src = src.to(at::kCPU);
  src = src.contiguous();
  if (src.nbytes() != nbytes) {
    return error_msg("destination has " + std::to_string(nbytes) + " bytes but the tensor holds " +
                     std::to_string(src.nbytes()));
  }
  if (nbytes > 0) std::memcpy(dst, src.data_ptr(), nbytes);
  HP_CATCH
}

char *hp_tensor_to(hp_tensor t, const char *device, int dtype, hp_tensor *out) {
  HP_TRY
  HP_CHECK_HANDLE(t, "tensor")
  auto d = parse_device(device);
  auto st = dtype < 0 ? t->t.scalar_type() : scalar_type(dtype);
  *out = new hp_tensor_s{t->t.to(d, st)};
  HP_CATCH
}

char *hp_tensor_contiguous(hp_tensor t, hp_tensor *out) {
  HP_TRY
  HP_CHECK_HANDLE(t, "tensor")
  *out = new hp_tensor_s{t->t.contiguous()};
  HP_CATCH
}

// ---- IValues ----

char *hp_ivalue_from_tensor(hp_tensor t, hp_ivalue *out) {
  HP_TRY
  HP_CHECK_HANDLE(t, "tensor")
  *out = new_ivalue(t->t);
  HP_CATCH
}

char *hp_ivalue_from_int(int64_t v, hp_ivalue *out) {
  HP_TRY
  *out = new_ivalue(v);
  HP_CATCH
}

char *hp_ivalue_from_double(double v, hp_ivalue *out) {
  HP_TRY
  *out = new_ivalue(v);
  HP_CATCH
}

char *hp_ivalue_from_bool(int v, hp_ivalue *out) {
  HP_TRY
  *out = new_ivalue(v != 0);
  HP_CATCH
}

char *hp_ivalue_from_string(const char *s, hp_ivalue *out) {
  HP_TRY
  *out = new_ivalue(std::string(s));
  HP_CATCH
}

char *hp_ivalue_none(hp_ivalue *out) {
  HP_TRY
  *out = new hp_ivalue_s{c10::IValue()};
  HP_CATCH
}

char *hp_ivalue_tuple(const hp_ivalue *elems, int n, hp_ivalue *out) {
  HP_TRY
  std::vector<c10::IValue> v;
  v.reserve(n);
  for (int i = 0; i < n; i++) {
    if (elems[i] == nullptr) return error_msg("tuple element " + std::to_string(i) + " is nil");
    v.push_back(elems[i]->v);
  }
  *out = new_ivalue(c10::ivalue::Tuple::create(std::move(v)));
  HP_CATCH
}

void hp_ivalue_free(hp_ivalue v) { delete v; }

char *hp_ivalue_kind(hp_ivalue v, int *out) {
  HP_TRY
  HP_CHECK_HANDLE(v, "ivalue")
  const auto &x = v->v;
  *out = x.isNone()        ? HP_IV_NONE
         : x.isTensor()    ? HP_IV_TENSOR
         : x.isDouble()    ? HP_IV_DOUBLE
         : x.isInt()       ? HP_IV_INT
         : x.isBool()      ? HP_IV_BOOL
         : x.isString()    ? HP_IV_STRING
         : x.isTuple()     ? HP_IV_TUPLE
         : x.isList()      ? HP_IV_LIST
         : x.isGenericDict() ? HP_IV_DICT
                           : HP_IV_OTHER;
  HP_CATCH
}

char *hp_ivalue_type_name(hp_ivalue v, char **out) {
  HP_TRY
  HP_CHECK_HANDLE(v, "ivalue")
  *out = dup_string(v->v.tagKind());
  HP_CATCH
}

char *hp_ivalue_to_tensor(hp_ivalue v, hp_tensor *out) {
  HP_TRY
  HP_CHECK_HANDLE(v, "ivalue")
  *out = new hp_tensor_s{v->v.toTensor()};
  HP_CATCH
}

char *hp_ivalue_to_int(hp_ivalue v, int64_t *out) {
  HP_TRY
  HP_CHECK_HANDLE(v, "ivalue")
  *out = v->v.toInt();
  HP_CATCH
}

char *hp_ivalue_to_double(hp_ivalue v, double *out) {
  HP_TRY
  HP_CHECK_HANDLE(v, "ivalue")
  *out = v->v.toDouble();
  HP_CATCH
}

char *hp_ivalue_to_bool(hp_ivalue v, int *out) {
  HP_TRY
  HP_CHECK_HANDLE(v, "ivalue")
  *out = v->v.toBool() ? 1 : 0;
  HP_CATCH
}

char *hp_ivalue_to_string(hp_ivalue v, char **out) {
  HP_TRY
  HP_CHECK_HANDLE(v, "ivalue")
  *out = dup_string(v->v.toStringRef());
  HP_CATCH
}

char *hp_ivalue_len(hp_ivalue v, int64_t *out) {
  HP_TRY
  HP_CHECK_HANDLE(v, "ivalue")
  const auto &x = v->v;
  if (x.isTuple()) {
    *out = static_cast<int64_t>(x.toTupleRef().elements().size());
  } else if (x.isList()) {
    *out = static_cast<int64_t>(x.toListRef().size());
  } else if (x.isGenericDict()) {
    *out = static_cast<int64_t>(x.toGenericDict().size());
  } else {
    return error_msg(std::string("ivalue of kind ") + x.tagKind() + " has no elements");
  }
  HP_CATCH
}

char *hp_ivalue_elem(hp_ivalue v, int64_t i, hp_ivalue *out) {
  HP_TRY
  HP_CHECK_HANDLE(v, "ivalue")
  const auto &x = v->v;
  if (x.isTuple()) {
    const auto &e = x.toTupleRef().elements();
    if (i < 0 || i >= static_cast<int64_t>(e.size())) return error_msg("tuple index out of range");
    *out = new hp_ivalue_s{e[i]};
  } else if (x.isList()) {
    auto l = x.toListRef();
    if (i < 0 || i >= static_cast<int64_t>(l.size())) return error_msg("list index out of range");
    *out = new hp_ivalue_s{l[i]};
  } else {
    return error_msg(std::string("ivalue of kind ") + x.tagKind() + " is not a tuple or list");
  }
  HP_CATCH
}

char *hp_ivalue_dict_item(hp_ivalue v, int64_t i, hp_ivalue *key, hp_ivalue *value) {
  HP_TRY
  HP_CHECK_HANDLE(v, "ivalue")
  if (!v->v.isGenericDict()) return error_msg(std::string("ivalue of kind ") + v->v.tagKind() + " is not a dict");
  auto d = v->v.toGenericDict();
  if (i < 0 || i >= static_cast<int64_t>(d.size())) return error_msg("dict index out of range");
  // c10::Dict keeps insertion order, so index i is stable between calls.
  auto it = d.begin();
  std::advance(it, i);
  *key = new hp_ivalue_s{it->key()};
  *value = new hp_ivalue_s{it->value()};
  HP_CATCH
}

}  // extern "C"

namespace {

// Runs m's forward: the TorchScript module's, or the native architecture's
// with the inputs in the order it declared (input_ids, attention_mask[,
// token_type_ids]). A native model's outputs come back as a tuple, or as the
// tensor alone when there is one.
c10::IValue run_forward(hp_module m, std::vector<c10::IValue> args, const std::atomic<bool> *cancel) {
  if (!m->native) return m->m.forward(std::move(args));
  auto names = m->native->input_names();
  if (args.size() < 2 || args.size() > names.size()) {
    throw std::runtime_error("native forward takes " + std::to_string(names.size()) + " inputs (input_ids, attention_mask" +
                             (names.size() > 2 ? ", token_type_ids" : "") + "), got " + std::to_string(args.size()));
  }
  hfpipe::native::Inputs in;
  for (size_t i = 0; i < args.size(); i++) {
    if (!args[i].isTensor()) throw std::runtime_error("native forward input " + names[i] + " is not a tensor");
    at::Tensor t = args[i].toTensor();
    if (t.scalar_type() != at::kLong) throw std::runtime_error("native forward input " + names[i] + " must be int64");
    if (t.device() != m->device) t = t.to(m->device);
    if (names[i] == "input_ids") in.input_ids = t;
    if (names[i] == "attention_mask") in.attention_mask = t;
    if (names[i] == "token_type_ids") in.token_type_ids = t;
  }
  if (in.input_ids.sizes() != in.attention_mask.sizes() ||
      (in.token_type_ids.defined() && in.token_type_ids.sizes() != in.input_ids.sizes())) {
    throw std::runtime_error("native forward: input_ids, attention_mask and token_type_ids must have one shape");
  }
  auto outs = m->native->forward(in, cancel);
  if (outs.size() == 1) return c10::IValue(outs[0]);
  std::vector<c10::IValue> elems(outs.begin(), outs.end());
  return c10::ivalue::Tuple::create(std::move(elems));
}

}  // namespace

// ---- the forward thread ----
//
// OpenMP keeps one thread team per calling thread, and a Go caller sitting in
// a long cgo call keeps the Go runtime's monitor thread polling, which on a
// small machine pre-empts libtorch's own threads. So forward passes run on
// one thread of ours, always the same, while the Go side parks on an eventfd.
namespace {

class ForwardThread {
 public:
  void submit(hp_forward_job job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!started_) {
        std::thread([this] { loop(); }).detach();
        started_ = true;
      }
      jobs_.push_back(job);
    }
    cv_.notify_one();
  }

 private:
  void loop() {
    for (;;) {
      hp_forward_job job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return !jobs_.empty(); });
        job = jobs_.front();
        jobs_.pop_front();
      }
      auto t0 = std::chrono::steady_clock::now();
      try {
        apply_requested_threads();
        job->num_threads = at::get_num_threads();
        c10::InferenceMode guard;
        job->out = run_forward(job->m, std::move(job->args), &job->cancel);
      } catch (const std::exception &e) {
        job->err = error_from(e);
      } catch (...) {
        job->err = error_msg("unknown C++ exception in libtorch");
      }
      job->compute_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
      uint64_t one = 1;
      while (write(job->fd, &one, sizeof one) < 0 && errno == EINTR) {
      }
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<hp_forward_job> jobs_;
  bool started_ = false;
};

// One forward thread per device, so that a long CPU pass does not hold up
// a CUDA one. Never destroyed: the detached threads may outlive static
// destructors.
ForwardThread &forward_thread(c10::Device d) {
  // "cuda" is the current device, which is device 0 (the binding never
  // changes it; Go passes indexed devices anyway): one GPU, one thread.
  if (d.is_cuda() && !d.has_index()) d = c10::Device(c10::DeviceType::CUDA, 0);
  static std::mutex mu;
  static auto *threads = new std::unordered_map<c10::Device, ForwardThread *>();
  std::lock_guard<std::mutex> lock(mu);
  auto &t = (*threads)[d];
  if (t == nullptr) t = new ForwardThread();
  return *t;
}

}  // namespace

extern "C" {

char *hp_module_forward_async(hp_module m, const hp_ivalue *inputs, int n, int notify_fd, hp_forward_job *job) {
  HP_TRY
  HP_CHECK_HANDLE(m, "module")
  std::unique_ptr<hp_forward_job_s> j(new hp_forward_job_s{m, {}, notify_fd, {}});
  j->args.reserve(n);
  for (int i = 0; i < n; i++) {
    if (inputs[i] == nullptr) return error_msg("forward input " + std::to_string(i) + " is nil");
    j->args.push_back(inputs[i]->v);
  }
  // Queued, the job belongs to the caller; if submit throws, it is freed.
  forward_thread(m->device).submit(j.get());
  *job = j.release();
  HP_CATCH
}

char *hp_forward_job_result(hp_forward_job job, hp_ivalue *out, int64_t *compute_ns, int *num_threads) {
  HP_TRY
  *compute_ns = job->compute_ns;
  *num_threads = job->num_threads;
  if (job->err != nullptr) {
    char *err = job->err;  // handed over to the caller
    job->err = nullptr;
    return err;
  }
  *out = new hp_ivalue_s{std::move(job->out)};
  HP_CATCH
}

void hp_forward_job_cancel(hp_forward_job job) {
  if (job != nullptr) job->cancel.store(true, std::memory_order_relaxed);
}

void hp_forward_job_free(hp_forward_job job) {
  if (job == nullptr) return;
  hp_free_error(job->err);
  delete job;
}

// ---- modules ----

char *hp_module_load(const char *path, const char *device, hp_module *out) {
  HP_TRY
  auto d = parse_device(device);
  auto m = torch::jit::load(std::string(path), d);
  m.eval();
  *out = new hp_module_s{std::move(m), d, nullptr, 0};
  HP_CATCH
}

void hp_module_free(hp_module m) { delete m; }

char *hp_module_forward(hp_module m, const hp_ivalue *inputs, int n, hp_ivalue *out, int64_t *compute_ns,
                        int *num_threads) {
  HP_TRY
  HP_CHECK_HANDLE(m, "module")
  std::vector<c10::IValue> args;
  args.reserve(n);
  for (int i = 0; i < n; i++) {
    if (inputs[i] == nullptr) return error_msg("forward input " + std::to_string(i) + " is nil");
    args.push_back(inputs[i]->v);
  }
  apply_requested_threads();
  *num_threads = at::get_num_threads();
  c10::InferenceMode guard;
  auto t0 = std::chrono::steady_clock::now();
  auto result = run_forward(m, std::move(args), nullptr);
  *compute_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  *out = new_ivalue(std::move(result));
  HP_CATCH
}

char *hp_module_nbytes(hp_module m, size_t *out) {
  HP_TRY
  HP_CHECK_HANDLE(m, "module")
  if (m->native) {
    *out = m->native_nbytes;
    return nullptr;
  }
  size_t total = 0;
  for (const auto &p : m->m.parameters()) total += p.nbytes();
  for (const auto &b : m->m.buffers()) total += b.nbytes();
  *out = total;
  HP_CATCH
}

// Moves CPU parameters and buffers so that each named one starts at its
// offset modulo `modulus`, copying it into fresh memory that lives as long
// as the tensor. The tensors are changed in place (set_), so the module's
// code, which holds them, sees the new memory.
char *hp_module_align_parameters(hp_module m, const char *const *names, const int *offsets, int n,
                                 int modulus, int *moved) {
  HP_TRY
  HP_CHECK_HANDLE(m, "module")
  if (m->native) return error_msg("a native model uses its checkpoint's weights where they lie; there is nothing to align");
  if (modulus <= 0 || (modulus & (modulus - 1)) != 0 || modulus > 4096) {
    return error_msg("alignment modulus " + std::to_string(modulus) + " is not a power of two up to 4096");
  }
  std::unordered_map<std::string, at::Tensor> have;
  for (const auto &p : m->m.named_parameters(/*recurse=*/true)) have.emplace(p.name, p.value);
  for (const auto &b : m->m.named_buffers(/*recurse=*/true)) have.emplace(b.name, b.value);
  // Check everything first, so that an error leaves the module as it was.
  for (int i = 0; i < n; i++) {
    if (names[i] == nullptr) return error_msg("parameter name " + std::to_string(i) + " is nil");
    auto it = have.find(names[i]);
    if (it == have.end()) {
      return error_msg(std::string("the module has no parameter or buffer named ") + names[i]);
    }
    const auto &t = it->second;
    if (offsets[i] < 0 || offsets[i] >= modulus || offsets[i] % static_cast<int>(t.element_size()) != 0) {
      return error_msg(std::string("offset ") + std::to_string(offsets[i]) + " of " + names[i] +
                       " is not a multiple of its element size " + std::to_string(t.element_size()) +
                       " in 0.." + std::to_string(modulus - 1));
    }
  }
  c10::InferenceMode guard(false);
  torch::NoGradGuard no_grad;
  int count = 0;
  for (int i = 0; i < n; i++) {
    at::Tensor t = have.at(names[i]);
    if (!t.device().is_cpu() || t.numel() == 0 || !t.is_contiguous()) continue;
    auto addr = reinterpret_cast<uintptr_t>(t.data_ptr());
    if (static_cast<int>(addr % modulus) == offsets[i]) continue;
    const size_t nbytes = t.nbytes();
    at::Tensor buf = at::empty({static_cast<int64_t>(nbytes + modulus)}, at::TensorOptions().dtype(at::kByte));
    auto base = reinterpret_cast<uintptr_t>(buf.data_ptr());
    size_t shift = static_cast<size_t>((offsets[i] - static_cast<int64_t>(base % modulus) + modulus) % modulus);
    void *dst = reinterpret_cast<void *>(base + shift);
    std::memcpy(dst, t.data_ptr(), nbytes);
    at::Tensor placed = at::from_blob(
        dst, t.sizes(), t.strides(), [buf](void *) mutable { buf.reset(); }, t.options());
    t.set_(placed);
    count++;
  }
  *moved = count;
  HP_CATCH
}

// ---- memory-mapped files and native architectures ----

char *hp_mapping_open(const char *path, hp_mapping *out, int64_t *size) {
  HP_TRY
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return error_msg(std::string("open ") + path + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return error_msg(std::string("stat ") + path + ": " + std::strerror(e));
  }
  const size_t n = static_cast<size_t>(st.st_size);
  void *p = nullptr;
  if (n > 0) {
    p = mmap(nullptr, n, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      close(fd);
      return error_msg(std::string("mmap ") + path + ": " + std::strerror(e));
    }
  }
  close(fd);
  auto *m = new hp_mapping_s;
  m->base = std::shared_ptr<void>(p, [n](void *q) {
    if (q != nullptr) munmap(q, n);
  });
  m->size = static_cast<int64_t>(n);
  *out = m;
  *size = m->size;
  HP_CATCH
}

void hp_mapping_free(hp_mapping m) { delete m; }

char *hp_mapping_tensor(hp_mapping m, int64_t offset, int64_t nbytes, int dtype, const int64_t *shape, int ndim,
                        hp_tensor *out) {
  HP_TRY
  HP_CHECK_HANDLE(m, "mapping")
  auto st = scalar_type(dtype);
  auto sizes = shape_ref(shape, ndim);
  int64_t numel = 1;
  for (auto d : sizes) {
    if (d != 0 && numel > INT64_MAX / d) return error_msg("tensor shape overflows");
    numel *= d;
  }
  const int64_t elem = static_cast<int64_t>(c10::elementSize(st));
  if (numel > INT64_MAX / elem || numel * elem != nbytes) {
    return error_msg("shape and dtype need a different byte count than " + std::to_string(nbytes));
  }
  if (offset < 0 || nbytes < 0 || offset > m->size || nbytes > m->size - offset) {
    return error_msg("bytes " + std::to_string(offset) + ".." + std::to_string(offset + nbytes) +
                     " lie outside the mapped file of " + std::to_string(m->size) + " bytes");
  }
  auto keep = m->base;
  void *p = nbytes == 0 ? nullptr : static_cast<char *>(keep.get()) + offset;
  at::Tensor t;
  if (p == nullptr) {
    t = at::empty(sizes, at::TensorOptions().dtype(st));
  } else {
    t = at::from_blob(p, sizes, [keep](void *) mutable { keep.reset(); }, at::TensorOptions().dtype(st));
  }
  *out = new hp_tensor_s{std::move(t)};
  HP_CATCH
}

char *hp_native_load(const char *arch, const char *const *keys, const char *const *values, int nkv,
                     const char *const *names, const hp_tensor *tensors, int n, const char *device, int dtype,
                     hp_module *out) {
  HP_TRY
  auto d = parse_device(device);
  auto compute = scalar_type(dtype);
  if (!at::isFloatingType(compute)) return error_msg("native models compute in a floating-point dtype");
  std::map<std::string, std::string> kv;
  for (int i = 0; i < nkv; i++) {
    if (keys[i] == nullptr || values[i] == nullptr) return error_msg("config entry " + std::to_string(i) + " is nil");
    kv[keys[i]] = values[i];
  }
  // "_fast" is no architecture's key: it selects fast mode's kernels.
  auto fast = hfpipe::native::Fast::Off;
  if (auto it = kv.find("_fast"); it != kv.end()) {
    fast = hfpipe::native::parse_fast(it->second);
    kv.erase(it);
  }
  if (fast != hfpipe::native::Fast::Off && (d.type() != at::kCPU || compute != at::kFloat)) {
    return error_msg("fast mode runs on the CPU in float32 (on CUDA, or for a smaller dtype, use float16/bfloat16 in exact mode)");
  }
  std::unordered_map<std::string, at::Tensor> w;
  size_t nbytes = 0;
  {
    c10::InferenceMode guard;
    for (int i = 0; i < n; i++) {
      if (names[i] == nullptr || tensors[i] == nullptr) return error_msg("weight " + std::to_string(i) + " is nil");
      at::Tensor t = tensors[i]->t;
      // As transformers' from_pretrained: floating-point weights in the
      // model's dtype (a copy where the file has another), on its device;
      // where neither changes, the tensor is used where it lies.
      if (at::isFloatingType(t.scalar_type()) && t.scalar_type() != compute) t = t.to(compute);
      if (t.device() != d) t = t.to(d);
      nbytes += t.nbytes();
      w.emplace(names[i], std::move(t));
    }
  }
  hfpipe::native::Config cfg(std::move(kv));
  hfpipe::native::Weights weights(std::move(w), fast);
  std::shared_ptr<hfpipe::native::Model> model;
  {
    c10::InferenceMode guard;
    model = hfpipe::native::build(arch, cfg, weights);
  }
  auto *m = new hp_module_s{torch::jit::Module(), d, std::move(model), nbytes};
  *out = m;
  HP_CATCH
}

char *hp_native_architectures(char **out) {
  HP_TRY
  std::string s;
  for (const auto &a : hfpipe::native::architectures()) s += (s.empty() ? "" : ",") + a;
  *out = dup_string(s);
  if (*out == nullptr) return error_msg("out of memory");
  HP_CATCH
}

}  // extern "C"
