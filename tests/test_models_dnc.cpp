// The Differentiable Neural Computer (issue #7): the memory's addressing pieces against
// hand-computed small cases, float64 gradchecks of each memory function and of a tiny
// DNC unrolled over a few steps, the copy task's data, config errors, a short training
// run, checkpoints, and the memory dump and plots.
#include <cmath>
#include <fstream>

#include "moe/analysis/dnc_memory.h"
#include "moe/data/copy_task.h"
#include "moe/io/atomic_file.h"
#include "moe/models/dnc/dnc.h"
#include "moe/models/dnc/memory.h"
#include "moe/ops/bce_loss.h"
#include "moe/train/dnc_trainer.h"
#include "moe/train/metrics_log.h"
#include "test_util.h"

using namespace moe;
using namespace moe::test;
using namespace moe::models::dnc;

namespace {

Tensor f64(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(v, s); }

// Usage-like values in (0.05, 0.95), all distinct with gaps, so a finite difference never
// reorders the allocation sort.
Tensor spread_usage(int64_t B, int64_t N, uint64_t seed) {
  std::vector<double> v;
  Rng rng(seed);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> row;
    for (int64_t i = 0; i < N; ++i) row.push_back(0.05 + 0.9 * (static_cast<double>(i) + 0.5) / static_cast<double>(N));
    for (int64_t i = N - 1; i > 0; --i) std::swap(row[static_cast<size_t>(i)], row[static_cast<size_t>(rng.randint(0, i + 1))]);
    v.insert(v.end(), row.begin(), row.end());
  }
  return f64(v, {B, N});
}

Tensor softmax_rows64(const Shape& s, uint64_t seed) { return softmax(rand64(s, seed, -2, 2), -1); }

SequenceModelConfig tiny_dnc_config() {
  SequenceModelConfig c;
  c.hidden = 4;
  c.memory_slots = 3;
  c.word_size = 2;
  c.read_heads = 2;
  return c;
}

const char* kTinyConfig = R"({
  "model": {"kind": "dnc", "hidden": 16, "memory_slots": 6, "word_size": 6, "read_heads": 1},
  "task": {"bits": 3, "min_length": 2, "max_length": 3},
  "train": {"steps": 200, "batch": 8, "lr": 0.01, "grad_clip": 10, "seed": 3, "log_every": 50,
            "eval_every": 0, "eval_lengths": [2, 6], "eval_batches": 1, "eval_batch": 8},
  "out": "unused"
})";

}  // namespace

// ---- addressing pieces against hand-computed cases ----

TEST(DncMemory, ContentWeightsAreCosineSoftmax) {
  // Slots (1, 0), (0, 1), (1, 1); key (1, 0) with strength 2: cosines 1, 0, 1/sqrt(2).
  const Tensor memory = f64({1, 0, 0, 1, 1, 1}, {1, 3, 2});
  const Tensor keys = f64({1, 0, 0, 3}, {1, 2, 2});  // second key (0, 3): cosines 0, 1, 1/sqrt(2)
  const Tensor strengths = f64({2, 1}, {1, 2});
  const double c = 1 / std::sqrt(2.0);
  const double e1[3] = {std::exp(2 * 1.0), std::exp(0.0), std::exp(2 * c)};
  const double e2[3] = {std::exp(0.0), std::exp(1.0), std::exp(c)};
  const double s1 = e1[0] + e1[1] + e1[2], s2 = e2[0] + e2[1] + e2[2];
  expect_close(content_weights(memory, keys, strengths),
               {e1[0] / s1, e1[1] / s1, e1[2] / s1, e2[0] / s2, e2[1] / s2, e2[2] / s2}, 1e-5);
}

TEST(DncMemory, ContentWeightsOfEmptyMemoryAreUniform) {
  expect_close(content_weights(Tensor::zeros({1, 4, 3}, DType::f64), rand64({1, 1, 3}, 1), f64({5}, {1, 1})),
               {0.25, 0.25, 0.25, 0.25}, 1e-9);
}

