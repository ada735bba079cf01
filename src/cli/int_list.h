// int_list.h: parsing a comma-separated list of positive integers given to a flag
// (`--eval-lengths 5,10,20`, `--ways 3,5`), shared by the subcommands that take one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace moe::cli {

// "5,10,20" -> {5, 10, 20}; throws moe::Error naming `flag` and the bad item for an empty
// list, an empty item, a non-integer or a value below 1.
std::vector<int64_t> parse_positive_int_list(const std::string& text, const char* flag);

}  // namespace moe::cli
