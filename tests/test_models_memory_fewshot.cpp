// The key-value memory (read and attention write) against hand loops, float64 gradient
// checks of both on tiny sizes and of the whole model, shapes and errors.
#include <cmath>

#include "moe/models/memory_fewshot.h"
#include "test_util.h"

using namespace moe;
using namespace moe::models;
using namespace moe::test;

namespace {

using Matrix = std::vector<std::vector<double>>;

Matrix rows_of(const Tensor& t) {
  Matrix m(static_cast<size_t>(t.size(0)), std::vector<double>(static_cast<size_t>(t.size(1))));
  for (int64_t i = 0; i < t.size(0); ++i)
    for (int64_t j = 0; j < t.size(1); ++j) m[static_cast<size_t>(i)][static_cast<size_t>(j)] = t.at({i, j});
  return m;
}

// softmax_j(a_i . b_j / sqrt(d)) for every row i of a.
Matrix attention_weights(const Matrix& a, const Matrix& b) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(a[0].size()));
  Matrix w(a.size(), std::vector<double>(b.size()));
  for (size_t i = 0; i < a.size(); ++i) {
    double mx = -1e300, total = 0;
    for (size_t j = 0; j < b.size(); ++j) {
      double dot = 0;
      for (size_t k = 0; k < a[i].size(); ++k) dot += a[i][k] * b[j][k];
      w[i][j] = dot * scale;
      mx = std::max(mx, w[i][j]);
    }
    for (double& x : w[i]) total += (x = std::exp(x - mx));
    for (double& x : w[i]) x /= total;
  }
  return w;
}

void expect_matrix(const Tensor& got, const Matrix& want, double tol = 1e-10) {
  ASSERT_EQ(got.size(0), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i)
    for (size_t j = 0; j < want[i].size(); ++j)
      EXPECT_NEAR(got.at({static_cast<int64_t>(i), static_cast<int64_t>(j)}), want[i][j], tol) << i << "," << j;
}

FewShotConfig tiny_transformer() {
  FewShotConfig c;
  c.image_size = 4, c.patch = 2, c.d_model = 4, c.heads = 2, c.layers = 1, c.ff_hidden = 6;
  c.key_dim = 3, c.value_dim = 3, c.slots = 3, c.max_ways = 3;
  return c;
}

}  // namespace

TEST(KeyValueMemory, ReadMatchesHandLoop) {
  const Tensor q = rand64({3, 4}, 1), k = rand64({5, 4}, 2), v = rand64({5, 2}, 3);
  const Matrix w = attention_weights(rows_of(q), rows_of(k)), vv = rows_of(v);
  Matrix want(3, std::vector<double>(2, 0.0));
  for (size_t i = 0; i < 3; ++i)
    for (size_t m = 0; m < 5; ++m)
      for (size_t j = 0; j < 2; ++j) want[i][j] += w[i][m] * vv[m][j];
  expect_matrix(memory_read(q, k, v), want);
  expect_matrix(memory_read_weights(q, k), w);
  // float32 agrees with float64.
  expect_tensors_close(memory_read(q.to(DType::f32), k.to(DType::f32), v.to(DType::f32)), memory_read(q, k, v), 1e-5);
}

