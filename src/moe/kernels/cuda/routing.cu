// kernels/cuda/routing.cu: MoE routing plans built on the device, the same plans as
// moe/moe/dispatch.cpp builds on the host: the (token, slot) assignments sorted by expert
// with a stable radix sort (CUB; stable, so each expert's assignments stay in token
// order, and no order-dependent atomics), each expert's segment found by a binary search,
// capacity dropping and expert choice by a second stable sort on (expert, score
// descending), and the per-token index (CSR) by a third. Everything is deterministic.
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>

#include "moe/kernels/cuda/common.cuh"

namespace moe::kernels::cuda {

namespace {
using namespace detail;

int bits_for(int64_t n) {  // bits to hold values in [0, n)
  int b = 1;
  while ((int64_t(1) << b) < n) ++b;
  return b;
}

// Stable sort of (key, value) pairs by the low end_bit bits of the keys.
void radix_sort_pairs(const uint64_t* keys_in, uint64_t* keys_out, const int64_t* vals_in, int64_t* vals_out,
                      int64_t n, int end_bit, const char* op) {
  if (n == 0) return;
  size_t temp_bytes = 0;
  MOE_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, keys_in, keys_out, vals_in, vals_out, n, 0,
                                                 end_bit, stream()),
                 op);
  DeviceBuffer temp(temp_bytes);
  MOE_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp.as<void>(), temp_bytes, keys_in, keys_out, vals_in, vals_out,
                                                 n, 0, end_bit, stream()),
                 op);
}

// Float bits mapped so that unsigned order is descending score order.
__device__ inline uint64_t descending_bits(float f) {
  uint32_t u = __float_as_uint(f);
  u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);  // ascending order as unsigned
  return static_cast<uint64_t>(~u);
}

__global__ void expert_keys_kernel(const int64_t* experts, const float* scores, uint64_t* keys, int64_t* vals,
                                   int64_t A, bool with_score) {
  MOE_GRID_STRIDE(a, A) {
    const uint64_t e = static_cast<uint64_t>(experts[a]);
    keys[a] = with_score ? (e << 32) | descending_bits(scores[a]) : e;
    vals[a] = a;
  }
}

// offsets[b] = first i with (keys[i] >> shift) >= b, for b in [0, bins].
__global__ void segment_offsets_kernel(const uint64_t* keys, int64_t n, int shift, int64_t* offsets, int64_t bins) {
  MOE_GRID_STRIDE(b, bins + 1) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
      const int64_t mid = (lo + hi) / 2;
      if (static_cast<int64_t>(keys[mid] >> shift) < b) lo = mid + 1;
      else hi = mid;
    }
    offsets[b] = lo;
  }
}

// kept[a] = 1 when assignment a ranks below `capacity` within its expert (by score).
__global__ void capacity_keep_kernel(const uint64_t* keys, const int64_t* vals, const int64_t* seg, int64_t A,
                                     int64_t capacity, int* kept) {
  MOE_GRID_STRIDE(p, A) {
    const int64_t e = static_cast<int64_t>(keys[p] >> 32);
    kept[vals[p]] = p - seg[e] < capacity ? 1 : 0;
  }
}

__global__ void dropped_per_slot_kernel(const int* kept, int64_t N, int64_t k, int64_t* dropped) {
  MOE_GRID_STRIDE(s, k) {
    int64_t count = 0;
    for (int64_t t = 0; t < N; ++t) count += kept[t * k + s] ? 0 : 1;
    dropped[s] = count;
  }
}

// flags[p] = kept[order[p]] (1 everywhere when kept is null).
__global__ void kept_flags_kernel(const int64_t* order, const int* kept, int64_t A, int64_t* flags) {
  MOE_GRID_STRIDE(p, A) flags[p] = kept ? kept[order[p]] : 1;
}

