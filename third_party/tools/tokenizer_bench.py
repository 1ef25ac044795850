"""Speed of Hugging Face tokenizers on a corpus, to compare with the Go tokenizer.

    python tokenizer_bench.py TOKENIZER_JSON CORPUS_JSON THREADS

CORPUS_JSON is {"texts": [{"t": str} | {"b": base64 bytes}]} (invalid UTF-8
decoded with errors="replace"). Prints one JSON object: tokens per pass and
tokens/s for encode() one text at a time on one thread, and for
encode_batch() on THREADS rayon threads. Special tokens are added, no
padding or truncation, as the Go benchmarks do.
"""
import base64
import json
import os
import sys
import time

THREADS = sys.argv[3] if len(sys.argv) == 4 else "2"
# Rayon sizes its pool once, at first use; tokenizers reads
# TOKENIZERS_PARALLELISM on every call.
os.environ["RAYON_NUM_THREADS"] = THREADS
os.environ["RAYON_RS_NUM_CPUS"] = THREADS

from tokenizers import Tokenizer  # noqa: E402


def rate(tokens, f, seconds=3.0):
    f()  # warm up
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        f()
        n += 1
    return tokens * n / (time.perf_counter() - start)


def main(path, corpus):
    tok = Tokenizer.from_file(path)
    tok.no_padding()
    tok.no_truncation()
    with open(corpus, encoding="utf-8") as f:
        items = json.load(f)["texts"]
    texts = [base64.b64decode(x["b"]).decode("utf-8", errors="replace") if "b" in x else x["t"] for x in items]
    tokens = sum(len(tok.encode(t).ids) for t in texts)

    os.environ["TOKENIZERS_PARALLELISM"] = "false"

    def single():
        for t in texts:
            tok.encode(t)

    s = rate(tokens, single)
    os.environ["TOKENIZERS_PARALLELISM"] = "true"
    b = rate(tokens, lambda: tok.encode_batch(texts))
    print(json.dumps({"tokens": tokens, "texts": len(texts), "threads": int(THREADS),
                      "single_tokens_per_s": s, "batch_tokens_per_s": b}))


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
