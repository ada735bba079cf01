#!/usr/bin/env python3
"""bench/cuda/torch_moe_layer.py: PyTorch's MoE layer as most code writes it (a loop over
experts: select each expert's tokens, two bf16 Linear maps with GELU, index_add the
weighted outputs back), forward + backward at the shape cuda_bench measures, timed with
CUDA events (median of 10 after 2 warm-up runs). Runs only where torch with CUDA is
importable; bench/cuda/run_all.sh calls it.

Usage: torch_moe_layer.py [tokens d d_ff experts top_k]   (defaults: 16384 4096 14336 8 2)
"""
import sys

import torch


def main():
    args = [int(a) for a in sys.argv[1:6]]
    n, d, d_ff, experts, top_k = args + [16384, 4096, 14336, 8, 2][len(args):]
    dev = torch.device("cuda")
    torch.manual_seed(0)
    x = torch.empty(n, d, device=dev).uniform_(-1, 1).requires_grad_(True)
    router = torch.empty(experts, d, device=dev).uniform_(-0.05, 0.05).requires_grad_(True)
    w1 = [torch.empty(d_ff, d, device=dev, dtype=torch.bfloat16).uniform_(-0.02, 0.02).requires_grad_(True)
          for _ in range(experts)]
    w2 = [torch.empty(d, d_ff, device=dev, dtype=torch.bfloat16).uniform_(-0.02, 0.02).requires_grad_(True)
          for _ in range(experts)]
    gout = torch.empty(n, d, device=dev).uniform_(-1, 1)

    def layer():
        probs = torch.softmax(x @ router.t(), dim=-1)
        gates, chosen = torch.topk(probs, top_k, dim=-1)
        out = torch.zeros_like(x)
        for e in range(experts):
            token, slot = torch.where(chosen == e)
            if token.numel() == 0:
                continue
            h = torch.nn.functional.gelu(x[token].to(torch.bfloat16) @ w1[e].t())
            y = (h @ w2[e].t()).float() * gates[token, slot, None]
            out = out.index_add(0, token, y)
        out.backward(gout)

    def time_ms(f, warmup=2, reps=10):
        for _ in range(warmup):
            f()
        times = []
        for _ in range(reps):
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            f()
            stop.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(stop))
        return sorted(times)[len(times) // 2]

    ms = time_ms(layer)
    gemm_flops = 6 * 2.0 * n * top_k * d * d_ff  # 2 GEMMs forward, 4 backward, over all assignments
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}: moe layer N={n} d={d} d_ff={d_ff} "
          f"E={experts} top-{top_k}, loop over experts, bf16 experts")
    print(f"  total fwd+bwd {ms:8.3f} ms  {gemm_flops / ms / 1e9:6.1f} TFLOP/s on the expert GEMMs' flops")


if __name__ == "__main__":
    main()
