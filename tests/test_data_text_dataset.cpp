// TextDataset: the 90/10 split, the one-token shift between inputs and targets,
// uniform window starts from the Rng (deterministic per seed), the eval windows on a
// hand-made sequence, and read_text_file's errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <numeric>

#include "moe/core/error.h"
#include "moe/data/text_dataset.h"

using namespace moe;
using namespace moe::data;

namespace {

std::vector<int64_t> iota_tokens(int64_t n, int64_t first = 0) {
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), first);
  return v;
}

std::vector<int64_t> row(const Tensor& t, int64_t r) {
  std::vector<int64_t> all = t.to_vector<int64_t>();
  const int64_t c = t.size(1);
  return {all.begin() + r * c, all.begin() + (r + 1) * c};
}

}  // namespace

TEST(TextDataset, SplitIsFirstNinetyPercentTrainLastTenValidation) {
  TextDataset ds(iota_tokens(1000));
  EXPECT_EQ(ds.train_size(), 900);
  auto train = ds.tokens(Split::train), val = ds.tokens(Split::validation);
  ASSERT_EQ(train.size(), 900u);
  ASSERT_EQ(val.size(), 100u);
  EXPECT_EQ(train.front(), 0);
  EXPECT_EQ(train.back(), 899);
  EXPECT_EQ(val.front(), 900);
  EXPECT_EQ(val.back(), 999);
  TextDataset odd(iota_tokens(15));  // floor(13.5) = 13 train tokens
  EXPECT_EQ(odd.tokens(Split::train).size(), 13u);
  EXPECT_EQ(odd.tokens(Split::validation).size(), 2u);
}

TEST(TextDataset, TargetsAreInputsShiftedByOneWithinTheSplit) {
  TextDataset ds(iota_tokens(1000, 5000));  // token value = 5000 + position
  Rng rng(7);
  for (Split split : {Split::train, Split::validation}) {
    Batch b = ds.sample_batch(split, 16, 8, rng);
    ASSERT_EQ(b.inputs.shape(), (Shape{16, 8}));
    ASSERT_EQ(b.targets.shape(), (Shape{16, 8}));
    EXPECT_EQ(b.inputs.dtype(), DType::i64);
    EXPECT_EQ(b.targets.dtype(), DType::i64);
    const int64_t lo = split == Split::train ? 5000 : 5900, hi = split == Split::train ? 5900 : 6000;
    for (int64_t r = 0; r < 16; ++r) {
      auto x = row(b.inputs, r), y = row(b.targets, r);
      for (int64_t t = 0; t < 8; ++t) {
        EXPECT_EQ(x[t], x[0] + t);  // a contiguous window
        EXPECT_EQ(y[t], x[t] + 1);  // the next token
      }
      EXPECT_GE(x[0], lo);
      EXPECT_LT(y[7], hi);  // the window never crosses into the other split
    }
  }
}

TEST(TextDataset, WindowStartsAreUniformOverEveryValidPosition) {
  // 10 validation tokens, context 3: starts 0..6 are valid; all must occur, none other.
  TextDataset ds(iota_tokens(100));
  Rng rng(3);
  std::vector<int> seen(10, 0);
  for (int i = 0; i < 200; ++i) {
    Batch b = ds.sample_batch(Split::validation, 10, 3, rng);
    for (int64_t r = 0; r < 10; ++r) ++seen.at(row(b.inputs, r)[0] - 90);
  }
  for (int s = 0; s <= 6; ++s) EXPECT_GT(seen[s], 200) << "start " << s;  // expected 2000 / 7 ~ 286
  for (int s = 7; s < 10; ++s) EXPECT_EQ(seen[s], 0) << "start " << s;
}

