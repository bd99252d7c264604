"""Numba 2-D convolution kernels: the same formulas as ``conv_reference``, jitted.

Same signatures and results as the reference kernels; what differs is *how*
the loops run:

* Every scalar multiply-add is an explicit loop, which Numba compiles to
  machine code; the innermost loop runs over the last (contiguous) axis of
  NHWC arrays so that it vectorizes.
* Work is split across cores with ``prange`` over an index that no two
  iterations write to at the same time (a "race-free" split):
  forward over (image, output row), dx over (image, input row) - written as a
  *gather*: each input pixel collects the dy values of the windows that saw
  it - and dkernel over (tap row, tap column, input channel).
* Padding is implicit (index checks), so no padded copy of x is allocated.
* ``cache=True`` stores the compiled code on disk: only the first run in a
  fresh environment pays the compile time. Each function is compiled once
  for float32 (training) and once for float64 (gradient checks).

With ``NUMBA_DISABLE_JIT=1`` these run as ordinary Python, so a debugger can
step through them.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def conv2d_forward(x, kernel, stride_h, stride_w, pad_top, pad_left, out_h, out_w):
    """y = x (*) kernel. x: (N, H, W, C), kernel: (KH, KW, C, O) -> y: (N, OH, OW, O)."""
    n_batch, in_h, in_w, in_c = x.shape
    kh, kw, _, out_c = kernel.shape
    y = np.zeros((n_batch, out_h, out_w, out_c), dtype=x.dtype)
    for ni in prange(n_batch * out_h):  # one (image, output row) per iteration
        n = ni // out_h
        i = ni % out_h
        for j in range(out_w):
            for p in range(kh):
                h = i * stride_h + p - pad_top
                if h < 0 or h >= in_h:
                    continue
                for q in range(kw):
                    w = j * stride_w + q - pad_left
                    if w < 0 or w >= in_w:
                        continue
                    for c in range(in_c):
                        xv = x[n, h, w, c]
                        for o in range(out_c):
                            y[n, i, j, o] += xv * kernel[p, q, c, o]
    return y


@njit(cache=True, parallel=True)
def conv2d_backward_input(dy, kernel, in_h, in_w, stride_h, stride_w, pad_top, pad_left):
    """dL/dx from dL/dy. dy: (N, OH, OW, O), kernel: (KH, KW, C, O) -> dx: (N, H, W, C)."""
    n_batch, out_h, out_w, out_c = dy.shape
    kh, kw, in_c, _ = kernel.shape
    dx = np.zeros((n_batch, in_h, in_w, in_c), dtype=dy.dtype)
    for nh in prange(n_batch * in_h):  # one (image, input row) per iteration
        n = nh // in_h
        h = nh % in_h
        for p in range(kh):
            # Which output row i saw input row h through tap p?  i*sh + p - pt = h.
            t = h + pad_top - p
            if t < 0 or t % stride_h != 0:
                continue
            i = t // stride_h
            if i >= out_h:
                continue
            for w in range(in_w):
                for q in range(kw):
                    u = w + pad_left - q
                    if u < 0 or u % stride_w != 0:
                        continue
                    j = u // stride_w
                    if j >= out_w:
                        continue
                    for c in range(in_c):
                        acc = dx.dtype.type(0)
                        for o in range(out_c):
                            acc += dy[n, i, j, o] * kernel[p, q, c, o]
                        dx[n, h, w, c] += acc
    return dx


@njit(cache=True, parallel=True)
def conv2d_backward_kernel(x, dy, kh, kw, stride_h, stride_w, pad_top, pad_left):
    """dL/dkernel. x: (N, H, W, C), dy: (N, OH, OW, O) -> dkernel: (KH, KW, C, O)."""
    n_batch, in_h, in_w, in_c = x.shape
    _, out_h, out_w, out_c = dy.shape
    dkernel = np.zeros((kh, kw, in_c, out_c), dtype=dy.dtype)
    for pqc in prange(kh * kw * in_c):  # each iteration owns dkernel[p, q, c, :]
        p = pqc // (kw * in_c)
        q = (pqc // in_c) % kw
        c = pqc % in_c
        for n in range(n_batch):
            for i in range(out_h):
                h = i * stride_h + p - pad_top
                if h < 0 or h >= in_h:
                    continue
                for j in range(out_w):
                    w = j * stride_w + q - pad_left
                    if w < 0 or w >= in_w:
                        continue
                    xv = x[n, h, w, c]
                    for o in range(out_c):
                        dkernel[p, q, c, o] += xv * dy[n, i, j, o]
    return dkernel
