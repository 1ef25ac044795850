"""Hugging Face checkpoint folder -> TorchScript file (+ metadata) for hfpipe.

Seam
----
All export code lives here. `export_model()` loads the HF model, wraps it in a
plain-tensor `ExportWrapper`, and hands it to an `Exporter` picked from the
`EXPORTERS` table by format name. Today there is one: "torchscript"
(torch.jit.trace). A `torch.export` / AOTInductor exporter joins later by adding
a class with the same three methods (export, load, file_suffix) to EXPORTERS;
loading, wrapping, metadata and verification are shared.

Why a wrapper, why trace
------------------------
TorchScript is deprecated from torch 2.11 and transformers 5 drops
`torchscript=True`, so nothing here relies on `config.torchscript`: the wrapper
calls the model with `return_dict=False` and returns a plain Tensor (or a
1-tuple with --output-kind tuple), never a ModelOutput dict. Tracing runs in
eval mode, under no_grad, with parameters set to requires_grad=False, and with
`strict=True` (the outputs are plain tensors, so strict costs nothing and would
flag a dict/list output).

What tracing would freeze, and what we do about it (transformers 4.57.6)
------------------------------------------------------------------------
tracing records the ops of one call; Python-side decisions become constants.
We read the installed DistilBERT/BERT source and found these decisions:

1. SDPA mask helper `_prepare_4d_attention_mask_for_sdpa`: in eager mode it
   returns None when the 2-D mask is all ones (then SDPA runs without a mask).
   A trace made that way would have *no mask at all* and silently ignore
   padding forever. 4.57.6 guards this with `torch.jit.is_tracing()` (it always
   expands the mask while tracing). We do not rely on that guard alone: during
   the trace we patch the helper (in the distilbert and bert modules) to always
   build the explicit 4-D additive mask ([B,1,T,T], 0 / finfo.min), and we trace
   with a *padded* batch anyway. test_export.py shows that the unguarded helper
   traced on an all-ones batch gives wrong padded results (the trap is real).
2. `is_causal` (BERT SDPA): `is_decoder and mask is None and tgt_len > 1`; for
   our encoders is_decoder is False, so it is the constant False in every case.
3. position_ids / token_type_ids: taken as `buffer[:, :seq_len]`; the tracer
   records `aten::size` + `slice`, so the length stays dynamic (checked below).
   BERT's token_type_ids are a real input of the export (no buffer slicing).
4. view/reshape sizes use `x.size(0)` (dynamic) and constant head counts.
5. `attention_mask is None -> torch.ones(...)`: the wrapper always passes a mask.
6. `warn_if_padding_and_no_attention_mask` and the flash-attention branch are
   skipped while tracing / not used.

Attention implementation (evidence, CPU, torch 2.10.0): the HF default for both
models is "sdpa", which is what `pipeline(...)` runs. SDPA with the explicit
zero mask is bitwise identical to SDPA with mask=None (the unpadded eager path),
and bitwise identical to eager SDPA with padding; "eager" (matmul+softmax)
differs from SDPA by ~1e-6. So we trace with attn_implementation="sdpa" and
the explicit mask: the TorchScript file then reproduces the pipeline's numbers
bit for bit on CPU, for every shape and padding. ("--attn eager" is available.)

Why the weights' addresses matter
---------------------------------
`from_pretrained` runs the tensors of a memory-mapped model.safetensors in place, where the
file puts them (8 + header length + offset: only 8-byte aligned in most files), while
torch.jit.load copies them to fresh 64-byte aligned memory. libtorch's single-row matrix
products (the classifier on [CLS] at batch 1, every layer of a one-token input) round
differently on the two (seen on AMD EPYC at the CPU's best ISA and on every CPU under forced
ones: up to 32 ulps of the logits). So the export records each tensor's address mod 64 in
the eager model (`parameter_alignment` in the metadata) and every loader places the weights
alike (`place_parameters` here, torch.Module.AlignParameters in Go): then the export runs
eager's very kernels, and the verification demands bitwise equality.

Graph check: we trace a second time on a different shape with an all-ones mask
and require the two graphs to be identical (after dropping source comments):
anything shape- or mask-dependent baked as a constant would show up as a
difference. Then the traced module is run on several shapes (1 token, all
ones, padded, max_position_embeddings) against the un-patched HF model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Protocol, Sequence

import torch
from torch import nn

FORMAT_VERSION = 1

# Weight placement (see "Why the weights' addresses matter" in the module docstring): offsets are
# recorded modulo this many bytes, the widest vector width and cache line of the
# CPUs libtorch dispatches to (AVX-512: 64 bytes).
ALIGN_MODULUS = 64

HEADS = {
    # head name -> (transformers Auto class, output names)
    "base": ("AutoModel", ["last_hidden_state"]),
    "sequence-classification": ("AutoModelForSequenceClassification", ["logits"]),
}
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
TESTED_MODEL_TYPES = {"distilbert", "bert"}

# trace shapes: the file's graph must not depend on them (checked)
TRACE_SHAPE = (2, 11)        # padded: row 1 has 6 real tokens
CHECK_SHAPE = (3, 7)         # all-ones mask, second trace for the graph check


def artifact_stem(head: str, device: str, dtype: str) -> str:
    return f"hfpipe-{head}-{device}-{dtype}"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- model + wrapper


def load_hf_model(model_dir, head: str, dtype: str = "float32", device: str = "cpu",
                  attn_implementation: Optional[str] = "sdpa"):
    """Load the eager transformers model for `head` (eval, no grad)."""
    import transformers

    transformers.logging.set_verbosity_error()
    auto_name, _ = HEADS[head]
    auto_cls = getattr(transformers, auto_name)
    kwargs = {"dtype": DTYPES[dtype]}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    model = auto_cls.from_pretrained(str(model_dir), **kwargs)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(device)


def model_input_names(model) -> list[str]:
    """Ordered inputs of the export: input_ids, attention_mask[, token_type_ids]."""
    import inspect

    names = ["input_ids", "attention_mask"]
    params = inspect.signature(model.forward).parameters
    if "token_type_ids" in params:
        names.append("token_type_ids")
    return names


class ExportWrapper(nn.Module):
    """forward(input_ids, attention_mask[, token_type_ids]) -> Tensor (or 1-tuple)."""

    def __init__(self, model: nn.Module, input_names: Sequence[str], as_tuple: bool = False):
        super().__init__()
        self.model = model
        self.input_names = list(input_names)
        self.as_tuple = as_tuple

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: Optional[torch.Tensor] = None):
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self.input_names:
            kwargs["token_type_ids"] = token_type_ids
        out = self.model(**kwargs, return_dict=False)[0]
        return (out,) if self.as_tuple else out


def make_inputs(batch: int, seq: int, input_names: Sequence[str], lengths: Optional[Sequence[int]] = None,
                vocab_size: int = 30522, device: str = "cpu", seed: int = 0,
                type_vocab_size: int = 2) -> tuple:
    """A batch like a tokenizer makes: [CLS] ids... [SEP], right-padded with 0 to `seq`.

    lengths[i] = real tokens in row i (default: all `seq`, i.e. an all-ones mask).
    """
    g = torch.Generator().manual_seed(seed)
    lengths = list(lengths) if lengths is not None else [seq] * batch
    ids = torch.randint(1000, vocab_size, (batch, seq), generator=g, dtype=torch.long)
    mask = torch.zeros(batch, seq, dtype=torch.long)
    tt = torch.zeros(batch, seq, dtype=torch.long)
    for i, n in enumerate(lengths):
        if not 1 <= n <= seq:
            raise ValueError(f"row length {n} not in 1..{seq}")
        mask[i, :n] = 1
        ids[i, n:] = 0
        ids[i, 0] = 101
        if n > 1:
            ids[i, n - 1] = 102
        if type_vocab_size > 1 and n > 2:
            tt[i, n // 2:n] = 1  # a "second segment", exercises token_type_ids
    out = {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt}
    return tuple(out[n].to(device) for n in input_names)


# ---------------------------------------------------------------- weight placement


def parameter_offsets(model: nn.Module, prefix: str = "model.", modulus: int = ALIGN_MODULUS) -> dict[str, int]:
    """Where each parameter and buffer of the eager model starts, in bytes modulo `modulus`.

    `from_pretrained` uses the tensors of a memory-mapped model.safetensors in place, so they
    start at the file offset's residue (8-byte aligned only: 40 mod 64 in many Hub files);
    tensors it creates or converts start wherever the allocator put them (0 mod 64). Names are
    those of the export (the wrapper's `model.` prefix added)."""
    out = {}
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        if t.device.type == "cpu" and t.numel() > 0:
            out[prefix + name] = int(t.data_ptr() % modulus)
    return out


def place_parameters(module, offsets: dict[str, int], modulus: int = ALIGN_MODULUS) -> int:
    """Move each CPU parameter/buffer of `module` named in `offsets` so that its data starts at
    that residue modulo `modulus` (copying it into fresh memory), as the eager model's did.

    Python's half of what Go's torch.Module.AlignParameters does: with it, the export runs the
    very kernels eager transformers runs (single-row matrix products round differently on
    misaligned memory). Returns the number of tensors moved."""
    moved = 0
    have = dict(list(module.named_parameters()) + list(module.named_buffers()))
    missing = sorted(set(offsets) - set(have))
    if missing:
        raise ExportError(f"the weight placement names tensors the module lacks: {missing[:5]}: re-export")
    with torch.no_grad():
        for name, off in offsets.items():
            t = have[name]
            if t.device.type != "cpu" or t.numel() == 0 or not t.is_contiguous() or t.data_ptr() % modulus == off:
                continue
            if off % t.element_size() != 0 or not 0 <= off < modulus:
                raise ExportError(f"weight placement of {name}: offset {off} is not a multiple of "
                                  f"{t.element_size()} in 0..{modulus - 1}")
            es = t.element_size()
            buf = torch.empty(t.numel() + modulus // es, dtype=t.dtype)
            k = ((off - buf.data_ptr()) % modulus) // es
            buf[k:k + t.numel()].view(t.shape).copy_(t)
            t.set_(buf.untyped_storage(), k, t.shape, t.stride())
            moved += 1
    return moved


# ---------------------------------------------------------------- trace hygiene


def _always_expand_mask(mask: torch.Tensor, dtype: torch.dtype, tgt_len: Optional[int] = None):
    from transformers.modeling_attn_mask_utils import AttentionMaskConverter

    return AttentionMaskConverter._expand_mask(mask=mask, dtype=dtype, tgt_len=tgt_len)


@contextlib.contextmanager
def explicit_attention_mask():
    """Make every SDPA mask helper build the explicit 4-D mask (never None)."""
    import importlib

    patched = []
    for modname in ("transformers.models.distilbert.modeling_distilbert",
                    "transformers.models.bert.modeling_bert",
                    "transformers.modeling_attn_mask_utils"):
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        if hasattr(mod, "_prepare_4d_attention_mask_for_sdpa"):
            patched.append((mod, mod._prepare_4d_attention_mask_for_sdpa))
            mod._prepare_4d_attention_mask_for_sdpa = _always_expand_mask
    try:
        yield
    finally:
        for mod, orig in patched:
            mod._prepare_4d_attention_mask_for_sdpa = orig


_COMMENT = re.compile(r"\s*#.*$", re.M)


def normalized_graph(module) -> str:
    """The inlined graph text without source-location comments and scopes."""
    g = str(module.inlined_graph)
    g = _COMMENT.sub("", g)
    g = re.sub(r", scope: [^\n]*", "", g)
    g = re.sub(r"___torch_mangle_\d+\.", "", g)  # class-name mangling of the second trace
    # value types carry the example's profiled shapes (annotations, not constants)
    g = re.sub(r"\b(Float|Double|Half|BFloat16|Long|Int|Bool)\([^()]*\)", r"\1(...)", g)
    return g


def graph_int_constants(module) -> list[int]:
    vals = []
    for n in module.inlined_graph.nodes():
        if n.kind() == "prim::Constant" and n.output().type().kind() == "IntType":
            vals.append(n.output().toIValue())
    return vals


# ---------------------------------------------------------------- exporters


class Exporter(Protocol):
    """One export format. Add new formats (torch.export, AOTInductor) to EXPORTERS."""

    name: str
    file_suffix: str

    def export(self, wrapper: nn.Module, example_inputs: tuple, path: Path,
               extra_files: dict[str, str]) -> object: ...

    def load(self, path: Path, device: str, offsets: Optional[dict[str, int]] = None) -> Callable: ...


class TorchScriptTraceExporter:
    name = "torchscript"
    file_suffix = ".pt"

    def trace(self, wrapper: nn.Module, example_inputs: tuple):
        import warnings

        with torch.no_grad(), explicit_attention_mask(), warnings.catch_warnings():
            # the one known-benign TracerWarning: `torch.tensor(1.0, dtype)` in the mask helper is a
            # true constant. Every other TracerWarning is still shown.
            warnings.filterwarnings("ignore", message=r"torch\.tensor results are registered as constants",
                                    category=torch.jit.TracerWarning, module=r"transformers\.modeling_attn_mask_utils")
            return torch.jit.trace(wrapper, example_inputs, strict=True, check_trace=False)

    def export(self, wrapper, example_inputs, path, extra_files):
        traced = self.trace(wrapper, example_inputs)
        torch.jit.save(traced, str(path), _extra_files=extra_files)
        return traced

    def load(self, path, device="cpu", offsets=None):
        m = torch.jit.load(str(path), map_location=device)
        m.eval()
        if offsets and str(device).startswith("cpu"):
            place_parameters(m, offsets)
        return m


EXPORTERS: dict[str, Exporter] = {"torchscript": TorchScriptTraceExporter()}


# ---------------------------------------------------------------- verification


def max_abs_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    if a.shape != b.shape:
        raise AssertionError(f"shape mismatch {tuple(a.shape)} vs {tuple(b.shape)}")
    return float((a.detach().double().cpu() - b.detach().double().cpu()).abs().max())


def max_ulps(ref: torch.Tensor, got: torch.Tensor) -> float:
    """The difference in units in the last place of the output's magnitude.

    For each row (the last dimension: one logits vector, one token's hidden state),
    max|got - ref| divided by the spacing of `ref`'s dtype at max|ref| of that row;
    the largest over rows. 0 means bitwise equal (up to the sign of zero); 1 is one
    last-bit step of the row's largest value."""
    if ref.shape != got.shape:
        raise AssertionError(f"shape mismatch {tuple(ref.shape)} vs {tuple(got.shape)}")
    if ref.numel() == 0:
        return 0.0
    r = ref.detach().cpu().double().reshape(-1, ref.shape[-1] if ref.dim() else 1)
    g = got.detach().cpu().double().reshape(r.shape)
    diff = (r - g).abs().amax(dim=1)
    mag = r.abs().amax(dim=1).clamp_min(torch.finfo(ref.dtype).tiny)
    _, e = torch.frexp(mag)                                   # mag = m * 2**e, m in [0.5, 1)
    ulp = torch.ldexp(torch.tensor(torch.finfo(ref.dtype).eps, dtype=torch.float64), e - 1)
    return float((diff / ulp).max())


def run_eager(model, input_names, inputs) -> torch.Tensor:
    """The plain transformers forward (no patches): the reference numbers."""
    with torch.no_grad():
        kwargs = dict(zip(input_names, inputs))
        return model(**kwargs, return_dict=False)[0]


def run_exported(module, inputs) -> torch.Tensor:
    with torch.no_grad():
        out = module(*inputs)
    return out[0] if isinstance(out, tuple) else out


def verify_cases(max_pos: int) -> list[tuple[int, int, Optional[list[int]]]]:
    """(batch, seq, lengths) cases that differ from the trace shape.

    Batch 1 without padding is what pipeline() runs (one text at a time, no mask in
    eager SDPA); its single-row products (the classifier on [CLS], every layer at one
    token) are the ones that round by the weights' alignment."""
    return [
        (1, 1, None),
        (1, 5, None),
        (3, 16, [16, 9, 1]),
        (4, 33, None),
        (2, max_pos, [max_pos, max_pos // 3]),
        (1, max_pos, None),
    ]


def verify_export(module, eager_model, input_names, config, device="cpu", cases=None,
                  seed=1) -> dict:
    max_pos = int(config.max_position_embeddings)
    cases = cases or verify_cases(max_pos)
    results = []
    worst, worst_ulps, nbit = 0.0, 0.0, 0
    for i, (b, t, lengths) in enumerate(cases):
        inputs = make_inputs(b, t, input_names, lengths, vocab_size=config.vocab_size, device=device,
                             seed=seed + i, type_vocab_size=getattr(config, "type_vocab_size", 1))
        ref = run_eager(eager_model, input_names, inputs)
        got = run_exported(module, inputs)
        d, u = max_abs_diff(ref, got), max_ulps(ref, got)
        eq = bool(torch.equal(ref, got))
        worst, worst_ulps, nbit = max(worst, d), max(worst_ulps, u), nbit + eq
        results.append({"batch": b, "seq": t, "padded": lengths is not None and min(lengths) < t,
                        "max_abs_diff": d, "max_ulps": u, "bitwise_equal": eq})
    return {"max_abs_diff": worst, "max_ulps": worst_ulps, "bitwise": f"{nbit}/{len(cases)}",
            "all_bitwise_equal": nbit == len(cases), "cases": results}


def same_kernels(device: str, dtype: str, attn: str, reference_attn: str) -> bool:
    """Whether the export runs the very kernels eager transformers runs, so that only
    bitwise equality passes: float32 on the CPU, the same attention implementation, the
    weights placed as the eager model's (place_parameters), the same threads and ISA
    (both run in this process). Elsewhere (CUDA, half precision, --attn eager against
    SDPA) the comparison is a bound in ulps."""
    return str(device).startswith("cpu") and dtype == "float32" and attn == reference_attn


# Bounds where the kernels differ, in ulps of the output's magnitude (max_ulps). A sanity bound
# that catches a wrong export, not rounding: differences are amplified where outputs cancel (the
# calibrated test classifier's logits). Measured on CPU float32, --attn eager against SDPA, the
# 2-layer DistilBERT test model: 5 ulps at 1 thread, 128 at 2 threads (test_export.py prints it).
# The half-precision bounds are unmeasured (no GPU has run them yet).
DEFAULT_MAX_ULPS = {"float32": 512.0, "float16": 16.0, "bfloat16": 16.0}


# ---------------------------------------------------------------- main entry


@dataclass
class ExportResult:
    path: Path
    metadata_path: Path
    metadata: dict
    module: object          # the file re-loaded with the exporter (what hfpipe runs)
    traced: object = None   # the in-process traced module


class ExportError(RuntimeError):
    pass


def export_model(model_dir, head: str = "sequence-classification", device: str = "cpu",
                 dtype: str = "float32", fmt: str = "torchscript", attn: str = "sdpa",
                 output_kind: str = "tensor", out_dir=None, verify: bool = True,
                 ulps_bound: Optional[float] = None, graph_check: bool = True,
                 allow_untested: bool = False, log=print) -> ExportResult:
    import transformers

    model_dir = Path(model_dir)
    if head not in HEADS:
        raise ExportError(f"unknown head {head!r}; choose from {sorted(HEADS)}")
    if dtype not in DTYPES:
        raise ExportError(f"unknown dtype {dtype!r}; choose from {sorted(DTYPES)}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ExportError("--device cuda requested but torch.cuda.is_available() is False")
    exporter = EXPORTERS[fmt]
    out_dir = Path(out_dir) if out_dir else model_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = artifact_stem(head, device.split(":")[0], dtype)
    path = out_dir / (stem + exporter.file_suffix)
    meta_path = out_dir / (stem + ".json")

    t0 = time.perf_counter()
    model = load_hf_model(model_dir, head, dtype, device, attn)
    config = model.config
    if config.model_type not in TESTED_MODEL_TYPES and not allow_untested:
        raise ExportError(f"model_type {config.model_type!r} is not one of {sorted(TESTED_MODEL_TYPES)} "
                          "(pass --allow-untested to try anyway; verification still runs)")
    if getattr(config, "is_decoder", False):
        raise ExportError("decoder configs are not supported (is_causal would be traced)")
    names = model_input_names(model)
    # where from_pretrained put each weight (before the wrapper or tracing touch them)
    offsets = parameter_offsets(model)
    wrapper = ExportWrapper(model, names, as_tuple=(output_kind == "tuple")).eval()
    type_vocab = getattr(config, "type_vocab_size", 1)
    b, t = TRACE_SHAPE
    example = make_inputs(b, t, names, [t, t - 5], vocab_size=config.vocab_size, device=device, seed=0,
                          type_vocab_size=type_vocab)

    _, outputs = HEADS[head]
    meta = {
        "format_version": FORMAT_VERSION,
        "format": exporter.name,
        "file": path.name,
        "head": head,
        "model_type": config.model_type,
        "architectures": list(getattr(config, "architectures", None) or []),
        "inputs": names,
        "input_dtype": "int64",
        "outputs": outputs,
        "output_kind": output_kind,
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "traced_device": device,
        "dtype": dtype,
        "attn_implementation": model.config._attn_implementation,
        "attention_mask": "explicit 4-D additive mask built inside the graph from the 2-D 0/1 mask",
        "max_position_embeddings": int(config.max_position_embeddings),
        "vocab_size": int(config.vocab_size),
        "pad_token_id": getattr(config, "pad_token_id", None),
        "num_labels": int(config.num_labels) if head == "sequence-classification" else None,
        "id2label": {str(k): v for k, v in config.id2label.items()} if head == "sequence-classification" else None,
        "trace_shape": list(TRACE_SHAPE),
        "requires_grad": False,
        # Loaders re-place each CPU tensor at these byte offsets (mod `modulus`), where the eager
        # transformers model has it, so single-row products round as eager's do.
        "parameter_alignment": {"modulus": ALIGN_MODULUS, "offsets": offsets},
    }
    extra = {"hfpipe/metadata.json": json.dumps(meta, sort_keys=True)}
    t1 = time.perf_counter()
    module = exporter.export(wrapper, example, path, extra)
    t2 = time.perf_counter()

    if graph_check and fmt == "torchscript":
        b2, t2s = CHECK_SHAPE
        ex2 = make_inputs(b2, t2s, names, None, vocab_size=config.vocab_size, device=device, seed=5,
                          type_vocab_size=type_vocab)
        other = exporter.trace(wrapper, ex2)
        g1, g2 = normalized_graph(module), normalized_graph(other)
        if g1 != g2:
            raise ExportError("traced graph depends on the trace inputs (shape or mask): "
                              "a Python-side branch or size was frozen")
        meta["graph_check"] = f"identical graphs for trace shapes {list(TRACE_SHAPE)} padded and {list(CHECK_SHAPE)} all-ones"

    # reload from disk: what hfpipe will run
    loaded = exporter.load(path, device, offsets)
    if verify:
        from .cpuenv import cpu_environment

        # the reference is the un-patched model as transformers runs it by default
        ref_model = load_hf_model(model_dir, head, dtype, device, attn_implementation=None)
        ref_offsets = parameter_offsets(ref_model)
        if ref_offsets != offsets:  # cannot happen with one file and one loader; say so if it does
            raise ExportError("transformers placed the weights differently on two loads of the same file")
        v = verify_export(loaded, ref_model, names, config, device)
        ref_attn = ref_model.config._attn_implementation
        v["reference_attn_implementation"] = ref_attn
        v["environment"] = cpu_environment()
        if same_kernels(device, dtype, meta["attn_implementation"], ref_attn):
            v["promise"] = "bitwise: same kernels, same weight placement, same threads as eager transformers"
            meta["verification"] = v
            if not v["all_bitwise_equal"]:
                raise ExportError(
                    f"export verification failed: bitwise equal to eager transformers in {v['bitwise']} cases "
                    f"(max {v['max_ulps']:.3g} ulps, max_abs_diff {v['max_abs_diff']:.3g}); the export runs the same "
                    f"kernels on the same weight placement, so this is a bug: please report it with this message "
                    f"and {v['environment']}")
        else:
            bound = ulps_bound if ulps_bound is not None else DEFAULT_MAX_ULPS[dtype]
            v["promise"] = f"within {bound:g} ulps of the output's magnitude (kernels differ from eager's)"
            v["max_ulps_allowed"] = bound
            meta["verification"] = v
            if v["max_ulps"] > bound:
                raise ExportError(f"export verification failed: {v['max_ulps']:.3g} ulps (max_abs_diff "
                                  f"{v['max_abs_diff']:.3g}) from eager transformers, over the bound of {bound:g}")
    t3 = time.perf_counter()

    meta["sha256"] = sha256_file(path)
    meta["file_size"] = os.path.getsize(path)
    meta["timings_s"] = {"load": round(t1 - t0, 3), "trace_save": round(t2 - t1, 3),
                         "checks": round(t3 - t2, 3)}
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=False) + "\n")
    if log:
        log(f"wrote {path} ({meta['file_size'] / 1e6:.1f} MB, sha256 {meta['sha256'][:12]}...) and {meta_path.name}")
    return ExportResult(path=path, metadata_path=meta_path, metadata=meta, module=loaded, traced=module)


def load_metadata(path) -> dict:
    path = Path(path)
    if path.suffix != ".json":
        path = path.with_suffix(".json")
    return json.loads(path.read_text())
