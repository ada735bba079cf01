// Golden end to end: a tiny MLP with PyTorch's weights and batch gives PyTorch's logits,
// loss, every parameter gradient at step 0, and the loss after each of 5 AdamW steps
// (fixture: scripts/gen_golden.py, torch 1.13, float64). float64 must agree to ~1e-10;
// float32 to ~1e-5.
#include "golden_util.h"

using namespace moe;
using namespace moe::test;

namespace {

void run_golden_mlp(DType dtype, double tol) {
  nlohmann::json fx = load_fixture("golden_mlp.json");
  Rng rng(0);
  const auto& m = fx["model"];
  nn::MLP model(m["in"], m["hidden"], m["out"], m["activation"], rng, true, dtype);
  load_fixture_params(model, fx["params"]);
  Tensor x = fixture_tensor(fx["inputs"], dtype);
  Tensor y = fixture_tensor(fx["targets"], DType::i64);

  expect_golden_training(
      model, fx, [&] { return model(x); }, [&](const Tensor& logits) { return cross_entropy(logits, y); }, tol);
}

}  // namespace

TEST(GoldenMLP, MatchesPyTorchFloat64) { run_golden_mlp(DType::f64, 1e-10); }
TEST(GoldenMLP, MatchesPyTorchFloat32) { run_golden_mlp(DType::f32, 2e-5); }
