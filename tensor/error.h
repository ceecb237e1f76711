// error.h: loom's exception type and the LOOM_CHECK macro.
// Every library failure is a loom::Error whose message names the op, the shapes
// involved and what was expected; no library path aborts the process.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace loom {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Args>
[[noreturn]] void throw_error(const Args&... args) {
  std::ostringstream s;
  (s << ... << args);
  throw Error(s.str());
}
}  // namespace detail

}  // namespace loom

// LOOM_CHECK(cond, "op: message ", value, ...) throws loom::Error with the
// concatenated message when cond is false.
#define LOOM_CHECK(cond, ...)                          \
  do {                                                 \
    if (!(cond)) ::loom::detail::throw_error(__VA_ARGS__); \
  } while (0)
