// test_data_idx.cpp: the IDX reader (plain and gzip), its errors, a corruption fuzz loop,
// and the dataset name resolver. Files are tiny and written by the tests themselves.
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "moe/data/idx.h"
#include "test_util.h"

namespace moe::data {
namespace {

using test::expect_error;
using test::test_tmp_dir;

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

std::vector<uint8_t> idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& values) {
  std::vector<uint8_t> out;
  put_be32(out, magic);
  for (uint32_t d : dims) put_be32(out, d);
  out.insert(out.end(), values.begin(), values.end());
  return out;
}

void write_plain(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  gzclose(f);
}

std::vector<uint8_t> read_file_bytes_for_test(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::vector<uint8_t> pixel_ramp(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
  return v;
}

// 3 images of 2x4 and their 3 labels, in `dir`, plain or gzip.
std::pair<std::string, std::string> write_small_dataset(const std::string& dir, bool gzip, uint32_t n_labels = 3) {
  const std::string images = dir + "/images" + (gzip ? ".gz" : ""), labels = dir + "/labels" + (gzip ? ".gz" : "");
  const auto img = idx_bytes(kIdxImagesMagic, {3, 2, 4}, pixel_ramp(24));
  std::vector<uint8_t> label_values;
  for (uint32_t i = 0; i < n_labels; ++i) label_values.push_back(static_cast<uint8_t>(7 - i));
  const auto lab = idx_bytes(kIdxLabelsMagic, {n_labels}, label_values);
  if (gzip) {
    write_gzip(images, img);
    write_gzip(labels, lab);
  } else {
    write_plain(images, img);
    write_plain(labels, lab);
  }
  return {images, labels};
}

void expect_small_dataset(const ImageDataset& ds) {
  ASSERT_EQ(ds.images.shape(), (Shape{3, 2, 4}));
  ASSERT_EQ(ds.images.dtype(), DType::f32);
  ASSERT_EQ(ds.labels.dtype(), DType::i64);
  const auto ramp = pixel_ramp(24);
  std::vector<double> want;
  for (uint8_t p : ramp) want.push_back(static_cast<float>(p) / 255.0f);
  test::expect_close(ds.images, want, 1e-7);
  EXPECT_EQ(ds.labels.to_vector<int64_t>(), (std::vector<int64_t>{7, 6, 5}));
}

TEST(DataIdx, ReadsPlainFiles) {
  const auto [images, labels] = write_small_dataset(test_tmp_dir(), false);
  expect_small_dataset(load_image_dataset(images, labels));
}

TEST(DataIdx, ReadsGzipFiles) {
  const auto [images, labels] = write_small_dataset(test_tmp_dir(), true);
  expect_small_dataset(load_image_dataset(images, labels));
}

TEST(DataIdx, ScalesPixelsToUnitInterval) {
  const std::string path = test_tmp_dir() + "/img";
  write_plain(path, idx_bytes(kIdxImagesMagic, {1, 1, 3}, {0, 128, 255}));
  test::expect_close(read_idx_images(path), {0.0, 128.0 / 255.0, 1.0}, 1e-7);
}

TEST(DataIdx, LimitKeepsTheFirstItems) {
  const auto [images, labels] = write_small_dataset(test_tmp_dir(), true);
  const ImageDataset ds = load_image_dataset(images, labels, 2);
  EXPECT_EQ(ds.images.shape(), (Shape{2, 2, 4}));
  EXPECT_EQ(ds.labels.to_vector<int64_t>(), (std::vector<int64_t>{7, 6}));
  EXPECT_EQ(load_image_dataset(images, labels, 10).size(), 3);
  EXPECT_EQ(read_idx_labels(labels, 1).to_vector<int64_t>(), (std::vector<int64_t>{7}));
}

TEST(DataIdx, CountMismatchNamesBothFiles) {
  const auto [images, labels] = write_small_dataset(test_tmp_dir(), false, 4);
  expect_error([&] { load_image_dataset(images, labels); },
               {"count mismatch", images, "3 images", labels, "4 labels"});
}

TEST(DataIdx, BadMagicNamesFileAndOffset) {
  const std::string path = test_tmp_dir() + "/bad";
  write_plain(path, idx_bytes(0x12340803, {1, 1, 1}, {0}));
  expect_error([&] { read_idx_images(path); }, {path, "offset 0", "bad magic 0x12340803", "0x00000803"});
  // Labels where images are expected: the dimension count is wrong.
  write_plain(path, idx_bytes(kIdxLabelsMagic, {1}, {0}));
  expect_error([&] { read_idx_images(path); }, {path, "bad magic 0x00000801", "1 dimensions", "0x00000803"});
}

TEST(DataIdx, UnsupportedTypeCode) {
  const std::string path = test_tmp_dir() + "/float";
  write_plain(path, idx_bytes(0x00000D03, {1, 1, 1}, {0, 0, 0, 0}));
  expect_error([&] { read_idx_images(path); }, {path, "offset 2", "unsupported type code 0x0D"});
}

TEST(DataIdx, TruncatedHeaderAndData) {
  const std::string dir = test_tmp_dir();
  const auto full = idx_bytes(kIdxImagesMagic, {2, 2, 2}, pixel_ramp(8));
  write_plain(dir + "/tiny", {0, 0, 8});
  expect_error([&] { read_idx_images(dir + "/tiny"); }, {dir + "/tiny", "offset 0", "truncated header"});
  write_plain(dir + "/header", std::vector<uint8_t>(full.begin(), full.begin() + 10));
  expect_error([&] { read_idx_images(dir + "/header"); }, {dir + "/header", "offset 4", "truncated header", "16"});
  write_plain(dir + "/data", std::vector<uint8_t>(full.begin(), full.end() - 3));
  expect_error([&] { read_idx_images(dir + "/data"); }, {dir + "/data", "offset 16", "truncated data", "need 8 bytes", "has 5"});
  write_gzip(dir + "/data.gz", std::vector<uint8_t>(full.begin(), full.end() - 3));
  expect_error([&] { read_idx_images(dir + "/data.gz"); }, {dir + "/data.gz", "offset 16", "truncated data"});
  auto longer = full;
  longer.push_back(1);
  write_plain(dir + "/long", longer);
  expect_error([&] { read_idx_images(dir + "/long"); }, {dir + "/long", "offset 24", "1 trailing bytes"});
}

TEST(DataIdx, TruncatedGzipStream) {
  const std::string dir = test_tmp_dir();
  write_gzip(dir + "/full.gz", idx_bytes(kIdxImagesMagic, {4, 8, 8}, pixel_ramp(256)));
  const std::vector<uint8_t> gz = read_file_bytes_for_test(dir + "/full.gz");
  write_plain(dir + "/cut.gz", std::vector<uint8_t>(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2)));
  expect_error([&] { read_idx_images(dir + "/cut.gz"); }, {dir + "/cut.gz", "corrupt gzip stream"});
}

TEST(DataIdx, MissingFile) {
  const std::string path = test_tmp_dir() + "/nope";
  expect_error([&] { read_idx_labels(path); }, {path, "no such file"});
  expect_error([&] { read_idx_labels(test_tmp_dir()); }, {"not a regular file"});
}

// Random byte flips and truncations of valid plain and gzip files: every outcome is a
// clean read or a moe::Error, never a crash, hang or other exception.
TEST(DataIdx, FuzzedFilesNeverCrash) {
  const std::string dir = test_tmp_dir();
  const auto valid = idx_bytes(kIdxImagesMagic, {3, 4, 5}, pixel_ramp(60));
  write_gzip(dir + "/valid.gz", valid);
  const auto valid_gz = read_file_bytes_for_test(dir + "/valid.gz");
  Rng rng(1234);
  int reads = 0, errors = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const bool gzip = trial % 2 == 1;
    std::vector<uint8_t> bytes = gzip ? valid_gz : valid;
    const auto draws = Tensor::rand({4}, rng, 0.0, 1.0, DType::f64).to_vector<double>();
    const size_t at = static_cast<size_t>(draws[0] * static_cast<double>(bytes.size()));
    if (draws[1] < 0.5) {
      bytes[at] = static_cast<uint8_t>(draws[2] * 256.0);
      if (draws[3] < 0.5) bytes[(at * 7 + 3) % bytes.size()] ^= 0x80;
    } else {
      bytes.resize(at);
    }
    const std::string path = dir + "/fuzz";
    write_plain(path, bytes);
    try {
      const Tensor t = read_idx_images(path);
      ASSERT_EQ(t.dim(), 3);
      ++reads;
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_EQ(reads + errors, 400);
  EXPECT_GT(errors, 100);
}

TEST(DataIdx, ResolverFindsFilesAndNamesTheProvider) {
  const std::string dir = test_tmp_dir();
  for (const char* stem : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                           "t10k-labels-idx1-ubyte"})
    write_plain(dir + "/" + stem, {0});
  const ImageDatasetFiles f = resolve_image_dataset("mnist", dir, dir + "/none");
  EXPECT_EQ(f.train_images, (std::filesystem::path(dir) / "train-images-idx3-ubyte").string());
  EXPECT_EQ(f.test_labels, (std::filesystem::path(dir) / "t10k-labels-idx1-ubyte").string());
  expect_error([&] { resolve_image_dataset("mnist", dir + "/none"); },
               {"dataset 'mnist'", "none/train-images-idx3-ubyte", "is missing", "scripts/get_mnist.sh"});
  expect_error([&] { resolve_image_dataset("fashion-mnist", dir, dir + "/none"); },
               {"train-images-idx3-ubyte.gz", "dataset-fashion-mnist"});
  expect_error([&] { resolve_image_dataset("cifar10"); }, {"unknown image dataset 'cifar10'", "mnist, fashion-mnist"});
}

}  // namespace
}  // namespace moe::data
