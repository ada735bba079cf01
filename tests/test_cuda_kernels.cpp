// test_cuda_kernels.cpp: the cuda:: kernels (elementwise, reductions, GEMM fp32 and bf16,
// softmax / cross-entropy, norms, index, optimizer, dropout) against the float64 ref::
// kernels, forward and backward, by normalised error, on fresh random inputs at several
// shapes. Every test skips itself when no CUDA device is visible.
#include <gtest/gtest.h>

#include "moe/ops/dispatch.h"
#include "test_cuda_util.h"

namespace moe {
namespace {

namespace k = kernels;
using test::doubles;
using test::fresh_seed;
using test::poisoned;
using test::random_pair;

constexpr double kF32Tol = 2e-6;   // elementwise fp32 vs float64
constexpr double kSumTol = 1e-5;   // fp32 sums over up to ~10^3 terms

Tensor host64(const Tensor& t) { return t.to(DType::f64); }

TEST(CudaKernels, UnaryForwardAndBackwardMatchRef) {
  MOE_REQUIRE_CUDA_DEVICE();
  const uint64_t seed = fresh_seed();
  SCOPED_TRACE(seed);
  for (int64_t n : {1, 1000, 65537}) {
    for (int o = 0; o <= static_cast<int>(k::Unary::normal_cdf); ++o) {
      const auto op = static_cast<k::Unary>(o);
      if (op == k::Unary::sign || op == k::Unary::step) continue;  // zero derivative, covered by forward
      const bool positive = op == k::Unary::log || op == k::Unary::sqrt || op == k::Unary::pow;
      auto x = random_pair({n}, seed + o, positive ? 0.1 : -3.0, 3.0);
      auto gy = random_pair({n}, seed + 100 + o);
      Tensor y = poisoned({n}), gx = poisoned({n});
      k::cuda::unary(op, x.dev.data<float>(), y.data<float>(), n, 1.5f);
      k::cuda::unary_backward(op, x.dev.data<float>(), y.data<float>(), gy.dev.data<float>(), gx.data<float>(), n,
                              1.5f);
      std::vector<double> xd = doubles(x.host), gyd = doubles(gy.host), yd(n), gxd(n);
      k::ref::unary<double>(op, xd.data(), yd.data(), n, 1.5);
      k::ref::unary_backward<double>(op, xd.data(), yd.data(), gyd.data(), gxd.data(), n, 1.5);
      EXPECT_NORM_ERR(doubles(y), yd, 1e-5) << "unary op " << o << " n " << n;
      EXPECT_NORM_ERR(doubles(gx), gxd, 1e-5) << "unary backward op " << o << " n " << n;
    }
  }
}

TEST(CudaKernels, BinaryBroadcastAndStridedCopyMatchRef) {
  MOE_REQUIRE_CUDA_DEVICE();
  const uint64_t seed = fresh_seed();
  SCOPED_TRACE(seed);
  auto a = random_pair({4, 1, 6}, seed), b = random_pair({5, 6}, seed + 1, 0.5, 2.0);
  const Shape out_shape{4, 5, 6};
  const k::Strided g = make_strided(out_shape, a.dev, &b.dev);
  Tensor a64 = host64(a.host), b64 = host64(b.host);
  for (int o = 0; o <= static_cast<int>(k::Binary::ge); ++o) {
    const auto op = static_cast<k::Binary>(o);
    Tensor out = poisoned(out_shape);
    k::cuda::binary(op, a.dev.data<float>(), b.dev.data<float>(), out.data<float>(), g);
    std::vector<double> want(numel_of(out_shape));
    k::ref::binary<double>(op, a64.data<double>(), b64.data<double>(), want.data(), g, 0, g.rows());
    EXPECT_NORM_ERR(doubles(out), want, kF32Tol) << "binary op " << o;
  }
  // A transposed (non-contiguous) source copied into contiguous memory.
  auto m = random_pair({7, 9}, seed + 2);
  Tensor mt = m.dev.t(), dst = poisoned({9, 7});
  k::cuda::copy_strided(mt.data<float>(), dst.data<float>(), make_strided(dst.shape(), mt, &dst));
  EXPECT_EQ(doubles(dst), doubles(m.host.t().contiguous()));
  EXPECT_EQ(doubles(m.dev.t().contiguous()), doubles(m.host.t().contiguous()));  // through Tensor::contiguous
}

TEST(CudaKernels, ReductionsMatchRef) {
  MOE_REQUIRE_CUDA_DEVICE();
  const uint64_t seed = fresh_seed();
  SCOPED_TRACE(seed);
  for (auto [outer, n, inner] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {3, 1000, 1}, {2, 37, 65}, {1, 4096, 8}}) {
    auto x = random_pair({outer, n, inner}, seed + n);
    Tensor sum = poisoned({outer, inner}), mx = poisoned({outer, inner});
    Tensor arg = Tensor::empty({outer, inner}, DType::i64, Device::CUDA);
    k::cuda::reduce_sum(x.dev.data<float>(), sum.data<float>(), outer, n, inner);
    k::cuda::reduce_max(x.dev.data<float>(), mx.data<float>(), arg.data<int64_t>(), outer, n, inner);
    std::vector<double> xd = doubles(x.host), sd(outer * inner), md(outer * inner);
    std::vector<int64_t> ad(outer * inner);
    k::ref::reduce_sum<double>(xd.data(), sd.data(), outer, n, inner);
    k::ref::reduce_max<double>(xd.data(), md.data(), ad.data(), outer, n, inner);
    EXPECT_NORM_ERR(doubles(sum), sd, kSumTol);
    EXPECT_EQ(doubles(mx), md);
    EXPECT_EQ(arg.to_vector<int64_t>(), ad);
  }
}

TEST(CudaKernels, GemmFp32AndBf16MatchRef) {
  MOE_REQUIRE_CUDA_DEVICE();
  const uint64_t seed = fresh_seed();
  SCOPED_TRACE(seed);
  for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {17, 33, 65}, {128, 64, 96}, {5, 300, 7}}) {
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      auto A = random_pair(ta ? Shape{K, M} : Shape{M, K}, seed + t);
      auto B = random_pair(tb ? Shape{N, K} : Shape{K, N}, seed + 10 + t);
      auto C0 = random_pair({M, N}, seed + 20 + t);
      const int64_t lda = ta ? M : K, ldb = tb ? K : N;
      Tensor C = C0.dev.clone();
      k::cuda::gemm(ta, tb, M, N, K, 1.f, A.dev.data<float>(), lda, B.dev.data<float>(), ldb, 0.5f, C.data<float>(), N);
      std::vector<double> Ad = doubles(A.host), Bd = doubles(B.host), Cd = doubles(C0.host);
      k::ref::gemm<double>(ta, tb, M, N, K, 1.0, Ad.data(), lda, Bd.data(), ldb, 0.5, Cd.data(), N);
      EXPECT_NORM_ERR(doubles(C), Cd, 1e-5) << "fp32 gemm " << M << "x" << N << "x" << K << " trans " << t;
      // bf16 inputs, fp32 accumulation.
      Tensor A16 = Tensor::empty({A.host.numel()}, DType::i32, Device::CUDA);  // 2 bf16 per int32 slot, room to spare
      Tensor B16 = Tensor::empty({B.host.numel()}, DType::i32, Device::CUDA);
      auto* a16 = reinterpret_cast<uint16_t*>(A16.data<int32_t>());
      auto* b16 = reinterpret_cast<uint16_t*>(B16.data<int32_t>());
      k::cuda::f32_to_bf16(A.dev.data<float>(), a16, A.host.numel());
      k::cuda::f32_to_bf16(B.dev.data<float>(), b16, B.host.numel());
      Tensor C16 = poisoned({M, N});
      k::cuda::gemm_bf16(ta, tb, M, N, K, 1.f, a16, lda, b16, ldb, 0.f, C16.data<float>(), N);
      std::vector<double> C16d(M * N);
      k::ref::gemm<double>(ta, tb, M, N, K, 1.0, Ad.data(), lda, Bd.data(), ldb, 0.0, C16d.data(), N);
      EXPECT_NORM_ERR(doubles(C16), C16d, 1e-2) << "bf16 gemm " << M << "x" << N << "x" << K << " trans " << t;
      // The conversion round trip is within bf16's half-ulp (2^-9 relative).
      Tensor back = poisoned(A.host.shape());
      k::cuda::bf16_to_f32(a16, back.data<float>(), A.host.numel());
      EXPECT_NORM_ERR(doubles(back), Ad, 4e-3);
    }
  }
}

