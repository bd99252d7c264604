"""``minicnn.set_num_threads(n)``: how many threads the BLAS products and the Numba kernels use.

On a busy machine fewer threads can be faster: two thread pools that wait
for each other's cores spin instead of working. This sets both pools at
once - OpenBLAS (or whichever BLAS NumPy uses) through threadpoolctl, the
well-kept library for exactly this, and Numba's own pool - for the rest of
the process. ``MINICNN_NUM_THREADS=n`` in the environment does the same
when minicnn is imported.
"""

from __future__ import annotations

import os

import numba

from .errors import ConfigError

_limiter = None


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (1 up to the machine's cores) in BLAS and in the Numba kernels."""
    global _limiter
    cores = os.cpu_count() or 1
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n:
        raise ConfigError(f"set_num_threads: n must be a whole number from 1 to {cores}, got {n!r}")
    n = min(n, numba.config.NUMBA_NUM_THREADS)
    from threadpoolctl import threadpool_limits
    _limiter = threadpool_limits(limits=n, user_api="blas")
    numba.set_num_threads(n)


def get_num_threads() -> int:
    """The threads Numba's kernels use now (BLAS follows ``set_num_threads`` too)."""
    return numba.get_num_threads()


def _from_environment() -> None:
    value = os.environ.get("MINICNN_NUM_THREADS")
    if value:
        try:
            n = int(value)
        except ValueError:
            raise ConfigError(f"MINICNN_NUM_THREADS must be a whole number, got {value!r}") from None
        set_num_threads(n)
