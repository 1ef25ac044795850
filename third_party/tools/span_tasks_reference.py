#!/usr/bin/env python3
"""Test models and transformers.pipeline references for hfpipe's token-classification, question-answering
and fill-mask pipelines.

`model` builds a random-initialised model folder of a real architecture (DistilBERT or BERT, the
bert-base-uncased WordPiece vocabulary, the chosen head) the way a Hub snapshot looks: config.json,
model.safetensors, tokenizer files. Random heads give near-uniform scores, so that ties would decide
labels; the head is therefore scaled (token-classification and question-answering: the output layer's
weight times --head-scale; masked-lm: the output bias drawn with std --head-scale/10), which keeps every
other tensor the plain random init. Same --seed and pinned torch/transformers: byte-identical files.

`run` runs transformers.pipeline(TASK, model=DIR) on each case of an inputs file, one input per call
(the pipeline's default batch size 1), and writes what it returns; scores also as float32 bit
patterns where transformers' score is a float32 (token-classification, fill-mask). A failing input
is recorded with its exception.

inputs JSON: {"cases": [{"kwargs": {...pipeline call keywords...}, "inputs": [...]}, ...]}
  token-classification, fill-mask: inputs are strings; question-answering: {"question": q, "context": c}.
output JSON: {"cases": [{"results": [[...result dicts...] | {"error": "..."}, ...]}, ...]}
  fill-mask: a list of lists (one per mask) even for one mask; question-answering: a list even for one answer.

Examples:
  .venv/bin/python third_party/tools/span_tasks_reference.py model --task token-classification --out /tmp/ner
  .venv/bin/python third_party/tools/span_tasks_reference.py run --model /tmp/ner --task token-classification \\
      --inputs in.json --out out.json --threads 2
"""

import argparse
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

NER_LABELS = ["O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
AUTO = {
    "token-classification": "AutoModelForTokenClassification",
    "question-answering": "AutoModelForQuestionAnswering",
    "fill-mask": "AutoModelForMaskedLM",
}


def f32_hex(x) -> str:
    return struct.pack(">f", float(x)).hex()


def make(a) -> dict:
    import torch
    import transformers
    from hfpipe_tools.modelgen import ModelSpec, _build_tokenizer, find_vocab, sha256_file

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)
    spec = ModelSpec(arch=a.arch, seed=a.seed, layers=a.layers, hidden_size=a.hidden_size, heads=a.heads,
                     ffn_size=a.ffn_size)
    cfg = spec.config_dict()
    model_type = cfg.pop("model_type")
    for k in ("architectures", "finetuning_task", "id2label", "label2id"):
        cfg.pop(k, None)
    if a.task == "token-classification":
        cfg["id2label"] = dict(enumerate(NER_LABELS))
        cfg["label2id"] = {l: i for i, l in enumerate(NER_LABELS)}
    config = transformers.AutoConfig.for_model(model_type, **cfg)
    tokenizer = _build_tokenizer(a.arch, find_vocab())
    torch.manual_seed(a.seed)
    model = getattr(transformers, AUTO[a.task]).from_config(config)
    model.eval()
    with torch.no_grad():
        if a.task == "token-classification":
            model.classifier.weight.mul_(a.head_scale)
        elif a.task == "question-answering":
            model.qa_outputs.weight.mul_(a.head_scale)
        else:
            bias = model.get_output_embeddings().bias
            g = torch.Generator().manual_seed(a.seed + 1)
            bias.copy_(torch.randn(bias.shape, generator=g) * (a.head_scale / 10))
    model.save_pretrained(a.out, safe_serialization=True)
    tokenizer.save_pretrained(a.out)
    return {"out": a.out, "task": a.task, "arch": a.arch, "architectures": model.config.architectures,
            "model_safetensors_sha256": sha256_file(os.path.join(a.out, "model.safetensors"))}


def norm_entity(d):
    out = {k: d[k] for k in ("word", "start", "end") if k in d}
    if "entity_group" in d:
        out["entity_group"] = d["entity_group"]
    else:
        out["entity"], out["index"] = d["entity"], int(d["index"])
    out["score"], out["score_f32_hex"] = float(d["score"]), f32_hex(d["score"])
    return out


def run(a) -> None:
    import torch
    import transformers

    torch.set_num_threads(a.threads)
    transformers.logging.set_verbosity_error()
    with open(a.inputs) as f:
        cases = json.load(f)["cases"]
    pipe = transformers.pipeline(a.task, model=a.model, tokenizer=a.model, device="cpu")
    out = {"transformers_version": transformers.__version__, "torch_version": torch.__version__, "cases": []}
    for case in cases:
        kw = case.get("kwargs") or {}
        results = []
        for x in case["inputs"]:
            try:
                if a.task == "token-classification":
                    results.append([norm_entity(d) for d in pipe(x, **kw)])
                elif a.task == "question-answering":
                    r = pipe(question=x["question"], context=x["context"], **kw)
                    r = [r] if isinstance(r, dict) else r
                    results.append([{"score": float(d["score"]), "start": d["start"], "end": d["end"],
                                     "answer": d["answer"]} for d in r])
                else:
                    r = pipe(x, **kw)
                    r = [r] if r and isinstance(r[0], dict) else r
                    results.append([[{"score": float(d["score"]), "score_f32_hex": f32_hex(d["score"]),
                                      "token": int(d["token"]), "token_str": d["token_str"],
                                      "sequence": d["sequence"]} for d in m] for m in r])
            except Exception as e:  # noqa: BLE001 - recorded for the Go side to compare
                results.append({"error": f"{type(e).__name__}: {e}"})
        out["cases"].append({"results": results})
    with open(a.out, "w") as f:
        json.dump(out, f)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("model", help="build a test model folder")
    m.add_argument("--task", required=True, choices=sorted(AUTO))
    m.add_argument("--arch", default="distilbert", choices=["distilbert", "bert"])
    m.add_argument("--out", required=True)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--layers", type=int, default=2)
    m.add_argument("--hidden-size", type=int, default=64)
    m.add_argument("--heads", type=int, default=4)
    m.add_argument("--ffn-size", type=int, default=128)
    m.add_argument("--head-scale", type=float, default=40.0)
    r = sub.add_parser("run", help="run transformers.pipeline on an inputs file")
    r.add_argument("--model", required=True)
    r.add_argument("--task", required=True, choices=sorted(AUTO))
    r.add_argument("--inputs", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    if a.cmd == "model":
        print(json.dumps(make(a)))
    else:
        run(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
