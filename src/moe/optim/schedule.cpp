// optim/schedule.cpp: the learning-rate schedules of schedule.h.
#include "moe/optim/schedule.h"

#include <cmath>
#include <numbers>

#include "moe/core/error.h"

namespace moe::optim {

LrSchedule LrSchedule::constant(double lr) {
  MOE_CHECK(lr >= 0.0 && std::isfinite(lr), "LrSchedule::constant: lr must be finite and >= 0, got {}", lr);
  return LrSchedule(Kind::constant, lr, lr, 0, 0);
}

LrSchedule LrSchedule::warmup_cosine(double max_lr, double min_lr, int64_t warmup_steps, int64_t total_steps) {
  MOE_CHECK(std::isfinite(max_lr) && std::isfinite(min_lr) && min_lr >= 0.0 && min_lr <= max_lr,
            "LrSchedule::warmup_cosine: need 0 <= min_lr <= max_lr, got min_lr={} max_lr={}", min_lr, max_lr);
  MOE_CHECK(warmup_steps >= 0 && warmup_steps <= total_steps,
            "LrSchedule::warmup_cosine: need 0 <= warmup_steps <= total_steps, got warmup_steps={} total_steps={}",
            warmup_steps, total_steps);
  return LrSchedule(Kind::warmup_cosine, max_lr, min_lr, warmup_steps, total_steps);
}

double LrSchedule::lr(int64_t step) const {
  MOE_CHECK(step >= 0, "LrSchedule::lr: step must be >= 0, got {}", step);
  switch (kind_) {
    case Kind::constant: return max_lr_;
    case Kind::warmup_cosine: {
      if (step < warmup_) return max_lr_ * static_cast<double>(step + 1) / static_cast<double>(warmup_);
      if (step >= total_) return min_lr_;
      const double progress = static_cast<double>(step - warmup_) / static_cast<double>(total_ - warmup_);
      return min_lr_ + (max_lr_ - min_lr_) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
    }
  }
  return max_lr_;
}

std::string LrSchedule::describe() const {
  switch (kind_) {
    case Kind::constant: return fmt::format("constant(lr={})", max_lr_);
    case Kind::warmup_cosine:
      return fmt::format("warmup_cosine(max_lr={}, min_lr={}, warmup={}, total={})", max_lr_, min_lr_, warmup_,
                         total_);
  }
  return "?";
}

}  // namespace moe::optim
