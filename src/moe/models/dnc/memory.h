// models/dnc/memory.h: the external memory of the Differentiable Neural Computer
// (Graves et al. 2016, "Hybrid computing using a neural network with dynamic external
// memory", Nature 538; equations from its Methods section), as differentiable
// functions over batched tensors. No parameters live here: the controller (dnc.h)
// emits the interface vector, these functions turn it into weightings and reads.
//
// Shapes: B batch, N memory slots, W word size, H keys (heads), R read heads.
//   memory M (B, N, W); usage u (B, N); link L (B, N, N); precedence p (B, N);
//   write weighting w^w (B, N); read weightings w^r (B, R, N).
#pragma once
#include "moe/core/tensor.h"

namespace moe::models::dnc {

// The memory's recurrent state between time steps.
struct MemoryState {
  Tensor memory;          // M (B, N, W)
  Tensor usage;           // u (B, N)
  Tensor link;            // L (B, N, N), L[i, j]: how much slot i was written right after slot j
  Tensor precedence;      // p (B, N)
  Tensor write_weights;   // w^w (B, N) of the previous step
  Tensor read_weights;    // w^r (B, R, N) of the previous step
};

// All zeros: an empty memory, nothing used, no links, no previous reads or writes.
MemoryState initial_memory_state(int64_t batch, int64_t slots, int64_t word_size, int64_t read_heads, DType dtype);

// Content-based addressing, C(M, k, beta)[i] = softmax_i(beta D(k, M[i])) with the
// cosine similarity D(u, v) = u.v / (|u| |v|) (Methods, "Content-based addressing").
// The norms are sqrt(sum x^2 + eps) (eps = 1e-6), so an all-zero row or key gives
// similarity 0 instead of 0/0. memory (B, N, W), keys (B, H, W), strengths (B, H)
// (already >= 1) -> (B, H, N).
Tensor content_weights(const Tensor& memory, const Tensor& keys, const Tensor& strengths);

// The retention vector psi = prod_i (1 - f^i w^r_i) and the usage update
//   u_t = (u_{t-1} + w^w_{t-1} - u_{t-1} o w^w_{t-1}) o psi_t
// (Methods, "Dynamic memory allocation"). usage, prev_write_weights (B, N);
// prev_read_weights (B, R, N); free_gates (B, R) in [0, 1] -> (B, N).
Tensor update_usage(const Tensor& usage, const Tensor& prev_write_weights, const Tensor& prev_read_weights,
                    const Tensor& free_gates);

// The allocation weighting: with phi the slots sorted by ascending usage,
//   a[phi_j] = (1 - u[phi_j]) prod_{i < j} u[phi_i]
// so the least used slot gets most of the weight. The sort is a fixed permutation for
// the gradient (as in the paper); ties keep the lower slot first. usage (B, N) -> (B, N).
// Example: u = [0.5, 0.2, 0.9] -> a = [0.1, 0.8, 0.01].
Tensor allocation_weights(const Tensor& usage);

// The write weighting w^w = g^w (g^a a + (1 - g^a) c^w) ("Write weighting").
// allocation, write_content (B, N); allocation_gate, write_gate (B, 1) -> (B, N).
Tensor write_weights(const Tensor& allocation, const Tensor& write_content, const Tensor& allocation_gate,
                     const Tensor& write_gate);

// M_t = M_{t-1} o (1 - w^w e^T) + w^w v^T. memory (B, N, W); write_weights (B, N);
// erase (B, W) in [0, 1]; write_vector (B, W) -> (B, N, W).
Tensor write_memory(const Tensor& memory, const Tensor& write_weights, const Tensor& erase,
                    const Tensor& write_vector);

struct LinkUpdate {
  Tensor link;        // L_t (B, N, N)
  Tensor precedence;  // p_t (B, N)
};
// The temporal link matrix and precedence ("Temporal memory linkage"):
//   L_t[i, j] = (1 - w^w[i] - w^w[j]) L_{t-1}[i, j] + w^w[i] p_{t-1}[j],  L_t[i, i] = 0
//   p_t = (1 - sum_i w^w[i]) p_{t-1} + w^w
// link (B, N, N); precedence, write_weights (B, N).
LinkUpdate update_link(const Tensor& link, const Tensor& precedence, const Tensor& write_weights);

struct DirectionalWeights {
  Tensor forward;   // f = L w^r per head, (B, R, N)
  Tensor backward;  // b = L^T w^r per head, (B, R, N)
};
// Forward and backward weightings of the previous read weightings through L_t.
DirectionalWeights directional_weights(const Tensor& link, const Tensor& prev_read_weights);

// w^r = pi[0] b + pi[1] c^r + pi[2] f per head (the read modes pi (B, R, 3) sum to 1:
// backward, content, forward, in the paper's order). All weightings (B, R, N).
Tensor read_weights(const Tensor& backward, const Tensor& content, const Tensor& forward, const Tensor& read_modes);

// r^i = M^T w^r_i: memory (B, N, W), read_weights (B, R, N) -> (B, R, W).
Tensor read_memory(const Tensor& memory, const Tensor& read_weights);

}  // namespace moe::models::dnc
