#!/usr/bin/env python3
"""Python side of hfpipe's `make bench` (driven by bench/cmd/hfbench).

    python bench_python.py COMMAND --job JOB.json --out RESULT.json

Commands (each reads one JSON job and writes one JSON result):

  versions   {} -> python, torch, transformers, tokenizers, numpy versions, torch threads
  cell       one (batch size, text length) cell, driven command by command on stdin in
             step with the Go processes (hfbench's cell protocol: warm/rep e2e|fwd, mark,
             done): transformers.pipeline("sentiment-analysis", model=DIR)(texts,
             batch_size=bs, truncation=True) end to end (e2e), the peak RSS of this process
             at `mark` (resource.getrusage, before anything else is loaded), and the forward
             pass alone (fwd): the same TorchScript file hfpipe runs, via torch.jit.load
             under torch.inference_mode().
             job: {model, export, inputs, threads, bs, texts, warmup, reps, rep_seconds,
                   min_calls, rewarm_below}
  corpus-ref the yardstick of the bucketing case: transformers.pipeline("sentiment-analysis",
             model=DIR) on the first `texts` lines of the corpus file hfbench's Go side reads,
             in input order, at batch_size=`bs` (unsorted batches padded to their longest
             text, as Go's unbucketed run) and at batch_size=1 (no padding); the results
             of both, so that hfbench can show how far Python's own scores move when only
             the batching changes.
             job: {model, file, texts, bs, threads}
  tokenizer  Hugging Face `tokenizers` (Rust, the fast tokenizer of the model folder)
             on a list of texts: encode() one text at a time on one thread, and
             encode_batch() on THREADS rayon threads; special tokens, no padding or
             truncation (what the Go side does).
             job: {tokenizer_json, texts, threads, warmup, reps, rep_seconds}
  roofline   the machine's bounds for the report's roofline, per thread count: memory
             bandwidth (STREAM-like copy and triad with torch's kernels) and the float32
             GEMM peak (torch.mm of large square matrices).
             job: {threads: [counts]}

Timing scheme (the Go side uses the same one, bench/measure.go): `warmup` untimed calls of
the exact shape (TorchScript's profiling executor specialises on its first calls), then
`reps` repetitions, each running calls until `rep_seconds` have passed and at least
`min_calls` calls were made. Every call's latency is recorded. In a cell, a repetition
starts with one untimed call when calls are shorter than `rewarm_below` seconds, since the
other processes ran in between.
"""
import argparse
import json
import os
import platform
import sys
import time


def measure(call, warmup, reps, rep_seconds, min_calls=1):
    """Runs call() warmup times untimed, then reps timed repetitions."""
    for _ in range(warmup):
        call()
    out = []
    for _ in range(reps):
        lat = []
        start = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            call()
            lat.append(time.perf_counter() - t0)
            if len(lat) >= min_calls and time.perf_counter() - start >= rep_seconds:
                break
        out.append({"calls": len(lat), "seconds": time.perf_counter() - start, "latencies": lat})
    return out


def peak_rss_kb():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def cmd_versions(job):
    import numpy
    import tokenizers
    import torch
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "numpy": numpy.__version__,
        "torch_num_threads_default": torch.get_num_threads(),
        "torch_parallel_info": torch.__config__.parallel_info(),
    }


def one_rep(call, rep_seconds, min_calls=1):
    """One timed repetition: calls until rep_seconds have passed and min_calls were made.
    call() returns the latency to record."""
    lat = []
    start = time.perf_counter()
    while True:
        lat.append(call())
        if len(lat) >= max(min_calls, 1) and time.perf_counter() - start >= rep_seconds:
            break
    return {"calls": len(lat), "seconds": time.perf_counter() - start, "latencies": lat}