// The kept assignments, in expert-then-token order, become the plan's positions.
__global__ void write_positions_kernel(const int64_t* order, const int64_t* flags, const int64_t* dest,
                                       const int64_t* experts, int64_t A0, int64_t k, int64_t* pos_token,
                                       int64_t* pos_gate, uint64_t* pos_expert, uint64_t* token_keys,
                                       int64_t* position_ids) {
  MOE_GRID_STRIDE(p, A0) {
    if (!flags[p]) continue;
    const int64_t a = order[p], q = dest[p];
    pos_token[q] = a / k;
    pos_gate[q] = a;
    pos_expert[q] = static_cast<uint64_t>(experts[a]);
    token_keys[q] = static_cast<uint64_t>(a / k);
    position_ids[q] = q;
  }
}

// Expert choice: item i = e * N + t keyed (e, score descending); value t.
__global__ void expert_choice_keys_kernel(const float* scores, int64_t N, int64_t E, uint64_t* keys, int64_t* vals) {
  MOE_GRID_STRIDE(i, N * E) {
    const int64_t e = i / N, t = i % N;
    keys[i] = (static_cast<uint64_t>(e) << 32) | descending_bits(scores[t * E + e]);
    vals[i] = t;
  }
}

// The first C of each expert's segment, keyed (e, t) to put them back in token order.
__global__ void expert_choice_select_kernel(const int64_t* sorted_tokens, int64_t N, int64_t E, int64_t C,
                                            uint64_t* keys, int64_t* vals) {
  MOE_GRID_STRIDE(i, E * C) {
    const int64_t e = i / C, r = i % C;
    keys[i] = (static_cast<uint64_t>(e) << 32) | static_cast<uint64_t>(sorted_tokens[e * N + r]);
    vals[i] = i;
  }
}

__global__ void expert_choice_positions_kernel(const uint64_t* keys, int64_t A, int64_t E, int64_t C,
                                               int64_t* expert_offsets, int64_t* pos_token, int64_t* pos_gate,
                                               uint64_t* token_keys, int64_t* position_ids) {
  MOE_GRID_STRIDE(p, A) {
    const int64_t e = static_cast<int64_t>(keys[p] >> 32), t = static_cast<int64_t>(keys[p] & 0xffffffffu);
    pos_token[p] = t;
    pos_gate[p] = t * E + e;
    token_keys[p] = static_cast<uint64_t>(t);
    position_ids[p] = p;
  }
  MOE_GRID_STRIDE(e, E + 1) expert_offsets[e] = e * C;
}

// token_positions / token_offsets: positions sorted (stably) by token.
void build_token_index(const uint64_t* token_keys, const int64_t* position_ids, int64_t A, int64_t N,
                       int64_t* token_offsets, int64_t* token_positions) {
  DeviceBuffer sorted_keys(sizeof(uint64_t) * (A + 1));
  radix_sort_pairs(token_keys, sorted_keys.as<uint64_t>(), position_ids, token_positions, A, bits_for(N + 1),
                   "plan: token index sort");
  segment_offsets_kernel<<<grid_for(N + 1), kThreads, 0, stream()>>>(sorted_keys.as<uint64_t>(), A, 0, token_offsets,
                                                                     N);
  MOE_CUDA_LAUNCHED("plan: token offsets");
}

}  // namespace

