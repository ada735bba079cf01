// bench/cuda/cuda_bench.cpp: the CUDA numbers bench/cuda/run_all.sh reports: the two
// ceilings (device-to-device copy GB/s counting bytes read + written; bf16 and fp32 GEMM
// TFLOP/s through cuBLAS) and the MoE layer forward + backward at a Mixtral-like shape
// (16384 tokens, d 4096, d_ff 14336, 8 experts, top-2): routing, top-k and the plan on the
// device, dispatch, the two expert GEMMs as bf16 grouped GEMMs with fp32 accumulation,
// the activation, the weighted combine, and the backward of the expert path (dX and both
// weight gradients; the router's backward is not included). Times are CUDA-event medians
// after warm-up. A benchmark, not a test: it prints numbers and never fails for speed.
//
// Usage: cuda_bench [tokens d d_ff experts top_k]   (defaults: 16384 4096 14336 8 2)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "moe/core/cuda/check.h"
#include "moe/core/tensor.h"
#include "moe/kernels/kernels.h"

namespace {

namespace kc = moe::kernels::cuda;

// Device memory held for the whole run.
struct Buffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  explicit Buffer(size_t n) : ptr(moe::cuda::device_alloc(n)), bytes(n) {}
  ~Buffer() { moe::cuda::device_free(ptr, bytes); }
  template <class T> T* as() const { return static_cast<T*>(ptr); }
};

