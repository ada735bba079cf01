// optim/schedule.h: learning-rate schedules, lr as a function of the 0-based index of
// the optimizer step about to be taken (call opt.set_lr(schedule.lr(step)) before it).
//
// constant:       lr(s) = max_lr
// warmup_cosine:  with W warmup steps and T total steps (W <= T), as nanoGPT / llm.c:
//   s < W:        lr(s) = max_lr * (s + 1) / W                         (linear warmup)
//   W <= s < T:   lr(s) = min_lr + (max_lr - min_lr) * (1 + cos(pi * (s - W) / (T - W))) / 2
//   s >= T:       lr(s) = min_lr
// Cosine annealing as in SGDR (Loshchilov & Hutter 2017, eq. 5) with a single cycle.
#pragma once
#include <cstdint>
#include <string>

namespace moe::optim {

class LrSchedule {
 public:
  static LrSchedule constant(double lr);
  static LrSchedule warmup_cosine(double max_lr, double min_lr, int64_t warmup_steps, int64_t total_steps);

  double lr(int64_t step) const;
  std::string describe() const;  // e.g. "warmup_cosine(max_lr=0.001, min_lr=0.0001, warmup=100, total=5000)"

 private:
  enum class Kind { constant, warmup_cosine };
  LrSchedule(Kind kind, double max_lr, double min_lr, int64_t warmup, int64_t total)
      : kind_(kind), max_lr_(max_lr), min_lr_(min_lr), warmup_(warmup), total_(total) {}
  Kind kind_;
  double max_lr_, min_lr_;
  int64_t warmup_, total_;
};

}  // namespace moe::optim
