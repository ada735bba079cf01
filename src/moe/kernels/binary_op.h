// kernels/binary_op.h: the scalar meaning of each Binary op, one definition shared by the
// ref:: loops and the CUDA kernels (compiled as host code by g++ and as device code by
// nvcc), so the two backends cannot drift apart (e.g. on NaN in maximum).
#pragma once
#include "moe/kernels/kernels.h"

#ifdef __CUDACC__
#define MOE_HOST_DEVICE __host__ __device__
#else
#define MOE_HOST_DEVICE
#endif

namespace moe::kernels {

template <class T>
MOE_HOST_DEVICE inline T apply_binary(Binary op, T a, T b) {
  switch (op) {
    case Binary::add: return a + b;
    case Binary::sub: return a - b;
    case Binary::mul: return a * b;
    case Binary::div: return a / b;
    case Binary::maximum: return a >= b ? a : b;
    case Binary::minimum: return a <= b ? a : b;
    case Binary::eq: return T(a == b);
    case Binary::ne: return T(a != b);
    case Binary::lt: return T(a < b);
    case Binary::le: return T(a <= b);
    case Binary::gt: return T(a > b);
    case Binary::ge: return T(a >= b);
  }
  return a;
}

}  // namespace moe::kernels
