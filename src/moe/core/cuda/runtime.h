// core/cuda/runtime.h: the CUDA runtime as the rest of moe.cpp sees it: device count,
// the caching device allocator, host<->device copies and synchronisation. A plain C++
// header (no CUDA includes), so core/ and the tests can use it from g++-compiled code.
// Declared in every build; defined only with MOE_CUDA (runtime.cpp, caching_allocator.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace moe::cuda {

// Number of visible CUDA devices; 0 when there is none or no driver (never throws).
int device_count();
// Throws moe::Error naming `what` when no CUDA device can be used.
void require_device(const char* what);
// "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)" or why there is none.
std::string device_description();

// Device memory from the caching allocator: freed blocks go back to per-size-class
// free lists and are reused, so steady-state training calls cudaMalloc never.
void* device_alloc(size_t nbytes);
void device_free(void* ptr, size_t nbytes);
struct AllocatorStats {
  size_t live_bytes = 0;    // handed out and not yet freed (rounded to size classes)
  size_t cached_bytes = 0;  // held in the free lists
  size_t peak_bytes = 0;    // max of live_bytes
  int64_t cuda_mallocs = 0, cache_hits = 0, frees = 0;
};
AllocatorStats allocator_stats();
void empty_cache();  // cudaFree every cached block
// The size class a request is rounded to (exposed for the allocator's tests).
size_t allocation_size_class(size_t nbytes);

// Copies on the process's one stream; the host-side ones return when the copy is done.
void copy_host_to_device(void* dst, const void* src, size_t nbytes, const char* op);
void copy_device_to_host(void* dst, const void* src, size_t nbytes, const char* op);
void copy_device_to_device(void* dst, const void* src, size_t nbytes, const char* op);
void memset_device(void* dst, int value, size_t nbytes, const char* op);
void synchronize(const char* op);

// Throws moe::Error "<op>: <what> (<file>:<line>)"; the check macros in check.h call it.
[[noreturn]] void fail(const char* op, const char* what, const char* file, int line);

}  // namespace moe::cuda
