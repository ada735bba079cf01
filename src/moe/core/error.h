// error.h: moe::Error and the MOE_CHECK macro used on every user-reachable path.
// Not for internal invariants of hot loops (those are plain asserts, if anything).
#pragma once
#include <fmt/format.h>
#include <stdexcept>
#include <string>

namespace moe {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace moe

// MOE_CHECK(cond, "fmt {}", args...): throws moe::Error with the formatted message.
#define MOE_CHECK(cond, ...)                                        \
  do {                                                              \
    if (!(cond)) throw ::moe::Error(::fmt::format(__VA_ARGS__));    \
  } while (0)
