#!/usr/bin/env python3
"""hfpipe export tool: Hugging Face DistilBERT/BERT checkpoint folder -> TorchScript.

Commands (the first word may be left out: it defaults to `export`):

  export     write hfpipe-{head}-{device}-{dtype}.pt + .json beside the model
  reference  TorchScript vs eager vs pipeline reference outputs as exact JSON
  inspect    print a .pt's metadata, TorchScript code and integer constants

Examples (from the repo root):
  .venv/bin/python third_party/tools/export.py --model DIR --head sequence-classification
  .venv/bin/python third_party/tools/export.py export --model DIR --head base --device cpu --dtype float32
  .venv/bin/python third_party/tools/export.py reference --model DIR --head sequence-classification \\
        --inputs inputs.json --out out.json --threads 1
  .venv/bin/python third_party/tools/export.py reference --model DIR --text "I hate this so much!" --out -
  .venv/bin/python third_party/tools/export.py inspect DIR/hfpipe-sequence-classification-cpu-float32.pt

Run `export.py COMMAND --help` for each command's options. Exit status 0 on
success, 1 on an export/verification error (message on stderr), 2 on bad usage.
Design notes: third_party/tools/hfpipe_tools/README.md and hfpipe_tools/exporting.py.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

COMMANDS = ("export", "reference", "inspect")

REFERENCE_HELP = """\
Reference outputs for hfpipe's Go tests, with exact float encodings.

For the token-id batches and/or texts given, runs
  (a) the TorchScript export via torch.jit.load (what hfpipe runs from Go),
  (b) the eager transformers model (default attention implementation = what
      pipeline() runs),
  (c) transformers.pipeline("sentiment-analysis", model=DIR, tokenizer=DIR,
      truncation=True) on the texts (sequence-classification head only),
and the tokenizer on the texts (padded batch as in the course, and per text).

inputs JSON (every key optional; a bare JSON list is taken as texts):
  {"batches": [{"name": "pad2",
                "input_ids":      [[101, 2023, 102], [101, 102, 0]],
                "attention_mask": [[1, 1, 1], [1, 1, 0]],
                "token_type_ids": [[0, 0, 0], [0, 0, 0]]}],   (BERT only; zeros if left out)
   "texts": ["I've been waiting for a HuggingFace course my whole life.", "I hate this so much!"]}

output JSON (full description: hfpipe_tools/README.md):
  environment: {cpu, aten_cpu_capability, onednn_isa, threads, env, torch}   (the kernels this run used)
  batches[i]: {name, input_shape, output, torchscript: TENSOR, eager: TENSOR, max_abs_diff, max_ulps, bitwise_equal}
  texts: {texts, tokenizer: {padded: {input_ids, attention_mask[, token_type_ids]},
                             per_text: [{input_ids, tokens, offsets[, token_type_ids]}]},
          padded_batch: like batches[i], per_text_batches: [like batches[i]] (batch of 1, no padding,
          as the pipeline runs), pipeline: [{label, score, score_f32_hex}],
          pipeline_all_scores: [[{label, score, score_f32_hex}, ...]]  (top_k=None)}
  TENSOR = {dtype, shape, byte_order: "little", data_b64: base64 of the raw little-endian
            C-order values, sha256: of those bytes}
  score_f32_hex = the float32 bit pattern as 8 hex digits (Go: fmt.Sprintf("%08x", math.Float32bits(s)))
