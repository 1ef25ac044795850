"""Build TorchScript fixtures for the Go `torch` package tests.

Writes into OUT_DIR:
  tensor.pt  traced: (x: float32[B,F], ids: int64[B,T], mask: int64[B,T]) -> float32 tensor
  tuple.pt   scripted: same inputs -> (float32 tensor, int64 tensor, float64 tensor)
  dict.pt    scripted: same inputs -> {"logits": float32, "hidden": float32, "count": int64}
  fixtures.json: the inputs and each module's outputs as exact little-endian bytes (base64),
                 computed by the saved-and-reloaded modules on DEVICE, so Go can compare bitwise.

Usage: python torch_fixtures.py OUT_DIR [--device cpu|cuda]
"""
import argparse
import base64
import json
import os

import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(100, 8)
        self.lin = torch.nn.Linear(8 + 6, 4)

    def features(self, x, ids, mask):
        e = self.emb(ids) * mask.unsqueeze(-1).to(torch.float32)
        pooled = e.sum(1) / mask.sum(1, keepdim=True).clamp(min=1).to(torch.float32)
        return torch.nn.functional.gelu(self.lin(torch.cat([pooled, x], dim=-1)))


class TensorOut(Net):
    def forward(self, x, ids, mask):
        return torch.softmax(self.features(x, ids, mask), dim=-1)


class TupleOut(Net):
    def forward(self, x, ids, mask):
        h = self.features(x, ids, mask)
        return h, ids * 2, h.to(torch.float64).sum(-1)


class DictOut(Net):
    def forward(self, x, ids, mask):
        h = self.features(x, ids, mask)
        out = {"logits": h, "hidden": h * 3.0}
        count = {"count": mask.sum()}
        return out, count


class DictOnly(Net):
    def forward(self, x, ids, mask):
        h = self.features(x, ids, mask)
        return {"logits": h, "hidden": h * 3.0}


class Spin(torch.nn.Module):
    """n rounds of a small matmul: a pass whose length the caller picks (the
    Go tests use it to cancel a pass midway)."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(6, 6) / 3)

    def forward(self, x, n: int):
        for _ in range(n):
            x = torch.tanh(x @ self.w)
        return x


def enc(t):
    t = t.detach().cpu().contiguous()
    return {
        "dtype": str(t.dtype).replace("torch.", ""),
        "shape": list(t.shape),
        "data": base64.b64encode(t.numpy().tobytes()).decode(),
    }


def flatten(v):
    if isinstance(v, torch.Tensor):
        return {"kind": "tensor", "tensor": enc(v)}
    if isinstance(v, tuple):
        return {"kind": "tuple", "items": [flatten(e) for e in v]}
    if isinstance(v, dict):
        return {"kind": "dict", "keys": list(v.keys()), "items": [flatten(e) for e in v.values()]}
    raise TypeError(type(v))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 6, generator=g)
    ids = torch.randint(0, 100, (3, 5), generator=g)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]])
    inputs = (x, ids, mask)
    fixtures = {"inputs": [enc(t) for t in inputs], "modules": {}}
    builders = {
        "tensor": lambda m: torch.jit.trace(m, inputs),
        "tuple": torch.jit.script,
        "dict": torch.jit.script,
        "dictonly": torch.jit.script,
    }
    classes = {"tensor": TensorOut, "tuple": TupleOut, "dict": DictOut, "dictonly": DictOnly}
    dev_inputs = tuple(t.to(a.device) for t in inputs)
    for name, cls in classes.items():
        torch.manual_seed(0)
        m = builders[name](cls().eval())
        path = os.path.join(a.out, f"{name}.pt")
        m.save(path)
        loaded = torch.jit.load(path, map_location=a.device)
        with torch.inference_mode():
            out = loaded(*dev_inputs)
        fixtures["modules"][name] = {"path": path, "output": flatten(out)}
    torch.manual_seed(0)
    spin = torch.jit.script(Spin().eval())
    path = os.path.join(a.out, "spin.pt")
    spin.save(path)
    loaded = torch.jit.load(path, map_location=a.device)
    with torch.inference_mode():
        out = loaded(dev_inputs[0], 3)
    fixtures["modules"]["spin"] = {"path": path, "output": flatten(out)}
    with open(os.path.join(a.out, "fixtures.json"), "w") as f:
        json.dump(fixtures, f)


if __name__ == "__main__":
    main()
