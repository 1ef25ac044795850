#!/usr/bin/env python3
"""Plot hfpipe's end-to-end throughput against Python and hugot (driven by bench/cmd/hfbench).

    python bench_plot.py RESULTS.json OUT.png

RESULTS.json is hfbench's raw output (bench/tmp/results.json): one panel per text
length and thread count, sequences/s against batch size, hfpipe, hugot (where the run
had it) and Python, the median over repetitions with min-max error bars.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def rates(reps, bs):
    return sorted(bs * r["calls"] / r["seconds"] for r in reps)


def median(xs):
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def main(inp, out):
    with open(inp, encoding="utf-8") as f:
        res = json.load(f)
    cells = res.get("cells") or []
    if not cells:
        raise SystemExit("bench_plot: no end-to-end cells in " + inp)
    lengths = sorted({c["len"] for c in cells})
    # One row of panels per thread count (0: a run before thread counts were a list).
    threads = sorted({c.get("threads", 0) for c in cells})
    fig, axes = plt.subplots(len(threads), len(lengths), figsize=(4.2 * len(lengths), 3.8 * len(threads)), squeeze=False)
    sides = (("go", "hfpipe (Go)", "o-"), ("hugot", "hugot (ONNX Runtime)", "^:"), ("python", "Python (transformers)", "s--"))
    for ti, t in enumerate(threads):
        for ax, n in zip(axes[ti], lengths):
            row = sorted((c for c in cells if c["len"] == n and c.get("threads", 0) == t), key=lambda c: c["bs"])
            bss = [c["bs"] for c in row]
            for side, label, style in sides:
                if not all(c.get(side) and c[side].get("e2e") for c in row):
                    continue
                meds, lo, hi = [], [], []
                for c in row:
                    r = rates(c[side]["e2e"], c["bs"])
                    m = median(r)
                    meds.append(m)
                    lo.append(m - r[0])
                    hi.append(r[-1] - m)
                ax.errorbar(bss, meds, yerr=[lo, hi], fmt=style, capsize=3, label=label)
            ax.set_xscale("log", base=2)
            ax.set_xticks(bss)
            ax.set_xticklabels([str(b) for b in bss])
            ax.set_xlabel("batch size")
            ax.set_title(f"{n} tokens per text" + (f", {t} thread{'s' if t > 1 else ''}" if t else ""))
            ax.grid(True, alpha=0.3)
            ax.set_ylim(bottom=0)
        axes[ti][0].set_ylabel("sequences / s")
    axes[0][0].legend(loc="best", fontsize=8)
    m = res.get("machine", {})
    fig.suptitle(f"sentiment-analysis end to end, {res['plan']['reps']} reps, "
                 f"{m.get('cpu', '?')} ({m.get('cores', '?')} cores)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"bench_plot: wrote {out}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
