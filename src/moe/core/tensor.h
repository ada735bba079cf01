// tensor.h: Tensor, a shape + strides + offset over shared Storage, with a dtype, a
// device and the autograd fields (requires_grad, grad, grad_fn).
// Views (reshape, transpose, permute, slice, expand, ...) share storage and are
// differentiable. Math lives in moe/ops, not here.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "moe/core/dtype.h"
#include "moe/core/rng.h"
#include "moe/core/shape.h"
#include "moe/core/storage.h"

namespace moe {

struct Node;
class Tensor;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;
  int64_t offset = 0;  // in elements
  DType dtype = DType::f32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated gradient (leaves)
  // On a gradient: every row (index along dim 0) not in this sorted list is zero. The
  // embedding op's backward sets it; the engine keeps it through accumulation; Adam
  // then updates only rows that ever had a gradient (optim/adam.h). Null: dense. Code
  // that writes into a gradient in place (other than scaling) must reset it.
  std::shared_ptr<const std::vector<int64_t>> nonzero_rows;
  // On a leaf: its last row-sparse .grad, kept by zero_grad() with those rows zeroed, so
  // the next embedding backward accumulates into it instead of zero-filling a fresh
  // table-sized gradient (21 us of an 80 us NeuroShard step, BENCHMARKS.md).
  std::shared_ptr<TensorImpl> spare_grad;
  std::shared_ptr<Node> grad_fn;     // the node that made this tensor (non-leaves)
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories ----
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::CPU);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32);
  static Tensor ones(const Shape& shape, DType dtype = DType::f32);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32);
  static Tensor scalar(double value, DType dtype = DType::f32) { return full({}, value, dtype); }
  static Tensor arange(int64_t n, DType dtype = DType::i64);
  // N(0, std^2) and U[lo, hi) from the counter-based generator (thread-count independent).
  static Tensor randn(const Shape& shape, Rng& rng, double std = 1.0, DType dtype = DType::f32);
  static Tensor rand(const Shape& shape, Rng& rng, double lo = 0.0, double hi = 1.0,
                     DType dtype = DType::f32);
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);
  static Tensor from_list(std::initializer_list<float> values, const Shape& shape) {
    return from_vector(std::vector<float>(values), shape);
  }

  // ---- metadata ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl_->shape; }
  const Shape& strides() const { return impl_->strides; }
  int64_t offset() const { return impl_->offset; }
  int64_t dim() const { return static_cast<int64_t>(impl_->shape.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return numel_of(impl_->shape); }
  DType dtype() const { return impl_->dtype; }
  Device device() const { return impl_->storage->device(); }
  bool is_contiguous() const;
  std::string str() const;  // "float32[2, 3]"
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

  // Typed pointer to the first element (offset applied); checks the dtype.
  template <class T>
  T* data() const {
    MOE_CHECK(dtype_of<T>() == impl_->dtype, "Tensor::data: tensor is {}, asked for {}",
              dtype_name(impl_->dtype), dtype_name(dtype_of<T>()));
    return static_cast<T*>(impl_->storage->data()) + impl_->offset;
  }
  void* raw_data() const {
    return static_cast<char*>(impl_->storage->data()) + impl_->offset * dtype_size(impl_->dtype);
  }

  // ---- values ----
  double item() const;  // a one-element tensor's value
  template <class T>
  std::vector<T> to_vector() const;  // contiguous copy, converted to T
  // Element at a multi-index, converted to double (tests and debugging).
  double at(std::initializer_list<int64_t> index) const;

  // ---- autograd ----
  bool requires_grad() const { return impl_->requires_grad; }
  Tensor& set_requires_grad(bool r);
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  Tensor grad() const { return Tensor(impl_->grad); }
  void set_grad(const Tensor& g) { impl_->grad = g.impl_; }
  // Drops .grad (grad() is undefined until the next backward). A row-sparse gradient
  // (nonzero_rows set, nothing else holding it) is zeroed on those rows and kept aside
  // (TensorImpl::spare_grad) for the next embedding backward to reuse.
  void zero_grad() const;
  const std::shared_ptr<Node>& grad_fn() const { return impl_->grad_fn; }
  void backward() const;                   // of a one-element tensor, seed 1
  void backward(const Tensor& grad) const;  // seed `grad` (same shape)
  Tensor detach() const;                    // shares storage, no autograd history

  // ---- views (differentiable; share storage) ----
  Tensor reshape(const Shape& shape) const;  // copies only when the layout forces it
  Tensor view(const Shape& shape) const;     // never copies; throws when it would have to
  Tensor flatten() const { return reshape({numel()}); }
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor t() const { return transpose(0, 1); }
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;  // slice + squeeze
  Tensor expand(const Shape& shape) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;

  // ---- copies ----
  Tensor contiguous() const;  // self if already contiguous
  Tensor clone() const;       // always a fresh contiguous copy (differentiable)
  Tensor to(DType dtype) const;  // differentiable between float types
  // In-place copy of `src` (broadcast to this shape) into this tensor's memory; no autograd.
  void copy_(const Tensor& src) const;
  void fill_(double value) const;  // no autograd

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// A view over `base`'s storage with new geometry (no autograd record; ops use it).
Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset);

}  // namespace moe
