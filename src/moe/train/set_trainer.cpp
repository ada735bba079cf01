// train/set_trainer.cpp: the SET epoch loop, metrics and summary.
#include "moe/train/set_trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numeric>

#include "moe/autograd/autograd.h"
#include "moe/core/error.h"
#include "moe/io/atomic_file.h"
#include "moe/ops/loss.h"
#include "moe/ops/reduce.h"
#include "moe/optim/sgd.h"
#include "moe/train/metrics_log.h"
#include "moe/train/progress.h"

namespace moe::train {

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Rows `order[b0..b1)` of `images` (N, D) and `labels` (N) as a fresh batch.
std::pair<Tensor, Tensor> gather_batch(const Tensor& images, const Tensor& labels, const std::vector<int64_t>& order,
                                       int64_t b0, int64_t b1) {
  const int64_t B = b1 - b0, D = images.size(1);
  Tensor x = Tensor::empty({B, D}, DType::f32), y = Tensor::empty({B}, DType::i64);
  const float* src = images.data<float>();
  const int64_t* lab = labels.data<int64_t>();
  for (int64_t i = 0; i < B; ++i) {
    std::memcpy(x.data<float>() + i * D, src + order[b0 + i] * D, sizeof(float) * static_cast<size_t>(D));
    y.data<int64_t>()[i] = lab[order[b0 + i]];
  }
  return {x, y};
}

Tensor flat_images(const data::ImageDataset& ds, int64_t width, const char* which) {
  MOE_CHECK(ds.images.dim() == 3 && ds.images.size(1) * ds.images.size(2) == width,
            "set: {} images are {}, the model's input width is {}", which, ds.images.str(), width);
  return ds.images.reshape({ds.images.size(0), width}).contiguous();
}

}  // namespace

double set_test_accuracy(const models::SetMLP& model, const data::ImageDataset& test, int64_t batch_size) {
  NoGradGuard no_grad;
  const int64_t N = test.size(), width = model.config().layers.front();
  MOE_CHECK(N > 0, "set: empty test set");
  const Tensor images = flat_images(test, width, "test");
  const int64_t* labels = test.labels.data<int64_t>();
  int64_t correct = 0;
  for (int64_t b0 = 0; b0 < N; b0 += batch_size) {
    const int64_t b1 = std::min(N, b0 + batch_size);
    const Tensor pred = argmax(model.forward(images.slice(0, b0, b1)), 1);
    const int64_t* p = pred.data<int64_t>();
    for (int64_t i = 0; i < b1 - b0; ++i) correct += p[i] == labels[b0 + i];
  }
  return static_cast<double>(correct) / static_cast<double>(N);
}

