#!/usr/bin/env python3
"""numpy's float32 exp of a file of raw little-endian float32 values, for hfpipe's test of its mirror of it.

transformers' token-classification and question-answering postprocessing computes softmax with np.exp on
float32, which on x86-64 runs numpy's own SIMD exp, not the C library's: Go mirrors it (pipeline/npmath.go).

Usage: .venv/bin/python third_party/tools/numpy_exp.py IN.f32 OUT.f32
"""
import sys

import numpy as np


def main(argv) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    x = np.fromfile(argv[0], dtype="<f4")
    np.exp(x).astype("<f4").tofile(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
