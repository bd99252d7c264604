"""Pick Numba's thread pool before any parallel kernel runs.

Numba's default OpenMP threads keep spinning for a while after each parallel
loop, and the OpenBLAS threads behind ``np.matmul`` spin too, so on a
2-core machine the two pools fight. ``workqueue`` is Numba's own pool and
does not spin; minicnn selects it unless the user set
``NUMBA_THREADING_LAYER``. Starting a parallel loop still costs more than a
whole pass of most memory-bound kernels, so those (im2col/col2im,
activations, BatchNorm, pooling, Adam) are serial loops and the cores go to
OpenBLAS's matrix multiplies; only the compute-bound direct convolutions
(``conv_numba``, ``depthwise_numba``) use ``prange``. The serial kernels
release the GIL (``nogil=True``), so that ``predict``'s parts
(``minicnn/fast/cores.py``) run them on two cores at once. Measurements:
``docs/speed.md``.
"""

from __future__ import annotations

import os

import numba

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"
