#!/usr/bin/env python3
"""Time transformers' from_pretrained of a model folder (what hfpipe's native load is held to).

Imports first (not timed), then loads the model N times with AutoModel.from_pretrained and prints
JSON: {"seconds": [..], "min": s, "torch_threads": n}.

  .venv/bin/python third_party/tools/load_time.py --model DIR [--repeat 3]
"""

import argparse
import json
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    secs = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        m = transformers.AutoModel.from_pretrained(a.model)
        secs.append(time.perf_counter() - t0)
        del m
    print(json.dumps({"seconds": secs, "min": min(secs), "torch_threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
