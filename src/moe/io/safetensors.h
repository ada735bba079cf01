// io/safetensors.h: the safetensors format (github.com/huggingface/safetensors):
// an 8-byte little-endian header length N, N bytes of JSON header
//   {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value"}}
// then the raw little-endian data, offsets relative to its start. Readable by the
// Python safetensors library and by PyTorch. Writes are atomic (io/atomic_file.h).
// The reader refuses anything malformed with an error naming the file and the tensor
// or byte offset: truncation, a bad header length, unknown dtypes, sizes that do not
// match the shape, out-of-range, overlapping or gapped data offsets.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "moe/core/tensor.h"

namespace moe::io {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct Safetensors {
  std::map<std::string, std::string> metadata;
  NamedTensors tensors;  // in data-offset order
  // The tensor called `name`; throws naming the file and the tensor when absent.
  Tensor get(const std::string& name) const;
  std::string path;
};

// Serialises to bytes (tensors in the given order; any layout is written contiguous).
std::string safetensors_bytes(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata = {});
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// `origin` names the source in error messages (a path).
Safetensors parse_safetensors(const std::string& bytes, const std::string& origin);
Safetensors load_safetensors(const std::string& path);

}  // namespace moe::io