TEST(DncMemory, AllocationOfThePaperExample) {
  // Sorted by usage: slot 1 (0.2), slot 0 (0.5), slot 2 (0.9):
  // a[1] = 0.8, a[0] = 0.5 * 0.2 = 0.1, a[2] = 0.1 * 0.2 * 0.5 = 0.01.
  expect_close(allocation_weights(f64({0.5, 0.2, 0.9}, {1, 3})), {0.1, 0.8, 0.01}, 1e-12);
  expect_close(allocation_weights(Tensor::from_list({0.5f, 0.2f, 0.9f}, {1, 3})), {0.1, 0.8, 0.01}, 1e-6);
  // Batched: an unused memory allocates the first slot (ties keep the lower slot first);
  // a full one allocates nothing.
  expect_close(allocation_weights(f64({0.5, 0.2, 0.9, 0, 0, 0, 1, 1, 1}, {3, 3})),
               {0.1, 0.8, 0.01, 1, 0, 0, 0, 0, 0}, 1e-12);
}

TEST(DncMemory, UsageUpdateByHand) {
  // u = (u + w - u w) o psi, psi = prod_i (1 - f_i w^r_i).
  const Tensor usage = f64({0.5, 0.2, 0.0}, {1, 3});
  const Tensor write = f64({0.0, 0.5, 1.0}, {1, 3});
  const Tensor reads = f64({1.0, 0.0, 0.0, 0.0, 0.5, 0.5}, {1, 2, 3});
  const Tensor free_gates = f64({1.0, 0.5}, {1, 2});
  // psi = (1 - 1, 1, 1) o (1, 0.75, 0.75) = (0, 0.75, 0.75); u + w - u w = (0.5, 0.6, 1).
  expect_close(update_usage(usage, write, reads, free_gates), {0.0, 0.45, 0.75}, 1e-12);
}

TEST(DncMemory, WriteWeightsAndMemoryWriteByHand) {
  const Tensor ww = write_weights(f64({1, 0}, {1, 2}), f64({0.25, 0.75}, {1, 2}), f64({0.5}, {1, 1}),
                                  f64({0.8}, {1, 1}));
  expect_close(ww, {0.8 * 0.625, 0.8 * 0.375}, 1e-12);
  // M = M o (1 - w e^T) + w v^T with w = (1, 0.5), e = (1, 0), v = (3, 4).
  const Tensor memory = write_memory(f64({1, 2, 5, 6}, {1, 2, 2}), f64({1, 0.5}, {1, 2}), f64({1, 0}, {1, 2}),
                                     f64({3, 4}, {1, 2}));
  expect_close(memory, {0 + 3, 2 + 4, 2.5 + 1.5, 6 + 2}, 1e-12);
}

TEST(DncMemory, LinkMatrixAndPrecedenceByHand) {
  // Writing slot 0 then slot 1 links 1 after 0: L[1, 0] = 1, precedence on slot 1.
  LinkUpdate first = update_link(Tensor::zeros({1, 3, 3}, DType::f64), Tensor::zeros({1, 3}, DType::f64),
                                 f64({1, 0, 0}, {1, 3}));
  expect_close(first.link, std::vector<double>(9, 0.0), 1e-12);
  expect_close(first.precedence, {1, 0, 0}, 1e-12);
  LinkUpdate second = update_link(first.link, first.precedence, f64({0, 1, 0}, {1, 3}));
  expect_close(second.link, {0, 0, 0, 1, 0, 0, 0, 0, 0}, 1e-12);
  expect_close(second.precedence, {0, 1, 0}, 1e-12);
  // A soft case: L[i, j] = (1 - w_i - w_j) L[i, j] + w_i p_j off the diagonal, e.g.
  // L[0, 1] = (1 - 0.5 - 0.25) 0.2 + 0.5 0.3 = 0.2; p = (1 - 0.875) p + w.
  const LinkUpdate soft = update_link(f64({0, 0.2, 0.1, 0.3, 0, 0.4, 0.5, 0.6, 0}, {1, 3, 3}),
                                      f64({0.2, 0.3, 0.1}, {1, 3}), f64({0.5, 0.25, 0.125}, {1, 3}));
  expect_close(soft.link, {0, 0.2, 0.0875, 0.125, 0, 0.275, 0.2125, 0.4125, 0}, 1e-12);
  expect_close(soft.precedence, {0.525, 0.2875, 0.1375}, 1e-12);
}

