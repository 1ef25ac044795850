"""Exact JSON encodings of tensors and floats, so Go tests can compare bitwise.

A tensor is written as
    {"dtype": "float32", "shape": [B, T, H], "byte_order": "little",
     "data_b64": base64(little-endian, C-order bytes), "sha256": hex}
and a scalar float32 as its IEEE-754 bits in hex ("score_f32_hex": "3f75b4a1",
big-endian hex of the 32-bit pattern, i.e. what Go's math.Float32bits prints
with %08x) next to the JSON float.
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from typing import Any

import numpy as np

_NP_DTYPES = {
    "float32": np.dtype("<f4"),
    "float16": np.dtype("<f2"),
    "float64": np.dtype("<f8"),
    "bfloat16": None,  # numpy has no bfloat16: handled via int16 view below
    "int64": np.dtype("<i8"),
    "int32": np.dtype("<i4"),
}


def tensor_to_json(t: Any) -> dict:
    """Encode a torch tensor or numpy array exactly (dtype kept, no rounding)."""
    import torch

    if isinstance(t, torch.Tensor):
        t = t.detach().to("cpu").contiguous()
        dtype = str(t.dtype).replace("torch.", "")
        if t.dtype == torch.bfloat16:
            arr = t.view(torch.int16).numpy().astype("<i2", copy=False)
        else:
            arr = t.numpy()
    else:
        arr = np.ascontiguousarray(t)
        dtype = arr.dtype.name
    if dtype not in _NP_DTYPES:
        raise ValueError(f"unsupported dtype {dtype}")
    if _NP_DTYPES[dtype] is not None:
        arr = np.ascontiguousarray(arr.astype(_NP_DTYPES[dtype], copy=False))
    raw = arr.tobytes(order="C")
    return {
        "dtype": dtype,
        "shape": list(arr.shape),
        "byte_order": "little",
        "data_b64": base64.b64encode(raw).decode("ascii"),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }


def tensor_from_json(d: dict) -> np.ndarray:
    """Inverse of tensor_to_json (bfloat16 comes back as its int16 bit pattern)."""
    dt = _NP_DTYPES[d["dtype"]] or np.dtype("<i2")
    raw = base64.b64decode(d["data_b64"])
    return np.frombuffer(raw, dtype=dt).reshape(d["shape"]).copy()


def f32_hex(x: float) -> str:
    """IEEE-754 float32 bit pattern of x as 8 hex digits (x must be a float32 value)."""
    b = struct.pack(">f", x)
    if struct.unpack(">f", b)[0] != x and not math.isnan(x):
        raise ValueError(f"{x!r} is not exactly representable as float32")
    return b.hex()


def f32_from_hex(h: str) -> float:
    return struct.unpack(">f", bytes.fromhex(h))[0]
