"""Pick Numba's thread pool before any parallel kernel runs.

Why this exists (measured on this project's 2-core machine, seed MNIST CNN,
batch 32): with Numba's default OpenMP layer one training step took about
140 ms; with ``workqueue`` about 28 ms. OpenMP threads keep spinning for a
while after each parallel loop, and the OpenBLAS threads behind
``np.matmul`` spin too, so on 2 cores the two pools fight over them.
``workqueue`` is Numba's own pool and does not spin.

A user who sets ``NUMBA_THREADING_LAYER`` themselves keeps their choice.
"""

from __future__ import annotations

import os

import numba

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"
