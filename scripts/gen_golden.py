#!/usr/bin/python3
"""gen_golden.py: makes the golden end-to-end fixtures in tests/fixtures/ with PyTorch.

Run by hand with Debian's python3-torch (apt-get install python3-torch; /usr/bin/python3),
never in CI: CI only reads the committed JSON. Everything is float64 so the C++ float64
path can be compared to ~1e-10 and the float32 path to ~1e-4.

Each fixture holds the parameters (PyTorch names and layouts: Linear weight [out, in]),
the batch, the logits, the loss, every parameter's gradient at step 0, and the loss
before each of 5 AdamW steps.
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
ADAMW = dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)


def tensor_json(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 8)
        self.fc2 = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        B, T, C = x.shape
        H, D = self.heads, C // self.heads
        qkv = self.qkv(x).view(B, T, 3, H, D).permute(2, 0, 3, 1, 4)  # (3, B, H, T, D)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = (q @ k.transpose(-1, -2)) / math.sqrt(D)
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        return self.proj(y)


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = Attention(d, heads)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential()
        self.mlp.fc1 = nn.Linear(d, 4 * d)
        self.mlp.act = nn.GELU()
        self.mlp.fc2 = nn.Linear(4 * d, d)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TinyLM(nn.Module):
    def __init__(self, vocab=11, d=8, heads=2, context=5):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, d)
        self.pos_emb = nn.Embedding(context, d)
        self.blocks = nn.ModuleList([Block(d, heads)])
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(T))
        for b in self.blocks:
            x = b(x)
        return self.head(self.ln_f(x))


def perturb_norms(model):
    # LayerNorm starts at weight 1, bias 0: move them so their gradients are tested.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".ln" in name or name.startswith("ln"):
                p.add_(0.1 * torch.randn_like(p))


def run(model, inputs, targets, name, extra):
    params = dict(model.named_parameters())
    start = {k: tensor_json(v) for k, v in params.items()}
    logits = model(inputs)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    loss.backward()
    grads = {k: tensor_json(v.grad) for k, v in params.items()}
    opt = torch.optim.AdamW(model.parameters(), **ADAMW)
    losses = []
    model.zero_grad()
    for _ in range(5):
        opt.zero_grad()
        l = F.cross_entropy(model(inputs).reshape(-1, logits.shape[-1]), targets.reshape(-1))
        losses.append(float(l))
        l.backward()
        opt.step()
    fixture = {
        "torch_version": torch.__version__,
        "adamw": {"lr": ADAMW["lr"], "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01},
        "params": start,
        "inputs": tensor_json(inputs),
        "targets": tensor_json(targets),
        "logits": tensor_json(logits),
        "loss": float(loss),
        "grads": grads,
        "adamw_losses": losses,
        **extra,
    }
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(fixture, f)
    print(f"wrote {path}: loss {float(loss):.6f}, AdamW losses {[round(v, 6) for v in losses]}")


def main():
    torch.manual_seed(0)
    mlp = MLP()
    x = torch.randn(5, 6)
    y = torch.tensor([0, 3, 1, 2, 3])
    run(mlp, x, y, "golden_mlp.json", {"model": {"in": 6, "hidden": 8, "out": 4, "activation": "relu"}})

    torch.manual_seed(1)
    lm = TinyLM()
    perturb_norms(lm)
    idx = torch.randint(0, 11, (2, 5))
    tgt = torch.randint(0, 11, (2, 5))
    run(lm, idx, tgt, "golden_block.json",
        {"model": {"vocab": 11, "d_model": 8, "heads": 2, "context": 5, "layers": 1, "mlp_ratio": 4,
                   "activation": "gelu", "layernorm_eps": 1e-5}})


if __name__ == "__main__":
    main()
