"""Load model configs with transformers.AutoConfig, for hf's config parity test.

    hub_autoconfig.py DIR...

Prints one JSON object per line for each folder (holding config.json):
{"dir", "model_type", "num_labels", "id2label", "label2id", "problem_type"}
with id2label keys as strings (JSON has no integer keys) and label2id null
when transformers leaves it unset. A folder transformers refuses gives
{"dir", "error": message}.
"""

import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from transformers import AutoConfig  # noqa: E402


def main():
    for d in sys.argv[1:]:
        try:
            cfg = AutoConfig.from_pretrained(d, local_files_only=True)
        except Exception as e:  # the test compares refusals too
            print(json.dumps({"dir": d, "error": f"{type(e).__name__}: {e}"}))
            continue
        print(json.dumps({
            "dir": d,
            "model_type": cfg.model_type,
            "num_labels": cfg.num_labels,
            "id2label": {str(k): v for k, v in cfg.id2label.items()},
            "label2id": cfg.label2id,
            "problem_type": cfg.problem_type,
        }))


if __name__ == "__main__":
    main()
