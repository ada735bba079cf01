// io/atomic_file.h: crash-safe file writes: write to a temp file beside the target,
// fsync it, rename over the target, fsync the directory. A crash at any point leaves
// either the old file or the new one, never a torn mix.
#pragma once
#include <string>
#include <string_view>

namespace moe::io {

void write_file_atomic(const std::string& path, std::string_view bytes);
// Reads a whole file; throws naming the path when it cannot.
std::string read_file(const std::string& path);

}  // namespace moe::io