TEST(CudaKernels, SoftmaxFamilyAndCrossEntropyMatchRef) {
  MOE_REQUIRE_CUDA_DEVICE();
  const uint64_t seed = fresh_seed();
  SCOPED_TRACE(seed);
  for (auto [rows, n] : {std::pair<int64_t, int64_t>{1, 1}, {7, 10}, {33, 1000}, {4, 5000}}) {
    auto x = random_pair({rows, n}, seed + n, -5.0, 5.0), gy = random_pair({rows, n}, seed + n + 1);
    std::vector<double> xd = doubles(x.host), gyd = doubles(gy.host);
    for (bool log_space : {false, true}) {
      Tensor y = poisoned({rows, n}), gx = poisoned({rows, n});
      std::vector<double> yd(rows * n), gxd(rows * n);
      if (log_space) {
        k::cuda::log_softmax_rows(x.dev.data<float>(), y.data<float>(), rows, n);
        k::cuda::log_softmax_backward_rows(y.data<float>(), gy.dev.data<float>(), gx.data<float>(), rows, n);
        k::ref::log_softmax_rows<double>(xd.data(), yd.data(), rows, n);
        k::ref::log_softmax_backward_rows<double>(yd.data(), gyd.data(), gxd.data(), rows, n);
      } else {
        k::cuda::softmax_rows(x.dev.data<float>(), y.data<float>(), rows, n);
        k::cuda::softmax_backward_rows(y.data<float>(), gy.dev.data<float>(), gx.data<float>(), rows, n);
        k::ref::softmax_rows<double>(xd.data(), yd.data(), rows, n);
        k::ref::softmax_backward_rows<double>(yd.data(), gyd.data(), gxd.data(), rows, n);
      }
      EXPECT_NORM_ERR(doubles(y), yd, kSumTol) << (log_space ? "log_softmax " : "softmax ") << rows << "x" << n;
      EXPECT_NORM_ERR(doubles(gx), gxd, kSumTol) << (log_space ? "log_softmax bwd " : "softmax bwd ") << rows;
    }
    // Cross-entropy with one ignored row (when there are two or more).
    std::vector<int64_t> target(rows);
    Rng rng(seed);
    for (int64_t r = 0; r < rows; ++r) target[r] = rng.randint(0, n);
    if (rows > 1) target[1] = -100;
    Tensor t_dev = test::device_index(target);
    Tensor loss = poisoned({rows}), lse = poisoned({rows}), gl = poisoned({rows, n});
    k::cuda::cross_entropy_rows(x.dev.data<float>(), t_dev.data<int64_t>(), loss.data<float>(), lse.data<float>(), rows,
                                n, -100);
    k::cuda::cross_entropy_backward_rows(x.dev.data<float>(), t_dev.data<int64_t>(), lse.data<float>(), 0.25f,
                                         gl.data<float>(), rows, n, -100);
    std::vector<double> lossd(rows), lsed(rows), gld(rows * n);
    k::ref::cross_entropy_rows<double>(xd.data(), target.data(), lossd.data(), lsed.data(), rows, n, -100);
    k::ref::cross_entropy_backward_rows<double>(xd.data(), target.data(), lsed.data(), 0.25, gld.data(), rows, n, -100);
    EXPECT_NORM_ERR(doubles(loss), lossd, kSumTol);
    EXPECT_NORM_ERR(doubles(gl), gld, kSumTol);
  }
}

