"""Python reference for hfpipe's pipeline parity tests.

Runs transformers.pipeline(TASK, model=DIR, tokenizer=DIR) on the inputs of a JSON file and writes
what it returns, scores also as float32 bit patterns so Go can compare exactly.

inputs JSON: {"texts": [str, ...], "pairs": [[a, b], ...]}
text-classification: truncation=True, top_k as given (default 1, "all" = None), function_to_apply,
batch_size (default 1, the pipeline default).
feature-extraction: truncation=True, one input at a time; hidden states as base64 float32.

Usage: python pipeline_reference.py --model DIR --task text-classification --inputs in.json --out out.json
"""
import argparse
import base64
import json
import struct

import numpy as np
import torch
import transformers


def f32_hex(x: float) -> str:
    return struct.pack(">f", x).hex()


def entry(d):
    return {"label": d["label"], "score": float(d["score"]), "score_f32_hex": f32_hex(float(d["score"]))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--task", default="text-classification")
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--top-k", default="1")
    ap.add_argument("--function", default=None, help="function_to_apply: softmax, sigmoid or none")
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    transformers.logging.set_verbosity_error()
    with open(a.inputs) as f:
        inputs = json.load(f)
    texts = inputs.get("texts") or []
    pairs = inputs.get("pairs") or []
    pipe = transformers.pipeline(a.task, model=a.model, tokenizer=a.model, device="cpu")
    out = {"transformers_version": transformers.__version__, "torch_version": torch.__version__}
    if a.task in ("text-classification", "sentiment-analysis"):
        kw = {"truncation": True, "batch_size": a.batch_size}
        if a.top_k != "1":
            kw["top_k"] = None if a.top_k == "all" else int(a.top_k)
        if a.function:
            kw["function_to_apply"] = a.function

        def norm(r):
            # top_k=1 (legacy) gives a dict per input, top_k=k a list of dicts.
            return [entry(r)] if isinstance(r, dict) else [entry(d) for d in r]

        out["texts"] = [norm(r) for r in pipe(texts, **kw)] if texts else []
        pair_inputs = [{"text": p[0], "text_pair": p[1]} for p in pairs]
        out["pairs"] = [norm(r) for r in pipe(pair_inputs, **kw)] if pairs else []
    elif a.task == "feature-extraction":
        feats = []
        for t in texts:
            v = np.asarray(pipe(t, truncation=True), dtype=np.float32)[0]  # [tokens, hidden]
            feats.append({"dtype": "float32", "shape": list(v.shape), "data_b64": base64.b64encode(v.tobytes()).decode()})
        out["features"] = feats
    else:
        raise SystemExit(f"unsupported task {a.task}")
    with open(a.out, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
