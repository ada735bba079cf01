// int_list.cpp: see int_list.h.
#include "cli/int_list.h"

#include <sstream>

#include "moe/core/error.h"

namespace moe::cli {

std::vector<int64_t> parse_positive_int_list(const std::string& text, const char* flag) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    MOE_CHECK(used == item.size() && !item.empty() && v >= 1,
              "{}: \"{}\" is not an integer >= 1 (expected a comma-separated list such as 5,10,20), got '{}'", flag,
              item, text);
    out.push_back(v);
  }
  MOE_CHECK(!out.empty(), "{}: the list is empty (expected a comma-separated list such as 5,10,20)", flag);
  return out;
}

}  // namespace moe::cli