TEST(CudaKernels, LayerNormAndRmsNormMatchRef) {
  MOE_REQUIRE_CUDA_DEVICE();
  const uint64_t seed = fresh_seed();
  SCOPED_TRACE(seed);
  for (auto [rows, C] : {std::pair<int64_t, int64_t>{1, 1}, {5, 48}, {64, 1024}, {3, 4099}}) {
    auto x = random_pair({rows, C}, seed + C, -2.0, 2.0), w = random_pair({C}, seed + 1), b = random_pair({C}, seed + 2);
    auto gy = random_pair({rows, C}, seed + 3);
    std::vector<double> xd = doubles(x.host), wd = doubles(w.host), bd = doubles(b.host), gyd = doubles(gy.host);
    Tensor y = poisoned({rows, C}), mean = poisoned({rows}), rstd = poisoned({rows}), gx = poisoned({rows, C});
    Tensor gw = poisoned({C}), gb = poisoned({C});
    k::cuda::layer_norm_rows(x.dev.data<float>(), w.dev.data<float>(), b.dev.data<float>(), y.data<float>(),
                             mean.data<float>(), rstd.data<float>(), rows, C, 1e-5f);
    k::cuda::layer_norm_backward_rows(x.dev.data<float>(), w.dev.data<float>(), mean.data<float>(), rstd.data<float>(),
                                      gy.dev.data<float>(), gx.data<float>(), gw.data<float>(), gb.data<float>(), rows,
                                      C);
    std::vector<double> yd(rows * C), md(rows), rd(rows), gxd(rows * C), gwd(C), gbd(C);
    k::ref::layer_norm_rows<double>(xd.data(), wd.data(), bd.data(), yd.data(), md.data(), rd.data(), rows, C, 1e-5);
    k::ref::layer_norm_backward_rows<double>(xd.data(), wd.data(), md.data(), rd.data(), gyd.data(), gxd.data(),
                                             gwd.data(), gbd.data(), rows, C);
    EXPECT_NORM_ERR(doubles(y), yd, kSumTol) << "layer_norm " << rows << "x" << C;
    EXPECT_NORM_ERR(doubles(gx), gxd, 1e-4) << "layer_norm dx";
    EXPECT_NORM_ERR(doubles(gw), gwd, kSumTol) << "layer_norm dweight";
    EXPECT_NORM_ERR(doubles(gb), gbd, kSumTol) << "layer_norm dbias";
    Tensor ry = poisoned({rows, C}), rr = poisoned({rows}), rgx = poisoned({rows, C}), rgw = poisoned({C});
    k::cuda::rms_norm_rows(x.dev.data<float>(), w.dev.data<float>(), ry.data<float>(), rr.data<float>(), rows, C, 1e-6f);
    k::cuda::rms_norm_backward_rows(x.dev.data<float>(), w.dev.data<float>(), rr.data<float>(), gy.dev.data<float>(),
                                    rgx.data<float>(), rgw.data<float>(), rows, C);
    std::vector<double> ryd(rows * C), rrd(rows), rgxd(rows * C), rgwd(C);
    k::ref::rms_norm_rows<double>(xd.data(), wd.data(), ryd.data(), rrd.data(), rows, C, 1e-6);
    k::ref::rms_norm_backward_rows<double>(xd.data(), wd.data(), rrd.data(), gyd.data(), rgxd.data(), rgwd.data(), rows,
                                           C);
    EXPECT_NORM_ERR(doubles(ry), ryd, kSumTol) << "rms_norm";
    EXPECT_NORM_ERR(doubles(rgx), rgxd, 1e-4) << "rms_norm dx";
    EXPECT_NORM_ERR(doubles(rgw), rgwd, kSumTol) << "rms_norm dweight";
  }
}

