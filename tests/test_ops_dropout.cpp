// dropout: the mask is the documented function of (seed, offset) and so independent
// of the thread count; inverted scaling keeps the mean; identity cases; the backward
// uses the saved mask (gradcheck with a fixed mask); errors.
#include "test_util.h"

using namespace moe;
using namespace moe::test;

namespace {

// Restores the thread count on scope exit.
struct ThreadCountGuard {
  int saved = num_threads();
  ~ThreadCountGuard() { set_num_threads(saved); }
};

}  // namespace

TEST(Dropout, MaskIsTheDocumentedFunctionOfSeedAndOffset) {
  const double p = 0.25;
  Rng rng(99);
  rng.reserve(17);  // a non-zero offset
  Tensor x = rand64({6, 7}, 1);
  Tensor y = dropout(x, p, true, rng);
  EXPECT_EQ(rng.offset(), 17u + 11u);  // 42 elements, four per counter
  std::vector<double> xv = x.to_vector<double>(), yv = y.to_vector<double>();
  for (size_t i = 0; i < xv.size(); ++i) {
    const bool keep = Rng::uniform4_at(99, 17, i) >= p;
    EXPECT_DOUBLE_EQ(yv[i], keep ? xv[i] / (1 - p) : 0.0) << "element " << i;
  }
}

TEST(Dropout, SameSeedSameMaskForAnyThreadCount) {
  ThreadCountGuard guard;
  Tensor x = Tensor::ones({500, 400});  // enough work to run in parallel
  set_num_threads(1);
  Rng a(7);
  std::vector<float> one = dropout(x, 0.3, true, a).to_vector<float>();
  set_num_threads(2);
  Rng b(7);
  std::vector<float> two = dropout(x, 0.3, true, b).to_vector<float>();
  EXPECT_EQ(one, two);
  Rng c(8);  // and another seed gives another mask
  EXPECT_NE(dropout(x, 0.3, true, c).to_vector<float>(), one);
}

TEST(Dropout, MeanIsPreservedAndDropRateIsP) {
  const double p = 0.4;
  Rng rng(3);
  Tensor y = dropout(Tensor::ones({200000}), p, true, rng);
  EXPECT_NEAR(mean(y).item(), 1.0, 0.01);  // std of the mean ~ 0.0018
  int64_t zeros = 0;
  for (float v : y.to_vector<float>()) zeros += v == 0.0f;
  EXPECT_NEAR(static_cast<double>(zeros) / 200000.0, p, 0.01);
}

TEST(Dropout, IdentityWhenNotTrainingOrPZero) {
  Tensor x = rand32({3, 4}, 4);
  Rng rng(5);
  EXPECT_TRUE(dropout(x, 0.5, false, rng).same(x));
  EXPECT_TRUE(dropout(x, 0.0, true, rng).same(x));
  EXPECT_EQ(rng.offset(), 0u);  // nothing drawn
}

TEST(Dropout, BackwardUsesTheSameMask) {
  Rng rng(11);
  Tensor x = rand64({5, 6}, 6).set_requires_grad(true);
  Tensor y = dropout(x, 0.5, true, rng);
  sum(y).backward();
  std::vector<double> xv = x.detach().to_vector<double>(), yv = y.detach().to_vector<double>(),
                      gv = x.grad().to_vector<double>();
  for (size_t i = 0; i < xv.size(); ++i) EXPECT_DOUBLE_EQ(gv[i] * xv[i], yv[i]) << "element " << i;
}

TEST(Dropout, GradcheckWithFixedMask) {
  // A fresh generator with a fixed seed on every call: the same mask each evaluation.
  auto f = [](const std::vector<Tensor>& in) {
    Rng rng(42);
    return dropout(in[0], 0.3, true, rng);
  };
  auto ft = [](const std::vector<Tensor>& in) {
    Rng rng(43);
    return dropout(in[0].t(), 0.5, true, rng);
  };
  EXPECT_GRADCHECK(f, {rand64({3, 5}, 20)});
  EXPECT_GRADCHECK(f, {rand64({2, 3, 7}, 21)});
  EXPECT_GRADCHECK(ft, {rand64({6, 4}, 22)});
}

TEST(Dropout, BadInputThrows) {
  Rng rng(1);
  Tensor x = Tensor::ones({2, 2});
  EXPECT_THROW(dropout(x, 1.0, true, rng), Error);
  EXPECT_THROW(dropout(x, -0.1, true, rng), Error);
  EXPECT_THROW(dropout(x, 1.5, false, rng), Error);  // checked even when not training
  EXPECT_THROW(dropout(Tensor::ones({2}, DType::i64), 0.5, true, rng), Error);
  try {
    dropout(x, 1.0, true, rng);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dropout"), std::string::npos) << e.what();
  }
}