TEST(DncMemory, ForwardAndBackwardWeightingsByHand) {
  // With L[1, 0] = 1 (slot 1 written after slot 0): reading slot 0, forward goes to
  // slot 1; reading slot 1, backward goes to slot 0.
  const Tensor link = f64({0, 0, 0, 1, 0, 0, 0, 0, 0}, {1, 3, 3});
  const DirectionalWeights d = directional_weights(link, f64({1, 0, 0, 0, 1, 0}, {1, 2, 3}));
  expect_close(d.forward, {0, 1, 0, 0, 0, 0}, 1e-12);
  expect_close(d.backward, {0, 0, 0, 1, 0, 0}, 1e-12);
  // The soft link of the test above, read weights (0.6, 0.3, 0.1): f = L w, b = L^T w.
  const Tensor soft = f64({0, 0.2, 0.0875, 0.125, 0, 0.275, 0.2125, 0.4125, 0}, {1, 3, 3});
  const DirectionalWeights s = directional_weights(soft, f64({0.6, 0.3, 0.1}, {1, 1, 3}));
  expect_close(s.forward, {0.06875, 0.1025, 0.25125}, 1e-12);
  expect_close(s.backward, {0.05875, 0.16125, 0.135}, 1e-12);
  // Read modes mix them: pi = (backward, content, forward).
  const Tensor wr = read_weights(f64({1, 0, 0}, {1, 1, 3}), f64({0, 1, 0}, {1, 1, 3}), f64({0, 0, 1}, {1, 1, 3}),
                                 f64({0.2, 0.3, 0.5}, {1, 1, 3}));
  expect_close(wr, {0.2, 0.3, 0.5}, 1e-12);
  expect_close(read_memory(f64({1, 2, 3, 4, 5, 6}, {1, 3, 2}), wr), {0.2 + 0.9 + 2.5, 0.4 + 1.2 + 3.0}, 1e-12);
}

TEST(DncMemory, BadShapesThrow) {
  expect_error([] { content_weights(Tensor::zeros({1, 3, 2}), Tensor::zeros({1, 1, 4}), Tensor::ones({1, 1})); },
               {"content_weights", "keys"});
  expect_error([] { allocation_weights(Tensor::zeros({3})); }, {"allocation_weights", "[3]"});
  expect_error([] { update_link(Tensor::zeros({1, 3, 3}), Tensor::zeros({1, 2}), Tensor::zeros({1, 3})); },
               {"update_link", "precedence"});
  expect_error([] { write_memory(Tensor::zeros({1, 3, 2}), Tensor::zeros({1, 3}), Tensor::zeros({1, 3}),
                                 Tensor::zeros({1, 2})); },
               {"write_memory", "erase"});
}

// ---- float64 gradient checks ----

TEST(DncMemory, GradcheckContentWeights) {
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return content_weights(in[0], in[1], in[2]); },
                   {rand64({2, 4, 3}, 1), rand64({2, 2, 3}, 2), rand64({2, 2}, 3, 1, 4)});
  // A transposed memory view.
  EXPECT_GRADCHECK(
      [](const std::vector<Tensor>& in) { return content_weights(in[0].transpose(1, 2), in[1], in[2]); },
      {rand64({2, 3, 4}, 4), rand64({2, 1, 3}, 5), rand64({2, 1}, 6, 1, 4)});
}

