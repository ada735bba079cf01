// autograd.h: reverse-mode automatic differentiation over a tape.
//
// Every op that sees an input requiring grad records a Node holding exactly what its
// backward needs. Nodes get increasing sequence numbers as they are recorded, so the
// recording order is a topological order: backward() gathers the nodes reachable from
// the root (an explicit stack, no recursion) and walks them once in decreasing
// sequence order, the tape in reverse.
//
// A backward function must not capture the op's own output tensor (that would be a
// reference cycle: output -> node -> output); capture `out.detach()` instead.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "moe/core/tensor.h"

namespace moe {

// Where a gradient flows: into another node, or into a leaf's .grad.
struct Edge {
  std::shared_ptr<Node> fn;
  std::shared_ptr<TensorImpl> leaf;
  Shape shape;
  DType dtype = DType::f32;
  bool active() const { return fn || leaf; }
};

// Given the gradient of the output, returns one gradient per input (an undefined
// Tensor where an input needs none).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_out)>;

struct Node {
  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Releases the nodes it alone keeps alive iteratively, not recursively: a tape of
  // 100,000 chained ops must not overflow the stack when it is freed.
  ~Node();

  const char* name = "";
  uint64_t seq = 0;
  std::vector<Edge> edges;  // one per input
  BackwardFn backward;
  Tensor grad_accum;        // gradient of this node's output, summed over its uses
};

bool grad_enabled();

// Turns recording off for its lifetime (evaluation, inference, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// True when grad mode is on and one of the inputs requires grad.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Records `out` as the result of op `name` applied to `inputs`, if needs_grad(inputs).
void record(Tensor& out, const char* name, const std::vector<Tensor>& inputs, BackwardFn fn);

// Backward from `root` seeded with `grad` (root's shape). Gradients accumulate into
// the .grad of every leaf that requires grad.
void run_backward(const Tensor& root, const Tensor& grad);

// The union of two gradients' row lists (TensorImpl::nonzero_rows): null, meaning dense,
// unless both are given. For code that sums two gradients.
std::shared_ptr<const std::vector<int64_t>> merge_nonzero_rows(const std::shared_ptr<const std::vector<int64_t>>& a,
                                                               const std::shared_ptr<const std::vector<int64_t>>& b);

// Number of nodes recorded since start (for tests and the per-op overhead benchmark).
uint64_t nodes_recorded();

}  // namespace moe
