// ops/index.cpp: embedding, index_select/index_add and gather/scatter_add: shape and
// index checks, dispatch to the index kernels, and the backward of each in terms of its
// partner (index_select <-> index_add, gather <-> scatter_add).
#include "moe/ops/index.h"

#include <algorithm>

#include "moe/autograd/autograd.h"
#include "moe/ops/dispatch.h"
#include "moe/ops/to_device.h"

namespace moe {

namespace {

// (outer, n, inner) sizes of a contiguous tensor of shape s around dim d.
struct DimSplit {
  int64_t outer = 1, n = 1, inner = 1;
};
DimSplit split_at(const Shape& s, int d) {
  DimSplit r;
  for (int i = 0; i < d; ++i) r.outer *= s[i];
  r.n = s[d];
  for (size_t i = d + 1; i < s.size(); ++i) r.inner *= s[i];
  return r;
}

// A contiguous int64 copy (or the tensor itself) of an int64 or int32 index tensor.
Tensor as_index(const Tensor& index, const char* op, const char* what) {
  MOE_CHECK(index.defined(), "{}: {} is undefined", op, what);
  MOE_CHECK(index.dtype() == DType::i64 || index.dtype() == DType::i32, "{}: {} must be int64 or int32, got {}",
            op, what, index.str());
  // Indices live on the host, where they are range-checked; CUDA kernels get a device copy.
  return to_device(index, Device::CPU).to(DType::i64).contiguous();
}

// Throws naming the first entry of `index` (contiguous int64) outside [0, n): its
// position as a multi-index, its value and `context` (the shapes involved).
void check_range(const Tensor& index, int64_t n, const char* op, const char* what, const std::string& context) {
  const int64_t* p = index.data<int64_t>();
  const int64_t count = index.numel();
  for (int64_t i = 0; i < count; ++i) {
    if (p[i] >= 0 && p[i] < n) continue;
    Shape position(index.dim());
    for (int64_t d = index.dim() - 1, rest = i; d >= 0; --d) {
      position[d] = rest % index.shape()[d];
      rest /= index.shape()[d];
    }
    throw Error(fmt::format("{}: {} {} at position {} is out of range [0, {}) ({})", op, what, p[i],
                            shape_str(position), n, context));
  }
}

// ---- the kernel calls, no autograd; index is int64, contiguous and in range. The
// backward passes call them directly: their indices were checked by the forward.

// x: (..., n, ...) -> (..., K, ...) at dim d.
Tensor index_select_raw(const Tensor& x_in, int d, const Tensor& index, const char* op) {
  Tensor x = x_in.detach().contiguous();
  const DimSplit s = split_at(x.shape(), d);
  const int64_t K = index.numel();
  Shape shape = x.shape();
  shape[d] = K;
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  const int64_t* idx = index.data<int64_t>();
  switch (backend_of(x, op)) {
    case Backend::cpu_f32:
      kernels::cpu::index_select(x.data<float>(), idx, out.data<float>(), s.outer, s.n, K, s.inner);
      break;
    case Backend::ref_f64:
      kernels::ref::index_select(x.data<double>(), idx, out.data<double>(), s.outer, s.n, K, s.inner);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY(op, kernels::cuda::index_select(x.data<float>(), to_device(index, Device::CUDA).data<int64_t>(),
                                                    out.data<float>(), s.outer, s.n, K, s.inner));
      break;
  }
  return out;
}

// out (contiguous, written in place) += source's rows at index along d.
void index_add_into(const Tensor& out, int d, const Tensor& index, const Tensor& source_in, const char* op) {
  Tensor source = source_in.detach().contiguous();
  const DimSplit s = split_at(out.shape(), d);
  const int64_t K = index.numel();
  const int64_t* idx = index.data<int64_t>();
  switch (backend_of(out, op)) {
    case Backend::cpu_f32:
      kernels::cpu::index_add(out.data<float>(), idx, source.data<float>(), s.outer, s.n, K, s.inner);
      break;
    case Backend::ref_f64:
      kernels::ref::index_add(out.data<double>(), idx, source.data<double>(), s.outer, s.n, K, s.inner, 0, s.inner);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY(op, kernels::cuda::index_add(out.data<float>(), to_device(index, Device::CUDA).data<int64_t>(),
                                                 source.data<float>(), s.outer, s.n, K, s.inner));
      break;
  }
}

// t narrowed to index's sizes on every dim but `keep` (-1: on every dim).
Tensor narrow_to(Tensor t, const Shape& index_shape, int keep) {
  for (int dd = 0; dd < t.dim(); ++dd)
    if (dd != keep && index_shape[dd] < t.shape()[dd]) t = t.slice(dd, 0, index_shape[dd]);
  return t;
}

Tensor gather_raw(const Tensor& x_in, int d, const Tensor& index) {
  Tensor x = narrow_to(x_in.detach(), index.shape(), d).contiguous();
  const DimSplit s = split_at(index.shape(), d);
  const int64_t n = x.shape()[d];
  Tensor out = Tensor::empty(index.shape(), x.dtype(), x.device());
  const int64_t* idx = index.data<int64_t>();
  switch (backend_of(x, "gather")) {
    case Backend::cpu_f32:
      kernels::cpu::gather(x.data<float>(), idx, out.data<float>(), s.outer, n, s.n, s.inner);
      break;
    case Backend::ref_f64:
      kernels::ref::gather(x.data<double>(), idx, out.data<double>(), s.outer, n, s.n, s.inner);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY("gather", kernels::cuda::gather(x.data<float>(), to_device(index, Device::CUDA).data<int64_t>(),
                                                    out.data<float>(), s.outer, n, s.n, s.inner));
      break;
  }
  return out;
}

// out (contiguous, written in place) += src scattered at index along d.
void scatter_add_into(const Tensor& out, int d, const Tensor& index, const Tensor& src_in) {
  // The part of out that index addresses; scattered in place when it is one block of
  // memory, else through a contiguous copy.
  Tensor target = narrow_to(out, index.shape(), d);
  Tensor work = target.is_contiguous() ? target : target.clone();
  Tensor src = narrow_to(src_in.detach(), index.shape(), -1).contiguous();
  const DimSplit s = split_at(index.shape(), d);
  const int64_t n = out.shape()[d];
  const int64_t* idx = index.data<int64_t>();
  switch (backend_of(out, "scatter_add")) {
    case Backend::cpu_f32:
      kernels::cpu::scatter_add(work.data<float>(), idx, src.data<float>(), s.outer, n, s.n, s.inner);
      break;
    case Backend::ref_f64:
      kernels::ref::scatter_add(work.data<double>(), idx, src.data<double>(), s.outer, n, s.n, s.inner, 0, s.inner);
      break;
    case Backend::cuda_f32:
      MOE_CUDA_ONLY("scatter_add", kernels::cuda::scatter_add(work.data<float>(), to_device(index, Device::CUDA).data<int64_t>(),
                                                              src.data<float>(), s.outer, n, s.n, s.inner));
      break;
  }
  if (!work.same(target)) target.copy_(work);
}

// Checks of gather/scatter_add: index has x's ndim and fits x on every dim but d.
void check_gather_shapes(const Tensor& x, int d, const Tensor& index, const char* op) {
  MOE_CHECK(index.dim() == x.dim(), "{}: index {} must have as many dims as input {}", op, index.str(), x.str());
  for (int dd = 0; dd < x.dim(); ++dd)
    MOE_CHECK(dd == d || index.shape()[dd] <= x.shape()[dd],
              "{}: index {} is larger than input {} on dim {} (only dim {} may differ)", op, index.str(), x.str(),
              dd, d);
}

}  // namespace

namespace {
// leaf.grad += the rows `rows` of g scattered to ids (embedding's backward into a leaf
// table). A table-sized gradient would be zero-filled every step and then summed into
// .grad; instead the rows land in .grad itself when the engine-owned .grad is held by
// nothing else, else in a copy; with no .grad yet, in the zeroed buffer zero_grad kept
// (TensorImpl::spare_grad), else in fresh zeros. .grad's nonzero_rows become the union
// (none if .grad was dense), as the engine's accumulation would make them.
void accumulate_rows_into_leaf(TensorImpl& leaf, const Tensor& ids, const Tensor& rows_grad,
                               const std::shared_ptr<const std::vector<int64_t>>& rows) {
  const Shape& shape = leaf.shape;
  auto exclusive = [&](const std::shared_ptr<TensorImpl>& t) {
    return t && t.use_count() == 1 && t->storage.use_count() == 1 && t->offset == 0 && t->shape == shape &&
           t->dtype == leaf.dtype && Tensor(t).is_contiguous();
  };
  std::shared_ptr<TensorImpl> acc;
  std::shared_ptr<const std::vector<int64_t>> merged;
  if (leaf.grad) {
    merged = merge_nonzero_rows(leaf.grad->nonzero_rows, rows);
    acc = exclusive(leaf.grad) ? std::move(leaf.grad) : Tensor(leaf.grad).clone().impl_ptr();
  } else {
    acc = exclusive(leaf.spare_grad) ? std::move(leaf.spare_grad) : zeros_on(shape, leaf.dtype, Device::CPU).impl_ptr();
    merged = rows;
  }
  leaf.spare_grad.reset();
  index_add_into(Tensor(acc), 0, ids, rows_grad, "embedding");
  acc->nonzero_rows = std::move(merged);
  leaf.grad = std::move(acc);
}
}  // namespace

Tensor embedding(const Tensor& weight, const Tensor& ids_in) {
  check_float(weight, "embedding");
  MOE_CHECK(weight.dim() == 2, "embedding: weight must be (V, D), got {}", weight.str());
  Tensor ids = as_index(ids_in, "embedding", "ids");
  const int64_t V = weight.size(0), D = weight.size(1);
  check_range(ids, V, "embedding", "id", fmt::format("ids {}, weight {}", ids_in.str(), weight.str()));
  Tensor flat_ids = ids.view({ids.numel()});
  Shape out_shape = ids.shape();
  out_shape.push_back(D);
  Tensor out = index_select_raw(weight, 0, flat_ids, "embedding").view(out_shape);
  const DType dt = weight.dtype();
  const Device dev = weight.device();
  if (!needs_grad({&weight})) return out;
  // The rows the gradient can be nonzero in: the batch's distinct ids (a 5000-row table
  // gets a handful per NeuroShard text; Adam skips the rest, optim/adam.h).
  std::vector<int64_t> rows(flat_ids.data<int64_t>(), flat_ids.data<int64_t>() + flat_ids.numel());
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  auto nonzero = std::make_shared<const std::vector<int64_t>>(std::move(rows));
  // A CPU leaf table: the backward adds its rows straight into the leaf's .grad.
  std::shared_ptr<TensorImpl> leaf = !weight.grad_fn() && dev == Device::CPU ? weight.impl_ptr() : nullptr;
  record(out, "embedding", {weight}, [flat_ids, V, D, dt, dev, nonzero, leaf](const Tensor& g) {
    if (leaf) {
      accumulate_rows_into_leaf(*leaf, flat_ids, g.reshape({-1, D}), nonzero);
      return std::vector<Tensor>{Tensor()};  // already accumulated: nothing for the engine to add
    }
    // The dense (V, D) gradient: zero rows for ids not in the batch.
    Tensor gw = zeros_on({V, D}, dt, dev);
    index_add_into(gw, 0, flat_ids, g.reshape({-1, D}), "embedding");
    gw.impl()->nonzero_rows = nonzero;
    return std::vector<Tensor>{gw};
  });
  return out;
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index_in) {
  check_float(x, "index_select");
  const int d = wrap_dim(dim, x.dim(), "index_select");
  Tensor index = as_index(index_in, "index_select", "index");
  MOE_CHECK(index.dim() == 1, "index_select: index must be 1-D, got {} (input {})", index_in.str(), x.str());
  check_range(index, x.shape()[d], "index_select", "index",
              fmt::format("index {}, input {}, dim {}", index_in.str(), x.str(), d));
  Tensor out = index_select_raw(x, d, index, "index_select");
  const Shape x_shape = x.shape();
  record(out, "index_select", {x}, [x_shape, d, index](const Tensor& g) {
    Tensor gx = zeros_on(x_shape, g.dtype(), g.device());
    index_add_into(gx, d, index, g, "index_select");
    return std::vector<Tensor>{gx};
  });
  return out;
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index_in, const Tensor& source) {
  check_float(x, "index_add");
  check_same_kind(x, source, "index_add");
  const int d = wrap_dim(dim, x.dim(), "index_add");
  Tensor index = as_index(index_in, "index_add", "index");
  MOE_CHECK(index.dim() == 1, "index_add: index must be 1-D, got {} (input {})", index_in.str(), x.str());
  Shape want = x.shape();
  want[d] = index.numel();
  MOE_CHECK(source.shape() == want, "index_add: source {} must be {} (input {} with dim {} of size {} = index {})",
            source.str(), shape_str(want), x.str(), d, index.numel(), index_in.str());
  check_range(index, x.shape()[d], "index_add", "index",
              fmt::format("index {}, input {}, dim {}", index_in.str(), x.str(), d));
  Tensor out = x.detach().clone();
  index_add_into(out, d, index, source, "index_add");
  const bool need_source = source.requires_grad();
  record(out, "index_add", {x, source}, [d, index, need_source](const Tensor& g) {
    return std::vector<Tensor>{g, need_source ? index_select(g, d, index) : Tensor()};
  });
  return out;
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index_in) {
  check_float(x, "gather");
  const int d = wrap_dim(dim, x.dim(), "gather");
  Tensor index = as_index(index_in, "gather", "index");
  check_gather_shapes(x, d, index, "gather");
  check_range(index, x.shape()[d], "gather", "index",
              fmt::format("index {}, input {}, dim {}", index_in.str(), x.str(), d));
  Tensor out = gather_raw(x, d, index);
  const Shape x_shape = x.shape();
  record(out, "gather", {x}, [x_shape, d, index](const Tensor& g) {
    Tensor gx = zeros_on(x_shape, g.dtype(), g.device());
    scatter_add_into(gx, d, index, g);
    return std::vector<Tensor>{gx};
  });
  return out;
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index_in, const Tensor& src) {
  check_float(x, "scatter_add");
  check_same_kind(x, src, "scatter_add");
  const int d = wrap_dim(dim, x.dim(), "scatter_add");
  Tensor index = as_index(index_in, "scatter_add", "index");
  check_gather_shapes(x, d, index, "scatter_add");
  MOE_CHECK(src.dim() == index.dim(), "scatter_add: src {} must have as many dims as index {}", src.str(),
            index.str());
  for (int dd = 0; dd < src.dim(); ++dd)
    MOE_CHECK(index.shape()[dd] <= src.shape()[dd], "scatter_add: index {} is larger than src {} on dim {}",
              index.str(), src.str(), dd);
  check_range(index, x.shape()[d], "scatter_add", "index",
              fmt::format("index {}, input {}, dim {}", index_in.str(), x.str(), d));
  Tensor out = x.detach().clone();
  scatter_add_into(out, d, index, src);
  const bool need_src = src.requires_grad();
  const Shape src_shape = src.shape();
  record(out, "scatter_add", {x, src}, [d, index, need_src, src_shape](const Tensor& g) {
    Tensor gsrc;
    if (need_src) {
      gsrc = gather(g, d, index);
      if (gsrc.shape() != src_shape) {  // src entries that index does not reach get zero
        Tensor padded = zeros_on(src_shape, g.dtype(), g.device());
        narrow_to(padded, index.shape(), -1).copy_(gsrc);
        gsrc = padded;
      }
    }
    return std::vector<Tensor>{g, gsrc};
  });
  return out;
}

}  // namespace moe
