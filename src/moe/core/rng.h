// rng.h: the one random generator of moe.cpp: Philox4x32-10 (Salmon et al. 2011),
// counter based, with our own uniform and normal transforms (std::*_distribution
// differs between standard libraries). Counter-based means element i of a draw
// depends only on (seed, offset + i), so a parallel fill gives the same bits for
// any thread count.
#pragma once
#include <array>
#include <cstdint>

namespace moe {

// Four 32-bit random words for counter `ctr` under `key`.
std::array<uint32_t, 4> philox4x32(uint64_t ctr, uint64_t key);

// Uniform in (0, 1) from one 32-bit word (never 0, so log() is safe).
inline double u32_to_unit(uint32_t w) { return (static_cast<double>(w) + 0.5) * (1.0 / 4294967296.0); }

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : seed_(seed), offset_(0) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed, offset_ = offset; }

  // Reserve `n` counters and return the first: a fill of n elements uses
  // counters [first, first + n), each element drawing from its own counter.
  uint64_t reserve(uint64_t n) {
    uint64_t first = offset_;
    offset_ += n;
    return first;
  }

  double uniform();           // (0, 1)
  double normal();            // N(0, 1), Box-Muller
  uint64_t next_u64();
  int64_t randint(int64_t lo, int64_t hi);  // [lo, hi)

  // Element-wise helpers for counter-based parallel fills.
  static double uniform_at(uint64_t seed, uint64_t ctr);
  static double normal_at(uint64_t seed, uint64_t ctr);
  // Bulk forms, bit for bit equal to the scalar ones: out[i] = uniform_at(seed,
  // first + i) (resp. normal_at) for i in [0, n). Philox runs on a block of
  // counters at once so the compiler vectorises its 32x32->64 multiplies.
  static void uniform_fill(uint64_t seed, uint64_t first, int64_t n, double* out);
  static void normal_fill(uint64_t seed, uint64_t first, int64_t n, double* out);
  // Four uniforms per counter, for draws where 32 bits each suffice (dropout masks):
  // element i is word i % 4 of philox4x32(first + i / 4), so n elements use
  // ceil(n / 4) counters and a quarter of the Philox rounds of uniform_fill.
  // uniform4_fill: out[j] = uniform4_at(seed, first, i0 + j) for j in [0, n).
  static double uniform4_at(uint64_t seed, uint64_t first, uint64_t i);
  static void uniform4_fill(uint64_t seed, uint64_t first, uint64_t i0, int64_t n, double* out);

 private:
  uint64_t seed_;
  uint64_t offset_;
};

}  // namespace moe