TEST(DncMemory, GradcheckUsageAndAllocation) {
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return update_usage(in[0], in[1], in[2], in[3]); },
                   {rand64({2, 4}, 7, 0, 1), softmax_rows64({2, 4}, 8), softmax_rows64({2, 3, 4}, 9),
                    rand64({2, 3}, 10, 0, 1)});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return allocation_weights(in[0]); }, {spread_usage(3, 5, 11)});
}

TEST(DncMemory, GradcheckWriteAndLink) {
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return write_weights(in[0], in[1], in[2], in[3]); },
                   {softmax_rows64({2, 4}, 12), softmax_rows64({2, 4}, 13), rand64({2, 1}, 14, 0, 1),
                    rand64({2, 1}, 15, 0, 1)});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return write_memory(in[0], in[1], in[2], in[3]); },
                   {rand64({2, 4, 3}, 16), softmax_rows64({2, 4}, 17), rand64({2, 3}, 18, 0, 1), rand64({2, 3}, 19)});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return update_link(in[0], in[1], in[2]).link; },
                   {rand64({2, 4, 4}, 20, 0, 1), softmax_rows64({2, 4}, 21), softmax_rows64({2, 4}, 22)});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return update_link(in[0], in[1], in[2]).precedence; },
                   {rand64({2, 4, 4}, 23, 0, 1), softmax_rows64({2, 4}, 24), softmax_rows64({2, 4}, 25)});
}

TEST(DncMemory, GradcheckReads) {
  EXPECT_GRADCHECK(
      [](const std::vector<Tensor>& in) {
        const DirectionalWeights d = directional_weights(in[0], in[1]);
        return read_weights(d.backward, in[2], d.forward, in[3]);
      },
      {rand64({2, 4, 4}, 26, 0, 1), softmax_rows64({2, 2, 4}, 27), softmax_rows64({2, 2, 4}, 28),
       softmax_rows64({2, 2, 3}, 29)});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return read_memory(in[0], in[1]); },
                   {rand64({2, 4, 3}, 30), softmax_rows64({2, 2, 4}, 31)});
}

TEST(Dnc, GradcheckTinyDncUnrolled) {
  // Every parameter and the inputs of a tiny DNC over 4 steps, element by element.
  Rng rng(5);
  Dnc model(tiny_dnc_config(), 3, 2, rng, DType::f64);
  expect_module_gradcheck(model, {rand64({4, 2, 3}, 32)},
                          [&](const std::vector<Tensor>& in) { return model.forward(in[0]); });
}

TEST(Dnc, DirectionalGradcheckOfTheCopyLoss) {
  Rng rng(6);
  SequenceModelConfig cfg = tiny_dnc_config();
  cfg.hidden = 8, cfg.memory_slots = 5, cfg.word_size = 4;
  Dnc model(cfg, 4, 3, rng, DType::f64);
  Rng data_rng(7);
  const data::CopyBatch batch = data::make_copy_batch(3, 3, 2, data_rng, DType::f64);
  const nn::NamedTensors params = model.named_parameters();
  std::vector<Tensor> inputs;
  for (const auto& [name, p] : params) inputs.push_back(p);
  auto loss = [&](const std::vector<Tensor>& xs) {
    for (size_t i = 0; i < params.size(); ++i) model.set_parameter(params[i].first, xs[i]);
    return bce_with_logits(model.forward(batch.inputs), batch.targets, batch.mask);
  };
  const GradcheckResult r = directional_gradcheck(loss, inputs);
  EXPECT_TRUE(r.ok) << r.detail;
  for (const auto& [name, p] : params) model.set_parameter(name, p);
}