TEST(CudaKernels, EmbeddingGatherScatterTopkWhereMatchRef) {
  MOE_REQUIRE_CUDA_DEVICE();
  const uint64_t seed = fresh_seed();
  SCOPED_TRACE(seed);
  Rng rng(seed);
  // Embedding: index_select forward, index_add backward with repeated rows.
  const int64_t V = 50, D = 33, K = 200;
  auto W = random_pair({V, D}, seed), G = random_pair({K, D}, seed + 1);
  std::vector<int64_t> idx(K);
  for (auto& i : idx) i = rng.randint(0, 10);  // many repeats
  Tensor idx_dev = test::device_index(idx);
  Tensor out = poisoned({K, D});
  k::cuda::index_select(W.dev.data<float>(), idx_dev.data<int64_t>(), out.data<float>(), 1, V, K, D);
  Tensor acc = zeros_on({V, D}, DType::f32, Device::CUDA);
  k::cuda::index_add(acc.data<float>(), idx_dev.data<int64_t>(), G.dev.data<float>(), 1, V, K, D);
  std::vector<double> Wd = doubles(W.host), Gd = doubles(G.host), outd(K * D), accd(V * D, 0.0);
  k::ref::index_select<double>(Wd.data(), idx.data(), outd.data(), 1, V, K, D);
  k::ref::index_add<double>(accd.data(), idx.data(), Gd.data(), 1, V, K, D, 0, D);
  EXPECT_EQ(doubles(out), outd);
  EXPECT_NORM_ERR(doubles(acc), accd, kSumTol);
  // Deterministic: the same sum bit for bit on a second run.
  Tensor acc2 = zeros_on({V, D}, DType::f32, Device::CUDA);
  k::cuda::index_add(acc2.data<float>(), idx_dev.data<int64_t>(), G.dev.data<float>(), 1, V, K, D);
  EXPECT_EQ(doubles(acc), doubles(acc2));
  // gather / scatter_add along the middle dim of (2, 6, 5).
  auto X = random_pair({2, 6, 5}, seed + 2), S = random_pair({2, 4, 5}, seed + 3);
  std::vector<int64_t> gi(2 * 4 * 5);
  for (auto& i : gi) i = rng.randint(0, 6);
  Tensor gi_dev = to_device(Tensor::from_vector(gi, {2, 4, 5}), Device::CUDA);
  Tensor gout = poisoned({2, 4, 5}), sacc = zeros_on({2, 6, 5}, DType::f32, Device::CUDA);
  k::cuda::gather(X.dev.data<float>(), gi_dev.data<int64_t>(), gout.data<float>(), 2, 6, 4, 5);
  k::cuda::scatter_add(sacc.data<float>(), gi_dev.data<int64_t>(), S.dev.data<float>(), 2, 6, 4, 5);
  std::vector<double> Xd = doubles(X.host), Sd = doubles(S.host), god(40), sad(60, 0.0);
  k::ref::gather<double>(Xd.data(), gi.data(), god.data(), 2, 6, 4, 5);
  k::ref::scatter_add<double>(sad.data(), gi.data(), Sd.data(), 2, 6, 4, 5, 0, 5);
  EXPECT_EQ(doubles(gout), god);
  EXPECT_NORM_ERR(doubles(sacc), sad, kF32Tol);
  // top-k with ties (values rounded to a coarse grid), largest and smallest.
  const int64_t rows = 37, n = 16, kk = 3;
  std::vector<float> tv(rows * n);
  for (auto& v : tv) v = static_cast<float>(rng.randint(0, 5));
  Tensor tx = to_device(Tensor::from_vector(tv, {rows, n}), Device::CUDA);
  for (bool largest : {true, false}) {
    Tensor vals = poisoned({rows, kk}), inds = Tensor::empty({rows, kk}, DType::i64, Device::CUDA);
    k::cuda::topk(tx.data<float>(), vals.data<float>(), inds.data<int64_t>(), rows, n, kk, largest);
    std::vector<float> rv(rows * kk);
    std::vector<int64_t> ri(rows * kk);
    k::ref::topk<float>(tv.data(), rv.data(), ri.data(), rows, n, kk, largest);
    EXPECT_EQ(inds.to_vector<int64_t>(), ri) << (largest ? "largest" : "smallest");
    EXPECT_EQ(vals.to_vector<float>(), rv);
  }
  // where_into: out[i] = mask ? a : out.
  auto a = random_pair({3, 8}, seed + 4), base = random_pair({3, 8}, seed + 5);
  std::vector<float> mv(24);
  for (auto& v : mv) v = static_cast<float>(rng.randint(0, 2));
  Tensor mask = to_device(Tensor::from_vector(mv, {3, 8}), Device::CUDA), wout = base.dev.clone();
  k::cuda::where_into(mask.data<float>(), a.dev.data<float>(), wout.data<float>(), make_strided({3, 8}, mask, &a.dev));
  std::vector<double> want = doubles(base.host), ad = doubles(a.host);
  for (int i = 0; i < 24; ++i)
    if (mv[i] != 0) want[i] = ad[i];
  EXPECT_EQ(doubles(wout), want);
}