TEST(KeyValueMemory, WriteMatchesHandLoop) {
  const int64_t n = 4, m = 3;
  const Tensor k0 = rand64({m, 2}, 4), v0 = rand64({m, 3}, 5), addr = rand64({m, 2}, 6);
  const Tensor wq = rand64({n, 2}, 7), ik = rand64({n, 2}, 8), iv = rand64({n, 3}, 9);
  const Tensor weights = memory_write_weights(addr, wq);
  const Matrix w = attention_weights(rows_of(wq), rows_of(addr));
  expect_matrix(weights, w);
  const KeyValueMemory mem = memory_write({k0, v0}, weights, ik, iv);
  const Matrix K0 = rows_of(k0), V0 = rows_of(v0), IK = rows_of(ik), IV = rows_of(iv);
  Matrix want_k = K0, want_v = V0;
  for (size_t s = 0; s < static_cast<size_t>(m); ++s) {
    double mass = 1.0;
    for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
      mass += w[i][s];
      for (size_t j = 0; j < 2; ++j) want_k[s][j] += w[i][s] * IK[i][j];
      for (size_t j = 0; j < 3; ++j) want_v[s][j] += w[i][s] * IV[i][j];
    }
    for (double& x : want_k[s]) x /= mass;
    for (double& x : want_v[s]) x /= mass;
  }
  expect_matrix(mem.keys, want_k);
  expect_matrix(mem.values, want_v);
}

TEST(KeyValueMemory, GradcheckReadAndWrite) {
  for (auto [q, m, d, dv] : std::vector<std::array<int64_t, 4>>{{1, 1, 1, 1}, {2, 3, 2, 2}, {3, 4, 3, 2}}) {
    EXPECT_GRADCHECK([](const std::vector<Tensor>& x) { return memory_read(x[0], x[1], x[2]); },
                     {rand64({q, d}, 10), rand64({m, d}, 11), rand64({m, dv}, 12)});
    // Non-contiguous operands: transposed views.
    EXPECT_GRADCHECK([](const std::vector<Tensor>& x) { return memory_read(x[0].t(), x[1].t(), x[2]); },
                     {rand64({d, q}, 13), rand64({d, m}, 14), rand64({m, dv}, 15)});
    EXPECT_GRADCHECK(
        [](const std::vector<Tensor>& x) {
          const KeyValueMemory mem = memory_write({x[0], x[1]}, memory_write_weights(x[2], x[3]), x[4], x[5]);
          return add(sum(mul(mem.keys, mem.keys)), sum(mem.values));
        },
        {rand64({m, d}, 16), rand64({m, dv}, 17), rand64({m, d}, 18), rand64({q, d}, 19), rand64({q, d}, 20),
         rand64({q, dv}, 21)});
  }
}

TEST(KeyValueMemory, ShapeErrorsNameTheOp) {
  const Tensor a = rand64({2, 3}, 1), b = rand64({4, 2}, 2);
  expect_error([&] { memory_read(a, b, b); }, {"memory_read", "d_key"});
  expect_error([&] { memory_read(a, a, b); }, {"memory_read", "slots"});
  expect_error([&] { memory_read(rand64({3}, 1), a, a); }, {"memory_read", "queries"});
  expect_error([&] { memory_write_weights(a, b); }, {"memory_write", "d_key"});
  expect_error([&] { memory_write({a, a}, rand64({2, 5}, 3), a, a); }, {"memory_write", "slots"});
  expect_error([&] { memory_write({a, a}, rand64({3, 2}, 3), a, a); }, {"memory_write", "items"});
}

TEST(MemoryFewShot, ForwardShapesAndSlotModes) {
  Rng rng(1);
  FewShotConfig c = tiny_transformer();
  MemoryFewShot model(c, rng);
  const Tensor support = rand32({4, 16}, 2, 0, 1), query = rand32({5, 16}, 3, 0, 1);
  const Tensor labels = Tensor::from_vector(std::vector<int64_t>{0, 0, 1, 1}, {4});
  const FewShotOutput out = model.forward(support, labels, query, 2);
  EXPECT_EQ(out.logits.shape(), (Shape{5, 2}));
  EXPECT_EQ(out.read_weights.shape(), (Shape{5, 3}));
  EXPECT_EQ(out.write_weights.shape(), (Shape{4, 3}));
  EXPECT_EQ(model.encode(query).shape(), (Shape{5, 4}));
  c.slots = 0;  // direct write: one slot per support item
  Rng rng2(1);
  MemoryFewShot direct(c, rng2);
  const FewShotOutput d = direct.forward(support, labels, query, 2);
  EXPECT_EQ(d.read_weights.shape(), (Shape{5, 4}));
  EXPECT_FALSE(d.write_weights.defined());
  expect_error([&] { model.forward(support, labels, query, 4); }, {"4-way", "max_ways = 3"});
  expect_error([&] { model.forward(support, Tensor::from_vector(std::vector<int64_t>{0, 0, 1, 2}, {4}), query, 2); },
               {"label 2"});
  expect_error([&] { model.forward(rand32({4, 15}, 2), labels, query, 2); }, {"(n, 16)"});
}

