// ops/to_device.cpp: to_device (host <-> device copies through core/cuda's checked
// copies on the one stream) and full_on.
#include "moe/ops/to_device.h"

#include "moe/autograd/autograd.h"
#include "moe/core/cuda/runtime.h"

namespace moe {

Tensor to_device(const Tensor& x, Device target) {
  MOE_CHECK(x.defined(), "to_device({}): undefined tensor", device_name(target));
  if (target == x.device()) return x;
#ifndef MOE_CUDA
  throw Error(fmt::format("to_device({}): CUDA backend not built (configure with -DMOE_CUDA=ON); tensor {}",
                          device_name(target), x.str()));
#else
  Tensor src = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), target);
  const size_t nbytes = static_cast<size_t>(x.numel()) * dtype_size(x.dtype());
  if (target == Device::CUDA)
    cuda::copy_host_to_device(out.raw_data(), src.raw_data(), nbytes, "to_device(cuda)");
  else
    cuda::copy_device_to_host(out.raw_data(), src.raw_data(), nbytes, "to_device(cpu)");
  if (is_floating(x.dtype())) {
    const Device from = x.device();
    record(out, "to_device", {x}, [from](const Tensor& g) { return std::vector<Tensor>{to_device(g, from)}; });
  }
  return out;
#endif
}

Tensor full_on(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = Tensor::empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

}  // namespace moe
