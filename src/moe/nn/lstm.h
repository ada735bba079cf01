// nn/lstm.h: LSTMCell (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et
// al. 2000), exactly as torch.nn.LSTMCell: gates = x W_ih^T + b_ih + h W_hh^T + b_hh,
// split in the order i, f, g, o along the last dim;
//   i, f, o = sigmoid(.), g = tanh(.);  c' = f * c + i * g;  h' = o * tanh(c').
#pragma once
#include "moe/core/rng.h"
#include "moe/nn/module.h"

namespace moe::nn {

struct LstmState {
  Tensor h;  // (..., hidden)
  Tensor c;  // (..., hidden)
};

// Parameters "weight_ih" (4H, in), "weight_hh" (4H, H), "bias_ih" (4H), "bias_hh" (4H)
// (biases only when `bias`), all ~ U(-1/sqrt(H), 1/sqrt(H)) drawn in that order (torch).
class LSTMCell : public Module {
 public:
  LSTMCell(int64_t input_size, int64_t hidden_size, Rng& rng, bool bias = true, DType dtype = DType::f32);
  // x: (..., in), state h, c: (..., H) -> the next (h, c).
  LstmState forward(const Tensor& x, const LstmState& state) const;
  // From the zero state, as torch's LSTMCell(x) with hx=None.
  LstmState forward(const Tensor& x) const;
  LstmState operator()(const Tensor& x, const LstmState& state) const { return forward(x, state); }

  int64_t input_size() const { return input_size_; }
  int64_t hidden_size() const { return hidden_size_; }

 private:
  int64_t input_size_, hidden_size_;
  Tensor weight_ih_, weight_hh_, bias_ih_, bias_hh_;
};

}  // namespace moe::nn
