"""Rewrite a model.safetensors so that its tensors start at a chosen offset modulo 64.

transformers uses the tensors of a memory-mapped safetensors file in place, so where they sit
in the file is where they sit in memory (the mapping starts on a page), and single-row matrix
products round differently on differently aligned memory. Hub files differ: a tensor starts
at 8 + header length + its offset, which the writer does not align (all-MiniLM-L6-v2's start at
40 mod 64). To test hfpipe on each kind, `relayout(path, offset)` rewrites the file with the
same tensors and metadata, the header padded with spaces (as the safetensors writer pads it)
and the tensors ordered so that each starts at `offset` mod 64: those whose byte size is a
multiple of 64 first, the others (a classifier bias of 2 floats, say) last, where only the
first of them can be placed. The result is a valid safetensors file (contiguous, no holes)
that `safetensors` and transformers read as before.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

MODULUS = 64


def read_header(path: Path) -> tuple[dict, int]:
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)), 8 + n


def tensor_offsets(path: Path, modulus: int = MODULUS) -> dict[str, int]:
    """Each tensor's file offset modulo `modulus` (= its address mod `modulus` once mapped)."""
    header, data_start = read_header(Path(path))
    return {k: (data_start + v["data_offsets"][0]) % modulus for k, v in header.items() if k != "__metadata__"}


def relayout(path, offset: int, modulus: int = MODULUS) -> dict[str, int]:
    """Rewrite `path` in place so that its tensors start at `offset` mod `modulus`.

    Returns the new offsets (tensor_offsets). Raises ValueError when offset is not a multiple of 8
    (the alignment the format guarantees, and what an 8-byte dtype needs)."""
    path = Path(path)
    if offset % 8 or not 0 <= offset < modulus:
        raise ValueError(f"offset {offset} must be a multiple of 8 in 0..{modulus - 8}")
    header, data_start = read_header(path)
    meta = header.pop("__metadata__", None)
    with open(path, "rb") as f:
        f.seek(data_start)
        data = f.read()
    blobs = {k: data[v["data_offsets"][0]:v["data_offsets"][1]] for k, v in header.items()}
    names = sorted(header, key=lambda k: (len(blobs[k]) % modulus != 0, k))
    new_header, pos = {}, 0
    if meta is not None:
        new_header["__metadata__"] = meta
    for k in names:
        new_header[k] = {"dtype": header[k]["dtype"], "shape": header[k]["shape"],
                         "data_offsets": [pos, pos + len(blobs[k])]}
        pos += len(blobs[k])
    text = json.dumps(new_header, separators=(",", ":")).encode()
    # 8 + len(header) must be offset mod modulus: pad the header with spaces
    pad = (offset - 8 - len(text)) % modulus
    text += b" " * pad
    tmp = path.with_suffix(".relayout.tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for k in names:
            f.write(blobs[k])
    tmp.replace(path)
    return tensor_offsets(path, modulus)
