"""Reference depthwise convolution kernels: plain loops that read like the formulas.

A depthwise convolution filters each input channel on its own - no sum over
channels. With ``M = depth_multiplier`` filters per channel (Keras layout)::

    x       (N, H, W, C)
    kernel  (KH, KW, C, M)       kernel[:, :, c, m] is the m-th filter of channel c
    y       (N, OH, OW, C*M)     output channel c*M + m

    y[n, i, j, c*M + m] = sum_{p, q} x[n, i*sh + p - pt, j*sw + q - pl, c] * kernel[p, q, c, m]

Compared with ``Conv2D`` (which sums over c as well), the work drops from
KH*KW*C*O to KH*KW*C*M multiply-adds per pixel: MobileNetV2's 3x3 depthwise
layers do ~1/C of a full convolution's arithmetic.

Backward, with dy of shape (N, OH, OW, C*M), each forward term
``x[.., h, w, c] * kernel[p, q, c, m]`` sends dy back to both factors::

    dx[n, h, w, c]       += dy[n, i, j, c*M + m] * kernel[p, q, c, m]
    dkernel[p, q, c, m]  += x[n, h, w, c]        * dy[n, i, j, c*M + m]

Here the loops run over output pixels and taps; each step handles the whole
batch and all channels at once with broadcasting::

    x[:, h, w, :, None]          (N, C, 1)
    kernel[p, q]                 (C, M)      ->  product (N, C, M)
    reshape(N, C*M)              row-major: c*M + m, the output channel order

``depthwise_numba`` has the same signatures and is tested to agree.
"""

from __future__ import annotations

import numpy as np


def depthwise_conv2d_forward(
    x: np.ndarray, kernel: np.ndarray, stride_h: int, stride_w: int,
    pad_top: int, pad_left: int, out_h: int, out_w: int,
) -> np.ndarray:
    """x: (N, H, W, C), kernel: (KH, KW, C, M) -> y: (N, OH, OW, C*M)."""
    n_batch, in_h, in_w, in_c = x.shape
    kh, kw, _, mult = kernel.shape
    y = np.zeros((n_batch, out_h, out_w, in_c * mult), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            for p in range(kh):
                h = i * stride_h + p - pad_top
                if not 0 <= h < in_h:
                    continue  # this tap falls on padding: it adds 0
                for q in range(kw):
                    w = j * stride_w + q - pad_left
                    if not 0 <= w < in_w:
                        continue
                    y[:, i, j, :] += (x[:, h, w, :, None] * kernel[p, q]).reshape(n_batch, -1)
    return y


def depthwise_conv2d_backward_input(
    dy: np.ndarray, kernel: np.ndarray, in_h: int, in_w: int,
    stride_h: int, stride_w: int, pad_top: int, pad_left: int,
) -> np.ndarray:
    """dL/dx. dy: (N, OH, OW, C*M), kernel: (KH, KW, C, M) -> dx: (N, H, W, C)."""
    n_batch, out_h, out_w, _ = dy.shape
    kh, kw, in_c, mult = kernel.shape
    dx = np.zeros((n_batch, in_h, in_w, in_c), dtype=dy.dtype)
    for i in range(out_h):
        for j in range(out_w):
            g = dy[:, i, j, :].reshape(n_batch, in_c, mult)  # split c*M + m back into (c, m)
            for p in range(kh):
                h = i * stride_h + p - pad_top
                if not 0 <= h < in_h:
                    continue  # gradient of a padding cell is dropped
                for q in range(kw):
                    w = j * stride_w + q - pad_left
                    if not 0 <= w < in_w:
                        continue
                    dx[:, h, w, :] += (g * kernel[p, q]).sum(axis=-1)  # sum over the M filters
    return dx


def depthwise_conv2d_backward_kernel(
    x: np.ndarray, dy: np.ndarray, kh: int, kw: int,
    stride_h: int, stride_w: int, pad_top: int, pad_left: int,
) -> np.ndarray:
    """dL/dkernel. x: (N, H, W, C), dy: (N, OH, OW, C*M) -> dkernel: (KH, KW, C, M)."""
    n_batch, in_h, in_w, in_c = x.shape
    _, out_h, out_w, out_c = dy.shape
    mult = out_c // in_c
    dkernel = np.zeros((kh, kw, in_c, mult), dtype=dy.dtype)
    for i in range(out_h):
        for j in range(out_w):
            g = dy[:, i, j, :].reshape(n_batch, in_c, mult)
            for p in range(kh):
                h = i * stride_h + p - pad_top
                if not 0 <= h < in_h:
                    continue
                for q in range(kw):
                    w = j * stride_w + q - pad_left
                    if not 0 <= w < in_w:
                        continue
                    dkernel[p, q] += (x[:, h, w, :, None] * g).sum(axis=0)  # sum over the batch
    return dkernel
