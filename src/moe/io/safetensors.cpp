// io/safetensors.cpp: safetensors writer and validating reader.
#include "moe/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "moe/io/atomic_file.h"

namespace moe::io {

namespace {

constexpr uint64_t kMaxHeader = 100 * 1024 * 1024;  // as the reference implementation

const char* st_dtype(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::i32: return "I32";
    case DType::i64: return "I64";
  }
  return "?";
}

bool parse_dtype(const std::string& s, DType& out) {
  if (s == "F32") out = DType::f32;
  else if (s == "F64") out = DType::f64;
  else if (s == "I32") out = DType::i32;
  else if (s == "I64") out = DType::i64;
  else return false;
  return true;
}

void put_u64_le(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_u64_le(const std::string& s) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; add byte swaps");

}  // namespace

Tensor Safetensors::get(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  throw Error(fmt::format("{}: no tensor named '{}'", path, name));
}

std::string safetensors_bytes(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    MOE_CHECK(!name.empty() && name != "__metadata__", "safetensors: invalid tensor name '{}'", name);
    MOE_CHECK(seen.insert(name).second, "safetensors: tensor name '{}' appears twice", name);
    const uint64_t n = static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype());
    header[name] = {{"dtype", st_dtype(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h.push_back(' ');  // align the data to 8 bytes
  std::string out;
  out.reserve(8 + h.size() + offset);
  put_u64_le(out, h.size());
  out += h;
  for (const auto& [name, t] : tensors) {
    Tensor c = t.contiguous();
    out.append(static_cast<const char*>(c.raw_data()), c.numel() * dtype_size(c.dtype()));
  }
  return out;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, safetensors_bytes(tensors, metadata));
}

Safetensors parse_safetensors(const std::string& bytes, const std::string& origin) {
  MOE_CHECK(bytes.size() >= 8, "{}: truncated: {} bytes, need at least the 8-byte header length", origin,
            bytes.size());
  const uint64_t hlen = get_u64_le(bytes);
  MOE_CHECK(hlen <= kMaxHeader, "{}: header length {} exceeds the {} byte limit", origin, hlen, kMaxHeader);
  MOE_CHECK(hlen <= bytes.size() - 8, "{}: header length {} runs past the end of the file ({} bytes)", origin, hlen,
            bytes.size());
  const std::string htext = bytes.substr(8, hlen);
  MOE_CHECK(!htext.empty() && htext[0] == '{', "{}: header does not start with '{{'", origin);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(htext);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: header is not valid JSON: {}", origin, e.what()));
  }
  MOE_CHECK(header.is_object(), "{}: header is not a JSON object", origin);
  const uint64_t data_len = bytes.size() - 8 - hlen;
  const char* data = bytes.data() + 8 + hlen;

  Safetensors out;
  out.path = origin;
  struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (name == "__metadata__") {
      MOE_CHECK(v.is_object(), "{}: __metadata__ must be an object of strings", origin);
      for (auto m = v.begin(); m != v.end(); ++m) {
        MOE_CHECK(m.value().is_string(), "{}: __metadata__ value '{}' is not a string", origin, m.key());
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    MOE_CHECK(v.is_object() && v.contains("dtype") && v.contains("shape") && v.contains("data_offsets"),
              "{}: tensor '{}' needs dtype, shape and data_offsets", origin, name);
    Entry e;
    e.name = name;
    MOE_CHECK(v["dtype"].is_string() && parse_dtype(v["dtype"].get<std::string>(), e.dtype),
              "{}: tensor '{}' has unsupported dtype {} (expected F32, F64, I32 or I64)", origin, name,
              v["dtype"].dump());
    MOE_CHECK(v["shape"].is_array(), "{}: tensor '{}' shape is not an array", origin, name);
    uint64_t numel = 1;
    for (const auto& d : v["shape"]) {
      MOE_CHECK(d.is_number_unsigned() || (d.is_number_integer() && d.get<int64_t>() >= 0),
                "{}: tensor '{}' has a bad dimension {}", origin, name, d.dump());
      const uint64_t s = d.get<uint64_t>();
      MOE_CHECK(s == 0 || numel <= (uint64_t{1} << 62) / s, "{}: tensor '{}' shape overflows", origin, name);
      numel *= s;
      e.shape.push_back(static_cast<int64_t>(s));
    }
    const auto& off = v["data_offsets"];
    MOE_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(),
              "{}: tensor '{}' data_offsets must be two non-negative integers", origin, name);
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    MOE_CHECK(e.begin <= e.end && e.end <= data_len,
              "{}: tensor '{}' data_offsets [{}, {}] out of range (data section has {} bytes)", origin, name, e.begin,
              e.end, data_len);
    MOE_CHECK(e.end - e.begin == numel * dtype_size(e.dtype),
              "{}: tensor '{}' has {} bytes but shape {} of {} needs {}", origin, name, e.end - e.begin,
              shape_str(e.shape), dtype_name(e.dtype), numel * dtype_size(e.dtype));
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
  });
  uint64_t expected = 0;
  for (const Entry& e : entries) {
    MOE_CHECK(e.begin >= expected, "{}: tensor '{}' at byte {} overlaps the previous tensor (ends at {})", origin,
              e.name, e.begin, expected);
    MOE_CHECK(e.begin == expected, "{}: gap in the data section before tensor '{}' (bytes {}..{})", origin, e.name,
              expected, e.begin);
    expected = e.end;
  }
  MOE_CHECK(expected == data_len, "{}: {} trailing bytes after the last tensor", origin, data_len - expected);
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    if (e.end > e.begin) std::memcpy(t.raw_data(), data + e.begin, e.end - e.begin);
    out.tensors.emplace_back(e.name, t);
  }
  return out;
}

Safetensors load_safetensors(const std::string& path) { return parse_safetensors(read_file(path), path); }

}  // namespace moe::io