TEST(CudaKernels, OptimizerKernelsMatchRef) {
  MOE_REQUIRE_CUDA_DEVICE();
  const uint64_t seed = fresh_seed();
  SCOPED_TRACE(seed);
  const int64_t n = 10007;
  auto p = random_pair({n}, seed), g = random_pair({n}, seed + 1), m = random_pair({n}, seed + 2);
  auto v = random_pair({n}, seed + 3, 0.0, 1.0);
  for (bool decoupled : {true, false}) {
    k::AdamHyper h{1e-3, 0.9, 0.999, 1e-8, 0.1, decoupled, 7};
    Tensor pd = p.dev.clone(), md = m.dev.clone(), vd = v.dev.clone();
    k::cuda::adam_update(pd.data<float>(), g.dev.data<float>(), md.data<float>(), vd.data<float>(), n, h);
    std::vector<double> pr = doubles(p.host), gr = doubles(g.host), mr = doubles(m.host), vr = doubles(v.host);
    k::ref::adam_update<double>(pr.data(), gr.data(), mr.data(), vr.data(), n, h);
    EXPECT_NORM_ERR(doubles(pd), pr, kF32Tol) << "adam p, decoupled " << decoupled;
    EXPECT_NORM_ERR(doubles(md), mr, kF32Tol);
    EXPECT_NORM_ERR(doubles(vd), vr, kF32Tol);
  }
  k::SgdHyper sh{0.1, 0.9, 0.01, true};
  Tensor ps = p.dev.clone(), buf = m.dev.clone();
  k::cuda::sgd_update(ps.data<float>(), g.dev.data<float>(), buf.data<float>(), n, sh);
  std::vector<double> pr = doubles(p.host), gr = doubles(g.host), br = doubles(m.host);
  k::ref::sgd_update<double>(pr.data(), gr.data(), br.data(), n, sh);
  EXPECT_NORM_ERR(doubles(ps), pr, kF32Tol);
  const double ss = k::cuda::sum_squares(g.dev.data<float>(), n);
  EXPECT_NEAR(ss, k::ref::sum_squares<float>(g.host.data<float>(), n), 1e-9 * ss);
  EXPECT_EQ(ss, k::cuda::sum_squares(g.dev.data<float>(), n));  // same grid, same sum
  EXPECT_TRUE(k::cuda::all_finite(g.dev.data<float>(), n));
  Tensor bad = g.dev.clone();
  bad.slice(0, 5000, 5001).fill_(INFINITY);
  EXPECT_FALSE(k::cuda::all_finite(bad.data<float>(), n));
  k::cuda::scale_inplace(bad.data<float>(), 5000, 0.5f);
  EXPECT_EQ(bad.slice(0, 0, 5000).to_vector<float>(), mul(g.host.slice(0, 0, 5000), Tensor::scalar(0.5)).to_vector<float>());
}

TEST(CudaKernels, DropoutMaskIsTheCpuMask) {
  MOE_REQUIRE_CUDA_DEVICE();
  const uint64_t seed = fresh_seed();
  SCOPED_TRACE(seed);
  const int64_t n = 100003;
  const uint64_t first = 12345;
  Tensor mask = poisoned({n});
  k::cuda::dropout_mask(mask.data<float>(), n, 0.3, 1.f / 0.7f, seed, first);
  std::vector<float> got = mask.to_vector<float>();
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(got[i], Rng::uniform4_at(seed, first, i) >= 0.3 ? 1.f / 0.7f : 0.f) << "element " << i;
}

}  // namespace
}  // namespace moe
