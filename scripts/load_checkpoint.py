#!/usr/bin/env python3
"""load_checkpoint.py: reads a moe.cpp checkpoint into PyTorch without the
safetensors package (Python standard library + torch only).

A checkpoint directory (src/moe/io/checkpoint.h) holds model.safetensors,
optionally optimizer.safetensors, and config.json / tokenizer.json / state.json.
A .safetensors file is an 8-byte little-endian header length N, N bytes of JSON
header {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
"__metadata__": {...}}, then the raw little-endian data (offsets relative to its
start).

Usage:
  scripts/load_checkpoint.py CHECKPOINT_DIR_OR_SAFETENSORS_FILE
prints each tensor's name, dtype and shape (and the checkpoint's state.json).
As a module:
  from load_checkpoint import load_safetensors, load_checkpoint
  tensors = load_safetensors("runs/x/checkpoint/model.safetensors")
  model.load_state_dict(tensors)   # where the names match
"""
import json
import os
import struct
import sys

import torch

DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
MAX_HEADER = 100 * 1024 * 1024


def load_safetensors(path):
    """Returns {name: torch.Tensor} (in file order) and checks the layout."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: truncated: {len(data)} bytes, need the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        raise ValueError(f"{path}: header length {n} is invalid for a {len(data)}-byte file")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = memoryview(data)[8 + n:]
    header.pop("__metadata__", None)
    entries = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"])
    expected = 0
    tensors = {}
    for name, info in entries:
        dtype = DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor '{name}' has unsupported dtype {info['dtype']}")
        begin, end = info["data_offsets"]
        shape = list(info["shape"])
        numel = 1
        for d in shape:
            numel *= d
        itemsize = torch.empty((), dtype=dtype).element_size()
        if begin != expected or end - begin != numel * itemsize or end > len(body):
            raise ValueError(f"{path}: tensor '{name}' data_offsets [{begin}, {end}] do not match "
                             f"shape {shape} of {info['dtype']} (data section: {len(body)} bytes)")
        expected = end
        raw = bytearray(body[begin:end])  # a writable copy, so the tensor owns its memory
        t = torch.frombuffer(raw, dtype=dtype) if numel > 0 else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(shape)
    if expected != len(body):
        raise ValueError(f"{path}: {len(body) - expected} trailing bytes after the last tensor")
    return {name: tensors[name] for name in header}  # header order


def load_checkpoint(directory):
    """Returns (model tensors, optimizer tensors or None, state.json as a dict)."""
    model = load_safetensors(os.path.join(directory, "model.safetensors"))
    opt_path = os.path.join(directory, "optimizer.safetensors")
    optimizer = load_safetensors(opt_path) if os.path.exists(opt_path) else None
    with open(os.path.join(directory, "state.json"), encoding="utf-8") as f:
        state = json.load(f)
    return model, optimizer, state


def describe(tensors):
    for name, t in tensors.items():
        print(f"  {name}: {str(t.dtype).replace('torch.', '')}{list(t.shape)}")


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    target = argv[1]
    if os.path.isdir(target):
        model, optimizer, state = load_checkpoint(target)
        print(f"{target}: step {state['step']}, rng {state['rng']}")
        print(f"model.safetensors: {len(model)} tensors, {sum(t.numel() for t in model.values())} elements")
        describe(model)
        if optimizer is not None:
            print(f"optimizer.safetensors: {len(optimizer)} tensors")
            describe(optimizer)
    else:
        tensors = load_safetensors(target)
        print(f"{target}: {len(tensors)} tensors")
        describe(tensors)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
