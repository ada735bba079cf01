// safetensors: bit-exact round trips, the header layout, and refusal of malformed
// files (truncated, bad header length, overlapping / out-of-range / gapped offsets,
// wrong sizes), plus a mutation fuzz: no input crashes the reader.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "moe/io/atomic_file.h"
#include "moe/io/safetensors.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;
using namespace moe::io;

namespace {

std::string tmp_path(const std::string& name) {
  return test_tmp_dir() + "/" + name;
}

// A file with a hand-written header (for malformed cases).
std::string with_header(const std::string& header, const std::string& data) {
  std::string out;
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out + header + data;
}

void expect_refused(const std::string& bytes, const std::string& fragment) {
  try {
    parse_safetensors(bytes, "f.safetensors");
    ADD_FAILURE() << "accepted a malformed file; expected an error mentioning '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("f.safetensors"), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Safetensors, RoundTripIsBitExact) {
  NamedTensors ts = {
      {"blocks.0.w", rand32({3, 4}, 1)},
      {"d", rand64({5}, 2)},
      {"ids", Tensor::from_vector<int64_t>({1, -2, 3}, {3})},
      {"i32", Tensor::from_vector<int32_t>({7, 8}, {2, 1})},
      {"scalar", Tensor::scalar(2.5)},
      {"empty", Tensor::zeros({0, 3})},
      {"transposed", rand32({2, 3}, 3).t()},
  };
  std::string path = tmp_path("rt.safetensors");
  save_safetensors(path, ts, {{"format", "pt"}});
  Safetensors back = load_safetensors(path);
  EXPECT_EQ(back.metadata.at("format"), "pt");
  ASSERT_EQ(back.tensors.size(), ts.size());
  for (auto& [name, t] : ts) {
    Tensor b = back.get(name);
    EXPECT_EQ(b.shape(), t.shape()) << name;
    EXPECT_EQ(b.dtype(), t.dtype()) << name;
    EXPECT_EQ(b.to_vector<double>(), t.to_vector<double>()) << name;
  }
  EXPECT_THROW(back.get("missing"), Error);
}

TEST(Safetensors, HeaderLayoutIsTheStandardOne) {
  std::string bytes = safetensors_bytes({{"a", Tensor::from_list({1, 2}, {2})}, {"b", Tensor::zeros({1}, DType::f64)}});
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ((8 + n) % 8, 0u);  // data aligned to 8 bytes
  auto h = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(h["a"]["dtype"], "F32");
  EXPECT_EQ(h["a"]["shape"], nlohmann::json::array({2}));
  EXPECT_EQ(h["a"]["data_offsets"], nlohmann::json::array({0, 8}));
  EXPECT_EQ(h["b"]["data_offsets"], nlohmann::json::array({8, 16}));
  EXPECT_EQ(bytes.size(), 8 + n + 16);
  float first;
  std::memcpy(&first, bytes.data() + 8 + n, 4);
  EXPECT_EQ(first, 1.0f);  // little-endian float32
}

TEST(Safetensors, RefusesMalformedFiles) {
  const std::string ok_data(8, '\0');
  expect_refused("abc", "truncated");
  expect_refused(std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) + "{}", "header length");
  expect_refused(with_header("{}", "").substr(0, 9), "past the end");
  expect_refused(with_header("[1]", ""), "does not start");
  expect_refused(with_header("{\"a\":", ""), "not valid JSON");
  expect_refused(with_header(R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", "1234"), "unsupported dtype");
  expect_refused(with_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", ok_data), "needs 12");
  expect_refused(with_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", ok_data), "out of range");
  expect_refused(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", ok_data),
                 "overlaps");
  expect_refused(with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", ok_data), "gap");
  expect_refused(with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", ok_data), "trailing");
  expect_refused(with_header(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", ok_data), "bad dimension");
  expect_refused(with_header(R"({"a":{"dtype":"F32","shape":[1]}})", ok_data), "needs dtype");
  expect_refused(with_header(R"({"__metadata__":{"k":1}})", ""), "not a string");
  EXPECT_THROW(load_safetensors(tmp_path("does_not_exist.safetensors")), Error);
}

TEST(Safetensors, MutationFuzzNeverCrashes) {
  std::string good = safetensors_bytes({{"w", rand32({4, 3}, 1)}, {"b", rand64({2}, 2)}}, {{"k", "v"}});
  Rng rng(99);
  int accepted = 0, refused = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string m = good;
    switch (iter % 3) {
      case 0: m.resize(rng.randint(0, static_cast<int64_t>(good.size()))); break;  // truncate
      case 1:
        for (int j = 0; j < 3; ++j) m[rng.randint(0, m.size())] = static_cast<char>(rng.randint(0, 256));
        break;
      case 2: m[rng.randint(0, 8)] = static_cast<char>(rng.randint(0, 256)); break;  // header length
    }
    try {
      parse_safetensors(m, "fuzz");
      ++accepted;
    } catch (const Error&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 1000);
  EXPECT_EQ(accepted + refused, 3000);
}

TEST(AtomicFile, ReplacesWholeFileAndLeavesNoTemp) {
  std::string path = tmp_path("atomic.txt");
  write_file_atomic(path, "first");
  write_file_atomic(path, "second version");
  EXPECT_EQ(read_file(path), "second version");
  for (auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
    EXPECT_EQ(e.path().filename().string().find(".atomic.txt.tmp"), std::string::npos);
  EXPECT_THROW(write_file_atomic("/nonexistent_dir/x", "y"), Error);
}
