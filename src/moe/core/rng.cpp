#include "moe/core/rng.h"

#include <cmath>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

namespace {

// Words 0 and 1 (and 2, 3 when asked) of philox4x32(first + i, key) for i in [0, kLanes): the scalar
// rounds above on kLanes counters at once. With SSE2 (every x86-64) the
// 32x32->64 multiplies run four lanes per register (pmuludq on the even lanes,
// then on the odd lanes shifted down); elsewhere a plain loop over lanes.
constexpr int kLanes = 16;
#if defined(__SSE2__)
void philox_block(uint64_t first, uint64_t key, uint32_t* w0, uint32_t* w1, uint32_t* w2 = nullptr,
                 uint32_t* w3 = nullptr) {
  constexpr int kVecs = kLanes / 4;
  const __m128i m0 = _mm_set1_epi32(static_cast<int>(0xD2511F53u)), m1 = _mm_set1_epi32(static_cast<int>(0xCD9E8D57u));
  const __m128i lo_mask = _mm_set1_epi64x(0xFFFFFFFFll), hi_mask = _mm_set1_epi64x(static_cast<long long>(0xFFFFFFFF00000000ull));
  __m128i c0[kVecs], c1[kVecs], c2[kVecs], c3[kVecs];
  for (int v = 0; v < kVecs; ++v) {
    alignas(16) uint32_t lo[4], hi[4];
    for (int l = 0; l < 4; ++l) {
      const uint64_t ctr = first + static_cast<uint64_t>(4 * v + l);
      lo[l] = static_cast<uint32_t>(ctr), hi[l] = static_cast<uint32_t>(ctr >> 32);
    }
    c0[v] = _mm_load_si128(reinterpret_cast<const __m128i*>(lo));
    c1[v] = _mm_load_si128(reinterpret_cast<const __m128i*>(hi));
    c2[v] = _mm_setzero_si128(), c3[v] = _mm_setzero_si128();
  }
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const __m128i vk0 = _mm_set1_epi32(static_cast<int>(k0)), vk1 = _mm_set1_epi32(static_cast<int>(k1));
    for (int v = 0; v < kVecs; ++v) {
      // p = c * M per 32-bit lane as 64 bits: even lanes, then odd lanes.
      const __m128i e0 = _mm_mul_epu32(c0[v], m0), o0 = _mm_mul_epu32(_mm_srli_epi64(c0[v], 32), m0);
      const __m128i e1 = _mm_mul_epu32(c2[v], m1), o1 = _mm_mul_epu32(_mm_srli_epi64(c2[v], 32), m1);
      const __m128i lo0 = _mm_or_si128(_mm_and_si128(e0, lo_mask), _mm_slli_epi64(o0, 32));
      const __m128i hi0 = _mm_or_si128(_mm_srli_epi64(e0, 32), _mm_and_si128(o0, hi_mask));
      const __m128i lo1 = _mm_or_si128(_mm_and_si128(e1, lo_mask), _mm_slli_epi64(o1, 32));
      const __m128i hi1 = _mm_or_si128(_mm_srli_epi64(e1, 32), _mm_and_si128(o1, hi_mask));
      const __m128i n0 = _mm_xor_si128(_mm_xor_si128(hi1, c1[v]), vk0);
      const __m128i n2 = _mm_xor_si128(_mm_xor_si128(hi0, c3[v]), vk1);
      c0[v] = n0, c1[v] = lo1, c2[v] = n2, c3[v] = lo0;
    }
    k0 += 0x9E3779B9u, k1 += 0xBB67AE85u;
  }
  for (int v = 0; v < kVecs; ++v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(w0 + 4 * v), c0[v]);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(w1 + 4 * v), c1[v]);
    if (w2) _mm_storeu_si128(reinterpret_cast<__m128i*>(w2 + 4 * v), c2[v]);
    if (w3) _mm_storeu_si128(reinterpret_cast<__m128i*>(w3 + 4 * v), c3[v]);
  }
}
#else
void philox_block(uint64_t first, uint64_t key, uint32_t* w0, uint32_t* w1, uint32_t* w2 = nullptr,
                 uint32_t* w3 = nullptr) {
  for (int l = 0; l < kLanes; ++l) {
    const auto w = philox4x32(first + static_cast<uint64_t>(l), key);
    w0[l] = w[0], w1[l] = w[1];
    if (w2) w2[l] = w[2];
    if (w3) w3[l] = w[3];
  }
}
#endif

// Calls emit(i, w0, w1) for i in [0, n) with the words of counter first + i.
template <class Emit>
void philox_words(uint64_t first, uint64_t key, int64_t n, Emit&& emit) {
  uint32_t w0[kLanes], w1[kLanes];
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    philox_block(first + static_cast<uint64_t>(i), key, w0, w1);
    for (int l = 0; l < kLanes; ++l) emit(i + l, w0[l], w1[l]);
  }
  for (; i < n; ++i) {
    const auto w = philox4x32(first + static_cast<uint64_t>(i), key);
    emit(i, w[0], w[1]);
  }
}

}  // namespace

void Rng::uniform_fill(uint64_t seed, uint64_t first, int64_t n, double* out) {
  philox_words(first, seed, n, [&](int64_t i, uint32_t w0, uint32_t) { out[i] = u32_to_unit(w0); });
}

double Rng::uniform4_at(uint64_t seed, uint64_t first, uint64_t i) {
  return u32_to_unit(philox4x32(first + i / 4, seed)[i % 4]);
}

void Rng::uniform4_fill(uint64_t seed, uint64_t first, uint64_t i0, int64_t n, double* out) {
  uint32_t w[4][kLanes];
  uint64_t i = i0;
  for (int64_t j = 0; j < n;) {
    if (i % 4 == 0 && n - j >= 4 * kLanes) {  // kLanes whole counters at once
      philox_block(first + i / 4, seed, w[0], w[1], w[2], w[3]);
      for (int l = 0; l < kLanes; ++l)
        for (int word = 0; word < 4; ++word) out[j + 4 * l + word] = u32_to_unit(w[word][l]);
      j += 4 * kLanes, i += 4 * kLanes;
    } else {  // the edges of an unaligned range
      out[j++] = uniform4_at(seed, first, i++);
    }
  }
}

void Rng::normal_fill(uint64_t seed, uint64_t first, int64_t n, double* out) {
  philox_words(first, seed, n, [&](int64_t i, uint32_t w0, uint32_t w1) {
    const double u1 = u32_to_unit(w0), u2 = u32_to_unit(w1);
    out[i] = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  });
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
