// optim/adam.h: Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), as
// torch.optim.Adam / torch.optim.AdamW. Per parameter p with gradient g, its own update
// count t (1 on its first update; a parameter skipped for lack of a gradient keeps its t):
//   AdamW:  p -= lr * weight_decay * p          (decoupled weight decay, Alg. 2 line 12)
//   Adam:   g += weight_decay * p               (L2 term folded into the gradient)
//   m = beta1 m + (1 - beta1) g
//   v = beta2 v + (1 - beta2) g^2
//   p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
// State: "adam.m.<name>", "adam.v.<name>" (parameter's shape and dtype) and
// "adam.step.<name>" (int64 scalar t), for Adam and AdamW alike.
//
// Rows that never had a gradient are skipped, exactly: a row whose m and v are zero and
// whose gradient is zero is left unchanged by the update above when weight_decay is 0
// and eps > 0. A gradient that says which of its rows can be nonzero (an embedding's:
// TensorImpl::nonzero_rows) adds those rows to the parameter's live rows, and only live
// rows are updated: a NeuroShard step updates the few hundred rows of its 5000-row
// table its training texts use instead of all of them. Any other gradient, weight
// decay or eps = 0 updates the whole parameter, as does every step after one such.
// load_state_dict recomputes the live rows from the loaded moments.
#pragma once
#include "moe/kernels/kernels.h"
#include "moe/optim/optimizer.h"

namespace moe::optim {

// Note: weight_decay defaults to 0 for both; torch's AdamW defaults to 1e-2.
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

class Adam : public Optimizer {
 public:
  Adam(NamedTensors params, const AdamOptions& options) : Adam(std::move(params), options, false, "Adam") {}
  const AdamOptions& options() const { return options_; }
  // Update count of parameter `index` (0 before its first update).
  int64_t param_step(size_t index) const;

 protected:
  Adam(NamedTensors params, const AdamOptions& options, bool decoupled_weight_decay, const char* kind);

 private:
  void update(size_t index, const Tensor& param, const Tensor& grad) override;
  void state_loaded() override;
  void finish_step() override;  // runs the queued float32 CPU updates in one parallel region
  // The update of every element of parameter `index`.
  void update_dense(size_t index, const Tensor& param, const Tensor& grad, const kernels::AdamHyper& h);
  AdamOptions options_;
  bool decoupled_weight_decay_;
  std::vector<Tensor> m_, v_, steps_;  // one each per parameter
  // Rows (dim 0) of a parameter whose m and v may be nonzero; `all` once a dense
  // gradient was seen.
  struct LiveRows {
    bool all = false;
    std::vector<char> flag;     // per row, once used
    std::vector<int64_t> rows;  // the flagged rows, sorted
  };
  std::vector<LiveRows> live_;
  // A step's float32 CPU updates, queued by update() (with the gradients they read, kept
  // alive) and run together by finish_step().
  std::vector<kernels::cpu::AdamSegment> queued_;
  std::vector<Tensor> queued_grads_;
};

class AdamW : public Adam {
 public:
  AdamW(NamedTensors params, const AdamOptions& options) : Adam(std::move(params), options, true, "AdamW") {}
};

}  // namespace moe::optim
