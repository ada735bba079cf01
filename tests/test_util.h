// test_util.h: helpers shared by the tests: closeness checks and gradcheck asserts.
#pragma once
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <vector>

#include "moe/autograd/gradcheck.h"
#include "moe/moe.h"
#include "moe/nn/module.h"

namespace moe::test {

inline void expect_close(const Tensor& t, const std::vector<double>& want, double tol = 1e-5) {
  std::vector<double> got = t.to_vector<double>();
  ASSERT_EQ(got.size(), want.size()) << t.str();
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol * std::max(1.0, std::abs(want[i]))) << "element " << i << " of " << t.str();
}

inline void expect_tensors_close(const Tensor& a, const Tensor& b, double tol = 1e-5) {
  ASSERT_EQ(a.shape(), b.shape()) << a.str() << " vs " << b.str();
  expect_close(a, b.to_vector<double>(), tol);
}

#define EXPECT_GRADCHECK(...)                                  \
  do {                                                         \
    ::moe::GradcheckResult r_ = ::moe::gradcheck(__VA_ARGS__); \
    EXPECT_TRUE(r_.ok) << r_.detail;                           \
  } while (0)

// Random float64 tensor, values in [lo, hi).
inline Tensor rand64(const Shape& s, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Rng rng(seed);
  return Tensor::rand(s, rng, lo, hi, DType::f64);
}
inline Tensor rand32(const Shape& s, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Rng rng(seed);
  return Tensor::rand(s, rng, lo, hi, DType::f32);
}

// Gradient check of `forward(inputs)` w.r.t. the inputs and every parameter of `m`:
// the gradcheck's float64 leaves for the parameters are bound into the module with
// set_parameter, so the module computes with exactly the tensors being perturbed.
inline void expect_module_gradcheck(nn::Module& m, std::vector<Tensor> inputs,
                             const std::function<Tensor(const std::vector<Tensor>&)>& forward) {
  const nn::NamedTensors params = m.named_parameters();
  const size_t n_inputs = inputs.size();
  for (const auto& [name, p] : params) inputs.push_back(p);
  auto f = [&](const std::vector<Tensor>& xs) {
    for (size_t i = 0; i < params.size(); ++i) m.set_parameter(params[i].first, xs[n_inputs + i]);
    return forward(std::vector<Tensor>(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(n_inputs)));
  };
  EXPECT_GRADCHECK(f, inputs);
  for (const auto& [name, p] : params) m.set_parameter(name, p);  // restore
}

// The message of the moe::Error that f throws ("" when it throws none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Expects f to throw a moe::Error whose message contains every fragment.
inline void expect_error(const std::function<void()>& f, const std::vector<std::string>& fragments) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << fragments.front() << "'";
  } catch (const Error& e) {
    for (const auto& frag : fragments) EXPECT_NE(std::string(e.what()).find(frag), std::string::npos) << e.what();
  }
}

inline std::vector<std::string> names_of(const nn::NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

inline std::vector<Shape> shapes_of(const nn::NamedTensors& named) {
  std::vector<Shape> out;
  for (const auto& [name, t] : named) out.push_back(t.shape());
  return out;
}

// A fresh, empty scratch directory owned by the running test: named after the test and
// the process, so tests that ctest runs in parallel never share files.
inline std::string test_tmp_dir(const std::string& sub = "") {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "global";
  for (char& c : name)
    if (c == '/') c = '_';
  std::filesystem::path p = std::filesystem::temp_directory_path() / "moe_tests" /
                            (name + "." + std::to_string(::getpid())) / sub;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

}  // namespace moe::test