int64_t plan_token_choice(const int64_t* experts, const float* scores, int64_t N, int64_t k, int64_t E,
                          int64_t capacity, int64_t* expert_offsets, int64_t* pos_token, int64_t* pos_gate,
                          int64_t* token_offsets, int64_t* token_positions, int64_t* dropped_per_slot) {
  const int64_t A0 = N * k;
  const bool capped = capacity >= 0;
  if (A0 == 0) {
    ::moe::cuda::memset_device(expert_offsets, 0, sizeof(int64_t) * (E + 1), "plan_token_choice");
    ::moe::cuda::memset_device(token_offsets, 0, sizeof(int64_t) * (N + 1), "plan_token_choice");
    if (k > 0) ::moe::cuda::memset_device(dropped_per_slot, 0, sizeof(int64_t) * k, "plan_token_choice");
    return 0;
  }
  DeviceBuffer keys(sizeof(uint64_t) * A0), sorted_keys(sizeof(uint64_t) * A0);
  DeviceBuffer ids(sizeof(int64_t) * A0), order(sizeof(int64_t) * A0);
  DeviceBuffer kept(capped ? sizeof(int) * A0 : 0);
  // 1. By expert alone: the token-ordered segments (stable sort of ids 0..A0-1).
  expert_keys_kernel<<<grid_for(A0), kThreads, 0, stream()>>>(experts, scores, keys.as<uint64_t>(), ids.as<int64_t>(),
                                                               A0, false);
  MOE_CUDA_LAUNCHED("plan_token_choice: keys");
  radix_sort_pairs(keys.as<uint64_t>(), sorted_keys.as<uint64_t>(), ids.as<int64_t>(), order.as<int64_t>(), A0,
                   bits_for(E), "plan_token_choice: sort by expert");
  // 2. Capacity: rank by (expert, score descending, assignment) and keep the first `capacity`.
  if (capped) {
    DeviceBuffer score_keys(sizeof(uint64_t) * A0), score_sorted(sizeof(uint64_t) * A0);
    DeviceBuffer score_order(sizeof(int64_t) * A0), seg(sizeof(int64_t) * (E + 1));
    expert_keys_kernel<<<grid_for(A0), kThreads, 0, stream()>>>(experts, scores, score_keys.as<uint64_t>(),
                                                                 ids.as<int64_t>(), A0, true);
    MOE_CUDA_LAUNCHED("plan_token_choice: score keys");
    radix_sort_pairs(score_keys.as<uint64_t>(), score_sorted.as<uint64_t>(), ids.as<int64_t>(),
                     score_order.as<int64_t>(), A0, 32 + bits_for(E), "plan_token_choice: sort by score");
    segment_offsets_kernel<<<grid_for(E + 1), kThreads, 0, stream()>>>(score_sorted.as<uint64_t>(), A0, 32,
                                                                       seg.as<int64_t>(), E);
    MOE_CUDA_LAUNCHED("plan_token_choice: segments");
    capacity_keep_kernel<<<grid_for(A0), kThreads, 0, stream()>>>(score_sorted.as<uint64_t>(),
                                                                   score_order.as<int64_t>(), seg.as<int64_t>(), A0,
                                                                   capacity, kept.as<int>());
    MOE_CUDA_LAUNCHED("plan_token_choice: capacity");
    dropped_per_slot_kernel<<<grid_for(k), kThreads, 0, stream()>>>(kept.as<int>(), N, k, dropped_per_slot);
    MOE_CUDA_LAUNCHED("plan_token_choice: dropped");
  } else if (k > 0) {
    ::moe::cuda::memset_device(dropped_per_slot, 0, sizeof(int64_t) * k, "plan_token_choice");
  }
  // 3. Compact the kept assignments (exclusive scan of the keep flags) into positions.
  DeviceBuffer flags(sizeof(int64_t) * (A0 + 1)), dest(sizeof(int64_t) * (A0 + 1));
  kept_flags_kernel<<<grid_for(A0), kThreads, 0, stream()>>>(order.as<int64_t>(), capped ? kept.as<int>() : nullptr,
                                                              A0, flags.as<int64_t>());
  MOE_CUDA_LAUNCHED("plan_token_choice: flags");
  ::moe::cuda::memset_device(flags.as<int64_t>() + A0, 0, sizeof(int64_t), "plan_token_choice");
  size_t temp_bytes = 0;
  MOE_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, temp_bytes, flags.as<int64_t>(), dest.as<int64_t>(), A0 + 1,
                                               stream()),
                 "plan_token_choice: scan");
  {
    DeviceBuffer temp(temp_bytes);
    MOE_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(temp.as<void>(), temp_bytes, flags.as<int64_t>(), dest.as<int64_t>(),
                                                 A0 + 1, stream()),
                   "plan_token_choice: scan");
  }
  int64_t A = 0;
  ::moe::cuda::copy_device_to_host(&A, dest.as<int64_t>() + A0, sizeof(int64_t), "plan_token_choice: count");
  DeviceBuffer pos_expert(sizeof(uint64_t) * (A + 1)), token_keys(sizeof(uint64_t) * (A + 1));
  DeviceBuffer position_ids(sizeof(int64_t) * (A + 1));
  write_positions_kernel<<<grid_for(A0), kThreads, 0, stream()>>>(
      order.as<int64_t>(), flags.as<int64_t>(), dest.as<int64_t>(), experts, A0, k, pos_token, pos_gate,
      pos_expert.as<uint64_t>(), token_keys.as<uint64_t>(), position_ids.as<int64_t>());
  MOE_CUDA_LAUNCHED("plan_token_choice: positions");
  segment_offsets_kernel<<<grid_for(E + 1), kThreads, 0, stream()>>>(pos_expert.as<uint64_t>(), A, 0, expert_offsets,
                                                                     E);
  MOE_CUDA_LAUNCHED("plan_token_choice: expert offsets");
  build_token_index(token_keys.as<uint64_t>(), position_ids.as<int64_t>(), A, N, token_offsets, token_positions);
  return A;
}

