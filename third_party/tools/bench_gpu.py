"""Python side of hfpipe's GPU throughput check (pipeline/cuda_test.go, run by make gpu-check).

Measures transformers.pipeline("sentiment-analysis", model=DIR, device=DEVICE, dtype=DTYPE) on the
texts of a JSON file for each batch size, after warm-up, and writes sequences/s as JSON.

Usage: python bench_gpu.py --model DIR --texts texts.json --batch-sizes 1,8,32 --dtype float16 --out out.json
"""
import argparse
import json
import time

import torch
import transformers


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--texts", required=True)
    ap.add_argument("--batch-sizes", default="1,8,32")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float16"])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    transformers.logging.set_verbosity_error()
    with open(a.texts) as f:
        texts = json.load(f)
    dtype = {"float32": torch.float32, "float16": torch.float16}[a.dtype]
    pipe = transformers.pipeline("sentiment-analysis", model=a.model, tokenizer=a.model, device=a.device,
                                 torch_dtype=dtype)
    out = {"torch": torch.__version__, "transformers": transformers.__version__, "dtype": a.dtype, "seq_per_s": {}}
    for bs in [int(x) for x in a.batch_sizes.split(",")]:
        pipe(texts[: 2 * bs], batch_size=bs, truncation=True)  # warm-up: kernels, allocator
        best = 0.0
        for _ in range(a.reps):
            if a.device.startswith("cuda"):
                torch.cuda.synchronize()
            t = time.perf_counter()
            pipe(texts, batch_size=bs, truncation=True)
            if a.device.startswith("cuda"):
                torch.cuda.synchronize()
            best = max(best, len(texts) / (time.perf_counter() - t))
        out["seq_per_s"][str(bs)] = best
    with open(a.out, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
