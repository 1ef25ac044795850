"""Reference outputs of Hugging Face's fast tokenizer for the Go parity test.

    python tokenizer_reference.py CORPUS_JSON OUT_JSON

CORPUS_JSON: {"texts": [{"t": str} | {"b": base64 bytes}], "pairs": [[i, j]],
              "folders": {name: dir},
              "runs": [{"folder": name, "setting": {...}}]}
A setting: {"name", "input": "single"|"pair", "batch": rows per call (0: one
call per row), "padding", "truncation", "max_length", "padding_side",
"truncation_side", "pad_to_multiple_of", "add_special_tokens", "decode"}.
Invalid UTF-8 arrives as base64 and is decoded with errors="replace", as the
Go side does. Each folder is loaded with transformers.AutoTokenizer (fast).

OUT_JSON: {"runs": [{"folder", "name", "rows": [row]}]} where a row is
{"ids", "tt", "am", "stm", "off", "tok"} (plus "dec", "dec_skip" when the
setting asks for decoding) or {"err": message}.
"""
import base64
import json
import sys

from transformers import AutoTokenizer


def text_of(item):
    if "b" in item:
        return base64.b64decode(item["b"]).decode("utf-8", errors="replace")
    return item["t"]


def call(tok, s, inputs):
    kw = dict(
        padding=s.get("padding", False),
        truncation=s.get("truncation", None),
        max_length=s.get("max_length", None),
        pad_to_multiple_of=s.get("pad_to_multiple_of", None),
        add_special_tokens=s.get("add_special_tokens", True),
        return_token_type_ids=True,
        return_attention_mask=True,
        return_special_tokens_mask=True,
        return_offsets_mapping=True,
    )
    if s.get("padding_side"):
        kw["padding_side"] = s["padding_side"]
    if s["input"] == "pair":
        enc = tok([a for a, _ in inputs], [b for _, b in inputs], **kw)
    else:
        enc = tok(inputs, **kw)
    rows = []
    for k in range(len(inputs)):
        row = {
            "ids": enc["input_ids"][k],
            "tt": enc["token_type_ids"][k],
            "am": enc["attention_mask"][k],
            "stm": enc["special_tokens_mask"][k],
            "off": [list(o) for o in enc["offset_mapping"][k]],
            "tok": enc.encodings[k].tokens,
        }
        if s.get("decode"):
            row["dec"] = tok.decode(row["ids"], skip_special_tokens=False)
            row["dec_skip"] = tok.decode(row["ids"], skip_special_tokens=True)
        rows.append(row)
    return rows


def main(corpus_path, out_path):
    with open(corpus_path, encoding="utf-8") as f:
        corpus = json.load(f)
    texts = [text_of(x) for x in corpus["texts"]]
    pairs = [(texts[i], texts[j]) for i, j in corpus["pairs"]]
    toks = {}
    out = {"runs": []}
    for run in corpus["runs"]:
        s = run["setting"]
        name = run["folder"]
        if name not in toks:
            toks[name] = AutoTokenizer.from_pretrained(corpus["folders"][name], use_fast=True)
            assert toks[name].is_fast
        tok = toks[name]
        tok.truncation_side = s.get("truncation_side") or "right"
        inputs = pairs if s["input"] == "pair" else texts
        size = s.get("batch") or 1
        rows = []
        for i in range(0, len(inputs), size):
            chunk = inputs[i : i + size]
            try:
                rows.extend(call(tok, s, chunk))
            except Exception as e:  # a truncation strategy that cannot fit
                if size != 1:
                    raise
                rows.append({"err": str(e)})
        out["runs"].append({"folder": name, "name": s["name"], "rows": rows})
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
