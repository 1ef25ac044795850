#!/usr/bin/env python3
"""Build a random-initialised, Hub-like test model folder (no Hub needed).

Default: the real shape of distilbert-base-uncased-finetuned-sst-2-english
(DistilBertForSequenceClassification, 6 layers, dim 768, 12 heads, 66M params,
id2label NEGATIVE/POSITIVE) with the real uncased vocabulary.

Examples:
  .venv/bin/python third_party/tools/make_model.py --out testdata/gen/distilbert-sst2-random
  .venv/bin/python third_party/tools/make_model.py --out /tmp/m --arch bert --layers 2
  .venv/bin/python third_party/tools/make_model.py --out /tmp/tiny --layers 2 --hidden-size 32 --heads 4 --ffn-size 64

Same --seed (and pinned torch/transformers) -> byte-identical model.safetensors.
Prints a JSON summary (files, parameter count, sha256 of model.safetensors).
See hfpipe_tools/modelgen.py for why and how the classifier head is calibrated.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hfpipe_tools.modelgen import ModelSpec, make_model  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--out", required=True, help="output folder (created; files overwritten)")
    ap.add_argument("--vocab", default=None,
                    help="bert-base-uncased vocab.txt (default: $HFPIPE_VOCAB, else found via "
                         "`go list -m github.com/sugarme/tokenizer`)")
    ap.add_argument("--seed", type=int, default=0, help="torch.manual_seed before init (default 0)")
    ap.add_argument("--arch", choices=["distilbert", "bert"], default="distilbert",
                    help="distilbert (DistilBertForSequenceClassification, default) or bert "
                         "(BertForSequenceClassification, bert-base shape)")
    ap.add_argument("--layers", type=int, default=None,
                    help="number of transformer layers (default: 6 distilbert, 12 bert)")
    ap.add_argument("--hidden-size", type=int, default=None, help="test only: hidden size (default 768)")
    ap.add_argument("--heads", type=int, default=None, help="test only: attention heads (default 12)")
    ap.add_argument("--ffn-size", type=int, default=None, help="test only: feed-forward size (default 3072)")
    ap.add_argument("--no-calibrate-head", action="store_true",
                    help="keep the plain std-0.02 classifier (labels will then hardly vary)")
    ap.add_argument("--margin-std", type=float, default=3.0,
                    help="target std of the calibrated logit margin over the calibration sentences (default 3)")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--tensor-offset", type=int, default=None, choices=range(0, 64, 8), metavar="{0,8,...,56}",
                    help="rewrite model.safetensors so its tensors start at this offset mod 64 (0 = aligned; "
                         "default: as save_pretrained writes it, 40 mod 64 for these models, as many Hub files)")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    spec = ModelSpec(
        arch=args.arch, seed=args.seed, layers=args.layers, hidden_size=args.hidden_size,
        heads=args.heads, ffn_size=args.ffn_size, calibrate_head=not args.no_calibrate_head,
        target_margin_std=args.margin_std, tensor_offset=args.tensor_offset,
    )
    summary = make_model(args.out, spec, vocab=args.vocab)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
