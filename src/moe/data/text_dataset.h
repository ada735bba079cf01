// data/text_dataset.h: a tokenized text for language modelling: a fixed train /
// validation split, random training batches and the fixed evaluation windows.
//
// Split: deterministic and contiguous, no shuffling: the first
// floor(0.9 * N) tokens are the training split, the remaining tokens (the last ~10%)
// the validation split. For Moby Dick that makes the closing chapters the held-out text.
//
// A batch holds B windows of T + 1 consecutive tokens: inputs are the first T, targets
// the last T (targets[b][t] = inputs[b][t + 1], the next token at every position).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "moe/core/rng.h"
#include "moe/core/tensor.h"

namespace moe::data {

enum class Split { train, validation };
const char* split_name(Split split);

struct Batch {
  Tensor inputs;   // int64 (B, T)
  Tensor targets;  // int64 (B, T): inputs shifted left by one
};

class TextDataset {
 public:
  static constexpr double kTrainFraction = 0.9;

  explicit TextDataset(std::vector<int64_t> tokens);

  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  int64_t train_size() const { return train_size_; }
  std::span<const int64_t> tokens(Split split) const;

  // `batch_size` windows of `context` + 1 tokens from `split`, each starting at a
  // uniform position in [0, n - context - 1] drawn from `rng` (one draw per window,
  // in order). Throws when the split has fewer than context + 1 tokens.
  Batch sample_batch(Split split, int64_t batch_size, int64_t context, Rng& rng) const;

 private:
  std::vector<int64_t> tokens_;
  int64_t train_size_;
};

// The evaluation windows of `tokens`: non-overlapping windows of T + 1 tokens starting
// at 0, T, 2T, ... (consecutive windows share one token, so every token after the
// first is predicted exactly once), inputs the first T, targets the last T. A last
// window that does not fit is dropped. Grouped into batches of `batch_size` windows in
// order; the last batch may hold fewer. Throws when there is no complete window.
std::vector<Batch> eval_windows(std::span<const int64_t> tokens, int64_t context, int64_t batch_size);

// The whole file as bytes; throws naming the path when it is missing, unreadable,
// not a regular file or empty.
std::string read_text_file(const std::string& path);

}  // namespace moe::data
