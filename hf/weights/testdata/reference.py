"""Write real checkpoints with PyTorch, safetensors and transformers, and a
manifest of what Python reports about them, for python_test.go.

usage: python reference.py OUT_DIR
"""

import json
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file

TORCH_TO_ST = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL", torch.uint16: "U16", torch.uint32: "U32",
    torch.uint64: "U64", torch.float8_e4m3fn: "F8_E4M3", torch.float8_e5m2: "F8_E5M2",
    torch.float8_e8m0fnu: "F8_E8M0", torch.float4_e2m1fn_x2: "F4",
}


def raw(t):
    """The tensor's bytes, in row-major order."""
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes().hex()


def random_tensor(dtype, shape, gen):
    if dtype.is_floating_point and dtype.itemsize >= 2:
        return torch.randn(shape, generator=gen).to(dtype)
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, generator=gen).bool()
    # every other dtype: random bytes seen as that dtype
    n = 1
    for d in shape:
        n *= d
    b = torch.randint(0, 256, (n * dtype.itemsize,), generator=gen, dtype=torch.uint8)
    return b.view(dtype).reshape(shape)


def from_safetensors(paths):
    """What safetensors reports: name -> dtype, shape, bytes."""
    out = {}
    for p in paths:
        with safe_open(p, framework="pt") as f:
            for k in f.keys():
                s = f.get_slice(k)
                out[k] = {"dtype": s.get_dtype(), "shape": list(s.get_shape()), "hex": raw(f.get_tensor(k))}
    return out


def from_torch(paths):
    """What torch.load(weights_only=True) reports, and which tensors share bytes."""
    out, tied = {}, []
    for p in paths:
        sd = torch.load(p, weights_only=True)
        owners = {}  # per file: tensors of different files never share bytes
        for k, v in sd.items():
            out[k] = {"dtype": TORCH_TO_ST[v.dtype], "shape": list(v.shape), "hex": raw(v)}
            if v.numel():
                owners.setdefault((v.data_ptr(), v.nbytes), []).append(k)
        tied += [sorted(g) for g in owners.values() if len(g) > 1]
    return out, sorted(tied)


def main(out):
    gen = torch.Generator().manual_seed(0)
    manifest = {}

    # Every dtype safetensors.torch can save, a scalar and an empty tensor.
    d = os.path.join(out, "dtypes")
    os.makedirs(d)
    tensors = {}
    for dt in TORCH_TO_ST:
        tensors["t_" + str(dt).split(".")[-1]] = random_tensor(dt, (3, 5), gen)
    tensors["scalar"] = torch.tensor(1.5)
    tensors["empty"] = torch.zeros(0, 4)
    save_file(tensors, os.path.join(d, "model.safetensors"), metadata={"format": "pt", "note": "hfpipe"})
    manifest["dtypes"] = {"dir": d, "tensors": from_safetensors([os.path.join(d, "model.safetensors")]),
                          "metadata": {"format": "pt", "note": "hfpipe"}}

    # transformers checkpoints: tiny BERT with tied embeddings.
    from transformers import BertConfig, BertForMaskedLM

    cfg = BertConfig(vocab_size=64, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=16, max_position_embeddings=16)
    torch.manual_seed(0)
    model = BertForMaskedLM(cfg)

    d = os.path.join(out, "sharded")
    model.save_pretrained(d, max_shard_size="2KB")
    index = json.load(open(os.path.join(d, "model.safetensors.index.json")))
    shards = sorted(set(index["weight_map"].values()))
    manifest["sharded"] = {"dir": d, "shards": shards,
                           "tensors": from_safetensors([os.path.join(d, s) for s in shards])}

    d = os.path.join(out, "bin")
    model.save_pretrained(d, safe_serialization=False)
    t, tied = from_torch([os.path.join(d, "pytorch_model.bin")])
    manifest["bin"] = {"dir": d, "tensors": t, "tied": tied}

    d = os.path.join(out, "sharded_bin")
    model.save_pretrained(d, safe_serialization=False, max_shard_size="2KB")
    index = json.load(open(os.path.join(d, "pytorch_model.bin.index.json")))
    shards = sorted(set(index["weight_map"].values()))
    t, tied = from_torch([os.path.join(d, s) for s in shards])
    manifest["sharded_bin"] = {"dir": d, "shards": shards, "tensors": t, "tied": tied}

    # torch.save of a raw state dict: an OrderedDict with _metadata (BUILD),
    # views at a storage offset, the _rebuild_tensor_v3 dtypes, a scalar, an
    # empty tensor, bool, a Parameter.
    d = os.path.join(out, "statedict")
    os.makedirs(d)
    sd = model.state_dict()
    base = torch.randn(4, 6, generator=gen)
    sd["extra.view_row"] = base[2]
    sd["extra.view_block"] = base[1:3]
    sd["extra.base"] = base
    sd["extra.f8"] = random_tensor(torch.float8_e4m3fn, (2, 3), gen)
    sd["extra.u16"] = random_tensor(torch.uint16, (5,), gen)
    sd["extra.e8m0"] = random_tensor(torch.float8_e8m0fnu, (4,), gen)
    sd["extra.scalar"] = torch.tensor(7, dtype=torch.int64)
    sd["extra.empty"] = torch.zeros(3, 0)
    sd["extra.bool"] = torch.tensor([True, False, True])
    sd["extra.bf16"] = random_tensor(torch.bfloat16, (2, 2), gen)
    sd["extra.param"] = torch.nn.Parameter(torch.randn(3, generator=gen))
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))
    t, tied = from_torch([os.path.join(d, "pytorch_model.bin")])
    manifest["statedict"] = {"dir": d, "tensors": t, "tied": tied}

    # Files that must be refused.
    bad = os.path.join(out, "bad")
    os.makedirs(bad)
    torch.save({"t": torch.randn(3, 4, generator=gen).t()}, os.path.join(bad, "noncontig.bin"))
    torch.save({"t": torch.randn(3)}, os.path.join(bad, "legacy.bin"), _use_new_zipfile_serialization=False)
    torch.save({"t": torch.randn(3, dtype=torch.complex128)}, os.path.join(bad, "complex128.bin"))
    manifest["bad"] = {"dir": bad}

    json.dump(manifest, open(os.path.join(out, "manifest.json"), "w"), indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
