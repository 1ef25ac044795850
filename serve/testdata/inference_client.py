#!/usr/bin/env python3
"""Drive a running hfpipe server with huggingface_hub's InferenceClient.

usage: inference_client.py BASE_URL TASK TEXT...
TASK is text-classification or feature-extraction. Prints one JSON line per
text: the client's parsed result (labels and scores, or the vector).
"""
import json
import sys

from huggingface_hub import InferenceClient


def main() -> int:
    base, task, texts = sys.argv[1], sys.argv[2], sys.argv[3:]
    client = InferenceClient(base_url=base, timeout=60)
    for t in texts:
        if task == "text-classification":
            res = client.text_classification(t)
            print(json.dumps([{"label": r.label, "score": r.score} for r in res]))
        else:
            arr = client.feature_extraction(t)
            print(json.dumps({"shape": list(arr.shape), "dtype": str(arr.dtype), "values": arr.reshape(-1).tolist()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
