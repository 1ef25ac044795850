#!/usr/bin/env python3
"""Re-save a model folder's checkpoint in another format (hfpipe's tests).

  .venv/bin/python third_party/tools/convert_checkpoint.py --model DIR --out OUT --format bin|safetensors \\
      [--max-shard-size 100KB]

Loads with from_pretrained (the architecture of config.json) and writes config.json plus
pytorch_model.bin (zip + pickle, torch.save) or model.safetensors, sharded when --max-shard-size is
given; tokenizer files are copied along.
"""

import argparse
import shutil
from pathlib import Path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--format", choices=["bin", "safetensors"], required=True)
    ap.add_argument("--max-shard-size", default=None)
    a = ap.parse_args()
    import transformers

    transformers.logging.set_verbosity_error()
    cfg = transformers.AutoConfig.from_pretrained(a.model)
    cls = getattr(transformers, cfg.architectures[0]) if cfg.architectures else transformers.AutoModel
    model = cls.from_pretrained(a.model)
    kw = {"safe_serialization": a.format == "safetensors"}
    if a.max_shard_size:
        kw["max_shard_size"] = a.max_shard_size
    model.save_pretrained(a.out, **kw)
    for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        if (Path(a.model) / f).exists():
            shutil.copy(Path(a.model) / f, Path(a.out) / f)


if __name__ == "__main__":
    main()
