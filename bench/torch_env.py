#!/usr/bin/env python3
"""Which BLAS this PyTorch runs on, as one JSON line: the BLAS/LAPACK libraries mapped into the
process after a matrix product, and OpenBLAS's kernel family (openblas_get_corename) when it is
OpenBLAS. bench/bench.ts prints it beside the PyTorch figures: Debian's torch with the reference
BLAS (libblas3) is several times slower than with OpenBLAS, which would make any ratio meaningless.
"""
import ctypes, json

import torch

torch.ones(64, 64) @ torch.ones(64, 64)
libs = sorted({line.split()[-1] for line in open("/proc/self/maps") if "blas" in line.lower() or "lapack" in line.lower()})
core = None
for lib in libs:
    if "openblas" in lib:
        try:
            ob = ctypes.CDLL(lib)
            ob.openblas_get_corename.restype = ctypes.c_char_p
            core = ob.openblas_get_corename().decode()
        except (OSError, AttributeError):
            pass
reference = any("/blas/libblas" in lib for lib in libs) and not any("openblas" in lib for lib in libs)
print(json.dumps({"torch": torch.__version__, "blas": libs, "openblas_core": core, "reference_blas": reference}))
