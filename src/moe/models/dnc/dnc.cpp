// models/dnc/dnc.cpp: the DNC step (controller, interface parsing, memory update,
// reads) and the LSTM baseline; config parsing for both.
#include "moe/models/dnc/dnc.h"

#include "moe/autograd/autograd.h"
#include "moe/core/error.h"
#include "moe/ops/elementwise.h"
#include "moe/ops/join.h"
#include "moe/ops/softmax.h"

namespace moe::models::dnc {

SequenceModelConfig SequenceModelConfig::from_config(io::ConfigReader& cfg) {
  SequenceModelConfig c;
  c.kind = cfg.get<std::string>("kind", c.kind);
  MOE_CHECK(c.kind == "dnc" || c.kind == "lstm", "{}: unknown model kind \"{}\", expected \"dnc\" or \"lstm\"",
            cfg.where("kind"), c.kind);
  c.hidden = cfg.get<int64_t>("hidden", c.hidden);
  MOE_CHECK(c.hidden > 0, "{}: must be positive, got {}", cfg.where("hidden"), c.hidden);
  if (c.kind == "dnc") {
    c.memory_slots = cfg.get<int64_t>("memory_slots", c.memory_slots);
    c.word_size = cfg.get<int64_t>("word_size", c.word_size);
    c.read_heads = cfg.get<int64_t>("read_heads", c.read_heads);
    MOE_CHECK(c.memory_slots > 0, "{}: must be positive, got {}", cfg.where("memory_slots"), c.memory_slots);
    MOE_CHECK(c.word_size > 0, "{}: must be positive, got {}", cfg.where("word_size"), c.word_size);
    MOE_CHECK(c.read_heads > 0, "{}: must be positive, got {}", cfg.where("read_heads"), c.read_heads);
  }
  cfg.finish();
  return c;
}

int64_t SequenceModelConfig::interface_size() const {
  const int64_t R = read_heads, W = word_size;
  return R * W + R + W + 1 + W + W + R + 1 + 1 + 3 * R;
}

namespace {

Tensor oneplus(const Tensor& x) { return softplus(x) + 1.0; }

}  // namespace

Interface parse_interface(const Tensor& xi, int64_t read_heads, int64_t word_size) {
  const int64_t R = read_heads, W = word_size;
  SequenceModelConfig sizes;
  sizes.read_heads = R, sizes.word_size = W;
  MOE_CHECK(xi.dim() == 2 && xi.size(1) == sizes.interface_size(),
            "dnc::parse_interface: xi {} must be (B, {}) for {} read heads of word size {}", xi.str(),
            sizes.interface_size(), R, W);
  const int64_t B = xi.size(0);
  const std::vector<Tensor> p = split(xi, std::vector<int64_t>{R * W, R, W, 1, W, W, R, 1, 1, 3 * R}, 1);
  Interface f;
  f.read_keys = p[0].reshape({B, R, W});
  f.read_strengths = oneplus(p[1]);
  f.write_key = p[2].reshape({B, 1, W});
  f.write_strength = oneplus(p[3]);
  f.erase = sigmoid(p[4]);
  f.write_vector = p[5];
  f.free_gates = sigmoid(p[6]);
  f.allocation_gate = sigmoid(p[7]);
  f.write_gate = sigmoid(p[8]);
  f.read_modes = softmax(p[9].reshape({B, R, 3}), -1);
  return f;
}

Dnc::Dnc(const SequenceModelConfig& config, int64_t input_size, int64_t output_size, Rng& rng, DType dtype)
    : config_(config), input_size_(input_size), output_size_(output_size) {
  MOE_CHECK(config.kind == "dnc", "Dnc: config kind is \"{}\", expected \"dnc\"", config.kind);
  MOE_CHECK(input_size > 0 && output_size > 0, "Dnc: input and output sizes must be positive, got {} and {}",
            input_size, output_size);
  const int64_t RW = config.read_heads * config.word_size;
  controller_ = register_module("controller",
                                std::make_shared<nn::LSTMCell>(input_size + RW, config.hidden, rng, true, dtype));
  interface_ = register_module("interface",
                               std::make_shared<nn::Linear>(config.hidden, config.interface_size(), rng, true, dtype));
  output_ = register_module("output", std::make_shared<nn::Linear>(config.hidden + RW, output_size, rng, true, dtype));
}

DncState Dnc::initial_state(int64_t batch, DType dtype) const {
  const Tensor h = Tensor::zeros({batch, config_.hidden}, dtype);
  return {{h, h},
          initial_memory_state(batch, config_.memory_slots, config_.word_size, config_.read_heads, dtype),
          Tensor::zeros({batch, config_.read_heads, config_.word_size}, dtype)};
}

Tensor Dnc::step(const Tensor& x, DncState& state, std::vector<DncStepTrace>* trace) const {
  MOE_CHECK(x.dim() == 2 && x.size(1) == input_size_, "Dnc::step: input {} must be (B, {})", x.str(), input_size_);
  const int64_t B = x.size(0), RW = config_.read_heads * config_.word_size;
  MOE_CHECK(state.read_vectors.defined() && state.read_vectors.size(0) == B,
            "Dnc::step: state for batch {} given input {}", state.read_vectors.defined() ? state.read_vectors.size(0) : 0,
            x.str());
  state.controller = controller_->forward(concat({x, state.read_vectors.reshape({B, RW})}, 1), state.controller);
  const Tensor& h = state.controller.h;
  const Interface f = parse_interface(interface_->forward(h), config_.read_heads, config_.word_size);
  MemoryState& m = state.memory;

  const Tensor usage = update_usage(m.usage, m.write_weights, m.read_weights, f.free_gates);
  const Tensor write_content = content_weights(m.memory, f.write_key, f.write_strength).squeeze(1);
  const Tensor ww = write_weights(allocation_weights(usage), write_content, f.allocation_gate, f.write_gate);
  const Tensor memory = write_memory(m.memory, ww, f.erase, f.write_vector);
  const LinkUpdate links = update_link(m.link, m.precedence, ww);
  const DirectionalWeights directional = directional_weights(links.link, m.read_weights);
  const Tensor read_content = content_weights(memory, f.read_keys, f.read_strengths);
  const Tensor wr = read_weights(directional.backward, read_content, directional.forward, f.read_modes);
  state.read_vectors = read_memory(memory, wr);
  m = {memory, usage, links.link, links.precedence, ww, wr};

  if (trace) {
    NoGradGuard no_grad;
    trace->push_back({memory.select(0, 0).clone().detach(), usage.select(0, 0).clone().detach(),
                      ww.select(0, 0).clone().detach(), wr.select(0, 0).clone().detach(),
                      f.allocation_gate.select(0, 0).clone().detach(), f.write_gate.select(0, 0).clone().detach(),
                      f.free_gates.select(0, 0).clone().detach(), f.read_modes.select(0, 0).clone().detach()});
  }
  return output_->forward(concat({h, state.read_vectors.reshape({B, RW})}, 1));
}

Tensor Dnc::forward(const Tensor& inputs, std::vector<DncStepTrace>* trace) const {
  MOE_CHECK(inputs.dim() == 3 && inputs.size(2) == input_size_, "Dnc: inputs {} must be (T, B, {})", inputs.str(),
            input_size_);
  DncState state = initial_state(inputs.size(1), inputs.dtype());
  std::vector<Tensor> outputs;
  for (int64_t t = 0; t < inputs.size(0); ++t) outputs.push_back(step(inputs.select(0, t), state, trace));
  return stack(outputs, 0);
}

LstmSequenceModel::LstmSequenceModel(const SequenceModelConfig& config, int64_t input_size, int64_t output_size,
                                     Rng& rng, DType dtype)
    : config_(config) {
  MOE_CHECK(config.kind == "lstm", "LstmSequenceModel: config kind is \"{}\", expected \"lstm\"", config.kind);
  controller_ = register_module("controller",
                                std::make_shared<nn::LSTMCell>(input_size, config.hidden, rng, true, dtype));
  output_ = register_module("output", std::make_shared<nn::Linear>(config.hidden, output_size, rng, true, dtype));
}

Tensor LstmSequenceModel::forward(const Tensor& inputs) const {
  MOE_CHECK(inputs.dim() == 3 && inputs.size(2) == controller_->input_size(),
            "LstmSequenceModel: inputs {} must be (T, B, {})", inputs.str(), controller_->input_size());
  const Tensor zeros = Tensor::zeros({inputs.size(1), config_.hidden}, inputs.dtype());
  nn::LstmState state{zeros, zeros};
  std::vector<Tensor> outputs;
  for (int64_t t = 0; t < inputs.size(0); ++t) {
    state = controller_->forward(inputs.select(0, t), state);
    outputs.push_back(output_->forward(state.h));
  }
  return stack(outputs, 0);
}

std::unique_ptr<SequenceModel> make_sequence_model(const SequenceModelConfig& config, int64_t input_size,
                                                   int64_t output_size, Rng& rng, DType dtype) {
  if (config.kind == "dnc") return std::make_unique<Dnc>(config, input_size, output_size, rng, dtype);
  if (config.kind == "lstm") return std::make_unique<LstmSequenceModel>(config, input_size, output_size, rng, dtype);
  throw Error(fmt::format("make_sequence_model: unknown kind \"{}\", expected \"dnc\" or \"lstm\"", config.kind));
}

}  // namespace moe::models::dnc
