// embedding, index_select/index_add, gather/scatter_add: forward against plain loops,
// float64 gradchecks, index errors, cpu:: kernels against ref:: (bit for bit: the
// accumulations sum in the same order) and thread-count independence.
#include "test_util.h"

#include "moe/kernels/kernels.h"

using namespace moe;
using namespace moe::test;

namespace {

Tensor ids64(const std::vector<int64_t>& v, const Shape& s) { return Tensor::from_vector(v, s); }

// Random int64 indices in [0, n) (Philox, deterministic).
Tensor rand_index(const Shape& s, int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<int64_t> v(numel_of(s));
  for (auto& i : v) i = rng.randint(0, n);
  return Tensor::from_vector(v, s);
}

// Offset of (i, j, k) in a contiguous 3-D tensor of shape s.
int64_t at3(const Shape& s, int64_t i, int64_t j, int64_t k) { return (i * s[1] + j) * s[2] + k; }

// The message of the moe::Error that f throws ("" when it throws none).

}  // namespace

TEST(Embedding, ForwardMatchesLoop) {
  Tensor w = rand32({7, 5}, 1);
  std::vector<int64_t> id = {3, 0, 6, 3, 3, 1};
  Tensor out = embedding(w, ids64(id, {2, 3}));
  EXPECT_EQ(out.shape(), (Shape{2, 3, 5}));
  std::vector<double> wv = w.to_vector<double>(), want;
  for (int64_t v : id)
    for (int64_t j = 0; j < 5; ++j) want.push_back(wv[v * 5 + j]);
  expect_close(out, want, 0);
  // int32 ids, a 0-dim id, a transposed weight
  expect_tensors_close(embedding(w, Tensor::from_vector<int32_t>({3, 0, 6, 3, 3, 1}, {2, 3})), out, 0);
  EXPECT_EQ(embedding(w, ids64({6}, {})).shape(), (Shape{5}));
  Tensor wt = rand32({5, 7}, 2);
  expect_tensors_close(embedding(wt.t(), ids64({2}, {1})), wt.select(1, 2).unsqueeze(0), 0);
}

TEST(Embedding, BackwardScatterAddsRows) {
  Tensor w = rand64({4, 3}, 3).set_requires_grad(true);
  std::vector<int64_t> id = {2, 0, 2, 2};
  Tensor seed = rand64({4, 3}, 4);
  sum(mul(embedding(w, ids64(id, {4})), seed)).backward();
  std::vector<double> sv = seed.to_vector<double>(), want(12, 0.0);
  for (size_t p = 0; p < id.size(); ++p)
    for (int j = 0; j < 3; ++j) want[id[p] * 3 + j] += sv[p * 3 + j];
  expect_close(w.grad(), want, 1e-12);
}

TEST(Embedding, Gradcheck) {
  auto f = [](const std::vector<Tensor>& in) { return embedding(in[0], in[1]); };
  EXPECT_GRADCHECK(f, {rand64({6, 4}, 5), ids64({1, 5, 1, 0, 1}, {5})});
  EXPECT_GRADCHECK(f, {rand64({3, 2}, 6), rand_index({2, 3, 2}, 3, 7)});
  auto ft = [](const std::vector<Tensor>& in) { return embedding(in[0].t(), in[1]); };  // (V, D) as a view
  EXPECT_GRADCHECK(ft, {rand64({4, 5}, 8), ids64({4, 4, 2}, {3})});
}

TEST(Embedding, BadInputThrows) {
  Tensor w = rand32({5, 3}, 9);
  std::string msg = error_of([&] { embedding(w, ids64({0, 1, 2, 3, 9, 4}, {2, 3})); });
  EXPECT_NE(msg.find("embedding"), std::string::npos) << msg;
  EXPECT_NE(msg.find("position [1, 1]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("id 9"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[5, 3]"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { embedding(w, ids64({-1}, {1})); }).find("id -1 at position [0]"), std::string::npos);
  EXPECT_THROW(embedding(w, Tensor::from_list({1}, {1})), Error);  // float ids
  EXPECT_THROW(embedding(rand32({5}, 1), ids64({1}, {1})), Error);
  EXPECT_THROW(embedding(Tensor::ones({5, 3}, DType::i64), ids64({1}, {1})), Error);
}

