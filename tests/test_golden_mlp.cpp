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

  Tensor logits = model(x);
  expect_close(logits, fixture_values(fx["logits"]), tol);
  Tensor loss = cross_entropy(logits, y);
  EXPECT_NEAR(loss.item(), fx["loss"].get<double>(), tol);
  loss.backward();
  for (auto& [name, p] : model.named_parameters()) {
    SCOPED_TRACE(name);
    expect_close(p.grad(), fixture_values(fx["grads"][name]), tol);
  }

  const auto& h = fx["adamw"];
  optim::AdamW opt(model.named_parameters(), {.lr = h["lr"], .beta1 = h["beta1"], .beta2 = h["beta2"],
                                              .eps = h["eps"], .weight_decay = h["weight_decay"]});
  std::vector<double> want = fx["adamw_losses"].get<std::vector<double>>();
  for (size_t step = 0; step < want.size(); ++step) {
    opt.zero_grad();
    Tensor l = cross_entropy(model(x), y);
    EXPECT_NEAR(l.item(), want[step], tol) << "AdamW step " << step;
    l.backward();
    opt.step();
  }
}

}  // namespace

TEST(GoldenMLP, MatchesPyTorchFloat64) { run_golden_mlp(DType::f64, 1e-10); }
TEST(GoldenMLP, MatchesPyTorchFloat32) { run_golden_mlp(DType::f32, 2e-5); }
