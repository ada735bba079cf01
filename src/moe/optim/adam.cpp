// optim/adam.cpp: Adam and AdamW over the optim kernels.
#include "moe/optim/adam.h"

#include <algorithm>

#include "moe/ops/dispatch.h"

namespace moe::optim {

Adam::Adam(NamedTensors params, const AdamOptions& options, bool decoupled_weight_decay, const char* kind)
    : Optimizer(std::move(params), options.lr, kind), options_(options),
      decoupled_weight_decay_(decoupled_weight_decay) {
  MOE_CHECK(options.beta1 >= 0.0 && options.beta1 < 1.0, "{}: beta1 must be in [0, 1), got {}", kind, options.beta1);
  MOE_CHECK(options.beta2 >= 0.0 && options.beta2 < 1.0, "{}: beta2 must be in [0, 1), got {}", kind, options.beta2);
  MOE_CHECK(options.eps >= 0.0, "{}: eps must be >= 0, got {}", kind, options.eps);
  MOE_CHECK(options.weight_decay >= 0.0, "{}: weight_decay must be >= 0, got {}", kind, options.weight_decay);
  for (const auto& [name, p] : this->params()) {
    m_.push_back(add_state("adam.m." + name, p.shape(), p.dtype(), p.device()));
    v_.push_back(add_state("adam.v." + name, p.shape(), p.dtype(), p.device()));
    steps_.push_back(add_state("adam.step." + name, {}, DType::i64));
  }
  live_.resize(m_.size());
}

int64_t Adam::param_step(size_t index) const {
  MOE_CHECK(index < steps_.size(), "{}.param_step: index {} out of range for {} parameters", kind(), index,
            steps_.size());
  return *steps_[index].data<int64_t>();
}

void Adam::update(size_t index, const Tensor& param, const Tensor& grad) {
  int64_t& step = *steps_[index].data<int64_t>();
  kernels::AdamHyper h;
  h.lr = lr();
  h.beta1 = options_.beta1;
  h.beta2 = options_.beta2;
  h.eps = options_.eps;
  h.weight_decay = options_.weight_decay;
  h.decoupled_weight_decay = decoupled_weight_decay_;
  h.step = step + 1;
  step = h.step;
  LiveRows& live = live_[index];
  const auto& nonzero = grad.impl()->nonzero_rows;
  const bool skip_ok = options_.weight_decay == 0.0 && options_.eps > 0.0 && param.dim() >= 1 &&
                       param.device() == Device::CPU;
  if (live.all || !nonzero || !skip_ok) {
    live.all = true;
    update_dense(index, param, grad, h);
    return;
  }
  const int64_t R = param.size(0), row_len = R > 0 ? param.numel() / R : 0;
  if (live.flag.empty()) live.flag.assign(static_cast<size_t>(R), 0);
  const size_t old_size = live.rows.size();
  for (int64_t r : *nonzero) {
    MOE_CHECK(r >= 0 && r < R, "{}.step: gradient row {} out of range for {}", kind(), r, param.str());
    if (!live.flag[static_cast<size_t>(r)]) {
      live.flag[static_cast<size_t>(r)] = 1;
      live.rows.push_back(r);
    }
  }
  std::inplace_merge(live.rows.begin(), live.rows.begin() + static_cast<std::ptrdiff_t>(old_size), live.rows.end());
  const int64_t nrows = static_cast<int64_t>(live.rows.size());
  const Tensor &m = m_[index], &v = v_[index];
  if (param.dtype() == DType::f32) {
    queued_.push_back({param.data<float>(), grad.data<float>(), m.data<float>(), v.data<float>(), nrows * row_len, h,
                       live.rows.data(), row_len});
    queued_grads_.push_back(grad);
  } else {
    kernels::ref::adam_update_rows(param.data<double>(), grad.data<double>(), m.data<double>(), v.data<double>(),
                                   row_len, live.rows.data(), nrows, h);
  }
  count_updated(nrows * row_len);
}

void Adam::finish_step() {
  kernels::cpu::adam_update_segments(queued_.data(), static_cast<int64_t>(queued_.size()));
  queued_.clear();
  queued_grads_.clear();
}

void Adam::update_dense(size_t index, const Tensor& param, const Tensor& grad, const kernels::AdamHyper& h) {
  const Tensor &m = m_[index], &v = v_[index];
  const int64_t n = param.numel();
  switch (backend_of(param, kind())) {
    case Backend::cpu_f32:
      queued_.push_back({param.data<float>(), grad.data<float>(), m.data<float>(), v.data<float>(), n, h});
      queued_grads_.push_back(grad);
      break;
    case Backend::ref_f64:
      kernels::ref::adam_update(param.data<double>(), grad.data<double>(), m.data<double>(), v.data<double>(), n, h);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY(kind(), kernels::cuda::adam_update(param.data<float>(), grad.data<float>(), m.data<float>(),
                                                       v.data<float>(), n, h));
      break;
  }
  count_updated(n);
}

void Adam::state_loaded() {
  // The live rows of a resumed run are the rows whose loaded m or v is nonzero anywhere
  // (exactly the rows the dense update would change with a zero gradient), so a resumed
  // run keeps skipping the rest. Parameters off the CPU update whole.
  for (size_t i = 0; i < live_.size(); ++i) {
    LiveRows& live = live_[i];
    live = LiveRows{};
    const Tensor &m = m_[i], &v = v_[i];
    if (m.device() != Device::CPU || m.dim() < 1 || m.numel() == 0) {
      live.all = true;
      continue;
    }
    const int64_t R = m.size(0), row_len = m.numel() / R;
    live.flag.assign(static_cast<size_t>(R), 0);
    auto scan = [&](auto tag) {
      using T = decltype(tag);
      const T *pm = m.data<T>(), *pv = v.data<T>();
      for (int64_t r = 0; r < R; ++r)
        for (int64_t j = r * row_len; j < (r + 1) * row_len; ++j)
          if (pm[j] != T(0) || pv[j] != T(0)) {
            live.flag[static_cast<size_t>(r)] = 1;
            live.rows.push_back(r);
            break;
          }
    };
    if (m.dtype() == DType::f64) scan(double{});
    else scan(float{});
  }
}

}  // namespace moe::optim