TEST(Embedding, BackwardIsDeterministicAndMatchesRef) {
  // Many repeats of few ids, wide rows: the parallel column split is exercised.
  const int64_t V = 50, D = 700, N = 4000;
  Tensor ids = rand_index({N}, V, 10);
  Tensor g = rand32({N, D}, 11);
  auto grad_with_threads = [&](int threads) {
    set_num_threads(threads);
    Tensor w = Tensor::zeros({V, D}).set_requires_grad(true);
    embedding(w, ids).backward(g);
    return w.grad().to_vector<float>();
  };
  const int saved = num_threads();
  std::vector<float> one = grad_with_threads(1), two = grad_with_threads(2);
  set_num_threads(saved);
  EXPECT_EQ(one, two);
  std::vector<float> ref(V * D, 0.0f);
  kernels::ref::index_add(ref.data(), ids.data<int64_t>(), g.data<float>(), 1, V, N, D, 0, D);
  EXPECT_EQ(one, ref);
}

TEST(IndexSelect, ForwardMatchesLoopOnEveryDim) {
  Tensor x = rand32({3, 4, 5}, 12);
  std::vector<double> xv = x.to_vector<double>();
  const Shape s = x.shape();
  std::vector<int64_t> idx = {2, 0, 2};
  for (int d = 0; d < 3; ++d) {
    Tensor out = index_select(x, d, ids64(idx, {3}));
    Shape os = s;
    os[d] = 3;
    ASSERT_EQ(out.shape(), os);
    std::vector<double> want;
    for (int64_t i = 0; i < os[0]; ++i)
      for (int64_t j = 0; j < os[1]; ++j)
        for (int64_t k = 0; k < os[2]; ++k)
          want.push_back(xv[at3(s, d == 0 ? idx[i] : i, d == 1 ? idx[j] : j, d == 2 ? idx[k] : k)]);
    expect_close(out, want, 0);
  }
  // a transposed input selects the same as its contiguous copy
  Tensor xt = x.transpose(0, 2);
  Tensor rows = ids64({3, 1}, {2});
  expect_tensors_close(index_select(xt, 1, rows), index_select(xt.contiguous(), 1, rows), 0);
}

TEST(IndexSelect, Gradcheck) {
  auto f = [](int64_t d) {
    return [d](const std::vector<Tensor>& in) { return index_select(in[0], d, in[1]); };
  };
  EXPECT_GRADCHECK(f(0), {rand64({4, 3}, 13), ids64({3, 3, 0, 1, 3}, {5})});
  EXPECT_GRADCHECK(f(1), {rand64({2, 5, 3}, 14), ids64({4, 0, 4}, {3})});
  EXPECT_GRADCHECK(f(-1), {rand64({2, 3, 4}, 15), ids64({1, 1}, {2})});
  auto ft = [](const std::vector<Tensor>& in) { return index_select(in[0].t(), 0, in[1]); };
  EXPECT_GRADCHECK(ft, {rand64({3, 4}, 16), ids64({2, 3, 2}, {3})});
}

TEST(IndexAdd, ForwardMatchesLoop) {
  Tensor x = rand32({3, 4, 2}, 17), src = rand32({3, 5, 2}, 18);
  std::vector<int64_t> idx = {1, 3, 1, 0, 1};
  Tensor out = index_add(x, 1, ids64(idx, {5}), src);
  std::vector<double> want = x.to_vector<double>(), sv = src.to_vector<double>();
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t k = 0; k < 5; ++k)
      for (int64_t j = 0; j < 2; ++j) want[at3(x.shape(), i, idx[k], j)] += sv[at3(src.shape(), i, k, j)];
  expect_close(out, want, 1e-6);
  expect_close(x, x.to_vector<double>(), 0);  // out of place
}

TEST(IndexAdd, Gradcheck) {
  auto f = [](int64_t d) {
    return [d](const std::vector<Tensor>& in) { return index_add(in[0], d, in[1], in[2]); };
  };
  EXPECT_GRADCHECK(f(0), {rand64({4, 3}, 19), ids64({3, 0, 3}, {3}), rand64({3, 3}, 20)});
  EXPECT_GRADCHECK(f(2), {rand64({2, 3, 4}, 21), ids64({1, 1, 0, 3, 2}, {5}), rand64({2, 3, 5}, 22)});
  auto ft = [](const std::vector<Tensor>& in) { return index_add(in[0].t(), 1, in[1], in[2].t()); };
  EXPECT_GRADCHECK(ft, {rand64({3, 2}, 23), ids64({2, 0, 2, 2}, {4}), rand64({4, 2}, 24)});
}