TEST(TextDataset, SameSeedSameBatches) {
  TextDataset ds(iota_tokens(5000));
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 3; ++i) {
    Batch x = ds.sample_batch(Split::train, 4, 16, a), y = ds.sample_batch(Split::train, 4, 16, b);
    EXPECT_EQ(x.inputs.to_vector<int64_t>(), y.inputs.to_vector<int64_t>());
    EXPECT_EQ(x.targets.to_vector<int64_t>(), y.targets.to_vector<int64_t>());
  }
  EXPECT_EQ(a.offset(), b.offset());
  EXPECT_NE(ds.sample_batch(Split::train, 4, 16, a).inputs.to_vector<int64_t>(),
            ds.sample_batch(Split::train, 4, 16, c).inputs.to_vector<int64_t>());
}

TEST(TextDataset, TooShortForTheContextIsAnError) {
  TextDataset ds(iota_tokens(100));  // validation: 10 tokens
  Rng rng(0);
  EXPECT_NO_THROW(ds.sample_batch(Split::validation, 2, 9, rng));  // exactly context + 1
  try {
    ds.sample_batch(Split::validation, 2, 10, rng);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("validation"), std::string::npos) << m;
    EXPECT_NE(m.find("10 tokens"), std::string::npos) << m;
    EXPECT_NE(m.find("11"), std::string::npos) << m;
  }
  EXPECT_THROW(ds.sample_batch(Split::train, 0, 4, rng), Error);
  EXPECT_THROW(ds.sample_batch(Split::train, 4, 0, rng), Error);
}

TEST(EvalWindows, NonOverlappingWindowsOnAHandMadeSequence) {
  // 0..10 (11 tokens), T = 3: windows start at 0, 3, 6 ([0..3], [3..6], [6..9]); the one
  // at 9 would need tokens 9..12 and is dropped. Batch size 2: batches of 2 and 1.
  const std::vector<int64_t> tokens = iota_tokens(11, 100);
  std::vector<Batch> batches = eval_windows(tokens, 3, 2);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].inputs.shape(), (Shape{2, 3}));
  EXPECT_EQ(batches[1].inputs.shape(), (Shape{1, 3}));
  EXPECT_EQ(batches[0].inputs.to_vector<int64_t>(), (std::vector<int64_t>{100, 101, 102, 103, 104, 105}));
  EXPECT_EQ(batches[0].targets.to_vector<int64_t>(), (std::vector<int64_t>{101, 102, 103, 104, 105, 106}));
  EXPECT_EQ(batches[1].inputs.to_vector<int64_t>(), (std::vector<int64_t>{106, 107, 108}));
  EXPECT_EQ(batches[1].targets.to_vector<int64_t>(), (std::vector<int64_t>{107, 108, 109}));
}

TEST(EvalWindows, EveryTokenAfterTheFirstIsATargetOnceWhenWindowsFit) {
  const std::vector<int64_t> tokens = iota_tokens(13);  // (13 - 1) / 4 = 3 windows cover all
  std::vector<int64_t> targets;
  for (const Batch& b : eval_windows(tokens, 4, 5))
    for (int64_t v : b.targets.to_vector<int64_t>()) targets.push_back(v);
  EXPECT_EQ(targets, iota_tokens(12, 1));
  EXPECT_EQ(eval_windows(iota_tokens(4), 3, 8).size(), 1u);  // exactly T + 1 tokens: one window
  EXPECT_THROW(eval_windows(iota_tokens(3), 3, 8), Error);    // fewer: none
  EXPECT_THROW(eval_windows(tokens, 0, 8), Error);
  EXPECT_THROW(eval_windows(tokens, 4, 0), Error);
}

TEST(ReadTextFile, ReadsBytesAndNamesThePathOnErrors) {
  const auto dir = std::filesystem::temp_directory_path() / "moe_test_text_dataset";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "t.txt").string();
  std::ofstream(path, std::ios::binary) << "Call me Ishmael.\n\xC3\xA4";
  EXPECT_EQ(read_text_file(path), "Call me Ishmael.\n\xC3\xA4");
  for (const std::string& bad : {(dir / "missing.txt").string(), dir.string()}) {
    try {
      read_text_file(bad);
      ADD_FAILURE() << "no error for " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
  std::ofstream((dir / "empty.txt").string());
  EXPECT_THROW(read_text_file((dir / "empty.txt").string()), Error);
}
