"""Ask glibc to keep freed memory for the next training step, instead of handing it back.

A training step allocates every activation and gradient afresh - tens of MB -
and frees them at the end. glibc's ``malloc`` serves large arrays with fresh
``mmap`` pages, or trims the top of its heap back to the OS once more than a
few MB there are free, so the next step page-faults the same memory in
again, zero-filled by the kernel, 4 KiB at a time (about 1,750 faults per
MNIST step; ``docs/speed.md``). So minicnn sets, once, at import:

* ``M_MMAP_THRESHOLD`` = 32 MiB: arrays up to that size come from the heap
  (32 MiB is glibc's own upper bound when it adapts this threshold itself).
* ``M_TRIM_THRESHOLD`` = 64 MiB: up to that much free memory may stay at the
  top of the heap, ready for the next step.

The cost: up to 64 MiB of freed memory stays in the process instead of going
back to the OS. Peak memory does not change (the same arrays are alive at the
peak). These are process-wide settings, so a user who wants glibc's own
behaviour sets ``MINICNN_MALLOC=default``; one who sets glibc's
``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` keeps their choice.
On other C libraries (macOS, Windows, musl) nothing is done.
"""

from __future__ import annotations

import ctypes
import os
import platform

# mallopt's parameter numbers, from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 64 * 2**20


def _wanted() -> bool:
    if os.environ.get("MINICNN_MALLOC", "").lower() == "default":
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    return platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def keep_freed_memory() -> bool:
    """Apply the two settings above; True if glibc accepted both."""
    if not _wanted():
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success, 0 on error
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


APPLIED = keep_freed_memory()