TEST(IndexSelectAdd, BadInputThrows) {
  Tensor x = rand32({3, 4}, 25);
  std::string msg = error_of([&] { index_select(x, 1, ids64({0, 4}, {2})); });
  EXPECT_NE(msg.find("index_select: index 4 at position [1]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[3, 4]"), std::string::npos) << msg;
  EXPECT_THROW(index_select(x, 2, ids64({0}, {1})), Error);
  EXPECT_THROW(index_select(x, 0, ids64({0, 1}, {1, 2})), Error);  // 2-D index
  EXPECT_THROW(index_add(x, 0, ids64({0}, {1}), rand32({2, 4}, 1)), Error);  // source rows != K
  EXPECT_THROW(index_add(x, 0, ids64({0}, {1}), rand64({1, 4}, 1)), Error);  // dtype
  EXPECT_THROW(index_add(x, 0, ids64({3}, {1}), rand32({1, 4}, 1)), Error);
}

TEST(Gather, ForwardMatchesLoop) {
  // torch semantics: index may be smaller than x off `dim` and longer on it.
  Tensor x = rand32({3, 4, 5}, 26);
  std::vector<double> xv = x.to_vector<double>();
  for (int d = 0; d < 3; ++d) {
    Shape is = {2, 3, 4};
    is[d] = 6;
    Tensor idx = rand_index(is, x.shape()[d], 27 + d);
    std::vector<int64_t> iv = idx.to_vector<int64_t>();
    Tensor out = gather(x, d, idx);
    ASSERT_EQ(out.shape(), is);
    std::vector<double> want;
    for (int64_t i = 0; i < is[0]; ++i)
      for (int64_t j = 0; j < is[1]; ++j)
        for (int64_t k = 0; k < is[2]; ++k) {
          const int64_t v = iv[at3(is, i, j, k)];
          want.push_back(xv[at3(x.shape(), d == 0 ? v : i, d == 1 ? v : j, d == 2 ? v : k)]);
        }
    expect_close(out, want, 0);
  }
  Tensor xt = x.transpose(0, 1);  // (4, 3, 5)
  Tensor idx = rand_index({4, 2, 5}, 3, 30);
  expect_tensors_close(gather(xt, 1, idx), gather(xt.contiguous(), 1, idx), 0);
  expect_tensors_close(gather(xt, 1, idx.to(DType::i32)), gather(xt, 1, idx), 0);
}

TEST(Gather, Gradcheck) {
  auto f = [](int64_t d) {
    return [d](const std::vector<Tensor>& in) { return gather(in[0], d, in[1]); };
  };
  EXPECT_GRADCHECK(f(1), {rand64({3, 4}, 31), rand_index({3, 6}, 4, 32)});
  EXPECT_GRADCHECK(f(0), {rand64({3, 4, 2}, 33), rand_index({5, 2, 2}, 3, 34)});
  EXPECT_GRADCHECK(f(-1), {rand64({2, 3, 4}, 35), rand_index({1, 3, 2}, 4, 36)});
  auto ft = [](const std::vector<Tensor>& in) { return gather(in[0].t(), 1, in[1]); };
  EXPECT_GRADCHECK(ft, {rand64({4, 3}, 37), rand_index({3, 5}, 4, 38)});
}

TEST(ScatterAdd, ForwardMatchesLoop) {
  Tensor x = rand32({4, 3, 2}, 39);
  // index smaller than src, and than x off dim 0: the addressed part of x is strided
  const Shape is = {5, 2, 2}, ss = {6, 3, 2};
  Tensor idx = rand_index(is, 4, 40), src = rand32(ss, 41);
  Tensor out = scatter_add(x, 0, idx, src);
  std::vector<double> want = x.to_vector<double>(), sv = src.to_vector<double>();
  std::vector<int64_t> iv = idx.to_vector<int64_t>();
  for (int64_t i = 0; i < is[0]; ++i)
    for (int64_t j = 0; j < is[1]; ++j)
      for (int64_t k = 0; k < is[2]; ++k) want[at3(x.shape(), iv[at3(is, i, j, k)], j, k)] += sv[at3(ss, i, j, k)];
  expect_close(out, want, 1e-6);
  // a transposed x (x's part that index addresses was not contiguous above)
  Tensor base = rand32({3, 4}, 42);
  Tensor idx2 = rand_index({2, 3}, 3, 43), src2 = rand32({2, 3}, 44);
  expect_tensors_close(scatter_add(base.t(), 1, idx2, src2), scatter_add(base.t().contiguous(), 1, idx2, src2), 0);
}

