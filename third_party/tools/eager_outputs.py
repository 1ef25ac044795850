#!/usr/bin/env python3
"""Eager transformers' outputs for given token ids, as float32 bit patterns (hfpipe's Go tests).

  .venv/bin/python third_party/tools/eager_outputs.py --model DIR --head sequence-classification \\
      --ids '[[101, 2023, 102]]' [--mask '[[1, 1, 1]]'] [--threads N]

Loads the folder with from_pretrained (whatever weights it holds: model.safetensors or
pytorch_model.bin), runs the head's AutoModel class on the batch and prints JSON
{"outputs": [{"shape": [...], "f32_hex": ["3f800000", ...]}, ...]} in the model output's order.
"""

import argparse
import json
import struct

HEADS = {
    "base": "AutoModel",
    "sequence-classification": "AutoModelForSequenceClassification",
    "token-classification": "AutoModelForTokenClassification",
    "question-answering": "AutoModelForQuestionAnswering",
    "masked-lm": "AutoModelForMaskedLM",
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--head", default="base", choices=sorted(HEADS))
    ap.add_argument("--ids", required=True, help="JSON [[id, ...], ...]")
    ap.add_argument("--mask", default=None, help="JSON attention mask (default all ones)")
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    if a.threads:
        torch.set_num_threads(a.threads)
    ids = torch.tensor(json.loads(a.ids), dtype=torch.long)
    mask = torch.tensor(json.loads(a.mask), dtype=torch.long) if a.mask else torch.ones_like(ids)
    model = getattr(transformers, HEADS[a.head]).from_pretrained(a.model).eval()
    with torch.inference_mode():
        out = model(input_ids=ids, attention_mask=mask)
    res = []
    for v in out.values():
        if isinstance(v, torch.Tensor):
            flat = v.float().contiguous().view(-1).tolist()
            res.append({"shape": list(v.shape), "f32_hex": [struct.pack(">f", x).hex() for x in flat]})
    print(json.dumps({"outputs": res}))


if __name__ == "__main__":
    main()
