// ops/view.cpp: Tensor's views (reshape, transpose, permute, slice, expand, ...) and
// copies (contiguous, clone, to, copy_, fill_), with their backward.
#include <algorithm>
#include <numeric>

#include "moe/autograd/autograd.h"
#include "moe/ops/dispatch.h"
#include "moe/ops/to_device.h"
#include "moe/ops/reduce.h"

namespace moe {

namespace {

// Resolves one -1 in a requested shape against `numel`.
Shape infer_shape(Shape shape, int64_t numel, const Tensor& from) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      MOE_CHECK(infer < 0, "reshape: more than one -1 in {}", shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      MOE_CHECK(shape[i] >= 0, "reshape: negative size in {}", shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    MOE_CHECK(known > 0 && numel % known == 0, "reshape: cannot reshape {} into {}", from.str(), shape_str(shape));
    shape[infer] = numel / known;
  }
  MOE_CHECK(numel_of(shape) == numel, "reshape: cannot reshape {} ({} elements) into {}", from.str(), numel,
            shape_str(shape));
  return shape;
}

void copy_into(const Tensor& dst, const Tensor& src) {
  MOE_CHECK(dst.device() == src.device(), "copy_: {} on {} into {} on {}: copies between devices are explicit (to_device)",
            src.str(), device_name(src.device()), dst.str(), device_name(dst.device()));
  kernels::Strided g = make_strided(dst.shape(), src, &dst);
  const int64_t rows = g.rows();
  if (dst.device() == Device::CUDA) {
#ifdef MOE_CUDA
    switch (dst.dtype()) {
      case DType::f32: kernels::cuda::copy_strided(src.data<float>(), dst.data<float>(), g); return;
      case DType::i32: kernels::cuda::copy_strided(src.data<int32_t>(), dst.data<int32_t>(), g); return;
      case DType::i64: kernels::cuda::copy_strided(src.data<int64_t>(), dst.data<int64_t>(), g); return;
      case DType::f64: throw Error(fmt::format("copy_: CUDA tensors must be float32 or integer, got {}", dst.str()));
    }
#endif
    throw Error("copy_: CUDA backend not built");
  }
  switch (dst.dtype()) {
    case DType::f32:
      kernels::cpu::copy_strided(src.data<float>(), dst.data<float>(), g);
      break;
    case DType::f64: kernels::ref::copy_strided(src.data<double>(), dst.data<double>(), g, 0, rows); break;
    case DType::i32: kernels::ref::copy_strided(src.data<int32_t>(), dst.data<int32_t>(), g, 0, rows); break;
    case DType::i64: kernels::ref::copy_strided(src.data<int64_t>(), dst.data<int64_t>(), g, 0, rows); break;
  }
}

}  // namespace

Tensor Tensor::view(const Shape& shape) const {
  MOE_CHECK(is_contiguous(), "view: tensor {} is not contiguous (use reshape)", str());
  Shape s = infer_shape(shape, numel(), *this);
  Tensor out = make_view(*this, s, contiguous_strides(s), offset());
  Shape in_shape = this->shape();
  record(out, "view", {*this}, [in_shape](const Tensor& g) { return std::vector<Tensor>{g.reshape(in_shape)}; });
  return out;
}

Tensor Tensor::reshape(const Shape& shape) const {
  return is_contiguous() ? view(shape) : contiguous().view(shape);
}

Tensor Tensor::transpose(int64_t a, int64_t b) const {
  int da = wrap_dim(a, dim(), "transpose"), db = wrap_dim(b, dim(), "transpose");
  Shape s = shape(), st = strides();
  std::swap(s[da], s[db]);
  std::swap(st[da], st[db]);
  Tensor out = make_view(*this, s, st, offset());
  record(out, "transpose", {*this}, [da, db](const Tensor& g) { return std::vector<Tensor>{g.transpose(da, db)}; });
  return out;
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  MOE_CHECK(static_cast<int64_t>(dims.size()) == dim(), "permute: {} dims given for {}", dims.size(), str());
  std::vector<int64_t> inverse(dims.size(), -1);
  Shape s(dims.size()), st(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    int d = wrap_dim(dims[i], dim(), "permute");
    MOE_CHECK(inverse[d] < 0, "permute: dim {} repeated", d);
    inverse[d] = static_cast<int64_t>(i);
    s[i] = shape()[d];
    st[i] = strides()[d];
  }
  Tensor out = make_view(*this, s, st, offset());
  record(out, "permute", {*this}, [inverse](const Tensor& g) { return std::vector<Tensor>{g.permute(inverse)}; });
  return out;
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  int dd = wrap_dim(d, dim(), "slice");
  MOE_CHECK(step >= 1, "slice: step must be >= 1, got {}", step);
  const int64_t n = shape()[dd];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape s = shape(), st = strides();
  s[dd] = (end - start + step - 1) / step;
  st[dd] = strides()[dd] * step;
  Tensor out = make_view(*this, s, st, offset() + start * strides()[dd]);
  Shape in_shape = shape();
  DType dt = dtype();
  record(out, "slice", {*this}, [in_shape, dt, dd, start, end, step](const Tensor& g) {
    Tensor gin = zeros_on(in_shape, dt, g.device());
    gin.slice(dd, start, end, step).copy_(g);
    return std::vector<Tensor>{gin};
  });
  return out;
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  int dd = wrap_dim(d, dim(), "select");
  const int64_t n = shape()[dd];
  MOE_CHECK(index >= -n && index < n, "select: index {} out of range for dim {} of {}", index, dd, str());
  if (index < 0) index += n;
  return slice(dd, index, index + 1).squeeze(dd);
}

Tensor Tensor::expand(const Shape& shape) const {
  MOE_CHECK(shape.size() >= this->shape().size(), "expand: cannot expand {} to fewer dims {}", str(), shape_str(shape));
  const size_t lead = shape.size() - this->shape().size();
  Shape s(shape.size()), st(shape.size(), 0);
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i < lead) {
      MOE_CHECK(shape[i] >= 0, "expand: new leading dim must be given, got {}", shape_str(shape));
      s[i] = shape[i];
      continue;
    }
    int64_t have = this->shape()[i - lead];
    int64_t want = shape[i] == -1 ? have : shape[i];
    MOE_CHECK(have == want || have == 1, "expand: cannot expand {} to {}", str(), shape_str(shape));
    s[i] = want;
    st[i] = have == want ? strides()[i - lead] : 0;
  }
  Tensor out = make_view(*this, s, st, offset());
  Shape in_shape = this->shape();
  record(out, "expand", {*this}, [in_shape](const Tensor& g) { return std::vector<Tensor>{sum_to(g, in_shape)}; });
  return out;
}