def cmd_cell(job):
    """Serves hfbench's cell protocol (bench/cmd/hfbench/worker.go, serveCell):
    commands on stdin, one reply line each ("ok" / "error: ...") on the real stdout;
    anything else printing to stdout goes to stderr instead."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    t_start = time.perf_counter()
    import torch
    import transformers

    torch.set_num_threads(job["threads"])
    transformers.logging.set_verbosity_error()
    t_import = time.perf_counter() - t_start

    bs, texts = job["bs"], job["texts"]
    if len(texts) % bs:
        raise SystemExit(f"bench_python: {len(texts)} texts is not a multiple of batch size {bs}")
    batches = [texts[i:i + bs] for i in range(0, len(texts), bs)]

    t0 = time.perf_counter()
    pipe = transformers.pipeline("sentiment-analysis", model=job["model"], tokenizer=job["model"], device="cpu")
    out = {"import_seconds": t_import, "load_seconds": time.perf_counter() - t0,
           "threads": torch.get_num_threads(), "e2e": [], "forward": [], "first_results": []}
    state = {"e2e": 0, "fwd": 0, "module": None, "tensors": None}
    last = {}

    def e2e():
        b = batches[state["e2e"] % len(batches)]
        state["e2e"] += 1
        t = time.perf_counter()
        r = pipe(b, batch_size=bs, truncation=True)
        lat = time.perf_counter() - t
        if len(r) != bs:
            raise RuntimeError(f"pipeline returned {len(r)} results for {bs} texts")
        if not out["first_results"]:
            out["first_results"] = [{"label": x["label"], "score": float(x["score"])} for x in r]
            out["first_call_seconds"] = lat
        elif state["e2e"] == 2:
            out["second_call_seconds"] = lat
        return lat

    def fwd():
        if state["module"] is None:
            module = torch.jit.load(os.path.join(job["model"], job["export"]))
            module.eval()
            # The batches the pipeline's collate step builds: the ids Go feeds its module.
            tensors = []
            for b in batches:
                enc = pipe.tokenizer(b, padding=True, truncation=True, return_tensors="pt")
                tensors.append([enc[name] for name in job["inputs"]])
            state["module"], state["tensors"] = module, tensors
            out["forward_shape"] = list(tensors[0][0].shape)
        args = state["tensors"][state["fwd"] % len(state["tensors"])]
        state["fwd"] += 1
        t = time.perf_counter()
        with torch.inference_mode():
            state["module"](*args)
        return time.perf_counter() - t

    calls = {"e2e": e2e, "fwd": fwd}
    keys = {"e2e": "e2e", "fwd": "forward"}

    def timed(phase):
        lat = calls[phase]()
        last[phase] = lat
        return lat

    print("ready", file=proto)
    for line in sys.stdin:
        f = line.split()
        if not f:
            continue
        try:
            if f[0] == "warm":
                for _ in range(job["warmup"]):
                    timed(f[1])
            elif f[0] == "rep":
                if last.get(f[1], 0.0) < job.get("rewarm_below", 0.0):
                    timed(f[1])
                out[keys[f[1]]].append(one_rep(lambda: timed(f[1]), job["rep_seconds"], job.get("min_calls", 1)))
            elif f[0] == "mark":
                out["peak_rss_kb"] = peak_rss_kb()
            elif f[0] == "done":
                with open(job["_out"], "w", encoding="utf-8") as fh:
                    json.dump(out, fh)
                print("ok", file=proto)
                return None
            else:
                raise ValueError(f"unknown command {line.strip()!r}")
        except Exception as e:  # reported to hfbench, which stops the run
            print("error: " + repr(e).replace("\n", " "), file=proto)
            raise
        print("ok", file=proto)
    raise SystemExit("bench_python: stdin closed before done")


def cmd_roofline(job):
    """The machine's bounds for hfbench's roofline, per thread count: memory bandwidth
    (STREAM-like copy b->a and triad a = b + 3c over float32 arrays of 256 MiB, torch's
    parallel kernels, best of 7; STREAM's byte counts: 2 and 3 arrays per element)
    and the float32 GEMM peak (torch.mm of n x n matrices, n = 1024, 2048, 3072, best
    of 5; 2 n^3 FLOPs a product)."""
    import torch

    n = 64 * 2**20
    a, b, c = torch.empty(n), torch.rand(n), torch.rand(n)
    rows = []

    def best(f, reps):
        f()
        t = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            f()
            t = min(t, time.perf_counter() - t0)
        return t

    for threads in job["threads"]:
        torch.set_num_threads(threads)
        row = {"threads": torch.get_num_threads()}
        row["copy_gbs"] = 2 * 4 * n / best(lambda: a.copy_(b), 7) / 1e9
        row["triad_gbs"] = 3 * 4 * n / best(lambda: torch.add(b, c, alpha=3.0, out=a), 7) / 1e9
        row["gemm_gflops"], row["gemm_n"] = 0.0, 0
        for m in (1024, 2048, 3072):
            x, y, z = torch.rand(m, m), torch.rand(m, m), torch.empty(m, m)
            g = 2 * m**3 / best(lambda: torch.mm(x, y, out=z), 5) / 1e9
            if g > row["gemm_gflops"]:
                row["gemm_gflops"], row["gemm_n"] = g, m
        rows.append(row)
    return {"rows": rows, "array_mib": 4 * n / 2**20}


def cmd_corpus_ref(job):
    import torch
    import transformers

    torch.set_num_threads(job["threads"])
    transformers.logging.set_verbosity_error()
    with open(job["file"], encoding="utf-8") as f:
        lines = f.read().split("\n")  # as Go's bufio.Scanner reads it: lines end at "\n" only
    if lines and lines[-1] == "":
        lines.pop()
    texts = lines[: job["texts"]]
    pipe = transformers.pipeline("sentiment-analysis", model=job["model"], tokenizer=job["model"], device="cpu")
    out = {"texts": len(texts), "bs": job["bs"]}
    for key, bs in (("batched", job["bs"]), ("single", 1)):
        t = time.perf_counter()
        r = pipe(texts, batch_size=bs, truncation=True)
        out[key + "_seconds"] = time.perf_counter() - t
        if len(r) != len(texts):
            raise RuntimeError(f"pipeline returned {len(r)} results for {len(texts)} texts")
        out[key] = [{"label": x["label"], "score": float(x["score"])} for x in r]
    return out


def cmd_tokenizer(job):
    threads = str(job["threads"])
    # Rayon sizes its pool once, at first use; tokenizers reads
    # TOKENIZERS_PARALLELISM on every call.
    os.environ["RAYON_NUM_THREADS"] = threads
    os.environ["RAYON_RS_NUM_CPUS"] = threads
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(job["tokenizer_json"])
    tok.no_padding()
    tok.no_truncation()
    texts = job["texts"]
    tokens = sum(len(tok.encode(t).ids) for t in texts)

    def single():
        for t in texts:
            tok.encode(t)

    single_reps = measure(single, job["warmup"], job["reps"], job["rep_seconds"])
    os.environ["TOKENIZERS_PARALLELISM"] = "true"
    batch_reps = measure(lambda: tok.encode_batch(texts), job["warmup"], job["reps"], job["rep_seconds"])
    for reps in (single_reps, batch_reps):
        for r in reps:
            del r["latencies"]  # one "call" is the whole corpus: the rep rate says it all
    return {"tokens": tokens, "texts": len(texts), "single": single_reps, "batch": batch_reps}


COMMANDS = {"versions": cmd_versions, "cell": cmd_cell, "corpus-ref": cmd_corpus_ref, "tokenizer": cmd_tokenizer,
            "roofline": cmd_roofline}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=sorted(COMMANDS))
    ap.add_argument("--job", help="job JSON file (default: none, {})")
    ap.add_argument("--out", required=True, help="result JSON file ('-' for stdout)")
    a = ap.parse_args(argv)
    job = {}
    if a.job:
        with open(a.job, encoding="utf-8") as f:
            job = json.load(f)
    job["_out"] = a.out
    res = COMMANDS[a.command](job)
    if res is None:  # the command wrote its own result
        return 0
    data = json.dumps(res)
    if a.out == "-":
        sys.stdout.write(data + "\n")
    else:
        with open(a.out, "w", encoding="utf-8") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
