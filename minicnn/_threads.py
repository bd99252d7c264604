"""Pick Numba's thread pool before any parallel kernel runs.

Why this exists (measured on this project's 2-core machine, seed MNIST CNN,
batch 32): with Numba's default OpenMP layer one training step took about
140 ms; with ``workqueue`` about 28 ms. OpenMP threads keep spinning for a
while after each parallel loop, and the OpenBLAS threads behind
``np.matmul`` spin too, so on 2 cores the two pools fight over them.
``workqueue`` is Numba's own pool and does not spin.

A user who sets ``NUMBA_THREADING_LAYER`` themselves keeps their choice.

Why most kernels do not use the pool at all: starting a parallel loop on
``workqueue`` (waking its threads and waiting for them) costs about 75
microseconds on this machine, whatever the loop does. That is more than a
whole pass of most kernels of the seed models takes on one thread, and a
training step runs about 40 of them. Measured, one thread against two:

=================================================  ==========  =========
kernel (shape)                                     2 threads   1 thread
=================================================  ==========  =========
ReLU forward, 32k values                           95 us       3 us
ReLU forward, 1M values (the CIFAR model's         172 us      91 us
largest activation)
im2col, 16 images 16x16x32, 3x3                    255 us      118 us
im2col, 32 images 32x32x3, 3x3                     802 us      830 us
=================================================  ==========  =========

and a whole training step at batch 32: MNIST CNN 21.3 -> 18.4 ms, CIFAR-10
CNN 30.0 -> 26.4 ms. So the memory-bound kernels - im2col/col2im,
activations, BatchNorm, pooling, Adam - are plain serial loops, and the two
cores go to OpenBLAS's matrix multiplies, where the arithmetic is. Only the
compute-bound direct convolutions (``conv_numba``, ``depthwise_numba``) keep
``prange``. On a machine with many cores the balance may differ; it has not
been measured here.
"""

from __future__ import annotations

import os

import numba

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"