void plan_expert_choice(const float* scores, int64_t N, int64_t E, int64_t capacity, int64_t* expert_offsets,
                        int64_t* pos_token, int64_t* pos_gate, int64_t* token_offsets, int64_t* token_positions) {
  const int64_t C = std::min(capacity, N), items = N * E, A = E * C;
  if (A == 0) {
    ::moe::cuda::memset_device(expert_offsets, 0, sizeof(int64_t) * (E + 1), "plan_expert_choice");
    ::moe::cuda::memset_device(token_offsets, 0, sizeof(int64_t) * (N + 1), "plan_expert_choice");
    return;
  }
  DeviceBuffer keys(sizeof(uint64_t) * items), sorted_keys(sizeof(uint64_t) * items);
  DeviceBuffer tokens(sizeof(int64_t) * items), sorted_tokens(sizeof(int64_t) * items);
  expert_choice_keys_kernel<<<grid_for(items), kThreads, 0, stream()>>>(scores, N, E, keys.as<uint64_t>(),
                                                                         tokens.as<int64_t>());
  MOE_CUDA_LAUNCHED("plan_expert_choice: keys");
  radix_sort_pairs(keys.as<uint64_t>(), sorted_keys.as<uint64_t>(), tokens.as<int64_t>(), sorted_tokens.as<int64_t>(),
                   items, 32 + bits_for(E), "plan_expert_choice: sort by score");
  DeviceBuffer sel_keys(sizeof(uint64_t) * A), sel_sorted(sizeof(uint64_t) * A);
  DeviceBuffer sel_ids(sizeof(int64_t) * A), sel_order(sizeof(int64_t) * A);
  expert_choice_select_kernel<<<grid_for(A), kThreads, 0, stream()>>>(sorted_tokens.as<int64_t>(), N, E, C,
                                                                       sel_keys.as<uint64_t>(), sel_ids.as<int64_t>());
  MOE_CUDA_LAUNCHED("plan_expert_choice: select");
  radix_sort_pairs(sel_keys.as<uint64_t>(), sel_sorted.as<uint64_t>(), sel_ids.as<int64_t>(), sel_order.as<int64_t>(),
                   A, 32 + bits_for(E), "plan_expert_choice: sort by token");
  DeviceBuffer token_keys(sizeof(uint64_t) * A), position_ids(sizeof(int64_t) * A);
  expert_choice_positions_kernel<<<grid_for(std::max(A, E + 1)), kThreads, 0, stream()>>>(
      sel_sorted.as<uint64_t>(), A, E, C, expert_offsets, pos_token, pos_gate, token_keys.as<uint64_t>(),
      position_ids.as<int64_t>());
  MOE_CUDA_LAUNCHED("plan_expert_choice: positions");
  build_token_index(token_keys.as<uint64_t>(), position_ids.as<int64_t>(), A, N, token_offsets, token_positions);
}

}  // namespace moe::kernels::cuda
