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

}  // namespace hfpipe

// Every exported body runs inside HP_TRY/HP_CATCH so that no C++ exception
// reaches Go (an exception unwinding through a cgo frame aborts the process).
#define HP_TRY try {
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
