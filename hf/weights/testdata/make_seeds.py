"""Write the small real checkpoints the fuzz tests start from:
seed.safetensors (safetensors.torch.save_file) and seed.bin (torch.save:
tied tensors, a view, a _rebuild_tensor_v3 dtype, a Parameter, an
OrderedDict with _metadata). Committed; rerun only to refresh them.

usage: python make_seeds.py OUT_DIR
"""

import collections
import os
import sys

import torch
from safetensors.torch import save_file

out = sys.argv[1]
g = torch.Generator().manual_seed(0)
save_file({
    "w": torch.randn(2, 3, generator=g),
    "h": torch.randn(3, generator=g).half(),
    "i": torch.arange(4),
    "b": torch.tensor([True, False]),
    "f8": torch.randn(2, generator=g).to(torch.float8_e4m3fn),
    "s": torch.tensor(2.5),
    "e": torch.zeros(0, 2),
}, os.path.join(out, "seed.safetensors"), metadata={"format": "pt"})

base = torch.randn(2, 3, generator=g)
sd = collections.OrderedDict()
sd["w"] = base
sd["tied"] = base
sd["row"] = base[1]
sd["f8"] = torch.randn(3, generator=g).to(torch.float8_e4m3fn)
sd["p"] = torch.nn.Parameter(torch.randn(2, generator=g))
sd["n"] = torch.tensor(3)
sd._metadata = collections.OrderedDict([("", {"version": 1})])
torch.save(sd, os.path.join(out, "seed.bin"))
