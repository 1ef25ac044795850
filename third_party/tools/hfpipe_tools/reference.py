"""Reference outputs for hfpipe's Go tests, written with exact float encodings.

For token-id batches given in an inputs JSON file, and/or texts, runs
  (a) the TorchScript export via torch.jit.load (what hfpipe runs from Go),
  (b) the eager transformers model (the default attention implementation,
      i.e. what `pipeline(...)` runs),
  (c) `transformers.pipeline("sentiment-analysis", model=DIR, tokenizer=DIR,
      truncation=True)` on the texts (label + score, score also as float32 bits),
and the tokenizer on the texts (padded batch as the course does it, and
per-text ids/tokens/offsets).

inputs JSON (every key optional):
  {"batches": [{"name": "pad2", "input_ids": [[101, 2023, 102], [101, 102, 0]],
                "attention_mask": [[1, 1, 1], [1, 1, 0]],
                "token_type_ids": [[0, 0, 0], [0, 0, 0]]}],      # BERT only; zeros if missing
   "texts": ["I've been waiting for a HuggingFace course my whole life.", "I hate this so much!"]}

output JSON: see README.md in this folder ("reference output").
Tensors: {"dtype","shape","byte_order":"little","data_b64","sha256"} (codec.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import torch

from . import codec
from .cpuenv import cpu_environment
from .exporting import (EXPORTERS, artifact_stem, load_hf_model, load_metadata, max_abs_diff, max_ulps, run_eager,
                        run_exported, sha256_file)

FORMAT_VERSION = 1


def _score_entry(d: dict) -> dict:
    s = float(d["score"])
    return {"label": d["label"], "score": s, "score_f32_hex": codec.f32_hex(s)}


def _tensor_inputs(batch: dict, names: list[str], device: str) -> tuple:
    ids = torch.tensor(batch["input_ids"], dtype=torch.long)
    if ids.dim() != 2:
        raise ValueError(f"batch {batch.get('name')}: input_ids must be a 2-D list")
    mask = torch.tensor(batch["attention_mask"], dtype=torch.long) if "attention_mask" in batch \
        else torch.ones_like(ids)
    tt = torch.tensor(batch["token_type_ids"], dtype=torch.long) if "token_type_ids" in batch \
        else torch.zeros_like(ids)
    by = {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt}
    return tuple(by[n].to(device) for n in names)


def _compare(name: str, inputs: tuple, module, eager, names, out_name, want_ts, want_eager) -> dict:
    entry: dict = {"name": name, "input_shape": list(inputs[0].shape), "output": out_name}
    ts = run_exported(module, inputs) if want_ts else None
    ref = run_eager(eager, names, inputs) if want_eager else None
    if ts is not None:
        entry["torchscript"] = codec.tensor_to_json(ts)
    if ref is not None:
        entry["eager"] = codec.tensor_to_json(ref)
    if ts is not None and ref is not None:
        entry["max_abs_diff"] = max_abs_diff(ts, ref)
        entry["max_ulps"] = max_ulps(ref, ts)
        entry["bitwise_equal"] = bool(torch.equal(ts.cpu(), ref.cpu()))
    return entry


def run_reference(model_dir, inputs: dict, head: str = "sequence-classification", device: str = "cpu",
                  dtype: str = "float32", export_path: Optional[str] = None, threads: int = 1,
                  eager_attn: Optional[str] = None, do_torchscript: bool = True, do_eager: bool = True,
                  do_pipeline: bool = True, per_text: bool = True) -> dict:
    import transformers
    from transformers import AutoTokenizer

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(threads)
    model_dir = Path(model_dir)
    if export_path is None:
        export_path = model_dir / (artifact_stem(head, device.split(":")[0], dtype) + ".pt")
    export_path = Path(export_path)

    out: dict = {
        "format_version": FORMAT_VERSION,
        "model": str(model_dir),
        "head": head,
        "device": device,
        "dtype": dtype,
        "threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "environment": cpu_environment(),
    }

    module = None
    meta = None
    if do_torchscript:
        meta = load_metadata(export_path)
        head = meta["head"]
        out["head"] = head
        out["export"] = {"file": str(export_path), "sha256": sha256_file(export_path),
                         "metadata_sha256": meta.get("sha256"), "inputs": meta["inputs"],
                         "outputs": meta["outputs"], "output_kind": meta["output_kind"],
                         "attn_implementation": meta.get("attn_implementation")}
        # placed as Go places it (hf.Model loading -> torch.Module.AlignParameters)
        offsets = (meta.get("parameter_alignment") or {}).get("offsets")
        module = EXPORTERS[meta.get("format", "torchscript")].load(export_path, device, offsets)

    eager = load_hf_model(model_dir, head, dtype, device, attn_implementation=eager_attn) if do_eager else None
    if eager is not None:
        out["eager_attn_implementation"] = eager.config._attn_implementation
        names = meta["inputs"] if meta else None
        if names is None:
            from .exporting import model_input_names
            names = model_input_names(eager)
    else:
        names = meta["inputs"]
    out["inputs"] = names
    out_name = meta["outputs"][0] if meta else ("logits" if head == "sequence-classification" else "last_hidden_state")

    with torch.no_grad():
        out["batches"] = [
            _compare(b.get("name", f"batch{i}"), _tensor_inputs(b, names, device), module, eager, names,
                     out_name, do_torchscript, do_eager)
            for i, b in enumerate(inputs.get("batches", []))
        ]

        texts = inputs.get("texts") or []
        if texts:
            tok = AutoTokenizer.from_pretrained(str(model_dir))
            enc = tok(texts, padding=True, truncation=True, return_tensors="pt")
            tsec: dict = {"texts": texts}
            padded = {k: enc[k].tolist() for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc}
            tsec["tokenizer"] = {"padded": padded, "per_text": []}
            for t in texts:
                e = tok(t, truncation=True, return_offsets_mapping=True)
                item = {"input_ids": e["input_ids"], "tokens": tok.convert_ids_to_tokens(e["input_ids"]),
                        "offsets": [list(o) for o in e["offset_mapping"]]}
                if "token_type_ids" in e:
                    item["token_type_ids"] = e["token_type_ids"]
                tsec["tokenizer"]["per_text"].append(item)
            bt = {"name": "texts-padded", **padded}
            tsec["padded_batch"] = _compare("texts-padded", _tensor_inputs(bt, names, device), module, eager,
                                            names, out_name, do_torchscript, do_eager)
            if per_text:
                # what the pipeline runs: one text at a time, no padding
                tsec["per_text_batches"] = [
                    _compare(f"text{i}", _tensor_inputs({"name": f"text{i}", **{
                        k: [v] for k, v in item.items() if k in ("input_ids", "token_type_ids")}},
                        names, device), module, eager, names, out_name, do_torchscript, do_eager)
                    for i, item in enumerate(tsec["tokenizer"]["per_text"])
                ]
            if do_pipeline and head == "sequence-classification":
                from transformers import pipeline

                pdev = -1 if device == "cpu" else torch.device(device)
                clf = pipeline("sentiment-analysis", model=str(model_dir), tokenizer=str(model_dir),
                               truncation=True, device=pdev)
                tsec["pipeline_model_attn_implementation"] = clf.model.config._attn_implementation
                tsec["pipeline"] = [_score_entry(r) for r in clf(texts)]
                tsec["pipeline_all_scores"] = [[_score_entry(r) for r in rs] for rs in clf(texts, top_k=None)]
            out["texts"] = tsec
    return out


def load_inputs(path: Optional[str], texts: Optional[list[str]] = None) -> dict:
    data: dict = {}
    if path:
        data = json.loads(Path(path).read_text()) if path != "-" else json.load(__import__("sys").stdin)
        if isinstance(data, list):  # a bare list of texts
            data = {"texts": data}
    if texts:
        data.setdefault("texts", [])
        data["texts"] = list(data["texts"]) + list(texts)
    return data