// Median milliseconds of `reps` runs of f, timed with events on the process stream.
double time_ms(const std::function<void()>& f, int warmup = 2, int reps = 10) {
  for (int i = 0; i < warmup; ++i) f();
  cudaEvent_t start, stop;
  MOE_CUDA_CHECK(cudaEventCreate(&start), "bench: event");
  MOE_CUDA_CHECK(cudaEventCreate(&stop), "bench: event");
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    MOE_CUDA_CHECK(cudaEventRecord(start, moe::cuda::stream()), "bench: record");
    f();
    MOE_CUDA_CHECK(cudaEventRecord(stop, moe::cuda::stream()), "bench: record");
    MOE_CUDA_CHECK(cudaEventSynchronize(stop), "bench: sync");
    float t = 0;
    MOE_CUDA_CHECK(cudaEventElapsedTime(&t, start, stop), "bench: elapsed");
    ms.push_back(t);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// Uniform random fp32 on the host, copied to the device (never zeros: they time faster).
void fill_random(float* dev, int64_t n, uint64_t seed, float scale) {
  moe::Rng rng(seed);
  moe::Tensor h = moe::Tensor::rand({n}, rng, -scale, scale);
  moe::cuda::copy_host_to_device(dev, h.data<float>(), sizeof(float) * n, "bench: fill");
}

void fill_random_bf16(uint16_t* dev, int64_t n, uint64_t seed, float scale) {
  Buffer tmp(sizeof(float) * n);
  fill_random(tmp.as<float>(), n, seed, scale);
  kc::f32_to_bf16(tmp.as<float>(), dev, n);
  moe::cuda::synchronize("bench: fill");
}

void ceilings() {
  const size_t bytes = size_t(2) << 30;
  Buffer a(bytes), b(bytes);
  moe::cuda::memset_device(a.ptr, 1, bytes, "bench: memset");
  const double copy_ms = time_ms([&] { moe::cuda::copy_device_to_device(b.ptr, a.ptr, bytes, "bench: copy"); });
  std::printf("ceiling  d2d copy %.1f GiB        %8.3f ms  %8.1f GB/s (read + write)\n", bytes / 1073741824.0, copy_ms,
              2.0 * bytes / copy_ms / 1e6);
  const int64_t n = 8192;
  Buffer A(2 * n * n), B(2 * n * n), C(4 * n * n), Af(4 * n * n), Bf(4 * n * n);
  fill_random_bf16(A.as<uint16_t>(), n * n, 1, 1.f);
  fill_random_bf16(B.as<uint16_t>(), n * n, 2, 1.f);
  const double flops = 2.0 * n * n * n;
  const double bf16_ms = time_ms([&] {
    kc::gemm_bf16_out_bf16(false, false, n, n, n, 1.f, A.as<uint16_t>(), n, B.as<uint16_t>(), n, 0.f,
                           C.as<uint16_t>(), n);
  });
  std::printf("ceiling  gemm bf16 %ld^3          %8.3f ms  %8.1f TFLOP/s (fp32 accumulate)\n", long(n), bf16_ms,
              flops / bf16_ms / 1e9);
  fill_random(Af.as<float>(), n * n, 3, 1.f);
  fill_random(Bf.as<float>(), n * n, 4, 1.f);
  const double f32_ms = time_ms([&] {
    kc::gemm(false, false, n, n, n, 1.f, Af.as<float>(), n, Bf.as<float>(), n, 0.f, C.as<float>(), n);
  });
  std::printf("ceiling  gemm fp32 %ld^3          %8.3f ms  %8.1f TFLOP/s (no TF32)\n", long(n), f32_ms,
              flops / f32_ms / 1e9);
}

void moe_layer(int64_t N, int64_t D, int64_t F, int64_t E, int64_t K) {
  const int64_t A_max = N * K;
  Buffer x(4 * N * D), wr(4 * E * D), logits(4 * N * E), probs(4 * N * E), top_v(4 * A_max), top_i(8 * A_max);
  Buffer eoff(8 * (E + 1)), pos_token(8 * A_max), pos_gate(8 * A_max), toff(8 * (N + 1)), tpos(8 * A_max), drop(8 * K);
  Buffer gates(4 * A_max), xs(4 * A_max * D), xs16(2 * A_max * D), h16(2 * A_max * F), h32(4 * A_max * F);
  Buffer act16(2 * A_max * F), ys16(2 * A_max * D), ys32(4 * A_max * D), out(4 * N * D);
  Buffer w1(2 * E * F * D), w2(2 * E * D * F), gout(4 * N * D), dys(4 * A_max * D), dys16(2 * A_max * D);
  Buffer dact16(2 * A_max * F), dact32(4 * A_max * F), dh32(4 * A_max * F), dh16(2 * A_max * F);
  Buffer dxs16(2 * A_max * D), dxs32(4 * A_max * D), dx(4 * N * D), dw1(2 * E * F * D), dw2(2 * E * D * F);
  Buffer dgates(4 * A_max);
  fill_random(x.as<float>(), N * D, 10, 1.f);
  fill_random(wr.as<float>(), E * D, 11, 0.05f);
  fill_random(gout.as<float>(), N * D, 12, 1.f);
  fill_random_bf16(w1.as<uint16_t>(), E * F * D, 13, 0.02f);
  fill_random_bf16(w2.as<uint16_t>(), E * D * F, 14, 0.02f);
  std::vector<int64_t> offsets(E + 1);
  int64_t A = 0;
  auto route = [&] {
    kc::gemm(false, true, N, E, D, 1.f, x.as<float>(), D, wr.as<float>(), D, 0.f, logits.as<float>(), E);
    kc::softmax_rows(logits.as<float>(), probs.as<float>(), N, E);
    kc::topk(probs.as<float>(), top_v.as<float>(), top_i.as<int64_t>(), N, E, K, true);
    A = kc::plan_token_choice(top_i.as<int64_t>(), nullptr, N, K, E, -1, eoff.as<int64_t>(), pos_token.as<int64_t>(),
                              pos_gate.as<int64_t>(), toff.as<int64_t>(), tpos.as<int64_t>(), drop.as<int64_t>());
    moe::cuda::copy_device_to_host(offsets.data(), eoff.ptr, 8 * (E + 1), "bench: offsets");  // grouped GEMM shapes
  };
  auto forward = [&] {
    kc::index_select(top_v.as<float>(), pos_gate.as<int64_t>(), gates.as<float>(), 1, N * K, A, 1);
    kc::gather_rows(x.as<float>(), pos_token.as<int64_t>(), A, D, xs.as<float>());
    kc::f32_to_bf16(xs.as<float>(), xs16.as<uint16_t>(), A * D);
    kc::grouped_gemm_bf16(xs16.as<uint16_t>(), w1.as<uint16_t>(), h16.as<uint16_t>(), offsets.data(), E, F, D, true, 0.f);
    kc::bf16_to_f32(h16.as<uint16_t>(), h32.as<float>(), A * F);
    kc::unary(moe::kernels::Unary::gelu, h32.as<float>(), dact32.as<float>(), A * F, 0.f);
    kc::f32_to_bf16(dact32.as<float>(), act16.as<uint16_t>(), A * F);
    kc::grouped_gemm_bf16(act16.as<uint16_t>(), w2.as<uint16_t>(), ys16.as<uint16_t>(), offsets.data(), E, D, F, true,
                          0.f);
    kc::bf16_to_f32(ys16.as<uint16_t>(), ys32.as<float>(), A * D);
    kc::combine_rows(ys32.as<float>(), gates.as<float>(), toff.as<int64_t>(), tpos.as<int64_t>(), N, D, out.as<float>());
  };
  auto backward = [&] {
    kc::combine_backward(gout.as<float>(), ys32.as<float>(), gates.as<float>(), pos_token.as<int64_t>(), A, D,
                         dys.as<float>(), dgates.as<float>());
    kc::f32_to_bf16(dys.as<float>(), dys16.as<uint16_t>(), A * D);
    kc::grouped_gemm_bf16(dys16.as<uint16_t>(), w2.as<uint16_t>(), dact16.as<uint16_t>(), offsets.data(), E, F, D,
                          false, 0.f);
    kc::grouped_gemm_weight_grad_bf16(act16.as<uint16_t>(), dys16.as<uint16_t>(), dw2.as<uint16_t>(), offsets.data(),
                                      E, D, F, 0.f);
    kc::bf16_to_f32(dact16.as<uint16_t>(), dact32.as<float>(), A * F);
    kc::unary_backward(moe::kernels::Unary::gelu, h32.as<float>(), nullptr, dact32.as<float>(), dh32.as<float>(), A * F,
                       0.f);
    kc::f32_to_bf16(dh32.as<float>(), dh16.as<uint16_t>(), A * F);
    kc::grouped_gemm_bf16(dh16.as<uint16_t>(), w1.as<uint16_t>(), dxs16.as<uint16_t>(), offsets.data(), E, D, F, false,
                          0.f);
    kc::grouped_gemm_weight_grad_bf16(xs16.as<uint16_t>(), dh16.as<uint16_t>(), dw1.as<uint16_t>(), offsets.data(), E,
                                      F, D, 0.f);
    kc::bf16_to_f32(dxs16.as<uint16_t>(), dxs32.as<float>(), A * D);
    kc::combine_rows(dxs32.as<float>(), nullptr, toff.as<int64_t>(), tpos.as<int64_t>(), N, D, dx.as<float>());
  };
  const double route_ms = time_ms(route);
  const double fwd_ms = time_ms(forward);
  const double bwd_ms = time_ms(backward);
  const double gemm_flops = 2.0 * A * D * F;  // one expert GEMM over all assignments
  std::printf("moe layer N=%ld d=%ld d_ff=%ld E=%ld top-%ld (A=%ld assignments, bf16 experts, fp32 routing)\n", long(N),
              long(D), long(F), long(E), long(K), long(A));
  std::printf("  route (router GEMM, softmax, top-k, device plan) %8.3f ms\n", route_ms);
  std::printf("  forward  (dispatch, 2 grouped GEMMs, gelu, combine) %8.3f ms  %6.1f TFLOP/s on the GEMMs' flops\n",
              fwd_ms, 2 * gemm_flops / fwd_ms / 1e9);
  std::printf("  backward (combine bwd, 4 grouped GEMMs, gelu bwd)   %8.3f ms  %6.1f TFLOP/s on the GEMMs' flops\n",
              bwd_ms, 4 * gemm_flops / bwd_ms / 1e9);
  std::printf("  total fwd+bwd (route + forward + backward)          %8.3f ms\n", route_ms + fwd_ms + bwd_ms);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    moe::cuda::require_device("cuda_bench");
    std::printf("device: %s\n", moe::cuda::device_description().c_str());
    int64_t args[5] = {16384, 4096, 14336, 8, 2};
    for (int i = 1; i < argc && i <= 5; ++i) args[i - 1] = std::atoll(argv[i]);
    ceilings();
    moe_layer(args[0], args[1], args[2], args[3], args[4]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
