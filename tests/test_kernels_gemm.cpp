// The float32 GEMM kernels (cpu::gemm: OpenBLAS or the built-in one; cpu::gemm_blocked:
// the built-in one, always) against ref::gemm<double>: all transpose combinations,
// odd and edge sizes, padded leading dims, alpha != 1, beta in {0, 0.5, 1}, NaN in C
// with beta 0, and thread-count independence of the blocked kernel.
#include <cmath>
#include <limits>

#include "moe/kernels/kernels.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {

using GemmFn = void (*)(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                        float, float*, int64_t);

struct Case {
  int64_t M, N, K;
};

std::vector<float> random_floats(int64_t n, uint64_t seed) {
  return rand32({std::max<int64_t>(n, 1)}, seed).to_vector<float>();
}

// Runs gemm on float data and ref::gemm<double> on the same values; compares every
// element of C, padding included (it must be left alone).
void check_gemm(GemmFn gemm, const char* name, bool ta, bool tb, Case s, float alpha, float beta, bool nan_c) {
  const int64_t pad = 3;
  const int64_t lda = (ta ? s.M : s.K) + pad, ldb = (tb ? s.K : s.N) + pad, ldc = s.N + pad;
  const int64_t a_rows = ta ? s.K : s.M, b_rows = tb ? s.N : s.K;
  std::vector<float> A = random_floats(a_rows * lda, 1), B = random_floats(b_rows * ldb, 2),
                     C = random_floats(s.M * ldc, 3);
  if (nan_c)
    for (int64_t i = 0; i < s.M; ++i)
      for (int64_t j = 0; j < s.N; ++j) C[i * ldc + j] = std::numeric_limits<float>::quiet_NaN();
  std::vector<double> Ad(A.begin(), A.end()), Bd(B.begin(), B.end()), Cd(C.begin(), C.end());
  kernels::ref::gemm<double>(ta, tb, s.M, s.N, s.K, alpha, Ad.data(), lda, Bd.data(), ldb, beta, Cd.data(), ldc);
  gemm(ta, tb, s.M, s.N, s.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  for (int64_t i = 0; i < s.M; ++i)
    for (int64_t j = 0; j < ldc; ++j) {
      const double want = Cd[i * ldc + j], got = C[i * ldc + j];
      ASSERT_NEAR(got, want, 1e-5 * (s.K + 1) * std::max(1.0, std::abs(want)))
          << name << " trans_a " << ta << " trans_b " << tb << " " << s.M << "x" << s.N << "x" << s.K << " alpha "
          << alpha << " beta " << beta << (nan_c ? " (NaN C)" : "") << " at (" << i << ", " << j << ")"
          << (j >= s.N ? " in the ldc padding" : "");
    }
}

const Case kCases[] = {{1, 1, 1},     {7, 13, 5},   {65, 33, 129}, {200, 300, 150},
                       {37, 45, 530}, {150, 1100, 40}, {3, 4, 0}};

void check_all(GemmFn gemm, const char* name) {
  for (const Case& s : kCases)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        for (float beta : {0.0f, 1.0f, 0.5f}) check_gemm(gemm, name, ta, tb, s, 1.5f, beta, false);
        check_gemm(gemm, name, ta, tb, s, 1.0f, 1.0f, false);
        check_gemm(gemm, name, ta, tb, s, -0.75f, 0.0f, true);
      }
}

}  // namespace

TEST(KernelsGemm, BlockedMatchesRef) { check_all(kernels::cpu::gemm_blocked, "cpu::gemm_blocked"); }

TEST(KernelsGemm, CpuGemmMatchesRef) { check_all(kernels::cpu::gemm, "cpu::gemm"); }

TEST(KernelsGemm, BlockedIsIndependentOfThreadCount) {
  const int64_t M = 130, N = 270, K = 600;
  std::vector<float> A = random_floats(M * K, 4), B = random_floats(N * K, 5);
  auto run = [&](int threads) {
    const int before = num_threads();
    set_num_threads(threads);
    std::vector<float> C(M * N);
    kernels::cpu::gemm_blocked(false, true, M, N, K, 1.0f, A.data(), K, B.data(), K, 0.0f, C.data(), N);
    set_num_threads(before);
    return C;
  };
  std::vector<float> one = run(1), three = run(3);
  for (int64_t i = 0; i < M * N; ++i) ASSERT_EQ(one[i], three[i]) << "element " << i;
}

TEST(KernelsGemm, EmptyOutputIsANoOp) {
  float c = 7.0f, a = 1.0f, b = 1.0f;
  kernels::cpu::gemm_blocked(false, false, 0, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1);
  kernels::cpu::gemm_blocked(false, false, 1, 0, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1);
  EXPECT_EQ(c, 7.0f);
}