"""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="model folder (config.json, weights, tokenizer files)")
    p.add_argument("--head", choices=["base", "sequence-classification"], default="sequence-classification",
                   help="base = AutoModel -> last_hidden_state; sequence-classification = "
                        "AutoModelForSequenceClassification -> logits (default)")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]; a trace is only valid on "
                                                   "the device kind it was traced on")
    p.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default="float32",
                   help="weights/activations dtype (default float32)")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")


def build_parsers():
    top = argparse.ArgumentParser(
        prog="export.py", description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="command", metavar="COMMAND")

    ex = sub.add_parser("export", help="trace and save a TorchScript file + metadata",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                        description="Trace the model through a plain-tensor wrapper and save "
                                    "hfpipe-{head}-{device}-{dtype}.pt and .json beside it (or in --out-dir). "
                                    "Checks that the graph does not depend on the trace shape/mask and that "
                                    "the saved file matches the eager transformers model on several shapes.")
    _common(ex)
    ex.add_argument("--format", default="torchscript", choices=["torchscript"],
                    help="export format (the Exporter table in hfpipe_tools/exporting.py)")
    ex.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"],
                    help="attention implementation traced (sdpa = transformers' default, bitwise equal "
                         "to the pipeline on CPU)")
    ex.add_argument("--output-kind", default="tensor", choices=["tensor", "tuple"],
                    help="forward returns a Tensor or a 1-tuple (Tensor,)")
    ex.add_argument("--out-dir", default=None, help="write the files here instead of beside the model")
    ex.add_argument("--no-verify", action="store_true", help="skip the traced-vs-eager check")
    ex.add_argument("--no-graph-check", action="store_true", help="skip the second trace / graph comparison")
    ex.add_argument("--max-ulps", type=float, default=None,
                    help="where the export cannot run eager's kernels (CUDA, half precision, --attn eager): "
                         "the largest difference allowed, in ulps of the output's magnitude (default 512 "
                         "float32, 16 half). float32 on the CPU with the same attention must be bitwise equal.")
    ex.add_argument("--allow-untested", action="store_true",
                    help="allow model types other than distilbert/bert (verification still runs)")

    rf = sub.add_parser("reference", help="reference outputs (TorchScript, eager, pipeline) as exact JSON",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        description=REFERENCE_HELP)
    _common(rf)
    rf.add_argument("--inputs", default=None,
                    help="inputs JSON ({'batches': [...], 'texts': [...]}, or a list of texts); '-' = stdin")
    rf.add_argument("--text", action="append", default=None, help="a text (repeatable); added to the inputs' texts")
    rf.add_argument("--out", default="-", help="output JSON file ('-' = stdout, default)")
    rf.add_argument("--export", default=None,
                    help="the .pt to load (default: DIR/hfpipe-{head}-{device}-{dtype}.pt, its .json beside it)")
    rf.add_argument("--eager-attn", default=None, choices=["sdpa", "eager"],
                    help="attention implementation of the eager model (default: transformers' default)")
    rf.add_argument("--no-torchscript", action="store_true", help="skip the TorchScript run")
    rf.add_argument("--no-eager", action="store_true", help="skip the eager transformers run")
    rf.add_argument("--no-pipeline", action="store_true", help="skip transformers.pipeline")
    rf.add_argument("--digest-only", action="store_true",
                    help="write tensors without data_b64 (sha256, shape, max_abs_diff and bitwise_equal stay): "
                         "for large outputs such as last_hidden_state, compared by digest")
    rf.add_argument("--indent", type=int, default=None, help="pretty-print the JSON with this indent")

    ins = sub.add_parser("inspect", help="print metadata, code and int constants of a .pt")
    ins.add_argument("path", help="the .pt file")
    ins.add_argument("--graph", action="store_true", help="print the full inlined graph too")
    return top, {"export": ex, "reference": rf, "inspect": ins}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    top, _ = build_parsers()
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        argv = ["export"] + argv
    args = top.parse_args(argv)
    if not args.command:
        top.print_help()
        return 2

    import torch

    if args.command == "inspect":
        from hfpipe_tools.exporting import graph_int_constants, load_metadata

        m = torch.jit.load(args.path, map_location="cpu")
        try:
            print(json.dumps(load_metadata(args.path), indent=2))
        except FileNotFoundError:
            print("(no metadata .json beside the file)")
        print(m.code)
        ops = {}
        for n in m.inlined_graph.nodes():
            if n.kind().startswith("aten::"):
                ops[n.kind()] = ops.get(n.kind(), 0) + 1
        print("aten ops in the inlined graph:", ", ".join(f"{k} x{v}" for k, v in sorted(ops.items())))
        print("int constants in the inlined graph:", sorted(set(graph_int_constants(m))))
        if args.graph:
            print(m.inlined_graph)
        return 0

    torch.set_num_threads(args.threads)
    from hfpipe_tools.exporting import ExportError, export_model

    if args.command == "export":
        try:
            res = export_model(args.model, head=args.head, device=args.device, dtype=args.dtype,
                               fmt=args.format, attn=args.attn, output_kind=args.output_kind,
                               out_dir=args.out_dir, verify=not args.no_verify, ulps_bound=args.max_ulps,
                               graph_check=not args.no_graph_check, allow_untested=args.allow_untested,
                               log=lambda s: print(s, file=sys.stderr))
        except ExportError as e:
            print(f"export.py: error: {e}", file=sys.stderr)
            return 1
        md = res.metadata
        print(json.dumps({"file": str(res.path), "metadata": str(res.metadata_path), "sha256": md["sha256"],
                          "file_size": md["file_size"], "inputs": md["inputs"], "outputs": md["outputs"],
                          "verification": {k: md.get("verification", {}).get(k) for k in
                                           ("promise", "bitwise", "max_ulps", "max_abs_diff")},
                          "timings_s": md["timings_s"]}, indent=2))
        return 0

    from hfpipe_tools.reference import load_inputs, run_reference

    inputs = load_inputs(args.inputs, args.text)
    if not inputs.get("batches") and not inputs.get("texts"):
        print("export.py reference: error: give --inputs FILE and/or --text TEXT", file=sys.stderr)
        return 2
    res = run_reference(args.model, inputs, head=args.head, device=args.device, dtype=args.dtype,
                        export_path=args.export, threads=args.threads, eager_attn=args.eager_attn,
                        do_torchscript=not args.no_torchscript, do_eager=not args.no_eager,
                        do_pipeline=not args.no_pipeline)
    if args.digest_only:
        _drop_data(res)
    text = json.dumps(res, indent=args.indent)
    if args.out == "-":
        print(text)
    else:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


def _drop_data(v):
    if isinstance(v, dict):
        v.pop("data_b64", None)
        for x in v.values():
            _drop_data(x)
    elif isinstance(v, list):
        for x in v:
            _drop_data(x)


if __name__ == "__main__":
    sys.exit(main())
