"""Which CPU kernels this process runs: CPU model, ATen's CPU capability, oneDNN's ISA, threads.

Bitwise claims hold for one set of kernels. Machines of one kind differ (Intel Xeon with AMX,
AMD EPYC with AVX512-BF16), so every report says which set it ran, and the variety is forced
with environment variables read when libtorch starts:

  ATEN_CPU_CAPABILITY = default | avx2 | avx512   ATen's vectorised kernels (never above the CPU's)
  ONEDNN_MAX_CPU_ISA  = AVX2 | AVX512_CORE | AVX512_CORE_BF16 | ...   oneDNN's JIT kernels
  MKL_ENABLE_INSTRUCTIONS = AVX2 | AVX512 | ...   MKL's code path (float32 matrix products)

`cpu_environment()` returns them as a dict; `summary()` as one line, the same line Go's
torch.CPUEnvironment().String() prints (`cpu="…" aten=AVX512 onednn=AVX512_CORE_BF16 threads=2`).
"""

from __future__ import annotations

import os
import re
import tempfile

# oneDNN's verbose names for its ISAs (dnnl_debug / cpu_isa_traits), most specific first.
_ONEDNN_ISA_NAMES = [
    ("Intel AVX-512 with float16, Intel DL Boost and bfloat16 support and Intel AMX with bfloat16 and 8-bit integer support", "AVX10_1_512_AMX"),
    ("Intel AVX10.1/512 with float16 support and Intel AMX with bfloat16 and 8-bit integer support", "AVX10_1_512_AMX"),
    ("Intel AMX", "AVX10_1_512_AMX"),
    ("Intel AVX10.1/512 with float16 support", "AVX10_1_512"),
    ("Intel AVX-512 with float16, Intel DL Boost and bfloat16 support", "AVX10_1_512"),
    ("Intel AVX-512 with Intel DL Boost and bfloat16 support", "AVX512_CORE_BF16"),
    ("Intel AVX-512 with Intel DL Boost", "AVX512_CORE_VNNI"),
    ("Intel AVX-512 with AVX512BW, AVX512VL, and AVX512DQ extensions", "AVX512_CORE"),
    ("Intel AVX2 with Intel DL Boost", "AVX2_VNNI"),
    ("Intel AVX2", "AVX2"),
    ("Intel AVX", "AVX"),
    ("Intel SSE4.1", "SSE41"),
]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown"


def onednn_isa() -> str:
    """The ISA oneDNN dispatches to in this process, as oneDNN itself reports it.

    oneDNN's query function is not exported by libtorch, so this runs one tiny oneDNN
    convolution with verbose output on and reads the `isa:` line (written by C code to fd 1,
    hence the descriptor-level capture)."""
    import torch

    if not torch.backends.mkldnn.is_available():
        return "none"
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        saved = os.dup(1)
        try:
            os.dup2(tmp.fileno(), 1)
            with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                torch.mkldnn_convolution(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 1, 1), None,
                                         [0, 0], [1, 1], [1, 1], 1)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode("utf-8", "replace")
    m = re.search(r"isa:([^\n]*)", text)
    if not m:
        return "unknown"
    desc = m.group(1).strip()
    for prefix, name in _ONEDNN_ISA_NAMES:
        if desc.startswith(prefix):
            return name
    return desc


def cpu_environment() -> dict:
    import torch

    return {
        "cpu": cpu_model(),
        "aten_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "onednn_isa": onednn_isa(),
        "threads": torch.get_num_threads(),
        "env": {k: os.environ[k] for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS",
                                            "OMP_NUM_THREADS") if k in os.environ},
        "torch": torch.__version__,
    }


def summary(env: dict | None = None) -> str:
    env = env or cpu_environment()
    return (f'cpu="{env["cpu"]}" aten={env["aten_cpu_capability"]} onednn={env["onednn_isa"]} '
            f'threads={env["threads"]}')


if __name__ == "__main__":
    import json

    print(json.dumps(cpu_environment(), indent=2))
