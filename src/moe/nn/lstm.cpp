// nn/lstm.cpp: LSTMCell from linear, slices and the elementwise ops.
#include "moe/nn/lstm.h"

#include <cmath>

#include "moe/ops/elementwise.h"
#include "moe/ops/matmul.h"

namespace moe::nn {

LSTMCell::LSTMCell(int64_t input_size, int64_t hidden_size, Rng& rng, bool bias, DType dtype)
    : input_size_(input_size), hidden_size_(hidden_size) {
  MOE_CHECK(input_size > 0 && hidden_size > 0, "LSTMCell: sizes must be positive, got input={} hidden={}",
            input_size, hidden_size);
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  const int64_t H4 = 4 * hidden_size;
  weight_ih_ = Tensor::rand({H4, input_size}, rng, -bound, bound, dtype);
  register_parameter("weight_ih", weight_ih_);
  weight_hh_ = Tensor::rand({H4, hidden_size}, rng, -bound, bound, dtype);
  register_parameter("weight_hh", weight_hh_);
  if (bias) {
    bias_ih_ = Tensor::rand({H4}, rng, -bound, bound, dtype);
    register_parameter("bias_ih", bias_ih_);
    bias_hh_ = Tensor::rand({H4}, rng, -bound, bound, dtype);
    register_parameter("bias_hh", bias_hh_);
  }
}

LstmState LSTMCell::forward(const Tensor& x, const LstmState& state) const {
  MOE_CHECK(x.dim() >= 1 && x.size(-1) == input_size_, "LSTMCell: input {} does not match input_size {}", x.str(),
            input_size_);
  Shape state_shape = x.shape();
  state_shape.back() = hidden_size_;
  MOE_CHECK(state.h.defined() && state.h.shape() == state_shape && state.c.defined() &&
                state.c.shape() == state_shape,
            "LSTMCell: state h {} and c {} must both be {} for input {}", state.h.str(), state.c.str(),
            shape_str(state_shape), x.str());
  const Tensor gates = add(linear(x, weight_ih_, bias_ih_), linear(state.h, weight_hh_, bias_hh_));
  const int64_t H = hidden_size_;
  const Tensor i = sigmoid(gates.slice(-1, 0, H));
  const Tensor f = sigmoid(gates.slice(-1, H, 2 * H));
  const Tensor g = tanh(gates.slice(-1, 2 * H, 3 * H));
  const Tensor o = sigmoid(gates.slice(-1, 3 * H, 4 * H));
  Tensor c = add(mul(f, state.c), mul(i, g));
  Tensor h = mul(o, tanh(c));
  return {h, c};
}

LstmState LSTMCell::forward(const Tensor& x) const {
  MOE_CHECK(x.dim() >= 1, "LSTMCell: input {} needs at least one dim", x.str());
  Shape state_shape = x.shape();
  state_shape.back() = hidden_size_;
  Tensor zeros = Tensor::zeros(state_shape, x.dtype());
  return forward(x, {zeros, zeros});
}

}  // namespace moe::nn
