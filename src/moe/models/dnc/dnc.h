// models/dnc/dnc.h: the Differentiable Neural Computer (Graves et al. 2016): an LSTM
// controller reading and writing the external memory of memory.h through the
// interface vector, and the LSTM-only baseline for the same sequence tasks.
//
// One DNC step (Methods, in order), for input x_t and the previous state:
//   h_t      = LSTM([x_t, r_{t-1}])                                   controller
//   xi_t     = W_xi h_t, parsed into the interface (parse_interface)
//   u_t      = usage update from u_{t-1}, w^w_{t-1}, w^r_{t-1}, free gates
//   w^w_t    = g^w (g^a a(u_t) + (1 - g^a) C(M_{t-1}, k^w, beta^w))
//   M_t      = M_{t-1} o (1 - w^w e^T) + w^w v^T
//   L_t, p_t = temporal link update with w^w_t
//   w^r_t    = pi_1 b + pi_2 C(M_t, k^r, beta^r) + pi_3 f,  f/b through L_t from w^r_{t-1}
//   r_t      = M_t^T w^r_t
//   y_t      = W_y [h_t, r_t]   (the paper's W_y h + W_r r, one Linear over the concat)
// Parameters: "controller.*" (LSTMCell over in + R W inputs), "interface.*"
// (Linear(hidden -> interface_size)), "output.*" (Linear(hidden + R W -> out)).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "moe/core/rng.h"
#include "moe/io/config.h"
#include "moe/models/dnc/memory.h"
#include "moe/nn/linear.h"
#include "moe/nn/lstm.h"

namespace moe::models::dnc {

// The "model" object of a copy-task config:
//   {"kind": "dnc", "hidden": 64, "memory_slots": 16, "word_size": 16, "read_heads": 1}
//   {"kind": "lstm", "hidden": 128}                         (the baseline: no memory keys)
struct SequenceModelConfig {
  std::string kind = "dnc";
  int64_t hidden = 64;
  int64_t memory_slots = 16;  // N
  int64_t word_size = 16;     // W
  int64_t read_heads = 1;     // R
  // Sizes checked (positive); unknown keys and an unknown kind are errors naming the key.
  static SequenceModelConfig from_config(io::ConfigReader& cfg);
  // R W (read keys) + R (read strengths) + W + 1 (write key, strength) + W (erase)
  // + W (write vector) + R (free gates) + 1 + 1 (allocation, write gates) + 3 R (read modes).
  int64_t interface_size() const;
};

// The interface vector xi_t split and squashed as in the Methods:
// keys raw, strengths oneplus(x) = 1 + softplus(x), gates sigmoid, read modes softmax.
struct Interface {
  Tensor read_keys;        // (B, R, W)
  Tensor read_strengths;   // (B, R) >= 1
  Tensor write_key;        // (B, 1, W)
  Tensor write_strength;   // (B, 1) >= 1
  Tensor erase;            // (B, W) in [0, 1]
  Tensor write_vector;     // (B, W)
  Tensor free_gates;       // (B, R) in [0, 1]
  Tensor allocation_gate;  // (B, 1) in [0, 1]
  Tensor write_gate;       // (B, 1) in [0, 1]
  Tensor read_modes;       // (B, R, 3), softmax over (backward, content, forward)
};
// xi: (B, interface_size) in the order of SequenceModelConfig::interface_size.
Interface parse_interface(const Tensor& xi, int64_t read_heads, int64_t word_size);

struct DncState {
  nn::LstmState controller;  // h, c: (B, hidden)
  MemoryState memory;
  Tensor read_vectors;       // r_{t-1}: (B, R, W)
};

// What one step did, for batch element 0 (detached copies): the memory dump and plot.
struct DncStepTrace {
  Tensor memory;         // (N, W) after the write
  Tensor usage;          // (N)
  Tensor write_weights;  // (N)
  Tensor read_weights;   // (R, N)
  Tensor allocation_gate, write_gate;  // (1)
  Tensor free_gates;     // (R)
  Tensor read_modes;     // (R, 3)
};

// A model over sequences: inputs (T, B, in) -> logits (T, B, out).
class SequenceModel : public nn::Module {
 public:
  virtual Tensor forward(const Tensor& inputs) const = 0;
  virtual const SequenceModelConfig& config() const = 0;
};

class Dnc : public SequenceModel {
 public:
  Dnc(const SequenceModelConfig& config, int64_t input_size, int64_t output_size, Rng& rng,
      DType dtype = DType::f32);
  DncState initial_state(int64_t batch, DType dtype) const;
  // One time step: x (B, in) -> y (B, out); `state` is advanced. With `trace`, the
  // step's weightings and memory for batch element 0 are appended to it.
  Tensor step(const Tensor& x, DncState& state, std::vector<DncStepTrace>* trace = nullptr) const;
  Tensor forward(const Tensor& inputs) const override { return forward(inputs, nullptr); }
  Tensor forward(const Tensor& inputs, std::vector<DncStepTrace>* trace) const;
  const SequenceModelConfig& config() const override { return config_; }

 private:
  SequenceModelConfig config_;
  int64_t input_size_, output_size_;
  std::shared_ptr<nn::LSTMCell> controller_;
  std::shared_ptr<nn::Linear> interface_, output_;
};

// The baseline: the same LSTMCell and an output Linear(hidden -> out), no memory.
// Parameters "controller.*", "output.*".
class LstmSequenceModel : public SequenceModel {
 public:
  LstmSequenceModel(const SequenceModelConfig& config, int64_t input_size, int64_t output_size, Rng& rng,
                    DType dtype = DType::f32);
  Tensor forward(const Tensor& inputs) const override;
  const SequenceModelConfig& config() const override { return config_; }

 private:
  SequenceModelConfig config_;
  std::shared_ptr<nn::LSTMCell> controller_;
  std::shared_ptr<nn::Linear> output_;
};

// A Dnc or an LstmSequenceModel by config.kind.
std::unique_ptr<SequenceModel> make_sequence_model(const SequenceModelConfig& config, int64_t input_size,
                                                   int64_t output_size, Rng& rng, DType dtype = DType::f32);

}  // namespace moe::models::dnc
