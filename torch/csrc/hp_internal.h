// Helpers shared by the shim's translation units; not part of the C API.
#ifndef HFPIPE_HP_INTERNAL_H
#define HFPIPE_HP_INTERNAL_H

#include <exception>
#include <string>

namespace hfpipe {

// Error messages for the C API. They never throw and never return NULL
// (NULL means success): when no memory is left for the message, a static
// one stands in, which hp_free_error knows not to free.
char *error_from(const std::exception &e) noexcept;
char *error_msg(const char *msg) noexcept;
char *error_msg(const std::string &msg) noexcept;
// Whether msg is the static stand-in, which must not be freed.
bool is_static_message(const char *msg) noexcept;

// on_calling_thread makes the operators that a C API call runs on its
// calling thread (a Go thread: loading, conversions, copies) run on that
// thread alone, without an OpenMP thread team of their own. libgomp keeps
// a team per thread that ever ran a parallel region, for the life of the
// thread, and once it manages more threads than there are CPUs it stops
// spinning between parallel regions (throttled spin): every region of the
// forward thread's team then waits on a futex wake-up. Measured on 2 cores:
// a bf16 forward at batch 1 x 16 tokens 15 ms with a team left behind by
// the load on the Go thread, 9 ms without. Forward passes (the forward
// threads, and the locked executor thread) set their own count after it.
void on_calling_thread() noexcept;


}  // namespace hfpipe

// Every exported body runs inside HP_TRY/HP_CATCH so that no C++ exception
// reaches Go (an exception unwinding through a cgo frame aborts the process).
#define HP_TRY try {                                       \
  ::hfpipe::on_calling_thread();
#define HP_CATCH                                                   \
  }                                                                \
  catch (const std::exception &e) {                                \
    return ::hfpipe::error_from(e);                                \
  }                                                                \
  catch (...) {                                                    \
    return ::hfpipe::error_msg("unknown C++ exception in libtorch"); \
  }                                                                \
  return nullptr;

#endif
