// tensor.cpp: Tensor factories, metadata and value access. Views and copies are in
// ops/view.cpp (they record autograd nodes); math is in ops/.
#include "moe/core/tensor.h"

#include <cstring>

#include "moe/autograd/autograd.h"
#include "moe/core/parallel.h"
#include "moe/ops/to_device.h"

namespace moe {

namespace {
// Calls f(T*) with the tensor's typed data pointer.
template <class F>
void visit_dtype(DType dt, F&& f) {
  switch (dt) {
    case DType::f32: f(float{}); break;
    case DType::f64: f(double{}); break;
    case DType::i32: f(int32_t{}); break;
    case DType::i64: f(int64_t{}); break;
  }
}
}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t s : shape) MOE_CHECK(s >= 0, "Tensor::empty: negative size in shape {}", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(numel_of(shape) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) { return full(shape, 0.0, dtype); }
Tensor Tensor::ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill_(value);
  return t;
}

Tensor Tensor::arange(int64_t n, DType dtype) {
  Tensor t = empty({n}, dtype);
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(i);
  });
  return t;
}

Tensor Tensor::randn(const Shape& shape, Rng& rng, double std, DType dtype) {
  MOE_CHECK(is_floating(dtype), "Tensor::randn: dtype must be floating, got {}", dtype_name(dtype));
  Tensor t = empty(shape, dtype);
  const int64_t n = t.numel();
  const uint64_t seed = rng.seed(), first = rng.reserve(n);
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      T* p = t.data<T>();
      parallel_for(n, 64, [&](int64_t b, int64_t e) {
        double z[256];  // normals drawn in bulk (Rng::normal_fill), a block at a time
        for (int64_t i = b; i < e; i += 256) {
          const int64_t m = e - i < 256 ? e - i : 256;
          Rng::normal_fill(seed, first + static_cast<uint64_t>(i), m, z);
          for (int64_t j = 0; j < m; ++j) p[i + j] = static_cast<T>(std * z[j]);
        }
      });
    }
  });
  return t;
}

Tensor Tensor::rand(const Shape& shape, Rng& rng, double lo, double hi, DType dtype) {
  MOE_CHECK(is_floating(dtype), "Tensor::rand: dtype must be floating, got {}", dtype_name(dtype));
  Tensor t = empty(shape, dtype);
  const int64_t n = t.numel();
  const uint64_t seed = rng.seed(), first = rng.reserve(n);
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      T* p = t.data<T>();
      parallel_for(n, 32, [&](int64_t b, int64_t e) {
        double u[256];  // uniforms drawn in bulk (Rng::uniform_fill), a block at a time
        for (int64_t i = b; i < e; i += 256) {
          const int64_t m = e - i < 256 ? e - i : 256;
          Rng::uniform_fill(seed, first + static_cast<uint64_t>(i), m, u);
          for (int64_t j = 0; j < m; ++j) p[i + j] = static_cast<T>(lo + (hi - lo) * u[j]);
        }
      });
    }
  });
  return t;
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  MOE_CHECK(static_cast<int64_t>(values.size()) == numel_of(shape),
            "Tensor::from_vector: {} values for shape {}", values.size(), shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>());
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}
template Tensor Tensor::from_vector<float>(const std::vector<float>&, const Shape&);
template Tensor Tensor::from_vector<double>(const std::vector<double>&, const Shape&);
template Tensor Tensor::from_vector<int32_t>(const std::vector<int32_t>&, const Shape&);
template Tensor Tensor::from_vector<int64_t>(const std::vector<int64_t>&, const Shape&);

int64_t Tensor::size(int64_t d) const { return impl_->shape[wrap_dim(d, dim(), "Tensor::size")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (size_t i = impl_->shape.size(); i-- > 0;) {
    if (impl_->shape[i] == 1) continue;
    if (impl_->strides[i] != expected) return false;
    expected *= impl_->shape[i];
  }
  return true;
}

std::string Tensor::str() const {
  if (!defined()) return "undefined";
  return fmt::format("{}{}", dtype_name(dtype()), shape_str(shape()));
}

double Tensor::item() const {
  MOE_CHECK(numel() == 1, "Tensor::item: tensor {} has {} elements, expected 1", str(), numel());
  if (device() != Device::CPU) return to_device(*this, Device::CPU).item();
  double v = 0;
  visit_dtype(dtype(), [&](auto tag) {
    using T = decltype(tag);
    v = static_cast<double>(*data<T>());
  });
  return v;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  if (device() != Device::CPU) return to_device(*this, Device::CPU).to_vector<T>();
  Tensor c = contiguous();
  std::vector<T> out(c.numel());
  visit_dtype(dtype(), [&](auto tag) {
    using S = decltype(tag);
    const S* p = c.data<S>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(p[i]);
  });
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;

double Tensor::at(std::initializer_list<int64_t> index) const {
  MOE_CHECK(static_cast<int64_t>(index.size()) == dim(), "Tensor::at: {} indices for {}", index.size(), str());
  if (device() != Device::CPU) return to_device(*this, Device::CPU).at(index);
  int64_t off = 0, d = 0;
  for (int64_t i : index) {
    MOE_CHECK(i >= 0 && i < shape()[d], "Tensor::at: index {} out of range for dim {} of {}", i, d, str());
    off += i * strides()[d++];
  }
  double v = 0;
  visit_dtype(dtype(), [&](auto tag) {
    using T = decltype(tag);
    v = static_cast<double>(data<T>()[off]);
  });
  return v;
}

Tensor& Tensor::set_requires_grad(bool r) {
  MOE_CHECK(!r || is_floating(dtype()), "set_requires_grad: only floating tensors can require grad, got {}", str());
  MOE_CHECK(is_leaf(), "set_requires_grad: only leaf tensors can change requires_grad (use detach())");
  impl_->requires_grad = r;
  return *this;
}

void Tensor::backward() const {
  MOE_CHECK(numel() == 1, "backward: implicit seed needs a one-element tensor, got {}", str());
  run_backward(*this, full_on(shape(), 1.0, dtype(), device()));
}

void Tensor::backward(const Tensor& grad) const { run_backward(*this, grad); }

Tensor Tensor::detach() const { return make_view(*this, shape(), strides(), offset()); }

Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

void Tensor::zero_grad() const {
  std::shared_ptr<TensorImpl> g = std::move(impl_->grad);
  impl_->grad.reset();
  if (!g || !g->nonzero_rows || g.use_count() != 1 || g->storage.use_count() != 1 || g->offset != 0 ||
      g->storage->device() != Device::CPU || g->shape.empty() || Tensor(g).numel() == 0 || !Tensor(g).is_contiguous())
    return;
  const int64_t rows = g->shape[0];
  const size_t row_bytes = static_cast<size_t>(Tensor(g).numel() / rows) * dtype_size(g->dtype);
  auto* base = static_cast<char*>(g->storage->data());
  for (int64_t r : *g->nonzero_rows) std::memset(base + static_cast<size_t>(r) * row_bytes, 0, row_bytes);
  g->nonzero_rows.reset();
  impl_->spare_grad = std::move(g);
}

}  // namespace moe
