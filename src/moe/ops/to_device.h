// ops/to_device.h: explicit copies between host and device memory (no hidden copies:
// this is the one way data crosses) and constant tensors made on a given device.
// Free functions rather than Tensor members for now, so that core/tensor.h stays as it
// is; Tensor::to(Device) is the natural home once the CUDA backend settles.
#pragma once
#include "moe/core/tensor.h"

namespace moe {

// A contiguous copy of x on `device` (x itself when already there). Differentiable: the
// gradient is copied back. Throws "CUDA backend not built" in a build without MOE_CUDA
// and "no CUDA device" where none is visible.
Tensor to_device(const Tensor& x, Device device);

// Tensor::full / zeros on any device (Tensor's own factories make host tensors).
Tensor full_on(const Shape& shape, double value, DType dtype, Device device);
inline Tensor zeros_on(const Shape& shape, DType dtype, Device device) { return full_on(shape, 0.0, dtype, device); }

}  // namespace moe