Tensor Tensor::unsqueeze(int64_t d) const {
  int dd = wrap_dim(d, dim() + 1, "unsqueeze");
  Shape s = shape(), st = strides();
  int64_t stride = dd < dim() ? strides()[dd] * shape()[dd] : 1;
  s.insert(s.begin() + dd, 1);
  st.insert(st.begin() + dd, stride);
  Tensor out = make_view(*this, s, st, offset());
  record(out, "unsqueeze", {*this}, [dd](const Tensor& g) { return std::vector<Tensor>{g.squeeze(dd)}; });
  return out;
}

Tensor Tensor::squeeze(int64_t d) const {
  int dd = wrap_dim(d, dim(), "squeeze");
  MOE_CHECK(shape()[dd] == 1, "squeeze: dim {} of {} has size {}, not 1", dd, str(), shape()[dd]);
  Shape s = shape(), st = strides();
  s.erase(s.begin() + dd);
  st.erase(st.begin() + dd);
  Tensor out = make_view(*this, s, st, offset());
  record(out, "squeeze", {*this}, [dd](const Tensor& g) { return std::vector<Tensor>{g.unsqueeze(dd)}; });
  return out;
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::clone() const {
  Tensor out = Tensor::empty(shape(), dtype(), device());
  copy_into(out, *this);
  record(out, "clone", {*this}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  return out;
}

Tensor Tensor::to(DType dt) const {
  if (dt == dtype()) return *this;
  MOE_CHECK(device() == Device::CPU, "Tensor::to({}): dtype conversion of CUDA tensor {} is not supported",
            dtype_name(dt), str());
  Tensor src = contiguous();
  Tensor out = Tensor::empty(shape(), dt, device());
  const int64_t n = numel();
  auto convert = [&](auto tag_in, auto tag_out) {
    using I = decltype(tag_in);
    using O = decltype(tag_out);
    const I* p = src.data<I>();
    O* q = out.data<O>();
    for (int64_t i = 0; i < n; ++i) q[i] = static_cast<O>(p[i]);
  };
  auto with_out = [&](auto tag_in) {
    switch (dt) {
      case DType::f32: convert(tag_in, float{}); break;
      case DType::f64: convert(tag_in, double{}); break;
      case DType::i32: convert(tag_in, int32_t{}); break;
      case DType::i64: convert(tag_in, int64_t{}); break;
    }
  };
  switch (dtype()) {
    case DType::f32: with_out(float{}); break;
    case DType::f64: with_out(double{}); break;
    case DType::i32: with_out(int32_t{}); break;
    case DType::i64: with_out(int64_t{}); break;
  }
  if (is_floating(dt) && is_floating(dtype())) {
    DType src_dt = dtype();
    record(out, "to", {*this}, [src_dt](const Tensor& g) { return std::vector<Tensor>{g.to(src_dt)}; });
  }
  return out;
}

void Tensor::copy_(const Tensor& src) const {
  MOE_CHECK(src.dtype() == dtype(), "copy_: dtype mismatch: {} into {}", src.str(), str());
  MOE_CHECK(broadcast_shapes(src.shape(), shape(), "copy_") == shape(),
            "copy_: {} does not broadcast to {}", src.str(), str());
  copy_into(*this, src);
}

void Tensor::fill_(double value) const {
  Tensor s = Tensor::empty({}, dtype());
  switch (dtype()) {
    case DType::f32: *s.data<float>() = static_cast<float>(value); break;
    case DType::f64: *s.data<double>() = value; break;
    case DType::i32: *s.data<int32_t>() = static_cast<int32_t>(value); break;
    case DType::i64: *s.data<int64_t>() = static_cast<int64_t>(value); break;
  }
  if (device() != Device::CPU) s = to_device(s, device());
  copy_into(*this, s);
}

}  // namespace moe
