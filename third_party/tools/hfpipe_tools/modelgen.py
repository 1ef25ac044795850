"""Build a complete, Hub-like model folder with random weights (no Hub needed).

The folder looks like a snapshot of `distilbert-base-uncased-finetuned-sst-2-english`
(or a bert-base-uncased classifier): config.json with the real config (id2label
NEGATIVE/POSITIVE, finetuning_task sst-2, ...), model.safetensors, tokenizer.json,
tokenizer_config.json, special_tokens_map.json and vocab.txt built from the real
uncased vocabulary, plus a README.md model card saying the weights are random.

Weights are drawn by transformers' own `_init_weights` (normal, std
`initializer_range`=0.02) after `torch.manual_seed(seed)`, so the same seed gives
byte-identical safetensors with the pinned torch/transformers.

Classifier head ("calibration"): with std-0.02 random weights the [CLS] vector
varies little between sentences compared with its common part, so every sentence
gets the same label with a score near 0.5, and a label-agreement test would
prove nothing. We therefore re-scale and re-centre the final `classifier` layer
only (every other tensor is the plain random init):
  * run the random model (in float64, so the result does not depend on the CPU's
    float32 kernels) over a fixed built-in list of ordinary sentences,
  * scale `classifier.weight` so the logit margin between the labels has a
    standard deviation of ~3 over that list (scores spread over ~0.5..0.99),
  * set `classifier.bias` to minus the mean logits over the list, so the labels
    split roughly half/half over ordinary English.
The scale is rounded to a multiple of 1/16 and the bias to a multiple of 2**-12,
so last-bit differences between machines cannot change the written weights.
The labels mean nothing (this is not a sentiment model); they are merely varied.
Pass calibrate_head=False (--no-calibrate-head) for the plain random init.
"""

from __future__ import annotations

import copy
import glob
import hashlib
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

VOCAB_REL = "pretrained/model/bert-base-uncased-vocab.txt"
TOKENIZER_MODULE = "github.com/sugarme/tokenizer"

ID2LABEL = {0: "NEGATIVE", 1: "POSITIVE"}
LABEL2ID = {"NEGATIVE": 0, "POSITIVE": 1}

# The config of distilbert-base-uncased-finetuned-sst-2-english, as on the Hub.
DISTILBERT_SST2_CONFIG = {
    "activation": "gelu",
    "architectures": ["DistilBertForSequenceClassification"],
    "attention_dropout": 0.1,
    "dim": 768,
    "dropout": 0.1,
    "finetuning_task": "sst-2",
    "hidden_dim": 3072,
    "id2label": ID2LABEL,
    "initializer_range": 0.02,
    "label2id": LABEL2ID,
    "max_position_embeddings": 512,
    "model_type": "distilbert",
    "n_heads": 12,
    "n_layers": 6,
    "output_past": True,
    "pad_token_id": 0,
    "qa_dropout": 0.1,
    "seq_classif_dropout": 0.2,
    "sinusoidal_pos_embds": False,
    "tie_weights_": True,
    "vocab_size": 30522,
}

# bert-base-uncased's config with a 2-label sequence-classification head.
BERT_SST2_CONFIG = {
    "architectures": ["BertForSequenceClassification"],
    "attention_probs_dropout_prob": 0.1,
    "classifier_dropout": None,
    "finetuning_task": "sst-2",
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "id2label": ID2LABEL,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "label2id": LABEL2ID,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 512,
    "model_type": "bert",
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "pad_token_id": 0,
    "position_embedding_type": "absolute",
    "type_vocab_size": 2,
    "use_cache": True,
    "vocab_size": 30522,
}

# (layers, hidden, heads, ffn) keys per architecture
_SHAPE_KEYS = {
    "distilbert": ("n_layers", "dim", "n_heads", "hidden_dim"),
    "bert": ("num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size"),
}

# Ordinary sentences used only to centre/scale the random classifier head.
CALIBRATION_SENTENCES = [
    "The meeting has been moved to Thursday afternoon.",
    "She bought a new bicycle last week.",
    "I really enjoyed the concert, the band was amazing.",
    "This is the worst service I have ever experienced.",
    "The train was late again this morning.",
    "Our team won the match after a long fight.",
    "Please remember to water the plants.",
    "He said the soup tasted a bit too salty.",
    "What time does the museum open on Sundays?",
    "The book was boring and far too long.",
    "We had a lovely dinner with old friends.",
    "My phone battery died in the middle of the call.",
    "The children played in the garden all day.",
    "I can't believe how expensive everything has become.",
    "The new update fixed most of the bugs.",
    "It rained for three days without stopping.",
    "Thank you so much for your help yesterday!",
    "The hotel room was dirty and smelled of smoke.",
    "They are planning a trip to the mountains.",
    "The lecture explained the topic very clearly.",
    "I lost my keys somewhere in the house.",
    "This recipe is simple, quick and delicious.",
    "Nobody answered the phone at the office.",
    "The film's ending left me completely confused.",
    "Grandma knitted a warm scarf for winter.",
    "The software crashes every time I open it.",
    "A quiet walk by the river always calms me down.",
    "The price is fair for what you get.",
    "I waited an hour and the package never came.",
    "The kids laughed at the clown's silly jokes.",
    "Traffic was terrible on the way home.",
    "The garden looks beautiful in spring.",
]


