#!/usr/bin/env python3
"""Make a cross-encoder-shaped re-ranker for serve's tests (no Hub here).

Takes a DistilBERT sequence classifier folder (the tests' 2-layer model) and
saves it with a one-label head (num_labels=1, as cross-encoder/ms-marco
re-rankers have), the new head drawn with a fixed seed; tokenizer files are
copied. Same inputs and pinned torch/transformers -> the same weights.

usage: make_reranker.py SRC_DIR OUT_DIR
"""
import os
import shutil
import sys

import torch
from transformers import AutoModelForSequenceClassification


def main() -> int:
    src, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = AutoModelForSequenceClassification.from_pretrained(
        src, num_labels=1, id2label={0: "LABEL_0"}, label2id={"LABEL_0": 0}, ignore_mismatched_sizes=True)
    # A wider score spread than the std-0.02 default head, so that ranks differ.
    with torch.no_grad():
        model.classifier.weight.normal_(0.0, 0.5)
        model.classifier.bias.zero_()
    model.config.problem_type = None
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    for f in os.listdir(src):
        if f.startswith("tokenizer") or f in ("vocab.txt", "special_tokens_map.json"):
            shutil.copy(os.path.join(src, f), os.path.join(out, f))
    return 0


if __name__ == "__main__":
    sys.exit(main())
