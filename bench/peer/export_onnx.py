#!/usr/bin/env python3
"""Export hfbench's benchmark classifier to ONNX for the peer contender (hugot + ONNX Runtime).

  .venv/bin/python bench/peer/export_onnx.py --model bench/tmp/model --out bench/tmp/model/model.onnx

The graph takes input_ids and attention_mask (int64, [batch, sequence], both
dynamic) and returns logits [batch, labels]: what hugot's text-classification
pipeline feeds and reads. It is traced from transformers'
AutoModelForSequenceClassification in eval mode with the eager attention
(the pattern ONNX Runtime's graph optimiser fuses into its Attention kernel),
by torch.onnx's TorchScript-based exporter (dynamo=False, opset 17), which
needs the `onnx` package (bench/peer/requirements.txt). ONNX Runtime applies
its own graph optimisations when it loads the file, as it does for any user.

The file is written next to a small JSON (OUT.json) naming the versions used.
Exit status 0 on success, 1 on an error (message on stderr).
"""

import argparse
import json
import os
import sys
import warnings


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="Hugging Face model folder (config.json, model.safetensors)")
    ap.add_argument("--out", required=True, help="the .onnx file to write (inside --model for hugot)")
    ap.add_argument("--opset", type=int, default=17)
    args = ap.parse_args(argv)

    import torch
    import transformers

    try:
        import onnx  # noqa: F401  (the exporter needs it; fail with a clear message)
    except ImportError:
        print("export_onnx: the `onnx` package is missing: make bench-peer installs bench/peer/requirements.txt", file=sys.stderr)
        return 1

    transformers.logging.set_verbosity_error()
    model = transformers.AutoModelForSequenceClassification.from_pretrained(args.model, attn_implementation="eager")
    model.eval()

    class Logits(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return self.m(input_ids=input_ids, attention_mask=attention_mask).logits

    wrapper = Logits(model).eval()
    ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102], [101, 7592, 102, 0, 0, 0]], dtype=torch.int64)
    mask = (ids != 0).to(torch.int64)
    tmp = args.out + ".tmp"
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (ids, mask), tmp, dynamo=False, opset_version=args.opset,
                          input_names=["input_ids", "attention_mask"], output_names=["logits"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                        "attention_mask": {0: "batch", 1: "sequence"},
                                        "logits": {0: "batch"}},
                          do_constant_folding=True)
    onnx.checker.check_model(tmp)
    os.replace(tmp, args.out)
    meta = {"torch": torch.__version__, "transformers": transformers.__version__, "onnx": onnx.__version__,
            "opset": args.opset, "exporter": "torch.onnx.export(dynamo=False)", "attention": "eager"}
    with open(args.out + ".json", "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
    print(f"export_onnx: wrote {args.out} ({os.path.getsize(args.out) / 2**20:.0f} MiB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
