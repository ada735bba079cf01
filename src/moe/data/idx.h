// data/idx.h: reader for IDX files (the MNIST / Fashion-MNIST format of LeCun et al.),
// plain or gzip-compressed, and the image-dataset name resolver.
//
// IDX layout (big-endian): a 4-byte magic 0x00 0x00 <type> <ndim>, then ndim uint32
// sizes, then the data in row-major order. Only type 0x08 (unsigned byte) is read:
// images are magic 0x00000803 (N, rows, cols), labels 0x00000801 (N). Every error
// names the file and the byte offset (in the decompressed stream) where it was found.
// Not here: batching or shuffling (the trainers do that).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "moe/core/tensor.h"

namespace moe::data {

constexpr uint32_t kIdxImagesMagic = 0x00000803;
constexpr uint32_t kIdxLabelsMagic = 0x00000801;

// One parsed IDX file of unsigned bytes: its sizes and the raw row-major data.
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> values;
};

// The whole file, decompressed when it is gzip (zlib's gzread reads both), as bytes.
// Throws naming the path when it is missing, not a regular file or a corrupt gzip stream.
std::vector<uint8_t> read_maybe_gzip(const std::string& path);

// Parses IDX bytes that must carry `expected_magic` (0x0000080<ndim>). `origin` names
// the file in errors. Trailing bytes after the data are an error (a sign of a wrong or
// concatenated file).
IdxArray parse_idx(const std::vector<uint8_t>& bytes, uint32_t expected_magic, const std::string& origin);

// float32 (N, rows, cols) with pixel / 255 in [0, 1]; `limit` >= 0 keeps the first `limit`.
Tensor read_idx_images(const std::string& path, int64_t limit = -1);
// int64 (N); `limit` as above.
Tensor read_idx_labels(const std::string& path, int64_t limit = -1);

struct ImageDataset {
  Tensor images;  // float32 (N, rows, cols) in [0, 1]
  Tensor labels;  // int64 (N)
  int64_t size() const { return labels.numel(); }
};

// Images and labels that must hold the same number of items (checked before `limit`).
ImageDataset load_image_dataset(const std::string& images_path, const std::string& labels_path,
                                int64_t limit = -1);

// The four files of a named dataset, and where they come from.
struct ImageDatasetFiles {
  std::string name;
  std::string train_images, train_labels, test_images, test_labels;
};

// Known names: "mnist" (uncompressed files in `mnist_dir`, written by scripts/get_mnist.sh)
// and "fashion-mnist" (the .gz files of Debian's dataset-fashion-mnist in `fashion_dir`).
// Throws listing the known names for any other, and naming the missing file and the
// script or package that provides it when a file is absent.
ImageDatasetFiles resolve_image_dataset(const std::string& name, const std::string& mnist_dir = "data/mnist",
                                        const std::string& fashion_dir = "/usr/share/datasets/fashion-mnist");

}  // namespace moe::data
