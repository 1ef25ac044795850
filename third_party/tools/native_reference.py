#!/usr/bin/env python3
"""Models and eager-transformers references for hfpipe's native-model parity test.

For every architecture x head in SPECS (or --only), builds a small random-initialised
transformers model (fixed seed, the real architecture class), saves it with save_pretrained
(model.safetensors + config.json, nothing else), rewrites the file so that its tensors start at
each --offsets value mod 64 (hfpipe_tools.layout), loads it back with from_pretrained under each
attention implementation transformers offers for it ("sdpa", "eager"), and runs a fixed set of
token-id batches through it: batch sizes 1, 2 and 8, unpadded and right-padded, lengths 1 to the
model maximum. Writes, per model folder and attention implementation, a safetensors file
`reference-<attn>.safetensors` holding each case's inputs (c<i>.input_ids, c<i>.attention_mask,
c<i>.token_type_ids when the model reads them) and outputs (c<i>.out<j>, in the order of the
model output's fields), with a __metadata__ entry "hfpipe" describing the run (JSON).

Examples:
  .venv/bin/python third_party/tools/native_reference.py --out build/native-parity
  .venv/bin/python third_party/tools/native_reference.py --out /tmp/np --only bert:sequence-classification --threads 1

Prints one JSON line per model folder written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

HEADS = ["base", "sequence-classification", "token-classification", "question-answering", "masked-lm",
         "multiple-choice"]
AUTO = {
    "base": "AutoModel",
    "sequence-classification": "AutoModelForSequenceClassification",
    "token-classification": "AutoModelForTokenClassification",
    "question-answering": "AutoModelForQuestionAnswering",
    "masked-lm": "AutoModelForMaskedLM",
    "multiple-choice": "AutoModelForMultipleChoice",
}
CHOICES = 3  # multiple-choice inputs are [batch, CHOICES, seq]

# Small real architectures: 2 layers, hidden 64, 4 heads, 64 positions. A spec's name is the "arch" of its
# references (several specs may share a model_type); "_heads" limits it to some heads.
SPECS = {
    "bert": dict(model_type="bert", vocab_size=500, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=128, max_position_embeddings=64, type_vocab_size=2),
    "distilbert": dict(model_type="distilbert", vocab_size=500, dim=64, n_layers=2, n_heads=4, hidden_dim=128,
                       max_position_embeddings=64),
    "roberta": dict(model_type="roberta", vocab_size=500, hidden_size=64, num_hidden_layers=2,
                    num_attention_heads=4, intermediate_size=128, max_position_embeddings=66, type_vocab_size=1,
                    pad_token_id=1, bos_token_id=0, eos_token_id=2),
    "xlm-roberta": dict(model_type="xlm-roberta", vocab_size=500, hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=128, max_position_embeddings=66, type_vocab_size=1,
                        pad_token_id=1, bos_token_id=0, eos_token_id=2),
    "electra": dict(model_type="electra", vocab_size=500, embedding_size=32, hidden_size=64, num_hidden_layers=2,
                    num_attention_heads=4, intermediate_size=128, max_position_embeddings=64, type_vocab_size=2),
    # 3 layers with global attention every 2nd: layers 0 and 2 global, layer 1 local with a 16-token
    # window (8 each side), which lengths up to 64 exceed. reference_compile=False is also what
    # transformers settles on for the CPU (it does not save the key).
    "modernbert": dict(model_type="modernbert", vocab_size=500, hidden_size=64, num_hidden_layers=3,
                       num_attention_heads=4, intermediate_size=128, max_position_embeddings=64,
                       global_attn_every_n_layers=2, local_attention=16, reference_compile=False,
                       pad_token_id=0, bos_token_id=1, cls_token_id=1, eos_token_id=2, sep_token_id=2),
    # ModernBERT's other choices: mean pooling, biases everywhere but the decoder, the local layers'
    # rope theta falling back to the global one (null in config.json), another activation; every
    # parameter perturbed so that biases and norm weights are not the initialiser's zeros and ones.
    # Only the heads these choices reach (the pooled heads and the decoder).
    "modernbert-mean": dict(model_type="modernbert", vocab_size=500, hidden_size=64, num_hidden_layers=3,
                            num_attention_heads=4, intermediate_size=128, max_position_embeddings=64,
                            global_attn_every_n_layers=2, local_attention=16, reference_compile=False,
                            pad_token_id=0, bos_token_id=1, cls_token_id=1, eos_token_id=2, sep_token_id=2,
                            classifier_pooling="mean", norm_bias=True, attention_bias=True, mlp_bias=True,
                            classifier_bias=True, decoder_bias=False, local_rope_theta=None,
                            hidden_activation="gelu_new",
                            classifier_activation="silu", norm_eps=1e-6, _perturb=True,
                            _heads=["sequence-classification", "masked-lm", "multiple-choice"]),
    "mpnet": dict(model_type="mpnet", vocab_size=500, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=128, max_position_embeddings=66, relative_attention_num_buckets=32),
    # DeBERTa-v3's shape: log-bucketed relative positions shared with the content projections, no absolute
    # positions, no token types.
    "deberta-v2": dict(model_type="deberta-v2", vocab_size=500, hidden_size=64, num_hidden_layers=2,
                       num_attention_heads=4, intermediate_size=128, max_position_embeddings=64, type_vocab_size=0,
                       relative_attention=True, pos_att_type=["p2c", "c2p"], position_buckets=16,
                       max_relative_positions=64, norm_rel_ebd="layer_norm", share_att_key=True,
                       position_biased_input=False),
    # DeBERTa-v2's other branches: absolute positions, token types, an embedding projection, separate
    # position projections, unbucketed relative positions, the convolution after the first layer.
    "deberta-v2-conv": dict(model_type="deberta-v2", vocab_size=500, embedding_size=32, hidden_size=64,
                            num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                            max_position_embeddings=64, type_vocab_size=2, relative_attention=True,
                            pos_att_type=["c2p", "p2c"], share_att_key=False, position_biased_input=True,
                            conv_kernel_size=3, conv_act="gelu", pooler_hidden_act="tanh"),
    # The non-legacy masked-LM head (lm_predictions.lm_head); transformers 4.57 runs it untied only.
    "deberta-v2-lm": dict(model_type="deberta-v2", vocab_size=500, hidden_size=64, num_hidden_layers=2,
                          num_attention_heads=4, intermediate_size=128, max_position_embeddings=64, type_vocab_size=0,
                          relative_attention=True, pos_att_type=["p2c", "c2p"], position_buckets=16,
                          max_relative_positions=64, norm_rel_ebd="layer_norm", share_att_key=True,
                          position_biased_input=False, legacy=False, tie_word_embeddings=False,
                          _heads=["masked-lm"]),
}
NUM_LABELS = {"sequence-classification": 3, "token-classification": 5}

# Dtype runs, on tensors at 0 mod 64: (arch, head, dtype, how). "compute": a float32 file loaded with
# torch_dtype=dtype (transformers casts every weight); "stored": a file saved in dtype, loaded with
# transformers' default (float32), which casts the weights up.
DTYPE_RUNS = [
    ("bert", "sequence-classification", "bfloat16", "compute"),
    ("distilbert", "base", "float16", "compute"),
    ("roberta", "token-classification", "bfloat16", "compute"),
    ("bert", "base", "bfloat16", "stored"),
    ("distilbert", "sequence-classification", "float16", "stored"),
]


def max_length(cfg) -> int:
    if cfg.model_type in ("roberta", "xlm-roberta", "camembert"):
        return cfg.max_position_embeddings - cfg.pad_token_id - 1
    if cfg.model_type == "mpnet":  # MPNetEmbeddings numbers positions from its fixed padding_idx 1
        return cfg.max_position_embeddings - 2
    return cfg.max_position_embeddings


def attn_impls(model_type: str) -> list[str]:
    # ELECTRA, MPNet and DeBERTa-v2 have eager attention only in the pinned transformers.
    return ["eager"] if model_type in ("electra", "mpnet", "deberta-v2") else ["sdpa", "eager"]


def spec_heads(arch: str) -> list[str]:
    return SPECS[arch].get("_heads", HEADS)


def make_model(arch: str, head: str, out: Path, seed: int, stored_dtype: str = ""):
    import torch
    import transformers

    spec = dict(SPECS[arch])
    model_type = spec.pop("model_type")
    perturb = spec.pop("_perturb", False)
    spec.pop("_heads", None)
    cfg = transformers.AutoConfig.for_model(model_type, **spec)
    if head in NUM_LABELS:
        cfg.num_labels = NUM_LABELS[head]
    torch.manual_seed(seed)
    model = getattr(transformers, AUTO[head]).from_config(cfg)
    model.eval()
    if perturb:
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p) * 0.1)
    if stored_dtype:
        model.to(getattr(torch, stored_dtype))
    out.mkdir(parents=True, exist_ok=True)
    for f in out.iterdir():
        if f.is_file():
            f.unlink()
    model.save_pretrained(out, safe_serialization=True)


def cases(cfg, seed: int, reads_types: bool):
    """The token-id batches: (input_ids, attention_mask, token_type_ids or None), as nested lists."""
    import random

    rng = random.Random(seed)
    pad = cfg.pad_token_id if cfg.pad_token_id is not None else 0
    top = max_length(cfg)
    vocab = cfg.vocab_size
    fib = [1, 2, 3, 5, 8, 13, 21, 34, 55]
    plans = [(1, L, padded) for L in range(1, top + 1) for padded in (False, True) if not (padded and L == 1)]
    plans += [(b, L, padded) for b in (2, 8) for L in sorted(set([x for x in fib if x <= top] + [top]))
              for padded in (False, True)]
    out = []
    for b, L, padded in plans:
        ids, mask, types = [], [], []
        lens = [L] * b
        if padded:
            lens = [rng.randint(1, L) for _ in range(b)]
            if b > 1:
                lens[rng.randrange(b)] = L
            else:
                lens = [rng.randint(1, L - 1)]
        for n in lens:
            # real tokens avoid the pad id (RoBERTa numbers positions by it)
            row = [rng.randrange(pad + 1 if pad >= 3 else 3, vocab) for _ in range(n)]
            cut = rng.randint(0, n)
            ids.append(row + [pad] * (L - n))
            mask.append([1] * n + [0] * (L - n))
            types.append([0] * cut + [1] * (n - cut) + [0] * (L - n))
        out.append((ids, mask, types if reads_types else None))
    return out


def run_reference(folder: Path, spec: str, head: str, attn: str, threads: int, seed: int, dtype: str = "",
                  device: str = "cpu", tag: str = "") -> dict:
    import torch
    import transformers
    from safetensors.torch import save_file

    from hfpipe_tools.cpuenv import cpu_environment
    from hfpipe_tools.layout import tensor_offsets

    torch.set_num_threads(threads)
    kw = {"torch_dtype": getattr(torch, dtype)} if dtype else {}
    model = getattr(transformers, AUTO[head]).from_pretrained(folder, attn_implementation=attn, **kw)
    model.eval()
    if device != "cpu":
        model.to(device)
    cfg = model.config
    # token_type_ids as tokenizers give them: BERT-style models with segment embeddings only
    reads_types = cfg.model_type != "distilbert" and getattr(cfg, "type_vocab_size", 0) >= 2
    # The weights must be the file's, in place: their address mod 64 is their file offset mod 64.
    offsets = tensor_offsets(folder / "model.safetensors")
    prefix = getattr(model, "base_model_prefix", "")
    placed, moved = 0, []
    for name, p in model.state_dict().items():
        key = name if name in offsets else (name[len(prefix) + 1:] if name.startswith(prefix + ".") else None)
        if key not in offsets:
            continue
        if p.data_ptr() % 64 == offsets[key] or dtype or device != "cpu":  # a cast or a move copies every weight, as Go's load does
            placed += 1
        else:
            moved.append(key)  # copied by from_pretrained (tying pads a decoder's own bias)
    tensors = {}
    n = 0
    with torch.inference_mode():
        for i, (ids, mask, types) in enumerate(cases(cfg, seed, reads_types)):
            ids_t = torch.tensor(ids, dtype=torch.long)
            mask_t = torch.tensor(mask, dtype=torch.long)
            types_t = torch.tensor(types, dtype=torch.long) if types is not None else None
            if head == "multiple-choice":
                # [batch, CHOICES, seq]: the batch rows, each with CHOICES variants (the rows rolled)
                ids_t = torch.stack([ids_t.roll(k, 0) for k in range(CHOICES)], 1)
                mask_t = torch.stack([mask_t.roll(k, 0) for k in range(CHOICES)], 1)
                if types_t is not None:
                    types_t = torch.stack([types_t.roll(k, 0) for k in range(CHOICES)], 1)
            kwargs = {"input_ids": ids_t, "attention_mask": mask_t}
            if types_t is not None:
                kwargs["token_type_ids"] = types_t
            out = model(**{k: v.to(device) for k, v in kwargs.items()})
            vals = [v for v in out.values() if isinstance(v, torch.Tensor)]
            tensors[f"c{i}.input_ids"] = ids_t
            tensors[f"c{i}.attention_mask"] = mask_t
            if types_t is not None:
                tensors[f"c{i}.token_type_ids"] = types_t
            for j, v in enumerate(vals):
                tensors[f"c{i}.out{j}"] = v.cpu().contiguous()
            n += 1
    meta = {
        "arch": cfg.model_type, "model_type": cfg.model_type, "spec": spec, "head": head, "attn": attn, "attn_used": model.config._attn_implementation,
        "dtype": str(model.dtype).removeprefix("torch."), "device": device,
        "cases": n, "threads": torch.get_num_threads(), "torch": torch.__version__,
        "transformers": transformers.__version__, "outputs": [k for k, v in out.items() if isinstance(v, torch.Tensor)],
        "weights_in_place": placed, "weights": len(offsets), "moved": sorted(set(moved)), "cpu": cpu_environment(),
    }
    save_file(tensors, str(folder / f"reference-{attn}{tag}.safetensors"), metadata={"hfpipe": json.dumps(meta)})
    return meta


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder: <out>/<arch>-<head>-o<offset>/")
    ap.add_argument("--only", action="append", default=[], metavar="ARCH[:HEAD]",
                    help="limit to these architectures / heads (repeatable)")
    ap.add_argument("--offsets", default="0,8", help="tensor offsets mod 64 to write (default 0,8)")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: torch's default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="run the references on this device (cuda: the GPU check)")
    ap.add_argument("--compute-dtypes", default="",
                    help="with --device cuda: also run each model loaded with torch_dtype=each of these "
                         "(comma-separated), files reference-<attn>-<dtype>.safetensors")
    args = ap.parse_args(argv)

    import torch

    from hfpipe_tools.layout import relayout

    threads = args.threads or torch.get_num_threads()
    want = [(o.split(":") + [None])[:2] for o in args.only]
    for arch in SPECS:
        for head in spec_heads(arch):
            if want and not any(a == arch and (h is None or h == head) for a, h in want):
                continue
            for off in [int(x) for x in args.offsets.split(",")]:
                folder = Path(args.out) / f"{arch}-{head}-o{off}"
                make_model(arch, head, folder, args.seed)
                relayout(folder / "model.safetensors", off)
                for attn in attn_impls(SPECS[arch]["model_type"]):
                    if args.device != "cpu":
                        for dt in ["float32"] + [d for d in args.compute_dtypes.split(",") if d and d != "float32"]:
                            meta = run_reference(folder, arch, head, attn, threads, args.seed, dtype=dt, device=args.device,
                                                 tag=f"-{dt}")
                            print(json.dumps({"folder": str(folder), "device": args.device, "dtype": dt,
                                              "attn": attn}), flush=True)
                        continue
                    meta = run_reference(folder, arch, head, attn, threads, args.seed)
                    print(json.dumps({"folder": str(folder), **{k: meta[k] for k in
                                      ("arch", "head", "attn", "attn_used", "cases", "threads",
                                       "weights_in_place", "weights", "moved")}}), flush=True)
    for arch, head, dtype, how in DTYPE_RUNS if args.device == "cpu" else []:
        if want and not any(a == arch and (h is None or h == head) for a, h in want):
            continue
        folder = Path(args.out) / f"{arch}-{head}-o0-{how}-{dtype}"
        make_model(arch, head, folder, args.seed, stored_dtype=dtype if how == "stored" else "")
        relayout(folder / "model.safetensors", 0)
        for attn in attn_impls(SPECS[arch]["model_type"]):
            meta = run_reference(folder, arch, head, attn, threads, args.seed, dtype=dtype if how == "compute" else "")
            print(json.dumps({"folder": str(folder), "dtype": meta["dtype"], "attn": attn, "cases": meta["cases"]}),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
