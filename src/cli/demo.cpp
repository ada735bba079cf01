// demo.cpp: `moe demo`: the foundation's
// demo: a 2-layer MLP classifying interleaved spirals, printing the loss as it falls.
#include <fmt/core.h>

#include <chrono>

#include "cli/commands.h"
#include "moe/data/synthetic.h"
#include "moe/moe.h"

namespace moe::cli {

namespace {

struct DemoOptions {
  int64_t steps = 400;
  uint64_t seed = 0;
  int64_t hidden = 64;
  int64_t batch = 128;
  double lr = 1e-2;
};

double accuracy(nn::MLP& model, const data::Classification& d) {
  NoGradGuard no_grad;
  Tensor pred = argmax(model(d.features), -1);
  return mean(eq(pred, d.labels).to(DType::f64)).item();
}

int run_demo(const DemoOptions& o) {
  Rng rng(o.seed);
  data::Classification train = data::make_spirals(300, 3, 0.2, rng);
  data::Classification test = data::make_spirals(100, 3, 0.2, rng);
  nn::MLP model(2, o.hidden, 3, "relu", rng);
  optim::AdamW opt(model.named_parameters(), {.lr = o.lr, .weight_decay = 1e-4});
  const int64_t n = train.features.size(0);
  fmt::print("demo: 2-layer MLP (2 -> {} -> 3, relu) on 3 interleaved spirals, {} train / {} test points\n",
             o.hidden, n, test.features.size(0));
  fmt::print("      {} parameters, AdamW lr {}, batch {}, {} steps, seed {}\n", model.num_parameters(), o.lr,
             o.batch, o.steps, o.seed);
  auto start = std::chrono::steady_clock::now();
  double running = 0;
  for (int64_t step = 1; step <= o.steps; ++step) {
    std::vector<int64_t> idx(o.batch), labels(o.batch);
    for (int64_t b = 0; b < o.batch; ++b) {
      idx[b] = rng.randint(0, n);
      labels[b] = train.labels.data<int64_t>()[idx[b]];
    }
    Tensor x = index_select(train.features, 0, Tensor::from_vector(idx, {o.batch}));
    Tensor y = Tensor::from_vector(labels, {o.batch});
    opt.zero_grad();
    Tensor loss = cross_entropy(model(x), y);
    loss.backward();
    opt.step();
    running += loss.item();
    if (step % 50 == 0 || step == 1) {
      fmt::print("step {:5d}  loss {:.4f}\n", step, step == 1 ? running : running / 50);
      running = 0;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("done in {:.2f} s: train accuracy {:.1f}%, test accuracy {:.1f}% (chance 33.3%)\n", secs,
             100 * accuracy(model, train), 100 * accuracy(model, test));
  return 0;
}

}  // namespace

Command demo_command() {
  auto opts = std::make_shared<DemoOptions>();
  Command c;
  c.setup = [opts](CLI::App& app) {
    CLI::App* sub = app.add_subcommand("demo", "Train a 2-layer MLP on generated spirals (a quick smoke test)");
    sub->add_option("--steps", opts->steps, "Optimizer steps")->check(CLI::PositiveNumber);
    sub->add_option("--seed", opts->seed, "Random seed");
    sub->add_option("--hidden", opts->hidden, "Hidden width")->check(CLI::PositiveNumber);
    sub->add_option("--lr", opts->lr, "Learning rate")->check(CLI::PositiveNumber);
    return sub;
  };
  c.run = [opts]() -> int { return run_demo(*opts); };
  return c;
}

}  // namespace moe::cli
