#include "moe/core/rng.h"

#include <cmath>

namespace moe {

std::array<uint32_t, 4> philox4x32(uint64_t ctr, uint64_t key) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  uint32_t c0 = static_cast<uint32_t>(ctr), c1 = static_cast<uint32_t>(ctr >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(M0) * c0;
    uint64_t p1 = static_cast<uint64_t>(M1) * c2;
    uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += W0, k1 += W1;
  }
  return {c0, c1, c2, c3};
}

double Rng::uniform_at(uint64_t seed, uint64_t ctr) { return u32_to_unit(philox4x32(ctr, seed)[0]); }

double Rng::normal_at(uint64_t seed, uint64_t ctr) {
  auto w = philox4x32(ctr, seed);
  double u1 = u32_to_unit(w[0]), u2 = u32_to_unit(w[1]);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

double Rng::uniform() { return uniform_at(seed_, reserve(1)); }
double Rng::normal() { return normal_at(seed_, reserve(1)); }

uint64_t Rng::next_u64() {
  auto w = philox4x32(reserve(1), seed_);
  return (static_cast<uint64_t>(w[0]) << 32) | w[1];
}

int64_t Rng::randint(int64_t lo, int64_t hi) {
  uint64_t span = static_cast<uint64_t>(hi - lo);
  return lo + static_cast<int64_t>(next_u64() % span);  // bias < span / 2^64: negligible
}

}  // namespace moe