TEST(Dnc, InterfaceParsing) {
  SequenceModelConfig c = tiny_dnc_config();  // R = 2, W = 2
  EXPECT_EQ(c.interface_size(), 2 * 2 + 2 + 2 + 1 + 2 + 2 + 2 + 1 + 1 + 3 * 2);
  const Tensor xi = rand64({3, c.interface_size()}, 33, -3, 3);
  const Interface f = parse_interface(xi, 2, 2);
  EXPECT_EQ(f.read_keys.shape(), (Shape{3, 2, 2}));
  EXPECT_EQ(f.write_key.shape(), (Shape{3, 1, 2}));
  EXPECT_EQ(f.read_modes.shape(), (Shape{3, 2, 3}));
  // The first R W entries are the read keys, as they are.
  expect_close(f.read_keys.reshape({3, 4}), xi.slice(1, 0, 4).contiguous().to_vector<double>(), 1e-12);
  for (double s : f.read_strengths.to_vector<double>()) EXPECT_GE(s, 1.0);
  for (double g : f.erase.to_vector<double>()) EXPECT_TRUE(g > 0 && g < 1);
  const std::vector<double> modes = f.read_modes.to_vector<double>();
  for (size_t i = 0; i < modes.size(); i += 3) EXPECT_NEAR(modes[i] + modes[i + 1] + modes[i + 2], 1.0, 1e-12);
  expect_error([&] { parse_interface(xi.slice(1, 0, 5), 2, 2); }, {"parse_interface", "23"});
}

TEST(Dnc, ParametersAndShapes) {
  Rng rng(8);
  Dnc model(tiny_dnc_config(), 3, 2, rng);
  EXPECT_EQ(names_of(model.named_parameters()),
            (std::vector<std::string>{"controller.weight_ih", "controller.weight_hh", "controller.bias_ih",
                                      "controller.bias_hh", "interface.weight", "interface.bias", "output.weight",
                                      "output.bias"}));
  EXPECT_EQ(model.parameter("controller.weight_ih").shape(), (Shape{16, 3 + 4}));
  EXPECT_EQ(model.parameter("interface.weight").shape(), (Shape{23, 4}));
  std::vector<DncStepTrace> trace;
  const Tensor y = model.forward(rand32({5, 2, 3}, 34), &trace);
  EXPECT_EQ(y.shape(), (Shape{5, 2, 2}));
  ASSERT_EQ(trace.size(), 5u);
  EXPECT_EQ(trace[0].memory.shape(), (Shape{3, 2}));
  EXPECT_EQ(trace[0].read_weights.shape(), (Shape{2, 3}));
  // Weightings stay weightings: sums within [0, 1] (write) and 1 (reads of a row).
  for (const DncStepTrace& s : trace) {
    EXPECT_LE(sum(s.write_weights).item(), 1.0 + 1e-5);
    for (double u : s.usage.to_vector<double>()) EXPECT_TRUE(u >= 0 && u <= 1 + 1e-5);
  }
  SequenceModelConfig lstm;
  lstm.kind = "lstm";
  lstm.hidden = 5;
  LstmSequenceModel baseline(lstm, 3, 2, rng);
  EXPECT_EQ(baseline.forward(rand32({4, 2, 3}, 35)).shape(), (Shape{4, 2, 2}));
  expect_error([&] { model.forward(rand32({4, 2, 5}, 36)); }, {"Dnc", "(T, B, 3)"});
}

// ---- the copy task ----

