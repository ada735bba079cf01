// kernels/cpu/gemm_log.h: an opt-in record of the float32 GEMM shapes cpu::gemm runs on
// the calling thread, so a benchmark can replay a training step's products alone and
// measure its "bare arithmetic" (moe bench train / small). Off unless a log is set.
#pragma once
#include <cstdint>
#include <vector>

namespace moe::kernels::cpu {

struct GemmShape {
  bool trans_a = false, trans_b = false;
  int64_t M = 0, N = 0, K = 0;
  double flops() const { return 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K); }
};

// While `log` is set (nullptr stops), every cpu::gemm call of this thread appends its shape.
void set_gemm_log(std::vector<GemmShape>* log);

// Runs the logged products once each, on scratch operands (fresh values, tight leading
// dimensions), and returns the median wall time of `reps` such replays in ms.
double replay_gemms_ms(const std::vector<GemmShape>& log, int reps = 5);

}  // namespace moe::kernels::cpu
