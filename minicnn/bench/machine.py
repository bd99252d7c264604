"""What machine a benchmark ran on: the CPU, its vector extensions, NumPy's BLAS and its sgemm rate.

A speed figure is true only for the CPU it was measured on, so every result
file records these next to its numbers.

``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE``: some machines set these to make
older OpenBLAS builds pick a safe kernel (for example ``Haswell`` on a CPU
with AVX-512). A current NumPy then runs slower than it would on a user's
machine, so the benchmarks start their timed processes with both unset
(``clean_env``) unless ``--blas-as-found`` is given, and record which kernel
OpenBLAS picked (threadpoolctl, when installed).
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

_BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_EXTENSIONS = ("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile")


def clean_env(keep_blas_overrides: bool = False) -> dict[str, str]:
    """This process's environment for a timed child, without the BLAS overrides unless kept."""
    env = dict(os.environ)
    if not keep_blas_overrides:
        for name in _BLAS_OVERRIDES:
            env.pop(name, None)
    return env


def cpu() -> dict:
    """CPU model name, core count and the vector extensions that matter for float32 kernels."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    return {"model": model, "cores": os.cpu_count(), "machine": platform.machine(),
            "vector_extensions": [e for e in _EXTENSIONS if e in flags]}


def blas() -> str:
    """NumPy's BLAS, its kernel and threads, e.g. ``openblas SkylakeX, 2 threads``."""
    try:
        import threadpoolctl
    except ImportError:
        return "unknown (pip install threadpoolctl to record it)"
    for info in threadpoolctl.threadpool_info():
        if info.get("user_api") == "blas":
            return f"{info.get('internal_api')} {info.get('architecture')}, {info.get('num_threads')} threads"
    return "unknown"


def sgemm_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Best-of float32 n x n matrix product rate of NumPy here, GFLOP/s."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    a @ a
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def describe(quick: bool = False) -> dict:
    """Everything above, for a result file (run it in the process whose BLAS is timed)."""
    overrides = {name: os.environ[name] for name in _BLAS_OVERRIDES if name in os.environ}
    return {**cpu(), "blas": blas(), "sgemm_gflops": round(sgemm_gflops(512 if quick else 2048), 1),
            "blas_overrides": overrides}


def headline(info: dict) -> str:
    """One line for a report: ``AMD EPYC (avx2, avx512f, ...), 2 cores; openblas SkylakeX ...: 384 GFLOP/s``."""
    extensions = ", ".join(info.get("vector_extensions", [])) or "no AVX"
    overrides = f"; with {info['blas_overrides']}" if info.get("blas_overrides") else ""
    return (f"{info['model']} ({extensions}), {info['cores']} cores; NumPy BLAS {info['blas']}{overrides}: "
            f"sgemm {info['sgemm_gflops']:.0f} GFLOP/s")