def _repo_root() -> Optional[Path]:
    p = Path(__file__).resolve()
    for parent in p.parents:
        if (parent / "go.mod").exists():
            return parent
    return None


def find_vocab() -> Path:
    """Locate the real bert-base-uncased vocabulary (30522 tokens).

    Order: $HFPIPE_VOCAB; `go list -m -f {{.Dir}} github.com/sugarme/tokenizer`
    run in the repo root; $GOMODCACHE / ~/go/pkg/mod glob.
    """
    env = os.environ.get("HFPIPE_VOCAB")
    if env:
        return Path(env)
    root = _repo_root()
    if root is not None:
        try:
            out = subprocess.run(
                ["go", "list", "-m", "-f", "{{.Dir}}", TOKENIZER_MODULE],
                cwd=root, capture_output=True, text=True, timeout=60,
            )
            d = out.stdout.strip()
            if out.returncode == 0 and d and (Path(d) / VOCAB_REL).exists():
                return Path(d) / VOCAB_REL
        except (OSError, subprocess.SubprocessError):
            pass
    caches = [os.environ.get("GOMODCACHE"), os.path.join(os.environ.get("GOPATH", os.path.expanduser("~/go")), "pkg/mod")]
    for c in caches:
        if not c:
            continue
        hits = sorted(glob.glob(os.path.join(c, "github.com/sugarme/tokenizer@*", VOCAB_REL)))
        if hits:
            return Path(hits[-1])
    raise FileNotFoundError(
        "uncased vocabulary not found: pass --vocab PATH or set HFPIPE_VOCAB "
        f"(it ships in the Go module {TOKENIZER_MODULE} at {VOCAB_REL})"
    )


@dataclass
class ModelSpec:
    arch: str = "distilbert"            # distilbert | bert
    seed: int = 0
    layers: Optional[int] = None        # default: 6 (distilbert) / 12 (bert)
    hidden_size: Optional[int] = None   # test-only shape knobs (default: real shape)
    heads: Optional[int] = None
    ffn_size: Optional[int] = None
    calibrate_head: bool = True
    target_margin_std: float = 3.0
    extra_config: dict = field(default_factory=dict)
    # Where the tensors of model.safetensors start, mod 64 (layout.py): None keeps the writer's
    # layout (DistilBERT/BERT: 40 mod 64, as many Hub files); 0 is aligned, 8 the least aligned.
    tensor_offset: Optional[int] = None

    def config_dict(self) -> dict:
        if self.arch == "distilbert":
            cfg = copy.deepcopy(DISTILBERT_SST2_CONFIG)
        elif self.arch == "bert":
            cfg = copy.deepcopy(BERT_SST2_CONFIG)
        else:
            raise ValueError(f"unknown arch {self.arch!r} (distilbert|bert)")
        kl, kh, kn, kf = _SHAPE_KEYS[self.arch]
        if self.layers is not None:
            cfg[kl] = int(self.layers)
        if self.hidden_size is not None:
            cfg[kh] = int(self.hidden_size)
        if self.heads is not None:
            cfg[kn] = int(self.heads)
        if self.ffn_size is not None:
            cfg[kf] = int(self.ffn_size)
        if cfg[kh] % cfg[kn] != 0:
            raise ValueError(f"hidden size {cfg[kh]} is not a multiple of heads {cfg[kn]}")
        cfg.update(self.extra_config)
        return cfg


def _build_tokenizer(arch: str, vocab: Path):
    from transformers import BertTokenizerFast, DistilBertTokenizerFast

    cls = DistilBertTokenizerFast if arch == "distilbert" else BertTokenizerFast
    return cls(vocab_file=str(vocab), do_lower_case=True, model_max_length=512)


def _classifier_features(model, arch: str, enc) -> "torch.Tensor":
    """The input of model.classifier for a tokenised batch (eval mode, no dropout)."""
    import torch

    with torch.no_grad():
        if arch == "distilbert":
            h = model.distilbert(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])[0][:, 0]
            return torch.relu(model.pre_classifier(h))
        out = model.bert(
            input_ids=enc["input_ids"],
            attention_mask=enc["attention_mask"],
            token_type_ids=enc.get("token_type_ids"),
        )
        return out[1]  # pooler output


