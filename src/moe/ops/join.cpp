// ops/join.cpp: concat/stack (one strided copy per input into a slice of the output,
// so non-contiguous inputs cost no extra copy) and split/chunk as slices.
#include "moe/ops/join.h"

#include "moe/autograd/autograd.h"

namespace moe {

Tensor concat(const std::vector<Tensor>& tensors, int64_t dim) {
  MOE_CHECK(!tensors.empty(), "concat: no tensors given");
  const Tensor& first = tensors[0];
  MOE_CHECK(first.defined(), "concat: tensor 0 is undefined");
  const int d = wrap_dim(dim, first.dim(), "concat");
  Shape shape = first.shape();
  shape[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    MOE_CHECK(t.defined(), "concat: tensor {} is undefined", i);
    MOE_CHECK(t.dtype() == first.dtype() && t.device() == first.device(),
              "concat: tensor {} is {} on {}, tensor 0 is {} on {}", i, t.str(), device_name(t.device()), first.str(),
              device_name(first.device()));
    bool same = t.dim() == first.dim();
    for (int dd = 0; same && dd < t.dim(); ++dd) same = dd == d || t.shape()[dd] == first.shape()[dd];
    MOE_CHECK(same, "concat: tensor {} {} does not match tensor 0 {} outside dim {}", i, t.str(), first.str(), d);
    shape[d] += t.shape()[d];
  }
  Tensor out = Tensor::empty(shape, first.dtype(), first.device());
  std::vector<int64_t> starts;
  int64_t offset = 0;
  for (const Tensor& t : tensors) {
    starts.push_back(offset);
    out.slice(d, offset, offset + t.shape()[d]).copy_(t.detach());
    offset += t.shape()[d];
  }
  if (!is_floating(first.dtype())) return out;
  record(out, "concat", tensors, [starts, offset, d](const Tensor& g) {
    std::vector<Tensor> grads;
    for (size_t i = 0; i < starts.size(); ++i)
      grads.push_back(g.slice(d, starts[i], i + 1 < starts.size() ? starts[i + 1] : offset));
    return grads;
  });
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  MOE_CHECK(!tensors.empty(), "stack: no tensors given");
  MOE_CHECK(tensors[0].defined(), "stack: tensor 0 is undefined");
  const int d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (size_t i = 0; i < tensors.size(); ++i) {
    MOE_CHECK(tensors[i].defined() && tensors[i].shape() == tensors[0].shape(),
              "stack: tensor {} {} does not match tensor 0 {}", i, tensors[i].str(), tensors[0].str());
    expanded.push_back(tensors[i].unsqueeze(d));
  }
  return concat(expanded, d);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  const int d = wrap_dim(dim, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    MOE_CHECK(s >= 0, "split: negative size {} in sizes for {}", s, x.str());
    total += s;
  }
  MOE_CHECK(total == x.shape()[d], "split: sizes sum to {} but dim {} of {} has size {}", total, d, x.str(),
            x.shape()[d]);
  std::vector<Tensor> pieces;
  int64_t start = 0;
  for (int64_t s : sizes) {
    pieces.push_back(x.slice(d, start, start + s));
    start += s;
  }
  return pieces;
}

std::vector<Tensor> split(const Tensor& x, std::initializer_list<int64_t> sizes, int64_t dim) {
  return split(x, std::vector<int64_t>(sizes), dim);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  const int d = wrap_dim(dim, x.dim(), "split");
  const int64_t n = x.shape()[d];
  MOE_CHECK(split_size > 0 || (split_size == 0 && n == 0), "split: split_size {} must be positive (dim {} of {})",
            split_size, d, x.str());
  if (n == 0) return {x.slice(d, 0, 0)};
  std::vector<int64_t> sizes;
  for (int64_t start = 0; start < n; start += split_size) sizes.push_back(std::min(split_size, n - start));
  return split(x, sizes, d);
}

std::vector<Tensor> chunk(const Tensor& x, int64_t n, int64_t dim) {
  MOE_CHECK(n > 0, "chunk: number of chunks must be positive, got {} for {}", n, x.str());
  const int d = wrap_dim(dim, x.dim(), "chunk");
  const int64_t size = x.shape()[d];
  return split(x, (size + n - 1) / n, d);
}

}  // namespace moe
