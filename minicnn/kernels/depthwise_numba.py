"""Numba depthwise convolution kernels: ``depthwise_reference``'s formulas, jitted.

Same signatures and results as the reference. How the loops are arranged:

* forward over (image, output row) and dx over (image, input row, as a
  gather - each input pixel collects the dy of the windows that saw it), in
  parallel with ``prange``; no two iterations write the same element;
* the innermost loop runs over channels, the contiguous axis of NHWC, so it
  vectorizes. For ``depth_multiplier == 1`` (MobileNetV2, and most uses)
  output channel = input channel, and a loop of its own keeps that innermost
  loop free of the ``c*M + m`` index arithmetic;
* dkernel in parallel over channels: iteration c owns ``dkernel[:, :, c, :]``.

``cache=True``: compiled once per dtype (float32, and float64 for gradient checks).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def depthwise_conv2d_forward(x, kernel, stride_h, stride_w, pad_top, pad_left, out_h, out_w):
    """x: (N, H, W, C), kernel: (KH, KW, C, M) -> y: (N, OH, OW, C*M)."""
    n_batch, in_h, in_w, in_c = x.shape
    kh, kw, _, mult = kernel.shape
    y = np.zeros((n_batch, out_h, out_w, in_c * mult), dtype=x.dtype)
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
                    if mult == 1:
                        for c in range(in_c):
                            y[n, i, j, c] += x[n, h, w, c] * kernel[p, q, c, 0]
                    else:
                        for c in range(in_c):
                            for m in range(mult):
                                y[n, i, j, c * mult + m] += x[n, h, w, c] * kernel[p, q, c, m]
    return y


@njit(cache=True, parallel=True)
def depthwise_conv2d_backward_input(dy, kernel, in_h, in_w, stride_h, stride_w, pad_top, pad_left):
    """dL/dx. dy: (N, OH, OW, C*M), kernel: (KH, KW, C, M) -> dx: (N, H, W, C)."""
    n_batch, out_h, out_w, _ = dy.shape
    kh, kw, in_c, mult = kernel.shape
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
                    if mult == 1:       # the usual case: a loop over contiguous channels, vectorized
                        for c in range(in_c):
                            dx[n, h, w, c] += dy[n, i, j, c] * kernel[p, q, c, 0]
                    else:
                        for c in range(in_c):
                            for m in range(mult):
                                dx[n, h, w, c] += dy[n, i, j, c * mult + m] * kernel[p, q, c, m]
    return dx


@njit(cache=True, parallel=True)
def depthwise_conv2d_backward_kernel(x, dy, kh, kw, stride_h, stride_w, pad_top, pad_left):
    """dL/dkernel. x: (N, H, W, C), dy: (N, OH, OW, C*M) -> dkernel: (KH, KW, C, M).

    One partial sum per image (each image on one thread, its channels the
    innermost, contiguous loop), then the partials added in image order - so
    the result does not depend on the thread count.
    """
    n_batch, in_h, in_w, in_c = x.shape
    _, out_h, out_w, out_c = dy.shape
    mult = out_c // in_c
    partial = np.zeros((n_batch, kh, kw, in_c, mult), dtype=dy.dtype)
    for n in prange(n_batch):
        for i in range(out_h):
            for p in range(kh):
                h = i * stride_h + p - pad_top
                if h < 0 or h >= in_h:
                    continue
                for j in range(out_w):
                    for q in range(kw):
                        w = j * stride_w + q - pad_left
                        if w < 0 or w >= in_w:
                            continue
                        if mult == 1:   # the usual case: a loop over contiguous channels, vectorized
                            for c in range(in_c):
                                partial[n, p, q, c, 0] += x[n, h, w, c] * dy[n, i, j, c]
                        else:
                            for c in range(in_c):
                                xv = x[n, h, w, c]
                                for m in range(mult):
                                    partial[n, p, q, c, m] += xv * dy[n, i, j, c * mult + m]
    dkernel = np.zeros((kh, kw, in_c, mult), dtype=dy.dtype)
    for n in range(n_batch):
        dkernel += partial[n]
    return dkernel