TEST(CopyTask, DataFormat) {
  Rng rng(9);
  const data::CopyBatch b = data::make_copy_batch(4, 3, 2, rng);
  EXPECT_EQ(b.inputs.shape(), (Shape{7, 2, 5}));
  EXPECT_EQ(b.targets.shape(), (Shape{7, 2, 4}));
  EXPECT_EQ(b.mask.shape(), (Shape{7, 2, 1}));
  for (int64_t bi = 0; bi < 2; ++bi) {
    for (int64_t t = 0; t < 7; ++t) {
      EXPECT_EQ(b.inputs.at({t, bi, 4}), t == 3 ? 1.0 : 0.0) << "delimiter at t=" << t;
      EXPECT_EQ(b.mask.at({t, bi, 0}), t > 3 ? 1.0 : 0.0);
      for (int64_t k = 0; k < 4; ++k) {
        if (t >= 3) EXPECT_EQ(b.inputs.at({t, bi, k}), 0.0);
        if (t <= 3) EXPECT_EQ(b.targets.at({t, bi, k}), 0.0);
        if (t > 3) EXPECT_EQ(b.targets.at({t, bi, k}), b.inputs.at({t - 4, bi, k}));
        const double v = b.inputs.at({t, bi, k});
        EXPECT_TRUE(v == 0.0 || v == 1.0);
      }
    }
  }
  Rng again(9);
  expect_tensors_close(data::make_copy_batch(4, 3, 2, again).inputs, b.inputs, 0);
  expect_error([&] { data::make_copy_batch(4, 0, 2, rng); }, {"make_copy_batch", "length=0"});
}

TEST(CopyTask, BitErrorRate) {
  Rng rng(10);
  const data::CopyBatch b = data::make_copy_batch(2, 2, 1, rng);
  // Logits +-5 from the targets: no errors; then flip one output-phase bit.
  Tensor logits = (b.targets * 10.0 - 5.0).contiguous().clone();
  EXPECT_EQ(data::bit_error_rate(logits, b), 0.0);
  logits.data<float>()[(3 * 1 + 0) * 2 + 1] *= -1;  // t = 3, bit 1: one of 4 output bits
  EXPECT_DOUBLE_EQ(data::bit_error_rate(logits, b), 0.25);
  logits.data<float>()[0] = 100;  // input phase: not counted
  EXPECT_DOUBLE_EQ(data::bit_error_rate(logits, b), 0.25);
  expect_error([&] { data::bit_error_rate(Tensor::zeros({4, 1, 2}), b); }, {"bit_error_rate"});
}

TEST(CopyTask, ConfigParsesAndRejectsBadKeys) {
  const train::CopyExperiment e = train::CopyExperiment::parse_text(kTinyConfig, "tiny.json");
  EXPECT_EQ(e.model.memory_slots, 6);
  EXPECT_EQ(e.task.bits, 3);
  EXPECT_EQ(e.train.eval_lengths, (std::vector<int64_t>{2, 6}));
  const train::CopyExperiment shipped = train::CopyExperiment::parse_file(MOE_SOURCE_DIR "/configs/dnc_copy.json");
  EXPECT_EQ(shipped.model.kind, "dnc");
  const train::CopyExperiment baseline =
      train::CopyExperiment::parse_file(MOE_SOURCE_DIR "/configs/dnc_copy_lstm.json");
  EXPECT_EQ(baseline.model.kind, "lstm");
  expect_error([] { train::CopyExperiment::parse_text(R"({"model": {"kind": "dnc", "slots": 4}})", "a.json"); },
               {"a.json", "slots"});
  expect_error([] { train::CopyExperiment::parse_text(R"({"model": {"kind": "ntm"}})", "b.json"); },
               {"b.json", "model.kind", "ntm"});
  expect_error(
      [] { train::CopyExperiment::parse_text(R"({"model": {"kind": "dnc", "memory_slots": 0}})", "c.json"); },
      {"c.json", "model.memory_slots", "positive"});
  expect_error([] {
    train::CopyExperiment::parse_text(R"({"model": {}, "task": {"min_length": 5, "max_length": 2}})", "d.json");
  }, {"d.json", "task.max_length"});
  expect_error([] { train::CopyExperiment::parse_text(R"({"model": {"kind": "lstm", "word_size": 4}})", "e.json"); },
               {"e.json", "word_size"});
  expect_error([] { train::CopyExperiment::parse_text(R"({"model": {}, "train": {"lr": "fast"}})", "f.json"); },
               {"f.json", "train.lr"});
}