TEST(ScatterAdd, Gradcheck) {
  auto f = [](int64_t d) {
    return [d](const std::vector<Tensor>& in) { return scatter_add(in[0], d, in[1], in[2]); };
  };
  EXPECT_GRADCHECK(f(0), {rand64({3, 4}, 45), rand_index({5, 4}, 3, 46), rand64({5, 4}, 47)});
  EXPECT_GRADCHECK(f(1), {rand64({2, 3, 2}, 48), rand_index({2, 4, 1}, 3, 49), rand64({2, 5, 2}, 50)});
  auto ft = [](const std::vector<Tensor>& in) { return scatter_add(in[0].t(), 0, in[1], in[2].t()); };
  EXPECT_GRADCHECK(ft, {rand64({3, 4}, 51), rand_index({2, 3}, 4, 52), rand64({3, 2}, 53)});
}

TEST(GatherScatter, BadInputThrows) {
  Tensor x = rand32({3, 4}, 54);
  EXPECT_THROW(gather(x, 1, ids64({0, 1}, {2})), Error);                // ndim
  EXPECT_THROW(gather(x, 1, rand_index({4, 2}, 4, 1)), Error);          // larger off dim
  std::string msg = error_of([&] { gather(x, 0, ids64({0, 1, 2, 3}, {2, 2})); });
  EXPECT_NE(msg.find("gather: index 3 at position [1, 1]"), std::string::npos) << msg;
  EXPECT_THROW(gather(x, 0, Tensor::from_list({0}, {1, 1})), Error);    // float index
  EXPECT_THROW(scatter_add(x, 0, ids64({0, 1}, {1, 2}), rand32({1, 1}, 1)), Error);  // src smaller
  EXPECT_THROW(scatter_add(x, 0, ids64({0, 1}, {1, 2}), rand64({1, 2}, 1)), Error);  // dtype
  EXPECT_THROW(scatter_add(x, 1, ids64({0, 4}, {1, 2}), rand32({1, 2}, 1)), Error);  // range
}

TEST(IndexKernels, CpuMatchesRefBitForBit) {
  // Large enough to take the parallel paths; sums run in the same order, so equal bits.
  const int64_t outer = 6, n = 40, K = 300, inner = 37;
  Tensor x = rand32({outer, n, inner}, 60), src = rand32({outer, K, inner}, 61);
  Tensor rows = rand_index({K}, n, 62), positions = rand_index({outer, K, inner}, n, 63);
  const float* xp = x.data<float>();
  const float* sp = src.data<float>();
  auto run = [](auto&& kernel, int64_t size, const float* init) {
    std::vector<float> out = init ? std::vector<float>(init, init + size) : std::vector<float>(size, 0.0f);
    kernel(out.data());
    return out;
  };
  const int64_t nx = outer * n * inner, nk = outer * K * inner;
  const int64_t* rp = rows.data<int64_t>();
  const int64_t* pp = positions.data<int64_t>();
  EXPECT_EQ(run([&](float* o) { kernels::cpu::index_select(xp, rp, o, outer, n, K, inner); }, nk, nullptr),
            run([&](float* o) { kernels::ref::index_select(xp, rp, o, outer, n, K, inner); }, nk, nullptr));
  EXPECT_EQ(run([&](float* o) { kernels::cpu::gather(xp, pp, o, outer, n, K, inner); }, nk, nullptr),
            run([&](float* o) { kernels::ref::gather(xp, pp, o, outer, n, K, inner); }, nk, nullptr));
  EXPECT_EQ(run([&](float* o) { kernels::cpu::index_add(o, rp, sp, outer, n, K, inner); }, nx, xp),
            run([&](float* o) { kernels::ref::index_add(o, rp, sp, outer, n, K, inner, 0, inner); }, nx, xp));
  EXPECT_EQ(run([&](float* o) { kernels::cpu::scatter_add(o, pp, sp, outer, n, K, inner); }, nx, xp),
            run([&](float* o) { kernels::ref::scatter_add(o, pp, sp, outer, n, K, inner, 0, inner); }, nx, xp));
}

TEST(IndexOps, Float32MatchesFloat64) {
  Tensor x = rand64({5, 6, 7}, 70), src = rand64({5, 9, 7}, 71);
  Tensor rows = rand_index({9}, 6, 72), positions = rand_index({5, 9, 7}, 6, 73);
  auto both = [](auto&& f, const Tensor& a, const Tensor& b) {
    expect_tensors_close(f(a.to(DType::f32), b.to(DType::f32)), f(a, b), 1e-6);
  };
  both([&](const Tensor& a, const Tensor&) { return index_select(a, 1, rows); }, x, src);
  both([&](const Tensor& a, const Tensor& b) { return index_add(a, 1, rows, b); }, x, src);
  both([&](const Tensor& a, const Tensor&) { return gather(a, 1, positions); }, x, src);
  both([&](const Tensor& a, const Tensor& b) { return scatter_add(a, 1, positions, b); }, x, src);
}
