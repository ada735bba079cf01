// data/text_dataset.cpp: the train/validation split, batch sampling, eval windows.
#include "moe/data/text_dataset.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "moe/core/error.h"
#include "moe/io/atomic_file.h"

namespace moe::data {

namespace {

// Copies the windows starting at `starts` (each context + 1 tokens) into a batch.
Batch make_batch(std::span<const int64_t> tokens, const std::vector<int64_t>& starts, int64_t context) {
  const auto b = static_cast<int64_t>(starts.size());
  Batch out{Tensor::empty({b, context}, DType::i64), Tensor::empty({b, context}, DType::i64)};
  int64_t* x = out.inputs.data<int64_t>();
  int64_t* y = out.targets.data<int64_t>();
  for (int64_t i = 0; i < b; ++i) {
    const int64_t* w = tokens.data() + starts[i];
    std::memcpy(x + i * context, w, sizeof(int64_t) * context);
    std::memcpy(y + i * context, w + 1, sizeof(int64_t) * context);
  }
  return out;
}

}  // namespace

const char* split_name(Split split) { return split == Split::train ? "train" : "validation"; }

TextDataset::TextDataset(std::vector<int64_t> tokens)
    : tokens_(std::move(tokens)),
      train_size_(static_cast<int64_t>(static_cast<double>(tokens_.size()) * kTrainFraction)) {}

std::span<const int64_t> TextDataset::tokens(Split split) const {
  std::span<const int64_t> all(tokens_);
  return split == Split::train ? all.first(train_size_) : all.subspan(train_size_);
}

Batch TextDataset::sample_batch(Split split, int64_t batch_size, int64_t context, Rng& rng) const {
  MOE_CHECK(batch_size > 0 && context > 0, "sample_batch: batch_size ({}) and context ({}) must be positive",
            batch_size, context);
  const std::span<const int64_t> t = tokens(split);
  const auto n = static_cast<int64_t>(t.size());
  MOE_CHECK(n >= context + 1,
            "sample_batch: the {} split has {} tokens, fewer than context + 1 = {} (the text is too short for "
            "this context)",
            split_name(split), n, context + 1);
  std::vector<int64_t> starts(batch_size);
  for (auto& s : starts) s = rng.randint(0, n - context);  // [0, n - context - 1]
  return make_batch(t, starts, context);
}

std::vector<Batch> eval_windows(std::span<const int64_t> tokens, int64_t context, int64_t batch_size) {
  MOE_CHECK(batch_size > 0 && context > 0, "eval_windows: batch_size ({}) and context ({}) must be positive",
            batch_size, context);
  const auto n = static_cast<int64_t>(tokens.size());
  MOE_CHECK(n >= context + 1, "eval_windows: {} tokens, fewer than context + 1 = {}: no complete window", n,
            context + 1);
  const int64_t windows = (n - 1) / context;  // the k with k * T + T + 1 <= n
  std::vector<Batch> out;
  for (int64_t first = 0; first < windows; first += batch_size) {
    std::vector<int64_t> starts;
    for (int64_t k = first; k < std::min(windows, first + batch_size); ++k) starts.push_back(k * context);
    out.push_back(make_batch(tokens, starts, context));
  }
  return out;
}

std::string read_text_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  MOE_CHECK(fs::exists(status), "text file {} does not exist", path);
  MOE_CHECK(fs::is_regular_file(status), "text file {} is not a regular file", path);
  std::string text = io::read_file(path);
  MOE_CHECK(!text.empty(), "text file {} is empty", path);
  return text;
}

}  // namespace moe::data
