// golden_util.h: reading the PyTorch fixtures of tests/fixtures (scripts/gen_golden.py).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "moe/io/atomic_file.h"
#include "test_util.h"

namespace moe::test {

inline nlohmann::json load_fixture(const std::string& name) {
  return nlohmann::json::parse(io::read_file(std::string(MOE_SOURCE_DIR) + "/tests/fixtures/" + name));
}

// {"shape": [...], "data": [...]} -> a tensor of `dtype`.
inline Tensor fixture_tensor(const nlohmann::json& j, DType dtype) {
  Shape shape = j.at("shape").get<Shape>();
  std::vector<double> data = j.at("data").get<std::vector<double>>();
  return Tensor::from_vector(data, shape).to(dtype);
}

inline std::vector<double> fixture_values(const nlohmann::json& j) { return j.at("data").get<std::vector<double>>(); }

// Copies every fixture parameter into the module's parameter of the same name, and
// checks that the module has exactly those parameters.
template <class M>
void load_fixture_params(M& module, const nlohmann::json& params) {
  auto named = module.named_parameters();
  ASSERT_EQ(named.size(), params.size()) << "parameter count differs from the PyTorch model";
  for (auto& [name, t] : named) {
    ASSERT_TRUE(params.contains(name)) << "PyTorch model has no parameter " << name;
    Tensor v = fixture_tensor(params[name], t.dtype());
    ASSERT_EQ(v.shape(), t.shape()) << name;
    t.copy_(v);
  }
}

}  // namespace moe::test
