// data/copy_task.cpp: copy-task batches and the bit error rate.
#include "moe/data/copy_task.h"

#include <vector>

#include "moe/core/error.h"

namespace moe::data {

CopyBatch make_copy_batch(int64_t bits, int64_t length, int64_t batch, Rng& rng, DType dtype) {
  MOE_CHECK(bits >= 1 && length >= 1 && batch >= 1,
            "make_copy_batch: bits, length and batch must be >= 1, got bits={} length={} batch={}", bits, length,
            batch);
  const int64_t T = 2 * length + 1, C = bits + 1;
  std::vector<double> inputs(static_cast<size_t>(T * batch * C), 0.0);
  std::vector<double> targets(static_cast<size_t>(T * batch * bits), 0.0);
  std::vector<double> mask(static_cast<size_t>(T * batch), 0.0);
  for (int64_t t = 0; t < length; ++t)
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t k = 0; k < bits; ++k) {
        const double bit = rng.uniform() < 0.5 ? 0.0 : 1.0;
        inputs[static_cast<size_t>((t * batch + b) * C + k)] = bit;
        targets[static_cast<size_t>(((t + length + 1) * batch + b) * bits + k)] = bit;
      }
  for (int64_t b = 0; b < batch; ++b) {
    inputs[static_cast<size_t>((length * batch + b) * C + bits)] = 1.0;
    for (int64_t t = length + 1; t < T; ++t) mask[static_cast<size_t>(t * batch + b)] = 1.0;
  }
  CopyBatch out;
  out.inputs = Tensor::from_vector(inputs, {T, batch, C}).to(dtype);
  out.targets = Tensor::from_vector(targets, {T, batch, bits}).to(dtype);
  out.mask = Tensor::from_vector(mask, {T, batch, 1}).to(dtype);
  out.length = length;
  return out;
}

double bit_error_rate(const Tensor& logits, const CopyBatch& batch) {
  MOE_CHECK(logits.defined() && logits.shape() == batch.targets.shape(),
            "bit_error_rate: logits {} must match the targets {}", logits.defined() ? logits.str() : "undefined",
            batch.targets.str());
  const std::vector<double> z = logits.to_vector<double>(), y = batch.targets.to_vector<double>(),
                            m = batch.mask.to_vector<double>();
  const int64_t bits = batch.targets.size(2);
  int64_t wrong = 0, total = 0;
  for (size_t i = 0; i < z.size(); ++i) {
    if (m[i / static_cast<size_t>(bits)] == 0) continue;
    ++total;
    if ((z[i] > 0) != (y[i] > 0.5)) ++wrong;
  }
  return total ? static_cast<double>(wrong) / static_cast<double>(total) : 0.0;
}

}  // namespace moe::data