def _calibrate_head(model, arch: str, tokenizer, target_std: float) -> dict:
    import torch

    m64 = copy.deepcopy(model).double().eval()
    enc = tokenizer(CALIBRATION_SENTENCES, padding=True, truncation=True, return_tensors="pt")
    feats = _classifier_features(m64, arch, enc)  # float64 [N, F]
    w = model.classifier.weight.detach().double()  # [L, F]
    raw = feats @ w.T                               # [N, L] logits without bias
    if raw.shape[1] >= 2:
        margin_std = float((raw[:, 1] - raw[:, 0]).std())
    else:
        margin_std = float(raw[:, 0].std())
    scale = target_std / max(margin_std, 1e-12)
    scale = max(round(scale * 16) / 16, 1 / 16)
    bias = -(raw * scale).mean(dim=0)
    bias = torch.round(bias * 4096) / 4096
    with torch.no_grad():
        model.classifier.weight.copy_((w * scale).float())
        model.classifier.bias.copy_(bias.float())
    logits = raw * scale + bias
    labels = logits.argmax(dim=1).tolist()
    return {
        "classifier_weight_scale": scale,
        "classifier_bias": [float(b) for b in bias],
        "calibration_sentences": len(CALIBRATION_SENTENCES),
        "calibration_label_counts": {str(i): labels.count(i) for i in sorted(set(labels))},
    }


def _offsets(weights: Path) -> dict:
    from .layout import tensor_offsets

    return tensor_offsets(weights)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_CARD = """---
license: apache-2.0
tags: [hfpipe-test-model, random-weights]
---
# hfpipe random test model ({arch})

**Random weights — not a sentiment model.** Built by `third_party/tools/make_model.py`
for hfpipe's tests, with the real `{ref}` configuration
({layers} layers) and the real uncased vocabulary, so that shapes, tokenisation and
the pipeline's post-processing are exactly those of the real checkpoint.

- seed: {seed}
- parameters: {params}
- classifier head calibration: {calib}
- model.safetensors sha256: {sha}

Labels (NEGATIVE/POSITIVE) are arbitrary but vary between ordinary sentences.
"""


def make_model(out: Path, spec: ModelSpec, vocab: Optional[Path] = None, quiet: bool = True) -> dict:
    """Write the model folder to `out`; return a summary dict."""
    import torch
    import transformers
    from transformers import AutoConfig, AutoModelForSequenceClassification

    if quiet:
        transformers.logging.set_verbosity_error()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    vocab = Path(vocab) if vocab else find_vocab()

    cfg_dict = spec.config_dict()
    model_type = cfg_dict.pop("model_type")
    config = AutoConfig.for_model(model_type, **cfg_dict)

    tokenizer = _build_tokenizer(spec.arch, vocab)
    if len(tokenizer) != config.vocab_size:
        raise ValueError(f"vocabulary has {len(tokenizer)} tokens, config says {config.vocab_size}")

    torch.manual_seed(spec.seed)
    model = AutoModelForSequenceClassification.from_config(config)
    model.eval()

    calib = None
    if spec.calibrate_head:
        calib = _calibrate_head(model, spec.arch, tokenizer, spec.target_margin_std)

    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)

    # keep the Hub snapshot file set: config, weights, tokenizer files, model card
    weights = out / "model.safetensors"
    if spec.tensor_offset is not None:
        from .layout import relayout

        relayout(weights, spec.tensor_offset)
    sha = sha256_file(weights)
    params = sum(p.numel() for p in model.parameters())
    kl = _SHAPE_KEYS[spec.arch][0]
    ref = (
        "distilbert-base-uncased-finetuned-sst-2-english"
        if spec.arch == "distilbert"
        else "bert-base-uncased (+ 2-label head)"
    )
    (out / "README.md").write_text(
        _CARD.format(
            arch=spec.arch, ref=ref, layers=cfg_dict[kl], seed=spec.seed, params=params,
            calib=json.dumps(calib) if calib else "none (plain random init)", sha=sha,
        )
    )
    return {
        "out": str(out),
        "arch": spec.arch,
        "seed": spec.seed,
        "layers": cfg_dict[kl],
        "parameters": params,
        "model_safetensors_sha256": sha,
        "tensor_offsets_mod_64": sorted(set(_offsets(weights).values())),
        "vocab": str(vocab),
        "calibration": calib,
        "files": sorted(p.name for p in out.iterdir()),
    }
