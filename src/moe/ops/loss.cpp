// ops/loss.cpp: cross_entropy (fused softmax + negative log likelihood over the
// softmax-family kernels) and mse_loss (composed of elementwise ops and mean).
#include "moe/ops/loss.h"

#include "moe/autograd/autograd.h"
#include "moe/ops/dispatch.h"
#include "moe/ops/to_device.h"
#include "moe/ops/elementwise.h"
#include "moe/ops/reduce.h"

namespace moe {

namespace {

// Number of non-ignored rows; throws naming the row and value of the first target
// outside [0, classes) that is not ignore_index.
int64_t count_targets(const Tensor& targets_in, int64_t classes, int64_t ignore_index) {
  const Tensor targets = to_device(targets_in, Device::CPU);  // checked on the host (a copy for CUDA targets)
  const int64_t* t = targets.data<int64_t>();
  int64_t count = 0;
  for (int64_t r = 0; r < targets.numel(); ++r) {
    if (t[r] == ignore_index) continue;
    MOE_CHECK(t[r] >= 0 && t[r] < classes,
              "cross_entropy: target {} at row {} is out of range [0, {}) (ignore_index is {})", t[r], r,
              classes, ignore_index);
    ++count;
  }
  return count;
}

}  // namespace

Tensor cross_entropy(const Tensor& logits_in, const Tensor& targets_in, int64_t ignore_index) {
  check_float(logits_in, "cross_entropy");
  MOE_CHECK(logits_in.dim() == 2, "cross_entropy: logits must be (N, C), got {}", logits_in.str());
  MOE_CHECK(targets_in.dtype() == DType::i64 && targets_in.dim() == 1,
            "cross_entropy: targets must be int64 (N), got {} for logits {}", targets_in.str(), logits_in.str());
  MOE_CHECK(targets_in.size(0) == logits_in.size(0), "cross_entropy: {} targets for logits {} (N, C)",
            targets_in.size(0), logits_in.str());
  MOE_CHECK(targets_in.device() == logits_in.device(), "cross_entropy: logits on {}, targets on {}",
            device_name(logits_in.device()), device_name(targets_in.device()));
  const int64_t rows = logits_in.size(0), classes = logits_in.size(1);
  MOE_CHECK(classes > 0, "cross_entropy: logits {} have no classes", logits_in.str());
  const Tensor logits = logits_in.detach().contiguous(), targets = targets_in.contiguous();
  const int64_t count = count_targets(targets, classes, ignore_index);

  Tensor row_loss = Tensor::empty({rows}, logits.dtype(), logits.device());
  Tensor lse = Tensor::empty({rows}, logits.dtype(), logits.device());
  double total = 0;  // summed in row order: deterministic for any thread count
  switch (backend_of(logits, "cross_entropy")) {
    case Backend::cpu_f32: {
      kernels::cpu::cross_entropy_rows(logits.data<float>(), targets.data<int64_t>(), row_loss.data<float>(),
                                       lse.data<float>(), rows, classes, ignore_index);
      for (int64_t r = 0; r < rows; ++r) total += row_loss.data<float>()[r];
      break;
    }
    case Backend::ref_f64: {
      kernels::ref::cross_entropy_rows(logits.data<double>(), targets.data<int64_t>(), row_loss.data<double>(),
                                       lse.data<double>(), rows, classes, ignore_index);
      for (int64_t r = 0; r < rows; ++r) total += row_loss.data<double>()[r];
      break;
    }
    case Backend::cuda_f32:
      MOE_CUDA_ONLY("cross_entropy", {
        kernels::cuda::cross_entropy_rows(logits.data<float>(), targets.data<int64_t>(), row_loss.data<float>(),
                                          lse.data<float>(), rows, classes, ignore_index);
        for (float l : row_loss.to_vector<float>()) total += l;  // the host sum, in row order, as on the CPU
      });
      break;
  }
  Tensor out = Tensor::scalar(count ? total / static_cast<double>(count) : 0.0, logits.dtype());
  if (!needs_grad({&logits_in})) return out;
  record(out, "cross_entropy", {logits_in}, [=](const Tensor& g) {
    Tensor glogits = Tensor::empty({rows, classes}, logits.dtype(), logits.device());
    // d loss / d logits[r] = (softmax(logits[r]) - onehot(target[r])) / count, times g.
    const double scale = count ? g.item() / static_cast<double>(count) : 0.0;
    switch (backend_of(logits, "cross_entropy")) {
      case Backend::cpu_f32:
        kernels::cpu::cross_entropy_backward_rows(logits.data<float>(), targets.data<int64_t>(), lse.data<float>(),
                                                  static_cast<float>(scale), glogits.data<float>(), rows, classes,
                                                  ignore_index);
        break;
      case Backend::ref_f64:
        kernels::ref::cross_entropy_backward_rows(logits.data<double>(), targets.data<int64_t>(),
                                                  lse.data<double>(), scale, glogits.data<double>(), rows,
                                                  classes, ignore_index);
        break;
      case Backend::cuda_f32:
        MOE_CUDA_ONLY("cross_entropy", kernels::cuda::cross_entropy_backward_rows(
                                           logits.data<float>(), targets.data<int64_t>(), lse.data<float>(),
                                           static_cast<float>(scale), glogits.data<float>(), rows, classes,
                                           ignore_index));
        break;
    }
    return std::vector<Tensor>{glogits};
  });
  return out;
}

Tensor mse_loss(const Tensor& pred, const Tensor& target) {
  check_float(pred, "mse_loss");
  check_same_kind(pred, target, "mse_loss");
  // Same shape only: a broadcast here is almost always a (N) vs (N, 1) mistake.
  MOE_CHECK(pred.shape() == target.shape(), "mse_loss: pred {} and target {} differ in shape", pred.str(),
            target.str());
  return mean(square(sub(pred, target)));
}

}  // namespace moe