nlohmann::json run_set_training(const models::SetConfig& config, const data::ImageDataset& train,
                                const data::ImageDataset& test, const SetRunOptions& options) {
  const models::SetTrainConfig& tc = config.train;
  const int64_t width = config.model.layers.front(), N = train.size();
  MOE_CHECK(N >= 1, "set: empty training set");
  const Tensor images = flat_images(train, width, "training");
  const int64_t classes = config.model.layers.back();
  for (const data::ImageDataset* ds : {&train, &test})
    for (int64_t label : ds->labels.to_vector<int64_t>())
      MOE_CHECK(label >= 0 && label < classes, "set: label {} outside the model's {} classes", label, classes);

  Rng rng(tc.seed);
  models::SetMLP model(config.model, rng);
  optim::SGD sgd(model.named_parameters(), {tc.lr, tc.momentum, tc.weight_decay, false});
  MetricsLog log(options.out_dir);
  const int64_t steps_per_epoch = (N + tc.batch_size - 1) / tc.batch_size;
  const int64_t total_steps = steps_per_epoch * tc.epochs;
  std::unique_ptr<ProgressReporter> progress;
  if (options.progress)
    progress = std::make_unique<ProgressReporter>(stdout, isatty(fileno(stdout)) != 0, total_steps,
                                                  steps_per_epoch / 4 + 1);

  const double t_start = now_s();
  double step_s_total = 0, final_accuracy = 0, best_accuracy = 0;
  int64_t step = 0;
  std::vector<int64_t> order(static_cast<size_t>(N));
  for (int64_t epoch = 1; epoch <= tc.epochs; ++epoch) {
    std::iota(order.begin(), order.end(), int64_t{0});
    for (int64_t i = N - 1; i > 0; --i) std::swap(order[i], order[rng.randint(0, i + 1)]);  // Fisher-Yates
    model.train();
    double loss_sum = 0, epoch_step_s = 0;
    for (int64_t b0 = 0; b0 < N; b0 += tc.batch_size) {
      const int64_t b1 = std::min(N, b0 + tc.batch_size);
      auto [x, y] = gather_batch(images, train.labels, order, b0, b1);
      const double t0 = now_s();
      Tensor loss = cross_entropy(model.forward(x), y);
      loss.backward();
      sgd.step();
      sgd.zero_grad();
      epoch_step_s += now_s() - t0;
      const double l = loss.item();
      MOE_CHECK(std::isfinite(l), "set: loss is {} at epoch {} step {}", l, epoch, step + 1);
      loss_sum += l * static_cast<double>(b1 - b0);
      ++step;
      if (progress) progress->update(step, l, b1 - b0);
    }
    step_s_total += epoch_step_s;
    const double accuracy = set_test_accuracy(model, test);
    final_accuracy = accuracy;
    best_accuracy = std::max(best_accuracy, accuracy);
    nlohmann::json rec = {{"epoch", epoch},
                          {"train_loss", loss_sum / static_cast<double>(N)},
                          {"test_accuracy", accuracy},
                          {"connections", model.connections_per_layer()},
                          {"step_ms", 1e3 * epoch_step_s / static_cast<double>(steps_per_epoch)},
                          {"elapsed_s", now_s() - t_start}};
    int64_t live = 0;
    for (int64_t c : model.connections_per_layer()) live += c;
    rec["connections_total"] = live;
    rec["density"] = static_cast<double>(live) / static_cast<double>(model.dense_connections());
    if (!config.model.dense && epoch < tc.epochs) {
      std::vector<int64_t> removed, changed;
      std::vector<double> overlap;
      for (const sparse::EvolutionStats& s : model.evolve(tc.zeta, tc.regrow_std, rng, &sgd)) {
        removed.push_back(s.removed);
        changed.push_back(s.changed);
        overlap.push_back(s.initial_overlap);
      }
      rec["removed"] = removed;  // == regrown per layer
      rec["regrown"] = removed;
      rec["changed"] = changed;  // regrown at positions not live before the step
      rec["initial_overlap"] = overlap;
    }
    log.write(rec);
    if (progress)
      progress->message(fmt::format("epoch {}/{}: train loss {:.4f}, test accuracy {:.2f}%, {} connections ({:.2f}%)",
                                    epoch, tc.epochs, rec["train_loss"].get<double>(), 100 * accuracy, live,
                                    100 * rec["density"].get<double>()));
  }
  if (progress) progress->finish();
  std::vector<double> overlap;
  for (const auto& l : model.sparse_layers()) overlap.push_back(l->initial_overlap());
  int64_t live = 0;
  for (int64_t c : model.connections_per_layer()) live += c;
  nlohmann::json summary = {
      {"dataset", tc.dataset},
      {"dense", config.model.dense},
      {"layers", config.model.layers},
      {"activation", config.model.activation},
      {"density_epsilon", config.model.density_epsilon},
      {"epochs", tc.epochs},
      {"train_examples", N},
      {"test_examples", test.size()},
      {"final_test_accuracy", final_accuracy},
      {"best_test_accuracy", best_accuracy},
      {"connections", model.connections_per_layer()},
      {"connections_total", live},
      {"dense_connections", model.dense_connections()},
      {"density", static_cast<double>(live) / static_cast<double>(model.dense_connections())},
      {"initial_overlap", overlap},
      {"mean_step_ms", 1e3 * step_s_total / static_cast<double>(total_steps)},
      {"total_s", now_s() - t_start},
  };
  io::write_file_atomic((std::filesystem::path(options.out_dir) / "summary.json").string(), summary.dump(2) + "\n");
  return summary;
}

}  // namespace moe::train
