// experts.h: the E experts of an MoE layer with their weights stacked, so that one
// grouped call (one GEMM per expert segment) serves them all.
//   ffn      Linear -> activation -> Linear: w1 (E, d_ff, d_model), b1 (E, d_ff),
//            w2 (E, d_model, d_ff), b2 (E, d_model); optional bias, optional dropout
//            between the two (Shazeer 2017; the char LM seed's experts)
//   swiglu   (silu(x W1^T) * (x W3^T)) W2^T, no bias (Shazeer 2020, GLU variants)
//   lowrank  o = U_i (V_i^T x): v (E, rank, d_model), u (E, d_model, rank) (NeuroShard)
//   mlp      a deeper expert: Linear layers d_model -> hidden[0] -> ... -> d_out with the
//            activation between them: w<l> (E, out_l, in_l), b<l> (E, out_l) for
//            l = 0..len(hidden) (the sentiment classifier's 20 -> 64 -> 32 -> 3 experts)
// d_out is the experts' output width: d_model unless an mlp expert sets it.
// Each expert's matrices are initialised as torch.nn.Linear would initialise it.
#pragma once
#include <string>
#include <vector>

#include "moe/core/rng.h"
#include "moe/nn/module.h"

namespace moe {

struct ExpertConfig {
  std::string kind = "ffn";  // ffn | swiglu | lowrank | mlp
  int64_t d_model = 0;
  int64_t d_ff = 0;          // ffn / swiglu hidden width
  int64_t rank = 0;          // lowrank
  std::string activation = "relu";  // ffn: relu | gelu | silu | tanh | sigmoid | identity
  bool bias = true;          // ffn and lowrank
  double dropout = 0.0;      // ffn: on the hidden activations, training only
  std::vector<int64_t> hidden;  // mlp: the hidden widths, in order (at least one)
  int64_t d_out = 0;            // mlp: output width; 0 = d_model

  // The experts' output width: d_out for mlp when set, else d_model.
  int64_t output_width() const { return kind == "mlp" && d_out > 0 ? d_out : d_model; }
};

class Experts : public nn::Module {
 public:
  Experts(const ExpertConfig& config, int64_t num_experts, Rng& rng, DType dtype = DType::f32);
  // xs: (A, d_model) rows sorted by expert, offsets: E + 1 segment bounds -> (A, d_out).
  // `rng` draws the dropout mask (training with dropout > 0 only).
  Tensor forward(const Tensor& xs, const std::vector<int64_t>& offsets, Rng* rng = nullptr) const;

  const ExpertConfig& config() const { return config_; }
  int64_t num_experts() const { return num_experts_; }
  // Multiply-adds per routed token (for active-parameter and FLOP counts).
  int64_t macs_per_token() const;

 private:
  ExpertConfig config_;
  int64_t num_experts_;
  Tensor w1_, b1_, w2_, b2_, w3_, u_, v_;
  std::vector<Tensor> mlp_w_, mlp_b_;  // mlp: one slot per layer, sized once (slots never move)
};

}  // namespace moe