TEST(MemoryFewShot, SupportOrderDoesNotMatter) {
  Rng rng(4);
  MemoryFewShot model(tiny_transformer(), rng);
  const Tensor support = rand32({3, 16}, 5, 0, 1), query = rand32({2, 16}, 6, 0, 1);
  const Tensor labels = Tensor::from_vector(std::vector<int64_t>{0, 1, 2}, {3});
  const Tensor perm = Tensor::from_vector(std::vector<int64_t>{2, 0, 1}, {3});
  const Tensor a = model.forward(support, labels, query, 3).logits;
  const Tensor permuted_labels = Tensor::from_vector(std::vector<int64_t>{2, 0, 1}, {3});  // labels[perm]
  const Tensor b = model.forward(index_select(support, 0, perm), permuted_labels, query, 3).logits;
  expect_tensors_close(a, b, 1e-5);
}

TEST(MemoryFewShot, GradcheckWholeModelFloat64) {
  for (int64_t slots : {0, 3}) {
    FewShotConfig c = tiny_transformer();
    c.slots = slots;
    Rng rng(8);
    MemoryFewShot model(c, rng, DType::f64);
    const Tensor labels = Tensor::from_vector(std::vector<int64_t>{0, 1, 1}, {3});
    expect_module_gradcheck(model, {rand64({3, 16}, 9, 0, 1), rand64({2, 16}, 10, 0, 1)},
                            [&](const std::vector<Tensor>& x) { return model.forward(x[0], labels, x[1], 2).logits; });
  }
  FewShotConfig m;
  m.encoder = "mlp", m.input_dim = 3, m.d_model = 4, m.ff_hidden = 5, m.key_dim = 2, m.value_dim = 2, m.slots = 2,
  m.max_ways = 2;
  Rng rng(9);
  MemoryFewShot mlp(m, rng, DType::f64);
  const Tensor labels = Tensor::from_vector(std::vector<int64_t>{0, 1}, {2});
  expect_module_gradcheck(mlp, {rand64({2, 3}, 11), rand64({3, 3}, 12)},
                          [&](const std::vector<Tensor>& x) { return mlp.forward(x[0], labels, x[1], 2).logits; });
}

TEST(MemoryFewShot, ConfigErrorsNameTheKey) {
  auto parse = [](const std::string& text) {
    return FewShotConfig::from_config(io::ConfigReader::from_string(text, "m.json"));
  };
  EXPECT_EQ(parse(R"({"slots": 0, "max_ways": 4})").slots, 0);
  expect_error([&] { parse(R"({"slot": 3})"); }, {"m.json", "slot"});
  expect_error([&] { parse(R"({"encoder": "conv"})"); }, {"m.json", "encoder", "conv"});
  expect_error([&] { parse(R"({"patch": 5})"); }, {"m.json", "patch (5) must divide image_size (28)"});
  expect_error([&] { parse(R"({"encoder": "mlp"})"); }, {"m.json", "input_dim"});
  expect_error([&] { parse(R"({"slots": -1})"); }, {"m.json", "slots"});
  expect_error([&] { parse(R"({"d_model": 30, "heads": 4})"); }, {"m.json", "multiple of heads"});
  expect_error([&] { parse(R"({"max_ways": "5"})"); }, {"m.json", "max_ways"});
}