TEST(CopyTask, CurriculumGrowsTheMaximumLength) {
  train::CopyExperiment e = train::CopyExperiment::parse_text(kTinyConfig, "tiny.json");
  e.task.min_length = 1, e.task.max_length = 9, e.train.curriculum_steps = 100;
  EXPECT_EQ(train::curriculum_max_length(e, 0), 1);
  EXPECT_EQ(train::curriculum_max_length(e, 50), 5);
  EXPECT_EQ(train::curriculum_max_length(e, 100), 9);
  e.train.curriculum_steps = 0;
  EXPECT_EQ(train::curriculum_max_length(e, 0), 9);
}

TEST(CopyTask, ShortTrainingReducesTheLossAndCheckpointsReload) {
  const std::string dir = test_tmp_dir();
  const train::CopyExperiment e = train::CopyExperiment::parse_text(kTinyConfig, "tiny.json");
  train::CopyTrainOptions o;
  o.out_dir = dir;
  o.quiet = true;
  const train::CopyTrainResult r = train::train_copy(e, o, kTinyConfig);
  EXPECT_EQ(r.steps, 200);
  EXPECT_LT(r.final_loss, 0.8 * r.first_loss) << "first " << r.first_loss << " final " << r.final_loss;
  ASSERT_EQ(r.eval.size(), 2u);
  const std::vector<nlohmann::json> records = train::read_metrics(dir + "/metrics.jsonl");
  int train_records = 0, eval_records = 0;
  for (const auto& rec : records) (rec["split"] == "train" ? train_records : eval_records)++;
  EXPECT_EQ(train_records, 4);
  EXPECT_EQ(eval_records, 2);

  // The run directory and its checkpoint/ both load, and score the same.
  train::LoadedCopyModel loaded = train::load_copy_model(dir);
  EXPECT_EQ(loaded.step, 200);
  const train::CopyScore again = train::evaluate_copy(*loaded.model, 3, 2, 1, 8, e.train.seed);
  EXPECT_NEAR(again.bit_error_rate, r.eval[0].bit_error_rate, 1e-12);
  EXPECT_NEAR(again.loss, r.eval[0].loss, 1e-6);
  EXPECT_EQ(train::load_copy_model(dir + "/checkpoint").step, 200);
  expect_error([&] { train::load_copy_model(dir + "/nothing"); }, {"nothing"});
}

TEST(CopyTask, MemoryDumpAndPlots) {
  Rng rng(11);
  SequenceModelConfig cfg = tiny_dnc_config();
  Dnc model(cfg, 4, 3, rng);
  const analysis::DncMemoryDump d = analysis::trace_dnc_copy(model, 3, 2, 12);
  ASSERT_EQ(d.steps.size(), 5u);
  const nlohmann::json j = analysis::dnc_dump_json(d);
  EXPECT_EQ(j["length"], 2);
  EXPECT_EQ(j["steps"].size(), 5u);
  EXPECT_EQ(j["steps"][0]["memory"].size(), 3u);
  EXPECT_EQ(j["steps"][0]["memory"][0].size(), 2u);
  EXPECT_EQ(j["steps"][4]["read_weights"].size(), 2u);
  EXPECT_EQ(j["inputs"].size(), 5u);
  const std::string svg = analysis::render_dnc_svg(d);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("data-name=\"write weighting (slots x time)\""), std::string::npos);
  EXPECT_NE(svg.find("read weighting, head 1"), std::string::npos);
  EXPECT_NE(svg.find("final memory"), std::string::npos);
  const std::string dir = test_tmp_dir();
  analysis::write_dnc_plot(dir + "/m.png", d);
  const std::string png = io::read_file(dir + "/m.png");
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  analysis::write_dnc_plot(dir + "/m.svg", d);
  EXPECT_EQ(io::read_file(dir + "/m.svg"), svg);
  expect_error([&] { analysis::write_dnc_plot(dir + "/m.gif", d); }, {"m.gif", ".svg or .png"});
}
